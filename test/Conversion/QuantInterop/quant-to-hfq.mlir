// RUN: hfq-opt %s --convert-quant-to-hfq | FileCheck %s
// RUN: hfq-opt %s --convert-quant-to-hfq --convert-hfq-to-quant | FileCheck %s --check-prefix=BACK
// RUN: hfq-opt %s --convert-quant-to-hfq > %t.1.mlir
// RUN: hfq-opt %s --convert-quant-to-hfq --convert-hfq-to-quant --convert-quant-to-hfq > %t.2.mlir
// RUN: diff %t.1.mlir %t.2.mlir

// CHECK-LABEL: func @per_tensor
// BACK-LABEL: func @per_tensor
func.func @per_tensor() -> tensor<2x4xf32> {
  // Signed storage with zero point 0 is symmetric: codes are storage + 8,
  // packed two per byte, low nibble first: (-8+8) | (-1+8) << 4 = 0x70 = 112.
  // CHECK: %[[C:.*]] = arith.constant dense<{{\[\[}}112, -8], [-87, -53]]> : tensor<2x2xi8>
  // CHECK: %[[S:.*]] = arith.constant dense<5.000000e-01> : tensor<1x1xf32>
  // CHECK: %[[Q:.*]] = hfq.assemble %[[C]], %[[S]] : tensor<2x2xi8>, tensor<1x1xf32>
  // CHECK-SAME: -> !hfq.qtensor<2x4xf32, #hfq.affine<bits = 4, granularity = tensor, zero_point = symmetric>>
  // CHECK: hfq.dequantize %[[Q]]
  // CHECK-NOT: quant.
  // BACK: arith.constant dense<{{\[\[}}-8, -1, 0, 7], [1, 2, 3, 4]]> : tensor<2x4xi4>
  // BACK: quant.scast %{{.*}} : tensor<2x4xi4> to tensor<2x4x!quant.uniform<i4:f32, 5.000000e-01>>
  // BACK: quant.dcast
  %c = arith.constant dense<[[-8, -1, 0, 7], [1, 2, 3, 4]]> : tensor<2x4xi4>
  %s = quant.scast %c : tensor<2x4xi4> to tensor<2x4x!quant.uniform<i4:f32, 0.5>>
  %w = quant.dcast %s : tensor<2x4x!quant.uniform<i4:f32, 0.5>> to tensor<2x4xf32>
  return %w : tensor<2x4xf32>
}

// CHECK-LABEL: func @per_axis
// BACK-LABEL: func @per_axis
func.func @per_axis() -> tensor<2x4xf32> {
  // One scale per row: hfq's channel granularity (groups span axis 1).
  // CHECK: arith.constant dense<{{\[\[}}5.000000e-01], [2.500000e-01]]> : tensor<2x1xf32>
  // CHECK: arith.constant dense<{{\[\[}}3], [4]]> : tensor<2x1xi32>
  // CHECK: #hfq.affine<bits = 4, granularity = channel, zero_point = integer>
  // BACK: !quant.uniform<u4:f32:0, {5.000000e-01:3,2.500000e-01:4}>
  %c = arith.constant dense<[[0, 1, 14, 15], [5, 6, 7, 8]]> : tensor<2x4xi4>
  %s = quant.scast %c : tensor<2x4xi4> to tensor<2x4x!quant.uniform<u4:f32:0, {0.5:3, 0.25:4}>>
  %w = quant.dcast %s : tensor<2x4x!quant.uniform<u4:f32:0, {0.5:3, 0.25:4}>> to tensor<2x4xf32>
  return %w : tensor<2x4xf32>
}

// CHECK-LABEL: func @sub_channel
// BACK-LABEL: func @sub_channel
func.func @sub_channel() -> tensor<2x4xf32> {
  // Blocks of 2 along dimension 1: hfq groups of 2; signed zero points 10..40
  // become unsigned 138..168.
  // CHECK: arith.constant dense<{{\[\[}}138, 148], [158, 168]]> : tensor<2x2xi32>
  // CHECK: #hfq.affine<bits = 8, granularity = group, group_size = 2, zero_point = integer>
  // BACK: !quant.uniform<u8:f32:{0:1, 1:2}, {{\{\{}}2.000000e+00:-118, 3.000000e+00:-108}, {4.000000e+00:-98, 5.000000e+00:-88}}>
  %c = arith.constant dense<[[-8, -1, 0, 7], [1, 2, 3, 4]]> : tensor<2x4xi8>
  %s = quant.scast %c : tensor<2x4xi8> to tensor<2x4x!quant.uniform<i8:f32:{0:1, 1:2}, {{2.0:10, 3.0:20}, {4.0:30, 5.0:40}}>>
  %w = quant.dcast %s : tensor<2x4x!quant.uniform<i8:f32:{0:1, 1:2}, {{2.0:10, 3.0:20}, {4.0:30, 5.0:40}}>> to tensor<2x4xf32>
  return %w : tensor<2x4xf32>
}

// RUN: hfq-opt %s --convert-hfq-to-linalg --canonicalize | FileCheck %s

// Dequantization: codes are unpacked from a bit offset, then (q - z) * s
// with z taken as the encoding says.

// CHECK-LABEL: func.func @group_integer
// CHECK-SAME: (%[[C:.*]]: tensor<4x32xi8>, %[[S:.*]]: tensor<4x2xf32>, %[[Z:.*]]: tensor<4x2xi32>)
func.func @group_integer(%q: !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>>) -> tensor<4x64xf32> {
  // Unpack: bit offset = column * 4, container = offset / 8, shift = offset % 8.
  // CHECK: %[[CODES:.*]] = linalg.generic
  // CHECK: tensor.extract %[[C]]
  // CHECK: arith.shrui
  // CHECK: -> tensor<4x64xi32>
  // CHECK: linalg.generic
  // CHECK: %[[COL:.*]] = linalg.index 1
  // CHECK: %[[Q:.*]] = tensor.extract %[[CODES]]
  // CHECK: %[[G:.*]] = arith.divui %[[COL]], %{{.*}} : index
  // CHECK: %[[SC:.*]] = tensor.extract %[[S]][%{{.*}}, %[[G]]]
  // CHECK: %[[ZP:.*]] = tensor.extract %[[Z]][%{{.*}}, %[[G]]]
  // CHECK: %[[D:.*]] = arith.subi %[[Q]], %[[ZP]] : i32
  // CHECK: %[[F:.*]] = arith.sitofp %[[D]] : i32 to f32
  // CHECK: arith.mulf %[[F]], %[[SC]] : f32
  %w = hfq.dequantize %q : !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>> -> tensor<4x64xf32>
  return %w : tensor<4x64xf32>
}

// CHECK-LABEL: func.func @symmetric_channel
// CHECK-SAME: (%[[C:.*]]: tensor<4x64xi8>, %[[S:.*]]: tensor<4x1xf32>)
func.func @symmetric_channel(%q: !hfq.qtensor<4x64xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>>) -> tensor<4x64xf32> {
  // The implicit zero point is 2^(bits-1) = 128.
  // CHECK-DAG: %[[Z:.*]] = arith.constant 128 : i32
  // CHECK: tensor.extract %[[S]][%{{.*}}, %c0]
  // CHECK: arith.subi %{{.*}}, %[[Z]] : i32
  %w = hfq.dequantize %q : !hfq.qtensor<4x64xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>> -> tensor<4x64xf32>
  return %w : tensor<4x64xf32>
}

// CHECK-LABEL: func.func @gptq_v1_act_order
// CHECK-SAME: (%[[C:.*]]: tensor<8x6xi32>, %[[S:.*]]: tensor<8x2xf16>, %[[Z:.*]]: tensor<8x2xi32>, %[[GI:.*]]: tensor<64xi32>)
func.func @gptq_v1_act_order(%q: !hfq.qtensor<8x64xf16, #hfq.affine<bits = 3, granularity = group, group_size = 32, zero_point = integer_minus_one, act_order = true, storage_bits = 32>>) -> tensor<8x64xf16> {
  // The group of column j is g_idx[j]; the stored zero is z - 1.
  // CHECK: %[[COL:.*]] = linalg.index 1
  // CHECK: %[[GRP:.*]] = tensor.extract %[[GI]][%[[COL]]]
  // CHECK: %[[GIDX:.*]] = arith.index_cast %[[GRP]] : i32 to index
  // CHECK: tensor.extract %[[S]][%{{.*}}, %[[GIDX]]]
  // CHECK: %[[ZS:.*]] = tensor.extract %[[Z]][%{{.*}}, %[[GIDX]]]
  // CHECK: arith.addi %[[ZS]], %c1_i32 : i32
  // CHECK: arith.sitofp %{{.*}} : i32 to f16
  %w = hfq.dequantize %q : !hfq.qtensor<8x64xf16, #hfq.affine<bits = 3, granularity = group, group_size = 32, zero_point = integer_minus_one, act_order = true, storage_bits = 32>> -> tensor<8x64xf16>
  return %w : tensor<8x64xf16>
}

// CHECK-LABEL: func.func @hqq_float_zero
func.func @hqq_float_zero(%q: !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 64, zero_point = float>>) -> tensor<4x64xf32> {
  // CHECK: %[[QF:.*]] = arith.sitofp %{{.*}} : i32 to f32
  // CHECK: %[[D:.*]] = arith.subf %[[QF]], %{{.*}} : f32
  // CHECK: arith.mulf %[[D]], %{{.*}} : f32
  %w = hfq.dequantize %q : !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 64, zero_point = float>> -> tensor<4x64xf32>
  return %w : tensor<4x64xf32>
}

// CHECK-LABEL: func.func @nf4_double_quant
// CHECK-SAME: (%[[C:.*]]: tensor<4x32xi8>, %[[AQ:.*]]: tensor<4xi8>, %[[A2:.*]]: tensor<1xf32>, %[[OFF:.*]]: tensor<1xf32>)
func.func @nf4_double_quant(%q: !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4, absmax_encoding = #hfq.codebook<kind = dynamic8, block_size = 256, offset = true>>>) -> tensor<4x64xf32> {
  // The absmax values dequantize first, through their own encoding (a
  // dynamic8 codebook with an offset): absmax[b] = dynamic[c[b]] *
  // absmax2[b / 256] + offset; then w = nf4[q] * absmax[flat index / 64].
  // CHECK-DAG: %[[NF4:.*]] = arith.constant dense<[-1.000000e+00, -0.6961928{{.*}}, 1.000000e+00]> : tensor<16xf32>
  // CHECK-DAG: %[[DYN:.*]] = arith.constant dense<{{.*}}> : tensor<256xf32>
  // CHECK: tensor.extract %[[AQ]]
  // CHECK: %[[ABS:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4xf32>)
  // CHECK: tensor.extract %[[DYN]]
  // CHECK: tensor.extract %[[A2]]
  // CHECK: arith.mulf
  // CHECK: tensor.extract %[[OFF]]
  // CHECK: arith.addf
  // CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x64xf32>)
  // CHECK: tensor.extract %[[NF4]]
  // CHECK: tensor.extract %[[ABS]]
  // CHECK: arith.mulf
  %w = hfq.dequantize %q : !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4, absmax_encoding = #hfq.codebook<kind = dynamic8, block_size = 256, offset = true>>> -> tensor<4x64xf32>
  return %w : tensor<4x64xf32>
}

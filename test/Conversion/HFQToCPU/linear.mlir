// RUN: hfq-opt %s --convert-hfq-to-cpu='lanes=8 report=true' --split-input-file --verify-diagnostics | FileCheck %s

// What hfq quantize writes: 4-bit codes, f16 scales, packed zeros. The
// activations are permuted into the codes' decode order once, output rows
// are tiles of 4 over scf.forall, codes are read 8 bytes (16 codes) at a
// time and decoded in registers, the groups' scales and zeros are read as
// vectors.
// CHECK-LABEL: func.func @int4_g32
// CHECK: vector.shuffle
// CHECK: scf.forall (%{{.*}}) in (2)
// CHECK: vector.transfer_read %{{.*}} : tensor<8x2xf16>, vector<2xf16>
// CHECK: vector.transfer_read %{{.*}} : tensor<8x32xi8>, vector<8xi8>
// CHECK: arith.uitofp %{{.*}} : vector<8xi32> to vector<8xf32>
// CHECK: vector.fma
// CHECK: vector.reduction <add>
// CHECK: tensor.parallel_insert_slice
// CHECK-NOT: hfq.linear
func.func @int4_g32(%x: tensor<?x64xf32>, %c: tensor<8x32xi8>, %s: tensor<8x2xf16>, %z: tensor<8x1xi8>) -> tensor<?x8xf32> {
  %w = hfq.assemble %c, %s, %z : tensor<8x32xi8>, tensor<8x2xf16>, tensor<8x1xi8> -> !hfq.qtensor<8x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, scale_type = f16, packed_zeros = true>>
  %y = hfq.linear %x, %w : tensor<?x64xf32>, !hfq.qtensor<8x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, scale_type = f16, packed_zeros = true>> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// A float weight: no permutation, no scales; N = 6 gives tiles of 2 rows.
// CHECK-LABEL: func.func @float_weight
// CHECK-NOT: vector.shuffle
// CHECK: scf.forall (%{{.*}}) in (3)
// CHECK: vector.transfer_read %{{.*}} : tensor<6x16xf32>, vector<8xf32>
// CHECK: vector.fma
func.func @float_weight(%x: tensor<1x16xf32>, %w: tensor<6x16xf32>) -> tensor<1x6xf32> {
  %y = hfq.linear %x, %w : tensor<1x16xf32>, tensor<6x16xf32> -> tensor<1x6xf32>
  return %y : tensor<1x6xf32>
}

// -----

// No stream for act-order yet: the linear stays, and the remark says why.
func.func @act_order(%x: tensor<2x64xf32>, %c: tensor<4x32xi8>, %s: tensor<4x2xf32>, %z: tensor<4x2xi32>, %g: tensor<64xi32>) -> tensor<2x4xf32> {
  %w = hfq.assemble %c, %s, %z, %g : tensor<4x32xi8>, tensor<4x2xf32>, tensor<4x2xi32>, tensor<64xi32> -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, act_order = true>>
  // expected-remark @+1 {{left to the reference lowering: act_order (g_idx) needs a repacked layout}}
  %y = hfq.linear %x, %w : tensor<2x64xf32>, !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, act_order = true>> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// RUN: hfq-opt %s | hfq-opt | FileCheck %s
// RUN: hfq-opt %s --mlir-print-op-generic | hfq-opt | FileCheck %s

// CHECK-LABEL: func @affine_group
// CHECK-SAME: (%[[C:.*]]: tensor<4x32xi8>, %[[S:.*]]: tensor<4x2xf32>, %[[Z:.*]]: tensor<4x2xi32>)
func.func @affine_group(%c: tensor<4x32xi8>, %s: tensor<4x2xf32>, %z: tensor<4x2xi32>)
    -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>> {
  // CHECK: %[[Q:.*]] = hfq.assemble %[[C]], %[[S]], %[[Z]] : tensor<4x32xi8>, tensor<4x2xf32>, tensor<4x2xi32>
  // CHECK-SAME: -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>>
  %q = hfq.assemble %c, %s, %z : tensor<4x32xi8>, tensor<4x2xf32>, tensor<4x2xi32>
      -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>>
  // CHECK: return %[[Q]]
  return %q : !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>>
}

// A row of ten 3-bit codes (30 bits) is its own stream, padded to 4 bytes.
// CHECK-LABEL: func @affine_padded_rows
// CHECK: tensor<4x4xi8>, tensor<4x1xf32>, tensor<4x1xi32> -> !hfq.qtensor<4x10xf32, #hfq.affine<bits = 3, granularity = channel, zero_point = integer>>
func.func @affine_padded_rows(%c: tensor<4x4xi8>, %s: tensor<4x1xf32>, %z: tensor<4x1xi32>)
    -> !hfq.qtensor<4x10xf32, #hfq.affine<bits = 3, granularity = channel, zero_point = integer>> {
  %q = hfq.assemble %c, %s, %z : tensor<4x4xi8>, tensor<4x1xf32>, tensor<4x1xi32>
      -> !hfq.qtensor<4x10xf32, #hfq.affine<bits = 3, granularity = channel, zero_point = integer>>
  return %q : !hfq.qtensor<4x10xf32, #hfq.affine<bits = 3, granularity = channel, zero_point = integer>>
}

// Defaults (axis = 1, act_order = false, storage_bits = 8, lsb_first) are
// elided when printed; explicit non-defaults survive.
// CHECK-LABEL: func @affine_variants
func.func @affine_variants(
    // CHECK-SAME: #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>
    %a: !hfq.qtensor<16x32xf32, #hfq.affine<bits = 8, granularity = channel, axis = 1, zero_point = symmetric, storage_bits = 8, order = lsb_first>>,
    // CHECK-SAME: #hfq.affine<bits = 3, granularity = group, group_size = 32, zero_point = integer_minus_one, act_order = true, storage_bits = 32>
    %b: !hfq.qtensor<8x64xf16, #hfq.affine<bits = 3, granularity = group, group_size = 32, zero_point = integer_minus_one, act_order = true, storage_bits = 32>>,
    // CHECK-SAME: #hfq.affine<bits = 2, granularity = tensor, zero_point = float, order = msb_first>
    %c: !hfq.qtensor<2x3x8xbf16, #hfq.affine<bits = 2, granularity = tensor, zero_point = float, order = msb_first>>,
    // CHECK-SAME: #hfq.affine<bits = 4, granularity = group, axis = 0, group_size = 2, zero_point = integer>
    %d: !hfq.qtensor<4x8xf32, #hfq.affine<bits = 4, granularity = group, axis = 0, group_size = 2, zero_point = integer>>) {
  return
}

// CHECK-LABEL: func @act_order_parts
func.func @act_order_parts(%q: !hfq.qtensor<8x64xf16, #hfq.affine<bits = 3, granularity = group, group_size = 32, zero_point = integer_minus_one, act_order = true, storage_bits = 32>>)
    -> tensor<64xi32> {
  // CHECK: %{{.*}}:4 = hfq.disassemble %{{.*}} : !hfq.qtensor<8x64xf16, {{.*}}> -> tensor<8x6xi32>, tensor<8x2xf16>, tensor<8x2xi32>, tensor<64xi32>
  %c, %s, %z, %g = hfq.disassemble %q : !hfq.qtensor<8x64xf16, #hfq.affine<bits = 3, granularity = group, group_size = 32, zero_point = integer_minus_one, act_order = true, storage_bits = 32>>
      -> tensor<8x6xi32>, tensor<8x2xf16>, tensor<8x2xi32>, tensor<64xi32>
  return %g : tensor<64xi32>
}

// CHECK-LABEL: func @codebooks
func.func @codebooks(%w: tensor<4x64xf32>) -> tensor<4x64xf32> {
  // CHECK: hfq.quantize %{{.*}} : tensor<4x64xf32> -> !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4>>
  %a = hfq.quantize %w : tensor<4x64xf32> -> !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4, block_size = 64, order = msb_first>>
  // CHECK: #hfq.codebook<kind = fp4, block_size = 32, absmax_encoding = #hfq.codebook<kind = dynamic8, block_size = 256, offset = true>>
  %b = hfq.quantize %w : tensor<4x64xf32> -> !hfq.qtensor<4x64xf32, #hfq.codebook<kind = fp4, block_size = 32, absmax_encoding = #hfq.codebook<kind = dynamic8, block_size = 256, offset = true>>>
  // CHECK: #hfq.codebook<kind = custom, values = [-1.000000e+00, -2.500000e-01, 2.500000e-01, 1.000000e+00], block_size = 16, order = lsb_first>
  %c = hfq.quantize %w : tensor<4x64xf32> -> !hfq.qtensor<4x64xf32, #hfq.codebook<kind = custom, values = [-1.0, -0.25, 0.25, 1.0], block_size = 16, order = lsb_first>>
  // CHECK: %{{.*}}:4 = hfq.disassemble %{{.*}} -> tensor<4x32xi8>, tensor<8xi8>, tensor<1xf32>, tensor<1xf32>
  %p:4 = hfq.disassemble %b : !hfq.qtensor<4x64xf32, #hfq.codebook<kind = fp4, block_size = 32, absmax_encoding = #hfq.codebook<kind = dynamic8, block_size = 256, offset = true>>>
      -> tensor<4x32xi8>, tensor<8xi8>, tensor<1xf32>, tensor<1xf32>
  // CHECK: hfq.dequantize %{{.*}} : !hfq.qtensor<4x64xf32, #hfq.codebook<kind = custom
  %d = hfq.dequantize %c : !hfq.qtensor<4x64xf32, #hfq.codebook<kind = custom, values = [-1.0, -0.25, 0.25, 1.0], block_size = 16, order = lsb_first>> -> tensor<4x64xf32>
  return %d : tensor<4x64xf32>
}

// CHECK-LABEL: func @linear
// CHECK-SAME: (%[[X:.*]]: tensor<2x7x64xf32>, %[[W:.*]]: tensor<4x64xf32>, %[[Q:.*]]: !hfq.qtensor<4x64xf32, {{.*}}>, %[[B:.*]]: tensor<4xf32>)
func.func @linear(%x: tensor<2x7x64xf32>, %w: tensor<4x64xf32>,
                  %q: !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4>>, %b: tensor<4xf32>)
    -> (tensor<2x7x4xf32>, tensor<2x7x4xf32>) {
  // CHECK: hfq.linear %[[X]], %[[W]] : tensor<2x7x64xf32>, tensor<4x64xf32> -> tensor<2x7x4xf32>
  %y0 = hfq.linear %x, %w : tensor<2x7x64xf32>, tensor<4x64xf32> -> tensor<2x7x4xf32>
  // CHECK: hfq.linear %[[X]], %[[Q]], %[[B]] : tensor<2x7x64xf32>, !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4>>, tensor<4xf32> -> tensor<2x7x4xf32>
  %y1 = hfq.linear %x, %q, %b : tensor<2x7x64xf32>, !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4>>, tensor<4xf32> -> tensor<2x7x4xf32>
  return %y0, %y1 : tensor<2x7x4xf32>, tensor<2x7x4xf32>
}

// CHECK-LABEL: func @dynamic_tokens
func.func @dynamic_tokens(%x: tensor<?x64xf32>, %q: !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4>>) -> tensor<?x4xf32> {
  // CHECK: hfq.linear {{.*}} : tensor<?x64xf32>, {{.*}} -> tensor<?x4xf32>
  %y = hfq.linear %x, %q : tensor<?x64xf32>, !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4>> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// CHECK-LABEL: func.func @sparse_round_trip
// CHECK: hfq.assemble %{{.*}}, %{{.*}} : tensor<4x8xi8>, tensor<4x32xf32> -> !hfq.qtensor<4x64xf32, #hfq.sparse<n = 2, m = 4>>
// CHECK: hfq.linear %{{.*}}, %{{.*}} {outlier_threshold = 6.000000e+00 : f64}
func.func @sparse_round_trip(%i: tensor<4x8xi8>, %v: tensor<4x32xf32>, %x: tensor<2x64xf32>, %c: tensor<4x64xi8>, %s: tensor<4x1xf32>) -> (!hfq.qtensor<4x64xf32, #hfq.sparse<n = 2, m = 4>>, tensor<2x4xf32>) {
  %q = hfq.assemble %i, %v : tensor<4x8xi8>, tensor<4x32xf32> -> !hfq.qtensor<4x64xf32, #hfq.sparse<n = 2, m = 4>>
  %w = hfq.assemble %c, %s : tensor<4x64xi8>, tensor<4x1xf32> -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>>
  %y = hfq.linear %x, %w {outlier_threshold = 6.0 : f64} : tensor<2x64xf32>, !hfq.qtensor<4x64xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>> -> tensor<2x4xf32>
  return %q, %y : !hfq.qtensor<4x64xf32, #hfq.sparse<n = 2, m = 4>>, tensor<2x4xf32>
}

// CHECK-LABEL: func.func @spqr_round_trip
// CHECK: hfq.assemble {{.*}} -> !hfq.qtensor<16x32xf32, #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, act_order = true, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = 2>>
func.func @spqr_round_trip(%c: tensor<16x12xi8>, %sc: tensor<16x1xi8>, %ss: tensor<1x2xf32>, %sz: tensor<1x2xf32>, %zc: tensor<16x1xi8>, %zs: tensor<1x2xf32>, %zz: tensor<1x2xf32>, %g: tensor<32xi32>, %rp: tensor<17xi32>, %oc: tensor<2xi32>, %ov: tensor<2xf16>) -> !hfq.qtensor<16x32xf32, #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, act_order = true, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = 2>> {
  %q = hfq.assemble %c, %sc, %ss, %sz, %zc, %zs, %zz, %g, %rp, %oc, %ov : tensor<16x12xi8>, tensor<16x1xi8>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<16x1xi8>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<32xi32>, tensor<17xi32>, tensor<2xi32>, tensor<2xf16> -> !hfq.qtensor<16x32xf32, #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, act_order = true, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = 2>>
  return %q : !hfq.qtensor<16x32xf32, #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, act_order = true, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = 2>>
}

// CHECK-LABEL: func.func @bitmask_round_trip
// CHECK: hfq.assemble {{.*}} -> !hfq.qtensor<3x10xf32, #hfq.bitmask<kept = 4>>
func.func @bitmask_round_trip(%m: tensor<3x2xi8>, %v: tensor<4xf32>, %o: tensor<3xi64>) -> !hfq.qtensor<3x10xf32, #hfq.bitmask<kept = 4>> {
  %q = hfq.assemble %m, %v, %o : tensor<3x2xi8>, tensor<4xf32>, tensor<3xi64> -> !hfq.qtensor<3x10xf32, #hfq.bitmask<kept = 4>>
  return %q : !hfq.qtensor<3x10xf32, #hfq.bitmask<kept = 4>>
}

// Weights as symbols: an external parameter, inline floats, a quantized
// global with inline parts, and a quantized one whose parts are parameters.
// CHECK: hfq.global @model.norm.weight : tensor<4xf32> = #hfq.param<"model", "model.norm.weight">
// CHECK: hfq.global @lm_head.weight : tensor<2x4xf32> = dense<5.000000e-01> : tensor<2x4xf32>
// CHECK: hfq.global @up.weight : !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>> = [dense<1> : tensor<2x4xi8>, dense<2.500000e-01> : tensor<2x1xf32>]
// CHECK: hfq.global @down.weight : !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>> = #hfq.param<"model", "down.weight">
hfq.global @model.norm.weight : tensor<4xf32> = #hfq.param<"model", "model.norm.weight">
hfq.global @lm_head.weight : tensor<2x4xf32> = dense<0.5> : tensor<2x4xf32>
hfq.global @up.weight : !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>> = [dense<1> : tensor<2x4xi8>, dense<0.25> : tensor<2x1xf32>]
hfq.global @down.weight : !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>> = #hfq.param<"model", "down.weight">

// CHECK-LABEL: func.func @loads
func.func @loads(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  // CHECK: %[[N:.*]] = hfq.load @model.norm.weight : tensor<4xf32>
  %n = hfq.load @model.norm.weight : tensor<4xf32>
  // CHECK: %[[U:.*]] = hfq.load @up.weight : !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>>
  %u = hfq.load @up.weight : !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>>
  // CHECK: hfq.linear %{{.*}}, %[[U]]
  %y = hfq.linear %x, %u : tensor<3x4xf32>, !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// Scales stored as f16 and zeros packed at the code width: 9 groups of 4-bit
// zeros take 5 bytes a row.
// CHECK-LABEL: func.func @affine_f16_packed_zeros
// CHECK: hfq.assemble {{.*}} : tensor<4x144xi8>, tensor<4x9xf16>, tensor<4x5xi8> -> !hfq.qtensor<4x288xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, scale_type = f16, packed_zeros = true>>
func.func @affine_f16_packed_zeros(%c: tensor<4x144xi8>, %s: tensor<4x9xf16>, %z: tensor<4x5xi8>) -> !hfq.qtensor<4x288xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, scale_type = f16, packed_zeros = true>> {
  %q = hfq.assemble %c, %s, %z : tensor<4x144xi8>, tensor<4x9xf16>, tensor<4x5xi8> -> !hfq.qtensor<4x288xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, scale_type = f16, packed_zeros = true>>
  return %q : !hfq.qtensor<4x288xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, scale_type = f16, packed_zeros = true>>
}

// Float codes, 8-bit scales and quantized scales: parts named and typed by
// the encoding, the nested scales' parts in place of `scales`.
// CHECK-LABEL: func @float_codes
// CHECK-SAME: tensor<4x32xi8>, %{{.*}}: tensor<4x2xf8E8M0FNU>
// CHECK: hfq.assemble {{.*}} -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 32, zero_point = symmetric, scale_type = f8E8M0FNU>>
// CHECK: hfq.assemble {{.*}} : tensor<4x32xi8>, tensor<4x4xi8>, tensor<1x1xf32> -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 16, zero_point = symmetric, scale_encoding = #hfq.affine<bits = 8, code_type = f8E4M3FN, granularity = tensor, zero_point = symmetric>>>
// CHECK: hfq.disassemble {{.*}} -> tensor<4x64xi8>, tensor<4x1xf16>
func.func @float_codes(%c: tensor<4x32xi8>, %s: tensor<4x2xf8E8M0FNU>,
                       %sc: tensor<4x4xi8>, %t: tensor<1x1xf32>,
                       %f8: !hfq.qtensor<4x64xf32, #hfq.affine<bits = 8, code_type = f8E4M3FN, granularity = channel, zero_point = symmetric, scale_type = f16>>) {
  %mx = hfq.assemble %c, %s : tensor<4x32xi8>, tensor<4x2xf8E8M0FNU>
      -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 32, zero_point = symmetric, scale_type = f8E8M0FNU>>
  %nv = hfq.assemble %c, %sc, %t : tensor<4x32xi8>, tensor<4x4xi8>, tensor<1x1xf32>
      -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 16, zero_point = symmetric, scale_encoding = #hfq.affine<bits = 8, code_type = f8E4M3FN, granularity = tensor, zero_point = symmetric>>>
  %p:2 = hfq.disassemble %f8 : !hfq.qtensor<4x64xf32, #hfq.affine<bits = 8, code_type = f8E4M3FN, granularity = channel, zero_point = symmetric, scale_type = f16>>
      -> tensor<4x64xi8>, tensor<4x1xf16>
  return
}

// Any encoding can quantize a codebook's absmax values: here 8-bit affine
// codes per tensor (parts absmax.codes, absmax.scales, absmax.zeros).
// CHECK-LABEL: func @codebook_affine_absmax
// CHECK: hfq.disassemble {{.*}} -> tensor<4x32xi8>, tensor<4xi8>, tensor<1xf32>, tensor<1xi32>
func.func @codebook_affine_absmax(%q: !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4, absmax_encoding = #hfq.affine<bits = 8, granularity = tensor, axis = 0, zero_point = integer>>>) {
  %p:4 = hfq.disassemble %q : !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4, absmax_encoding = #hfq.affine<bits = 8, granularity = tensor, axis = 0, zero_point = integer>>>
      -> tensor<4x32xi8>, tensor<4xi8>, tensor<1xf32>, tensor<1xi32>
  return
}

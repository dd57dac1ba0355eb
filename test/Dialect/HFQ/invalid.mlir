// RUN: hfq-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{bits must be in [2, 8], got 9}}
func.func private @bits(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 9, granularity = channel, zero_point = integer>>)

// -----

// expected-error @+1 {{bits must be in [2, 8], got 1}}
func.func private @bits1(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 1, granularity = channel, zero_point = integer>>)

// -----

// expected-error @+1 {{granularity = group needs a positive group_size}}
func.func private @no_group(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, zero_point = integer>>)

// -----

// expected-error @+1 {{group_size is only meaningful with granularity = group}}
func.func private @stray_group(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = channel, group_size = 32, zero_point = integer>>)

// -----

// expected-error @+1 {{act_order needs granularity = group}}
func.func private @act_order(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = channel, zero_point = integer, act_order = true>>)

// -----

// expected-error @+1 {{storage_bits must be 8, 16 or 32, got 12}}
func.func private @storage(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = channel, zero_point = integer, storage_bits = 12>>)

// -----

// expected-error @+1 {{group_size 128 does not divide dimension 1 of size 288}}
func.func private @divide(!hfq.qtensor<768x288xf32, #hfq.affine<bits = 4, granularity = group, group_size = 128, zero_point = integer>>)

// -----

// expected-error @+1 {{axis 2 is out of range for rank 2}}
func.func private @axis(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = channel, axis = 2, zero_point = integer>>)

// -----

// #hfq.affine pads each row to whole containers (ops.mlir); the other
// encodings' rows must fill them.
// expected-error @+1 {{last dimension 3 of 4-bit codes does not fill whole 8-bit containers}}
func.func private @fill(!hfq.qtensor<4x3xf32, #hfq.codebook<kind = nf4, block_size = 4>>)

// -----

// expected-error @+1 {{quantized tensors must have rank >= 1}}
func.func private @rank0(!hfq.qtensor<f32, #hfq.affine<bits = 8, granularity = tensor, zero_point = symmetric>>)

// -----

// expected-error @+1 {{expected a float element type, got 'i8'}}
func.func private @int_elem(!hfq.qtensor<4x64xi8, #hfq.affine<bits = 4, granularity = channel, zero_point = integer>>)

// -----

// expected-error @+1 {{expected static shape}}
func.func private @dynamic(!hfq.qtensor<?x64xf32, #hfq.affine<bits = 4, granularity = channel, zero_point = integer>>)

// -----

// expected-error @+2 {{expected ::mlir::hfq::Granularity to be one of: tensor, channel, group}}
// expected-error @+1 {{failed to parse HFQ_AffineEncodingAttr parameter 'granularity'}}
func.func private @enum(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = row, zero_point = integer>>)

// -----

// expected-error @+1 {{struct is missing required parameter: zero_point}}
func.func private @missing(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = channel>>)

// -----

// expected-error @+1 {{kind = custom needs a values table}}
func.func private @custom(!hfq.qtensor<4x64xf32, #hfq.codebook<kind = custom>>)

// -----

// expected-error @+1 {{values are only allowed with kind = custom}}
func.func private @nf4_values(!hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4, values = [1.0, 2.0]>>)

// -----

// expected-error @+1 {{a custom table must have a power-of-two size in [2, 256], got 3}}
func.func private @table3(!hfq.qtensor<4x64xf32, #hfq.codebook<kind = custom, values = [-1.0, 0.0, 1.0]>>)

// -----

// expected-error @+1 {{block_size must be positive, got 0}}
func.func private @block(!hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4, block_size = 0>>)

// -----

// expected-error @+1 {{expected an hfq encoding attribute (#hfq.affine or #hfq.codebook), got 5 : i32}}
func.func private @not_encoding(!hfq.qtensor<4x64xf32, 5 : i32>)

// -----

// expected-error @+1 {{unknown attribute `mystery` in dialect `hfq`}}
func.func private @unknown(!hfq.qtensor<4x64xf32, #hfq.mystery<bits = 4>>)

// -----

func.func @assemble_count(%c: tensor<4x32xi8>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'hfq.assemble' op expects 3 operands (codes, scales, zeros) for this encoding, got 2}}
  %q = hfq.assemble %c, %s : tensor<4x32xi8>, tensor<4x2xf32>
      -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>>
  return
}

// -----

func.func @assemble_type(%c: tensor<4x32xi8>, %s: tensor<4x1xf32>, %z: tensor<4x2xi32>) {
  // expected-error @+1 {{'hfq.assemble' op operand #1 (scales) must be 'tensor<4x2xf32>' for this encoding, got 'tensor<4x1xf32>'}}
  %q = hfq.assemble %c, %s, %z : tensor<4x32xi8>, tensor<4x1xf32>, tensor<4x2xi32>
      -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>>
  return
}

// -----

func.func @disassemble_type(%q: !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4>>) {
  // expected-error @+1 {{'hfq.disassemble' op result #0 (codes) must be 'tensor<4x32xi8>' for this encoding, got 'tensor<4x64xi8>'}}
  %c, %a = hfq.disassemble %q : !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4>> -> tensor<4x64xi8>, tensor<4xf32>
  return
}

// -----

func.func @quantize_shape(%w: tensor<4x32xf32>) {
  // expected-error @+1 {{'hfq.quantize' op input type 'tensor<4x32xf32>' must equal the dequantized result type 'tensor<4x64xf32>'}}
  %q = hfq.quantize %w : tensor<4x32xf32> -> !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4>>
  return
}

// -----

func.func @quantize_act_order(%w: tensor<4x64xf32>) {
  // expected-error @+1 {{cannot quantize to an act_order encoding by round-to-nearest}}
  %q = hfq.quantize %w : tensor<4x64xf32> -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, act_order = true>>
  return
}

// -----

func.func @dequantize_type(%q: !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4>>) {
  // expected-error @+1 {{'hfq.dequantize' op result type 'tensor<4x64xf16>' must be 'tensor<4x64xf32>'}}
  %w = hfq.dequantize %q : !hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4>> -> tensor<4x64xf16>
  return
}

// -----

func.func @linear_in(%x: tensor<3x32xf32>, %w: tensor<4x64xf32>) {
  // expected-error @+1 {{'hfq.linear' op input feature size 32 does not match the weight's in dimension 64}}
  %y = hfq.linear %x, %w : tensor<3x32xf32>, tensor<4x64xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @linear_out(%x: tensor<3x64xf32>, %w: tensor<4x64xf32>) {
  // expected-error @+1 {{'hfq.linear' op result feature size 5 does not match the weight's out dimension 4}}
  %y = hfq.linear %x, %w : tensor<3x64xf32>, tensor<4x64xf32> -> tensor<3x5xf32>
  return
}

// -----

func.func @linear_rank(%x: tensor<3x64xf32>, %w: tensor<2x4x64xf32>) {
  // expected-error @+1 {{'hfq.linear' op weight must be 2-D [out, in], got rank 3}}
  %y = hfq.linear %x, %w : tensor<3x64xf32>, tensor<2x4x64xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @linear_elem(%x: tensor<3x64xf16>, %w: tensor<4x64xf32>) {
  // expected-error @+1 {{'hfq.linear' op input, weight and result element types must agree, got 'f16', 'f32', 'f16'}}
  %y = hfq.linear %x, %w : tensor<3x64xf16>, tensor<4x64xf32> -> tensor<3x4xf16>
  return
}

// -----

func.func @linear_bias(%x: tensor<3x64xf32>, %w: tensor<4x64xf32>, %b: tensor<5xf32>) {
  // expected-error @+1 {{'hfq.linear' op bias must be 'tensor<4xf32>', got 'tensor<5xf32>'}}
  %y = hfq.linear %x, %w, %b : tensor<3x64xf32>, tensor<4x64xf32>, tensor<5xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @linear_batch(%x: tensor<2x3x64xf32>, %w: tensor<4x64xf32>) {
  // expected-error @+1 {{'hfq.linear' op result dimension 0 (3) must equal the input's (2)}}
  %y = hfq.linear %x, %w : tensor<2x3x64xf32>, tensor<4x64xf32> -> tensor<3x3x4xf32>
  return
}

// -----

func.func @linear_weight_int(%x: tensor<3x64xf32>, %w: tensor<4x64xi8>) {
  // expected-error @+1 {{operand #1 must be float tensor or hfq quantized tensor}}
  %y = hfq.linear %x, %w : tensor<3x64xf32>, tensor<4x64xi8> -> tensor<3x4xf32>
  return
}

// -----

func.func @malformed(%x: tensor<3x64xf32>) {
  // expected-error @+1 {{expected ','}}
  %y = hfq.linear %x : tensor<3x64xf32> -> tensor<3x4xf32>
  return
}

// -----

// expected-error @+1 {{quantized tensors may have at most 2^48 elements}}
func.func private @huge(!hfq.qtensor<4611686018427387904x64xf32, #hfq.affine<bits = 4, granularity = channel, zero_point = integer>>)

// -----

// expected-error @+1 {{n must be in [1, m), got 4 of 4}}
func.func private @sparse_n(!hfq.qtensor<4x64xf32, #hfq.sparse<n = 4, m = 4>>)

// -----

// expected-error @+1 {{m must be 2, 4, 8 or 16, got 6}}
func.func private @sparse_m(!hfq.qtensor<4x60xf32, #hfq.sparse<n = 2, m = 6>>)

// -----

// expected-error @+1 {{the last dimension must be a multiple of m = 4}}
func.func private @sparse_shape(!hfq.qtensor<4x66xf32, #hfq.sparse<n = 2, m = 4>>)

// -----

func.func @sparse_parts(%i: tensor<4x4xi8>, %v: tensor<4x32xf32>) -> !hfq.qtensor<4x64xf32, #hfq.sparse<n = 2, m = 4>> {
  // expected-error @+1 {{operand #0 (indices) must be 'tensor<4x8xi8>' for this encoding, got 'tensor<4x4xi8>'}}
  %q = hfq.assemble %i, %v : tensor<4x4xi8>, tensor<4x32xf32> -> !hfq.qtensor<4x64xf32, #hfq.sparse<n = 2, m = 4>>
  return %q : !hfq.qtensor<4x64xf32, #hfq.sparse<n = 2, m = 4>>
}

// -----

func.func @sparse_quantize(%w: tensor<4x64xf32>) -> !hfq.qtensor<4x64xf32, #hfq.sparse<n = 2, m = 4>> {
  // expected-error @+1 {{cannot quantize to a sparse encoding: its mask comes from a pruning pass (hfq-prune); use hfq.assemble}}
  %q = hfq.quantize %w : tensor<4x64xf32> -> !hfq.qtensor<4x64xf32, #hfq.sparse<n = 2, m = 4>>
  return %q : !hfq.qtensor<4x64xf32, #hfq.sparse<n = 2, m = 4>>
}

// -----

func.func @int8_threshold(%x: tensor<2x64xf32>, %w: !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = channel, zero_point = symmetric>>) -> tensor<2x4xf32> {
  // expected-error @+1 {{outlier_threshold (LLM.int8) needs an 8-bit symmetric per-output-channel affine weight}}
  %y = hfq.linear %x, %w {outlier_threshold = 6.0 : f64} : tensor<2x64xf32>, !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = channel, zero_point = symmetric>> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// SpQR's statistics are #hfq.affine codes: their verifier speaks, and
// each enclosing attribute fails to parse in turn.
// expected-error @+3 {{bits must be in [2, 8], got 9}}
// expected-error @+2 {{failed to parse HFQ_AffineEncodingAttr parameter 'scale_encoding'}}
// expected-error @+1 {{failed to parse HFQ_SpQREncodingAttr parameter 'base'}}
func.func private @spqr_bits(!hfq.qtensor<16x32xf32, #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, scale_encoding = #hfq.affine<bits = 9, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = 0>>)

// -----

// expected-error @+1 {{scale_encoding of the scales: group_size 16 does not divide dimension 0 of size 24}}
func.func private @spqr_rows(!hfq.qtensor<24x32xf32, #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = 0>>)

// -----

// expected-error @+1 {{600 outliers in 512 weights}}
func.func private @spqr_outliers(!hfq.qtensor<16x32xf32, #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = 600>>)

// -----

// expected-error @+1 {{zero_encoding quantizes float zero points: it needs zero_point = float}}
func.func private @zero_encoding_integer(!hfq.qtensor<16x32xf32, #hfq.affine<bits = 4, granularity = group, group_size = 16, zero_point = integer, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>>)

// -----

// expected-error @+1 {{a spqr base cannot itself be spqr}}
func.func private @spqr_nested(!hfq.qtensor<16x32xf32, #hfq.spqr<base = #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = 0>, outliers = 0>>)

// -----

func.func @spqr_quantize(%w: tensor<16x32xf32>) -> !hfq.qtensor<16x32xf32, #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = 0>> {
  // expected-error @+1 {{cannot quantize to a spqr encoding: its outliers and statistics come from hfq-spqr; use hfq.assemble}}
  %q = hfq.quantize %w : tensor<16x32xf32> -> !hfq.qtensor<16x32xf32, #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = 0>>
  return %q : !hfq.qtensor<16x32xf32, #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = 0>>
}

// -----

// expected-error @+1 {{kept must be >= 0, got -1}}
func.func private @bitmask_negative(!hfq.qtensor<4x8xf32, #hfq.bitmask<kept = -1>>)

// -----

// expected-error @+1 {{33 kept values in 32 weights}}
func.func private @bitmask_too_many(!hfq.qtensor<4x8xf32, #hfq.bitmask<kept = 33>>)

// -----

// expected-error @+1 {{bitmask encodes [out, in] weights, got rank 1}}
func.func private @bitmask_rank(!hfq.qtensor<8xf32, #hfq.bitmask<kept = 3>>)

// -----

func.func @bitmask_parts(%m: tensor<3x1xi8>, %v: tensor<4xf32>, %o: tensor<3xi64>) -> !hfq.qtensor<3x10xf32, #hfq.bitmask<kept = 4>> {
  // expected-error @+1 {{operand #0 (bitmask) must be 'tensor<3x2xi8>' for this encoding, got 'tensor<3x1xi8>'}}
  %q = hfq.assemble %m, %v, %o : tensor<3x1xi8>, tensor<4xf32>, tensor<3xi64> -> !hfq.qtensor<3x10xf32, #hfq.bitmask<kept = 4>>
  return %q : !hfq.qtensor<3x10xf32, #hfq.bitmask<kept = 4>>
}

// -----

func.func @bitmask_quantize(%w: tensor<4x8xf32>) -> !hfq.qtensor<4x8xf32, #hfq.bitmask<kept = 3>> {
  // expected-error @+1 {{cannot quantize to a sparse encoding: its mask comes from a pruning pass (hfq-prune); use hfq.assemble}}
  %q = hfq.quantize %w : tensor<4x8xf32> -> !hfq.qtensor<4x8xf32, #hfq.bitmask<kept = 3>>
  return %q : !hfq.qtensor<4x8xf32, #hfq.bitmask<kept = 3>>
}

// -----

// expected-error @+1 {{a parameter needs a non-empty scope and key}}
hfq.global @w : tensor<2x4xf32> = #hfq.param<"", "w">

// -----

// expected-error @+1 {{'hfq.global' op type must be a float tensor or an !hfq.qtensor, got 'tensor<2x4xi8>'}}
hfq.global @w : tensor<2x4xi8> = #hfq.param<"model", "w">

// -----

// expected-error @+1 {{'hfq.global' op type must have a static shape, got 'tensor<?x4xf32>'}}
hfq.global @w : tensor<?x4xf32> = #hfq.param<"model", "w">

// -----

// expected-error @+1 {{'hfq.global' op value must be a #hfq.param or elements of 'tensor<2x4xf32>'}}
hfq.global @w : tensor<2x4xf32> = dense<0.5> : tensor<4x2xf32>

// -----

// expected-error @+1 {{'hfq.global' op value of a quantized global must be a #hfq.param or an array of its 2 parts}}
hfq.global @w : !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>> = [dense<1> : tensor<2x4xi8>]

// -----

// expected-error @+1 {{'hfq.global' op part 1 ('scales') must be elements of 'tensor<2x1xf32>'}}
hfq.global @w : !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>> = [dense<1> : tensor<2x4xi8>, dense<1> : tensor<2x1xi32>]

// -----

func.func @no_global() -> tensor<2x4xf32> {
  // expected-error @+1 {{'hfq.load' op 'w' is not an hfq.global}}
  %w = hfq.load @w : tensor<2x4xf32>
  return %w : tensor<2x4xf32>
}

// -----

hfq.global @w : tensor<2x4xf32> = #hfq.param<"model", "w">
func.func @wrong_type() -> tensor<4x2xf32> {
  // expected-error @+1 {{'hfq.load' op result type 'tensor<4x2xf32>' does not match the global's type 'tensor<2x4xf32>'}}
  %w = hfq.load @w : tensor<4x2xf32>
  return %w : tensor<4x2xf32>
}

// -----

// expected-error @+1 {{scale_type must be f16, bf16, f32, f8E4M3FN or f8E8M0FNU, got 'f64'}}
func.func private @scale_f64(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = channel, zero_point = integer, scale_type = f64>>)

// -----

// expected-error @+1 {{packed_zeros needs integer zero points}}
func.func private @packed_symmetric(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = channel, zero_point = symmetric, packed_zeros = true>>)

// -----

func.func @f32_scales_for_f16_encoding(%c: tensor<4x144xi8>, %s: tensor<4x9xf32>, %z: tensor<4x5xi8>) {
  // expected-error @+1 {{operand #1 (scales) must be 'tensor<4x9xf16>' for this encoding, got 'tensor<4x9xf32>'}}
  %q = hfq.assemble %c, %s, %z : tensor<4x144xi8>, tensor<4x9xf32>, tensor<4x5xi8> -> !hfq.qtensor<4x288xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, scale_type = f16, packed_zeros = true>>
  return
}

// -----

// expected-error @+1 {{code_type 'f8E4M3FN' has 8 bits, not bits = 4}}
func.func private @code_width(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, code_type = f8E4M3FN, granularity = channel, zero_point = symmetric>>)

// -----

// expected-error @+1 {{float codes (code_type) need zero_point = symmetric}}
func.func private @code_zero(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = channel, zero_point = integer>>)

// -----

// expected-error @+1 {{code_type must be a float type of at most 8 bits with a zero (f4E2M1FN, f8E4M3FN, ...), got 'f8E8M0FNU'}}
func.func private @code_e8m0(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 8, code_type = f8E8M0FNU, granularity = channel, zero_point = symmetric>>)

// -----

// expected-error @+1 {{code_type must be a float type of at most 8 bits with a zero (f4E2M1FN, f8E4M3FN, ...), got 'f16'}}
func.func private @code_f16(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 8, code_type = f16, granularity = channel, zero_point = symmetric>>)

// -----

// expected-error @+1 {{float zero points cannot be stored in 'f8E8M0FNU'}}
func.func private @zero_e8m0(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = channel, zero_point = float, scale_type = f8E8M0FNU>>)

// -----

// expected-error @+1 {{scale_type and scale_encoding exclude each other}}
func.func private @both(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 16, zero_point = symmetric, scale_type = f16, scale_encoding = #hfq.affine<bits = 8, code_type = f8E4M3FN, granularity = tensor, zero_point = symmetric>>>)

// -----

// The nested encoding is checked against the scales' shape [4, 4].
// expected-error @+1 {{scale_encoding of the scales: group_size 3 does not divide dimension 1 of size 4}}
func.func private @nested_shape(!hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 16, zero_point = symmetric, scale_encoding = #hfq.affine<bits = 8, code_type = f8E4M3FN, granularity = group, group_size = 3, zero_point = symmetric>>>)

// -----

!nv = !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 16, zero_point = symmetric, scale_encoding = #hfq.affine<bits = 8, code_type = f8E4M3FN, granularity = tensor, zero_point = symmetric>>>
func.func @nested_parts(%c: tensor<4x32xi8>, %s: tensor<4x4xf32>) -> !nv {
  // expected-error @+1 {{expects 3 operands (codes, scales.codes, scales.scales) for this encoding, got 2}}
  %q = hfq.assemble %c, %s : tensor<4x32xi8>, tensor<4x4xf32> -> !nv
  return %q : !nv
}

// -----

func.func @quantize_fp4(%w: tensor<4x64xf32>) -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 32, zero_point = symmetric, scale_type = f8E8M0FNU>> {
  // expected-error @+1 {{rounds to integer codes with f16/bf16/f32 scales only}}
  %q = hfq.quantize %w : tensor<4x64xf32> -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 32, zero_point = symmetric, scale_type = f8E8M0FNU>>
  return %q : !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 32, zero_point = symmetric, scale_type = f8E8M0FNU>>
}

// -----

// The nested encoding is checked against the absmax vector's shape [4].
// expected-error @+1 {{absmax_encoding of the absmax values: axis 1 is out of range for rank 1}}
func.func private @absmax_nested(!hfq.qtensor<4x64xf32, #hfq.codebook<kind = nf4, absmax_encoding = #hfq.affine<bits = 8, granularity = channel, zero_point = integer>>>)

// RUN: hfq-opt %s -split-input-file --convert-quant-to-hfq --convert-hfq-to-quant -verify-diagnostics

func.func @blocks_2d() -> tensor<2x4xf32> {
  %c = arith.constant dense<[[-8, -1, 0, 7], [1, 2, 3, 4]]> : tensor<2x4xi8>
  %s = quant.scast %c : tensor<2x4xi8> to tensor<2x4x!quant.uniform<i8:f32:{0:2, 1:2}, {{2.0:10, 3.0:20}}>>
  // expected-warning @+1 {{not converted to hfq: blocks along dimensions 0 and 1 are not expressible: #hfq.affine groups along one dimension}}
  %w = quant.dcast %s : tensor<2x4x!quant.uniform<i8:f32:{0:2, 1:2}, {{2.0:10, 3.0:20}}>> to tensor<2x4xf32>
  return %w : tensor<2x4xf32>
}

// -----

func.func @narrow_range() -> tensor<1x4xf32> {
  %c = arith.constant dense<[[-7, -1, 0, 7]]> : tensor<1x4xi8>
  %s = quant.scast %c : tensor<1x4xi8> to tensor<1x4x!quant.uniform<i8<-127:127>:f32, 0.5>>
  // expected-warning @+1 {{not converted to hfq: narrowed storage range [-127, 127] is not expressible: hfq codes use the full range}}
  %w = quant.dcast %s : tensor<1x4x!quant.uniform<i8<-127:127>:f32, 0.5>> to tensor<1x4xf32>
  return %w : tensor<1x4xf32>
}

// -----

func.func @codebook() -> tensor<1x64xf32> {
  %c = arith.constant dense<0> : tensor<1x32xi8>
  %a = arith.constant dense<1.0> : tensor<1xf32>
  %q = hfq.assemble %c, %a : tensor<1x32xi8>, tensor<1xf32> -> !hfq.qtensor<1x64xf32, #hfq.codebook<kind = nf4>>
  // expected-warning @+1 {{not converted to !quant.uniform: codebook encodings have no !quant.uniform form}}
  %w = hfq.dequantize %q : !hfq.qtensor<1x64xf32, #hfq.codebook<kind = nf4>> -> tensor<1x64xf32>
  return %w : tensor<1x64xf32>
}

// -----

func.func @hqq() -> tensor<1x8xf32> {
  %c = arith.constant dense<0> : tensor<1x4xi8>
  %s = arith.constant dense<1.0> : tensor<1x1xf32>
  %z = arith.constant dense<7.5> : tensor<1x1xf32>
  %q = hfq.assemble %c, %s, %z : tensor<1x4xi8>, tensor<1x1xf32>, tensor<1x1xf32> -> !hfq.qtensor<1x8xf32, #hfq.affine<bits = 4, granularity = channel, zero_point = float>>
  // expected-warning @+1 {{not converted to !quant.uniform: float zero points (HQQ) have no !quant.uniform form}}
  %w = hfq.dequantize %q : !hfq.qtensor<1x8xf32, #hfq.affine<bits = 4, granularity = channel, zero_point = float>> -> tensor<1x8xf32>
  return %w : tensor<1x8xf32>
}

// The up-projection of stories15M's MLP with a 4-bit group-quantized weight.
// hfq-opt examples/mlp-up.mlir prints it back; see README.md.

func.func @mlp_up(%x: tensor<?x288xf32>, %w: tensor<768x288xf32>) -> tensor<?x768xf32> {
  %q = hfq.quantize %w : tensor<768x288xf32> -> !hfq.qtensor<768x288xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>>
  %y = hfq.linear %x, %q : tensor<?x288xf32>, !hfq.qtensor<768x288xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>> -> tensor<?x768xf32>
  return %y : tensor<?x768xf32>
}

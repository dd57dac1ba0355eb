// RUN: hfq-opt %s --split-input-file --hfq-instrument-linears -verify-diagnostics

func.func @constant_weight(%x: tensor<?x8xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<0.5> : tensor<2x8xf32>
  // expected-error @+1 {{calibration needs linears whose weight is a global named NAME.weight (hfq.load @model.layers.N.....weight), as hfq import emits them}}
  %y = hfq.linear %x, %w : tensor<?x8xf32>, tensor<2x8xf32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

hfq.global @model.layers.0.mlp.up_proj.weight : tensor<2x8xf32> = dense<0.5> : tensor<2x8xf32>
func.func @vector_input(%x: tensor<8xf32>) -> tensor<2xf32> {
  %w = hfq.load @model.layers.0.mlp.up_proj.weight : tensor<2x8xf32>
  // expected-error @+1 {{calibration needs a [tokens, features] f32 input, got 'tensor<8xf32>'}}
  %y = hfq.linear %x, %w : tensor<8xf32>, tensor<2x8xf32> -> tensor<2xf32>
  return %y : tensor<2xf32>
}

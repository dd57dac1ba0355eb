// RUN: not hfq-opt %s --hfq-quantize-linears='method=awq' 2>&1 | FileCheck %s --check-prefix=METHOD
// RUN: not hfq-opt %s --hfq-quantize-linears='method=rtn bits=9' 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not hfq-opt %s --hfq-quantize-linears='method=rtn group-size=3' 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: not hfq-opt %s --hfq-quantize-linears='method=nf4 block-size=16' 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not hfq-opt %s --hfq-quantize-linears='method=rtn include=(' 2>&1 | FileCheck %s --check-prefix=REGEX
// RUN: not hfq-opt %s --hfq-quantize-linears='method=hqq group-size=-1' 2>&1 | FileCheck %s --check-prefix=HQQTENSOR
// RUN: not hfq-opt %s --split-input-file --hfq-quantize-linears='method=rtn' 2>&1 | FileCheck %s --check-prefix=NAN

// METHOD: for the --method option: Cannot find option named 'awq'!
// BITS: error: bits = 9 is outside 2..8
// GROUP: error: model.layers.0.mlp.up_proj: group size 3 does not divide the input dimension 8
// BLOCK: error: block-size must be in 32..4096, got 16
// REGEX: error: invalid pattern '('
// HQQTENSOR: error: hqq quantizes per channel or per group, not per tensor

hfq.global @model.layers.0.mlp.up_proj.weight : tensor<2x8xf32> = dense<0.5> : tensor<2x8xf32>
func.func @f(%x: tensor<2x8xf32>) -> tensor<2x2xf32> {
  %w = hfq.load @model.layers.0.mlp.up_proj.weight : tensor<2x8xf32>
  %y = hfq.linear %x, %w : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// NAN: error: model.layers.1.mlp.up_proj: weight at row 1, column 2 is not finite (nan)
hfq.global @model.layers.1.mlp.up_proj.weight : tensor<2x4xf32> = dense<[[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 0x7FC00000, 4.0]]> : tensor<2x4xf32>
func.func @nan(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = hfq.load @model.layers.1.mlp.up_proj.weight : tensor<2x4xf32>
  %y = hfq.linear %x, %w : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

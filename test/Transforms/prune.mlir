// RUN: hfq-opt %s --hfq-prune="method=magnitude pattern=2:4" | FileCheck %s --check-prefix=NM
// RUN: hfq-opt %s --hfq-prune="method=magnitude sparsity=0.5" | FileCheck %s --check-prefix=HALF
// RUN: hfq-opt %s --hfq-prune="method=structured sparsity=0.5 axis=0" | FileCheck %s --check-prefix=ROWS
// RUN: python3 %S/Inputs/make_stats.py %t.stats.safetensors model.layers.0.mlp.up_proj 8
// RUN: hfq-opt %s --hfq-prune="method=sparsegpt pattern=2:4 stats=%t.stats.safetensors" | FileCheck %s --check-prefix=SGPT
// RUN: hfq-opt %s --hfq-prune="method=sparsegpt sparsity=0.5 bits=4 stats=%t.stats.safetensors" | FileCheck %s --check-prefix=JOINT
// RUN: hfq-opt %s --hfq-prune="method=magnitude pattern=2:4" --hfq-lower-to-llvm -o /dev/null
// RUN: hfq-opt %s --hfq-prune="method=magnitude sparsity=0.5" --hfq-lower-to-llvm -o /dev/null
// RUN: not hfq-opt %s --hfq-prune="method=random" 2>&1 | FileCheck %s --check-prefix=METHOD
// RUN: not hfq-opt %s --hfq-prune="method=magnitude pattern=2-4" 2>&1 | FileCheck %s --check-prefix=PATTERN
// RUN: not hfq-opt %s --hfq-prune="method=magnitude pattern=2:3" 2>&1 | FileCheck %s --check-prefix=BADNM
// RUN: not hfq-opt %s --hfq-prune="method=magnitude pattern=3:3" 2>&1 | FileCheck %s --check-prefix=NOTNM
// RUN: not hfq-opt %s --hfq-prune="method=sparsegpt" 2>&1 | FileCheck %s --check-prefix=NOSTATS
// RUN: not hfq-opt %s --hfq-prune="method=magnitude sparsity=1.0" 2>&1 | FileCheck %s --check-prefix=SPARSITY

// Row 0 groups [1, -2, 0.5, 0.25] and [-0.75, 3, 0.1, 1.5] keep positions
// {0, 1} and {1, 3}; row 1 groups [0.3, -0.2, 0.9, -1] and [0, 0.4, -0.6,
// 0.2] keep {2, 3} and {1, 2}. Indices are 2-bit codes, lsb first:
// 0 | 1<<2 | 1<<4 | 3<<6 = 212 (-44); 2 | 3<<2 | 1<<4 | 2<<6 = 158 (-98).
// NM: module attributes {hfq.pruning = {method = "magnitude", pattern = "2:4", sparsity = 5.000000e-01 : f64}}
// NM: hfq.global @model.layers.0.mlp.up_proj.weight : !hfq.qtensor<2x8xf32, #hfq.sparse<n = 2, m = 4>> = [dense<{{\[}}[-44], [-98]]> : tensor<2x1xi8>, dense<{{\[}}[1.000000e+00, -2.000000e+00, 3.000000e+00, 1.500000e+00], [0.899999976, -1.000000e+00, 4.000000e-01, -6.000000e-01]]> : tensor<2x4xf32>]
// NM: hfq.load @model.layers.0.mlp.up_proj.weight : !hfq.qtensor<2x8xf32, #hfq.sparse<n = 2, m = 4>>

// The 8 smallest magnitudes of 16 (0.25 and smaller, then 0.3, -0.2, 0.4,
// 0.5), stored as a bitmask (lsb first): row 0 keeps columns 0, 1, 4, 5, 7
// = 1 + 2 + 16 + 32 + 128 = 179 (-77), row 1 columns 2, 3, 6 = 4 + 8 + 64
// = 76; the kept values row by row; row 1 starts at value 5.
// HALF: hfq.global @model.layers.0.mlp.up_proj.weight : !hfq.qtensor<2x8xf32, #hfq.bitmask<kept = 8>> = [dense<{{\[}}[-77], [76]]> : tensor<2x1xi8>, dense<[1.000000e+00, -2.000000e+00, -7.500000e-01, 3.000000e+00, 1.500000e+00, 0.899999976, -1.000000e+00, -6.000000e-01]> : tensor<8xf32>, dense<[0, 5]> : tensor<2xi64>]

// Row 1 has the smaller L2 norm: all of row 0 is kept, none of row 1.
// ROWS: dense<{{\[}}[-1], [0]]> : tensor<2x1xi8>
// ROWS: dense<[1.000000e+00, -2.000000e+00, 5.000000e-01, 2.500000e-01, -7.500000e-01, 3.000000e+00, 1.000000e-01, 1.500000e+00]> : tensor<8xf32>
// ROWS: dense<[0, 8]> : tensor<2xi64>

// SGPT: #hfq.sparse<n = 2, m = 4>
// JOINT: hfq.pruning = {bits = 4 : i64, method = "sparsegpt", sequential = "none", sparsity = 5.000000e-01 : f64}
// JOINT: !hfq.qtensor<2x8xf32, #hfq.affine<bits = 4, granularity = channel, zero_point = integer, scale_type = f16, packed_zeros = true>>

// METHOD: for the --method option: Cannot find option named 'random'!
// PATTERN: for the --pattern option: pattern must be N:M (e.g. 2:4) or none, got '2-4'
// BADNM: error: m must be 2, 4, 8 or 16, got 3
// NOTNM: for the --pattern option: pattern 3:3 must keep 0 < N < M <= 16 weights
// NOSTATS: error: sparsegpt needs stats=<file> (from hfq calibrate)
// SPARSITY: error: sparsity 1.00 is outside [0, 1)

hfq.global @model.layers.0.mlp.up_proj.weight : tensor<2x8xf32> = dense<[[1.0, -2.0, 0.5, 0.25, -0.75, 3.0, 0.1, 1.5], [0.3, -0.2, 0.9, -1.0, 0.0, 0.4, -0.6, 0.2]]> : tensor<2x8xf32>
func.func @f(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %w = hfq.load @model.layers.0.mlp.up_proj.weight : tensor<2x8xf32>
  %y = hfq.linear %x, %w : tensor<3x8xf32>, tensor<2x8xf32> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

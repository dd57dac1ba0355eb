// RUN: hfq-opt %s --hfq-quantize-linears='method=rtn bits=4 group-size=4 scale-type=f32 pack-zeros=false' --split-input-file | FileCheck %s --check-prefix=RTN
// RUN: hfq-opt %s --hfq-quantize-linears='method=rtn bits=4 group-size=4' --split-input-file | FileCheck %s --check-prefix=RTN16
// RUN: hfq-opt %s --hfq-quantize-linears='method=rtn bits=4 group-size=4' --hfq-lower-to-llvm -o /dev/null
// RUN: hfq-opt %s --hfq-quantize-linears='method=rtn bits=3 sym=true' --split-input-file | FileCheck %s --check-prefix=SYM
// RUN: hfq-opt %s --hfq-quantize-linears='method=nf4 block-size=32' --split-input-file | FileCheck %s --check-prefix=NF4
// RUN: hfq-opt %s --hfq-quantize-linears='method=fp4 block-size=32 double-quant=true' --split-input-file | FileCheck %s --check-prefix=FP4DQ
// RUN: hfq-opt %s --hfq-quantize-linears='method=int8' --split-input-file | FileCheck %s --check-prefix=INT8
// RUN: hfq-opt %s --hfq-quantize-linears='method=hqq bits=2 group-size=4' --split-input-file | FileCheck %s --check-prefix=HQQ
// RUN: hfq-opt %s --hfq-quantize-linears='method=hqq bits=3 group-size=2 axis=0' --split-input-file | FileCheck %s --check-prefix=HQQ0
// RUN: hfq-opt %s --hfq-quantize-linears='method=rtn include=lm_head exclude=up_proj' --split-input-file | FileCheck %s --check-prefix=SELECT
// RUN: hfq-opt %s --hfq-quantize-linears='method=rtn bits=4 report=true' --split-input-file -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT

// Small inline weights; row 1 is all zeros (zero scale / absmax 0 must
// dequantize to exact zeros). Known answers worked out from the documented
// rules: row 0 of group 0 is [1, -2, 0.5, 0.25]: lo -2, hi 1, s = 3/15 = 0.2,
// z = round(2 / 0.2) = 10, codes round(w / 0.2) + 10 = [15, 0, 12, 11] ->
// packed little-end first: 15 | 0 << 4 = 15, 12 | 11 << 4 = 188 (-68).

// With f32 scales and i32 zeros:
// RTN: module attributes {hfq.quantization = {bits = 4 : i64, group_size = 4 : i64, method = "rtn", mse_clip = false, sym = false}}
// The weight's global becomes the quantized tensor (same symbol), its value
// the parts; the load reads the new type.
// RTN: hfq.global @model.layers.0.mlp.up_proj.weight : !hfq.qtensor<2x8xf32, #hfq.affine<bits = 4, granularity = group, group_size = 4, zero_point = integer>> = [dense<{{\[}}[15, -68, -16, -109], [119, 119, 119, 119]]> : tensor<2x4xi8>, dense<{{\[}}[2.000000e-01, 2.500000e-01], [0.13333334, 0.13333334]]> : tensor<2x2xf32>, dense<{{\[}}[10, 3], [7, 7]]> : tensor<2x2xi32>]
// RTN: hfq.global @lm_head.weight : tensor<3x8xf32> = dense<5.000000e-01> : tensor<3x8xf32>
// RTN-LABEL: func.func @f
// RTN: %[[W:.*]] = hfq.load @model.layers.0.mlp.up_proj.weight : !hfq.qtensor<2x8xf32, #hfq.affine<bits = 4, granularity = group, group_size = 4, zero_point = integer>>
// RTN: hfq.linear %{{.*}}, %[[W]] : tensor<2x8xf32>, !hfq.qtensor
// RTN: %[[H:.*]] = hfq.load @lm_head.weight : tensor<3x8xf32>
// RTN: hfq.linear %{{.*}}, %[[H]] : tensor<2x8xf32>, tensor<3x8xf32>

// Default storage (what GPTQ/AWQ checkpoints hold): f16 scales, rounded
// before the zero and codes are chosen, and 4-bit zeros packed two a byte.
// Group 0 of row 0: s16 = f16(0.2) = 0.199951171875, z = round(2 / s16) = 10,
// codes round(w / s16) + 10 = [15, 0, 13, 11] (0.5 / s16 = 2.5006 now rounds
// up) -> 15, 13 | 11 << 4 = 189 (-67). Row 1 (all zero) uses [-1, 1]:
// s16 = f16(2/15) = 0.1333, z = round(7.502) = 8, every code 8 -> 0x88
// (-120). Zeros: row 0 [10, 3] -> 10 | 3 << 4 = 58, row 1 [8, 8] -> -120.
// RTN16: hfq.global @model.layers.0.mlp.up_proj.weight : !hfq.qtensor<2x8xf32, #hfq.affine<bits = 4, granularity = group, group_size = 4, zero_point = integer, scale_type = f16, packed_zeros = true>> = [dense<{{\[}}[15, -67, -16, -109], [-120, -120, -120, -120]]> : tensor<2x4xi8>, dense<{{\[}}[1.999510e-01, 2.500000e-01], [1.333010e-01, 1.333010e-01]]> : tensor<2x2xf16>, dense<{{\[}}[58], [-120]]> : tensor<2x1xi8>]

// Scales 2 max|w| / 7 = 6/7 and 2/7, stored as f16 (0.85693359375 and
// 0.28564453125).
// SYM: #hfq.affine<bits = 3, granularity = channel, zero_point = symmetric, scale_type = f16>
// SYM-SAME: tensor<2x3xi8>, dense<{{\[}}[8.569330e-01], [2.856450e-01]]> : tensor<2x1xf16>

// NF4: dense<3.000000e+00> : tensor<1xf32>
// NF4: #hfq.codebook<kind = nf4, block_size = 32>

// FP4DQ: tensor<1xi8>
// FP4DQ: tensor<1xf32>
// FP4DQ: tensor<1xf32>
// FP4DQ: #hfq.codebook<kind = fp4, block_size = 32, absmax_encoding = #hfq.codebook<kind = dynamic8, block_size = 256, offset = true>>

// absmax 3: scale 3/127; zero row scale 0.
// INT8: dense<{{\[}}[0.0236220472], [0.000000e+00]]> : tensor<2x1xf32>
// INT8: hfq.linear {{.*}} {outlier_threshold = 6.000000e+00 : f64} : tensor<2x8xf32>, !hfq.qtensor<2x8xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>>

// HQQ: hfq.quantization = {axis = 1 : i64, beta = 1.000000e+01 : f64, bits = 2 : i64, group_size = 4 : i64, iters = 20 : i64, kappa = 1.010000e+00 : f64, lp_norm = 0.69999999999999996 : f64, method = "hqq", round_zero = false}
// HQQ: #hfq.affine<bits = 2, granularity = group, group_size = 4, zero_point = float, scale_type = f16>
// HQQ: tensor<2x2xf16>

// HQQ0: #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 2, zero_point = float, scale_type = f16>
// HQQ0: tensor<1x8xf16>

// lm_head is quantized only because it is included by name (the name is its
// weight's symbol); up_proj is excluded.
// SELECT: hfq.global @model.layers.0.mlp.up_proj.weight : tensor<2x8xf32>
// SELECT: hfq.global @lm_head.weight : !hfq.qtensor<3x8xf32
// SELECT: hfq.linear %{{.*}}, %{{.*}} : tensor<2x8xf32>, tensor<2x8xf32>
// SELECT: hfq.linear %{{.*}}, %{{.*}} : tensor<2x8xf32>, !hfq.qtensor<3x8xf32

// REPORT: quantized model.layers.0.mlp.up_proj [2x8] rtn: rel_rmse
// REPORT-NOT: lm_head

hfq.global @model.layers.0.mlp.up_proj.weight : tensor<2x8xf32> = dense<[[1.0, -2.0, 0.5, 0.25, -0.75, 3.0, 0.0, 1.5], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<2x8xf32>
hfq.global @lm_head.weight : tensor<3x8xf32> = dense<0.5> : tensor<3x8xf32>
func.func @f(%x: tensor<2x8xf32>) -> (tensor<2x2xf32>, tensor<2x3xf32>) {
  %w = hfq.load @model.layers.0.mlp.up_proj.weight : tensor<2x8xf32>
  %y = hfq.linear %x, %w : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x2xf32>
  %h = hfq.load @lm_head.weight : tensor<3x8xf32>
  %z = hfq.linear %x, %h : tensor<2x8xf32>, tensor<3x8xf32> -> tensor<2x3xf32>
  return %y, %z : tensor<2x2xf32>, tensor<2x3xf32>
}

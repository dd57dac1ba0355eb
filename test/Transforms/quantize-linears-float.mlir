// RUN: hfq-opt %s --hfq-quantize-linears='method=fp8' | FileCheck %s --check-prefix=FP8
// RUN: hfq-opt %s --hfq-quantize-linears='method=mxfp4' | FileCheck %s --check-prefix=MXFP4
// RUN: hfq-opt %s --hfq-quantize-linears='method=nvfp4' | FileCheck %s --check-prefix=NVFP4
// RUN: hfq-opt %s --hfq-quantize-linears='method=mxfp8' --hfq-lower-to-llvm -o /dev/null
// RUN: hfq-opt %s --hfq-quantize-linears='method=nvfp4' --hfq-lower-to-llvm -o /dev/null
// RUN: not hfq-opt %s --hfq-quantize-linears='method=mxfp4 group-size=16' 2>&1 | FileCheck %s --check-prefix=FIXED

// Float codes (bit patterns, packed lsb first) with known answers worked out
// from the formats' definitions. Row 0 is [1, -2, 0.5, 0.25, -0.75, 3, 0,
// 1.5, 0 x 8, 0.1, 0 x 15]; row 1 is all zeros.

// FP8 per channel, f16 scales: s = f16(3 / 448) = 1755 / 1024 * 2^-8
// = 0.0066947937. w / s = [149.4, -298.7, 74.7, 37.3, -112.0, 448.1, 0, 224.1,
// .., 14.94] -> E4M3 (3 mantissa bits, ties to even, saturating at 448):
// 144 = 0x71, -288 = 0xF9, 72 = 0x69, 36 = 0x61, -112 = 0xEE, 448 = 0x7E, 0,
// 224 = 0x76, .., 15 = 0x57. The zero row gets scale 0 and zero codes.
// FP8: hfq.quantization = {group_size = 0 : i64, method = "fp8"}
// FP8: !hfq.qtensor<2x32xf32, #hfq.affine<bits = 8, code_type = f8E4M3FN, granularity = channel, zero_point = symmetric, scale_type = f16>> = [dense<{{\[}}[113, -7, 105, 97, -18, 126, 0, 118, 0, 0, 0, 0, 0, 0, 0, 0, 87, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<2x32xi8>, dense<{{\[}}[6.69479{{[0-9]*}}e-03], [0.000000e+00]]> : tensor<2x1xf16>]

// MXFP4 known answer: amax 3, floor(log2 3) = 1, E2M1's emax 2: X = 2^-1 (E8M0 code 126).
// w / X = [2, -4, 1, 0.5, -1.5, 6, 0, 3, .., 0.2] -> E2M1 codes [4, 14, 2, 1,
// 11, 7, 0, 5, .., 0]: bytes 4 | 14 << 4 = -28, 18, 123, 80. The zero row
// gets the smallest scale 2^-127.
// MXFP4: #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 32, zero_point = symmetric, scale_type = f8E8M0FNU>> = [dense<{{\[}}[-28, 18, 123, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<2x16xi8>, dense<{{\[}}[5.000000e-01], [5.877470e-39]]> : tensor<2x1xf8E8M0FNU>]

// NVFP4 known answer: block scales amax / 6 = [0.5, 0.01667; 0, 0]; tensor scale t = 0.5 /
// 448; E4M3 block codes 448 = 0x7E (126) and 0.01667 / t = 14.93 -> 15 =
// 0x57 (87). Block 0 has the MX row's codes; col 16: 0.1 / (15 t) = 5.97
// -> 6 (code 7).
// NVFP4: scale_encoding = #hfq.affine<bits = 8, code_type = f8E4M3FN, granularity = tensor, zero_point = symmetric>>> = [dense<{{\[}}[-28, 18, 123, 80, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<2x16xi8>, dense<{{\[}}[126, 87], [0, 0]]> : tensor<2x2xi8>, dense<0.00111607{{[0-9]*}}> : tensor<1x1xf32>]

// FIXED: mxfp4 has blocks of 32 input columns by definition; group-size cannot be set

hfq.global @model.layers.0.mlp.up_proj.weight : tensor<2x32xf32> = dense<[[1.0, -2.0, 0.5, 0.25, -0.75, 3.0, 0.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<2x32xf32>
func.func @f(%x: tensor<2x32xf32>) -> tensor<2x2xf32> {
  %w = hfq.load @model.layers.0.mlp.up_proj.weight : tensor<2x32xf32>
  %y = hfq.linear %x, %w : tensor<2x32xf32>, tensor<2x32xf32> -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

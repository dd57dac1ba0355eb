// RUN: python3 %S/Inputs/make_stats.py %t.stats.safetensors model.layers.0.mlp.up_proj 8
// RUN: hfq-opt %s --hfq-gptq="stats=%t.stats.safetensors bits=4 group-size=4 act-order=false static-groups=false" | FileCheck %s --check-prefix=GROUP
// RUN: hfq-opt %s --hfq-gptq="stats=%t.stats.safetensors bits=4 group-size=4 act-order=false static-groups=false scale-type=f32 pack-zeros=false" | FileCheck %s --check-prefix=F32
// RUN: hfq-opt %s --hfq-gptq="stats=%t.stats.safetensors bits=4 group-size=4" | FileCheck %s --check-prefix=DEFAULT
// RUN: hfq-opt %s --hfq-gptq="stats=%t.stats.safetensors bits=3 group-size=4 act-order=true static-groups=false" | FileCheck %s --check-prefix=ACT
// RUN: hfq-opt %s --hfq-gptq="stats=%t.stats.safetensors bits=4 group-size=4 act-order=true static-groups=true" | FileCheck %s --check-prefix=STATIC
// RUN: hfq-opt %s --hfq-gptq="stats=%t.stats.safetensors bits=8 sym=true report=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: not hfq-opt %s --hfq-gptq="bits=4" 2>&1 | FileCheck %s --check-prefix=NOSTATS
// RUN: not hfq-opt %s --hfq-gptq="stats=%t.missing bits=4" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: python3 %S/Inputs/make_stats.py %t.other.safetensors model.layers.1.mlp.up_proj 8
// RUN: not hfq-opt %s --hfq-gptq="stats=%t.other.safetensors" 2>&1 | FileCheck %s --check-prefix=OTHER
// Sequential GPTQ runs the module's layer functions, which this
// hand-written module does not have.
// RUN: not hfq-opt %s --hfq-gptq="stats=%t.stats.safetensors sequential=layers" 2>&1 | FileCheck %s --check-prefix=NOLAYERS
// NOLAYERS: error: running the model layer by layer needs the functions @model.embed_tokens, @model.layers.0..N-1 and @head that hfq import emits
// RUN: python3 %S/Inputs/make_stats.py %t.wide.safetensors model.layers.0.mlp.up_proj 16
// RUN: not hfq-opt %s --hfq-gptq="stats=%t.wide.safetensors" 2>&1 | FileCheck %s --check-prefix=SHAPE

// GROUP: module attributes {hfq.quantization = {bits = 4 : i64, block_size = 128 : i64, damp_percent = 1.000000e-02 : f64, desc_act = false, group_size = 4 : i64, method = "gptq", mse_clip = false, sequential = "none", static_groups = false, sym = false}}
// GROUP: #hfq.affine<bits = 4, granularity = group, group_size = 4, zero_point = integer, scale_type = f16, packed_zeros = true>
// GROUP-SAME: tensor<2x4xi8>, {{.*}} : tensor<2x2xf16>, {{.*}} : tensor<2x1xi8>]
// F32: #hfq.affine<bits = 4, granularity = group, group_size = 4, zero_point = integer>
// F32-SAME: tensor<2x4xi8>, {{.*}} : tensor<2x2xf32>, {{.*}} : tensor<2x2xi32>]

// The default is llm-compressor's: act-order with static groups, so the
// groups stay in column order and there is no g_idx part.
// DEFAULT: desc_act = true
// DEFAULT-SAME: static_groups = true
// DEFAULT-NOT: tensor<8xi32>
// DEFAULT: #hfq.affine<bits = 4, granularity = group, group_size = 4, zero_point = integer, scale_type = f16, packed_zeros = true>

// With act-order the groups are formed in permuted column order: the g_idx
// part says which group (0 or 1) each of the 8 input columns belongs to.
// ACT: #hfq.affine<bits = 3, granularity = group, group_size = 4, zero_point = integer, act_order = true, scale_type = f16, packed_zeros = true>> = [{{.*}}, dense<[{{([01], ){7}[01]}}]> : tensor<8xi32>]

// Static groups keep groups in column order: no g_idx.
// STATIC-NOT: tensor<8xi32>
// STATIC: #hfq.affine<bits = 4, granularity = group, group_size = 4, zero_point = integer, scale_type = f16, packed_zeros = true>

// REPORT: quantized model.layers.0.mlp.up_proj [2x8] gptq: rel_rmse

// NOSTATS: error: hfq-gptq needs stats=<file> (from hfq calibrate)
// MISSING: error: {{.*}}missing
// OTHER: error: model.layers.0.mlp.up_proj: {{.*}}other.safetensors has no statistics for 'model.layers.0.mlp.up_proj' (was it calibrated on this model? see hfq calibrate)
// SHAPE: error: model.layers.0.mlp.up_proj: {{.*}}: statistics of 'model.layers.0.mlp.up_proj' do not match the linear (8 inputs): expected model.layers.0.mlp.up_proj.xtx F64 [8, 8] and model.layers.0.mlp.up_proj.tokens I64 [1]

hfq.global @model.layers.0.mlp.up_proj.weight : tensor<2x8xf32> = dense<[[1.0, -2.0, 0.5, 0.25, -0.75, 3.0, 0.1, 1.5], [0.3, -0.2, 0.9, -1.0, 0.0, 0.4, -0.6, 0.2]]> : tensor<2x8xf32>
func.func @f(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %w = hfq.load @model.layers.0.mlp.up_proj.weight : tensor<2x8xf32>
  %y = hfq.linear %x, %w : tensor<3x8xf32>, tensor<2x8xf32> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

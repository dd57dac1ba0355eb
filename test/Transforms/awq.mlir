// hfq-awq as a pass: on the bundled model's layer 0 (the module written by
// hfq import, the checkpoint bound to scope "model"), the scale search
// folds into the input norm and the v/up rows (their globals become inline
// f32 data) and the selected linears become #hfq.affine; settings, the
// missing checkpoint binding and missing statistics are errors.
// RUN: rm -rf %t && mkdir -p %t
// RUN: hfq import %models/stories15M -o %t/m.mlir --quiet
// RUN: hfq calibrate %models/stories15M --text %S/../Tools/hfq/Inputs/two-stories.txt --samples 2 --seq-len 32 -o %t/c.safetensors --quiet
// RUN: hfq-opt %t/m.mlir --hfq-param-scope=model=%models/stories15M --hfq-awq="stats=%t/c.safetensors bits=4 group-size=32 include=layers\.0\." | FileCheck %s

// CHECK: hfq.quantization = {bits = 4 : i64, clip = true, {{.*}}method = "awq"
// CHECK-DAG: hfq.global @model.layers.0.input_layernorm.weight : tensor<288xf32> = dense_resource<model.layers.0.input_layernorm.weight>
// CHECK-DAG: hfq.global @model.layers.0.self_attn.q_proj.weight : !hfq.qtensor<288x288xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, scale_type = f16, packed_zeros = true>> = [dense_resource<model.layers.0.self_attn.q_proj.weight.codes> : tensor<288x144xi8>, dense_resource<model.layers.0.self_attn.q_proj.weight.scales> : tensor<288x9xf16>, dense_resource<model.layers.0.self_attn.q_proj.weight.zeros> : tensor<288x5xi8>]
// CHECK-DAG: hfq.global @model.layers.0.mlp.down_proj.weight : !hfq.qtensor<288x768xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, scale_type = f16, packed_zeros = true>>
// Layer 1 is not selected: its tensors stay checkpoint parameters.
// CHECK-DAG: hfq.global @model.layers.1.input_layernorm.weight : tensor<288xf32> = #hfq.param<"model", "model.layers.1.input_layernorm.weight">
// CHECK-DAG: hfq.global @model.layers.1.self_attn.q_proj.weight : tensor<288x288xf32> = #hfq.param<"model", "model.layers.1.self_attn.q_proj.weight">

// RUN: not hfq-opt %t/m.mlir --hfq-awq="stats=%t/c.safetensors" 2>&1 | FileCheck %s --check-prefix=UNBOUND
// UNBOUND: error: hfq-awq needs the model's config: parameter scope 'model' is not bound to a checkpoint directory (hfq-opt --hfq-param-scope=model=DIR)
// RUN: not hfq-opt %t/m.mlir --hfq-param-scope=model=%models/stories15M --hfq-awq 2>&1 | FileCheck %s --check-prefix=NOSTATS
// NOSTATS: error: hfq-awq needs stats=<file> (from hfq calibrate)
// RUN: not hfq-opt %t/m.mlir --hfq-param-scope=model=%models/stories15M --hfq-awq="stats=%t/c.safetensors max-shrink=1" 2>&1 | FileCheck %s --check-prefix=OPTIONS
// OPTIONS: error: invalid options: bits 4 (2..8), group-size 0 (>= 0), grid 20 (> 0), max-shrink 1.00 ([0, 1)), clip-tokens 512 (> 0)
// RUN: not hfq-opt %t/m.mlir --hfq-param-scope=model=%t/nowhere --hfq-awq="stats=%t/c.safetensors" 2>&1 | FileCheck %s --check-prefix=NODIR
// NODIR: error: {{.*}}nowhere{{.*}}config.json

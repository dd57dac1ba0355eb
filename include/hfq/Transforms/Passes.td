//===- Passes.td - hfq transformation passes ---------------*- tablegen -*-===//
//
// Passes that rewrite or instrument hfq modules (as opposed to lowering
// them): calibration now; quantization, pruning and low-rank rewrites next.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_TRANSFORMS_PASSES_TD
#define HFQ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

// How the affine passes store scales and zero points: what GPTQ, AWQ and
// compressed-tensors checkpoints store by default (f16 scales, zeros packed
// at the code width).
// The Hessian passes' sequential mode (GPTQ, SpQR, SparseGPT; see
// lib/Transforms/Sequential.h).
defvar HFQ_SequentialOptions = [
  Option<"sequential", "sequential", "::mlir::hfq::Sequential",
         "::mlir::hfq::Sequential::none",
         "where each linear's Hessian comes from (layers and linears rerun "
         "the calibration tokens stored in the statistics through the "
         "model's own layer functions: they need hfq import's layer "
         "functions and a registered layer runner)",
         [{::llvm::cl::values(
           clEnumValN(::mlir::hfq::Sequential::none, "none",
                      "the statistics file's: every input from the float "
                      "model (the default: the lowest KL at 3 of the 4 "
                      "GPTQ settings measured, see README)"),
           clEnumValN(::mlir::hfq::Sequential::layers, "layers",
                      "each layer's inputs from the already rewritten "
                      "layers below it (the GPTQ reference's and "
                      "llm-compressor's pipeline)"),
           clEnumValN(::mlir::hfq::Sequential::linears, "linears",
                      "layers, and within a layer each group's inputs from "
                      "the already rewritten linears before it (the GPTQ "
                      "reference's --true-sequential)"))}]>
];

defvar HFQ_AffineStorageOptions = [
  Option<"scaleType", "scale-type", "::mlir::hfq::numerics::ScaleType",
         "::mlir::hfq::numerics::ScaleType::F16",
         "element type of stored scales (and float zeros); quantizers round "
         "each scale to it before choosing zeros and codes",
         [{::llvm::cl::values(
           clEnumValN(::mlir::hfq::numerics::ScaleType::F16, "f16",
                      "IEEE half (GPTQ, AWQ, HQQ checkpoints)"),
           clEnumValN(::mlir::hfq::numerics::ScaleType::BF16, "bf16",
                      "bfloat16"),
           clEnumValN(::mlir::hfq::numerics::ScaleType::F32, "f32",
                      "the f32 weight's own type"))}]>,
  Option<"packZeros", "pack-zeros", "bool", "true",
         "store integer zero points as bits-wide codes packed into i8 "
         "(false: one i32 per group)">
];

def InstrumentLinears : Pass<"hfq-instrument-linears", "::mlir::ModuleOp"> {
  let summary = "Report the input of every linear layer to a calibration recorder";
  let description = [{
    Before the first `hfq.linear` that consumes a value, inserts a call that
    hands that value (a `[tokens, in]` activation) to the external function
    `@hfq_calibration_record_<in>(i64 id, memref<?x<in>xf32>)` as a
    read-only buffer. Linears that share an input (q/k/v, gate/up) share one
    call. The module attribute `hfq.calibration_inputs` lists, per id, the
    names of the linears reading that input (a linear's name is its weight
    global's symbol without `.weight`), so the runtime can store statistics
    per linear.

    The recorder is supplied by the executor (`hfq calibrate` accumulates
    XᵀX in float64, mean |x| and max |x| per input channel, and the token
    count). Linears whose input is not a rank-2 f32 tensor are an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def QuantizeLinears : Pass<"hfq-quantize-linears", "::mlir::ModuleOp"> {
  let summary = "Quantize the weights of linear layers without calibration data";
  let description = [{
    Turns the weight global (`hfq.global`, read by `hfq.load`, possibly
    widened from f16/bf16 by an elementwise `arith.extf`) of every selected
    `hfq.linear` into the quantized tensor: its type becomes the
    `!hfq.qtensor` and its value the parts, computed now (at compile time)
    by the numerics library. The symbol stays, so the linear keeps its name.
    The float data comes from the global's inline value (parts stay dense
    attributes) or from its `#hfq.param` in the checkpoint bound to the
    parameter scope (`hfq-opt --hfq-param-scope=model=DIR`; parts become
    `dense_resource` blobs, which `hfq quantize` writes to safetensors).
    Weights that are not globals, or globals other ops read too, are left
    in float with a warning.

    ```mlir
    hfq.global @model.layers.0.mlp.up_proj.weight : tensor<768x288xf32>
        = #hfq.param<"model", "model.layers.0.mlp.up_proj.weight">
    // becomes, with method=rtn bits=4 group-size=32
    hfq.global @model.layers.0.mlp.up_proj.weight : !hfq.qtensor<768x288xf32,
        #hfq.affine<bits = 4, granularity = group, group_size = 32,
                    zero_point = integer>>
        = [dense_resource<...codes> : tensor<768x144xi8>, ...]
    ```

    Methods (`method=`):
    - `rtn`: `#hfq.affine` round-to-nearest with GPTQ's range rule, `bits`
      2..8, `group-size` columns per group (0: per output channel, -1: per
      tensor; otherwise it must divide the input dimension), `sym`, and
      `mse-clip` (GPTQ's grid search over shrink ratios 1, 0.99, .., 0.21
      minimising the group's error to the power 2.4);
    - `nf4`, `fp4`: bitsandbytes' blockwise 4-bit codebooks (`block-size`
      elements per absmax over the flattened weight, 32..4096), optionally
      with `double-quant` (absmax quantized to 8 bits in blocks of
      `double-quant-block`, default 256, around the mean);
    - `int8`: LLM.int8() — per-row absmax int8 weights and
      `outlier_threshold = threshold` (default 6.0) on the linear, so inputs
      run through the mixed int8/float decomposition;
    - `hqq`: half-quadratic optimization of float zero points (lp norm
      `hqq-lp-norm` 0.7, `hqq-beta` 10 growing by `hqq-kappa` 1.01, up to
      `hqq-iters` 20 rounds), groups of `group-size` along `axis` (1: input
      columns, 0: output rows);
    - `fp8`: FP8 E4M3 codes (`code_type = f8E4M3FN`), `w = value(q) * s`
      with `s = absmax / 448` per output channel (`group-size` 0), per
      group or per tensor, stored in `scale-type`;
    - `mxfp4`, `mxfp8`: the OCP Microscaling formats, E2M1 / E4M3 codes in
      blocks of 32 input columns with a power-of-two `f8E8M0FNU` scale
      `2^(floor(log2 absmax) - emax)` (MX v1.0, section 6.3);
    - `nvfp4`: E2M1 codes in blocks of 16 with `f8E4M3FN` block scales
      `absmax / 6`, quantized under one `f32` scale per tensor (the scales
      are a nested `#hfq.affine`, parts `scales.codes`, `scales.scales`).
    Float codes round to nearest, ties to even, saturating at the format's
    largest value; the MX and NV formats fix their block size
    (`group-size` must stay 0).

    Selection: a linear's name is its weight global's symbol without
    `.weight` (the HF module name; locations play no part).
    A linear is quantized when it matches an `include` regex (or there are
    none) and no `exclude` regex; names containing `embed_tokens` or
    `lm_head` are skipped unless an `include` pattern matches them
    explicitly. Non-finite weights are an error naming the element; all-zero
    groups get scale 0 (or absmax 0) and dequantize to exact zeros.

    The module gets `hfq.quantization`, a dictionary of the settings, and
    with `report` every quantized linear prints its relative RMS error and
    time to stderr.
  }];
  let options = !listconcat([
    Option<"method", "method", "::mlir::hfq::QuantizeMethod",
           "::mlir::hfq::QuantizeMethod::rtn", "calibration-free method",
           [{::llvm::cl::values(
             clEnumValN(::mlir::hfq::QuantizeMethod::rtn, "rtn",
                        "round to nearest, #hfq.affine"),
             clEnumValN(::mlir::hfq::QuantizeMethod::nf4, "nf4",
                        "bitsandbytes NF4 codebook"),
             clEnumValN(::mlir::hfq::QuantizeMethod::fp4, "fp4",
                        "bitsandbytes FP4 codebook"),
             clEnumValN(::mlir::hfq::QuantizeMethod::int8, "int8",
                        "LLM.int8() rows and outlier threshold"),
             clEnumValN(::mlir::hfq::QuantizeMethod::hqq, "hqq",
                        "half-quadratic float zero points"),
             clEnumValN(::mlir::hfq::QuantizeMethod::fp8, "fp8",
                        "FP8 E4M3 codes, scales per channel/group/tensor"),
             clEnumValN(::mlir::hfq::QuantizeMethod::mxfp4, "mxfp4",
                        "OCP MXFP4: E2M1 codes, E8M0 scale per 32"),
             clEnumValN(::mlir::hfq::QuantizeMethod::mxfp8, "mxfp8",
                        "OCP MXFP8: E4M3 codes, E8M0 scale per 32"),
             clEnumValN(::mlir::hfq::QuantizeMethod::nvfp4, "nvfp4",
                        "NVFP4: E2M1 codes, E4M3 scale per 16, f32 per tensor"))}]>,
    Option<"bits", "bits", "unsigned", "4", "code width for rtn and hqq (2..8)">,
    Option<"groupSize", "group-size", "int64_t", "0",
           "elements per group along the axis (0: per channel, -1: per tensor)">,
    Option<"symmetric", "sym", "bool", "false",
           "rtn: symmetric codes with the implicit zero 2^(bits-1)">,
    Option<"mseClip", "mse-clip", "bool", "false",
           "rtn: search the clipping range that minimises the group's error">,
    Option<"blockSize", "block-size", "int64_t", "64",
           "nf4/fp4: elements per absmax block (32..4096)">,
    Option<"doubleQuant", "double-quant", "bool", "false",
           "nf4/fp4: quantize absmax to 8 bits (bitsandbytes' compress_statistics)">,
    Option<"doubleQuantBlock", "double-quant-block", "int64_t", "256",
           "nf4/fp4: absmax values per second-level block">,
    Option<"threshold", "threshold", "double", "6.0",
           "int8: activation magnitude from which an input column is an outlier">,
    Option<"axis", "axis", "int64_t", "1",
           "hqq: 1 groups input columns, 0 groups output rows">,
    Option<"hqqIters", "hqq-iters", "int64_t", "20", "hqq: maximum rounds">,
    Option<"hqqLpNorm", "hqq-lp-norm", "double", "0.7", "hqq: p of the lp error">,
    Option<"hqqBeta", "hqq-beta", "double", "10.0", "hqq: initial beta">,
    Option<"hqqKappa", "hqq-kappa", "double", "1.01", "hqq: beta growth per round">,
    Option<"hqqRoundZero", "hqq-round-zero", "bool", "false",
           "hqq: round the initial zero point">,
    ListOption<"include", "include", "std::string",
               "regexes of linear names to quantize (default: all)">,
    ListOption<"exclude", "exclude", "std::string",
               "regexes of linear names to leave in float">,
    Option<"report", "report", "bool", "false",
           "print one line per quantized linear to stderr">
  ], HFQ_AffineStorageOptions);
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::hfq::HFQDialect"];
}

def GPTQ : Pass<"hfq-gptq", "::mlir::ModuleOp"> {
  let summary = "Quantize linear weights with GPTQ from calibration statistics";
  let description = [{
    GPTQ (Frantar et al. 2023) on every selected `hfq.linear` (selection and
    weight sources as in `hfq-quantize-linears`), fed by the statistics file
    `hfq calibrate` writes: the Hessian of linear `NAME` is
    `H = 2 NAME.xtx / NAME.tokens`. The algorithm is the reference's
    (numerics/GPTQ.h): dead inputs zeroed, dampening `damp · mean(diag H)`
    raised tenfold while the Cholesky factorization fails, the upper Cholesky
    factor of H⁻¹, lazy batch updates in blocks of `block-size`, group
    parameters computed up front from the original weights in column order
    (`static-groups`, the default) or when a group is reached
    (`static-groups=false`), `act-order` (descending diag H; on by default)
    with a `g_idx` part when groups are formed in permuted order (act-order
    without static groups: GPTQ's desc_act). The defaults are
    llm-compressor's (actorder "static"): measured beside it
    (bench/llmcompressor) they gave the lower KL at W4 g32 asym and W3 g32
    than act-order with a g_idx, and they need no g_idx gather in a kernel.
    The result is an `#hfq.affine` weight (`act_order = true` when groups are
    formed in permuted order).

    Where each linear's Hessian comes from is `sequential`. By default
    (`none`) every linear is quantized from the statistics file's Hessians,
    the float model's inputs. `layers` (the GPTQ reference's and
    llm-compressor's pipeline) runs the calibration tokens stored in the
    statistics (`calibration.token_ids`, `calibration.sequence_lengths`)
    through the module's own functions (`@model.embed_tokens`,
    `@model.layers.N`, `@head`, compiled once by a layer runner): one run of
    layer N on the outputs of the quantized layers below it gives the
    Hessians of all its linears, they are quantized, and the quantized
    layer's outputs feed layer N + 1 (`lm_head`, when selected, reads the
    final norm of the quantized stack). `linears` (the reference's
    `--true-sequential`) in addition quantizes a layer group by group in
    program order (the linears reading one input: [q, k, v], [o], [gate,
    up], [down]), each from the inputs the quantized groups before it
    produce. In both the file's own Hessians serve only to check, on layer
    0, that they are this model's (relative difference below 1e-4; 0 when
    they are). Measured beside llm-compressor (bench/llmcompressor), `none`
    gave the lowest KL at W4 g32 asym, W4 per channel and W3 g32, `linears`
    at W4 g32 sym.
  }];
  let options = !listconcat([
    Option<"stats", "stats", "std::string", "\"\"",
           "calibration statistics (.safetensors from hfq calibrate)">,
    Option<"bits", "bits", "unsigned", "4", "code width (2..8)">,
    Option<"groupSize", "group-size", "int64_t", "0",
           "input columns per group (0: per output channel)">,
    Option<"symmetric", "sym", "bool", "false",
           "symmetric codes with the implicit zero 2^(bits-1)">,
    Option<"actOrder", "act-order", "bool", "true",
           "quantize columns by descending Hessian diagonal (the default: "
           "it lowered KL at every setting measured, see README)">,
    Option<"staticGroups", "static-groups", "bool", "true",
           "compute every group's parameters, in column order, before any "
           "update (the default; false: when reached, with a g_idx under "
           "act-order)">,
    Option<"damp", "damp", "double", "0.01",
           "dampening as a fraction of mean(diag H)">,
    Option<"blockSize", "block-size", "int64_t", "128",
           "columns per lazy batch update">,
    Option<"mseClip", "mse-clip", "bool", "false",
           "search each group's clipping range (GPTQ's mse option)">,
    ListOption<"include", "include", "std::string",
               "regexes of linear names to quantize (default: all)">,
    ListOption<"exclude", "exclude", "std::string",
               "regexes of linear names to leave in float">,
    Option<"report", "report", "bool", "false",
           "print one line per quantized linear to stderr">
  ], HFQ_AffineStorageOptions, HFQ_SequentialOptions);
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::hfq::HFQDialect"];
}

def AWQ : Pass<"hfq-awq", "::mlir::ModuleOp"> {
  let summary = "Activation-aware weight quantization (AWQ) of a Llama model";
  let description = [{
    AWQ (Lin et al. 2024) as llm-awq defines it (numerics/AWQ.h), layer by
    layer on an imported Llama/Mistral/Qwen2 module, fed by the statistics
    of `hfq calibrate --keep-inputs` (`stats`): each layer's linear inputs
    from the float model and the sample lengths.

    Per layer, four scale searches over `grid` ratios α (s = mean|x|^α,
    normalised), each minimising the float output error of the module the
    group feeds, then folding s so the float model computes the same
    function:
    - q/k/v (input of the attention): inspected through the whole attention
      (RoPE, causal softmax, o_proj); s divides `input_layernorm.weight`;
    - o_proj after v_proj (only when they have matching shapes, i.e. no
      GQA, as the reference): s divides v_proj's rows (and bias);
    - gate/up (input of the MLP): inspected through the MLP; s divides
      `post_attention_layernorm.weight`;
    - down_proj after up_proj: s divides up_proj's rows (and bias).
    A group is skipped when one of its linears is not selected. Then, with
    `clip`, every selected linear but q/k gets the clip search (shrinks
    1 .. 1 - `max-shrink` in steps of 1/`grid`, on `clip-tokens` inputs);
    finally the weights are quantized round-to-nearest (`#hfq.affine`,
    `bits`, `group-size`, `sym`). With `quantize=false` the pass stops at
    the scaled and clipped float model.

    The model's attention shape comes from the config.json of the checkpoint
    bound to parameter scope `model`. Rewritten norm weights, biases and
    weights become inline f32 values of their globals, so a quantized model
    directory stores them under their own names.
  }];
  let options = !listconcat([
    Option<"stats", "stats", "std::string", "\"\"",
           "statistics from hfq calibrate --keep-inputs (.safetensors)">,
    Option<"bits", "bits", "unsigned", "4", "code width (2..8)">,
    Option<"groupSize", "group-size", "int64_t", "0",
           "input columns per group (0: per output channel)">,
    Option<"symmetric", "sym", "bool", "false",
           "symmetric codes (the reference's default is zero points)">,
    Option<"grid", "grid", "int64_t", "20", "scaling ratios searched">,
    Option<"duoScaling", "duo-scaling", "bool", "true",
           "scale by x̄^α / w̄^(1-α) (AutoAWQ's and llm-compressor's default, "
           "and lower KL beside llm-compressor; false: the paper's x̄^α)">,
    Option<"clip", "clip", "bool", "true", "run the clip search">,
    Option<"maxShrink", "max-shrink", "double", "0.5",
           "clip search: the largest fraction of max|w| removed">,
    Option<"clipTokens", "clip-tokens", "int64_t", "512",
           "clip search: calibration tokens used (every N/clip-tokens-th)">,
    Option<"quantize", "quantize", "bool", "true",
           "quantize after scaling and clipping (false: float model only)">,
    ListOption<"include", "include", "std::string",
               "regexes of linear names to quantize (default: all)">,
    ListOption<"exclude", "exclude", "std::string",
               "regexes of linear names to leave in float">,
    Option<"report", "report", "bool", "false",
           "print the chosen ratios and one line per linear to stderr">
  ], HFQ_AffineStorageOptions);
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::hfq::HFQDialect"];
}

def SpQR : Pass<"hfq-spqr", "::mlir::ModuleOp"> {
  let summary = "Quantize linear weights with SpQR from calibration statistics";
  let description = [{
    SpQR (Dettmers et al. 2023) on every selected `hfq.linear` (selection
    and weight sources as in `hfq-quantize-linears`), fed by the Hessian
    `2 NAME.xtx / NAME.tokens` of `hfq calibrate`, as the reference defines
    it (numerics/SpQR.h): GPTQ's column loop with groups of `group-size`
    columns whose min-max scales and zeros are quantized to `scale-bits` /
    `zero-bits` in runs of `stats-group-size` rows, outliers chosen by their
    Hessian-weighted error against `outlier-threshold` (relative; < 0
    disables them) after a leave-one-out refit, kept in float16 CSR parts.
    Defaults are the reference README's: 3-bit weights and statistics,
    groups of 16, threshold 0.2, act-order, dampening 1.0 x mean(diag H).
    The result is an `#hfq.spqr` weight; with `report`, each linear's
    outlier count and rate go to stderr. `sequential` is `hfq-gptq`'s (the
    SpQR reference calibrates layer by layer too, with `--true-sequential`
    for `linears`).
  }];
  let options = !listconcat([
    Option<"stats", "stats", "std::string", "\"\"",
           "calibration statistics (.safetensors from hfq calibrate)">,
    Option<"bits", "bits", "unsigned", "3", "weight code width (2..8)">,
    Option<"groupSize", "group-size", "int64_t", "16", "input columns per group">,
    Option<"scaleBits", "scale-bits", "unsigned", "3", "bits of the group scales">,
    Option<"zeroBits", "zero-bits", "unsigned", "3", "bits of the group zeros">,
    Option<"statsGroupSize", "stats-group-size", "int64_t", "16",
           "rows per second-level statistics run">,
    Option<"outlierThreshold", "outlier-threshold", "double", "0.2",
           "relative outlier threshold (< 0: no outliers)">,
    Option<"damp", "damp", "double", "1.0",
           "dampening as a fraction of mean(diag H)">,
    Option<"blockSize", "block-size", "int64_t", "128",
           "columns per lazy batch update (a multiple of group-size)">,
    Option<"actOrder", "act-order", "bool", "true",
           "quantize columns by descending Hessian diagonal">,
    Option<"simplifiedOutliers", "simplified-outliers", "bool", "false",
           "fit group statistics without the leave-one-out outlier refit">,
    ListOption<"include", "include", "std::string",
               "regexes of linear names to quantize (default: all)">,
    ListOption<"exclude", "exclude", "std::string",
               "regexes of linear names to leave in float">,
    Option<"report", "report", "bool", "false",
           "print one line per quantized linear to stderr">
  ], HFQ_SequentialOptions);
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::hfq::HFQDialect"];
}

def Prune : Pass<"hfq-prune", "::mlir::ModuleOp"> {
  let summary = "Prune linear weights (magnitude, structured, N:M, SparseGPT)";
  let description = [{
    Prunes every selected `hfq.linear` (selection and weight sources as in
    `hfq-quantize-linears`) by `method` (numerics/Pruning.h):
    - `magnitude`: the `sparsity` fraction of smallest |w| per layer, or with
      `pattern=N:M` the M-N smallest of every M consecutive inputs;
    - `structured`: units of `unit` rows (`axis=0`, outputs; unit = head_dim
      prunes attention heads) or columns (`axis=1`, inputs) with the
      smallest L2 norm, `sparsity` of them; with `coupled` units that span
      several linears instead (the layers' config from the checkpoint of scope
      `model`),
      scored by their squared L2 norm summed over all of them and removed
      from all of them, `sparsity` of them per layer (rounded down):
      `mlp`: intermediate channels, channel i being gate row i, up row i and
      down column i; `heads`: attention KV groups, group g being k and v
      rows of KV head g, the q rows of the query heads that share it and
      their o_proj columns (one head each without GQA; the head's output is
      gone whatever its biases, since its o_proj columns are zero, and the
      result is a GQA model with uniformly fewer groups); `all`: both.
      Default selection: the linears concerned;
    - `sparsegpt`: SparseGPT from the calibration statistics `stats`
      (H = 2 XᵀX / N) with `damp`, `block-size`, unstructured `sparsity` or
      `pattern=N:M`, and with `bits` > 0 joint per-channel quantization;
      `sequential` as in `hfq-gptq` (`layers` is the SparseGPT reference's
      order: a layer's linears pruned together on the pruned layers
      below).
    N:M results become `#hfq.sparse<n, m>` weights (packed position metadata
    plus the kept values); unstructured and structured results
    `#hfq.bitmask` weights (compressed-tensors' sparse-bitmask layout: a bit
    per weight, the non-zeros, row offsets); jointly quantized ones are
    `#hfq.affine` per-channel weights whose pruned codes dequantize to 0.
  }];
  let options = !listconcat([
    Option<"method", "method", "::mlir::hfq::PruneMethod",
           "::mlir::hfq::PruneMethod::magnitude", "pruning method",
           [{::llvm::cl::values(
             clEnumValN(::mlir::hfq::PruneMethod::magnitude, "magnitude",
                        "smallest |w|"),
             clEnumValN(::mlir::hfq::PruneMethod::structured, "structured",
                        "whole rows/columns by L2 norm"),
             clEnumValN(::mlir::hfq::PruneMethod::sparsegpt, "sparsegpt",
                        "OBS updates from calibration statistics"))}]>,
    Option<"sparsity", "sparsity", "double", "0.5",
           "fraction of weights (or units) to prune">,
    Option<"pattern", "pattern", "::mlir::hfq::numerics::NMPattern",
           "::mlir::hfq::numerics::NMPattern()",
           "N:M semi-structured pattern (N kept of every M, 0 < N < M <= "
           "16), e.g. 2:4; none: unstructured">,
    Option<"axis", "axis", "int64_t", "0",
           "structured: 0 prunes output rows, 1 input columns">,
    Option<"unit", "unit", "int64_t", "1",
           "structured: rows/columns pruned together (head_dim for heads)">,
    Option<"coupled", "coupled", "::mlir::hfq::CoupledUnits",
           "::mlir::hfq::CoupledUnits::none",
           "structured: prune units spanning several linears",
           [{::llvm::cl::values(
             clEnumValN(::mlir::hfq::CoupledUnits::none, "none",
                        "each linear on its own"),
             clEnumValN(::mlir::hfq::CoupledUnits::mlp, "mlp",
                        "MLP channels: gate/up rows and down columns"),
             clEnumValN(::mlir::hfq::CoupledUnits::heads, "heads",
                        "attention KV groups: q/k/v rows, o columns"),
             clEnumValN(::mlir::hfq::CoupledUnits::all, "all",
                        "both"))}]>,
    Option<"stats", "stats", "std::string", "\"\"",
           "sparsegpt: calibration statistics (.safetensors)">,
    Option<"damp", "damp", "double", "0.01", "sparsegpt: dampening">,
    Option<"blockSize", "block-size", "int64_t", "128",
           "sparsegpt: columns per block (mask selection and updates)">,
    Option<"bits", "bits", "unsigned", "0",
           "sparsegpt: quantize the kept weights jointly (0: no)">,
    ListOption<"include", "include", "std::string",
               "regexes of linear names to prune (default: all)">,
    ListOption<"exclude", "exclude", "std::string",
               "regexes of linear names to leave alone">,
    Option<"report", "report", "bool", "false",
           "print one line per pruned linear to stderr">
  ], HFQ_AffineStorageOptions, HFQ_SequentialOptions);
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::hfq::HFQDialect"];
}

#endif // HFQ_TRANSFORMS_PASSES_TD

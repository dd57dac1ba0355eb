//===- Quantize.cpp - hfq quantize and prune -------------------*- C++ -*-===//
//
// Both subcommands import the float model, run a pass pipeline on it and
// write the result as a model directory. The pipeline is either given
// (--pipeline, hfq-opt syntax) or built from --method: the method's recipe
// (hfq/Pipelines/Methods.h) names its pass and fixed options, and each flag
// given is a spelling of one of that pass's options (a flag not given
// leaves the pass's default; --set reaches the others).
//
//===----------------------------------------------------------------------===//

#include "Calibrate.h"
#include "Driver.h"

#include "hfq/IO/Checkpoint.h"
#include "hfq/IO/ModelConfig.h"
#include "hfq/Import/LlamaImporter.h"
#include "hfq/Import/QuantizedModel.h"
#include "hfq/Numerics/Affine.h"
#include "hfq/Pipelines/Methods.h"
#include "hfq/Pipelines/Pipelines.h"
#include "hfq/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

#include <chrono>

using namespace mlir;
using namespace mlir::hfq;

namespace {
/// The passes of `pipeline` (hfq-opt syntax: `builtin.module(PASSES)` or
/// the bare `PASSES`) added to `pm`.
llvm::Error parsePipeline(llvm::StringRef pipeline, OpPassManager &pm) {
  registerAllPasses();
  std::string message;
  llvm::raw_string_ostream errs(message);
  llvm::StringRef passes = pipeline.trim();
  if (passes.consume_front("builtin.module(") && !passes.consume_back(")"))
    return fail("pipeline '" + pipeline + "': unbalanced parentheses");
  if (failed(parsePassPipeline(passes, pm, errs)))
    return fail("pipeline '" + pipeline + "': " + message);
  return llvm::Error::success();
}

/// Imports the float model in `modelDir`, runs `pipeline` on it and writes
/// the model directory `outDir`; `method` and `tool` label the summary
/// printed to `os`.
llvm::Error runPipeline(llvm::StringRef modelDir, llvm::StringRef outDir,
                        llvm::StringRef pipeline, llvm::StringRef method,
                        llvm::StringRef tool, bool quiet,
                        llvm::raw_ostream &os) {
  auto start = std::chrono::steady_clock::now();
  auto config = io::ModelConfig::load(modelDir);
  if (!config)
    return config.takeError();
  auto ckpt = io::Checkpoint::open(modelDir);
  if (!ckpt)
    return ckpt.takeError();
  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  auto already = readQuantizedLinears(ctx, modelDir);
  if (!already)
    return already.takeError();
  if (!already->empty())
    return fail(modelDir + " is already quantized; " + tool +
                " its float source");

  auto module = importLlama(ctx, *config, *ckpt, ImportOptions());
  // The passes read the weights of scope "model" from the checkpoint.
  ctx.getOrLoadDialect<HFQDialect>()->bindParameterScope(kModelScope, modelDir);
  if (!module)
    return module.takeError();

  std::string messages;
  {
    ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
      if (!messages.empty())
        messages += "\n";
      messages += d.str();
      return success();
    });
    PassManager pm(&ctx, ModuleOp::getOperationName());
    if (llvm::Error e = parsePipeline(pipeline, pm))
      return e;
    if (failed(pm.run(**module)))
      return fail((tool == "prune" ? "pruning failed: " : "quantization failed: ") +
                  messages);
  }
  if (!messages.empty())
    os << "hfq " << tool << ": warning: " << messages
       << "\n"; // linears left in float
  double quantizeSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  auto summary = writeQuantizedModel(**module, modelDir, *ckpt, outDir);
  if (!summary)
    return summary.takeError();
  if (summary->linears == 0 && summary->denseLinears == 0 &&
      summary->sparseLinears == 0)
    os << "hfq " << tool
       << ": warning: no linear matched; the output is the float model\n";
  double totalSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!quiet && summary->denseLinears)
    os << llvm::formatv("hfq {4}: {0} linears ({1} weights) rewritten in "
                        "float with {2}: {3:F2}% zeros; -> {5} in {6:F2} s "
                        "({7:F2} s in the pass)\n",
                        summary->denseLinears, summary->denseWeights, method,
                        100.0 * double(summary->denseZeros) /
                            double(summary->denseWeights),
                        tool, outDir, totalSeconds, quantizeSeconds);
  if (!quiet && summary->sparseLinears)
    os << llvm::formatv(
        "hfq {0}: {1} linears ({2} weights) with {3}: {4:F2}% zeros, stored "
        "sparse at {5:F3} bits per weight (mask or indices + kept values); "
        "{6} -> {7} ({8} bytes) in {9:F2} s ({10:F2} s in the pass)\n",
        tool, summary->sparseLinears, summary->sparseWeights, method,
        100.0 * double(summary->sparseZeros) / double(summary->sparseWeights),
        8.0 * double(summary->sparseBytes) / double(summary->sparseWeights),
        modelDir, outDir, summary->fileBytes, totalSeconds, quantizeSeconds);
  if (!quiet && (summary->linears ||
                 (!summary->denseLinears && !summary->sparseLinears)))
    os << llvm::formatv(
        "hfq {9}: {0} linears ({1} weights) with {2}: {3:F3} bits per "
        "weight including scales/zeros; {4} -> {5} ({6} bytes) in {7:F2} s "
        "({8:F2} s in the pass)\n",
        summary->linears, summary->quantizedWeights,
        method,
        summary->quantizedWeights
            ? 8.0 * double(summary->quantizedBytes) /
                  double(summary->quantizedWeights)
            : 0.0,
        modelDir, outDir, summary->fileBytes, totalSeconds, quantizeSeconds,
        tool);
  return llvm::Error::success();
}

using namespace llvm;
cl::OptionCategory &cat = driver::category();

cl::SubCommand quantizeCmd("quantize",
                           "Quantize the linears of a model into a quantized "
                           "model directory");
cl::SubCommand pruneCmd("prune", "Prune the linears of a model into a model "
                                 "directory (dense zeros or 2:4 metadata)");
cl::opt<int64_t> calSamples("samples",
                            cl::desc("with --calib TEXT: documents to run"),
                            cl::init(CalibrateOptions().samples),
                            cl::sub(quantizeCmd), cl::sub(pruneCmd),
                            cl::cat(cat));
cl::opt<int64_t> calSeqLen("seq-len",
                           cl::desc("with --calib TEXT: tokens per document "
                                    "at most (BOS included)"),
                           cl::init(CalibrateOptions().seqLen),
                           cl::sub(quantizeCmd), cl::sub(pruneCmd),
                           cl::cat(cat));
cl::opt<std::string> qModel(cl::Positional, cl::Required,
                            cl::desc("<model dir>"), cl::sub(quantizeCmd),
                            cl::cat(cat));
cl::opt<std::string> qOutput("o", cl::Required,
                             cl::desc("output directory (must not exist)"),
                             cl::value_desc("dir"), cl::sub(quantizeCmd),
                             cl::cat(cat));
cl::opt<std::string> qMethod("method",
                             cl::desc("rtn | nf4 | fp4 | int8 | hqq | fp8 | "
                                      "mxfp4 | mxfp8 | nvfp4 (no data); "
                                      "gptq, awq, spqr (need --calib)"),
                             cl::init("rtn"), cl::sub(quantizeCmd),
                             cl::cat(cat));
// The method flags below have no defaults of their own: a flag not given
// leaves the pass's default (see GivenOptions).
cl::opt<unsigned> qBits("bits", cl::desc("code width (2-8; default 4, spqr 3)"),
                        cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<int64_t> qGroup("group-size",
                        cl::desc("elements per group along the axis; 0 per "
                                 "channel, -1 per tensor (rtn). Default: 0, "
                                 "hqq 64, spqr 16"),
                        cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<bool> qSym("sym", cl::desc("rtn: symmetric codes (default asym)"),
                   cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<bool> qAsym("asym", cl::desc("rtn: asymmetric codes with zero points"),
                    cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<bool> qMse("mse-clip",
                   cl::desc("rtn: search the clipping range (GPTQ's grid)"),
                   cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<int64_t> qBlock("block-size",
                        cl::desc("nf4/fp4: elements per absmax (32-4096)"),
                        cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<bool> qDouble("double-quant",
                      cl::desc("nf4/fp4: 8-bit absmax in blocks of 256"),
                      cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<double> qThreshold("threshold",
                           cl::desc("int8: outlier threshold (0: none)"),
                           cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<int64_t> qAxis("axis", cl::desc("hqq: 1 groups inputs, 0 outputs"),
                       cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<numerics::ScaleType> qScaleType(
    "scale-type",
    cl::desc("element type of stored scales (rtn, hqq, gptq, awq, and "
             "prune --bits); default f16, as GPTQ/AWQ checkpoints"),
    cl::values(clEnumValN(numerics::ScaleType::F16, "f16", "IEEE half"),
               clEnumValN(numerics::ScaleType::BF16, "bf16", "bfloat16"),
               clEnumValN(numerics::ScaleType::F32, "f32", "float32")),
    cl::init(numerics::ScaleType::F16), cl::sub(quantizeCmd), cl::sub(pruneCmd),
    cl::cat(cat));
cl::opt<bool> qPackZeros("pack-zeros",
                         cl::desc("store integer zero points packed at the "
                                  "code width (default; =false: i32)"),
                         cl::sub(quantizeCmd), cl::sub(pruneCmd), cl::cat(cat));
cl::opt<std::string> qPipeline(
    "pipeline",
    cl::desc("a pass pipeline in hfq-opt's syntax to run instead of "
             "--method and its flags, e.g. 'hfq-gptq{stats=S.safetensors "
             "bits=4 group-size=32}' (statistics given as stats=)"),
    cl::value_desc("passes"), cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<std::string> qCalib("calib",
                            cl::desc("gptq: statistics from hfq calibrate "
                                     "(.safetensors), or a text file to "
                                     "calibrate on now (--samples/--seq-len "
                                     "as hfq calibrate)"),
                            cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<double> qOutliers("outlier-threshold",
                          cl::desc("spqr: relative outlier threshold (< 0: "
                                   "none)"),
                          cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<bool> qDuo("duo-scaling",
                   cl::desc("awq: scale by activations and weights, as "
                            "AutoAWQ and llm-compressor (default; =false: "
                            "activations only, as the paper)"),
                   cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<bool> qNoClip("no-clip", cl::desc("awq: skip the clip search"),
                      cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<bool> qActOrder("act-order",
                        cl::desc("gptq: columns by descending Hessian "
                                 "diagonal (default; =false: column order)"),
                        cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<Sequential> qSequential(
    "sequential",
    cl::desc("gptq, spqr, prune sparsegpt: where each linear's Hessian "
             "comes from (default none; layers and linears rerun the "
             "calibration tokens through the model's layer functions)"),
    cl::values(clEnumValN(Sequential::none, "none",
                          "the statistics file (the float model)"),
               clEnumValN(Sequential::layers, "layers",
                          "each layer after the rewritten layers below it "
                          "(GPTQ reference, llm-compressor)"),
               clEnumValN(Sequential::linears, "linears",
                          "layers, and within a layer after the rewritten "
                          "linears before it (--true-sequential of GPTQ)")),
    cl::sub(quantizeCmd), cl::sub(pruneCmd), cl::cat(cat));
cl::opt<bool> qStatic("static-groups",
                      cl::desc("gptq: group parameters up front, in column "
                               "order (default; =false: when reached, and "
                               "with --act-order a g_idx as desc_act)"),
                      cl::sub(quantizeCmd), cl::cat(cat));
cl::opt<double> qDamp("damp",
                      cl::desc("gptq: dampening, fraction of "
                               "mean(diag H)"),
                      cl::sub(quantizeCmd), cl::cat(cat));
cl::list<std::string> qInclude("include",
                               cl::desc("regex of linear names to quantize "
                                        "(repeatable; default all but "
                                        "embeddings and lm_head)"),
                               cl::sub(quantizeCmd), cl::cat(cat));
cl::list<std::string> qExclude("exclude",
                               cl::desc("regex of linear names to keep in "
                                        "float (repeatable)"),
                               cl::sub(quantizeCmd), cl::cat(cat));

cl::list<std::string> qSettings(
    "set",
    cl::desc("NAME=VALUE: any other option of the method's pass, as hfq-opt "
             "spells it (e.g. --set hqq-iters=40; see hfq-opt --help)"),
    cl::value_desc("option"), cl::sub(quantizeCmd), cl::cat(cat));

cl::opt<std::string> pModel(cl::Positional, cl::Required,
                            cl::desc("<model dir>"), cl::sub(pruneCmd),
                            cl::cat(cat));
cl::opt<std::string> pOutput("o", cl::Required,
                             cl::desc("output directory (must not exist)"),
                             cl::value_desc("dir"), cl::sub(pruneCmd),
                             cl::cat(cat));
cl::opt<std::string> pMethod("method",
                             cl::desc("magnitude | structured | 2:4 (magnitude "
                                      "with the 2:4 pattern) | sparsegpt"),
                             cl::init("magnitude"), cl::sub(pruneCmd),
                             cl::cat(cat));
cl::opt<double> pSparsity("sparsity", cl::desc("fraction to prune"),
                          cl::sub(pruneCmd), cl::cat(cat));
cl::opt<numerics::NMPattern>
    pPattern("pattern", cl::desc("N:M pattern, N kept of every M (2:4)"),
             cl::sub(pruneCmd), cl::cat(cat));
cl::opt<std::string> pCalib("calib",
                            cl::desc("sparsegpt: statistics from hfq "
                                     "calibrate, or text to calibrate on"),
                            cl::sub(pruneCmd), cl::cat(cat));
cl::opt<int64_t> pAxis("axis", cl::desc("structured: 0 rows, 1 columns"),
                       cl::sub(pruneCmd), cl::cat(cat));
cl::opt<int64_t> pUnit("unit", cl::desc("structured: rows/columns per unit"),
                       cl::sub(pruneCmd), cl::cat(cat));
cl::opt<std::string> pCoupled(
    "coupled",
    cl::desc("structured: =mlp (the same MLP channels in gate/up rows and "
             "down columns), =heads (attention KV groups in q/k/v rows and "
             "o columns) or =all (both; also the bare --coupled)"),
    cl::ValueOptional, cl::sub(pruneCmd), cl::cat(cat));
cl::opt<unsigned> pBits("bits", cl::desc("sparsegpt: joint quantization bits"),
                        cl::sub(pruneCmd), cl::cat(cat));
cl::list<std::string> pInclude("include", cl::desc("regex of linears to prune"),
                               cl::sub(pruneCmd), cl::cat(cat));
cl::list<std::string> pExclude("exclude", cl::desc("regex of linears to keep"),
                               cl::sub(pruneCmd), cl::cat(cat));

cl::list<std::string>
    pSettings("set", cl::desc("NAME=VALUE: any other option of hfq-prune"),
              cl::value_desc("option"), cl::sub(pruneCmd), cl::cat(cat));

/// Calibration statistics for gptq/sparsegpt: a .safetensors file as given,
/// or text calibrated now into a temporary file (removed afterwards).
struct TempStats {
  std::string path;
  SmallString<128> temporary;
  ~TempStats() {
    if (!temporary.empty())
      sys::fs::remove(temporary);
  }
  /// `method` names the calibrated method in the error for a missing
  /// --calib.
  Error resolve(StringRef method, StringRef model, StringRef calib) {
    if (calib.empty())
      return fail("--method " + method +
                  " needs --calib (statistics from hfq calibrate, or "
                  "calibration text)");
    if (calib.ends_with(".safetensors")) {
      path = calib.str();
      return Error::success();
    }
    if (std::error_code ec =
            sys::fs::createTemporaryFile("hfq-calib", "safetensors", temporary))
      return fail("temporary file: " + ec.message());
    CalibrateOptions c;
    c.textPath = calib.str();
    c.outputPath = path = temporary.str().str();
    c.samples = calSamples;
    c.seqLen = calSeqLen;
    c.quiet = driver::quiet();
    return runCalibrate(model, c, errs());
  }
};

/// The flags a user gave, as options of the method's pass (hfq/Pipelines/
/// Methods.h): a flag not given leaves the pass's default.
struct GivenOptions {
  std::vector<MethodOption> options;

  void set(StringRef name, std::string value) {
    options.push_back({name.str(), {std::move(value)}});
  }
  template <typename T> void add(StringRef name, const cl::opt<T> &flag) {
    if (!flag.getNumOccurrences())
      return;
    const T &v = flag.getValue();
    std::string text;
    raw_string_ostream os(text);
    if constexpr (std::is_same_v<T, bool>)
      os << (v ? "true" : "false");
    else if constexpr (std::is_same_v<T, double>)
      os << format("%.17g", v); // reads back exactly
    else if constexpr (std::is_enum_v<T>)
      os << stringify(v); // ScaleType, Sequential: their option spelling
    else
      os << v;
    set(name, std::move(text));
  }
  void add(StringRef name, const cl::list<std::string> &flag) {
    if (!flag.empty())
      options.push_back({name.str(), {flag.begin(), flag.end()}});
  }
  /// --set NAME=VALUE: any other option of the pass.
  Error addSettings(const cl::list<std::string> &settings) {
    for (StringRef s : settings) {
      auto [name, value] = s.split('=');
      if (name.empty() || !s.contains('='))
        return fail("--set expects NAME=VALUE, got '" + s + "'");
      set(name, value.str());
    }
    return Error::success();
  }
};

/// Runs `method` of `tool` with the options given: resolves --calib into
/// statistics when the method needs them, builds the method's pipeline and
/// runs it (the same path as --pipeline).
Error runMethod(StringRef tool, StringRef method, StringRef model,
                StringRef output, StringRef calib, GivenOptions &given) {
  auto recipe = findMethod(tool, method);
  if (!recipe)
    return recipe.takeError();
  TempStats stats;
  if (recipe->needsStatistics) {
    if (Error e = stats.resolve(method, model, calib))
      return std::move(e);
    given.set("stats", stats.path);
  } else if (!calib.empty()) {
    return fail("--method " + method + " takes no --calib");
  }
  given.set("report", driver::quiet() ? "false" : "true");
  auto pipeline = buildMethodPipeline(*recipe, given.options);
  if (!pipeline)
    return pipeline.takeError();
  if (!driver::quiet())
    errs() << "hfq " << tool << ": " << *pipeline << "\n";
  return runPipeline(model, output, *pipeline, method, tool, driver::quiet(),
                     errs());
}

Error runPruneCmd() {
  GivenOptions o;
  o.add("sparsity", pSparsity);
  o.add("pattern", pPattern);
  o.add("axis", pAxis);
  o.add("unit", pUnit);
  if (pCoupled.getNumOccurrences())
    o.set("coupled", pCoupled.empty() ? "all" : pCoupled.getValue());
  o.add("bits", pBits);
  o.add("sequential", qSequential);
  o.add("scale-type", qScaleType);
  o.add("pack-zeros", qPackZeros);
  o.add("include", pInclude);
  o.add("exclude", pExclude);
  if (Error e = o.addSettings(pSettings))
    return std::move(e);
  return runMethod("prune", pMethod, pModel, pOutput, pCalib, o);
}

Error runQuantizeCmd() {
  if (qPipeline.getNumOccurrences()) {
    if (qMethod.getNumOccurrences())
      return fail("--pipeline replaces --method and its flags");
    return runPipeline(qModel, qOutput, qPipeline, "pipeline", "quantize",
                       driver::quiet(), errs());
  }
  if (qSym && qAsym)
    return fail("--sym and --asym are exclusive");
  GivenOptions o;
  o.add("bits", qBits);
  o.add("group-size", qGroup);
  o.add("sym", qSym);
  if (qAsym)
    o.set("sym", "false");
  o.add("mse-clip", qMse);
  o.add("block-size", qBlock);
  o.add("double-quant", qDouble);
  o.add("threshold", qThreshold);
  o.add("axis", qAxis);
  o.add("scale-type", qScaleType);
  o.add("pack-zeros", qPackZeros);
  o.add("outlier-threshold", qOutliers);
  if (qNoClip)
    o.set("clip", "false");
  o.add("duo-scaling", qDuo);
  o.add("act-order", qActOrder);
  o.add("sequential", qSequential);
  o.add("static-groups", qStatic);
  o.add("damp", qDamp);
  o.add("include", qInclude);
  o.add("exclude", qExclude);
  if (Error e = o.addSettings(qSettings))
    return std::move(e);
  return runMethod("quantize", qMethod, qModel, qOutput, qCalib, o);
}

driver::Subcommand quantize(quantizeCmd, runQuantizeCmd);
driver::Subcommand prune(pruneCmd, runPruneCmd);
} // namespace

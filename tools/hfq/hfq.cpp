//===- hfq.cpp - the practitioner's driver ---------------------*- C++ -*-===//
//
// `hfq SUBCOMMAND ...`: a thin command-line layer over the hfq libraries.
// Subcommands so far:
//   inspect     list the tensors of a checkpoint
//   tokenize    encode text to token ids, or decode ids
//   import      the model as MLIR (func/linalg/tensor + hfq ops)
//   generate    greedy or sampled generation through the JIT
//   perplexity  perplexity on one-document-per-line text
//   kl          KL divergence and top-1 agreement against a reference
//   calibrate   per-linear input statistics for calibration-based methods
//   logits      one forward pass's logits, for comparisons with other tools
//   quantize    quantization (rtn, nf4, fp4, int8, hqq; gptq from
//               calibration) into a quantized model directory
//   prune       magnitude / structured / N:M / SparseGPT pruning
//   quant-error quantize every linear weight through the compiler
//               (hfq.quantize -> hfq.dequantize, JIT-compiled) and report
//               the error per tensor
// Every subcommand accepts --quiet (no progress on stderr). Errors go to
// stderr with a non-zero exit status.
//
//===----------------------------------------------------------------------===//

#include "Calibrate.h"
#include "Errors.h"
#include "Evaluate.h"
#include "QuantError.h"
#include "Quantize.h"

#include "hfq/Execution/JIT.h"
#include "hfq/Execution/Model.h"
#include "hfq/IO/Checkpoint.h"
#include "hfq/IO/Tokenizer.h"
#include "hfq/Import/LlamaImporter.h"
#include "hfq/Pipelines/Methods.h"
#include "hfq/Pipelines/Pipelines.h"
#include "hfq/Transforms/Passes.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <cstring>
#include <cmath>
#include <limits>
#include <random>

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace mlir::hfq;

namespace {

cl::OptionCategory hfqCategory("hfq options");

cl::SubCommand inspectCmd("inspect", "List the tensors of a checkpoint");
cl::SubCommand tokenizeCmd(
    "tokenize", "Print the token ids of a text (or the text of token ids)");
cl::SubCommand importCmd("import",
                          "Import a checkpoint as an MLIR module (weights "
                          "referenced, not inlined)");
cl::SubCommand quantizeCmd("quantize",
                           "Quantize the linears of a model into a quantized "
                           "model directory");
cl::SubCommand pruneCmd("prune", "Prune the linears of a model into a model "
                                 "directory (dense zeros or 2:4 metadata)");
cl::SubCommand generateCmd("generate", "Generate text with a model");
cl::SubCommand perplexityCmd("perplexity",
                              "Perplexity of a model on a text, one document "
                              "per line");
cl::SubCommand klCmd("kl", "KL divergence and top-1 agreement against a "
                           "reference model");
cl::SubCommand calibrateCmd("calibrate",
                             "Collect per-linear input statistics (XᵀX, "
                             "mean/max |x|) over calibration text");
cl::SubCommand logitsCmd("logits",
                          "Write the logits of a text (one forward pass) "
                          "to a safetensors file");
cl::SubCommand quantErrorCmd(
    "quant-error",
    "Quantize each linear weight of a checkpoint through the compiler and "
    "report the error per tensor");

cl::opt<std::string> inspectModel(cl::Positional, cl::Required,
                                  cl::desc("<model dir or .safetensors>"),
                                  cl::sub(inspectCmd), cl::cat(hfqCategory));
cl::opt<std::string> tokModel(cl::Positional, cl::Required,
                              cl::desc("<model dir>"), cl::sub(tokenizeCmd),
                              cl::cat(hfqCategory));
cl::opt<std::string> tokText("text", cl::desc("text to encode"),
                             cl::sub(tokenizeCmd), cl::cat(hfqCategory));
cl::opt<std::string> tokFile("file", cl::desc("encode this file's contents"),
                             cl::sub(tokenizeCmd), cl::cat(hfqCategory));
cl::opt<std::string> tokDecode("decode",
                               cl::desc("space-separated ids to decode"),
                               cl::sub(tokenizeCmd), cl::cat(hfqCategory));
cl::opt<bool> tokLines("lines",
                       cl::desc("encode each non-empty line as its own "
                                "document; print one line of ids per line"),
                       cl::sub(tokenizeCmd), cl::cat(hfqCategory));
cl::opt<bool> tokNoSpecial("no-special",
                           cl::desc("do not add BOS/template tokens"),
                           cl::sub(tokenizeCmd), cl::cat(hfqCategory));
cl::opt<std::string> importModel(cl::Positional, cl::Required,
                                 cl::desc("<model dir>"), cl::sub(importCmd),
                                 cl::cat(hfqCategory));
cl::opt<std::string> importOutput("o", cl::Required,
                                  cl::desc("output .mlir file"),
                                  cl::value_desc("file"), cl::sub(importCmd),
                                  cl::cat(hfqCategory));
cl::opt<int64_t> maxContext("max-context",
                            cl::desc("KV cache length (default: "
                                     "max_position_embeddings)"),
                            cl::init(0), cl::sub(importCmd),
                            cl::sub(generateCmd), cl::cat(hfqCategory));
cl::opt<std::string> genModel(cl::Positional, cl::Required,
                              cl::desc("<model dir>"), cl::sub(generateCmd),
                              cl::cat(hfqCategory));
cl::opt<std::string> genPrompt("prompt", cl::desc("prompt text"),
                               cl::init(""), cl::sub(generateCmd),
                               cl::cat(hfqCategory));
cl::opt<int64_t> genMaxTokens("max-tokens",
                              cl::desc("tokens to generate at most"),
                              cl::init(64), cl::sub(generateCmd),
                              cl::cat(hfqCategory));
cl::opt<double> genTemperature("temperature",
                               cl::desc("sampling temperature; 0 is greedy"),
                               cl::init(0.0), cl::sub(generateCmd),
                               cl::cat(hfqCategory));
cl::opt<double> genTopP("top-p", cl::desc("nucleus sampling mass"),
                        cl::init(1.0), cl::sub(generateCmd),
                        cl::cat(hfqCategory));
cl::opt<uint64_t> genSeed("seed", cl::desc("sampling seed"), cl::init(0),
                          cl::sub(generateCmd), cl::cat(hfqCategory));
cl::opt<std::string> evalModel(cl::Positional, cl::Required,
                               cl::desc("<model dir>"), cl::sub(perplexityCmd),
                               cl::sub(klCmd), cl::cat(hfqCategory));
cl::opt<std::string> evalText("text", cl::Required,
                              cl::desc("text file, one document per line"),
                              cl::sub(perplexityCmd), cl::sub(klCmd),
                              cl::cat(hfqCategory));
cl::opt<int64_t> evalDocs("docs",
                          cl::desc("evaluate only the first N documents "
                                   "(0: all)"),
                          cl::init(0), cl::sub(perplexityCmd), cl::sub(klCmd),
                          cl::cat(hfqCategory));
cl::opt<std::string> klReference("reference", cl::Required,
                                 cl::desc("reference model dir"),
                                 cl::sub(klCmd), cl::cat(hfqCategory));
cl::opt<std::string> checkpointDir(
    "checkpoint",
    cl::desc("for an .mlir MODEL (and --reference): the checkpoint directory "
             "bound to its parameter scope 'model' (weights, config.json, "
             "tokenizer)"),
    cl::value_desc("dir"), cl::sub(generateCmd), cl::sub(perplexityCmd),
    cl::sub(klCmd), cl::sub(logitsCmd), cl::sub(calibrateCmd),
    cl::cat(hfqCategory));
cl::opt<std::string> calModel(cl::Positional, cl::Required,
                              cl::desc("<model dir>"), cl::sub(calibrateCmd),
                              cl::cat(hfqCategory));
cl::opt<std::string> calText("text", cl::Required,
                             cl::desc("calibration text, one document per line"),
                             cl::sub(calibrateCmd), cl::cat(hfqCategory));
cl::opt<std::string> calOutput("o", cl::Required,
                               cl::desc("output statistics (.safetensors)"),
                               cl::value_desc("file"), cl::sub(calibrateCmd),
                               cl::cat(hfqCategory));
cl::opt<int64_t> calSamples("samples", cl::desc("documents to run"),
                            cl::init(128), cl::sub(calibrateCmd),
                            cl::sub(quantizeCmd), cl::sub(pruneCmd),
                            cl::cat(hfqCategory));
cl::opt<int64_t> calSeqLen("seq-len",
                           cl::desc("tokens per document at most (BOS "
                                    "included)"),
                           cl::init(512), cl::sub(calibrateCmd),
                           cl::sub(quantizeCmd), cl::sub(pruneCmd),
                           cl::cat(hfqCategory));
cl::opt<bool> calKeepInputs("keep-inputs",
                            cl::desc("also store every linear input (F32 "
                                     "[tokens, in] each; no hfq pass needs "
                                     "them: for analysis outside hfq)"),
                            cl::sub(calibrateCmd), cl::cat(hfqCategory));
cl::opt<std::string> logitsModel(cl::Positional, cl::Required,
                                 cl::desc("<model dir or .mlir>"),
                                 cl::sub(logitsCmd), cl::cat(hfqCategory));
cl::opt<std::string> logitsText("text", cl::Required,
                                cl::desc("text (encoded with BOS)"),
                                cl::sub(logitsCmd), cl::cat(hfqCategory));
cl::opt<std::string> logitsOutput("o", cl::Required,
                                  cl::desc("output .safetensors: ids I64 "
                                           "[T], logits F32 [T, vocab]"),
                                  cl::value_desc("file"), cl::sub(logitsCmd),
                                  cl::cat(hfqCategory));
cl::opt<std::string> qeModel(cl::Positional, cl::Required,
                             cl::desc("<model dir or .safetensors>"),
                             cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<std::string> qeMethod("method",
                              cl::desc("rtn (integer), nf4 or fp4 (codebook)"),
                              cl::init("rtn"), cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<unsigned> qeBits("bits", cl::desc("code width for rtn (2-8)"),
                         cl::init(4), cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<int64_t> qeGroup("group-size",
                         cl::desc("rtn: input columns per group (0: one "
                                  "group per output channel); nf4/fp4: "
                                  "block size"),
                         cl::init(32), cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<bool> qeSym("sym", cl::desc("rtn: symmetric (no zero points)"),
                    cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<bool> qeDoubleQuant("double-quant",
                            cl::desc("nf4/fp4: quantize absmax (block 256)"),
                            cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<std::string> qeMatch("match",
                             cl::desc("only tensors whose name contains this"),
                             cl::init(""), cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<std::string> qModel(cl::Positional, cl::Required,
                            cl::desc("<model dir>"), cl::sub(quantizeCmd),
                            cl::cat(hfqCategory));
cl::opt<std::string> qOutput("o", cl::Required,
                             cl::desc("output directory (must not exist)"),
                             cl::value_desc("dir"), cl::sub(quantizeCmd),
                             cl::cat(hfqCategory));
cl::opt<std::string> qMethod("method",
                             cl::desc("rtn | nf4 | fp4 | int8 | hqq (no "
                                      "data); gptq, awq, spqr (need --calib)"),
                             cl::init("rtn"), cl::sub(quantizeCmd),
                             cl::cat(hfqCategory));
// The method flags below have no defaults of their own: a flag not given
// leaves the pass's default (see GivenOptions).
cl::opt<unsigned> qBits("bits", cl::desc("code width (2-8; default 4, spqr 3)"),
                        cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<int64_t> qGroup("group-size",
                        cl::desc("elements per group along the axis; 0 per "
                                 "channel, -1 per tensor (rtn). Default: 0, "
                                 "hqq 64, spqr 16"),
                        cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<bool> qSym("sym", cl::desc("rtn: symmetric codes (default asym)"),
                   cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<bool> qAsym("asym", cl::desc("rtn: asymmetric codes with zero points"),
                    cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<bool> qMse("mse-clip",
                   cl::desc("rtn: search the clipping range (GPTQ's grid)"),
                   cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<int64_t> qBlock("block-size",
                        cl::desc("nf4/fp4: elements per absmax (32-4096)"),
                        cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<bool> qDouble("double-quant",
                      cl::desc("nf4/fp4: 8-bit absmax in blocks of 256"),
                      cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<double> qThreshold("threshold",
                           cl::desc("int8: outlier threshold (0: none)"),
                           cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<int64_t> qAxis("axis", cl::desc("hqq: 1 groups inputs, 0 outputs"),
                       cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<numerics::ScaleType> qScaleType(
    "scale-type",
    cl::desc("element type of stored scales (rtn, hqq, gptq, awq, and "
             "prune --bits); default f16, as GPTQ/AWQ checkpoints"),
    cl::values(clEnumValN(numerics::ScaleType::F16, "f16", "IEEE half"),
               clEnumValN(numerics::ScaleType::BF16, "bf16", "bfloat16"),
               clEnumValN(numerics::ScaleType::F32, "f32", "float32")),
    cl::init(numerics::ScaleType::F16), cl::sub(quantizeCmd), cl::sub(pruneCmd),
    cl::cat(hfqCategory));
cl::opt<bool> qPackZeros("pack-zeros",
                         cl::desc("store integer zero points packed at the "
                                  "code width (default; =false: i32)"),
                         cl::sub(quantizeCmd), cl::sub(pruneCmd),
                         cl::cat(hfqCategory));
cl::opt<std::string> qPipeline(
    "pipeline",
    cl::desc("a pass pipeline in hfq-opt's syntax to run instead of "
             "--method and its flags, e.g. 'hfq-gptq{stats=S.safetensors "
             "bits=4 group-size=32}' (statistics given as stats=)"),
    cl::value_desc("passes"), cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<std::string> qCalib("calib",
                            cl::desc("gptq: statistics from hfq calibrate "
                                     "(.safetensors), or a text file to "
                                     "calibrate on now (--samples/--seq-len "
                                     "as hfq calibrate)"),
                            cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<double> qOutliers("outlier-threshold",
                          cl::desc("spqr: relative outlier threshold (< 0: "
                                   "none)"),
                          cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<bool> qNoClip("no-clip",
                      cl::desc("awq: skip the clip search"),
                      cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<bool> qActOrder("act-order",
                        cl::desc("gptq: columns by descending Hessian "
                                 "diagonal (desc_act), with g_idx (default; "
                                 "=false: column order)"),
                        cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<bool> qTrueSeq("true-sequential",
                       cl::desc("gptq, spqr, prune sparsegpt: each linear's "
                                "Hessian from inputs through the already "
                                "rewritten linears (re-runs the calibration "
                                "tokens through the model's layer functions, "
                                "layer by layer)"),
                       cl::sub(quantizeCmd), cl::sub(pruneCmd),
                       cl::cat(hfqCategory));
cl::opt<bool> qStatic("static-groups",
                      cl::desc("gptq: group parameters before any update"),
                      cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::opt<double> qDamp("damp",
                      cl::desc("gptq: dampening, fraction of "
                               "mean(diag H)"),
                      cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::list<std::string> qInclude("include",
                               cl::desc("regex of linear names to quantize "
                                        "(repeatable; default all but "
                                        "embeddings and lm_head)"),
                               cl::sub(quantizeCmd), cl::cat(hfqCategory));
cl::list<std::string> qExclude("exclude",
                               cl::desc("regex of linear names to keep in "
                                        "float (repeatable)"),
                               cl::sub(quantizeCmd), cl::cat(hfqCategory));

cl::list<std::string> qSettings(
    "set",
    cl::desc("NAME=VALUE: any other option of the method's pass, as hfq-opt "
             "spells it (e.g. --set hqq-iters=40; see hfq-opt --help)"),
    cl::value_desc("option"), cl::sub(quantizeCmd), cl::cat(hfqCategory));

cl::opt<std::string> pModel(cl::Positional, cl::Required,
                            cl::desc("<model dir>"), cl::sub(pruneCmd),
                            cl::cat(hfqCategory));
cl::opt<std::string> pOutput("o", cl::Required,
                             cl::desc("output directory (must not exist)"),
                             cl::value_desc("dir"), cl::sub(pruneCmd),
                             cl::cat(hfqCategory));
cl::opt<std::string> pMethod("method",
                             cl::desc("magnitude | structured | 2:4 (magnitude "
                                      "with the 2:4 pattern) | sparsegpt"),
                             cl::init("magnitude"), cl::sub(pruneCmd),
                             cl::cat(hfqCategory));
cl::opt<double> pSparsity("sparsity", cl::desc("fraction to prune"),
                          cl::sub(pruneCmd), cl::cat(hfqCategory));
cl::opt<numerics::NMPattern>
    pPattern("pattern", cl::desc("N:M pattern, N kept of every M (2:4)"),
             cl::sub(pruneCmd), cl::cat(hfqCategory));
cl::opt<std::string> pCalib("calib",
                            cl::desc("sparsegpt: statistics from hfq "
                                     "calibrate, or text to calibrate on"),
                            cl::sub(pruneCmd), cl::cat(hfqCategory));
cl::opt<int64_t> pAxis("axis", cl::desc("structured: 0 rows, 1 columns"),
                       cl::sub(pruneCmd), cl::cat(hfqCategory));
cl::opt<int64_t> pUnit("unit", cl::desc("structured: rows/columns per unit"),
                       cl::sub(pruneCmd), cl::cat(hfqCategory));
cl::opt<std::string> pCoupled(
    "coupled",
    cl::desc("structured: =mlp (the same MLP channels in gate/up rows and "
             "down columns), =heads (attention KV groups in q/k/v rows and "
             "o columns) or =all (both; also the bare --coupled)"),
    cl::ValueOptional, cl::sub(pruneCmd), cl::cat(hfqCategory));
cl::opt<unsigned> pBits("bits", cl::desc("sparsegpt: joint quantization bits"),
                        cl::sub(pruneCmd), cl::cat(hfqCategory));
cl::list<std::string> pInclude("include", cl::desc("regex of linears to prune"),
                               cl::sub(pruneCmd), cl::cat(hfqCategory));
cl::list<std::string> pExclude("exclude", cl::desc("regex of linears to keep"),
                               cl::sub(pruneCmd), cl::cat(hfqCategory));

cl::list<std::string>
    pSettings("set", cl::desc("NAME=VALUE: any other option of hfq-prune"),
              cl::value_desc("option"), cl::sub(pruneCmd),
              cl::cat(hfqCategory));

cl::opt<bool> quiet("quiet", cl::desc("no progress output on stderr"),
                    cl::sub(cl::SubCommand::getAll()), cl::cat(hfqCategory));

int reportError(Error error) {
  WithColor::error(errs(), "hfq") << toString(std::move(error)) << "\n";
  return 1;
}

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
    if (std::error_code ec = sys::fs::createTemporaryFile(
            "hfq-calib", "safetensors", temporary))
      return fail("temporary file: " + ec.message());
    CalibrateOptions c;
    c.textPath = calib.str();
    c.outputPath = path = temporary.str().str();
    c.samples = calSamples;
    c.seqLen = calSeqLen;
    c.quiet = quiet;
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
    else if constexpr (std::is_same_v<T, numerics::ScaleType>)
      os << numerics::stringify(v);
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
int runMethod(StringRef tool, StringRef method, StringRef model,
              StringRef output, StringRef calib, GivenOptions &given) {
  auto recipe = findMethod(tool, method);
  if (!recipe)
    return reportError(recipe.takeError());
  TempStats stats;
  if (recipe->needsStatistics) {
    if (Error e = stats.resolve(method, model, calib))
      return reportError(std::move(e));
    given.set("stats", stats.path);
  } else if (!calib.empty()) {
    return reportError(fail("--method " + method + " takes no --calib"));
  }
  given.set("report", quiet ? "false" : "true");
  auto pipeline = buildMethodPipeline(*recipe, given.options);
  if (!pipeline)
    return reportError(pipeline.takeError());
  if (!quiet)
    errs() << "hfq " << tool << ": " << *pipeline << "\n";
  if (Error e = runQuantizePipeline(model, output, *pipeline, method, tool,
                                    quiet, errs()))
    return reportError(std::move(e));
  return 0;
}

int runPruneCmd() {
  GivenOptions o;
  o.add("sparsity", pSparsity);
  o.add("pattern", pPattern);
  o.add("axis", pAxis);
  o.add("unit", pUnit);
  if (pCoupled.getNumOccurrences())
    o.set("coupled", pCoupled.empty() ? "all" : pCoupled.getValue());
  o.add("bits", pBits);
  o.add("true-sequential", qTrueSeq);
  o.add("scale-type", qScaleType);
  o.add("pack-zeros", qPackZeros);
  o.add("include", pInclude);
  o.add("exclude", pExclude);
  if (Error e = o.addSettings(pSettings))
    return reportError(std::move(e));
  return runMethod("prune", pMethod, pModel, pOutput, pCalib, o);
}

int runQuantizeCmd() {
  if (qPipeline.getNumOccurrences()) {
    if (qMethod.getNumOccurrences())
      return reportError(fail("--pipeline replaces --method and its flags"));
    if (Error e = runQuantizePipeline(qModel, qOutput, qPipeline, "pipeline",
                                      "quantize", quiet, errs()))
      return reportError(std::move(e));
    return 0;
  }
  if (qSym && qAsym)
    return reportError(fail("--sym and --asym are exclusive"));
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
  o.add("act-order", qActOrder);
  o.add("true-sequential", qTrueSeq);
  o.add("static-groups", qStatic);
  o.add("damp", qDamp);
  o.add("include", qInclude);
  o.add("exclude", qExclude);
  if (Error e = o.addSettings(qSettings))
    return reportError(std::move(e));
  return runMethod("quantize", qMethod, qModel, qOutput, qCalib, o);
}

int runInspect() {
  auto ckpt = io::Checkpoint::open(inspectModel);
  if (!ckpt)
    return reportError(ckpt.takeError());
  int64_t total = 0;
  for (const io::Checkpoint::Entry &e : ckpt->tensors()) {
    outs() << e.info->name << "  " << io::dtypeName(e.info->dtype) << " [";
    for (size_t i = 0; i < e.info->shape.size(); ++i)
      outs() << (i ? ", " : "") << e.info->shape[i];
    outs() << "]\n";
    total += e.info->numElements();
  }
  outs() << ckpt->tensors().size() << " tensors, " << total << " elements\n";
  return 0;
}

int runTokenize() {
  auto tokenizer = io::Tokenizer::load(tokModel);
  if (!tokenizer)
    return reportError(tokenizer.takeError());
  if (!tokDecode.empty()) {
    std::vector<int64_t> ids;
    SmallVector<StringRef> fields;
    StringRef(tokDecode).split(fields, ' ', -1, /*KeepEmpty=*/false);
    for (StringRef f : fields) {
      int64_t id;
      if (f.getAsInteger(10, id))
        return reportError(createStringError(inconvertibleErrorCode(),
                                             "--decode: '" + f +
                                                 "' is not a token id"));
      ids.push_back(id);
    }
    auto text = tokenizer->decode(ids);
    if (!text)
      return reportError(text.takeError());
    outs() << *text << "\n";
    return 0;
  }
  std::string text = tokText;
  if (!tokFile.empty()) {
    auto buffer = MemoryBuffer::getFile(tokFile);
    if (!buffer)
      return reportError(createStringError(
          inconvertibleErrorCode(),
          tokFile + ": cannot open: " + buffer.getError().message()));
    text = (*buffer)->getBuffer().str();
  } else if (tokText.getNumOccurrences() == 0) {
    return reportError(createStringError(inconvertibleErrorCode(),
                                         "give --text, --file or --decode"));
  }
  SmallVector<StringRef> documents;
  if (tokLines)
    StringRef(text).split(documents, '\n', -1, /*KeepEmpty=*/false);
  else
    documents.push_back(text);
  for (StringRef doc : documents) {
    auto ids = tokenizer->encode(doc, !tokNoSpecial);
    if (!ids)
      return reportError(ids.takeError());
    for (size_t i = 0; i < ids->size(); ++i)
      outs() << (i ? " " : "") << (*ids)[i];
    outs() << "\n";
  }
  return 0;
}

int runImport() {
  auto start = std::chrono::steady_clock::now();
  auto config = io::ModelConfig::load(importModel);
  if (!config)
    return reportError(config.takeError());
  auto ckpt = io::Checkpoint::open(importModel);
  if (!ckpt)
    return reportError(ckpt.takeError());
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  mlir::MLIRContext ctx(registry);
  auto quantized = readQuantizedLinears(ctx, importModel);
  if (!quantized)
    return reportError(quantized.takeError());
  ImportOptions options;
  options.maxContext = maxContext;
  options.quantized = &*quantized;
  auto module = importLlama(ctx, *config, *ckpt, options);
  if (!module)
    return reportError(module.takeError());
  if (Error e = writeToOutput(importOutput, [&](raw_ostream &os) -> Error {
        // Locations name each linear for diagnostics (its identity is its
        // weight's symbol, so a copy printed without them runs the same).
        (*module)->print(os, mlir::OpPrintingFlags().enableDebugInfo());
        return Error::success();
      }))
    return reportError(std::move(e));
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!quiet)
    errs() << formatv("hfq import: {0} ({1}, {2} layers) -> {3} in {4:F2} s\n",
                      importModel, config->modelType, config->numLayers,
                      importOutput, secs);
  return 0;
}

int runGenerate() {
  if (genTemperature < 0 || !(genTopP > 0 && genTopP <= 1))
    return reportError(createStringError(
        inconvertibleErrorCode(),
        "--temperature must be >= 0 and --top-p in (0, 1]"));
  auto loadStart = std::chrono::steady_clock::now();
  ModelOptions options;
  options.maxContext = maxContext;
  options.checkpointDir = checkpointDir;
  auto model = LoadedModel::load(genModel, options);
  if (!model)
    return reportError(model.takeError());
  double loadSecs = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - loadStart)
                        .count();
  const io::Tokenizer &tok = (*model)->tokenizer();
  auto prompt = tok.encode(genPrompt);
  if (!prompt)
    return reportError(prompt.takeError());
  if (prompt->empty())
    return reportError(createStringError(inconvertibleErrorCode(),
                                         "the prompt encodes to no tokens"));
  std::vector<int64_t> eos = (*model)->config().eosTokenIds;
  if (tok.eosId())
    eos.push_back(*tok.eosId());

  std::mt19937_64 rng(genSeed);
  auto pick = [&](const float *logits, int64_t vocab) -> int64_t {
    if (genTemperature == 0)
      return std::max_element(logits, logits + vocab) - logits;
    // Softmax at the temperature, then sample from the smallest set of
    // tokens whose probability reaches top-p.
    std::vector<std::pair<double, int64_t>> probs(vocab);
    double maxLogit = *std::max_element(logits, logits + vocab), sum = 0;
    for (int64_t i = 0; i < vocab; ++i) {
      double p = std::exp((logits[i] - maxLogit) / genTemperature);
      probs[i] = {p, i};
      sum += p;
    }
    std::sort(probs.begin(), probs.end(),
              [](auto &a, auto &b) { return a.first > b.first ||
                                            (a.first == b.first && a.second < b.second); });
    double mass = 0;
    size_t keep = 0;
    while (keep < probs.size() && mass < genTopP * sum)
      mass += probs[keep++].first;
    double r = std::uniform_real_distribution<double>(0, mass)(rng);
    for (size_t i = 0; i < keep; ++i) {
      r -= probs[i].first;
      if (r <= 0)
        return probs[i].second;
    }
    return probs[keep - 1].second;
  };

  const int64_t vocab = (*model)->config().vocabSize;
  auto t0 = std::chrono::steady_clock::now();
  auto logits = (*model)->prefill(*prompt);
  if (!logits)
    return reportError(logits.takeError());
  auto t1 = std::chrono::steady_clock::now();
  std::vector<int64_t> generated;
  int64_t next = pick(logits->data() + (prompt->size() - 1) * vocab, vocab);
  while (int64_t(generated.size()) < genMaxTokens) {
    if (llvm::is_contained(eos, next))
      break;
    generated.push_back(next);
    if (int64_t(generated.size()) == genMaxTokens ||
        (*model)->position() >= (*model)->maxContext())
      break;
    auto step = (*model)->decode(next);
    if (!step)
      return reportError(step.takeError());
    next = pick(step->data(), vocab);
  }
  auto t2 = std::chrono::steady_clock::now();
  std::vector<int64_t> all = *prompt;
  all.insert(all.end(), generated.begin(), generated.end());
  auto text = tok.decode(all);
  if (!text)
    return reportError(text.takeError());
  outs() << *text << "\n";
  double prefillSecs = std::chrono::duration<double>(t1 - t0).count();
  double decodeSecs = std::chrono::duration<double>(t2 - t1).count();
  int64_t decodeSteps = std::max<int64_t>(int64_t(generated.size()) - 1, 0);
  if (!quiet)
    errs() << formatv("hfq generate: load+compile {0:F2} s; prefill {1} tokens "
                      "{2:F1} tok/s; decode {3} tokens {4:F1} tok/s\n",
                      loadSecs, prompt->size(), prompt->size() / prefillSecs,
                      decodeSteps,
                      decodeSteps ? decodeSteps / decodeSecs : 0.0);
  return 0;
}

int runLogits() {
  ModelOptions options;
  options.checkpointDir = checkpointDir;
  auto model = LoadedModel::load(logitsModel, options);
  if (!model)
    return reportError(model.takeError());
  auto ids = (*model)->tokenizer().encode(logitsText);
  if (!ids)
    return reportError(ids.takeError());
  auto logits = (*model)->prefill(*ids);
  if (!logits)
    return reportError(logits.takeError());
  int64_t t = ids->size(), v = (*model)->config().vocabSize;
  std::vector<uint8_t> idBytes(t * 8), logitBytes(logits->size() * 4);
  std::memcpy(idBytes.data(), ids->data(), idBytes.size());
  std::memcpy(logitBytes.data(), logits->data(), logitBytes.size());
  if (Error e = io::writeSafetensors(
          logitsOutput,
          {{"ids", io::DType::I64, {t}, std::move(idBytes)},
           {"logits", io::DType::F32, {t, v}, std::move(logitBytes)}}))
    return reportError(std::move(e));
  return 0;
}

int runQuantError() {
  QuantErrorOptions options;
  options.method = qeMethod;
  options.bits = qeBits;
  options.groupSize = qeGroup;
  options.symmetric = qeSym;
  options.doubleQuant = qeDoubleQuant;
  options.match = qeMatch;
  options.quiet = quiet;
  if (Error e = runQuantErrorReport(qeModel, options, outs()))
    return reportError(std::move(e));
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  registerJITLayerRunner();
  cl::HideUnrelatedOptions(hfqCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "hfq: quantize large language models\n\n"
      "  hfq inspect MODEL\n"
      "  hfq tokenize MODEL --text TEXT | --file FILE | --decode \"IDS\"\n"
      "  hfq import MODEL -o model.mlir [--max-context N]\n"
      "  hfq generate MODEL --prompt TEXT [--max-tokens N --temperature T "
      "--top-p P --seed S]\n"
      "  hfq perplexity MODEL --text FILE\n"
      "  hfq kl MODEL --reference REF_MODEL --text FILE\n"
      "  hfq calibrate MODEL --text FILE [--samples N --seq-len L "
      "--keep-inputs] -o stats.safetensors\n"
      "  hfq prune MODEL -o OUT --method magnitude|structured|2:4|sparsegpt "
      "[--sparsity S --pattern N:M --calib STATS|TEXT --axis A --unit U "
      "--bits B]\n"
      "  hfq quantize MODEL -o OUT --method gptq --calib STATS|TEXT [--bits B "
      "--group-size G --sym --act-order --static-groups --damp D]\n"
      "  hfq quantize MODEL -o OUT --method awq --calib STATS|TEXT [--bits B "
      "--group-size G --sym --no-clip]\n"
      "  hfq quantize MODEL -o OUT --method spqr --calib STATS|TEXT [--bits B "
      "--group-size G --outlier-threshold T --damp D]\n"
      "  hfq quantize MODEL -o OUT --method rtn|nf4|fp4|int8|hqq [--bits B "
      "--group-size G --sym|--asym --mse-clip --block-size N --double-quant "
      "--threshold T --axis A --include RE --exclude RE]\n"
      "  hfq quant-error MODEL [--method rtn|nf4|fp4] [--bits B] "
      "[--group-size G] [--sym] [--double-quant]\n");
  if (inspectCmd)
    return runInspect();
  if (quantizeCmd)
    return runQuantizeCmd();
  if (pruneCmd)
    return runPruneCmd();
  if (quantErrorCmd)
    return runQuantError();
  if (tokenizeCmd)
    return runTokenize();
  if (importCmd)
    return runImport();
  if (perplexityCmd) {
    if (Error e = runPerplexity(evalModel, checkpointDir, evalText, evalDocs,
                                quiet, outs()))
      return reportError(std::move(e));
    return 0;
  }
  if (logitsCmd)
    return runLogits();
  if (calibrateCmd) {
    CalibrateOptions options;
    options.textPath = calText;
    options.outputPath = calOutput;
    options.samples = calSamples;
    options.seqLen = calSeqLen;
    options.keepInputs = calKeepInputs;
    options.quiet = quiet;
    options.checkpointDir = checkpointDir;
    if (Error e = runCalibrate(calModel, options, errs()))
      return reportError(std::move(e));
    return 0;
  }
  if (klCmd) {
    if (Error e = runKL(evalModel, checkpointDir, klReference, evalText,
                        evalDocs, quiet, outs()))
      return reportError(std::move(e));
    return 0;
  }
  if (generateCmd)
    return runGenerate();
  errs() << "hfq: expected a subcommand (inspect, tokenize, import, generate, "
            "perplexity, kl, calibrate, logits, quantize, prune, quant-error); see "
            "hfq --help\n";
  return 2;
}

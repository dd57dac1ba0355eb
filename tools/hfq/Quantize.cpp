//===- Quantize.cpp - `hfq quantize` ----------------------------*- C++ -*-===//

#include "Quantize.h"
#include "Errors.h"

#include "hfq/IO/Checkpoint.h"
#include "hfq/IO/ModelConfig.h"
#include "hfq/Import/LlamaImporter.h"
#include "hfq/Import/QuantizedModel.h"
#include "hfq/Pipelines/Pipelines.h"

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
/// Imports `modelDir`, runs the passes `populate` adds, writes `outDir`.
llvm::Error
quantizeWith(llvm::StringRef modelDir, llvm::StringRef outDir,
             llvm::function_ref<llvm::Error(OpPassManager &)> populate,
             llvm::StringRef method, llvm::StringRef tool, bool quiet,
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
    if (llvm::Error e = populate(pm))
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
} // namespace

llvm::Error mlir::hfq::runQuantizePipeline(llvm::StringRef modelDir,
                                           llvm::StringRef outDir,
                                           llvm::StringRef pipeline,
                                           llvm::StringRef method,
                                           llvm::StringRef tool, bool quiet,
                                           llvm::raw_ostream &os) {
  registerAllPasses();
  return quantizeWith(
      modelDir, outDir,
      [&](OpPassManager &pm) -> llvm::Error {
        std::string message;
        llvm::raw_string_ostream errs(message);
        // Either hfq-opt's --pass-pipeline form, anchored on the module,
        // or the bare pass list inside it.
        llvm::StringRef passes = pipeline.trim();
        if (passes.consume_front("builtin.module(") &&
            !passes.consume_back(")"))
          return fail("pipeline '" + pipeline + "': unbalanced parentheses");
        if (failed(parsePassPipeline(passes, pm, errs)))
          return fail("pipeline '" + pipeline + "': " + message);
        return llvm::Error::success();
      },
      method, tool, quiet, os);
}

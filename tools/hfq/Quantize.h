//===- Quantize.h - `hfq quantize` ------------------------------*- C++ -*-===//
//
// Imports a float model, runs hfq-quantize-linears over it and writes the
// quantized model directory (hfq/Import/QuantizedModel.h).
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_TOOLS_HFQ_QUANTIZE_H
#define HFQ_TOOLS_HFQ_QUANTIZE_H

#include "hfq/Transforms/Passes.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::hfq {

/// Imports `modelDir`, runs `pass` (a quantization or pruning pass;
/// `method` names it and `tool` the subcommand in the summary) and writes
/// the model directory `outDir`.
llvm::Error runQuantize(llvm::StringRef modelDir, llvm::StringRef outDir,
                        std::unique_ptr<mlir::Pass> pass,
                        llvm::StringRef method, llvm::StringRef tool,
                        bool quiet, llvm::raw_ostream &os);

/// The same with a pass pipeline in hfq-opt's syntax (e.g.
/// "hfq-prune{method=sparsegpt stats=S},hfq-quantize-linears{bits=4}"),
/// run on the imported module.
llvm::Error runQuantizePipeline(llvm::StringRef modelDir,
                                llvm::StringRef outDir,
                                llvm::StringRef pipeline, bool quiet,
                                llvm::raw_ostream &os);

} // namespace mlir::hfq

#endif // HFQ_TOOLS_HFQ_QUANTIZE_H

//===- Quantize.h - `hfq quantize` ------------------------------*- C++ -*-===//
//
// Imports a float model, runs a quantization or pruning pipeline over it and
// writes the quantized model directory (hfq/Import/QuantizedModel.h).
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_TOOLS_HFQ_QUANTIZE_H
#define HFQ_TOOLS_HFQ_QUANTIZE_H

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::hfq {

/// Imports the float model in `modelDir`, runs `pipeline` (hfq-opt syntax:
/// `builtin.module(PASSES)` or the bare `PASSES`) on it and writes the
/// quantized model directory `outDir`; `method` and `tool` label the summary
/// printed to `os`.
llvm::Error runQuantizePipeline(llvm::StringRef modelDir,
                                llvm::StringRef outDir,
                                llvm::StringRef pipeline,
                                llvm::StringRef method, llvm::StringRef tool,
                                bool quiet, llvm::raw_ostream &os);

} // namespace mlir::hfq

#endif // HFQ_TOOLS_HFQ_QUANTIZE_H

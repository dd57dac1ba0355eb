//===- Evaluate.h - `hfq perplexity` and `hfq kl` ---------------*- C++ -*-===//

#ifndef HFQ_TOOLS_HFQ_EVALUATE_H
#define HFQ_TOOLS_HFQ_EVALUATE_H

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::hfq {

/// Prints `perplexity: <value> (<n> tokens)`.
/// `maxDocs` > 0 evaluates only the first maxDocs documents (lines).
llvm::Error runPerplexity(llvm::StringRef modelPath,
                          llvm::StringRef checkpointDir,
                          llvm::StringRef textPath, int64_t maxDocs, bool quiet,
                          llvm::raw_ostream &os);

/// Prints `kl: <mean KL(P_ref || P_model)> top1: <agreement>%`, then both
/// models' perplexities on the same windows.
llvm::Error runKL(llvm::StringRef modelPath, llvm::StringRef checkpointDir,
                  llvm::StringRef referencePath, llvm::StringRef textPath,
                  int64_t maxDocs, bool quiet, llvm::raw_ostream &os);

} // namespace mlir::hfq

#endif // HFQ_TOOLS_HFQ_EVALUATE_H

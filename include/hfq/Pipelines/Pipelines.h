//===- Pipelines.h - hfq pass pipelines and registration --------*- C++ -*-===//
//
// Named pipelines over hfq modules, and one-call registration of everything
// hfq-opt knows, for tools and compilers that embed hfq.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_PIPELINES_PIPELINES_H
#define HFQ_PIPELINES_PIPELINES_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::hfq {

/// Options of the `hfq-lower-to-llvm` pipeline.
struct LowerToLLVMOptions : public PassPipelineOptions<LowerToLLVMOptions> {
  PassOptions::Option<bool> reference{
      *this, "reference",
      llvm::cl::desc("Lower every hfq op through the reference lowering "
                     "(convert-hfq-to-linalg, the oracle); otherwise "
                     "hfq.linear goes through convert-hfq-to-cpu's kernels "
                     "where it has one"),
      llvm::cl::init(false)};
  PassOptions::Option<unsigned> lanes{
      *this, "lanes",
      llvm::cl::desc("convert-hfq-to-cpu's float32 lanes per vector step (0: "
                     "from the host CPU)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> threads{
      *this, "threads",
      llvm::cl::desc("Run the parallel dimensions of linalg ops on OpenMP "
                     "threads (reductions stay sequential, so results do not "
                     "depend on the thread count); needs libomp at run time"),
      llvm::cl::init(true)};
};

/// hfq (+ func/linalg/tensor/arith) on tensors -> LLVM dialect, ready for
/// mlir-translate or the ExecutionEngine: generated kernels (unless
/// `reference`), reference lowering of the rest, one-shot
/// bufferization across function boundaries, linalg to loops, then the
/// standard conversions to LLVM.
void buildLowerToLLVMPipeline(OpPassManager &pm,
                              const LowerToLLVMOptions &options);

/// Inserts the hfq dialect, the upstream dialects hfq pipelines produce or
/// consume, their bufferization models and LLVM IR translations.
void registerAllDialects(DialectRegistry &registry);

/// Registers hfq passes, the upstream passes its pipelines use, and the
/// named pipelines, for command-line tools (once; later calls do nothing).
void registerAllPasses();

} // namespace mlir::hfq

#endif // HFQ_PIPELINES_PIPELINES_H

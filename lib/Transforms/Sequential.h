//===- Sequential.h - Hessians from a file or layer by layer ----*- C++ -*-===//
//
// What GPTQ, SpQR and SparseGPT share: each selected linear is rewritten
// from its float weight and the Hessian H = 2 XᵀX / N of its inputs. The
// Hessians come from a statistics file (the float model's inputs), or from
// the calibration tokens run through the module's own layer functions (a
// LayerRunner) one layer at a time (Sequential::layers): one run of a layer
// on the outputs of the rewritten layers below gives the Hessians of all
// its linears, they are rewritten, and the rewritten layer's outputs feed
// the next. With Sequential::linears the linears reading one input (q/k/v,
// o, gate/up, down: the groups the IR gives) are in addition rewritten in
// program order, each group from the inputs the already rewritten groups
// before it produce. Dequantized weights replace the float ones for
// everything after them. Internal to lib/Transforms.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_LIB_TRANSFORMS_SEQUENTIAL_H
#define HFQ_LIB_TRANSFORMS_SEQUENTIAL_H

#include "LinearWeights.h"

#include "hfq/IO/Statistics.h"
#include "hfq/Transforms/Passes.h"

namespace mlir::hfq::detail {

/// Rewrites one linear (HF name `name`, float weight [rows, cols]) given
/// its Hessian [cols, cols].
using HessianRewriteFn = llvm::function_ref<llvm::Expected<Quantized>(
    const std::string &name, llvm::ArrayRef<float> w, int64_t rows,
    int64_t cols, llvm::ArrayRef<double> h)>;

struct HessianSource {
  /// The statistics file (hfq calibrate).
  const io::Statistics *stats = nullptr;
  Sequential sequential = Sequential::none;
};

/// rewriteLinearWeights with each linear's Hessian from `source`; `method`
/// names the pass in reports and errors.
LogicalResult rewriteWithHessians(ModuleOp module,
                                  const LinearSelection &selection,
                                  llvm::StringRef method, bool report,
                                  const HessianSource &source,
                                  HessianRewriteFn rewrite,
                                  llvm::StringRef verb = "quantized");

} // namespace mlir::hfq::detail

#endif // HFQ_LIB_TRANSFORMS_SEQUENTIAL_H

//===- Sequential.h - Hessians from a file or layer by layer ----*- C++ -*-===//
//
// What GPTQ, SpQR and SparseGPT share: each selected linear is rewritten
// from its float weight and the Hessian H = 2 XᵀX / N of its inputs. The
// Hessians come from a statistics file (the float model's inputs), or, with
// `trueSequential`, from the calibration tokens run through the module's
// own layer functions (a LayerRunner) one layer at a time: within a layer
// the linears reading one input (q/k/v, o, gate/up, down: the groups the IR
// gives) are rewritten in program order with the Hessian of the inputs the
// already rewritten linears produce, their dequantized weights replace the
// float ones for everything after them, and the rewritten layer's outputs
// feed the next. Internal to lib/Transforms.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_LIB_TRANSFORMS_SEQUENTIAL_H
#define HFQ_LIB_TRANSFORMS_SEQUENTIAL_H

#include "LinearWeights.h"

#include "hfq/IO/Statistics.h"

namespace mlir::hfq::detail {

/// Rewrites one linear (HF name `name`, float weight [rows, cols]) given
/// its Hessian [cols, cols].
using HessianRewriteFn = llvm::function_ref<llvm::Expected<Quantized>(
    const std::string &name, llvm::ArrayRef<float> w, int64_t rows,
    int64_t cols, llvm::ArrayRef<double> h)>;

struct HessianSource {
  /// The statistics file (hfq calibrate).
  const io::Statistics *stats = nullptr;
  bool trueSequential = false;
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

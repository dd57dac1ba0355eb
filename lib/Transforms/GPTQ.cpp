//===- GPTQ.cpp - the hfq-gptq pass -----------------------------*- C++ -*-===//
//
// Runs numerics::quantizeGPTQ on each selected linear with its Hessian from
// the calibration statistics or, sequential, from the model's own
// layer functions run on the already quantized layers (Sequential.h); the
// parts replace the float weight through the shared LinearWeights
// machinery.
//
//===----------------------------------------------------------------------===//

#include "Sequential.h"

#include "hfq/Numerics/GPTQ.h"
#include "hfq/Transforms/Passes.h"

#include "llvm/Support/FormatVariadic.h"

namespace mlir::hfq {
#define GEN_PASS_DEF_GPTQ
#include "hfq/Transforms/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;
namespace nx = mlir::hfq::numerics;

namespace {

struct GPTQPass : mlir::hfq::impl::GPTQBase<GPTQPass> {
  using GPTQBase::GPTQBase;

  using QuantizeOneFn = llvm::function_ref<llvm::Expected<Quantized>(
      const std::string &name, llvm::ArrayRef<float> w, int64_t rows,
      int64_t cols, llvm::ArrayRef<double> h)>;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (stats.empty()) {
      module.emitError() << "hfq-gptq needs stats=<file> (from hfq calibrate)";
      return signalPassFailure();
    }
    if (bits < 2 || bits > 8) {
      module.emitError() << "bits = " << unsigned(bits) << " is outside 2..8";
      return signalPassFailure();
    }
    if (groupSize < 0 || blockSize <= 0 || !(damp > 0)) {
      module.emitError() << "group-size must be >= 0, block-size and damp > 0";
      return signalPassFailure();
    }
    LinearSelection selection;
    if (failed(selection.init(module, include, exclude)))
      return signalPassFailure();
    auto file = io::Statistics::open(stats);
    if (!file) {
      module.emitError() << llvm::toString(file.takeError());
      return signalPassFailure();
    }

    nx::GPTQOptions options;
    options.scheme.bits = bits;
    options.scheme.granularity = groupSize ? nx::AffineScheme::Granularity::Group
                                           : nx::AffineScheme::Granularity::Channel;
    options.scheme.groupSize = groupSize;
    options.scheme.symmetric = symmetric;
    options.scheme.clip.enabled = mseClip;
    options.scheme.scaleType = scaleType;
    options.percDamp = damp;
    options.blockSize = blockSize;
    options.actOrder = actOrder;
    options.staticGroups = staticGroups;
    const bool withGIdx = actOrder && groupSize && !staticGroups;
    auto enc = AffineEncodingAttr::get(
        &getContext(), bits, /*codeType=*/FloatType(),
        groupSize ? Granularity::group : Granularity::channel, 1,
        int64_t(groupSize),
        symmetric ? ZeroPoint::symmetric : ZeroPoint::integer, withGIdx, 8,
        PackOrder::lsb_first, scaleStorageAttrType(&getContext(), scaleType),
        /*scaleEncoding=*/{}, /*zeroEncoding=*/{}, packZeros && !symmetric);

    // One linear: GPTQ with Hessian h; the dequantized weight is what the
    // sequential forward runs on.
    auto quantizeOne = [&](const std::string &name, llvm::ArrayRef<float> w,
                           int64_t rows, int64_t cols,
                           llvm::ArrayRef<double> h) -> llvm::Expected<Quantized> {
      auto r = nx::quantizeGPTQ(w, rows, cols, h, options);
      if (!r)
        return r.takeError();
      if (report && (r->percDamp != damp || r->deadColumns))
        llvm::errs() << llvm::formatv(
            "  {0}: dampening {1} x mean(diag H), {2} dead inputs\n", name,
            r->percDamp, r->deadColumns);
      return affineParts(enc, r->q, options.scheme, false, r->gIdx,
                         nx::dequantizeGPTQ(*r, options.scheme));
    };

    HessianSource source{&*file, sequential};
    if (failed(rewriteWithHessians(module, selection, "gptq", report, source,
                                   quantizeOne)))
      return signalPassFailure();

    OpBuilder b(&getContext());
    module->setAttr(
        "hfq.quantization",
        b.getDictionaryAttr(
            {b.getNamedAttr("method", b.getStringAttr("gptq")),
             b.getNamedAttr("bits", b.getI64IntegerAttr(bits)),
             b.getNamedAttr("group_size", b.getI64IntegerAttr(groupSize)),
             b.getNamedAttr("sym", b.getBoolAttr(symmetric)),
             b.getNamedAttr("desc_act", b.getBoolAttr(actOrder)),
             b.getNamedAttr("static_groups", b.getBoolAttr(staticGroups)),
             b.getNamedAttr("damp_percent", b.getF64FloatAttr(damp)),
             b.getNamedAttr("block_size", b.getI64IntegerAttr(blockSize)),
             b.getNamedAttr("mse_clip", b.getBoolAttr(mseClip)),
             b.getNamedAttr("sequential",
                            b.getStringAttr(stringify(sequential)))}));
  }
};

} // namespace

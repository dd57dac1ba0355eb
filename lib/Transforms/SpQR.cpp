//===- SpQR.cpp - the hfq-spqr pass -----------------------------*- C++ -*-===//
//
// Reads each selected linear's Hessian from the calibration statistics, runs
// numerics::quantizeSpQR and stores the result as a #hfq.spqr weight (an
// #hfq.affine base with #hfq.affine-quantized statistics, CSR outliers); with
// `report`, every linear's outlier rate goes to stderr.
//
//===----------------------------------------------------------------------===//

#include "Sequential.h"

#include "hfq/Numerics/SpQR.h"
#include "hfq/Transforms/Passes.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace mlir::hfq {
#define GEN_PASS_DEF_SPQR
#include "hfq/Transforms/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;
namespace nx = mlir::hfq::numerics;

namespace {

/// The #hfq.spqr encoding of SpQR's result: an #hfq.affine base (float
/// zero points per row and group) whose scales and zeros are #hfq.affine
/// codes along the output rows (axis 0, runs of statsGroupSize), under CSR
/// outliers.
SpQREncodingAttr spqrEncoding(MLIRContext *ctx, const nx::SpQROptions &o,
                              int64_t outliers) {
  auto level2 = [&](unsigned bits) -> EncodingAttrInterface {
    return AffineEncodingAttr::get(
        ctx, bits, /*codeType=*/FloatType(), Granularity::group, /*axis=*/0,
        o.statsGroupSize, ZeroPoint::float_, false, 8, PackOrder::lsb_first,
        /*scaleType=*/FloatType(), /*scaleEncoding=*/{}, /*zeroEncoding=*/{},
        false);
  };
  auto base = AffineEncodingAttr::get(
      ctx, o.bits, /*codeType=*/FloatType(), Granularity::group, /*axis=*/1,
      o.groupSize, ZeroPoint::float_, o.actOrder, 8, PackOrder::lsb_first,
      /*scaleType=*/FloatType(), level2(o.scaleBits), level2(o.zeroBits),
      false);
  return SpQREncodingAttr::get(ctx, base, outliers);
}

llvm::Expected<Quantized> spqrParts(MLIRContext *ctx, const nx::SpQRResult &r,
                                    const nx::SpQROptions &o) {
  auto enc = spqrEncoding(ctx, o, int64_t(r.outlierCols.size()));
  SmallVector<RankedTensorType> types =
      enc.getPartTypes({r.rows, r.cols}, Float32Type::get(ctx));
  Quantized out;
  out.encoding = enc;
  auto packed = [&](llvm::ArrayRef<uint8_t> codes, int64_t cols, unsigned bits,
                    RankedTensorType type) -> llvm::Error {
    auto p = packedCodes(codes, cols, bits, /*msbFirst=*/false);
    if (!p)
      return p.takeError();
    out.parts.push_back({type, std::move(*p)});
    return llvm::Error::success();
  };
  if (llvm::Error e = packed(r.codes, r.cols, o.bits, types[0]))
    return std::move(e);
  // numerics keeps the statistics [groups, rows] and [groups, runs]; the
  // affine layout is the weight's, [rows, groups] and [runs, groups].
  const int64_t groups = r.cols / o.groupSize;
  const int64_t runs = r.rows / o.statsGroupSize;
  unsigned at = 1;
  for (auto [stats, bits] :
       {std::pair(&r.scales, o.scaleBits), std::pair(&r.zeros, o.zeroBits)}) {
    if (llvm::Error e =
            packed(transposed<uint8_t>(stats->codes, groups, r.rows), groups,
                   bits, types[at]))
      return std::move(e);
    out.parts.push_back({types[at + 1], bytesOf<float>(transposed<float>(
                                            stats->scales, groups, runs))});
    out.parts.push_back({types[at + 2], bytesOf<float>(transposed<float>(
                                            stats->zeros, groups, runs))});
    at += 3;
  }
  if (o.actOrder)
    out.parts.push_back({types[at++], bytesOf<int32_t>(r.gIdx)});
  out.parts.push_back({types[at++], bytesOf<int32_t>(r.rowPtr)});
  out.parts.push_back({types[at++], bytesOf<int32_t>(r.outlierCols)});
  out.parts.push_back({types[at], bytesOf<uint16_t>(r.outlierValues)});
  out.dequantized = nx::dequantizeSpQR(r, o);
  return out;
}

struct SpQRPass : mlir::hfq::impl::SpQRBase<SpQRPass> {
  using SpQRBase::SpQRBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (stats.empty()) {
      module.emitError() << "hfq-spqr needs stats=<file> (from hfq calibrate)";
      return signalPassFailure();
    }
    nx::SpQROptions o;
    o.bits = bits;
    o.groupSize = groupSize;
    o.scaleBits = scaleBits;
    o.zeroBits = zeroBits;
    o.statsGroupSize = statsGroupSize;
    o.outlierThreshold = outlierThreshold < 0
                             ? std::numeric_limits<double>::infinity()
                             : double(outlierThreshold);
    o.percDamp = damp;
    o.blockSize = blockSize;
    o.actOrder = actOrder;
    o.simplifiedOutliers = simplifiedOutliers;
    if (!(damp > 0)) {
      module.emitError() << "damp must be > 0";
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
    int64_t totalOutliers = 0, totalWeights = 0;
    HessianSource source{&*file, sequential};
    if (failed(rewriteWithHessians(
            module, selection, "spqr", report, source,
            [&](const std::string &name, llvm::ArrayRef<float> w, int64_t rows,
                int64_t cols,
                llvm::ArrayRef<double> h) -> llvm::Expected<Quantized> {
              auto r = nx::quantizeSpQR(w, rows, cols, h, o);
              if (!r)
                return r.takeError();
              const int64_t n = int64_t(r->outlierCols.size());
              totalOutliers += n;
              totalWeights += rows * cols;
              if (report)
                llvm::errs() << llvm::formatv(
                    "  {0}: {1} outliers ({2:F3}% of weights), dampening {3} "
                    "x mean(diag H), {4} dead inputs\n",
                    name, n, 100.0 * double(n) / double(rows * cols),
                    r->percDamp, r->deadColumns);
              return spqrParts(&getContext(), *r, o);
            })))
      return signalPassFailure();
    if (report && totalWeights)
      llvm::errs() << llvm::formatv("spqr: {0} outliers in {1} weights "
                                    "({2:F3}%)\n",
                                    totalOutliers, totalWeights,
                                    100.0 * double(totalOutliers) /
                                        double(totalWeights));

    OpBuilder b(&getContext());
    module->setAttr(
        "hfq.quantization",
        b.getDictionaryAttr(
            {b.getNamedAttr("method", b.getStringAttr("spqr")),
             b.getNamedAttr("bits", b.getI64IntegerAttr(bits)),
             b.getNamedAttr("group_size", b.getI64IntegerAttr(groupSize)),
             b.getNamedAttr("qq_scale_bits", b.getI64IntegerAttr(scaleBits)),
             b.getNamedAttr("qq_zero_bits", b.getI64IntegerAttr(zeroBits)),
             b.getNamedAttr("qq_groupsize",
                            b.getI64IntegerAttr(statsGroupSize)),
             b.getNamedAttr("outlier_threshold",
                            b.getF64FloatAttr(outlierThreshold)),
             b.getNamedAttr("damp_percent", b.getF64FloatAttr(damp)),
             b.getNamedAttr("act_order", b.getBoolAttr(actOrder)),
             b.getNamedAttr("sequential",
                            b.getStringAttr(stringify(sequential))),
             b.getNamedAttr("outliers", b.getI64IntegerAttr(totalOutliers))}));
  }
};

} // namespace

//===- QuantizeLinears.cpp - calibration-free weight quantization -*- C++ -*-===//
//
// Evaluates the quantizer of the chosen method on each selected linear's
// weight (numerics library: the same rules the dialect documents and the
// reference lowering implements) and puts the parts into the IR as
// constants feeding `hfq.assemble`. See Passes.td for the options.
//
//===----------------------------------------------------------------------===//

#include "LinearWeights.h"

#include "hfq/Numerics/Affine.h"
#include "hfq/Numerics/Codebooks.h"
#include "hfq/Transforms/Passes.h"


#include <cmath>

namespace mlir::hfq {
#define GEN_PASS_DEF_QUANTIZELINEARS
#include "hfq/Transforms/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;
namespace nx = mlir::hfq::numerics;

namespace {

struct QuantizeLinearsPass
    : mlir::hfq::impl::QuantizeLinearsBase<QuantizeLinearsPass> {
  using QuantizeLinearsBase::QuantizeLinearsBase;

  LinearSelection selection;

  LogicalResult validateOptions(ModuleOp module) {
    if ((method == QuantizeMethod::rtn || method == QuantizeMethod::hqq) &&
        (bits < 2 || bits > 8))
      return module.emitError() << "bits = " << unsigned(bits) << " is outside 2..8";
    if (groupSize < -1)
      return module.emitError() << "group-size must be -1 (per tensor), 0 (per "
                                   "channel) or positive, got "
                                << int64_t(groupSize);
    if (method == QuantizeMethod::hqq && (axis < 0 || axis > 1))
      return module.emitError() << "axis must be 0 or 1, got " << int64_t(axis);
    if (method == QuantizeMethod::hqq && groupSize == -1)
      return module.emitError() << "hqq quantizes per channel or per group, "
                                   "not per tensor";
    if ((method == QuantizeMethod::nf4 || method == QuantizeMethod::fp4) &&
        (blockSize < 32 || blockSize > 4096))
      return module.emitError() << "block-size must be in 32..4096, got "
                                << int64_t(blockSize);
    if (doubleQuant && doubleQuantBlock <= 0)
      return module.emitError() << "double-quant-block must be positive";
    if (method == QuantizeMethod::int8 &&
        (!(threshold >= 0.0) || !std::isfinite(threshold)))
      return module.emitError() << "threshold must be finite and >= 0";
    if (fixedBlock() && groupSize != 0)
      return module.emitError()
             << stringify(method) << " has blocks of " << fixedBlock()
             << " input columns by definition; group-size cannot be set";
    return selection.init(module, include, exclude);
  }

  /// The block size the MX and NV formats define (0 for the others).
  int64_t fixedBlock() const {
    return method == QuantizeMethod::mxfp4 || method == QuantizeMethod::mxfp8
               ? 32
           : method == QuantizeMethod::nvfp4 ? 16
                                             : 0;
  }

  bool floatCodes() const {
    return method == QuantizeMethod::fp8 || fixedBlock();
  }

  /// fp8, mxfp4, mxfp8, nvfp4: float codes with plain, E8M0 or nested E4M3
  /// scales (numerics::FloatCodeScheme).
  llvm::Expected<Quantized> quantizeFloat(llvm::ArrayRef<float> w, int64_t rows,
                                          int64_t cols) {
    MLIRContext *ctx = &getContext();
    using Scales = nx::FloatCodeScheme::Scales;
    nx::FloatCodeScheme scheme;
    bool fp4 =
        method == QuantizeMethod::mxfp4 || method == QuantizeMethod::nvfp4;
    scheme.code = fp4 ? nx::MiniFloat::E2M1 : nx::MiniFloat::E4M3;
    scheme.scales = method == QuantizeMethod::fp8     ? Scales::Float
                    : method == QuantizeMethod::nvfp4 ? Scales::E4M3
                                                      : Scales::E8M0;
    scheme.scaleType = scaleType;
    int64_t group = fixedBlock() ? fixedBlock() : int64_t(groupSize);
    scheme.groupSize = group;
    scheme.granularity = group == -1  ? nx::AffineScheme::Granularity::Tensor
                         : group == 0 ? nx::AffineScheme::Granularity::Channel
                                      : nx::AffineScheme::Granularity::Group;
    auto q = nx::quantizeFloatCodes(w, rows, cols, scheme);
    if (!q)
      return q.takeError();

    FloatType e4m3 = Float8E4M3FNType::get(ctx);
    FloatType codeType = fp4 ? FloatType(Float4E2M1FNType::get(ctx)) : e4m3;
    FloatType storedScale;
    EncodingAttrInterface scaleEncoding;
    if (scheme.scales == Scales::Float)
      storedScale = scaleStorageAttrType(ctx, scaleType);
    else if (scheme.scales == Scales::E8M0)
      storedScale = Float8E8M0FNUType::get(ctx);
    else
      scaleEncoding = AffineEncodingAttr::get(
          ctx, 8, e4m3, Granularity::tensor, 1, 0, ZeroPoint::symmetric, false,
          8, PackOrder::lsb_first, FloatType(), {}, {}, false);
    auto granularity = group == -1  ? Granularity::tensor
                       : group == 0 ? Granularity::channel
                                    : Granularity::group;
    auto enc = AffineEncodingAttr::get(
        ctx, codeType.getWidth(), codeType, granularity, 1,
        group > 0 ? group : 0, ZeroPoint::symmetric, false, 8,
        PackOrder::lsb_first, storedScale, scaleEncoding,
        /*zeroEncoding=*/{}, false);
    SmallVector<RankedTensorType> types =
        enc.getPartTypes({rows, cols}, Float32Type::get(ctx));
    Quantized out;
    out.encoding = enc;
    auto packed = packedCodes(q->codes, cols, codeType.getWidth(), false);
    if (!packed)
      return packed.takeError();
    out.parts.push_back({types[0], std::move(*packed)});
    if (scheme.scales == Scales::Float) {
      out.parts.push_back({types[1], nx::scaleBytes(q->scales, scaleType)});
    } else {
      out.parts.push_back({types[1], bytesOf<uint8_t>(q->scaleCodes)});
      if (scheme.scales == Scales::E4M3)
        out.parts.push_back({types[2], bytesOf<float>({q->tensorScale})});
    }
    out.dequantized = nx::dequantize(*q, scheme);
    return out;
  }

  llvm::Expected<Quantized> quantize(llvm::ArrayRef<float> w, int64_t rows,
                                     int64_t cols) {
    MLIRContext *ctx = &getContext();
    Type f32 = Float32Type::get(ctx);
    if (floatCodes())
      return quantizeFloat(w, rows, cols);
    if (method == QuantizeMethod::nf4 || method == QuantizeMethod::fp4) {
      bool nf4 = method == QuantizeMethod::nf4;
      int64_t dq = doubleQuant ? int64_t(doubleQuantBlock) : 0;
      llvm::ArrayRef<float> table = nf4 ? nx::nf4Table() : nx::fp4Table();
      auto q = nx::quantizeCodebook(w, table, blockSize, dq);
      if (!q)
        return q.takeError();
      // Double quantization: the absmax values in bitsandbytes' dynamic map,
      // blockwise, around their mean.
      EncodingAttrInterface absmaxEncoding;
      if (dq)
        absmaxEncoding = CodebookEncodingAttr::get(
            ctx, CodebookKind::dynamic8, DenseF32ArrayAttr(), dq, {},
            /*offset=*/true, 8, PackOrder::msb_first);
      auto enc = CodebookEncodingAttr::get(
          ctx, nf4 ? CodebookKind::nf4 : CodebookKind::fp4, DenseF32ArrayAttr(),
          blockSize, absmaxEncoding, /*offset=*/false, 8, PackOrder::msb_first);
      SmallVector<RankedTensorType> types =
          enc.getPartTypes({rows, cols}, cast<FloatType>(f32));
      Quantized out;
      out.encoding = enc;
      auto packed = packedCodes(q->codes, cols, 4, /*msbFirst=*/true);
      if (!packed)
        return packed.takeError();
      out.parts.push_back({types[0], std::move(*packed)});
      if (dq) {
        out.parts.push_back({types[1], bytesOf<uint8_t>(q->absmaxCodes)});
        out.parts.push_back({types[2], bytesOf<float>(q->absmax2)});
        out.parts.push_back({types[3], bytesOf<float>({q->offset})});
      } else {
        out.parts.push_back({types[1], bytesOf<float>(q->absmax)});
      }
      out.dequantized = nx::dequantizeCodebook(*q, table, blockSize, dq);
      return out;
    }

    nx::AffineScheme scheme;
    scheme.bits = method == QuantizeMethod::int8 ? 8 : bits;
    scheme.granularity = groupSize == -1  ? nx::AffineScheme::Granularity::Tensor
                         : groupSize == 0 ? nx::AffineScheme::Granularity::Channel
                                          : nx::AffineScheme::Granularity::Group;
    scheme.groupSize = groupSize;
    auto granularity = groupSize == -1  ? Granularity::tensor
                       : groupSize == 0 ? Granularity::channel
                                        : Granularity::group;
    if (method == QuantizeMethod::int8) {
      scheme.granularity = nx::AffineScheme::Granularity::Channel;
      scheme.symmetric = true;
      auto q = nx::quantizeInt8Rowwise(w, rows, cols);
      if (!q)
        return q.takeError();
      // bitsandbytes keeps LLM.int8's row scales (SCB) in float32.
      auto enc = AffineEncodingAttr::get(
          ctx, 8, /*codeType=*/FloatType(), Granularity::channel, 1, 0,
          ZeroPoint::symmetric, false, 8, PackOrder::lsb_first, FloatType(),
          /*scaleEncoding=*/{}, /*zeroEncoding=*/{}, false);
      return affineParts(enc, *q, scheme, false);
    }
    FloatType storedScale = scaleStorageAttrType(ctx, scaleType);
    scheme.scaleType = scaleType;
    if (method == QuantizeMethod::rtn) {
      scheme.symmetric = symmetric;
      scheme.clip.enabled = mseClip;
      auto q = nx::quantizeRTN(w, rows, cols, scheme);
      if (!q)
        return q.takeError();
      // Per tensor: any axis; the scales are [1, 1] either way.
      auto enc = AffineEncodingAttr::get(
          ctx, bits, /*codeType=*/FloatType(), granularity, 1,
          groupSize > 0 ? int64_t(groupSize) : 0,
          symmetric ? ZeroPoint::symmetric : ZeroPoint::integer, false, 8,
          PackOrder::lsb_first, storedScale, /*scaleEncoding=*/{},
          /*zeroEncoding=*/{}, packZeros && !symmetric);
      return affineParts(enc, *q, scheme, false);
    }
    // hqq
    scheme.floatZero = true;
    nx::HQQOptions options;
    options.lpNorm = float(hqqLpNorm);
    options.beta = float(hqqBeta);
    options.kappa = float(hqqKappa);
    options.iters = int(hqqIters);
    options.roundZero = hqqRoundZero;
    // HQQ's axis 0 groups output rows: quantize the transpose by columns.
    bool byRows = axis == 0;
    std::vector<float> src =
        byRows ? transposed<float>(w, rows, cols) : std::vector<float>(w);
    auto q = byRows ? nx::quantizeHQQ(src, cols, rows, scheme, options)
                    : nx::quantizeHQQ(src, rows, cols, scheme, options);
    if (!q)
      return q.takeError();
    // Per channel along axis 0 means one scale per input column.
    auto enc = AffineEncodingAttr::get(
        ctx, bits, /*codeType=*/FloatType(), granularity, byRows ? 0 : 1,
        groupSize > 0 ? int64_t(groupSize) : 0, ZeroPoint::float_, false, 8,
        PackOrder::lsb_first, storedScale, /*scaleEncoding=*/{},
        /*zeroEncoding=*/{}, false);
    return affineParts(enc, *q, scheme, byRows);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(validateOptions(module)) ||
        failed(rewriteLinearWeights(
            module, selection, stringify(method), report,
            [&](LinearOp, llvm::ArrayRef<float> w, int64_t rows,
                int64_t cols) -> llvm::Expected<Quantized> {
              auto q = quantize(w, rows, cols);
              if (q && method == QuantizeMethod::int8)
                q->outlierThreshold = double(threshold);
              return q;
            })))
      return signalPassFailure();

    OpBuilder b(module.getContext());
    SmallVector<NamedAttribute> settings = {
        b.getNamedAttr("method", b.getStringAttr(stringify(method)))};
    if (method == QuantizeMethod::rtn || method == QuantizeMethod::hqq) {
      settings.push_back(b.getNamedAttr("bits", b.getI64IntegerAttr(bits)));
      settings.push_back(
          b.getNamedAttr("group_size", b.getI64IntegerAttr(groupSize)));
    }
    if (method == QuantizeMethod::rtn) {
      settings.push_back(b.getNamedAttr("sym", b.getBoolAttr(symmetric)));
      settings.push_back(b.getNamedAttr("mse_clip", b.getBoolAttr(mseClip)));
    }
    if (method == QuantizeMethod::nf4 || method == QuantizeMethod::fp4) {
      settings.push_back(
          b.getNamedAttr("block_size", b.getI64IntegerAttr(blockSize)));
      settings.push_back(b.getNamedAttr(
          "double_quant_block",
          b.getI64IntegerAttr(doubleQuant ? int64_t(doubleQuantBlock) : 0)));
    }
    if (method == QuantizeMethod::int8)
      settings.push_back(
          b.getNamedAttr("threshold", b.getF64FloatAttr(threshold)));
    if (method == QuantizeMethod::fp8)
      settings.push_back(
          b.getNamedAttr("group_size", b.getI64IntegerAttr(groupSize)));
    if (method == QuantizeMethod::hqq) {
      settings.push_back(b.getNamedAttr("axis", b.getI64IntegerAttr(axis)));
      settings.push_back(
          b.getNamedAttr("iters", b.getI64IntegerAttr(hqqIters)));
      settings.push_back(
          b.getNamedAttr("lp_norm", b.getF64FloatAttr(hqqLpNorm)));
      settings.push_back(b.getNamedAttr("beta", b.getF64FloatAttr(hqqBeta)));
      settings.push_back(
          b.getNamedAttr("kappa", b.getF64FloatAttr(hqqKappa)));
      settings.push_back(
          b.getNamedAttr("round_zero", b.getBoolAttr(hqqRoundZero)));
    }
    module->setAttr("hfq.quantization", b.getDictionaryAttr(settings));
  }
};

} // namespace

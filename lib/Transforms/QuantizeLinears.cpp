//===- QuantizeLinears.cpp - calibration-free weight quantization -*- C++ -*-===//
//
// Evaluates the quantizer of the chosen method on each selected linear's
// weight (numerics library: the same rules the dialect documents and the
// reference lowering implements) and puts the parts into the IR as
// constants feeding `hfq.assemble`. See Passes.td for the options.
//
//===----------------------------------------------------------------------===//

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "hfq/IO/Checkpoint.h"
#include "hfq/Numerics/Affine.h"
#include "hfq/Numerics/Codebooks.h"
#include "hfq/Numerics/Packing.h"
#include "hfq/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Regex.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

namespace mlir::hfq {
#define GEN_PASS_DEF_QUANTIZELINEARS
#include "hfq/Transforms/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;
namespace nx = mlir::hfq::numerics;

namespace {

/// Where a linear's float weight comes from.
struct WeightSource {
  /// A constant in the IR...
  DenseElementsAttr constant;
  /// ... or this checkpoint tensor.
  std::string checkpointName;
};

/// Looks through the importer's f16/bf16 widening (a linalg.generic whose
/// body is one arith.extf) to the constant or hfq.weight behind `w`.
std::optional<WeightSource> traceWeight(Value w) {
  Operation *def = w.getDefiningOp();
  if (auto generic = dyn_cast_or_null<linalg::GenericOp>(def)) {
    Block &body = generic.getRegion().front();
    if (generic.getNumDpsInputs() != 1 || body.getOperations().size() != 2 ||
        !isa<arith::ExtFOp>(body.front()))
      return std::nullopt;
    def = generic.getDpsInputOperand(0)->get().getDefiningOp();
    if (!isa_and_nonnull<WeightOp>(def))
      return std::nullopt;
  }
  if (auto weight = dyn_cast_or_null<WeightOp>(def))
    return WeightSource{{}, weight.getName().str()};
  if (auto constant = dyn_cast_or_null<arith::ConstantOp>(def))
    if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue()))
      if (isa<FloatType>(dense.getElementType()))
        return WeightSource{dense, ""};
  return std::nullopt;
}

std::vector<float> floatsOf(DenseElementsAttr attr) {
  std::vector<float> out;
  out.reserve(attr.getNumElements());
  for (APFloat v : attr.getValues<APFloat>()) {
    bool lost;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    out.push_back(v.convertToFloat());
  }
  return out;
}

/// One storage part: its type and little-endian bytes.
struct Part {
  RankedTensorType type;
  std::vector<char> bytes;
};

template <typename T>
std::vector<char> bytesOf(llvm::ArrayRef<T> values) {
  std::vector<char> out(values.size() * sizeof(T));
  if (!values.empty())
    std::memcpy(out.data(), values.data(), out.size());
  return out;
}

/// Codes packed into 8-bit containers, as the encoding's first part.
llvm::Expected<std::vector<char>> packedCodes(llvm::ArrayRef<uint8_t> codes,
                                              unsigned bits,
                                              nx::BitOrder order) {
  auto packed = nx::packCodes(codes, bits, 8, order);
  if (!packed)
    return packed.takeError();
  std::vector<char> out(packed->size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = char(uint8_t((*packed)[i]));
  return out;
}

/// [rows, cols] -> [cols, rows].
template <typename T>
std::vector<T> transposed(llvm::ArrayRef<T> m, int64_t rows, int64_t cols) {
  std::vector<T> out(m.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[c * rows + r] = m[r * cols + c];
  return out;
}

struct Quantized {
  Attribute encoding;
  std::vector<Part> parts;
  /// The dequantized weight, for the error report.
  std::vector<float> dequantized;
};

struct QuantizeLinearsPass
    : mlir::hfq::impl::QuantizeLinearsBase<QuantizeLinearsPass> {
  using QuantizeLinearsBase::QuantizeLinearsBase;

  // Shared so the pass stays copyable (pass managers clone passes).
  std::shared_ptr<io::Checkpoint> checkpoint;
  std::vector<std::shared_ptr<llvm::Regex>> includes, excludes;

  LogicalResult validateOptions(ModuleOp module) {
    static const char *methods[] = {"rtn", "nf4", "fp4", "int8", "hqq"};
    if (!llvm::is_contained(methods, method))
      return module.emitError() << "unknown method '" << method
                                << "' (expected rtn, nf4, fp4, int8 or hqq)";
    if ((method == "rtn" || method == "hqq") && (bits < 2 || bits > 8))
      return module.emitError() << "bits = " << unsigned(bits) << " is outside 2..8";
    if (groupSize < -1)
      return module.emitError() << "group-size must be -1 (per tensor), 0 (per "
                                   "channel) or positive, got "
                                << int64_t(groupSize);
    if (method == "hqq" && (axis < 0 || axis > 1))
      return module.emitError() << "axis must be 0 or 1, got " << int64_t(axis);
    if (method == "hqq" && groupSize == -1)
      return module.emitError() << "hqq quantizes per channel or per group, "
                                   "not per tensor";
    if ((method == "nf4" || method == "fp4") &&
        (blockSize < 32 || blockSize > 4096))
      return module.emitError() << "block-size must be in 32..4096, got "
                                << int64_t(blockSize);
    if (doubleQuant && doubleQuantBlock <= 0)
      return module.emitError() << "double-quant-block must be positive";
    if (method == "int8" && (!(threshold >= 0.0) || !std::isfinite(threshold)))
      return module.emitError() << "threshold must be finite and >= 0";
    for (auto [patterns, compiled] :
         {std::pair(&include, &includes), std::pair(&exclude, &excludes)})
      for (const std::string &p : *patterns) {
        auto re = std::make_shared<llvm::Regex>(p);
        std::string error;
        if (!re->isValid(error))
          return module.emitError() << "invalid pattern '" << p
                                    << "': " << error;
        compiled->push_back(std::move(re));
      }
    return success();
  }

  bool selected(llvm::StringRef name) const {
    auto any = [&](const std::vector<std::shared_ptr<llvm::Regex>> &res) {
      return llvm::any_of(res, [&](const std::shared_ptr<llvm::Regex> &r) {
        return r->match(name);
      });
    };
    if (any(excludes))
      return false;
    if (!includes.empty())
      return any(includes);
    return !name.contains("embed_tokens") && !name.contains("lm_head");
  }

  llvm::Expected<std::vector<float>> readWeight(ModuleOp module,
                                                const WeightSource &src) {
    if (src.constant)
      return floatsOf(src.constant);
    if (!checkpoint) {
      auto dir = module->getAttrOfType<StringAttr>("hfq.checkpoint");
      if (!dir)
        return llvm::createStringError(
            "weight '" + src.checkpointName +
            "' is a checkpoint tensor, but the module has no hfq.checkpoint "
            "directory");
      auto opened = io::Checkpoint::open(dir.getValue());
      if (!opened)
        return opened.takeError();
      checkpoint = std::make_shared<io::Checkpoint>(std::move(*opened));
    }
    const io::Checkpoint::Entry *e = checkpoint->find(src.checkpointName);
    if (!e)
      return llvm::createStringError("no checkpoint tensor '" +
                                     src.checkpointName + "'");
    return e->file->readFloat32(*e->info);
  }

  /// Affine parts from the numerics result (scales/zeros are [rows, groups]).
  llvm::Expected<Quantized> affineParts(AffineEncodingAttr enc,
                                        const nx::AffineQuantized &q,
                                        const nx::AffineScheme &scheme,
                                        bool transposeBack) {
    MLIRContext *ctx = &getContext();
    Quantized out;
    out.encoding = enc;
    std::vector<float> deq = nx::dequantize(q, scheme);
    std::vector<uint8_t> codes = q.codes;
    std::vector<float> scales = q.scales, floatZeros = q.floatZeros;
    std::vector<int32_t> zeros = q.zeros;
    int64_t rows = q.rows, cols = q.cols;
    int64_t groups = int64_t(scales.size()) / rows;
    if (transposeBack) {
      // Quantized as [in, out] with groups along out: back to [out, in].
      deq = transposed<float>(deq, rows, cols);
      codes = transposed<uint8_t>(codes, rows, cols);
      scales = transposed<float>(scales, rows, groups);
      if (!floatZeros.empty())
        floatZeros = transposed<float>(floatZeros, rows, groups);
      std::swap(rows, cols);
    }
    SmallVector<RankedTensorType> types =
        enc.getPartTypes({rows, cols}, Float32Type::get(ctx));
    auto packed = packedCodes(codes, enc.getBits(), nx::BitOrder::LsbFirst);
    if (!packed)
      return packed.takeError();
    out.parts.push_back({types[0], std::move(*packed)});
    out.parts.push_back({types[1], bytesOf<float>(scales)});
    if (enc.getZeroPoint() == ZeroPoint::float_)
      out.parts.push_back({types[2], bytesOf<float>(floatZeros)});
    else if (enc.getZeroPoint() == ZeroPoint::integer)
      out.parts.push_back({types[2], bytesOf<int32_t>(zeros)});
    out.dequantized = std::move(deq);
    return out;
  }

  llvm::Expected<Quantized> quantize(llvm::ArrayRef<float> w, int64_t rows,
                                     int64_t cols) {
    MLIRContext *ctx = &getContext();
    Type f32 = Float32Type::get(ctx);
    if (method == "nf4" || method == "fp4") {
      bool nf4 = method == "nf4";
      int64_t dq = doubleQuant ? int64_t(doubleQuantBlock) : 0;
      llvm::ArrayRef<float> table = nf4 ? nx::nf4Table() : nx::fp4Table();
      auto q = nx::quantizeCodebook(w, table, blockSize, dq);
      if (!q)
        return q.takeError();
      auto enc = CodebookEncodingAttr::get(
          ctx, nf4 ? CodebookKind::nf4 : CodebookKind::fp4,
          DenseF32ArrayAttr(), blockSize, dq, 8, PackOrder::msb_first);
      SmallVector<RankedTensorType> types =
          enc.getPartTypes({rows, cols}, cast<FloatType>(f32));
      Quantized out;
      out.encoding = enc;
      auto packed = packedCodes(q->codes, 4, nx::BitOrder::MsbFirst);
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
    scheme.bits = method == "int8" ? 8 : bits;
    scheme.granularity = groupSize == -1  ? nx::AffineScheme::Granularity::Tensor
                         : groupSize == 0 ? nx::AffineScheme::Granularity::Channel
                                          : nx::AffineScheme::Granularity::Group;
    scheme.groupSize = groupSize;
    auto granularity = groupSize == -1  ? Granularity::tensor
                       : groupSize == 0 ? Granularity::channel
                                        : Granularity::group;
    if (method == "int8") {
      scheme.granularity = nx::AffineScheme::Granularity::Channel;
      scheme.symmetric = true;
      auto q = nx::quantizeInt8Rowwise(w, rows, cols);
      if (!q)
        return q.takeError();
      auto enc = AffineEncodingAttr::get(ctx, 8, Granularity::channel, 1, 0,
                                         ZeroPoint::symmetric, false, 8,
                                         PackOrder::lsb_first);
      return affineParts(enc, *q, scheme, false);
    }
    if (method == "rtn") {
      scheme.symmetric = symmetric;
      scheme.clip.enabled = mseClip;
      auto q = nx::quantizeRTN(w, rows, cols, scheme);
      if (!q)
        return q.takeError();
      // Per tensor: any axis; the scales are [1, 1] either way.
      auto enc = AffineEncodingAttr::get(
          ctx, bits, granularity, 1, groupSize > 0 ? int64_t(groupSize) : 0,
          symmetric ? ZeroPoint::symmetric : ZeroPoint::integer, false, 8,
          PackOrder::lsb_first);
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
        ctx, bits, granularity, byRows ? 0 : 1,
        groupSize > 0 ? int64_t(groupSize) : 0, ZeroPoint::float_, false, 8,
        PackOrder::lsb_first);
    return affineParts(enc, *q, scheme, byRows);
  }

  Value constant(OpBuilder &b, Location loc, const Part &part, bool resource,
                 llvm::StringRef blobName) {
    ElementsAttr value;
    if (resource)
      value = DenseResourceElementsAttr::get(
          part.type, blobName,
          HeapAsmResourceBlob::allocateAndCopyWithAlign(part.bytes, 64));
    else
      value = DenseElementsAttr::getFromRawBuffer(part.type, part.bytes);
    return arith::ConstantOp::create(b, loc, cast<TypedAttr>(value));
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    checkpoint.reset();
    includes.clear();
    excludes.clear();
    if (failed(validateOptions(module)))
      return signalPassFailure();

    SmallVector<LinearOp> linears;
    module.walk([&](LinearOp op) {
      auto name = dyn_cast<NameLoc>(op.getLoc());
      if (isa<RankedTensorType>(op.getWeight().getType()) &&
          selected(name ? name.getName().strref() : ""))
        linears.push_back(op);
    });

    // One quantization per distinct source (weights used by several linears
    // are quantized once).
    llvm::DenseMap<Value, Value> done;
    for (LinearOp op : linears) {
      auto name = dyn_cast<NameLoc>(op.getLoc());
      std::string linearName =
          name ? name.getName().str() : std::string("<unnamed linear>");
      Value weight = op.getWeight();
      if (Value q = done.lookup(weight)) {
        op.getWeightMutable().assign(q);
        continue;
      }
      auto type = cast<RankedTensorType>(weight.getType());
      if (!type.getElementType().isF32() || !type.hasStaticShape()) {
        op.emitError() << "quantization needs a static f32 weight, got "
                       << type;
        return signalPassFailure();
      }
      std::optional<WeightSource> src = traceWeight(weight);
      if (!src) {
        op.emitWarning() << "weight is neither a constant nor a checkpoint "
                            "tensor; left in float";
        continue;
      }
      auto start = std::chrono::steady_clock::now();
      int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
      auto values = readWeight(module, *src);
      if (!values) {
        op.emitError() << llvm::toString(values.takeError());
        return signalPassFailure();
      }
      auto q = quantize(*values, rows, cols);
      if (!q) {
        op.emitError() << llvm::toString(q.takeError());
        return signalPassFailure();
      }

      OpBuilder b(op);
      auto qtype = QTensorType::get(
          &getContext(), type.getShape(), cast<FloatType>(type.getElementType()),
          cast<EncodingAttrInterface>(q->encoding));
      SmallVector<Value> parts;
      auto names = cast<EncodingAttrInterface>(q->encoding).getPartNames();
      std::string base = src->checkpointName.empty() ? linearName + ".weight"
                                                     : src->checkpointName;
      for (auto [part, partName] : llvm::zip(q->parts, names))
        parts.push_back(constant(b, op.getLoc(), part, src->constant == nullptr,
                                 base + "." + partName.str()));
      Value assembled = AssembleOp::create(b, op.getLoc(), qtype, parts);
      op.getWeightMutable().assign(assembled);
      if (method == "int8")
        op.setOutlierThresholdAttr(b.getF64FloatAttr(threshold));
      done[weight] = assembled;

      if (report) {
        double err = 0, ref = 0;
        for (size_t i = 0; i < values->size(); ++i) {
          double d = double(q->dequantized[i]) - (*values)[i];
          err += d * d;
          ref += double((*values)[i]) * (*values)[i];
        }
        double seconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
        llvm::errs() << llvm::formatv(
            "quantized {0} [{1}x{2}] {3}: rel_rmse {4:F5}, {5:F2} s\n",
            linearName, rows, cols, std::string(method),
            ref > 0 ? std::sqrt(err / ref) : std::sqrt(err), seconds);
      }
    }
    // The float originals (and the widening generics in front of them) are
    // dead now.
    for (auto &entry : done) {
      Operation *def = entry.first.getDefiningOp();
      while (def && def->use_empty() && isPure(def)) {
        Operation *next = nullptr;
        if (auto generic = dyn_cast<linalg::GenericOp>(def))
          next = generic.getDpsInputOperand(0)->get().getDefiningOp();
        def->erase();
        def = next;
      }
    }

    OpBuilder b(module.getContext());
    SmallVector<NamedAttribute> settings = {
        b.getNamedAttr("method", b.getStringAttr(method))};
    if (method == "rtn" || method == "hqq") {
      settings.push_back(b.getNamedAttr("bits", b.getI64IntegerAttr(bits)));
      settings.push_back(
          b.getNamedAttr("group_size", b.getI64IntegerAttr(groupSize)));
    }
    if (method == "rtn") {
      settings.push_back(b.getNamedAttr("sym", b.getBoolAttr(symmetric)));
      settings.push_back(b.getNamedAttr("mse_clip", b.getBoolAttr(mseClip)));
    }
    if (method == "nf4" || method == "fp4") {
      settings.push_back(
          b.getNamedAttr("block_size", b.getI64IntegerAttr(blockSize)));
      settings.push_back(b.getNamedAttr(
          "double_quant_block",
          b.getI64IntegerAttr(doubleQuant ? int64_t(doubleQuantBlock) : 0)));
    }
    if (method == "int8")
      settings.push_back(
          b.getNamedAttr("threshold", b.getF64FloatAttr(threshold)));
    if (method == "hqq") {
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

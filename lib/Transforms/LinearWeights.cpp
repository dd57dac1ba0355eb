//===- LinearWeights.cpp - rewriting linear weights into parts --*- C++ -*-===//

#include "LinearWeights.h"

#include "hfq/Numerics/Packing.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <cstring>
#include <cmath>

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;
namespace nx = mlir::hfq::numerics;

/// Where a linear's float weight comes from: a constant in the IR (dense,
/// or an f32 dense_resource an earlier pass produced), or the checkpoint
/// tensor `checkpointName`.
struct mlir::hfq::detail::WeightSource {
  ElementsAttr constant;
  std::string checkpointName;
};

bool mlir::hfq::detail::isFloatWidening(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!generic || generic.getNumDpsInputs() != 1)
    return false;
  Block &body = generic.getRegion().front();
  return body.getOperations().size() == 2 && isa<arith::ExtFOp>(body.front());
}

namespace {

/// Looks through the importer's f16/bf16 widening to the constant or
/// hfq.weight behind `w`.
std::optional<WeightSource> traceWeight(Value w) {
  Operation *def = w.getDefiningOp();
  if (isa_and_nonnull<linalg::GenericOp>(def)) {
    if (!isFloatWidening(def))
      return std::nullopt;
    def = cast<linalg::GenericOp>(def).getDpsInputOperand(0)->get().getDefiningOp();
    if (!isa_and_nonnull<WeightOp>(def))
      return std::nullopt;
  }
  if (auto weight = dyn_cast_or_null<WeightOp>(def))
    return WeightSource{{}, weight.getName().str()};
  if (auto constant = dyn_cast_or_null<arith::ConstantOp>(def)) {
    if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue()))
      if (isa<FloatType>(dense.getElementType()))
        return WeightSource{dense, ""};
    if (auto blob = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
      if (blob.getElementType().isF32() && blob.getRawHandle().getBlob())
        return WeightSource{blob, ""};
  }
  return std::nullopt;
}

std::vector<float> floatsOf(ElementsAttr elements) {
  if (auto blob = dyn_cast<DenseResourceElementsAttr>(elements)) {
    llvm::ArrayRef<char> data = blob.getRawHandle().getBlob()->getData();
    std::vector<float> out(data.size() / sizeof(float));
    std::memcpy(out.data(), data.data(), out.size() * sizeof(float));
    return out;
  }
  auto attr = cast<DenseElementsAttr>(elements);
  std::vector<float> out;
  out.reserve(attr.getNumElements());
  for (APFloat v : attr.getValues<APFloat>()) {
    bool lost;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    out.push_back(v.convertToFloat());
  }
  return out;
}


Value partConstant(OpBuilder &b, Location loc, const Part &part, bool resource,
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

} // namespace

FloatReader::FloatReader(ModuleOp module) : module(module) {}
FloatReader::~FloatReader() = default;

llvm::Expected<std::vector<float>>
FloatReader::read(const WeightSource &src) {
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
    checkpoint = std::make_unique<io::Checkpoint>(std::move(*opened));
  }
  const io::Checkpoint::Entry *e = checkpoint->find(src.checkpointName);
  if (!e)
    return llvm::createStringError("no checkpoint tensor '" +
                                   src.checkpointName + "'");
  return e->file->readFloat32(*e->info);
}

llvm::Expected<std::vector<float>> FloatReader::read(Value value) {
  std::optional<WeightSource> src = traceWeight(value);
  if (!src)
    return llvm::createStringError(
        "tensor is neither a constant nor a checkpoint tensor");
  return read(*src);
}

llvm::Expected<std::vector<char>>
mlir::hfq::detail::packedCodes(llvm::ArrayRef<uint8_t> codes, unsigned bits,
                               bool msbFirst) {
  auto packed = nx::packCodes(
      codes, bits, 8, msbFirst ? nx::BitOrder::MsbFirst : nx::BitOrder::LsbFirst);
  if (!packed)
    return packed.takeError();
  std::vector<char> out(packed->size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = char(uint8_t((*packed)[i]));
  return out;
}

llvm::Expected<Quantized> mlir::hfq::detail::affineParts(
    AffineEncodingAttr enc, const nx::AffineQuantized &q,
    const nx::AffineScheme &scheme, bool transposeBack,
    llvm::ArrayRef<int32_t> gIdx, std::vector<float> dequantized) {
  MLIRContext *ctx = enc.getContext();
  Quantized out;
  out.encoding = enc;
  std::vector<float> deq =
      dequantized.empty() ? nx::dequantize(q, scheme) : std::move(dequantized);
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
    if (!zeros.empty())
      zeros = transposed<int32_t>(zeros, rows, groups);
    std::swap(rows, cols);
  }
  SmallVector<RankedTensorType> types =
      enc.getPartTypes({rows, cols}, Float32Type::get(ctx));
  auto packed = packedCodes(codes, enc.getBits(),
                            enc.getOrder() == PackOrder::msb_first);
  if (!packed)
    return packed.takeError();
  out.parts.push_back({types[0], std::move(*packed)});
  out.parts.push_back({types[1], bytesOf<float>(scales)});
  if (enc.getZeroPoint() == ZeroPoint::float_)
    out.parts.push_back({types[2], bytesOf<float>(floatZeros)});
  else if (enc.getZeroPoint() != ZeroPoint::symmetric)
    out.parts.push_back({types[2], bytesOf<int32_t>(zeros)});
  if (enc.getActOrder())
    out.parts.push_back({types.back(), bytesOf<int32_t>(gIdx)});
  out.dequantized = std::move(deq);
  return out;
}


namespace {
/// Erases `def` and the pure producers behind it that became unused.
void eraseDeadChain(Operation *def) {
  while (def && def->use_empty() && isPure(def)) {
    Operation *next = nullptr;
    if (auto generic = dyn_cast<linalg::GenericOp>(def))
      next = generic.getDpsInputOperand(0)->get().getDefiningOp();
    def->erase();
    def = next;
  }
}
} // namespace

Value mlir::hfq::detail::replaceWithFloatConstant(Value old,
                                                  llvm::ArrayRef<float> values,
                                                  llvm::StringRef blobName,
                                                  llvm::StringRef tensorName) {
  auto oldType = cast<RankedTensorType>(old.getType());
  auto type = RankedTensorType::get(oldType.getShape(),
                                    Float32Type::get(old.getContext()));
  OpBuilder b(old.getContext());
  if (Operation *def = old.getDefiningOp())
    b.setInsertionPointAfter(def);
  else
    b.setInsertionPointToStart(cast<BlockArgument>(old).getOwner());
  Part part{type, bytesOf<float>(values)};
  Value constant = partConstant(b, old.getLoc(), part, true, blobName);
  if (!tensorName.empty())
    constant.getDefiningOp()->setAttr("hfq.tensor",
                                      b.getStringAttr(tensorName));
  old.replaceAllUsesWith(constant);
  eraseDeadChain(old.getDefiningOp());
  return constant;
}

llvm::Expected<std::vector<double>>
mlir::hfq::detail::hessianOf(const io::SafetensorsFile &file,
                             llvm::StringRef path, const std::string &name,
                             int64_t cols) {
  const io::TensorInfo *xtx = file.find(name + ".xtx");
  const io::TensorInfo *tokens = file.find(name + ".tokens");
  if (!xtx || !tokens)
    return llvm::createStringError(
        path + " has no statistics for '" + name +
        "' (was it calibrated on this model? see hfq calibrate)");
  if (xtx->dtype != io::DType::F64 ||
      xtx->shape != std::vector<int64_t>{cols, cols} ||
      tokens->dtype != io::DType::I64 || tokens->shape != std::vector<int64_t>{1})
    return llvm::createStringError(llvm::formatv(
        "{0}: statistics of '{1}' do not match the linear ({2} inputs): "
        "expected {1}.xtx F64 [{2}, {2}] and {1}.tokens I64 [1]",
        path, name, cols));
  int64_t n = 0;
  std::memcpy(&n, file.bytes(*tokens).data(), sizeof(n));
  if (n <= 0)
    return llvm::createStringError(path + ": '" + name +
                                   "' was calibrated on no tokens");
  std::vector<double> h(cols * cols);
  std::memcpy(h.data(), file.bytes(*xtx).data(), h.size() * sizeof(double));
  for (double &v : h)
    v = 2.0 * v / double(n);
  return h;
}

LogicalResult
LinearSelection::init(ModuleOp module, llvm::ArrayRef<std::string> include,
                      llvm::ArrayRef<std::string> exclude) {
  includes.clear();
  excludes.clear();
  for (auto [patterns, compiled] :
       {std::pair(include, &includes), std::pair(exclude, &excludes)})
    for (const std::string &p : patterns) {
      auto re = std::make_shared<llvm::Regex>(p);
      std::string error;
      if (!re->isValid(error))
        return module.emitError() << "invalid pattern '" << p << "': " << error;
      compiled->push_back(std::move(re));
    }
  return success();
}

bool LinearSelection::selected(llvm::StringRef name) const {
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

std::string mlir::hfq::detail::linearName(LinearOp op) {
  if (auto name = dyn_cast<NameLoc>(op.getLoc()))
    return name.getName().str();
  return "";
}

LogicalResult mlir::hfq::detail::rewriteLinearWeights(
    ModuleOp module, const LinearSelection &selection, llvm::StringRef method,
    bool report, QuantizeWeightFn quantize, llvm::StringRef verb) {
  SmallVector<LinearOp> linears;
  module.walk([&](LinearOp op) {
    if (isa<RankedTensorType>(op.getWeight().getType()) &&
        selection.selected(linearName(op)))
      linears.push_back(op);
  });

  FloatReader reader(module);
  // One quantization per distinct weight value (shared weights once).
  llvm::DenseMap<Value, Value> done;
  for (LinearOp op : linears) {
    std::string name = linearName(op);
    Value weight = op.getWeight();
    if (Value q = done.lookup(weight)) {
      op.getWeightMutable().assign(q);
      continue;
    }
    auto type = cast<RankedTensorType>(weight.getType());
    if (!type.getElementType().isF32() || !type.hasStaticShape())
      return op.emitError() << "quantization needs a static f32 weight, got "
                            << type;
    std::optional<WeightSource> src = traceWeight(weight);
    if (!src) {
      op.emitWarning() << "weight is neither a constant nor a checkpoint "
                          "tensor; left in float";
      continue;
    }
    auto start = std::chrono::steady_clock::now();
    int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
    auto values = reader.read(*src);
    if (!values)
      return op.emitError() << llvm::toString(values.takeError());
    auto q = quantize(op, *values, rows, cols);
    if (!q)
      return op.emitError() << llvm::toString(q.takeError());

    OpBuilder b(op);
    std::string base =
        src->checkpointName.empty() ? name + ".weight" : src->checkpointName;
    bool resource = !src->constant || isa<DenseResourceElementsAttr>(src->constant);
    Value replacement;
    if (!q->encoding) {
      replacement = partConstant(b, op.getLoc(), q->parts.front(), resource, base);
    } else {
      auto encoding = cast<EncodingAttrInterface>(q->encoding);
      auto qtype =
          QTensorType::get(module.getContext(), type.getShape(),
                           cast<FloatType>(type.getElementType()), encoding);
      SmallVector<Value> parts;
      for (auto [part, partName] : llvm::zip(q->parts, encoding.getPartNames()))
        parts.push_back(partConstant(b, op.getLoc(), part, resource,
                                     base + "." + partName.str()));
      replacement = AssembleOp::create(b, op.getLoc(), qtype, parts);
    }
    op.getWeightMutable().assign(replacement);
    if (q->outlierThreshold)
      op.setOutlierThresholdAttr(b.getF64FloatAttr(*q->outlierThreshold));
    done[weight] = replacement;

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
          "{6} {0} [{1}x{2}] {3}: rel_rmse {4:F5}, {5:F2} s\n",
          name.empty() ? "<unnamed linear>" : name, rows, cols, method,
          ref > 0 ? std::sqrt(err / ref) : std::sqrt(err), seconds, verb);
    }
  }
  // The float originals (and the widening generics in front of them) are
  // dead now.
  for (auto &entry : done)
    eraseDeadChain(entry.first.getDefiningOp());
  return success();
}

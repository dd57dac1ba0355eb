//===- LinearWeights.cpp - rewriting linear weights into parts --*- C++ -*-===//

#include "LinearWeights.h"

#include "hfq/Numerics/Packing.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <cstring>
#include <cmath>

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;
namespace nx = mlir::hfq::numerics;

namespace {

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

/// Whether `elements` holds floats floatsOf can read: dense floats, or an
/// f32 dense_resource with its data.
bool readableFloats(Attribute elements) {
  if (auto dense = dyn_cast<DenseElementsAttr>(elements))
    return isa<FloatType>(dense.getElementType());
  if (auto blob = dyn_cast<DenseResourceElementsAttr>(elements))
    return blob.getElementType().isF32() && blob.getRawHandle().getBlob();
  return false;
}

ElementsAttr resourceOf(RankedTensorType type, llvm::StringRef blobName,
                        llvm::ArrayRef<char> bytes) {
  return DenseResourceElementsAttr::get(
      type, blobName, HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64));
}

} // namespace

FloatReader::FloatReader(ModuleOp module) : module(module) {}
FloatReader::~FloatReader() = default;

llvm::Expected<std::vector<float>> FloatReader::read(GlobalOp global) {
  if (isa<QTensorType>(global.getType()))
    return llvm::createStringError("@" + global.getSymName() +
                                   " is already quantized");
  ParameterAttr param = global.getParameter();
  if (!param) {
    if (!readableFloats(global.getValue()))
      return llvm::createStringError("@" + global.getSymName() +
                                     ": inline value has no float data");
    return floatsOf(cast<ElementsAttr>(global.getValue()));
  }
  llvm::StringRef scope = param.getScope().getValue();
  std::unique_ptr<io::Checkpoint> &checkpoint = checkpoints[scope];
  if (!checkpoint) {
    auto *dialect = module.getContext()->getLoadedDialect<HFQDialect>();
    std::optional<llvm::StringRef> dir =
        dialect ? dialect->lookupParameterScope(scope) : std::nullopt;
    if (!dir)
      return llvm::createStringError(
          "@" + global.getSymName() + " is tensor '" + param.getKey().str() +
          "' of parameter scope '" + scope.str() +
          "', which is not bound to a checkpoint directory (hfq-opt "
          "--hfq-param-scope=" +
          scope.str() + "=DIR)");
    auto opened = io::Checkpoint::open(*dir);
    if (!opened)
      return opened.takeError();
    checkpoint = std::make_unique<io::Checkpoint>(std::move(*opened));
  }
  const io::Checkpoint::Entry *e = checkpoint->find(param.getKey().getValue());
  if (!e)
    return llvm::createStringError("no checkpoint tensor '" +
                                   param.getKey().getValue() + "'");
  return e->file->readFloat32(*e->info);
}

llvm::Expected<std::vector<float>> FloatReader::read(Value value) {
  if (auto constant = value.getDefiningOp<arith::ConstantOp>())
    if (readableFloats(constant.getValue()))
      return floatsOf(cast<ElementsAttr>(constant.getValue()));
  if (GlobalOp global = getWeightGlobal(value))
    return read(global);
  return llvm::createStringError(
      "tensor is neither a float constant nor an hfq.global");
}

void mlir::hfq::detail::setGlobalValue(
    GlobalOp global, Type type, Attribute value,
    std::optional<llvm::ArrayRef<LoadOp>> loads) {
  global.setType(type);
  global.setValueAttr(value);
  SmallVector<LoadOp> found;
  if (!loads) {
    if (auto uses = SymbolTable::getSymbolUses(
            global, global->getParentWithTrait<OpTrait::SymbolTable>()))
      for (const SymbolTable::SymbolUse &use : *uses)
        if (auto load = dyn_cast<LoadOp>(use.getUser()))
          found.push_back(load);
    loads = found;
  }
  for (LoadOp load : *loads) {
    Value result = load.getResult();
    result.setType(type);
    for (Operation *user : llvm::make_early_inc_range(result.getUsers()))
      if (isFloatWidening(user)) {
        user->getResult(0).replaceAllUsesWith(result);
        user->erase();
      }
  }
}

void mlir::hfq::detail::setGlobalFloats(GlobalOp global,
                                        llvm::ArrayRef<float> values) {
  auto old = cast<RankedTensorType>(global.getType());
  auto type = RankedTensorType::get(old.getShape(),
                                    Float32Type::get(global.getContext()));
  std::vector<char> bytes = bytesOf<float>(values);
  setGlobalValue(global, type, resourceOf(type, global.getSymName(), bytes));
}

llvm::Expected<std::vector<char>>
mlir::hfq::detail::packedCodes(llvm::ArrayRef<uint8_t> codes, int64_t cols,
                               unsigned bits, bool msbFirst) {
  if ((cols * bits) % 8 != 0 && !msbFirst) {
    auto rows =
        nx::packRowsPadded(codes, int64_t(codes.size()) / cols, cols, bits);
    if (!rows)
      return rows.takeError();
    return std::vector<char>(rows->begin(), rows->end());
  }
  auto packed = nx::packCodes(
      codes, bits, 8, msbFirst ? nx::BitOrder::MsbFirst : nx::BitOrder::LsbFirst);
  if (!packed)
    return packed.takeError();
  std::vector<char> out(packed->size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = char(uint8_t((*packed)[i]));
  return out;
}

nx::ScaleType mlir::hfq::detail::scaleTypeOf(Type type) {
  return type.isF16()    ? nx::ScaleType::F16
         : type.isBF16() ? nx::ScaleType::BF16
                         : nx::ScaleType::F32;
}

FloatType mlir::hfq::detail::scaleStorageAttrType(MLIRContext *ctx,
                                                  nx::ScaleType type) {
  switch (type) {
  case nx::ScaleType::F16:
    return Float16Type::get(ctx);
  case nx::ScaleType::BF16:
    return BFloat16Type::get(ctx);
  case nx::ScaleType::F32:
    return FloatType();
  }
  llvm_unreachable("unknown scale type");
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
  auto packed = packedCodes(codes, cols, enc.getBits(),
                            enc.getOrder() == PackOrder::msb_first);
  if (!packed)
    return packed.takeError();
  out.parts.push_back({types[0], std::move(*packed)});
  nx::ScaleType scaleType = scaleTypeOf(types[1].getElementType());
  out.parts.push_back({types[1], nx::scaleBytes(scales, scaleType)});
  if (enc.getZeroPoint() == ZeroPoint::float_) {
    out.parts.push_back({types[2], nx::scaleBytes(floatZeros, scaleType)});
  } else if (enc.getPackedZeros()) {
    // Zero points are codes in [0, 2^bits - 1] (the quantizers clamp them).
    std::vector<uint8_t> codes(zeros.begin(), zeros.end());
    int64_t zeroRows = types[2].getNumElements() / types[2].getShape().back();
    auto packedZeros = nx::packRowsPadded(
        codes, zeroRows, int64_t(zeros.size()) / zeroRows, enc.getBits());
    if (!packedZeros)
      return packedZeros.takeError();
    out.parts.push_back({types[2], std::vector<char>(packedZeros->begin(),
                                                     packedZeros->end())});
  } else if (enc.getZeroPoint() != ZeroPoint::symmetric) {
    out.parts.push_back({types[2], bytesOf<int32_t>(zeros)});
  }
  if (enc.getActOrder())
    out.parts.push_back({types.back(), bytesOf<int32_t>(gIdx)});
  out.dequantized = std::move(deq);
  return out;
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

LogicalResult mlir::hfq::detail::rewriteLinearWeights(
    ModuleOp module, const LinearSelection &selection, llvm::StringRef method,
    bool report, QuantizeWeightFn quantize, llvm::StringRef verb) {
  SmallVector<LinearOp> linears;
  module.walk([&](LinearOp op) {
    if (isa<RankedTensorType>(op.getWeight().getType()) &&
        selection.selected(getLinearName(op)))
      linears.push_back(op);
  });

  FloatReader reader(module);
  // Who reads each global, computed once (loads stay; only types change).
  SymbolTableCollection symbolTables;
  SymbolUserMap users(symbolTables, module);
  // One quantization per global (a weight shared by several linears once).
  llvm::DenseSet<Operation *> done;
  for (LinearOp op : linears) {
    std::string name = getLinearName(op);
    GlobalOp global = getWeightGlobal(op.getWeight());
    if (!global) {
      op.emitWarning() << "weight is not an hfq.global; left in float";
      continue;
    }
    if (!done.insert(global).second)
      continue;
    // Messages name the linear: the location may be anything.
    auto emitError = [&]() { return op.emitError() << name << ": "; };
    auto type = cast<RankedTensorType>(op.getWeight().getType());
    if (!type.getElementType().isF32() || !type.hasStaticShape() ||
        type.getRank() != 2)
      return emitError() << "quantization needs a static 2-D f32 weight, "
                            "got "
                         << type;
    // Every reader of the global must be a linear: the global changes type.
    SmallVector<LinearOp> readers;
    SmallVector<LoadOp> loads;
    bool onlyLinears = true;
    for (Operation *symbolUser : users.getUsers(global)) {
      auto load = dyn_cast<LoadOp>(symbolUser);
      if (!load) {
        onlyLinears = false;
        continue;
      }
      loads.push_back(load);
      for (Operation *user : load->getUsers()) {
        Operation *reader = user;
        if (isFloatWidening(user) && user->getResult(0).hasOneUse())
          reader = *user->getResult(0).user_begin();
        auto linear = dyn_cast<LinearOp>(reader);
        if (linear && getWeightLoad(linear.getWeight()) == load)
          readers.push_back(linear);
        else
          onlyLinears = false;
      }
    }
    if (!onlyLinears) {
      op.emitWarning() << name << ": @" << global.getSymName()
                       << " is also read by other ops than linears; left in "
                          "float";
      continue;
    }
    auto start = std::chrono::steady_clock::now();
    int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
    auto values = reader.read(global);
    if (!values)
      return emitError() << llvm::toString(values.takeError());
    auto q = quantize(op, *values, rows, cols);
    if (!q)
      return emitError() << llvm::toString(q.takeError());

    std::string base = global.getSymName().str();
    // Small inline weights (tests, examples) stay readable dense
    // attributes; checkpoint-sized data becomes dense_resource blobs.
    bool resource = !isa<DenseElementsAttr>(global.getValue());
    auto partValue = [&](const Part &part, llvm::StringRef blobName) {
      return resource ? resourceOf(part.type, blobName, part.bytes)
                      : ElementsAttr(DenseElementsAttr::getFromRawBuffer(
                            part.type, part.bytes));
    };
    auto qtype =
        QTensorType::get(module.getContext(), type.getShape(),
                         cast<FloatType>(type.getElementType()), q->encoding);
    SmallVector<Attribute> parts;
    for (auto [part, partName] :
         llvm::zip(q->parts, q->encoding.getPartNames()))
      parts.push_back(partValue(part, base + "." + partName.str()));
    setGlobalValue(global, qtype, ArrayAttr::get(module.getContext(), parts),
                   loads);
    if (q->outlierThreshold)
      for (LinearOp linear : readers)
        linear.setOutlierThresholdAttr(FloatAttr::get(
            Float64Type::get(module.getContext()), *q->outlierThreshold));

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
  return success();
}

//===- HFQOps.cpp - hfq operations -----------------------------*- C++ -*-===//
//
// Verifiers for the hfq ops. Type constraints in ODS cover element kinds;
// what remains here are relations between shapes, element types and the
// parts an encoding requires.
//
//===----------------------------------------------------------------------===//

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"

#include <cmath>

using namespace mlir;
using namespace mlir::hfq;

#define GET_OP_CLASSES
#include "hfq/Dialect/HFQ/IR/HFQOps.cpp.inc"

/// Checks `types` against the parts `qtype`'s encoding requires; `what` is
/// "operand" or "result" for the message.
static LogicalResult verifyParts(Operation *op, QTensorType qtype,
                                 TypeRange types, StringRef what) {
  SmallVector<RankedTensorType> expected = qtype.getPartTypes();
  SmallVector<StringRef> names = qtype.getEncoding().getPartNames();
  if (types.size() != expected.size()) {
    InFlightDiagnostic diag = op->emitOpError()
                              << "expects " << expected.size() << " " << what
                              << "s (";
    llvm::interleaveComma(names, diag);
    return diag << ") for this encoding, got " << types.size();
  }
  for (auto [i, got, want] : llvm::enumerate(types, expected))
    if (got != want)
      return op->emitOpError()
             << what << " #" << i << " (" << names[i] << ") must be " << want
             << " for this encoding, got " << got;
  return success();
}

LogicalResult AssembleOp::verify() {
  return verifyParts(*this, getResult().getType(), getParts().getTypes(),
                     "operand");
}

LogicalResult DisassembleOp::verify() {
  return verifyParts(*this, getSource().getType(), getParts().getTypes(),
                     "result");
}

LogicalResult QuantizeOp::verify() {
  QTensorType qtype = getResult().getType();
  if (getInput().getType() != qtype.getDequantizedType())
    return emitOpError() << "input type " << getInput().getType()
                         << " must equal the dequantized result type "
                         << qtype.getDequantizedType();
  if (auto affine = dyn_cast<AffineEncodingAttr>(qtype.getEncoding())) {
    if (affine.getActOrder())
      return emitOpError() << "cannot quantize to an act_order encoding by "
                              "round-to-nearest: g_idx comes from GPTQ; use "
                              "hfq.assemble";
    if (!affine.hasIntegerCodesAndPlainScales())
      return emitOpError() << "rounds to integer codes with f16/bf16/f32 "
                              "scales only; float codes and 8-bit or "
                              "quantized scales come from "
                              "hfq-quantize-linears (method fp8, mxfp4, "
                              "nvfp4, ...); use hfq.assemble";
  }
  if (isa<SparseEncodingAttr, BitmaskEncodingAttr>(qtype.getEncoding()))
    return emitOpError() << "cannot quantize to a sparse encoding: its mask "
                            "comes from a pruning pass (hfq-prune); use "
                            "hfq.assemble";
  if (isa<SpQREncodingAttr>(qtype.getEncoding()))
    return emitOpError() << "cannot quantize to a spqr encoding: its outliers "
                            "and statistics come from hfq-spqr; use "
                            "hfq.assemble";
  return success();
}

LogicalResult DequantizeOp::verify() {
  QTensorType qtype = getInput().getType();
  if (getResult().getType() != qtype.getDequantizedType())
    return emitOpError() << "result type " << getResult().getType()
                         << " must be " << qtype.getDequantizedType();
  return success();
}

LogicalResult LinearOp::verify() {
  auto inputType = cast<RankedTensorType>(getInput().getType());
  auto resultType = cast<RankedTensorType>(getResult().getType());
  ArrayRef<int64_t> wShape;
  Type wElem;
  if (auto q = dyn_cast<QTensorType>(getWeight().getType())) {
    wShape = q.getShape();
    wElem = q.getElementType();
  } else {
    auto t = cast<RankedTensorType>(getWeight().getType());
    wShape = t.getShape();
    wElem = t.getElementType();
  }
  if (wShape.size() != 2)
    return emitOpError() << "weight must be 2-D [out, in], got rank "
                         << wShape.size();
  if (inputType.getRank() < 1)
    return emitOpError() << "input must have rank >= 1";
  Type elem = inputType.getElementType();
  if (wElem != elem || resultType.getElementType() != elem)
    return emitOpError() << "input, weight and result element types must "
                            "agree, got "
                         << elem << ", " << wElem << ", "
                         << resultType.getElementType();
  int64_t in = wShape[1], out = wShape[0];
  if (!ShapedType::isDynamic(inputType.getShape().back()) &&
      inputType.getShape().back() != in)
    return emitOpError() << "input feature size " << inputType.getShape().back()
                         << " does not match the weight's in dimension " << in;
  if (resultType.getRank() != inputType.getRank())
    return emitOpError() << "result rank " << resultType.getRank()
                         << " must equal input rank " << inputType.getRank();
  for (int64_t i = 0; i + 1 < inputType.getRank(); ++i)
    if (resultType.getDimSize(i) != inputType.getDimSize(i))
      return emitOpError() << "result dimension " << i << " ("
                           << resultType.getDimSize(i)
                           << ") must equal the input's ("
                           << inputType.getDimSize(i) << ")";
  if (resultType.getShape().back() != out)
    return emitOpError() << "result feature size "
                         << resultType.getShape().back()
                         << " does not match the weight's out dimension "
                         << out;
  if (Value bias = getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getRank() != 1 || biasType.getDimSize(0) != out ||
        biasType.getElementType() != elem)
      return emitOpError() << "bias must be "
                           << RankedTensorType::get({out}, elem) << ", got "
                           << biasType;
  }
  if (FloatAttr thresholdAttr = getOutlierThresholdAttr()) {
    double threshold = thresholdAttr.getValueAsDouble();
    if (!(threshold >= 0.0) || !std::isfinite(threshold))
      return emitOpError() << "outlier_threshold must be finite and >= 0, got "
                           << threshold;
    auto q = dyn_cast<QTensorType>(getWeight().getType());
    auto enc = q ? dyn_cast<AffineEncodingAttr>(q.getEncoding())
                 : AffineEncodingAttr();
    if (!enc || enc.getBits() != 8 || !enc.hasIntegerCodesAndPlainScales() ||
        enc.getGranularity() != Granularity::channel || enc.getAxis() != 1 ||
        enc.getZeroPoint() != ZeroPoint::symmetric || enc.getActOrder())
      return emitOpError()
             << "outlier_threshold (LLM.int8) needs an 8-bit "
                "symmetric per-output-channel affine weight "
                "(bits = 8, integer codes, granularity = channel, "
                "axis = 1, zero_point = symmetric, f16/bf16/f32 "
                "scales), got "
             << getWeight().getType();
    if (inputType.getRank() != 2)
      return emitOpError() << "outlier_threshold needs a [tokens, in] input, "
                              "got rank "
                           << inputType.getRank();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// hfq.global, hfq.load
//===----------------------------------------------------------------------===//

LogicalResult GlobalOp::verify() {
  Type type = getType();
  auto floatType = dyn_cast<RankedTensorType>(type);
  auto qtype = dyn_cast<QTensorType>(type);
  if (!(floatType && isa<FloatType>(floatType.getElementType())) && !qtype)
    return emitOpError() << "type must be a float tensor or an !hfq.qtensor, "
                            "got "
                         << type;
  if (floatType && !floatType.hasStaticShape())
    return emitOpError() << "type must have a static shape, got " << type;
  Attribute value = getValue();
  if (isa<ParameterAttr>(value))
    return success();
  if (floatType) {
    auto elements = dyn_cast<ElementsAttr>(value);
    if (!elements || elements.getType() != floatType)
      return emitOpError() << "value must be a #hfq.param or elements of "
                           << floatType;
    return success();
  }
  auto parts = dyn_cast<ArrayAttr>(value);
  SmallVector<RankedTensorType> partTypes = qtype.getEncoding().getPartTypes(
      qtype.getShape(), qtype.getElementType());
  if (!parts || parts.size() != partTypes.size())
    return emitOpError() << "value of a quantized global must be a "
                            "#hfq.param or an array of its "
                         << partTypes.size() << " parts";
  for (auto [i, part, partType] : llvm::enumerate(parts, partTypes)) {
    auto elements = dyn_cast<ElementsAttr>(part);
    if (!elements || elements.getType() != partType)
      return emitOpError() << "part " << i << " ('"
                           << qtype.getEncoding().getPartNames()[i]
                           << "') must be elements of " << partType;
  }
  return success();
}

SmallVector<std::pair<std::string, RankedTensorType>>
GlobalOp::getStoredTensors() {
  SmallVector<std::pair<std::string, RankedTensorType>> out;
  auto qtype = dyn_cast<QTensorType>(getType());
  if (!qtype) {
    out.push_back({"", cast<RankedTensorType>(getType())});
    return out;
  }
  EncodingAttrInterface encoding = qtype.getEncoding();
  for (auto [name, type] : llvm::zip(
           encoding.getPartNames(),
           encoding.getPartTypes(qtype.getShape(), qtype.getElementType())))
    out.push_back({("." + name).str(), type});
  return out;
}

GlobalOp LoadOp::getGlobalOp() {
  return SymbolTable::lookupNearestSymbolFrom<GlobalOp>(*this, getGlobalAttr());
}

LogicalResult LoadOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto global =
      symbolTable.lookupNearestSymbolFrom<GlobalOp>(*this, getGlobalAttr());
  if (!global)
    return emitOpError() << "'" << getGlobal() << "' is not an hfq.global";
  if (global.getType() != getType())
    return emitOpError() << "result type " << getType()
                         << " does not match the global's type "
                         << global.getType();
  return success();
}

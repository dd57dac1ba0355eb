//===- LoweringUtils.h - shared pieces of the reference lowering -*- C++
//-*-===//
//
// What every encoding's reference lowering uses: a scalar IR emitter for
// linalg.generic bodies, tensor constructors, and the bit-stream packing of
// codes. Private to lib/Conversion/HFQToLinalg (as torch-mlir's
// PopulatePatterns.h); each encoding family's lowering lives in its own
// file and registers its EncodingLoweringAttrInterface model here.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_LIB_CONVERSION_HFQTOLINALG_LOWERINGUTILS_H
#define HFQ_LIB_CONVERSION_HFQTOLINALG_LOWERINGUTILS_H

#include "hfq/Conversion/HFQToLinalg/EncodingLowering.h"
#include "hfq/Conversion/HFQToLinalg/HFQToLinalg.h"
#include "hfq/Dialect/HFQ/IR/HFQDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Builders.h"

namespace mlir::hfq::detail {

/// Builds scalar arithmetic at one location.
struct Emitter {
  OpBuilder &b;
  Location loc;

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i64(int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
  }
  Value i32(int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  }
  Value floatConst(Type type, double v) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, v));
  }
  Value indexToI64(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
  }
  Value i64ToIndex(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }
  Value extract(Value tensor, ValueRange indices) {
    return tensor::ExtractOp::create(b, loc, tensor, indices);
  }
  /// Entry `code` of a rank-1 table; `code` is an integer (a code unpacked
  /// to i32) or a float of at most 8 bits, looked up by its bit pattern.
  Value lookup(Value table, Value code) {
    if (auto f = dyn_cast<FloatType>(code.getType()))
      code = arith::ExtUIOp::create(
          b, loc, b.getI32Type(),
          arith::BitcastOp::create(b, loc, b.getIntegerType(f.getWidth()),
                                   code));
    return extract(
        table, {arith::IndexCastOp::create(b, loc, b.getIndexType(), code)});
  }
  /// Converts between float types (no-op when equal).
  Value castFloat(Value v, Type to) {
    Type from = v.getType();
    if (from == to)
      return v;
    if (cast<FloatType>(from).getWidth() < cast<FloatType>(to).getWidth())
      return arith::ExtFOp::create(b, loc, to, v);
    return arith::TruncFOp::create(b, loc, to, v);
  }
  /// A rank-1 f32 constant tensor holding `values`.
  Value table(ArrayRef<float> values) {
    auto type = RankedTensorType::get({int64_t(values.size())}, b.getF32Type());
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, values));
  }
  /// The loop indices of the enclosing linalg.generic, dims 0..rank-1.
  SmallVector<Value> loopIndices(int64_t rank) {
    SmallVector<Value> ivs;
    for (int64_t d = 0; d < rank; ++d)
      ivs.push_back(linalg::IndexOp::create(b, loc, d));
    return ivs;
  }
  /// Row-major flat index of `ivs` in a tensor of `shape`.
  Value linearize(ValueRange ivs, ArrayRef<int64_t> shape) {
    Value flat = index(0);
    for (auto [iv, size] : llvm::zip(ivs, shape))
      flat = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, flat, index(size)), iv);
    return flat;
  }
};

/// The f32 value of every bit pattern of a narrow float type, in pattern
/// order (NaN for its NaN patterns), as a rank-1 constant tensor.
Value narrowFloatTable(OpBuilder &b, Location loc, FloatType type);

/// A part tensor stored in its own (nested) encoding: its values, of
/// `shape` x `elementType`, from the nested parts, and the nested parts of
/// `values` (failure where the nested encoding has no round-to-nearest).
Value dequantizeNested(OpBuilder &b, Location loc, EncodingAttrInterface nested,
                       ArrayRef<int64_t> shape, FloatType elementType,
                       ValueRange parts);
FailureOr<SmallVector<Value>> quantizeNested(OpBuilder &b, Location loc,
                                             EncodingAttrInterface nested,
                                             Value values);

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  Type elementType);

Value filledTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                   Type elementType, Value value);

/// A linalg.generic over the iteration space `shape` with no inputs, one
/// output of `elementType`, whose body computes the element from the loop
/// indices.
Value generateTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                     Type elementType,
                     function_ref<Value(Emitter &, ValueRange ivs)> body);

/// Unpacks the codes of a weight of logical `shape` into a tensor<shape x i32>.
Value unpackCodes(OpBuilder &b, Location loc, Value packed,
                  ArrayRef<int64_t> shape, unsigned bits, unsigned storageBits,
                  PackOrder order);

/// Packs tensor<shape x i32> codes (each < 2^bits) along the last dimension
/// into `storageBits`-wide containers, the last one of a row zero-padded
/// when the codes do not fill it.
Value packCodes(OpBuilder &b, Location loc, Value codes,
                ArrayRef<int64_t> shape, unsigned bits, unsigned storageBits,
                PackOrder order);

/// The EncodingLoweringAttrInterface model of an encoding whose data comes
/// from a pass: `Dequantize(b, loc, type, encoding, parts)` only.
template <typename Encoding, auto Dequantize>
struct DequantizeOnlyLowering
    : EncodingLoweringAttrInterface::ExternalModel<
          DequantizeOnlyLowering<Encoding, Dequantize>, Encoding> {
  Value buildDequantize(Attribute attr, OpBuilder &b, Location loc,
                        QTensorType type, ValueRange parts) const {
    return Dequantize(b, loc, type, cast<Encoding>(attr), parts);
  }
};

/// The model of an encoding hfq.quantize can also produce:
/// `Quantize(b, loc, input, type, encoding)` gives the parts.
template <typename Encoding, auto Dequantize, auto Quantize>
struct RoundToNearestLowering
    : EncodingLoweringAttrInterface::ExternalModel<
          RoundToNearestLowering<Encoding, Dequantize, Quantize>, Encoding> {
  Value buildDequantize(Attribute attr, OpBuilder &b, Location loc,
                        QTensorType type, ValueRange parts) const {
    return Dequantize(b, loc, type, cast<Encoding>(attr), parts);
  }
  FailureOr<SmallVector<Value>> buildQuantize(Attribute attr, OpBuilder &b,
                                              Location loc, Value input,
                                              QTensorType type) const {
    return Quantize(b, loc, input, type, cast<Encoding>(attr));
  }
};

/// Attach the EncodingLoweringAttrInterface models of each family.
void attachAffineLowering(MLIRContext *ctx);
void attachCodebookLowering(MLIRContext *ctx);
void attachSparseLowering(MLIRContext *ctx);

} // namespace mlir::hfq::detail

#endif // HFQ_LIB_CONVERSION_HFQTOLINALG_LOWERINGUTILS_H

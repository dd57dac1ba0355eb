//===- LoweringUtils.cpp - shared pieces of the reference lowering -------===//
//
// Codes are unpacked and packed element by element from a bit offset
// (tensor.extract inside the generic bodies): slow, but the same few lines
// serve every bit width, container width and bit order.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include <cmath>

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;

Value mlir::hfq::detail::dequantizeNested(OpBuilder &b, Location loc,
                                          EncodingAttrInterface nested,
                                          ArrayRef<int64_t> shape,
                                          FloatType elementType,
                                          ValueRange parts) {
  auto type = QTensorType::get(b.getContext(), shape, elementType, nested);
  return cast<EncodingLoweringAttrInterface>(Attribute(nested))
      .buildDequantize(b, loc, type, parts);
}

FailureOr<SmallVector<Value>>
mlir::hfq::detail::quantizeNested(OpBuilder &b, Location loc,
                                  EncodingAttrInterface nested, Value values) {
  auto valuesType = cast<RankedTensorType>(values.getType());
  auto type =
      QTensorType::get(b.getContext(), valuesType.getShape(),
                       cast<FloatType>(valuesType.getElementType()), nested);
  return cast<EncodingLoweringAttrInterface>(Attribute(nested))
      .buildQuantize(b, loc, values, type);
}

Value mlir::hfq::detail::narrowFloatTable(OpBuilder &b, Location loc,
                                          FloatType type) {
  unsigned width = type.getWidth();
  SmallVector<float> values;
  for (uint64_t bits = 0; bits < (uint64_t(1) << width); ++bits) {
    APFloat v(type.getFloatSemantics(), APInt(width, bits));
    // NaN first: APFloat widens f8E8M0FNU's NaN to infinity.
    values.push_back(v.isNaN() ? std::nanf("") : float(v.convertToDouble()));
  }
  return Emitter{b, loc}.table(values);
}

Value mlir::hfq::detail::emptyTensor(OpBuilder &b, Location loc,
                                     ArrayRef<int64_t> shape,
                                     Type elementType) {
  return tensor::EmptyOp::create(b, loc, shape, elementType);
}

Value mlir::hfq::detail::filledTensor(OpBuilder &b, Location loc,
                                      ArrayRef<int64_t> shape, Type elementType,
                                      Value value) {
  Value empty = emptyTensor(b, loc, shape, elementType);
  return linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{empty})
      .getResult(0);
}

/// A linalg.generic over the iteration space `shape` with no inputs, one
/// output of `elementType`, whose body computes the element from the loop
/// indices.
Value mlir::hfq::detail::generateTensor(
    OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elementType,
    function_ref<Value(Emitter &, ValueRange ivs)> body) {
  int64_t rank = shape.size();
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto op = linalg::GenericOp::create(
      b, loc, RankedTensorType::get(shape, elementType), ValueRange{},
      ValueRange{emptyTensor(b, loc, shape, elementType)}, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange) {
        Emitter e{nb, nloc};
        Value v = body(e, e.loopIndices(rank));
        linalg::YieldOp::create(nb, nloc, v);
      });
  return op.getResult(0);
}

//===----------------------------------------------------------------------===//
// Packing
//===----------------------------------------------------------------------===//

/// Unpacks the codes of a weight of logical `shape` into a tensor<shape x i32>.
Value mlir::hfq::detail::unpackCodes(OpBuilder &b, Location loc, Value packed,
                                     ArrayRef<int64_t> shape, unsigned bits,
                                     unsigned storageBits, PackOrder order) {
  int64_t rank = shape.size();
  int64_t numContainers =
      cast<RankedTensorType>(packed.getType()).getShape().back();
  return generateTensor(
      b, loc, shape, b.getI32Type(), [&](Emitter &e, ValueRange ivs) {
        Value offset = arith::MulIOp::create(
            e.b, e.loc, e.indexToI64(ivs.back()), e.i64(bits));
        Value word =
            arith::DivUIOp::create(e.b, e.loc, offset, e.i64(storageBits));
        Value shift =
            arith::RemUIOp::create(e.b, e.loc, offset, e.i64(storageBits));
        // The following container matters only when the code straddles it;
        // clamp its index so the last code reads in bounds.
        Value next = arith::MinUIOp::create(
            e.b, e.loc, arith::AddIOp::create(e.b, e.loc, word, e.i64(1)),
            e.i64(numContainers - 1));
        auto load = [&](Value w) {
          SmallVector<Value> idx(ivs.take_front(rank - 1));
          idx.push_back(e.i64ToIndex(w));
          return arith::ExtUIOp::create(e.b, e.loc, e.b.getI64Type(),
                                        e.extract(packed, idx));
        };
        Value first = load(word), second = load(next);
        Value width = e.i64(storageBits);
        Value window, rshift;
        if (order == PackOrder::lsb_first) {
          window = arith::OrIOp::create(
              e.b, e.loc, first,
              arith::ShLIOp::create(e.b, e.loc, second, width));
          rshift = shift;
        } else {
          window = arith::OrIOp::create(
              e.b, e.loc, arith::ShLIOp::create(e.b, e.loc, first, width),
              second);
          rshift = arith::SubIOp::create(e.b, e.loc,
                                         e.i64(2 * storageBits - bits), shift);
        }
        Value code = arith::AndIOp::create(
            e.b, e.loc, arith::ShRUIOp::create(e.b, e.loc, window, rshift),
            e.i64((int64_t(1) << bits) - 1));
        return arith::TruncIOp::create(e.b, e.loc, e.b.getI32Type(), code);
      });
}

/// Packs tensor<shape x i32> codes (each < 2^bits) along the last dimension
/// into `storageBits`-wide containers.
Value mlir::hfq::detail::packCodes(OpBuilder &b, Location loc, Value codes,
                                   ArrayRef<int64_t> shape, unsigned bits,
                                   unsigned storageBits, PackOrder order) {
  int64_t rank = shape.size();
  SmallVector<int64_t> packedShape(shape);
  // Whole containers; a partial last one is zero-padded (packed zeros).
  packedShape.back() = (shape.back() * bits + storageBits - 1) / storageBits;
  Type containerType = b.getIntegerType(storageBits);
  return generateTensor(
      b, loc, packedShape, containerType, [&](Emitter &e, ValueRange ivs) {
        // Codes first..last overlap container k: bits [k*W, (k+1)*W).
        Value k = e.indexToI64(ivs.back());
        Value startBit =
            arith::MulIOp::create(e.b, e.loc, k, e.i64(storageBits));
        Value firstCode =
            arith::DivUIOp::create(e.b, e.loc, startBit, e.i64(bits));
        Value lastCode = arith::DivUIOp::create(
            e.b, e.loc,
            arith::AddIOp::create(e.b, e.loc, startBit, e.i64(storageBits - 1)),
            e.i64(bits));
        Value end = arith::MinUIOp::create(
            e.b, e.loc, arith::AddIOp::create(e.b, e.loc, lastCode, e.i64(1)),
            e.i64(shape.back()));
        auto loop = scf::ForOp::create(
            e.b, e.loc, firstCode, end, e.i64(1), ValueRange{e.i64(0)},
            [&](OpBuilder &lb, Location lloc, Value i, ValueRange acc) {
              Emitter le{lb, lloc};
              SmallVector<Value> idx(ivs.take_front(rank - 1));
              idx.push_back(le.i64ToIndex(i));
              Value code = arith::ExtUIOp::create(lb, lloc, lb.getI64Type(),
                                                  le.extract(codes, idx));
              // Position of the code's lowest (LSB) or highest (MSB) bit
              // relative to the container, possibly negative at a straddle.
              Value rel = arith::SubIOp::create(
                  lb, lloc, arith::MulIOp::create(lb, lloc, i, le.i64(bits)),
                  startBit);
              Value sh = order == PackOrder::lsb_first
                             ? rel
                             : arith::SubIOp::create(
                                   lb, lloc, le.i64(storageBits - bits), rel);
              Value isLeft = arith::CmpIOp::create(
                  lb, lloc, arith::CmpIPredicate::sge, sh, le.i64(0));
              Value left = arith::ShLIOp::create(lb, lloc, code, sh);
              Value right = arith::ShRUIOp::create(
                  lb, lloc, code,
                  arith::SubIOp::create(lb, lloc, le.i64(0), sh));
              Value part =
                  arith::SelectOp::create(lb, lloc, isLeft, left, right);
              part = arith::AndIOp::create(
                  lb, lloc, part, le.i64((int64_t(1) << storageBits) - 1));
              scf::YieldOp::create(
                  lb, lloc,
                  ValueRange{arith::OrIOp::create(lb, lloc, acc[0], part)});
            });
        return arith::TruncIOp::create(e.b, e.loc, containerType,
                                       loop.getResult(0));
      });
}

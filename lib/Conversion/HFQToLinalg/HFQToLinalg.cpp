//===- HFQToLinalg.cpp - reference lowering of hfq to linalg ---*- C++ -*-===//
//
// The reference lowering: every hfq op becomes linalg.generic/tensor/arith
// code whose arithmetic follows the dialect documentation step by step.
// `!hfq.qtensor` values are replaced by their storage parts through a 1:N
// type conversion, so quantized weights may cross function boundaries.
//
// Codes are unpacked and packed element by element from a bit offset
// (tensor.extract inside the generic bodies): slow, but the same few lines
// serve every bit width, container width and bit order.
//
//===----------------------------------------------------------------------===//

#include "hfq/Conversion/HFQToLinalg/HFQToLinalg.h"
#include "hfq/Conversion/Passes.h"
#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "hfq/Numerics/Codebooks.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineExpr.h"

namespace mlir::hfq {
#define GEN_PASS_DEF_CONVERTHFQTOLINALG
#include "hfq/Conversion/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;

namespace {

//===----------------------------------------------------------------------===//
// Small IR-building helpers
//===----------------------------------------------------------------------===//

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

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  Type elementType) {
  return tensor::EmptyOp::create(b, loc, shape, elementType);
}

Value filledTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                   Type elementType, Value value) {
  Value empty = emptyTensor(b, loc, shape, elementType);
  return linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{empty})
      .getResult(0);
}

/// A linalg.generic over the iteration space `shape` with no inputs, one
/// output of `elementType`, whose body computes the element from the loop
/// indices.
Value generateTensor(
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
Value unpackCodes(OpBuilder &b, Location loc, Value packed,
                  ArrayRef<int64_t> shape, unsigned bits, unsigned storageBits,
                  PackOrder order) {
  int64_t rank = shape.size();
  int64_t numContainers = cast<RankedTensorType>(packed.getType()).getShape().back();
  return generateTensor(
      b, loc, shape, b.getI32Type(), [&](Emitter &e, ValueRange ivs) {
        Value offset = arith::MulIOp::create(e.b, e.loc, e.indexToI64(ivs.back()),
                                             e.i64(bits));
        Value word = arith::DivUIOp::create(e.b, e.loc, offset, e.i64(storageBits));
        Value shift = arith::RemUIOp::create(e.b, e.loc, offset, e.i64(storageBits));
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
              e.b, e.loc, first, arith::ShLIOp::create(e.b, e.loc, second, width));
          rshift = shift;
        } else {
          window = arith::OrIOp::create(
              e.b, e.loc, arith::ShLIOp::create(e.b, e.loc, first, width), second);
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
Value packCodes(OpBuilder &b, Location loc, Value codes,
                ArrayRef<int64_t> shape, unsigned bits, unsigned storageBits,
                PackOrder order) {
  int64_t rank = shape.size();
  SmallVector<int64_t> packedShape(shape);
  packedShape.back() = shape.back() * bits / storageBits;
  Type containerType = b.getIntegerType(storageBits);
  return generateTensor(
      b, loc, packedShape, containerType, [&](Emitter &e, ValueRange ivs) {
        // Codes first..last overlap container k: bits [k*W, (k+1)*W).
        Value k = e.indexToI64(ivs.back());
        Value startBit = arith::MulIOp::create(e.b, e.loc, k, e.i64(storageBits));
        Value firstCode = arith::DivUIOp::create(e.b, e.loc, startBit, e.i64(bits));
        Value lastCode = arith::DivUIOp::create(
            e.b, e.loc,
            arith::AddIOp::create(e.b, e.loc, startBit, e.i64(storageBits - 1)),
            e.i64(bits));
        Value end = arith::AddIOp::create(e.b, e.loc, lastCode, e.i64(1));
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
                  lb, lloc, code, arith::SubIOp::create(lb, lloc, le.i64(0), sh));
              Value part = arith::SelectOp::create(lb, lloc, isLeft, left, right);
              part = arith::AndIOp::create(
                  lb, lloc, part, le.i64((int64_t(1) << storageBits) - 1));
              scf::YieldOp::create(
                  lb, lloc, ValueRange{arith::OrIOp::create(lb, lloc, acc[0], part)});
            });
        return arith::TruncIOp::create(e.b, e.loc, containerType,
                                       loop.getResult(0));
      });
}

//===----------------------------------------------------------------------===//
// Affine encodings
//===----------------------------------------------------------------------===//

/// Index into the scales/zeros tensor for the element at `ivs`.
SmallVector<Value> groupIndex(Emitter &e, AffineEncodingAttr enc,
                              ValueRange ivs, Value gIdx) {
  SmallVector<Value> idx(ivs.begin(), ivs.end());
  int64_t axis = enc.getAxis();
  switch (enc.getGranularity()) {
  case Granularity::tensor:
    for (Value &v : idx)
      v = e.index(0);
    break;
  case Granularity::channel:
    idx[axis] = e.index(0);
    break;
  case Granularity::group:
    if (gIdx)
      idx[axis] = arith::IndexCastOp::create(e.b, e.loc, e.b.getIndexType(),
                                             e.extract(gIdx, {ivs[axis]}));
    else
      idx[axis] = arith::DivUIOp::create(e.b, e.loc, ivs[axis],
                                         e.index(enc.getGroupSize()));
    break;
  }
  return idx;
}

/// The affine map from weight indices to scale indices (no act_order).
AffineMap groupMap(MLIRContext *ctx, AffineEncodingAttr enc, int64_t rank) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d) {
    AffineExpr dim = getAffineDimExpr(d, ctx);
    if (enc.getGranularity() == Granularity::tensor ||
        (enc.getGranularity() == Granularity::channel && d == enc.getAxis()))
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else if (enc.getGranularity() == Granularity::group && d == enc.getAxis())
      exprs.push_back(dim.floorDiv(enc.getGroupSize()));
    else
      exprs.push_back(dim);
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}

/// The actual zero point z of `(q - z) * s`, as i32, from the stored one.
Value actualIntegerZero(Emitter &e, AffineEncodingAttr enc, Value stored) {
  if (enc.getZeroPoint() == ZeroPoint::symmetric)
    return e.i32(int64_t(1) << (enc.getBits() - 1));
  if (enc.getZeroPoint() == ZeroPoint::integer_minus_one)
    return arith::AddIOp::create(e.b, e.loc, stored, e.i32(1));
  return stored;
}

Value dequantizeAffine(OpBuilder &b, Location loc, QTensorType type,
                       AffineEncodingAttr enc, ValueRange parts) {
  ArrayRef<int64_t> shape = type.getShape();
  Type elemType = type.getElementType();
  Value codes = unpackCodes(b, loc, parts[0], shape, enc.getBits(),
                            enc.getStorageBits(), enc.getOrder());
  Value scales = parts[1];
  bool hasZeros = enc.getZeroPoint() != ZeroPoint::symmetric;
  Value zeros = hasZeros ? parts[2] : Value();
  Value gIdx = enc.getActOrder() ? parts.back() : Value();
  return generateTensor(
      b, loc, shape, elemType, [&](Emitter &e, ValueRange ivs) -> Value {
        Value q = e.extract(codes, ivs);
        SmallVector<Value> g = groupIndex(e, enc, ivs, gIdx);
        Value s = e.extract(scales, g);
        if (enc.getZeroPoint() == ZeroPoint::float_) {
          Value qf = arith::SIToFPOp::create(e.b, e.loc, elemType, q);
          Value diff = arith::SubFOp::create(e.b, e.loc, qf, e.extract(zeros, g));
          return arith::MulFOp::create(e.b, e.loc, diff, s);
        }
        Value z = actualIntegerZero(e, enc, hasZeros ? e.extract(zeros, g) : Value());
        Value diff = arith::SIToFPOp::create(
            e.b, e.loc, elemType, arith::SubIOp::create(e.b, e.loc, q, z));
        return arith::MulFOp::create(e.b, e.loc, diff, s);
      });
}

SmallVector<Value> quantizeAffine(OpBuilder &b, Location loc, Value input,
                                  QTensorType type, AffineEncodingAttr enc) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> shape = type.getShape();
  int64_t rank = shape.size();
  Type elemType = type.getElementType();
  SmallVector<RankedTensorType> partTypes = type.getPartTypes();
  ArrayRef<int64_t> groupShape = partTypes[1].getShape();
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap toGroup = groupMap(ctx, enc, rank);
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d)
    iterators.push_back(toGroup.getResult(d) == getAffineDimExpr(d, ctx)
                            ? utils::IteratorType::parallel
                            : utils::IteratorType::reduction);

  // lo = min(min(w), 0), hi = max(max(w), 0): reductions seeded with 0.
  Emitter top{b, loc};
  Value zero = top.floatConst(elemType, 0.0);
  Value lo0 = filledTensor(b, loc, groupShape, elemType, zero);
  Value hi0 = filledTensor(b, loc, groupShape, elemType, zero);
  auto range = linalg::GenericOp::create(
      b, loc, TypeRange{lo0.getType(), hi0.getType()}, ValueRange{input},
      ValueRange{lo0, hi0}, ArrayRef<AffineMap>{identity, toGroup, toGroup},
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value lo = arith::MinimumFOp::create(nb, nloc, args[1], args[0]);
        Value hi = arith::MaximumFOp::create(nb, nloc, args[2], args[0]);
        linalg::YieldOp::create(nb, nloc, ValueRange{lo, hi});
      });

  // Scale and actual zero point per group.
  const double maxq = double((int64_t(1) << enc.getBits()) - 1);
  bool floatZero = enc.getZeroPoint() == ZeroPoint::float_;
  Type zeroType = floatZero ? elemType : Type(b.getI32Type());
  AffineMap groupIdentity = b.getMultiDimIdentityMap(rank);
  SmallVector<utils::IteratorType> groupIters(rank,
                                              utils::IteratorType::parallel);
  auto params = linalg::GenericOp::create(
      b, loc,
      TypeRange{RankedTensorType::get(groupShape, elemType),
                RankedTensorType::get(groupShape, zeroType)},
      range.getResults(),
      ValueRange{emptyTensor(b, loc, groupShape, elemType),
                 emptyTensor(b, loc, groupShape, zeroType)},
      ArrayRef<AffineMap>{groupIdentity, groupIdentity, groupIdentity,
                          groupIdentity},
      groupIters, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Emitter e{nb, nloc};
        Value lo = args[0], hi = args[1];
        Value vmaxq = e.floatConst(elemType, maxq);
        Value fzero = e.floatConst(elemType, 0.0);
        Value scale, z;
        if (enc.getZeroPoint() == ZeroPoint::symmetric) {
          Value a = arith::MaximumFOp::create(
              nb, nloc, arith::NegFOp::create(nb, nloc, lo), hi);
          Value isZero = arith::CmpFOp::create(nb, nloc, arith::CmpFPredicate::OEQ,
                                               a, fzero);
          a = arith::SelectOp::create(nb, nloc, isZero,
                                      e.floatConst(elemType, 1.0), a);
          scale = arith::DivFOp::create(
              nb, nloc, arith::AddFOp::create(nb, nloc, a, a), vmaxq);
          z = e.i32(int64_t(1) << (enc.getBits() - 1));
        } else {
          Value same = arith::CmpFOp::create(nb, nloc, arith::CmpFPredicate::OEQ,
                                             lo, hi);
          lo = arith::SelectOp::create(nb, nloc, same,
                                       e.floatConst(elemType, -1.0), lo);
          hi = arith::SelectOp::create(nb, nloc, same,
                                       e.floatConst(elemType, 1.0), hi);
          scale = arith::DivFOp::create(
              nb, nloc, arith::SubFOp::create(nb, nloc, hi, lo), vmaxq);
          Value ratio = arith::DivFOp::create(
              nb, nloc, arith::NegFOp::create(nb, nloc, lo), scale);
          z = floatZero ? ratio
                        : Value(arith::FPToSIOp::create(
                              nb, nloc, nb.getI32Type(),
                              math::RoundEvenOp::create(nb, nloc, ratio)));
        }
        linalg::YieldOp::create(nb, nloc, ValueRange{scale, z});
      });
  Value scales = params.getResult(0), zeros = params.getResult(1);

  // q = clamp(round(w / s) + z, 0, maxq).
  SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
  auto quant = linalg::GenericOp::create(
      b, loc, TypeRange{RankedTensorType::get(shape, b.getI32Type())},
      ValueRange{input, scales, zeros},
      ValueRange{emptyTensor(b, loc, shape, b.getI32Type())},
      ArrayRef<AffineMap>{identity, toGroup, toGroup, identity}, parallel,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Emitter e{nb, nloc};
        Value r = math::RoundEvenOp::create(
            nb, nloc, arith::DivFOp::create(nb, nloc, args[0], args[1]));
        Value zf = floatZero ? args[2]
                             : Value(arith::SIToFPOp::create(nb, nloc, elemType,
                                                             args[2]));
        Value v = arith::AddFOp::create(nb, nloc, r, zf);
        v = arith::MaximumFOp::create(nb, nloc, v, e.floatConst(elemType, 0.0));
        v = arith::MinimumFOp::create(nb, nloc, v, e.floatConst(elemType, maxq));
        linalg::YieldOp::create(
            nb, nloc, ValueRange{arith::FPToUIOp::create(nb, nloc, nb.getI32Type(), v)});
      });

  SmallVector<Value> parts = {packCodes(b, loc, quant.getResult(0), shape,
                                        enc.getBits(), enc.getStorageBits(),
                                        enc.getOrder()),
                              scales};
  if (enc.getZeroPoint() == ZeroPoint::integer_minus_one) {
    Value stored = generateTensor(
        b, loc, groupShape, b.getI32Type(), [&](Emitter &e, ValueRange ivs) {
          return arith::SubIOp::create(e.b, e.loc, e.extract(zeros, ivs),
                                       e.i32(1));
        });
    parts.push_back(stored);
  } else if (enc.getZeroPoint() != ZeroPoint::symmetric) {
    parts.push_back(zeros);
  }
  return parts;
}

//===----------------------------------------------------------------------===//
// Codebook encodings
//===----------------------------------------------------------------------===//

/// Index of the entry of `table` (a rank-1 f32 tensor of `size` entries)
/// nearest to `x`; the lowest index wins a tie.
Value nearestCode(Emitter &e, Value table, int64_t size, Value x) {
  Type f32 = e.b.getF32Type();
  Value inf = e.floatConst(f32, std::numeric_limits<float>::infinity());
  auto loop = scf::ForOp::create(
      e.b, e.loc, e.index(0), e.index(size), e.index(1),
      ValueRange{e.index(0), inf},
      [&](OpBuilder &lb, Location lloc, Value i, ValueRange acc) {
        Emitter le{lb, lloc};
        Value d = math::AbsFOp::create(
            lb, lloc,
            arith::SubFOp::create(lb, lloc, x, le.extract(table, {i})));
        Value better = arith::CmpFOp::create(lb, lloc, arith::CmpFPredicate::OLT,
                                             d, acc[1]);
        scf::YieldOp::create(
            lb, lloc,
            ValueRange{arith::SelectOp::create(lb, lloc, better, i, acc[0]),
                       arith::SelectOp::create(lb, lloc, better, d, acc[1])});
      });
  return loop.getResult(0);
}

/// x / scale, or 0 when scale is 0 (an all-zero block).
Value normalize(Emitter &e, Value x, Value scale) {
  Type f32 = e.b.getF32Type();
  Value zero = e.floatConst(f32, 0.0);
  Value isZero =
      arith::CmpFOp::create(e.b, e.loc, arith::CmpFPredicate::OEQ, scale, zero);
  Value safe = arith::SelectOp::create(e.b, e.loc, isZero,
                                       e.floatConst(f32, 1.0), scale);
  Value q = arith::DivFOp::create(e.b, e.loc, x, safe);
  return arith::SelectOp::create(e.b, e.loc, isZero, zero, q);
}

Value dequantizeCodebook(OpBuilder &b, Location loc, QTensorType type,
                         CodebookEncodingAttr enc, ValueRange parts) {
  ArrayRef<int64_t> shape = type.getShape();
  Type elemType = type.getElementType();
  Emitter top{b, loc};
  SmallVector<float> values = enc.getTable();
  Value table = top.table(values);
  int64_t dq = enc.getDoubleQuantBlock();
  Value dynamicMap = dq ? top.table(numerics::dynamicMap8()) : Value();
  Value codes = unpackCodes(b, loc, parts[0], shape, enc.getCodeBits(),
                            enc.getStorageBits(), enc.getOrder());
  return generateTensor(
      b, loc, shape, elemType, [&](Emitter &e, ValueRange ivs) -> Value {
        Value code = e.extract(codes, ivs);
        Value block = arith::DivUIOp::create(e.b, e.loc, e.linearize(ivs, shape),
                                             e.index(enc.getBlockSize()));
        Value absmax;
        if (dq) {
          Value c = arith::ExtUIOp::create(e.b, e.loc, e.b.getI32Type(),
                                           e.extract(parts[1], {block}));
          Value d = e.extract(dynamicMap, {arith::IndexCastOp::create(
                                               e.b, e.loc, e.b.getIndexType(), c)});
          Value outer = e.extract(
              parts[2], {arith::DivUIOp::create(e.b, e.loc, block, e.index(dq))});
          absmax = arith::AddFOp::create(
              e.b, e.loc, arith::MulFOp::create(e.b, e.loc, d, outer),
              e.extract(parts[3], {e.index(0)}));
        } else {
          absmax = e.extract(parts[1], {block});
        }
        Value t = e.extract(table, {arith::IndexCastOp::create(
                                       e.b, e.loc, e.b.getIndexType(), code)});
        return e.castFloat(arith::MulFOp::create(e.b, e.loc, t, absmax),
                           elemType);
      });
}

SmallVector<Value> quantizeCodebook(OpBuilder &b, Location loc, Value input,
                                    QTensorType type,
                                    CodebookEncodingAttr enc) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> shape = type.getShape();
  int64_t rank = shape.size();
  Type f32 = b.getF32Type();
  Emitter top{b, loc};
  int64_t blocks = enc.getNumBlocks(type.getNumElements());

  // absmax per block of the flattened tensor.
  AffineExpr flat = getAffineConstantExpr(0, ctx);
  for (int64_t d = 0; d < rank; ++d)
    flat = flat * shape[d] + getAffineDimExpr(d, ctx);
  AffineMap toBlock =
      AffineMap::get(rank, 0, flat.floorDiv(enc.getBlockSize()), ctx);
  SmallVector<utils::IteratorType> reduction(rank,
                                             utils::IteratorType::reduction);
  Value init = filledTensor(b, loc, {blocks}, f32, top.floatConst(f32, 0.0));
  Value absmax =
      linalg::GenericOp::create(
          b, loc, TypeRange{init.getType()}, ValueRange{input},
          ValueRange{init},
          ArrayRef<AffineMap>{b.getMultiDimIdentityMap(rank), toBlock},
          reduction,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            Emitter e{nb, nloc};
            Value a = math::AbsFOp::create(nb, nloc, e.castFloat(args[0], f32));
            linalg::YieldOp::create(
                nb, nloc,
                ValueRange{arith::MaximumFOp::create(nb, nloc, args[1], a)});
          })
          .getResult(0);

  SmallVector<float> values = enc.getTable();
  Value table = top.table(values);
  Value codes = generateTensor(
      b, loc, shape, b.getI32Type(), [&](Emitter &e, ValueRange ivs) {
        Value block = arith::DivUIOp::create(e.b, e.loc, e.linearize(ivs, shape),
                                             e.index(enc.getBlockSize()));
        Value x = normalize(e, e.castFloat(e.extract(input, ivs), f32),
                            e.extract(absmax, {block}));
        Value code = nearestCode(e, table, values.size(), x);
        return arith::IndexCastOp::create(e.b, e.loc, e.b.getI32Type(), code);
      });
  SmallVector<Value> parts = {packCodes(b, loc, codes, shape,
                                        enc.getCodeBits(),
                                        enc.getStorageBits(), enc.getOrder())};
  int64_t dq = enc.getDoubleQuantBlock();
  if (!dq) {
    parts.push_back(absmax);
    return parts;
  }

  // Double quantization: offset = mean(absmax); the centred values are
  // quantized blockwise (dq blocks) into the signed dynamic map.
  Value sum0 = filledTensor(b, loc, {1}, f32, top.floatConst(f32, 0.0));
  AffineMap toZero = AffineMap::get(1, 0, getAffineConstantExpr(0, ctx), ctx);
  Value sum =
      linalg::GenericOp::create(
          b, loc, TypeRange{sum0.getType()}, ValueRange{absmax},
          ValueRange{sum0},
          ArrayRef<AffineMap>{b.getMultiDimIdentityMap(1), toZero},
          ArrayRef<utils::IteratorType>{utils::IteratorType::reduction},
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            linalg::YieldOp::create(
                nb, nloc,
                ValueRange{arith::AddFOp::create(nb, nloc, args[1], args[0])});
          })
          .getResult(0);
  Value offset = generateTensor(b, loc, {1}, f32, [&](Emitter &e, ValueRange ivs) {
    return arith::DivFOp::create(e.b, e.loc, e.extract(sum, ivs),
                                 e.floatConst(f32, double(blocks)));
  });
  int64_t outerBlocks = (blocks + dq - 1) / dq;
  AffineMap toOuter =
      AffineMap::get(1, 0, getAffineDimExpr(0, ctx).floorDiv(dq), ctx);
  Value outer0 = filledTensor(b, loc, {outerBlocks}, f32, top.floatConst(f32, 0.0));
  Value outer =
      linalg::GenericOp::create(
          b, loc, TypeRange{outer0.getType()}, ValueRange{absmax},
          ValueRange{outer0},
          ArrayRef<AffineMap>{b.getMultiDimIdentityMap(1), toOuter},
          ArrayRef<utils::IteratorType>{utils::IteratorType::reduction},
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            Emitter e{nb, nloc};
            Value c = arith::SubFOp::create(nb, nloc, args[0],
                                            e.extract(offset, {e.index(0)}));
            linalg::YieldOp::create(
                nb, nloc,
                ValueRange{arith::MaximumFOp::create(
                    nb, nloc, args[1], math::AbsFOp::create(nb, nloc, c))});
          })
          .getResult(0);
  Value dynamicMap = top.table(numerics::dynamicMap8());
  Value absmaxCodes = generateTensor(
      b, loc, {blocks}, b.getI8Type(), [&](Emitter &e, ValueRange ivs) {
        Value c = arith::SubFOp::create(e.b, e.loc, e.extract(absmax, ivs),
                                        e.extract(offset, {e.index(0)}));
        Value o = e.extract(
            outer, {arith::DivUIOp::create(e.b, e.loc, ivs[0], e.index(dq))});
        Value code = nearestCode(e, dynamicMap, 256, normalize(e, c, o));
        return arith::IndexCastOp::create(e.b, e.loc, e.b.getI8Type(), code);
      });
  parts.append({absmaxCodes, outer, offset});
  return parts;
}

//===----------------------------------------------------------------------===//
// Dispatch over encodings
//===----------------------------------------------------------------------===//

/// N:M sparse: element c of a row is the kept value whose index equals
/// c mod m within group c / m, else 0 (a select chain over the n slots).
Value dequantizeSparse(OpBuilder &b, Location loc, QTensorType type,
                       SparseEncodingAttr enc, ValueRange parts) {
  ArrayRef<int64_t> shape = type.getShape();
  Type elemType = type.getElementType();
  const int64_t n = enc.getN(), m = enc.getM();
  SmallVector<int64_t> kept(shape);
  kept.back() = enc.getKeptPerRow(shape.back());
  Value indices = unpackCodes(b, loc, parts[0], kept, enc.getCodeBits(),
                              enc.getStorageBits(), enc.getOrder());
  Value values = parts[1];
  return generateTensor(
      b, loc, shape, elemType, [&](Emitter &e, ValueRange ivs) -> Value {
        Value last = ivs.back();
        Value group = arith::DivUIOp::create(e.b, e.loc, last, e.index(m));
        Value pos = arith::IndexCastOp::create(
            e.b, e.loc, e.b.getI32Type(),
            arith::RemUIOp::create(e.b, e.loc, last, e.index(m)));
        Value result = e.floatConst(elemType, 0.0);
        SmallVector<Value> at(ivs.drop_back());
        at.push_back(Value());
        for (int64_t j = 0; j < n; ++j) {
          at.back() = arith::AddIOp::create(
              e.b, e.loc, arith::MulIOp::create(e.b, e.loc, group, e.index(n)),
              e.index(j));
          Value hit = arith::CmpIOp::create(e.b, e.loc, arith::CmpIPredicate::eq,
                                            e.extract(indices, at), pos);
          result = arith::SelectOp::create(e.b, e.loc, hit,
                                           e.extract(values, at), result);
        }
        return result;
      });
}

/// SpQR: two-level statistics, then the float16 outliers written over
/// the dense result row by row (CSR).
Value dequantizeSpQR(OpBuilder &b, Location loc, QTensorType type,
                     SpQREncodingAttr enc, ValueRange parts) {
  ArrayRef<int64_t> shape = type.getShape();
  Type elemType = type.getElementType();
  const int64_t out = shape[0], in = shape[1], groups = in / enc.getGroupSize();
  Value codes = unpackCodes(b, loc, parts[0], shape, enc.getBits(), 8,
                            PackOrder::lsb_first);
  Value scaleCodes = unpackCodes(b, loc, parts[1], {groups, out},
                                 enc.getScaleBits(), 8, PackOrder::lsb_first);
  Value zeroCodes = unpackCodes(b, loc, parts[4], {groups, out},
                                enc.getZeroBits(), 8, PackOrder::lsb_first);
  Value gIdx = enc.getActOrder() ? parts[10] : Value();
  Value dense = generateTensor(
      b, loc, shape, elemType, [&](Emitter &e, ValueRange ivs) -> Value {
        Value r = ivs[0], c = ivs[1];
        Value g = gIdx ? arith::IndexCastOp::create(e.b, e.loc,
                                                    e.b.getIndexType(),
                                                    e.extract(gIdx, {c}))
                       : Value(arith::DivUIOp::create(
                             e.b, e.loc, c, e.index(enc.getGroupSize())));
        Value k = arith::DivUIOp::create(e.b, e.loc, r,
                                         e.index(enc.getStatsGroupSize()));
        auto level2 = [&](Value codesT, Value scales, Value zeros) {
          Value code = arith::SIToFPOp::create(e.b, e.loc, elemType,
                                               e.extract(codesT, {g, r}));
          return arith::MulFOp::create(
              e.b, e.loc, e.extract(scales, {g, k}),
              arith::SubFOp::create(e.b, e.loc, code,
                                    e.extract(zeros, {g, k})));
        };
        Value s = level2(scaleCodes, parts[2], parts[3]);
        Value z = level2(zeroCodes, parts[5], parts[6]);
        Value q = arith::SIToFPOp::create(e.b, e.loc, elemType,
                                          e.extract(codes, ivs));
        return arith::MulFOp::create(e.b, e.loc, s,
                                     arith::SubFOp::create(e.b, e.loc, q, z));
      });
  if (enc.getOutliers() == 0)
    return dense;
  Emitter top{b, loc};
  auto toIndex = [](Emitter &e, Value i32) {
    return arith::IndexCastOp::create(e.b, e.loc, e.b.getIndexType(), i32);
  };
  auto rows = scf::ForOp::create(
      b, loc, top.index(0), top.index(out), top.index(1), ValueRange{dense},
      [&](OpBuilder &rb, Location rl, Value r, ValueRange acc) {
        Emitter re{rb, rl};
        Value next = arith::AddIOp::create(rb, rl, r, re.index(1));
        Value first = toIndex(re, re.extract(parts[7], {r}));
        Value last = toIndex(re, re.extract(parts[7], {next}));
        auto entries = scf::ForOp::create(
            rb, rl, first, last, re.index(1), acc,
            [&](OpBuilder &kb, Location kl, Value k, ValueRange t) {
              Emitter ke{kb, kl};
              Value col = toIndex(ke, ke.extract(parts[8], {k}));
              Value v = ke.castFloat(ke.extract(parts[9], {k}), elemType);
              Value updated =
                  tensor::InsertOp::create(kb, kl, v, t[0], ValueRange{r, col});
              scf::YieldOp::create(kb, kl, ValueRange{updated});
            });
        scf::YieldOp::create(rb, rl, entries.getResults());
      });
  return rows.getResult(0);
}

/// Bitmask: rows decode independently from their offsets; along a row a
/// running index into `values` advances at every set bit. The value is
/// read branch-free at min(index, kept - 1) and selected away when the
/// bit is clear.
Value dequantizeBitmask(OpBuilder &b, Location loc, QTensorType type,
                        BitmaskEncodingAttr enc, ValueRange parts) {
  ArrayRef<int64_t> shape = type.getShape();
  Type elemType = type.getElementType();
  const int64_t out = shape[0], in = shape[1];
  Emitter top{b, loc};
  Value empty = tensor::EmptyOp::create(b, loc, shape, elemType);
  if (enc.getKept() == 0)
    return linalg::FillOp::create(b, loc,
                                  ValueRange{top.floatConst(elemType, 0.0)},
                                  ValueRange{empty})
        .getResult(0);
  auto rows = scf::ForOp::create(
      b, loc, top.index(0), top.index(out), top.index(1), ValueRange{empty},
      [&](OpBuilder &rb, Location rl, Value r, ValueRange acc) {
        Emitter re{rb, rl};
        Value first = re.i64ToIndex(re.extract(parts[2], {r}));
        auto cols = scf::ForOp::create(
            rb, rl, re.index(0), re.index(in), re.index(1),
            ValueRange{acc[0], first},
            [&](OpBuilder &cb, Location cl, Value c, ValueRange it) {
              Emitter ce{cb, cl};
              Value byte = ce.extract(
                  parts[0],
                  {r, arith::DivUIOp::create(cb, cl, c, ce.index(8))});
              Value shift = arith::IndexCastOp::create(
                  cb, cl, cb.getI8Type(),
                  arith::RemUIOp::create(cb, cl, c, ce.index(8)));
              Value bit = arith::AndIOp::create(
                  cb, cl, arith::ShRUIOp::create(cb, cl, byte, shift),
                  arith::ConstantOp::create(cb, cl, cb.getI8IntegerAttr(1)));
              Value set = arith::CmpIOp::create(
                  cb, cl, arith::CmpIPredicate::ne, bit,
                  arith::ConstantOp::create(cb, cl, cb.getI8IntegerAttr(0)));
              Value at = arith::MinUIOp::create(cb, cl, it[1],
                                                ce.index(enc.getKept() - 1));
              Value v = arith::SelectOp::create(
                  cb, cl, set, ce.extract(parts[1], {at}),
                  ce.floatConst(elemType, 0.0));
              Value updated =
                  tensor::InsertOp::create(cb, cl, v, it[0], ValueRange{r, c});
              Value next = arith::SelectOp::create(
                  cb, cl, set, arith::AddIOp::create(cb, cl, it[1], ce.index(1)),
                  it[1]);
              scf::YieldOp::create(cb, cl, ValueRange{updated, next});
            });
        scf::YieldOp::create(rb, rl, ValueRange{cols.getResult(0)});
      });
  return rows.getResult(0);
}

Value dequantize(OpBuilder &b, Location loc, QTensorType type,
                 ValueRange parts) {
  if (auto spqr = dyn_cast<SpQREncodingAttr>(type.getEncoding()))
    return dequantizeSpQR(b, loc, type, spqr, parts);
  if (auto affine = dyn_cast<AffineEncodingAttr>(type.getEncoding()))
    return dequantizeAffine(b, loc, type, affine, parts);
  if (auto sparse = dyn_cast<SparseEncodingAttr>(type.getEncoding()))
    return dequantizeSparse(b, loc, type, sparse, parts);
  if (auto bitmask = dyn_cast<BitmaskEncodingAttr>(type.getEncoding()))
    return dequantizeBitmask(b, loc, type, bitmask, parts);
  return dequantizeCodebook(b, loc, type,
                            cast<CodebookEncodingAttr>(type.getEncoding()),
                            parts);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// Flattens the per-operand value ranges of a 1:N adaptor.
SmallVector<Value> flatten(ArrayRef<ValueRange> ranges) {
  SmallVector<Value> out;
  for (ValueRange r : ranges)
    out.append(r.begin(), r.end());
  return out;
}

struct AssembleLowering : OpConversionPattern<AssembleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AssembleOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithMultiple(op, {flatten(adaptor.getParts())});
    return success();
  }
};

struct DisassembleLowering : OpConversionPattern<DisassembleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DisassembleOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, SmallVector<Value>(adaptor.getSource()));
    return success();
  }
};

struct QuantizeLowering : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizeOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    QTensorType type = op.getResult().getType();
    Value input = adaptor.getInput().front();
    SmallVector<Value> parts;
    if (auto affine = dyn_cast<AffineEncodingAttr>(type.getEncoding()))
      parts = quantizeAffine(rewriter, op.getLoc(), input, type, affine);
    else
      parts = quantizeCodebook(rewriter, op.getLoc(), input, type,
                               cast<CodebookEncodingAttr>(type.getEncoding()));
    rewriter.replaceOpWithMultiple(op, {parts});
    return success();
  }
};

struct DequantizeLowering : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, dequantize(rewriter, op.getLoc(),
                                      op.getInput().getType(),
                                      adaptor.getInput()));
    return success();
  }
};

/// y[m, n] + bias[n].
Value addBias(OpBuilder &b, Location loc, Value y, Value bias) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = b.getMultiDimIdentityMap(2);
  AffineMap col = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  return linalg::GenericOp::create(
             b, loc, TypeRange{y.getType()}, ValueRange{bias}, ValueRange{y},
             ArrayRef<AffineMap>{col, id},
             ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                           utils::IteratorType::parallel},
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nloc,
                   ValueRange{arith::AddFOp::create(nb, nloc, args[1], args[0])});
             })
      .getResult(0);
}

/// LLM.int8()'s mixed decomposition of x [M, K] times the 8-bit symmetric
/// per-row weight (codes [N, K] packed, scales [N, 1]); see hfq.linear.
Value int8MixedLinear(OpBuilder &b, Location loc, Value x, ValueRange parts,
                      QTensorType wType, AffineEncodingAttr enc,
                      double threshold) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  int64_t N = wType.getShape()[0];
  Value codes = unpackCodes(b, loc, parts[0], wType.getShape(), enc.getBits(),
                            enc.getStorageBits(), enc.getOrder());
  Value scales = parts[1];
  const bool outliers = threshold > 0.0;
  Emitter top{b, loc};
  Value T = top.floatConst(f32, threshold);
  OpFoldResult M = tensor::getMixedSize(b, loc, x, 0);
  OpFoldResult K = tensor::getMixedSize(b, loc, x, 1);
  AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
             k = getAffineDimExpr(2, ctx);
  auto map = [&](unsigned dims, ArrayRef<AffineExpr> r) {
    return AffineMap::get(dims, 0, r, ctx);
  };
  using utils::IteratorType;
  auto filled = [&](ArrayRef<OpFoldResult> sizes, Type t, Value v) {
    Value e = tensor::EmptyOp::create(b, loc, sizes, t);
    return linalg::FillOp::create(b, loc, ValueRange{v}, ValueRange{e})
        .getResult(0);
  };
  auto generic = [&](Value init, ValueRange inputs, ArrayRef<AffineMap> maps,
                     ArrayRef<IteratorType> iterators,
                     function_ref<Value(Emitter &, ValueRange)> body) {
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
               maps, iterators,
               [&](OpBuilder &nb, Location nloc, ValueRange args) {
                 Emitter e{nb, nloc};
                 linalg::YieldOp::create(nb, nloc, body(e, args));
               })
        .getResult(0);
  };
  Value zeroF = top.floatConst(f32, 0.0);
  // Column k is an outlier column when max_m |x[m, k]| >= T.
  Value colMax = generic(filled({K}, f32, zeroF), {x},
                         {map(2, {m, n}), map(2, {n})},
                         {IteratorType::reduction, IteratorType::parallel},
                         [&](Emitter &e, ValueRange a) -> Value {
                           Value v = math::AbsFOp::create(e.b, e.loc, a[0]);
                           return arith::MaximumFOp::create(e.b, e.loc, a[1], v);
                         });
  auto isOutlier = [&](Emitter &e, Value v) -> Value {
    if (!outliers)
      return arith::ConstantOp::create(e.b, e.loc, e.b.getBoolAttr(false));
    return arith::CmpFOp::create(e.b, e.loc, arith::CmpFPredicate::OGE, v, T);
  };
  // Per-token scale: max |x| over the elements below the threshold.
  Value rowMax = generic(filled({M}, f32, zeroF), {x},
                         {map(2, {m, n}), map(2, {m})},
                         {IteratorType::parallel, IteratorType::reduction},
                         [&](Emitter &e, ValueRange a) -> Value {
                           Value v = math::AbsFOp::create(e.b, e.loc, a[0]);
                           Value keep = arith::SelectOp::create(
                               e.b, e.loc, isOutlier(e, v),
                               e.floatConst(f32, 0.0), v);
                           return arith::MaximumFOp::create(e.b, e.loc, a[1],
                                                            keep);
                         });
  // xq = round(x * (127 / a_t)); 0 in outlier columns and all-zero rows.
  Value xq = generic(
      tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{M, K}, i32),
      {x, colMax, rowMax}, {map(2, {m, n}), map(2, {n}), map(2, {m}), map(2, {m, n})},
      {IteratorType::parallel, IteratorType::parallel},
      [&](Emitter &e, ValueRange a) -> Value {
        Value zero = e.floatConst(f32, 0.0);
        Value rowZero = arith::CmpFOp::create(e.b, e.loc,
                                              arith::CmpFPredicate::OEQ, a[2], zero);
        Value safe = arith::SelectOp::create(e.b, e.loc, rowZero,
                                             e.floatConst(f32, 1.0), a[2]);
        Value mul = arith::DivFOp::create(e.b, e.loc, e.floatConst(f32, 127.0), safe);
        Value r = math::RoundEvenOp::create(
            e.b, e.loc, arith::MulFOp::create(e.b, e.loc, a[0], mul));
        Value drop = arith::OrIOp::create(e.b, e.loc, rowZero, isOutlier(e, a[1]));
        Value q = arith::SelectOp::create(e.b, e.loc, drop, zero, r);
        return arith::FPToSIOp::create(e.b, e.loc, i32, q);
      });
  // Exact integer products: sum_k xq[m, k] * (code[n, k] - 128).
  Value acc = generic(
      filled({M, b.getIndexAttr(N)}, i32, top.i32(0)), {xq, codes},
      {map(3, {m, k}), map(3, {n, k}), map(3, {m, n})},
      {IteratorType::parallel, IteratorType::parallel, IteratorType::reduction},
      [&](Emitter &e, ValueRange a) -> Value {
        Value w = arith::SubIOp::create(e.b, e.loc, a[1], e.i32(128));
        Value p = arith::MulIOp::create(e.b, e.loc, a[0], w);
        return arith::AddIOp::create(e.b, e.loc, a[2], p);
      });
  // Dequantize: acc * (a_t * s_n) / 127.
  AffineMap scaleMap = map(2, {n, getAffineConstantExpr(0, ctx)});
  Value y = generic(
      tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{M, b.getIndexAttr(N)}, f32),
      {acc, rowMax, scales},
      {map(2, {m, n}), map(2, {m}), scaleMap, map(2, {m, n})},
      {IteratorType::parallel, IteratorType::parallel},
      [&](Emitter &e, ValueRange a) -> Value {
        Value f = arith::SIToFPOp::create(e.b, e.loc, f32, a[0]);
        Value st = arith::MulFOp::create(e.b, e.loc, a[1], a[2]);
        Value v = arith::MulFOp::create(e.b, e.loc, f, st);
        return arith::DivFOp::create(e.b, e.loc, v, e.floatConst(f32, 127.0));
      });
  if (!outliers)
    return y;
  // Outlier columns in float against the dequantized weight.
  return generic(
      y, {x, colMax, codes, scales},
      {map(3, {m, k}), map(3, {k}), map(3, {n, k}),
       map(3, {n, getAffineConstantExpr(0, ctx)}), map(3, {m, n})},
      {IteratorType::parallel, IteratorType::parallel, IteratorType::reduction},
      [&](Emitter &e, ValueRange a) -> Value {
        Value w = arith::SIToFPOp::create(
            e.b, e.loc, f32, arith::SubIOp::create(e.b, e.loc, a[2], e.i32(128)));
        Value wd = arith::MulFOp::create(e.b, e.loc, w, a[3]);
        Value xo = arith::SelectOp::create(e.b, e.loc, isOutlier(e, a[1]), a[0],
                                           e.floatConst(f32, 0.0));
        return arith::AddFOp::create(e.b, e.loc, a[4],
                                     arith::MulFOp::create(e.b, e.loc, xo, wd));
      });
}

struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LinearOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    if (FloatAttr threshold = op.getOutlierThresholdAttr()) {
      // The verifier guarantees a rank-2 f32 input and an int8 weight.
      auto qtype = cast<QTensorType>(op.getWeight().getType());
      Value y = int8MixedLinear(b, loc, adaptor.getInput().front(),
                                adaptor.getWeight(), qtype,
                                cast<AffineEncodingAttr>(qtype.getEncoding()),
                                threshold.getValueAsDouble());
      if (op.getBias())
        y = addBias(b, loc, y, adaptor.getBias().front());
      rewriter.replaceOp(op, y);
      return success();
    }
    Value weight;
    if (auto qtype = dyn_cast<QTensorType>(op.getWeight().getType()))
      weight = dequantize(b, loc, qtype, adaptor.getWeight());
    else
      weight = adaptor.getWeight().front();
    Value x = adaptor.getInput().front();
    auto xType = cast<RankedTensorType>(x.getType());
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    Type elemType = xType.getElementType();
    int64_t rank = xType.getRank();
    int64_t out = resultType.getShape().back();

    // View the input as [rows, in].
    Value rows2d = x;
    if (rank == 1) {
      rows2d = tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get({1, xType.getDimSize(0)}, elemType), x,
          ArrayRef<ReassociationIndices>{{0, 1}});
    } else if (rank > 2) {
      ReassociationIndices lead;
      for (int64_t d = 0; d + 1 < rank; ++d)
        lead.push_back(d);
      rows2d = tensor::CollapseShapeOp::create(
          b, loc, x, ArrayRef<ReassociationIndices>{lead, {rank - 1}});
    }
    SmallVector<OpFoldResult> outSizes = {
        tensor::getMixedSize(b, loc, rows2d, 0), b.getIndexAttr(out)};
    Value init = tensor::EmptyOp::create(b, loc, outSizes, elemType);
    Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(elemType, 0.0));
    init = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{init})
               .getResult(0);
    MLIRContext *ctx = b.getContext();
    AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
               k = getAffineDimExpr(2, ctx);
    SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {m, k}, ctx),
                                   AffineMap::get(3, 0, {n, k}, ctx),
                                   AffineMap::get(3, 0, {m, n}, ctx)};
    Value y = linalg::GenericOp::create(
                  b, loc, TypeRange{init.getType()}, ValueRange{rows2d, weight},
                  ValueRange{init}, maps,
                  ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                                utils::IteratorType::parallel,
                                                utils::IteratorType::reduction},
                  [&](OpBuilder &nb, Location nloc, ValueRange args) {
                    Value p = arith::MulFOp::create(nb, nloc, args[0], args[1]);
                    linalg::YieldOp::create(
                        nb, nloc,
                        ValueRange{arith::AddFOp::create(nb, nloc, args[2], p)});
                  })
                  .getResult(0);
    if (op.getBias())
      y = addBias(b, loc, y, adaptor.getBias().front());

    // Back to the result's shape.
    if (rank != 2) {
      ReassociationIndices lead;
      for (int64_t d = 0; d + 1 < rank; ++d)
        lead.push_back(d);
      SmallVector<ReassociationIndices> reassoc =
          rank == 1 ? SmallVector<ReassociationIndices>{{0, 1}}
                    : SmallVector<ReassociationIndices>{lead, {rank - 1}};
      SmallVector<OpFoldResult> shape;
      for (int64_t d = 0; d + 1 < rank; ++d)
        shape.push_back(tensor::getMixedSize(b, loc, x, d));
      shape.push_back(b.getIndexAttr(out));
      if (rank == 1)
        y = tensor::CollapseShapeOp::create(b, loc, resultType, y, reassoc);
      else
        y = tensor::ExpandShapeOp::create(b, loc, resultType, y, reassoc, shape);
    }
    rewriter.replaceOp(op, y);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct ConvertHFQToLinalgPass
    : mlir::hfq::impl::ConvertHFQToLinalgBase<ConvertHFQToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    TypeConverter converter;
    populateHFQToLinalgTypeConversion(converter);

    ConversionTarget target(*ctx);
    target.addIllegalDialect<HFQDialect>();
    target.markUnknownOpDynamicallyLegal(
        [&](Operation *op) { return converter.isLegal(op); });
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return converter.isSignatureLegal(op.getFunctionType()) &&
             converter.isLegal(&op.getBody());
    });

    RewritePatternSet patterns(ctx);
    populateHFQToLinalgConversionPatterns(converter, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   converter);
    populateCallOpTypeConversionPattern(patterns, converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    scf::populateSCFStructuralTypeConversions(converter, patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::hfq::populateHFQToLinalgTypeConversion(TypeConverter &converter) {
  converter.addConversion([](Type type) { return type; });
  converter.addConversion(
      [](QTensorType type, SmallVectorImpl<Type> &results) -> LogicalResult {
        for (RankedTensorType part : type.getPartTypes())
          results.push_back(part);
        return success();
      });
}

void mlir::hfq::populateHFQToLinalgConversionPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<AssembleLowering, DisassembleLowering, QuantizeLowering,
               DequantizeLowering, LinearLowering>(converter,
                                                   patterns.getContext());
}

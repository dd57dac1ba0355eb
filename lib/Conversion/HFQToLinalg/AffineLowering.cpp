//===- AffineLowering.cpp - reference lowering of #hfq.affine ---*- C++ -*-===//
//
// `w = (q - z) * s` with per-group scales and zeros (RTN, GPTQ, AWQ, HQQ),
// and round-to-nearest quantization with GPTQ's range rule.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;

namespace {

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
  FloatType elemType = type.getElementType();
  Value codes = unpackCodes(b, loc, parts[0], shape, enc.getBits(),
                            enc.getStorageBits(), enc.getOrder());
  Value codeTable =
      enc.getCodeType() ? narrowFloatTable(b, loc, enc.getCodeType()) : Value();
  // Quantized scales dequantize through their own encoding first.
  unsigned scaleParts = enc.getNumScaleParts();
  Value scales = parts[1];
  if (EncodingAttrInterface nested = enc.getScaleEncoding())
    scales = dequantizeNested(b, loc, nested, enc.getGroupShape(shape),
                              elemType, parts.slice(1, scaleParts));
  Type scaleElem = cast<RankedTensorType>(scales.getType()).getElementType();
  Value scaleTable = isNarrowFloat(scaleElem)
                         ? narrowFloatTable(b, loc, cast<FloatType>(scaleElem))
                         : Value();
  bool hasZeros = enc.getZeroPoint() != ZeroPoint::symmetric;
  Value zeros = hasZeros ? parts[1 + scaleParts] : Value();
  // So do quantized float zeros (SpQR's second level).
  if (EncodingAttrInterface nested = enc.getZeroEncoding())
    zeros =
        dequantizeNested(b, loc, nested, enc.getGroupShape(shape), elemType,
                         parts.slice(1 + scaleParts, enc.getNumZeroParts()));
  if (enc.getPackedZeros())
    zeros = unpackCodes(b, loc, zeros, enc.getGroupShape(shape), enc.getBits(),
                        8, PackOrder::lsb_first);
  Value gIdx = enc.getActOrder() ? parts.back() : Value();
  return generateTensor(
      b, loc, shape, elemType, [&](Emitter &e, ValueRange ivs) -> Value {
        Value q = e.extract(codes, ivs);
        SmallVector<Value> g = groupIndex(e, enc, ivs, gIdx);
        // Scales (and float zeros) may be stored narrower than elemType.
        Value s = e.extract(scales, g);
        s = e.castFloat(scaleTable ? e.lookup(scaleTable, s) : s, elemType);
        if (codeTable)
          return arith::MulFOp::create(
              e.b, e.loc, e.castFloat(e.lookup(codeTable, q), elemType), s);
        if (enc.getZeroPoint() == ZeroPoint::float_) {
          Value qf = arith::SIToFPOp::create(e.b, e.loc, elemType, q);
          Value diff = arith::SubFOp::create(
              e.b, e.loc, qf, e.castFloat(e.extract(zeros, g), elemType));
          return arith::MulFOp::create(e.b, e.loc, diff, s);
        }
        Value z =
            actualIntegerZero(e, enc, hasZeros ? e.extract(zeros, g) : Value());
        Value diff = arith::SIToFPOp::create(
            e.b, e.loc, elemType, arith::SubIOp::create(e.b, e.loc, q, z));
        return arith::MulFOp::create(e.b, e.loc, diff, s);
      });
}

/// `x` rounded to the scale storage type `storage` and widened back, with a
/// positive value below its smallest subnormal raised to that subnormal (as
/// numerics::roundToScaleType).
Value roundToStorage(Emitter &e, Value x, FloatType storage) {
  auto type = cast<FloatType>(x.getType());
  if (storage == type)
    return x;
  Value back = e.castFloat(e.castFloat(x, storage), type);
  Value zero = e.floatConst(type, 0.0);
  Value underflow = arith::AndIOp::create(
      e.b, e.loc,
      arith::CmpFOp::create(e.b, e.loc, arith::CmpFPredicate::OEQ, back, zero),
      arith::CmpFOp::create(e.b, e.loc, arith::CmpFPredicate::OGT, x, zero));
  llvm::APFloat smallest =
      llvm::APFloat::getSmallest(storage.getFloatSemantics());
  bool lost;
  smallest.convert(type.getFloatSemantics(), llvm::APFloat::rmNearestTiesToEven,
                   &lost);
  Value floor =
      arith::ConstantOp::create(e.b, e.loc, e.b.getFloatAttr(type, smallest));
  return arith::SelectOp::create(e.b, e.loc, underflow, floor, back);
}

/// Round-to-nearest into integer codes with scales of a type LLVM computes
/// in; float codes, 8-bit scales and quantized scales come from
/// hfq-quantize-linears (numerics), so hfq.quantize refuses them.
FailureOr<SmallVector<Value>> quantizeAffine(OpBuilder &b, Location loc,
                                             Value input, QTensorType type,
                                             AffineEncodingAttr enc) {
  if (!enc.hasIntegerCodesAndPlainScales())
    return failure();
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
  FloatType scaleType = enc.getScaleStorageType(cast<FloatType>(elemType));
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
          Value isZero = arith::CmpFOp::create(
              nb, nloc, arith::CmpFPredicate::OEQ, a, fzero);
          a = arith::SelectOp::create(nb, nloc, isZero,
                                      e.floatConst(elemType, 1.0), a);
          scale = roundToStorage(
              e,
              arith::DivFOp::create(
                  nb, nloc, arith::AddFOp::create(nb, nloc, a, a), vmaxq),
              scaleType);
          z = e.i32(int64_t(1) << (enc.getBits() - 1));
        } else {
          Value same = arith::CmpFOp::create(nb, nloc,
                                             arith::CmpFPredicate::OEQ, lo, hi);
          lo = arith::SelectOp::create(nb, nloc, same,
                                       e.floatConst(elemType, -1.0), lo);
          hi = arith::SelectOp::create(nb, nloc, same,
                                       e.floatConst(elemType, 1.0), hi);
          scale = roundToStorage(
              e,
              arith::DivFOp::create(
                  nb, nloc, arith::SubFOp::create(nb, nloc, hi, lo), vmaxq),
              scaleType);
          Value ratio = arith::DivFOp::create(
              nb, nloc, arith::NegFOp::create(nb, nloc, lo), scale);
          if (floatZero) {
            z = roundToStorage(e, ratio, scaleType);
          } else {
            // Clamped: a rounded scale can push round(-lo / s) past maxq.
            Value r = math::RoundEvenOp::create(nb, nloc, ratio);
            r = arith::MaximumFOp::create(nb, nloc, r, fzero);
            r = arith::MinimumFOp::create(nb, nloc, r, vmaxq);
            z = arith::FPToSIOp::create(nb, nloc, nb.getI32Type(), r);
          }
        }
        linalg::YieldOp::create(nb, nloc, ValueRange{scale, z});
      });
  Value scales = params.getResult(0), zeros = params.getResult(1);

  // q = clamp(round(w / s) + z, 0, maxq).
  SmallVector<utils::IteratorType> parallel(rank,
                                            utils::IteratorType::parallel);
  auto quant = linalg::GenericOp::create(
      b, loc, TypeRange{RankedTensorType::get(shape, b.getI32Type())},
      ValueRange{input, scales, zeros},
      ValueRange{emptyTensor(b, loc, shape, b.getI32Type())},
      ArrayRef<AffineMap>{identity, toGroup, toGroup, identity}, parallel,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Emitter e{nb, nloc};
        Value r = math::RoundEvenOp::create(
            nb, nloc, arith::DivFOp::create(nb, nloc, args[0], args[1]));
        Value zf =
            floatZero
                ? args[2]
                : Value(arith::SIToFPOp::create(nb, nloc, elemType, args[2]));
        Value v = arith::AddFOp::create(nb, nloc, r, zf);
        v = arith::MaximumFOp::create(nb, nloc, v, e.floatConst(elemType, 0.0));
        v = arith::MinimumFOp::create(nb, nloc, v,
                                      e.floatConst(elemType, maxq));
        linalg::YieldOp::create(
            nb, nloc,
            ValueRange{arith::FPToUIOp::create(nb, nloc, nb.getI32Type(), v)});
      });

  // Scales (and float zeros) as stored: exact, they were rounded above.
  auto narrowed = [&](Value t) {
    if (scaleType == elemType)
      return t;
    return generateTensor(b, loc, groupShape, scaleType,
                          [&](Emitter &e, ValueRange ivs) {
                            return e.castFloat(e.extract(t, ivs), scaleType);
                          });
  };
  SmallVector<Value> parts = {packCodes(b, loc, quant.getResult(0), shape,
                                        enc.getBits(), enc.getStorageBits(),
                                        enc.getOrder()),
                              narrowed(scales)};
  Value storedZeros = zeros;
  if (enc.getZeroPoint() == ZeroPoint::integer_minus_one)
    storedZeros = generateTensor(
        b, loc, groupShape, b.getI32Type(), [&](Emitter &e, ValueRange ivs) {
          Value z = arith::SubIOp::create(e.b, e.loc, e.extract(zeros, ivs),
                                          e.i32(1));
          // GPTQ v1 packs z - 1 in `bits` bits (z = 0 wraps to all ones).
          if (enc.getPackedZeros())
            z = arith::AndIOp::create(e.b, e.loc, z, e.i32(int64_t(maxq)));
          return z;
        });
  if (floatZero) {
    parts.push_back(narrowed(zeros));
  } else if (enc.getPackedZeros()) {
    parts.push_back(packCodes(b, loc, storedZeros, groupShape, enc.getBits(), 8,
                              PackOrder::lsb_first));
  } else if (enc.getZeroPoint() != ZeroPoint::symmetric) {
    parts.push_back(storedZeros);
  }
  return parts;
}

} // namespace

void mlir::hfq::detail::attachAffineLowering(MLIRContext *ctx) {
  AffineEncodingAttr::attachInterface<RoundToNearestLowering<
      AffineEncodingAttr, dequantizeAffine, quantizeAffine>>(*ctx);
}

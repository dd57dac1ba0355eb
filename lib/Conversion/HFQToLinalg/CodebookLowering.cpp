//===- CodebookLowering.cpp - reference lowering of #hfq.codebook ---*- C++
//-*-===//
//
// `w = table[q] * absmax[block]` (bitsandbytes NF4/FP4, custom tables),
// with double-quantized absmax, and quantization to the nearest entry.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;

namespace {

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
        Value better = arith::CmpFOp::create(
            lb, lloc, arith::CmpFPredicate::OLT, d, acc[1]);
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
  Value codes = unpackCodes(b, loc, parts[0], shape, enc.getCodeBits(),
                            enc.getStorageBits(), enc.getOrder());
  // Quantized absmax values dequantize through their own encoding first.
  unsigned absmaxParts = enc.getNumAbsmaxParts();
  Value absmax = parts[1];
  if (EncodingAttrInterface nested = enc.getAbsmaxEncoding())
    absmax = dequantizeNested(b, loc, nested,
                              {enc.getNumBlocks(type.getNumElements())},
                              b.getF32Type(), parts.slice(1, absmaxParts));
  Value offset = enc.getOffset() ? parts[1 + absmaxParts] : Value();
  return generateTensor(
      b, loc, shape, elemType, [&](Emitter &e, ValueRange ivs) -> Value {
        Value block = arith::DivUIOp::create(
            e.b, e.loc, e.linearize(ivs, shape), e.index(enc.getBlockSize()));
        Value t = e.lookup(table, e.extract(codes, ivs));
        Value v =
            arith::MulFOp::create(e.b, e.loc, t, e.extract(absmax, {block}));
        if (offset)
          v = arith::AddFOp::create(e.b, e.loc, v,
                                    e.extract(offset, {e.index(0)}));
        return e.castFloat(v, elemType);
      });
}

/// The mean of every element of `input` (f32), as tensor<1xf32>, summed in
/// row-major order.
Value meanOf(OpBuilder &b, Location loc, Value input) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  Type f32 = b.getF32Type();
  Emitter top{b, loc};
  Value sum0 = filledTensor(b, loc, {1}, f32, top.floatConst(f32, 0.0));
  AffineMap toZero =
      AffineMap::get(rank, 0, getAffineConstantExpr(0, ctx), ctx);
  SmallVector<utils::IteratorType> reduction(rank,
                                             utils::IteratorType::reduction);
  Value sum = linalg::GenericOp::create(
                  b, loc, TypeRange{sum0.getType()}, ValueRange{input},
                  ValueRange{sum0},
                  ArrayRef<AffineMap>{b.getMultiDimIdentityMap(rank), toZero},
                  reduction,
                  [&](OpBuilder &nb, Location nloc, ValueRange args) {
                    Emitter e{nb, nloc};
                    linalg::YieldOp::create(
                        nb, nloc,
                        ValueRange{arith::AddFOp::create(
                            nb, nloc, args[1], e.castFloat(args[0], f32))});
                  })
                  .getResult(0);
  return generateTensor(b, loc, {1}, f32, [&](Emitter &e, ValueRange ivs) {
    return arith::DivFOp::create(
        e.b, e.loc, e.extract(sum, ivs),
        e.floatConst(f32, double(type.getNumElements())));
  });
}

FailureOr<SmallVector<Value>> quantizeCodebook(OpBuilder &b, Location loc,
                                               Value input, QTensorType type,
                                               CodebookEncodingAttr enc) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> shape = type.getShape();
  int64_t rank = shape.size();
  Type f32 = b.getF32Type();
  Emitter top{b, loc};
  int64_t blocks = enc.getNumBlocks(type.getNumElements());
  // With an offset the values are centred on their mean first.
  Value offset = enc.getOffset() ? meanOf(b, loc, input) : Value();
  auto centred = [&](Emitter &e, Value x) -> Value {
    x = e.castFloat(x, f32);
    return offset ? arith::SubFOp::create(e.b, e.loc, x,
                                          e.extract(offset, {e.index(0)}))
                  : x;
  };

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
            Value a = math::AbsFOp::create(nb, nloc, centred(e, args[0]));
            linalg::YieldOp::create(
                nb, nloc,
                ValueRange{arith::MaximumFOp::create(nb, nloc, args[1], a)});
          })
          .getResult(0);

  SmallVector<float> values = enc.getTable();
  Value table = top.table(values);
  Value codes = generateTensor(
      b, loc, shape, b.getI32Type(), [&](Emitter &e, ValueRange ivs) {
        Value block = arith::DivUIOp::create(
            e.b, e.loc, e.linearize(ivs, shape), e.index(enc.getBlockSize()));
        Value x = normalize(e, centred(e, e.extract(input, ivs)),
                            e.extract(absmax, {block}));
        Value code = nearestCode(e, table, values.size(), x);
        return arith::IndexCastOp::create(e.b, e.loc, e.b.getI32Type(), code);
      });
  SmallVector<Value> parts = {packCodes(b, loc, codes, shape, enc.getCodeBits(),
                                        enc.getStorageBits(), enc.getOrder())};
  // The codes were chosen with the exact absmax; a quantized absmax is
  // stored through its own encoding (bitsandbytes' order).
  if (EncodingAttrInterface nested = enc.getAbsmaxEncoding()) {
    FailureOr<SmallVector<Value>> absmaxParts =
        quantizeNested(b, loc, nested, absmax);
    if (failed(absmaxParts))
      return failure();
    llvm::append_range(parts, *absmaxParts);
  } else {
    parts.push_back(absmax);
  }
  if (offset)
    parts.push_back(offset);
  return parts;
}

} // namespace

void mlir::hfq::detail::attachCodebookLowering(MLIRContext *ctx) {
  CodebookEncodingAttr::attachInterface<RoundToNearestLowering<
      CodebookEncodingAttr, dequantizeCodebook, quantizeCodebook>>(*ctx);
}

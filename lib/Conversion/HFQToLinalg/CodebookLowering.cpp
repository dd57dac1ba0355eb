//===- CodebookLowering.cpp - reference lowering of #hfq.codebook ---*- C++
//-*-===//
//
// `w = table[q] * absmax[block]` (bitsandbytes NF4/FP4, custom tables),
// with double-quantized absmax, and quantization to the nearest entry.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "hfq/Numerics/Codebooks.h"

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
  int64_t dq = enc.getDoubleQuantBlock();
  Value dynamicMap = dq ? top.table(numerics::dynamicMap8()) : Value();
  Value codes = unpackCodes(b, loc, parts[0], shape, enc.getCodeBits(),
                            enc.getStorageBits(), enc.getOrder());
  return generateTensor(
      b, loc, shape, elemType, [&](Emitter &e, ValueRange ivs) -> Value {
        Value code = e.extract(codes, ivs);
        Value block = arith::DivUIOp::create(
            e.b, e.loc, e.linearize(ivs, shape), e.index(enc.getBlockSize()));
        Value absmax;
        if (dq) {
          Value c = arith::ExtUIOp::create(e.b, e.loc, e.b.getI32Type(),
                                           e.extract(parts[1], {block}));
          Value d = e.extract(
              dynamicMap,
              {arith::IndexCastOp::create(e.b, e.loc, e.b.getIndexType(), c)});
          Value outer = e.extract(
              parts[2],
              {arith::DivUIOp::create(e.b, e.loc, block, e.index(dq))});
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
        Value block = arith::DivUIOp::create(
            e.b, e.loc, e.linearize(ivs, shape), e.index(enc.getBlockSize()));
        Value x = normalize(e, e.castFloat(e.extract(input, ivs), f32),
                            e.extract(absmax, {block}));
        Value code = nearestCode(e, table, values.size(), x);
        return arith::IndexCastOp::create(e.b, e.loc, e.b.getI32Type(), code);
      });
  SmallVector<Value> parts = {packCodes(b, loc, codes, shape, enc.getCodeBits(),
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
  Value offset =
      generateTensor(b, loc, {1}, f32, [&](Emitter &e, ValueRange ivs) {
        return arith::DivFOp::create(e.b, e.loc, e.extract(sum, ivs),
                                     e.floatConst(f32, double(blocks)));
      });
  int64_t outerBlocks = (blocks + dq - 1) / dq;
  AffineMap toOuter =
      AffineMap::get(1, 0, getAffineDimExpr(0, ctx).floorDiv(dq), ctx);
  Value outer0 =
      filledTensor(b, loc, {outerBlocks}, f32, top.floatConst(f32, 0.0));
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

} // namespace

void mlir::hfq::detail::attachCodebookLowering(MLIRContext *ctx) {
  CodebookEncodingAttr::attachInterface<RoundToNearestLowering<
      CodebookEncodingAttr, dequantizeCodebook, quantizeCodebook>>(*ctx);
}

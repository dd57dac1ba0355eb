//===- SparseLowering.cpp - reference lowering of sparse encodings ---*- C++
//-*-===//
//
// Encodings whose structure comes from a pass, so they only dequantize:
// N:M sparsity (#hfq.sparse), the compressed-tensors bitmask
// (#hfq.bitmask), and SpQR's CSR outliers over its base encoding
// (#hfq.spqr).
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;

namespace {

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
          Value hit =
              arith::CmpIOp::create(e.b, e.loc, arith::CmpIPredicate::eq,
                                    e.extract(indices, at), pos);
          result = arith::SelectOp::create(e.b, e.loc, hit,
                                           e.extract(values, at), result);
        }
        return result;
      });
}

/// SpQR: the base encoding's dequantized weight (through its own lowering:
/// two-level affine statistics), then the float16 outliers written over it
/// row by row (CSR).
Value dequantizeSpQR(OpBuilder &b, Location loc, QTensorType type,
                     SpQREncodingAttr enc, ValueRange parts) {
  ArrayRef<int64_t> shape = type.getShape();
  Type elemType = type.getElementType();
  const int64_t out = shape[0];
  const unsigned n = enc.getNumBaseParts();
  Value dense = dequantizeNested(b, loc, enc.getBase(), shape,
                                 type.getElementType(), parts.take_front(n));
  parts = parts.drop_front(n);
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
        Value first = toIndex(re, re.extract(parts[0], {r}));
        Value last = toIndex(re, re.extract(parts[0], {next}));
        auto entries = scf::ForOp::create(
            rb, rl, first, last, re.index(1), acc,
            [&](OpBuilder &kb, Location kl, Value k, ValueRange t) {
              Emitter ke{kb, kl};
              Value col = toIndex(ke, ke.extract(parts[1], {k}));
              Value v = ke.castFloat(ke.extract(parts[2], {k}), elemType);
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
              Value v = arith::SelectOp::create(cb, cl, set,
                                                ce.extract(parts[1], {at}),
                                                ce.floatConst(elemType, 0.0));
              Value updated =
                  tensor::InsertOp::create(cb, cl, v, it[0], ValueRange{r, c});
              Value next = arith::SelectOp::create(
                  cb, cl, set,
                  arith::AddIOp::create(cb, cl, it[1], ce.index(1)), it[1]);
              scf::YieldOp::create(cb, cl, ValueRange{updated, next});
            });
        scf::YieldOp::create(rb, rl, ValueRange{cols.getResult(0)});
      });
  return rows.getResult(0);
}

} // namespace

void mlir::hfq::detail::attachSparseLowering(MLIRContext *ctx) {
  SparseEncodingAttr::attachInterface<
      DequantizeOnlyLowering<SparseEncodingAttr, dequantizeSparse>>(*ctx);
  BitmaskEncodingAttr::attachInterface<
      DequantizeOnlyLowering<BitmaskEncodingAttr, dequantizeBitmask>>(*ctx);
  SpQREncodingAttr::attachInterface<
      DequantizeOnlyLowering<SpQREncodingAttr, dequantizeSpQR>>(*ctx);
}

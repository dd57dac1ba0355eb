//===- HFQToLinalg.cpp - reference lowering of hfq to linalg ---*- C++ -*-===//
//
// The reference lowering: every hfq op becomes linalg.generic/tensor/arith
// code whose arithmetic follows the dialect documentation step by step.
// `!hfq.qtensor` values are replaced by their storage parts through a 1:N
// type conversion, so quantized weights may cross function boundaries.
// This file holds the patterns, the linear layer (with LLM.int8()'s mixed
// decomposition) and the pass; each encoding's arithmetic is reached
// through EncodingLoweringAttrInterface, whose models live in
// AffineLowering.cpp, CodebookLowering.cpp and SparseLowering.cpp.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "hfq/Conversion/HFQToLinalg/EncodingLowering.h"
#include "hfq/Conversion/Passes.h"

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
using namespace mlir::hfq::detail;

#include "hfq/Conversion/HFQToLinalg/EncodingLowering.cpp.inc"

namespace {

/// The dequantized weight, through the encoding's lowering interface.
FailureOr<Value> dequantize(Operation *op, OpBuilder &b, QTensorType type,
                            ValueRange parts) {
  auto lowering = dyn_cast<EncodingLoweringAttrInterface>(type.getEncoding());
  if (!lowering)
    return op->emitOpError() << "encoding " << type.getEncoding()
                             << " has no reference lowering (register it "
                                "with registerHFQToLinalgInterfaces)";
  return lowering.buildDequantize(b, op->getLoc(), type, parts);
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
    auto lowering = dyn_cast<EncodingLoweringAttrInterface>(type.getEncoding());
    FailureOr<SmallVector<Value>> parts = failure();
    if (lowering)
      parts = lowering.buildQuantize(rewriter, op.getLoc(),
                                     adaptor.getInput().front(), type);
    if (failed(parts))
      return op.emitOpError() << "encoding " << type.getEncoding()
                              << " has no round-to-nearest lowering";
    rewriter.replaceOpWithMultiple(op, {*parts});
    return success();
  }
};

struct DequantizeLowering : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<Value> w =
        dequantize(op, rewriter, op.getInput().getType(), adaptor.getInput());
    if (failed(w))
      return failure();
    rewriter.replaceOp(op, *w);
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
               linalg::YieldOp::create(nb, nloc,
                                       ValueRange{arith::AddFOp::create(
                                           nb, nloc, args[1], args[0])});
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
  Value colMax =
      generic(filled({K}, f32, zeroF), {x}, {map(2, {m, n}), map(2, {n})},
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
  Value rowMax =
      generic(filled({M}, f32, zeroF), {x}, {map(2, {m, n}), map(2, {m})},
              {IteratorType::parallel, IteratorType::reduction},
              [&](Emitter &e, ValueRange a) -> Value {
                Value v = math::AbsFOp::create(e.b, e.loc, a[0]);
                Value keep = arith::SelectOp::create(
                    e.b, e.loc, isOutlier(e, v), e.floatConst(f32, 0.0), v);
                return arith::MaximumFOp::create(e.b, e.loc, a[1], keep);
              });
  // xq = round(x * (127 / a_t)); 0 in outlier columns and all-zero rows.
  Value xq = generic(
      tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{M, K}, i32),
      {x, colMax, rowMax},
      {map(2, {m, n}), map(2, {n}), map(2, {m}), map(2, {m, n})},
      {IteratorType::parallel, IteratorType::parallel},
      [&](Emitter &e, ValueRange a) -> Value {
        Value zero = e.floatConst(f32, 0.0);
        Value rowZero = arith::CmpFOp::create(
            e.b, e.loc, arith::CmpFPredicate::OEQ, a[2], zero);
        Value safe = arith::SelectOp::create(e.b, e.loc, rowZero,
                                             e.floatConst(f32, 1.0), a[2]);
        Value mul =
            arith::DivFOp::create(e.b, e.loc, e.floatConst(f32, 127.0), safe);
        Value r = math::RoundEvenOp::create(
            e.b, e.loc, arith::MulFOp::create(e.b, e.loc, a[0], mul));
        Value drop =
            arith::OrIOp::create(e.b, e.loc, rowZero, isOutlier(e, a[1]));
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
      tensor::EmptyOp::create(
          b, loc, ArrayRef<OpFoldResult>{M, b.getIndexAttr(N)}, f32),
      {acc, rowMax, scales},
      {map(2, {m, n}), map(2, {m}), scaleMap, map(2, {m, n})},
      {IteratorType::parallel, IteratorType::parallel},
      [&](Emitter &e, ValueRange a) -> Value {
        Value f = arith::SIToFPOp::create(e.b, e.loc, f32, a[0]);
        Value st =
            arith::MulFOp::create(e.b, e.loc, a[1], e.castFloat(a[2], f32));
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
            e.b, e.loc, f32,
            arith::SubIOp::create(e.b, e.loc, a[2], e.i32(128)));
        Value wd = arith::MulFOp::create(e.b, e.loc, w, e.castFloat(a[3], f32));
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
    Value weight = adaptor.getWeight().front();
    if (auto qtype = dyn_cast<QTensorType>(op.getWeight().getType())) {
      FailureOr<Value> w = dequantize(op, b, qtype, adaptor.getWeight());
      if (failed(w))
        return failure();
      weight = *w;
    }
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
    Value zero =
        arith::ConstantOp::create(b, loc, b.getFloatAttr(elemType, 0.0));
    init = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{init})
               .getResult(0);
    MLIRContext *ctx = b.getContext();
    AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
               k = getAffineDimExpr(2, ctx);
    SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {m, k}, ctx),
                                   AffineMap::get(3, 0, {n, k}, ctx),
                                   AffineMap::get(3, 0, {m, n}, ctx)};
    Value y =
        linalg::GenericOp::create(
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
        y = tensor::ExpandShapeOp::create(b, loc, resultType, y, reassoc,
                                          shape);
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
  void getDependentDialects(DialectRegistry &registry) const override {
    ConvertHFQToLinalgBase::getDependentDialects(registry);
    // The encodings' lowering models, for contexts built without
    // registerAllDialects.
    registerHFQToLinalgInterfaces(registry);
  }
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

void mlir::hfq::registerHFQToLinalgInterfaces(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, HFQDialect *) {
    attachAffineLowering(ctx);
    attachCodebookLowering(ctx);
    attachSparseLowering(ctx);
  });
}

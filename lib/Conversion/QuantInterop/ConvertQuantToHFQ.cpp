//===- ConvertQuantToHFQ.cpp - constant !quant.uniform -> hfq --*- C++ -*-===//
//
// Rewrites quant.dcast(quant.scast(arith.constant)) into hfq.dequantize of an
// hfq.assemble of constants. Anything else is left as it is; a constant that
// cannot be expressed gets a warning saying why.
//
//===----------------------------------------------------------------------===//

#include "hfq/Conversion/Passes.h"
#include "hfq/Conversion/QuantInterop/QuantInterop.h"

#include "mlir/Dialect/Quant/IR/Quant.h"

namespace mlir::hfq {
#define GEN_PASS_DEF_CONVERTQUANTTOHFQ
#include "hfq/Conversion/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;

namespace {

struct ConvertQuantToHFQPass
    : mlir::hfq::impl::ConvertQuantToHFQBase<ConvertQuantToHFQPass> {
  void runOnOperation() override {
    SmallVector<quant::DequantizeCastOp> casts;
    getOperation()->walk(
        [&](quant::DequantizeCastOp op) { casts.push_back(op); });
    for (quant::DequantizeCastOp dcast : casts) {
      auto scast = dcast.getInput().getDefiningOp<quant::StorageCastOp>();
      if (!scast)
        continue;
      auto constant = scast.getInput().getDefiningOp<arith::ConstantOp>();
      auto qtensorType = dyn_cast<RankedTensorType>(scast.getType());
      if (!constant || !qtensorType)
        continue;
      auto storage = dyn_cast<DenseElementsAttr>(constant.getValue());
      auto qtype = dyn_cast<quant::QuantizedType>(qtensorType.getElementType());
      if (!storage || !qtype)
        continue;
      FailureOr<HFQConstant> converted = convertQuantToHFQ(
          {qtype, storage}, [&] {
            return dcast.emitWarning("not converted to hfq: ");
          });
      if (failed(converted))
        continue;
      OpBuilder b(dcast);
      SmallVector<Value> parts;
      for (DenseElementsAttr part : converted->parts)
        parts.push_back(arith::ConstantOp::create(b, dcast.getLoc(), part));
      Value q = AssembleOp::create(b, dcast.getLoc(), converted->type, parts);
      Value w = DequantizeOp::create(b, dcast.getLoc(), dcast.getType(), q);
      dcast.replaceAllUsesWith(w);
      dcast.erase();
      if (scast->use_empty())
        scast.erase();
      if (constant->use_empty())
        constant.erase();
    }
  }
};

} // namespace

//===- ConvertHFQToQuant.cpp - constant hfq -> !quant.uniform --*- C++ -*-===//
//
// Rewrites hfq.dequantize(hfq.assemble(arith.constant...)) into
// quant.dcast(quant.scast(arith.constant)) where the encoding is expressible
// as !quant.uniform; otherwise warns and leaves the IR alone.
//
//===----------------------------------------------------------------------===//

#include "hfq/Conversion/Passes.h"
#include "hfq/Conversion/QuantInterop/QuantInterop.h"

#include "mlir/Dialect/Quant/IR/Quant.h"

namespace mlir::hfq {
#define GEN_PASS_DEF_CONVERTHFQTOQUANT
#include "hfq/Conversion/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;

namespace {

struct ConvertHFQToQuantPass
    : mlir::hfq::impl::ConvertHFQToQuantBase<ConvertHFQToQuantPass> {
  void runOnOperation() override {
    SmallVector<DequantizeOp> dequants;
    getOperation()->walk([&](DequantizeOp op) { dequants.push_back(op); });
    for (DequantizeOp dequant : dequants) {
      auto assemble = dequant.getInput().getDefiningOp<AssembleOp>();
      if (!assemble)
        continue;
      HFQConstant value{assemble.getType(), {}};
      for (Value part : assemble.getParts()) {
        auto constant = part.getDefiningOp<arith::ConstantOp>();
        auto attr = constant ? dyn_cast<DenseElementsAttr>(constant.getValue())
                             : DenseElementsAttr();
        if (!attr)
          break;
        value.parts.push_back(attr);
      }
      if (value.parts.size() != assemble.getParts().size())
        continue;
      FailureOr<QuantConstant> converted = convertHFQToQuant(value, [&] {
        return dequant.emitWarning("not converted to !quant.uniform: ");
      });
      if (failed(converted))
        continue;
      OpBuilder b(dequant);
      Location loc = dequant.getLoc();
      Value storage = arith::ConstantOp::create(b, loc, converted->storage);
      auto quantTensor =
          RankedTensorType::get(value.type.getShape(), converted->type);
      Value cast = quant::StorageCastOp::create(b, loc, quantTensor, storage);
      Value w = quant::DequantizeCastOp::create(b, loc, dequant.getType(), cast);
      dequant.replaceAllUsesWith(w);
      dequant.erase();
      if (assemble->use_empty()) {
        SmallVector<Value> parts(assemble.getParts());
        assemble.erase();
        for (Value part : parts)
          if (part.use_empty())
            part.getDefiningOp()->erase();
      }
    }
  }
};

} // namespace

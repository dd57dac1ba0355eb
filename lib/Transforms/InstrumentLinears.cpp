//===- InstrumentLinears.cpp - calibration instrumentation -----*- C++ -*-===//
//
// One recorder call per distinct linear input, placed before its first
// linear user, so q/k/v (and gate/up) statistics are gathered once.
//
//===----------------------------------------------------------------------===//

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "hfq/Dialect/HFQ/IR/HFQWeights.h"
#include "hfq/Transforms/Passes.h"

#include "llvm/ADT/MapVector.h"

namespace mlir::hfq {
#define GEN_PASS_DEF_INSTRUMENTLINEARS
#include "hfq/Transforms/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;

std::string mlir::hfq::calibrationRecorderName(int64_t features) {
  return "hfq_calibration_record_" + std::to_string(features);
}

namespace {

struct InstrumentLinearsPass
    : mlir::hfq::impl::InstrumentLinearsBase<InstrumentLinearsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    // Input value -> linears reading it, in program order.
    llvm::MapVector<Value, SmallVector<LinearOp>> inputs;
    WalkResult walk = module.walk([&](LinearOp op) {
      auto type = dyn_cast<RankedTensorType>(op.getInput().getType());
      if (!type || type.getRank() != 2 || !type.getElementType().isF32() ||
          ShapedType::isDynamic(type.getDimSize(1))) {
        op.emitOpError() << "calibration needs a [tokens, features] f32 "
                            "input, got "
                         << op.getInput().getType();
        return WalkResult::interrupt();
      }
      if (getLinearName(op).empty()) {
        op.emitOpError() << "calibration needs linears whose weight is a "
                            "global named NAME.weight (hfq.load "
                            "@model.layers.N.....weight), as hfq import "
                            "emits them";
        return WalkResult::interrupt();
      }
      inputs[op.getInput()].push_back(op);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    OpBuilder b(ctx);
    llvm::StringMap<func::FuncOp> recorders;
    SmallVector<Attribute> groups;
    for (auto &[input, linears] : inputs) {
      auto type = cast<RankedTensorType>(input.getType());
      int64_t features = type.getDimSize(1);
      auto bufferType = MemRefType::get(type.getShape(), type.getElementType());
      std::string name = calibrationRecorderName(features);
      func::FuncOp &recorder = recorders[name];
      if (!recorder) {
        if (!(recorder = module.lookupSymbol<func::FuncOp>(name))) {
          b.setInsertionPointToStart(module.getBody());
          recorder = func::FuncOp::create(
              b, module.getLoc(), name,
              b.getFunctionType({b.getI64Type(), bufferType}, {}));
          recorder.setPrivate();
          recorder->setAttr("llvm.emit_c_interface", b.getUnitAttr());
        }
      }
      // Before the first linear reading this input (same block: linears of
      // one input are built together by the importer; otherwise use the
      // earliest in its block).
      LinearOp first = linears.front();
      for (LinearOp op : linears)
        if (op->getBlock() == first->getBlock() && op->isBeforeInBlock(first))
          first = op;
      b.setInsertionPoint(first);
      Location loc = first.getLoc();
      Value id = arith::ConstantOp::create(
          b, loc, b.getI64IntegerAttr(int64_t(groups.size())));
      Value buffer = bufferization::ToBufferOp::create(b, loc, bufferType,
                                                       input,
                                                       /*read_only=*/true);
      func::CallOp::create(b, loc, recorder, ValueRange{id, buffer});
      SmallVector<Attribute> names;
      for (LinearOp op : linears)
        names.push_back(b.getStringAttr(getLinearName(op)));
      groups.push_back(b.getArrayAttr(names));
    }
    module->setAttr("hfq.calibration_inputs", b.getArrayAttr(groups));
  }
};

} // namespace

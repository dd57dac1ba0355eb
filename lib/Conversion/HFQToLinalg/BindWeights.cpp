//===- BindWeights.cpp - hfq.global -> memref globals ----------*- C++ -*-===//
//
// Every hfq.global becomes memref.globals, one per stored tensor (a float
// tensor, or each part of a quantized one); each hfq.load reads them with
// memref.get_global and a restrict'ed bufferization.to_tensor (assembled
// into the !hfq.qtensor for a quantized global), so one-shot bufferization
// reads the data in place. External parameters become external globals
// tagged with their #hfq.param, which the executor resolves to the address
// of the memory-mapped checkpoint tensor; inline values become initializers.
//
//===----------------------------------------------------------------------===//

#include "hfq/Conversion/Passes.h"
#include "hfq/Dialect/HFQ/IR/HFQDialect.h"

#include "mlir/IR/SymbolTable.h"

namespace mlir::hfq {
#define GEN_PASS_DEF_BINDWEIGHTS
#include "hfq/Conversion/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;

namespace {

struct BindWeightsPass : mlir::hfq::impl::BindWeightsBase<BindWeightsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SymbolTable symbols(module);
    // hfq.global -> its memref.globals, in part order.
    llvm::DenseMap<Operation *, SmallVector<memref::GlobalOp>> lowered;
    for (GlobalOp global :
         llvm::make_early_inc_range(module.getOps<GlobalOp>())) {
      ParameterAttr param = global.getParameter();
      auto inlineParts = dyn_cast<ArrayAttr>(global.getValue());
      OpBuilder b(global);
      for (auto [i, stored] : llvm::enumerate(global.getStoredTensors())) {
        auto [suffix, type] = stored;
        Attribute initial;
        if (!param)
          initial = inlineParts ? inlineParts[i] : global.getValue();
        auto memrefType =
            MemRefType::get(type.getShape(), type.getElementType());
        auto g = memref::GlobalOp::create(
            b, global.getLoc(),
            ("__hfq_w." + global.getSymName()).str() + suffix,
            b.getStringAttr(param ? "public" : "private"), memrefType, initial,
            /*constant=*/true,
            /*alignment=*/param ? IntegerAttr() : b.getI64IntegerAttr(64));
        if (param)
          g->setAttr("hfq.param",
                     ParameterAttr::get(
                         ctx, param.getScope(),
                         b.getStringAttr(param.getKey().str() + suffix)));
        symbols.insert(g); // renames on a clash with an existing symbol
        lowered[global].push_back(g);
      }
    }
    WalkResult walk = module.walk([&](LoadOp load) {
      GlobalOp global = load.getGlobalOp();
      if (!global) {
        load.emitOpError() << "'" << load.getGlobal()
                           << "' is not an hfq.global";
        return WalkResult::interrupt();
      }
      OpBuilder b(load);
      SmallVector<Value> parts;
      for (memref::GlobalOp g : lowered[global]) {
        Value m = memref::GetGlobalOp::create(b, load.getLoc(), g.getType(),
                                              g.getSymName());
        parts.push_back(bufferization::ToTensorOp::create(
            b, load.getLoc(),
            RankedTensorType::get(g.getType().getShape(),
                                  g.getType().getElementType()),
            m, /*restrict=*/true, /*writable=*/false));
      }
      Value value = parts.front();
      if (auto qtype = dyn_cast<QTensorType>(load.getType()))
        value = AssembleOp::create(b, load.getLoc(), qtype, parts);
      load.replaceAllUsesWith(value);
      load.erase();
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    for (GlobalOp global :
         llvm::make_early_inc_range(module.getOps<GlobalOp>()))
      global.erase();
  }
};

} // namespace

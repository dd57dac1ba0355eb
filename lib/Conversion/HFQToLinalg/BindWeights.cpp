//===- BindWeights.cpp - hfq.weight -> external memref globals -*- C++ -*-===//
//
// One external global per distinct checkpoint tensor name; each use reads it
// with memref.get_global and a restrict'ed bufferization.to_tensor, so one-
// shot bufferization reads the mapped data in place.
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

std::string mlir::hfq::weightSymbolName(llvm::StringRef name) {
  std::string symbol = "__hfq_w_";
  for (char c : name)
    symbol += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  // Different names may mangle alike ("a.b" / "a_b"): disambiguate by hash.
  symbol += "_" + llvm::utohexstr(llvm::hash_value(name) & 0xffffffff);
  return symbol;
}

namespace {

struct BindWeightsPass : mlir::hfq::impl::BindWeightsBase<BindWeightsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    llvm::StringMap<memref::GlobalOp> globals;
    SmallVector<WeightOp> weights;
    module.walk([&](WeightOp op) { weights.push_back(op); });
    for (WeightOp op : weights) {
      auto type = cast<RankedTensorType>(op.getType());
      auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
      memref::GlobalOp &global = globals[op.getName()];
      if (!global) {
        OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
        global = memref::GlobalOp::create(
            b, op.getLoc(), weightSymbolName(op.getName()),
            b.getStringAttr("public"), memrefType, /*initial_value=*/Attribute(),
            /*constant=*/true, /*alignment=*/IntegerAttr());
        global->setAttr("hfq.weight_name", op.getNameAttr());
      } else if (global.getType() != memrefType) {
        op.emitOpError() << "reads '" << op.getName() << "' as " << type
                         << ", but another use reads it as "
                         << global.getType();
        return signalPassFailure();
      }
      OpBuilder b(op);
      Value m = memref::GetGlobalOp::create(b, op.getLoc(), memrefType,
                                            global.getSymName());
      auto toTensor = bufferization::ToTensorOp::create(b, op.getLoc(), type, m,
                                                        /*restrict=*/true,
                                                        /*writable=*/false);
      op.replaceAllUsesWith(toTensor.getResult());
      op.erase();
    }
  }
};

} // namespace

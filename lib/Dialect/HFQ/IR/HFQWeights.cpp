//===- HFQWeights.cpp - the global behind a weight value --------*- C++ -*-===//

#include "hfq/Dialect/HFQ/IR/HFQWeights.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace mlir::hfq;

bool mlir::hfq::isFloatWidening(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!generic || generic.getNumDpsInputs() != 1)
    return false;
  Block &body = generic.getRegion().front();
  return body.getOperations().size() == 2 && isa<arith::ExtFOp>(body.front());
}

LoadOp mlir::hfq::getWeightLoad(Value value) {
  Operation *def = value.getDefiningOp();
  if (isFloatWidening(def))
    def = cast<linalg::GenericOp>(def)
              .getDpsInputOperand(0)
              ->get()
              .getDefiningOp();
  return dyn_cast_or_null<LoadOp>(def);
}

GlobalOp mlir::hfq::getWeightGlobal(Value value) {
  LoadOp load = getWeightLoad(value);
  return load ? load.getGlobalOp() : GlobalOp();
}

std::string mlir::hfq::getLinearName(LinearOp op) {
  GlobalOp global = getWeightGlobal(op.getWeight());
  if (!global)
    return "";
  llvm::StringRef name = global.getSymName();
  if (!name.consume_back(".weight"))
    return "";
  return name.str();
}

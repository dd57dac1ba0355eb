//===- HFQDialect.cpp - hfq dialect registration ---------------*- C++ -*-===//
//
// Registers the hfq attributes, types and ops, and holds the tablegen'd
// definitions that have no better home (enums, the attribute interface).
//
//===----------------------------------------------------------------------===//

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "mlir/Transforms/InliningUtils.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::hfq;

#include "hfq/Dialect/HFQ/IR/HFQDialect.cpp.inc"
#include "hfq/Dialect/HFQ/IR/HFQEnums.cpp.inc"
#include "hfq/Dialect/HFQ/IR/HFQAttrInterfaces.cpp.inc"

namespace {
/// Every hfq op may be inlined: none has regions or refers to its enclosing
/// function (hfq.load names a module-level global), so the imported
/// model's layer functions inline into @forward when it is lowered.
struct HFQInlinerInterface : DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void HFQDialect::initialize() {
  registerAttributes();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "hfq/Dialect/HFQ/IR/HFQOps.cpp.inc"
      >();
  addInterfaces<HFQInlinerInterface>();
}

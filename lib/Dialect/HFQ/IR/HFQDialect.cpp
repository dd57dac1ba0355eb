//===- HFQDialect.cpp - hfq dialect registration ---------------*- C++ -*-===//
//
// Registers the hfq attributes, types and ops, and holds the tablegen'd
// definitions that have no better home (enums, the attribute interface).
//
//===----------------------------------------------------------------------===//

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::hfq;

#include "hfq/Dialect/HFQ/IR/HFQDialect.cpp.inc"
#include "hfq/Dialect/HFQ/IR/HFQEnums.cpp.inc"
#include "hfq/Dialect/HFQ/IR/HFQAttrInterfaces.cpp.inc"

void HFQDialect::initialize() {
  registerAttributes();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "hfq/Dialect/HFQ/IR/HFQOps.cpp.inc"
      >();
}

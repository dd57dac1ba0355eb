//===- HFQDialect.h - hfq dialect ---------------------------*- C++ -*-===//
//
// The hfq dialect: its enums, encoding attributes, the qtensor type and ops.
// Include this one header to use the dialect.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_DIALECT_HFQ_IR_HFQDIALECT_H
#define HFQ_DIALECT_HFQ_IR_HFQDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/StringMap.h"

#include <optional>
#include <string>

#include "hfq/Dialect/HFQ/IR/HFQDialect.h.inc"
#include "hfq/Dialect/HFQ/IR/HFQEnums.h.inc"
#include "hfq/Dialect/HFQ/IR/HFQAttrInterfaces.h.inc"

namespace mlir::hfq {
/// Whether `type` is a float of at most 8 bits (f4E2M1FN, f8E4M3FN,
/// f8E8M0FNU, ...): stored as bit patterns, with no LLVM arithmetic.
inline bool isNarrowFloat(Type type) {
  auto f = dyn_cast_or_null<FloatType>(type);
  return f && f.getWidth() <= 8;
}
} // namespace mlir::hfq

#define GET_ATTRDEF_CLASSES
#include "hfq/Dialect/HFQ/IR/HFQAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "hfq/Dialect/HFQ/IR/HFQTypes.h.inc"

#define GET_OP_CLASSES
#include "hfq/Dialect/HFQ/IR/HFQOps.h.inc"

#endif // HFQ_DIALECT_HFQ_IR_HFQDIALECT_H

//===- HFQ.td - hfq dialect umbrella -----------------------*- tablegen -*-===//
//
// Includes the dialect, its enums, attributes, types and ops, in that order,
// for the tablegen invocations in CMakeLists.txt.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_DIALECT_HFQ_IR_HFQ_TD
#define HFQ_DIALECT_HFQ_IR_HFQ_TD

include "hfq/Dialect/HFQ/IR/HFQDialect.td"
include "hfq/Dialect/HFQ/IR/HFQEnums.td"
include "hfq/Dialect/HFQ/IR/HFQAttrs.td"
include "hfq/Dialect/HFQ/IR/HFQTypes.td"
include "hfq/Dialect/HFQ/IR/HFQOps.td"

#endif // HFQ_DIALECT_HFQ_IR_HFQ_TD

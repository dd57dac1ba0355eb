//===- Passes.h - hfq conversion passes -------------------------*- C++ -*-===//
//
// Declarations and registration of the conversions out of the hfq dialect.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_CONVERSION_PASSES_H
#define HFQ_CONVERSION_PASSES_H

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::hfq {

#define GEN_PASS_DECL
#include "hfq/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hfq/Conversion/Passes.h.inc"

} // namespace mlir::hfq

#endif // HFQ_CONVERSION_PASSES_H

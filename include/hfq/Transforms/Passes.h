//===- Passes.h - hfq transformation passes ---------------------*- C++ -*-===//

#ifndef HFQ_TRANSFORMS_PASSES_H
#define HFQ_TRANSFORMS_PASSES_H

#include "hfq/Numerics/Affine.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::hfq {

#define GEN_PASS_DECL
#include "hfq/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hfq/Transforms/Passes.h.inc"

/// Name of the recorder function for inputs of `features` channels.
std::string calibrationRecorderName(int64_t features);

} // namespace mlir::hfq

#endif // HFQ_TRANSFORMS_PASSES_H

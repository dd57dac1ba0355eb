//===- HFQWeights.h - the global behind a weight value ----------*- C++ -*-===//
//
// A model tensor is an hfq.global; a linear's weight reaches it through an
// hfq.load, possibly widened from f16/bf16 to f32 by the importer. These
// helpers find that global, and with it the linear's identity: the weight
// symbol, never a location.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_DIALECT_HFQ_IR_HFQWEIGHTS_H
#define HFQ_DIALECT_HFQ_IR_HFQWEIGHTS_H

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"

#include <string>

namespace mlir::hfq {

/// The parameter scope `hfq import` puts a checkpoint's tensors in, and the
/// one the executor and the Llama-aware passes bind to the model directory.
inline constexpr llvm::StringLiteral kModelScope = "model";

/// Whether `op` is the importer's f16/bf16 -> f32 widening of one tensor (a
/// linalg.generic whose body is a single arith.extf).
bool isFloatWidening(Operation *op);

/// The hfq.load that `value` is, looking through one float widening.
LoadOp getWeightLoad(Value value);

/// The global `value` reads (through a widening), or null.
GlobalOp getWeightGlobal(Value value);

/// The Hugging Face module name of a linear: its weight global's symbol
/// without the `.weight` suffix ("" when the weight is not a global or the
/// symbol does not end in `.weight`).
std::string getLinearName(LinearOp op);

} // namespace mlir::hfq

#endif // HFQ_DIALECT_HFQ_IR_HFQWEIGHTS_H

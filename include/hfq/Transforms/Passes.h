//===- Passes.h - hfq transformation passes ---------------------*- C++ -*-===//

#ifndef HFQ_TRANSFORMS_PASSES_H
#define HFQ_TRANSFORMS_PASSES_H

#include "hfq/Numerics/Affine.h"
#include "hfq/Numerics/Pruning.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace llvm::cl {
/// `pattern=N:M` as a typed option (0 < N < M <= 16; "none" or empty:
/// unstructured), for hfq-prune and the hfq CLI alike.
template <>
class parser<mlir::hfq::numerics::NMPattern>
    : public basic_parser<mlir::hfq::numerics::NMPattern> {
public:
  parser(Option &o) : basic_parser(o) {}
  bool parse(Option &o, StringRef argName, StringRef arg,
             mlir::hfq::numerics::NMPattern &value);
  StringRef getValueName() const override { return "N:M"; }
  void printOptionDiff(const Option &o, mlir::hfq::numerics::NMPattern value,
                       const OptionValue<mlir::hfq::numerics::NMPattern> &,
                       size_t globalWidth) const;
};
} // namespace llvm::cl

namespace mlir::hfq {

/// hfq-quantize-linears' calibration-free methods.
enum class QuantizeMethod {
  rtn,
  nf4,
  fp4,
  int8,
  hqq,
  fp8,
  mxfp4,
  mxfp8,
  nvfp4
};
/// hfq-prune's methods, and the units coupled structured pruning removes.
enum class PruneMethod { magnitude, structured, sparsegpt };
enum class CoupledUnits { none, mlp, heads, all };
/// Where the Hessian passes (GPTQ, SpQR, SparseGPT) take each linear's
/// inputs from: the statistics file (the float model), the calibration
/// tokens run layer by layer through the already rewritten layers below
/// (the GPTQ reference's and llm-compressor's pipeline), or in addition,
/// within a layer, through the already rewritten linears before it (the
/// GPTQ reference's --true-sequential).
enum class Sequential { none, layers, linears };

/// The option spelling of each value (also recorded in the settings the
/// passes attach to the module).
inline llvm::StringRef stringify(QuantizeMethod m) {
  static const char *names[] = {"rtn", "nf4",   "fp4",   "int8", "hqq",
                                "fp8", "mxfp4", "mxfp8", "nvfp4"};
  return names[int(m)];
}
inline llvm::StringRef stringify(PruneMethod m) {
  static const char *names[] = {"magnitude", "structured", "sparsegpt"};
  return names[int(m)];
}
inline llvm::StringRef stringify(Sequential s) {
  static const char *names[] = {"none", "layers", "linears"};
  return names[int(s)];
}
inline llvm::StringRef stringify(CoupledUnits c) {
  static const char *names[] = {"", "mlp", "heads", "all"};
  return names[int(c)];
}

#define GEN_PASS_DECL
#include "hfq/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hfq/Transforms/Passes.h.inc"

/// Name of the recorder function for inputs of `features` channels.
std::string calibrationRecorderName(int64_t features);

} // namespace mlir::hfq

#endif // HFQ_TRANSFORMS_PASSES_H

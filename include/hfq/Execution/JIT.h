//===- JIT.h - compile hfq modules to native code in-process ----*- C++ -*-===//
//
// Lowers a module with the hfq-lower-to-llvm pipeline and JIT-compiles it
// with MLIR's ExecutionEngine. Public functions get C interfaces
// (`_mlir_ciface_<name>`) taking memref descriptors.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_EXECUTION_JIT_H
#define HFQ_EXECUTION_JIT_H

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlir::hfq {

struct JITOptions {
  /// LLVM optimization level of the generated code (0-3).
  unsigned optLevel = 2;
  /// Every hfq op through the reference lowering (the oracle), no
  /// generated kernels (hfq-lower-to-llvm's `reference`).
  bool reference = false;
  /// The kernels' float32 lanes per vector step, 0 from the host CPU
  /// (convert-hfq-to-cpu's `lanes`; tests force each variant).
  unsigned lanes = 0;
  /// Address of the data of tensor `key` of parameter scope `scope`, for
  /// every stored tensor of an hfq.global whose value is a #hfq.param (e.g.
  /// into a memory-mapped safetensors file). The data must outlive the
  /// engine and is never written.
  std::function<llvm::Expected<const void *>(llvm::StringRef scope,
                                             llvm::StringRef key)>
      parameterAddress;
  /// Further symbols the module calls (e.g. calibration recorders).
  std::vector<std::pair<std::string, const void *>> extraSymbols;
};

/// Lowers `module` in place and returns an engine holding its native code.
/// The module's context must have hfq's dialects registered
/// (registerAllDialects). Failures carry the diagnostics emitted.
llvm::Expected<std::unique_ptr<ExecutionEngine>>
compileForJIT(ModuleOp module, const JITOptions &options = {});

/// Address of `_mlir_ciface_<name>` in a compiled module.
template <typename Fn>
llvm::Expected<Fn *> lookupCInterface(ExecutionEngine &engine,
                                      llvm::StringRef name) {
  auto sym = engine.lookup(("_mlir_ciface_" + name).str());
  if (!sym)
    return sym.takeError();
  return reinterpret_cast<Fn *>(*sym);
}

/// Makes createLayerRunner (hfq/Transforms/LayerRunner.h) compile with
/// this JIT, with `base`'s lowering choices (reference, lanes); the tools
/// call it at startup.
void registerJITLayerRunner(const JITOptions &base = {});

} // namespace mlir::hfq

#endif // HFQ_EXECUTION_JIT_H

//===- TestJit.h - compile and call hfq modules in tests --------*- C++ -*-===//
//
// What the execution tests share: a JIT that owns its context and engine,
// and MLIR text for constants.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_UNITTESTS_EXECUTION_TESTJIT_H
#define HFQ_UNITTESTS_EXECUTION_TESTJIT_H

#include "hfq/Execution/JIT.h"
#include "hfq/Pipelines/Pipelines.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "gtest/gtest.h"

#include <sstream>
#include <string>
#include <vector>

namespace mlir::hfq::testing {

/// Owns the context, the compiled engine, and frees returned buffers.
/// `options` are the JIT's (ReferenceLoweringTest compiles with
/// `reference`, CPUKernelsTest with and without).
class Jit {
public:
  explicit Jit(JITOptions options = {}) : options(std::move(options)) {
    DialectRegistry registry;
    registerAllDialects(registry);
    ctx.appendDialectRegistry(registry);
    ctx.loadAllAvailableDialects();
  }

  /// Parses `source`, runs the passes `addPrePasses` adds (if any) and
  /// compiles; fails the test on errors.
  bool compile(const std::string &source,
               llvm::function_ref<void(PassManager &)> addPrePasses = {}) {
    module = parseSourceString<ModuleOp>(source, &ctx);
    if (!module) {
      ADD_FAILURE() << "failed to parse:\n" << source;
      return false;
    }
    if (addPrePasses) {

      // Warnings (e.g. a constant left unconverted) fail the test too.
      std::string messages;
      ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &diag) {
        messages += diag.str() + "\n";
        return success();
      });
      PassManager pm(&ctx);
      addPrePasses(pm);
      if (failed(pm.run(*module)) || !messages.empty()) {
        ADD_FAILURE() << "pre-passes failed:\n" << messages;
        return false;
      }
    }
    auto engineOr = compileForJIT(*module, options);
    if (!engineOr) {
      ADD_FAILURE() << llvm::toString(engineOr.takeError());
      return false;
    }
    engine = std::move(*engineOr);
    return true;
  }

  /// Calls `name`, which takes no arguments and returns a rank-2 tensor.
  template <typename T> std::vector<T> call2d(llvm::StringRef name) {
    StridedMemRefType<T, 2> result{};
    auto fn = lookupCInterface<void(StridedMemRefType<T, 2> *)>(*engine, name);
    if (!fn) {
      ADD_FAILURE() << llvm::toString(fn.takeError());
      return {};
    }
    (*fn)(&result);
    std::vector<T> out;
    for (int64_t i = 0; i < result.sizes[0]; ++i)
      for (int64_t j = 0; j < result.sizes[1]; ++j)
        out.push_back(result.data[result.offset + i * result.strides[0] +
                                  j * result.strides[1]]);
    free(result.basePtr);
    return out;
  }

private:
  JITOptions options;
  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<ExecutionEngine> engine;
};

/// `dense<[[...], ...]>` text of a row-major matrix.
template <typename T>
inline std::string dense(const std::vector<T> &values, int64_t rows,
                         int64_t cols) {
  std::ostringstream os;
  os.precision(9);
  if constexpr (std::is_floating_point_v<T>)
    os << std::showpoint; // MLIR rejects "2" as a float literal
  os << "dense<[";
  for (int64_t r = 0; r < rows; ++r) {
    os << (r ? ", [" : "[");
    for (int64_t c = 0; c < cols; ++c)
      os << (c ? ", " : "") << +values[r * cols + c];
    os << "]";
  }
  os << "]>";
  return os.str();
}

/// A float literal MLIR parses back to the same float32.
inline std::string floatText(float v) {
  std::ostringstream os;
  os.precision(9);
  os << std::showpoint << v;
  return os.str();
}

} // namespace mlir::hfq::testing

#endif // HFQ_UNITTESTS_EXECUTION_TESTJIT_H

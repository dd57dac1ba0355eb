//===- JIT.cpp - compile hfq modules to native code in-process -*- C++ -*-===//
//
// Runs the lowering pipeline under a diagnostic handler that collects
// messages, so callers get one llvm::Error describing what went wrong.
//
//===----------------------------------------------------------------------===//

#include "hfq/Execution/JIT.h"
#include "hfq/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/TargetSelect.h"

using namespace mlir;

llvm::Expected<std::unique_ptr<ExecutionEngine>>
mlir::hfq::compileForJIT(ModuleOp module, const JITOptions &options) {
  static const bool targetsReady = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)targetsReady;

  MLIRContext *ctx = module.getContext();
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      func->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));

  std::string messages;
  {
    ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diag) {
      llvm::raw_string_ostream os(messages);
      os << diag.getLocation() << ": " << diag << "\n";
      return success();
    });
    PassManager pm(ctx);
    buildLowerToLLVMPipeline(pm, LowerToLLVMOptions());
    if (failed(pm.run(module)))
      return llvm::createStringError("lowering to LLVM failed:\n" + messages);
  }

  ExecutionEngineOptions engineOptions;
  engineOptions.jitCodeGenOptLevel =
      static_cast<llvm::CodeGenOptLevel>(std::min(options.optLevel, 3u));
  // The transformer is a function_ref: keep the callable alive here.
  auto transformer = makeOptimizingTransformer(options.optLevel, 0, nullptr);
  engineOptions.transformer = transformer;
  return ExecutionEngine::create(module, engineOptions);
}

//===- JIT.cpp - compile hfq modules to native code in-process -*- C++ -*-===//
//
// Runs the lowering pipeline under a diagnostic handler that collects
// messages, so callers get one llvm::Error describing what went wrong.
//
//===----------------------------------------------------------------------===//

#include "hfq/Execution/JIT.h"
#include "hfq/Pipelines/Pipelines.h"
#include "hfq/Conversion/Passes.h"
#include "hfq/Dialect/HFQ/IR/HFQDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
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
  std::string messages;
  auto collect = [&](Diagnostic &diag) {
    llvm::raw_string_ostream os(messages);
    os << diag.getLocation() << ": " << diag << "\n";
    return success();
  };
  // Globals first, so the parameters they read can be resolved before the
  // rest of the pipeline runs.
  {
    ScopedDiagnosticHandler handler(ctx, collect);
    PassManager pm(ctx);
    pm.addPass(createBindWeights());
    if (failed(pm.run(module)))
      return llvm::createStringError("binding the weights failed:\n" +
                                     messages);
  }
  std::vector<std::pair<std::string, const void *>> addresses;
  for (auto global : module.getOps<memref::GlobalOp>()) {
    auto param = global->getAttrOfType<ParameterAttr>("hfq.param");
    if (!param)
      continue;
    if (!options.parameterAddress)
      return llvm::createStringError(
          "the module reads checkpoint parameters ('" +
          param.getKey().getValue() +
          "', ...) but no parameter source was "
          "given");
    auto address = options.parameterAddress(param.getScope().getValue(),
                                            param.getKey().getValue());
    if (!address)
      return address.takeError();
    addresses.emplace_back(global.getSymName().str(), *address);
  }
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      func->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));

  {
    ScopedDiagnosticHandler handler(ctx, collect);
    PassManager pm(ctx);
    LowerToLLVMOptions lowering;
    lowering.reference = options.reference;
    lowering.lanes = options.lanes;
    buildLowerToLLVMPipeline(pm, lowering);
    if (failed(pm.run(module)))
      return llvm::createStringError("lowering to LLVM failed:\n" + messages);
  }

  ExecutionEngineOptions engineOptions;
  engineOptions.jitCodeGenOptLevel =
      static_cast<llvm::CodeGenOptLevel>(std::min(options.optLevel, 3u));
  // LLVM's optimizer tunes for the host CPU (vector widths, FMA), as the
  // JIT's code generator does; without a target machine its cost models
  // assume no vector registers at all.
  auto hostBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!hostBuilder)
    return hostBuilder.takeError();
  auto host = hostBuilder->createTargetMachine();
  if (!host)
    return host.takeError();
  // The transformer is a function_ref: keep the callable alive here.
  auto transformer =
      makeOptimizingTransformer(options.optLevel, 0, host->get());
  engineOptions.transformer = transformer;
  // The OpenMP runtime the threaded loops call into.
  SmallVector<StringRef, 1> libraries = {HFQ_LIBOMP_PATH};
  engineOptions.sharedLibPaths = libraries;
  auto engine = ExecutionEngine::create(module, engineOptions);
  if (!engine)
    return engine;
  // Runtime helpers the lowered code calls (memref copies on bufferization
  // boundaries), from MLIR's C runner utils linked into this library.
  addresses.emplace_back("memrefCopy", reinterpret_cast<const void *>(&memrefCopy));
  addresses.insert(addresses.end(), options.extraSymbols.begin(),
                   options.extraSymbols.end());
  (*engine)->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    for (const auto &[symbol, address] : addresses)
      map[interner(symbol)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                               llvm::JITSymbolFlags::Exported};
    return map;
  });
  return engine;
}

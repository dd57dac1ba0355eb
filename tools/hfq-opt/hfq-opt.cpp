//===- hfq-opt.cpp - pass pipelines over hfq modules -----------*- C++ -*-===//
//
// mlir-opt with the hfq dialect, its passes and pipelines, and the upstream
// dialects and passes those pipelines use. Everything is registered by the
// library (hfq/Pipelines/Pipelines.h) so embedders get the same set.
//
// `--hfq-param-scope=SCOPE=DIR` binds a parameter scope (#hfq.param) to a
// checkpoint directory for the passes that read weights; modules written
// by `hfq import` use the scope `model`.
//
//===----------------------------------------------------------------------===//

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "hfq/Execution/JIT.h"
#include "hfq/Pipelines/Pipelines.h"

#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"

#include <cstdlib>

static llvm::cl::list<std::string> parameterScopes(
    "hfq-param-scope",
    llvm::cl::desc("bind a parameter scope to a checkpoint directory "
                   "(SCOPE=DIR, e.g. model=models/stories15M)"),
    llvm::cl::value_desc("scope=dir"),
    llvm::cl::cb<void, const std::string &>([](const std::string &binding) {
      size_t eq = binding.find('=');
      if (eq == 0 || eq == std::string::npos || eq + 1 == binding.size()) {
        llvm::errs() << "hfq-opt: --hfq-param-scope needs SCOPE=DIR, got '"
                     << binding << "'\n";
        std::exit(2);
      }
    }));

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::hfq::registerAllDialects(registry);
  mlir::hfq::registerAllPasses();
  // True-sequential GPTQ runs the model's layer functions through the JIT.
  mlir::hfq::registerJITLayerRunner();
  registry.addExtension(+[](mlir::MLIRContext *, mlir::hfq::HFQDialect *hfq) {
    for (const std::string &binding : parameterScopes) {
      size_t eq = binding.find('=');
      hfq->bindParameterScope(binding.substr(0, eq), binding.substr(eq + 1));
    }
  });
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "hfq optimizer driver: passes over hfq modules\n", registry));
}

//===- main.cpp - a project that embeds hfq via find_package(HFQ) -*- C++ -*-===//
//
// Registers hfq's dialects, parses a module with a quantized linear, runs
// the hfq-lower-to-llvm pipeline from the library and checks that only the
// LLVM (and OpenMP) dialects remain.
//
//===----------------------------------------------------------------------===//

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "hfq/Pipelines/Pipelines.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

int main() {
  const char *source = R"mlir(
func.func @main(%x: tensor<2x64xf32>, %w: tensor<4x64xf32>) -> tensor<2x4xf32> {
  %q = hfq.quantize %w : tensor<4x64xf32> -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>>
  %y = hfq.linear %x, %q : tensor<2x64xf32>, !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
})mlir";
  mlir::DialectRegistry registry;
  mlir::hfq::registerAllDialects(registry);
  mlir::MLIRContext ctx(registry);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(source, &ctx);
  if (!module)
    return 1;
  mlir::PassManager pm(&ctx);
  mlir::hfq::buildLowerToLLVMPipeline(pm, mlir::hfq::LowerToLLVMOptions());
  if (mlir::failed(pm.run(*module)))
    return 1;
  // LLVM dialect, plus OpenMP ops (threaded loops), which translate to
  // LLVM IR directly.
  bool onlyLLVM = true;
  module->walk([&](mlir::Operation *op) {
    llvm::StringRef ns = op->getDialect()->getNamespace();
    if (!mlir::isa<mlir::ModuleOp>(op) && ns != "llvm" && ns != "omp")
      onlyLLVM = false;
  });
  if (!onlyLLVM) {
    llvm::errs() << "consumer: non-LLVM ops remain\n";
    return 1;
  }
  llvm::outs() << "consumer: hfq module lowered to the LLVM dialect\n";
  return 0;
}

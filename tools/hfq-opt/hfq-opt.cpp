//===- hfq-opt.cpp - pass pipelines over hfq modules -----------*- C++ -*-===//
//
// mlir-opt with the hfq dialect, its passes and pipelines, and the upstream
// dialects and passes those pipelines use. Everything is registered by the
// library (hfq/Pipelines/Pipelines.h) so embedders get the same set.
//
//===----------------------------------------------------------------------===//

#include "hfq/Pipelines/Pipelines.h"

#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::hfq::registerAllDialects(registry);
  mlir::hfq::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "hfq optimizer driver: passes over hfq modules\n", registry));
}

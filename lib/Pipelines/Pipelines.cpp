//===- Pipelines.cpp - hfq pass pipelines and registration -----*- C++ -*-===//
//
// The lowering pipeline follows the pass order measured to work with MLIR 22
// (see README): generated kernels for the linears that have one, the
// reference lowering for the rest, bufferize at function boundaries, free
// buffers, lower linalg to loops, then vector/scf/memref/math/arith/cf/
// func/index to LLVM.
//
//===----------------------------------------------------------------------===//

#include "hfq/Pipelines/Pipelines.h"
#include "hfq/Conversion/HFQToLinalg/HFQToLinalg.h"
#include "hfq/Conversion/Passes.h"
#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "hfq/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/Extensions/InlinerExtension.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::hfq::buildLowerToLLVMPipeline(OpPassManager &pm,
                                   const LowerToLLVMOptions &options) {
  // The imported model's layer functions become one body in @forward
  // (its callers keep calling it out of line: their calls are no_inline).
  pm.addPass(createInlinerPass());
  pm.addPass(createBindWeights());
  if (!options.reference) {
    ConvertHFQToCPUOptions kernels;
    kernels.lanes = options.lanes;
    pm.addPass(createConvertHFQToCPU(kernels));
  }
  // Whatever has no kernel (everything, with reference=true).
  pm.addPass(createConvertHFQToLinalg());
  pm.addPass(createCanonicalizerPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  // Contiguous rows at function boundaries (callers pass dense buffers), so
  // kernels' vector loads along the last dimension need no stride checks.
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // The kernels' tiles: OpenMP iterations, or a plain loop.
  pm.addPass(options.threads ? createForallToParallelLoopPass()
                             : createForallToForLoopPass());
  if (options.threads) {
    // Parallel dimensions become scf.parallel, then OpenMP worksharing
    // loops; each output element is still computed by one thread with the
    // sequential reduction order, so results are thread-count independent.
    // The canonicalizer inlines the alloca-free memref.alloca_scope ops the
    // OpenMP conversion wraps loop bodies in.
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
    pm.addPass(createConvertSCFToOpenMPPass());
    pm.addPass(createCanonicalizerPass());
  } else {
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  }
  pm.addPass(createSCFToControlFlowPass());
  ConvertVectorToLLVMPassOptions vectorOptions;
  // The kernels' sums are reassociated already (see convert-hfq-to-cpu).
  vectorOptions.reassociateFPReductions = true;
  pm.addPass(createConvertVectorToLLVMPass(vectorOptions));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  if (options.threads)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::hfq::registerAllDialects(DialectRegistry &registry) {
  registry
      .insert<mlir::hfq::HFQDialect, affine::AffineDialect, arith::ArithDialect,
              bufferization::BufferizationDialect, cf::ControlFlowDialect,
              func::FuncDialect, index::IndexDialect, linalg::LinalgDialect,
              LLVM::LLVMDialect, math::MathDialect, memref::MemRefDialect,
              omp::OpenMPDialect, quant::QuantDialect, scf::SCFDialect,
              tensor::TensorDialect, vector::VectorDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  vector::registerBufferizableOpInterfaceExternalModels(registry);
  func::registerInlinerExtension(registry);
  registerHFQToLinalgInterfaces(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
}

namespace {
void registerOnce() {
  mlir::hfq::registerHFQConversionPasses();
  mlir::hfq::registerHFQTransformsPasses();
  // Upstream passes a user may want between or after hfq's.
  registerCanonicalizerPass();
  registerCSEPass();
  registerInlinerPass();
  bufferization::registerOneShotBufferizePass();
  bufferization::registerBufferizationPipelines();
  registerConvertLinalgToLoopsPass();
  PassPipelineRegistration<mlir::hfq::LowerToLLVMOptions>(
      "hfq-lower-to-llvm",
      "Lower an hfq module on tensors to the LLVM dialect (reference "
      "lowering, bufferization, loops, LLVM)",
      mlir::hfq::buildLowerToLLVMPipeline);
}
} // namespace

void mlir::hfq::registerAllPasses() {
  // Idempotent: tools and library entry points that parse pipelines may
  // each call it (a pipeline registered twice is a fatal error upstream).
  static const bool registered = [] {
    registerOnce();
    return true;
  }();
  (void)registered;
}

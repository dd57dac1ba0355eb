//===- Passes.td - hfq conversion passes -------------------*- tablegen -*-===//
//
// Conversions out of the hfq dialect.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_CONVERSION_PASSES_TD
#define HFQ_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertHFQToLinalg : Pass<"convert-hfq-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower hfq ops to linalg/arith/tensor: the reference lowering";
  let description = [{
    Rewrites every hfq op into linalg.generic, tensor and arith ops that any
    MLIR CPU pipeline can run. This lowering is the correctness oracle: fast
    kernels are tested against it, so it favours obvious code over speed.

    `!hfq.qtensor` values become their storage parts (1:N type conversion),
    across function signatures, calls and returns as well:
    `hfq.assemble`/`hfq.disassemble` vanish, `hfq.dequantize` unpacks the
    codes bit by bit and applies the encoding's formula, `hfq.quantize`
    computes ranges, scales, zeros and codes and packs them, and
    `hfq.linear` dequantizes its weight and multiplies.

    Numeric caveats: arithmetic is carried out in the weight's element type
    (float32 for float32 weights) in the order the dialect documentation
    gives, so results match the numerics library bit for bit; rounding is
    round-half-to-even; NaN inputs propagate into scales rather than being
    diagnosed (diagnose them before quantizing).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // HFQ_CONVERSION_PASSES_TD

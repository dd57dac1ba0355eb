//===- Passes.td - hfq transformation passes ---------------*- tablegen -*-===//
//
// Passes that rewrite or instrument hfq modules (as opposed to lowering
// them): calibration now; quantization, pruning and low-rank rewrites next.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_TRANSFORMS_PASSES_TD
#define HFQ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def InstrumentLinears : Pass<"hfq-instrument-linears", "::mlir::ModuleOp"> {
  let summary = "Report the input of every linear layer to a calibration recorder";
  let description = [{
    Before the first `hfq.linear` that consumes a value, inserts a call that
    hands that value (a `[tokens, in]` activation) to the external function
    `@hfq_calibration_record_<in>(i64 id, memref<?x<in>xf32>)` as a
    read-only buffer. Linears that share an input (q/k/v, gate/up) share one
    call. The module attribute `hfq.calibration_inputs` lists, per id, the
    names (from the linears' `NameLoc`s) of the linears reading that input,
    so the runtime can store statistics per linear.

    The recorder is supplied by the executor (`hfq calibrate` accumulates
    XᵀX in float64, mean |x| and max |x| per input channel, and the token
    count). Linears whose input is not a rank-2 f32 tensor are an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif // HFQ_TRANSFORMS_PASSES_TD

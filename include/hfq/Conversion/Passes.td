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

def ConvertHFQToCPU : Pass<"convert-hfq-to-cpu", "::mlir::ModuleOp"> {
  let summary = "Generate fused dequantize-and-multiply CPU kernels for hfq.linear";
  let description = [{
    Rewrites each `hfq.linear` whose weight it has a kernel for into a
    vector-dialect kernel in which the dequantized weight never exists in
    memory: output rows are split into tiles run as `scf.forall` iterations
    (OpenMP threads after bufferization); each tile streams its weight rows
    once per activation row, a chunk of codes at a time, decodes them in
    registers and accumulates `codes * x` per group with FMAs; each group
    adds `scale * (sum of codes * x) + offset * (sum of x)`, the affine
    encodings' `(q - z) * s` rearranged so a group costs two vector FMAs
    (scales and offsets of up to 8 groups are computed as one vector). The
    activations are permuted once per call into the order packed codes
    decode in (a byte's low fields, then its high ones), so the weights are
    never shuffled.

    A kernel is generated from the encoding's description (bits, packing
    order, granularity, zero-point kind, scale type), not written per scheme:
    float32 weights, and `#hfq.affine` with integer codes of 2, 4 or 8 bits
    in byte containers, channel or group granularity (groups along the
    input dimension), symmetric, integer (incl. GPTQ's z-1 form, packed or
    not) or float zero points, and plain f32/f16/bf16 scales; `#hfq.codebook`
    (NF4, FP4, dynamic8 with its offset, custom tables of 2, 4 or 8 bits)
    with f32 absmax blocks that do not straddle rows, the codes looked up in
    the constant table with `vector.gather`. Other linears (act-order,
    double-quantized absmax, sparse, SpQR, LLM.int8, float codes, quantized
    scales) are left for convert-hfq-to-linalg, which runs after this pass
    in hfq-lower-to-llvm; `report` prints a remark naming the reason for
    each.

    Numerics: the sum is reassociated (lanes and groups), so results differ
    from the reference lowering by float32 rounding only; each output still
    depends only on its inputs, not on the thread count.
  }];
  let options = [
    Option<"lanes", "lanes", "unsigned", /*default=*/"0",
           "float32 lanes per vector step: 0 picks 16 where the host has "
           "AVX-512, else 8">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Emit a remark for each hfq.linear left to the reference lowering">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect"
  ];
}

def BindWeights : Pass<"hfq-bind-weights", "::mlir::ModuleOp"> {
  let summary = "Lower hfq.global/hfq.load to memref globals the executor binds";
  let description = [{
    Each `hfq.global @NAME` becomes one constant `memref.global` per stored
    tensor: `@__hfq_w.NAME` for a float tensor,
    `@__hfq_w.NAME.<part>` for each part of a quantized one. A global whose
    value is `#hfq.param<"scope", "key">` becomes an external global (no
    initializer, so the data is never copied into the module) carrying
    `hfq.param = #hfq.param<"scope", "key[.part]">`; the executor resolves
    it to the address of the memory-mapped checkpoint tensor. An inline value
    becomes the initializer. Each `hfq.load` reads the globals through
    `memref.get_global` and a `restrict`ed `bufferization.to_tensor`
    (followed by `hfq.assemble` for a quantized global). Weights are
    read-only: bufferization never writes through them. Inline
    initializers are 64-byte aligned.

    ```mlir
    hfq.global @w : tensor<2x8xf32> = #hfq.param<"model", "w">
    %0 = hfq.load @w : tensor<2x8xf32>
    // becomes
    memref.global "public" constant @__hfq_w.w : memref<2x8xf32>
        {hfq.param = #hfq.param<"model", "w">}
    %1 = memref.get_global @__hfq_w.w : memref<2x8xf32>
    %0 = bufferization.to_tensor %1 restrict : memref<2x8xf32> to tensor<2x8xf32>
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

def ConvertQuantToHFQ : Pass<"convert-quant-to-hfq"> {
  let summary = "Turn constant !quant.uniform weights into hfq quantized tensors";
  let description = [{
    Rewrites `quant.dcast(quant.scast(arith.constant ints))` into
    `hfq.dequantize(hfq.assemble(...))` with constant parts, so weights that
    arrive in upstream's quant dialect (e.g. from TOSA importers) enter hfq's
    passes and kernels. Per-tensor, per-axis (matrices) and sub-channel
    types with blocks along one dimension convert; others are left alone
    with a warning that says why.

    ```mlir
    %s = quant.scast %ints : tensor<4x64xi8> to tensor<4x64x!quant.uniform<i8:f32, 0.5>>
    %w = quant.dcast %s : tensor<4x64x!quant.uniform<i8:f32, 0.5>> to tensor<4x64xf32>
    // becomes
    %q = hfq.assemble %codes, %scales : ... -> !hfq.qtensor<4x64xf32,
        #hfq.affine<bits = 8, granularity = tensor, zero_point = symmetric>>
    %w = hfq.dequantize %q : ...
    ```

    The conversion is exact: codes, scales and zero points describe the same
    real values (scales are rounded once from the type's f64 to the float
    type of the weight).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::hfq::HFQDialect"];
}

def ConvertHFQToQuant : Pass<"convert-hfq-to-quant"> {
  let summary = "Express constant hfq quantized tensors as !quant.uniform";
  let description = [{
    The inverse of convert-quant-to-hfq: `hfq.dequantize(hfq.assemble(consts))`
    becomes `quant.dcast(quant.scast(arith.constant ints))` when the encoding
    is expressible there (affine, integer or symmetric zero points, no
    act_order). Symmetric encodings use signed storage with zero point 0,
    others unsigned storage. Encodings that are not expressible are left
    alone with a warning naming the reason.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::quant::QuantDialect"];
}

#endif // HFQ_CONVERSION_PASSES_TD

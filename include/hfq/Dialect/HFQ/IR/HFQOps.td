//===- HFQOps.td - hfq operations --------------------------*- tablegen -*-===//
//
// Ops over quantized weights: build one from its parts or take it apart,
// quantize a float tensor, dequantize, and the linear layer that consumes a
// float or quantized weight.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_DIALECT_HFQ_IR_HFQOPS_TD
#define HFQ_DIALECT_HFQ_IR_HFQOPS_TD

include "hfq/Dialect/HFQ/IR/HFQTypes.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def HFQ_FloatTensor : RankedTensorOf<[AnyFloat]>;
def HFQ_Weight : AnyTypeOf<[RankedTensorOf<[AnyFloat]>, HFQ_QTensorType],
                           "float tensor or hfq quantized tensor">;

def HFQ_AssembleOp : HFQ_Op<"assemble", [Pure]> {
  let summary = "make a quantized tensor from its storage parts";
  let description = [{
    Takes the parts the result's encoding names, in order (for `#hfq.affine`:
    codes, scales, then zeros unless symmetric, then g_idx with act_order),
    and returns them as one `!hfq.qtensor` value. The verifier checks every
    part's shape and element type against the encoding.

    ```mlir
    %q = hfq.assemble %codes, %scales : tensor<4x32xi8>, tensor<4x2xf32>
        -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group,
                                             group_size = 32, zero_point = symmetric>>
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$parts);
  let results = (outs HFQ_QTensorType:$result);
  let assemblyFormat = "$parts attr-dict `:` type($parts) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def HFQ_DisassembleOp : HFQ_Op<"disassemble", [Pure]> {
  let summary = "the storage parts of a quantized tensor";
  let description = [{
    Inverse of `hfq.assemble`: returns the parts in the order the encoding
    names them. Exporters use it to reach the packed codes and scales.

    ```mlir
    %codes, %scales = hfq.disassemble %q : !hfq.qtensor<...>
        -> tensor<4x32xi8>, tensor<4x2xf32>
    ```
  }];
  let arguments = (ins HFQ_QTensorType:$source);
  let results = (outs Variadic<AnyRankedTensor>:$parts);
  let assemblyFormat = "$source attr-dict `:` qualified(type($source)) `->` type($parts)";
  let hasVerifier = 1;
}

def HFQ_QuantizeOp : HFQ_Op<"quantize", [Pure]> {
  let summary = "round-to-nearest quantization of a float tensor";
  let description = [{
    Quantizes `input` into the result's encoding by round-to-nearest, with
    scales from the group's range (no calibration data, no search):

    - affine, asymmetric (`integer`, `integer_minus_one`, `float` zeros), as
      GPTQ's reference quantizer: `lo = min(min(w), 0)`, `hi = max(max(w), 0)`
      (a group with `lo == hi` uses `[-1, 1]`), `s = (hi - lo) / (2^bits - 1)`,
      `z = round(-lo / s)` (`float` zeros keep `-lo / s` unrounded),
      `q = clamp(round(w / s) + z, 0, 2^bits - 1)`;
    - affine, `symmetric`: `a = max|w|` (`1` if zero), `s = 2a / (2^bits - 1)`,
      `z = 2^(bits-1)`, same rounding and clamp. The largest positive value is
      thus clipped to `(2^(bits-1) - 1) * s`, exactly as GPTQ's sym mode does;
    - codebook: `absmax[b] = max|w|` over the block, `q` the index of the
      table entry nearest to `w / absmax[b]` (the lowest index wins a tie); an
      all-zero block keeps `absmax = 0` and the code nearest 0, so no NaN
      arises. With double quantization `offset = mean(absmax)` and the
      centred absmax is quantized blockwise the same way into the dynamic map.

    `round` is round-half-to-even, as `torch.round`. Encodings with
    `act_order` are rejected: their `g_idx` comes from GPTQ, not from RTN.

    ```mlir
    %q = hfq.quantize %w : tensor<4x64xf32> -> !hfq.qtensor<4x64xf32, #hfq.affine<
        bits = 4, granularity = group, group_size = 32, zero_point = integer>>
    ```
  }];
  let arguments = (ins HFQ_FloatTensor:$input);
  let results = (outs HFQ_QTensorType:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def HFQ_DequantizeOp : HFQ_Op<"dequantize", [Pure]> {
  let summary = "real values of a quantized tensor";
  let description = [{
    Computes `tensor<shape x elementType>` from the quantized tensor by its
    encoding's formula (see `#hfq.affine` and `#hfq.codebook`). Arithmetic is
    carried out in the element type.

    ```mlir
    %w = hfq.dequantize %q : !hfq.qtensor<4x64xf32, #hfq.affine<...>> -> tensor<4x64xf32>
    ```
  }];
  let arguments = (ins HFQ_QTensorType:$input);
  let results = (outs HFQ_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` type($result)";
  let hasVerifier = 1;
}

def HFQ_LinearOp : HFQ_Op<"linear", [Pure]> {
  let summary = "y = x W^T (+ b) with a float or quantized weight";
  let description = [{
    The linear layer in Hugging Face's convention: `weight` is `[out, in]`,
    `input` is `[..., in]`, and the result is `[..., out]`. The weight may be
    a float tensor or an `!hfq.qtensor`, which is dequantized (the reference
    lowering) or consumed directly by fused kernels. The optional `bias` is
    `[out]`. All float types must agree.

    With `outlier_threshold = T` the linear is LLM.int8()'s mixed-precision
    matrix multiplication (Dettmers et al. 2022, as bitsandbytes computes it).
    The weight must be 8-bit, symmetric, per output channel (`w = (q - 128) s`
    with `s = absmax / 127`) and the input `[tokens, in]`:
    - outlier columns: input features `k` where any token has `|x| >= T`;
    - each token's activation scale `a_t = max |x_tk|` over the elements with
      `|x| < T`; codes `xq = round(x 127 / a_t)` (0 in outlier columns and for
      a token with `a_t = 0`);
    - `y = (sum_k xq wq) a_t s / 127 + sum_{k outlier} x_tk (wq s) + b`, the
      first sum in exact integer arithmetic, the second in float.
    `T = 0` disables the outlier path (pure int8 × int8).

    ```mlir
    %y = hfq.linear %x, %w, %b : tensor<7x288xf32>, !hfq.qtensor<768x288xf32, #enc>,
        tensor<768xf32> -> tensor<7x768xf32>
    %z = hfq.linear %x, %w8 {outlier_threshold = 6.0 : f64} : ...
    ```
  }];
  let arguments = (ins HFQ_FloatTensor:$input, HFQ_Weight:$weight,
                       Optional<HFQ_FloatTensor>:$bias,
                       OptionalAttr<F64Attr>:$outlier_threshold);
  let results = (outs HFQ_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight)
    (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def HFQ_GlobalOp : HFQ_Op<"global", [Symbol]> {
  let summary = "a model tensor: a named, immutable global";
  let description = [{
    One global per tensor of the model, named by its Hugging Face tensor name.
    Its `value` is either external, `#hfq.param<"scope", "key">` (the data
    stays in the checkpoint bound to the scope when the module runs, memory-
    mapped, never copied into the IR), or inline: an elements attribute of
    the global's type (usually a `dense_resource` blob) for a float tensor, or
    an array of one elements attribute per part, in the encoding's order, for
    a quantized one (`!hfq.qtensor`).

    Quantization passes change a weight's global in place (type and value),
    so its symbol, and with it the identity of every linear that reads it,
    survives every pass and a print/parse round trip without locations.
    `hfq-bind-weights` lowers globals to `memref.global`s.

    ```mlir
    hfq.global @model.norm.weight : tensor<288xf32> = #hfq.param<"model", "model.norm.weight">
    hfq.global @lm_head.weight : tensor<32000x288xf32>
        = #hfq.param<"model", "model.embed_tokens.weight">   // a tied head
    hfq.global @model.layers.0.mlp.up_proj.weight
        : !hfq.qtensor<768x288xf32, #hfq.affine<bits = 4, granularity = channel>>
        = [dense_resource<up.codes> : tensor<768x144xi8>,
           dense_resource<up.scales> : tensor<768x1xf32>,
           dense_resource<up.zeros> : tensor<768x1xi32>]
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, TypeAttr:$type,
                       AnyAttr:$value);
  let assemblyFormat = "$sym_name `:` $type `=` $value attr-dict";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The external parameter holding the data, if the value is not inline.
    ParameterAttr getParameter() {
      return ::llvm::dyn_cast<ParameterAttr>(getValue());
    }
    /// The tensors the global stores, each with the suffix its name or key
    /// takes: ("", type) for a float tensor, (".<part>", part type) for
    /// every part of a quantized one.
    ::llvm::SmallVector<std::pair<std::string, ::mlir::RankedTensorType>>
    getStoredTensors();
  }];
}

def HFQ_LoadOp : HFQ_Op<"load",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "the value of an hfq.global";
  let description = [{
    Reads the tensor (float or quantized) of global `global`; the result
    type must be the global's type. Globals are immutable, so loads are pure
    and may be duplicated or merged.

    ```mlir
    %w = hfq.load @model.layers.3.mlp.down_proj.weight : tensor<288x768xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$global);
  let results = (outs HFQ_Weight:$result);
  let assemblyFormat = "$global attr-dict `:` qualified(type($result))";
  let extraClassDeclaration = [{
    /// The global this op reads (nearest symbol table).
    GlobalOp getGlobalOp();
  }];
}

#endif // HFQ_DIALECT_HFQ_IR_HFQOPS_TD

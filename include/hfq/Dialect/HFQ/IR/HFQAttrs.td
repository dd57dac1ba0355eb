//===- HFQAttrs.td - hfq weight encoding attributes --------*- tablegen -*-===//
//
// The encodings of quantized weights. Each one implements
// HFQ_EncodingAttrInterface, which lets the `!hfq.qtensor` type verify a
// logical shape against the encoding and derive the storage tensors
// (codes, scales, zeros, ...) the quantized value is made of.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_DIALECT_HFQ_IR_HFQATTRS_TD
#define HFQ_DIALECT_HFQ_IR_HFQATTRS_TD

include "hfq/Dialect/HFQ/IR/HFQDialect.td"
include "hfq/Dialect/HFQ/IR/HFQEnums.td"
include "hfq/Dialect/HFQ/IR/HFQInterfaces.td"

class HFQ_DefaultEnumParameter<EnumInfo info, string default>
    : EnumParameter<info> {
  let defaultValue = default;
}

def HFQ_AffineEncodingAttr : HFQ_Attr<"AffineEncoding", "affine",
    [DeclareAttrInterfaceMethods<HFQ_EncodingAttrInterface,
        ["verifyPartData"]>]> {
  let summary = "integer codes with per-group scales and zero points";
  let description = [{
    `w = (q - z) * s`, with unsigned `bits`-bit codes `q` and one scale `s`
    (and zero point `z`) per group:

    - `granularity = tensor`: one group for the whole tensor;
    - `granularity = channel`: one group per slice along `axis`, i.e. every
      other index fixed (`axis = 1` on an `[out, in]` weight is per output
      channel);
    - `granularity = group`: runs of `group_size` consecutive elements along
      `axis`, which `group_size` must divide.

    Scales have the weight's shape with dimension `axis` replaced by the number
    of groups (all ones for `tensor`). `zero_point` says how `z` is stored:
    `symmetric` stores none and uses the code that means zero, `z =
    2^(bits-1)` for integer codes and `z = 0` for float codes; `integer`
    stores `z`;
    `integer_minus_one` stores `z - 1` (GPTQ v1 checkpoints); `float` stores a
    floating-point `z` (HQQ). Integer zeros are `i32` parts, or with
    `packed_zeros` `bits`-wide codes packed like the codes, LSB first, each
    row of the zeros tensor its own stream padded to whole `i8` bytes (the
    size GPTQ's qzeros and AWQ's zeros take). Scales (and float zeros) are
    stored in `scale_type` (`f16`, `bf16`, `f32`, or for scales only the 8-bit
    `f8E4M3FN` and `f8E8M0FNU`, MX's power-of-two exponent; the weight's
    element type when absent) and widened to the element type when
    dequantizing.

    Codes are unsigned integers unless `code_type` names a float type of
    `bits` bits (`f4E2M1FN`, `f6E2M3FN`, `f6E3M2FN`, `f8E4M3FN`, `f8E5M2`):
    each code is then that type's bit pattern and `w = value(q) * s`, with
    `zero_point = symmetric` (FP8 per channel, MXFP4/MXFP8, NVFP4).

    With `scale_encoding` the scales are themselves quantized: the tensor of
    scales (the group shape, in the weight's element type) is stored in
    that encoding, and its parts take the place of `scales`, named
    `scales.<part>` (NVFP4: `f8E4M3FN` codes per 16 weights under one `f32`
    scale per tensor). Likewise `zero_encoding` quantizes float zero points
    (`zero_point = float`; parts `zeros.<part>`: SpQR's second level). Each
    level dequantizes through its own encoding.

    `act_order` (GPTQ desc_act) adds an `i32` part `g_idx` with one entry per
    index along `axis`: the group that index belongs to, replacing the
    implicit `index / group_size`.

    Codes are packed along the last dimension into `storage_bits`-wide
    containers as a bit stream in `order` (a code may straddle two containers
    when `bits` does not divide `storage_bits`, as GPTQ's 3-bit layout does);
    when a row's codes do not fill whole containers, each row is its own
    stream, padded to whole containers (18 3-bit codes take 7 bytes).
    Format-specific shuffles (AWQ's nibble interleave, GGUF's half-block
    split) are applied by the exporters, not encoded here.

    ```mlir
    #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>
    #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric, storage_bits = 8>
    #hfq.affine<bits = 3, granularity = group, group_size = 128,
                zero_point = integer_minus_one, act_order = true, storage_bits = 32>
    #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer,
                scale_type = f16, packed_zeros = true>   // what hfq quantize writes
    #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 32,
                zero_point = symmetric, scale_type = f8E8M0FNU>           // MXFP4
    #hfq.affine<bits = 4, code_type = f4E2M1FN, granularity = group, group_size = 16,
                zero_point = symmetric,
                scale_encoding = #hfq.affine<bits = 8, code_type = f8E4M3FN,
                    granularity = tensor, zero_point = symmetric>>        // NVFP4
    ```
  }];
  let parameters = (ins
    "unsigned":$bits,
    OptionalParameter<"::mlir::FloatType">:$code_type,
    EnumParameter<HFQ_Granularity>:$granularity,
    DefaultValuedParameter<"int64_t", "1">:$axis,
    DefaultValuedParameter<"int64_t", "0">:$group_size,
    EnumParameter<HFQ_ZeroPoint>:$zero_point,
    DefaultValuedParameter<"bool", "false">:$act_order,
    DefaultValuedParameter<"unsigned", "8">:$storage_bits,
    HFQ_DefaultEnumParameter<HFQ_PackOrder, "::mlir::hfq::PackOrder::lsb_first">:$order,
    OptionalParameter<"::mlir::FloatType">:$scale_type,
    OptionalParameter<"::mlir::hfq::EncodingAttrInterface">:$scale_encoding,
    OptionalParameter<"::mlir::hfq::EncodingAttrInterface">:$zero_encoding,
    DefaultValuedParameter<"bool", "false">:$packed_zeros
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The element type scales (and float zeros) are stored in; with a
    /// scale_encoding, the element type the scales dequantize to.
    ::mlir::FloatType getScaleStorageType(::mlir::FloatType elementType) const {
      return getScaleType() ? getScaleType() : elementType;
    }
    /// The shape of the scales (and zeros) of a weight of `shape`.
    ::llvm::SmallVector<int64_t> getGroupShape(::llvm::ArrayRef<int64_t> shape) const;
    /// How many parts the scales take (1, or the scale_encoding's parts).
    unsigned getNumScaleParts() const;
    /// How many parts the zeros take (0 when symmetric, 1, or the
    /// zero_encoding's parts).
    unsigned getNumZeroParts() const;
    /// Integer codes with scales stored as f16/bf16/f32 (no float codes, no
    /// 8-bit or quantized scales): what hfq.quantize, LLM.int8 and
    /// !quant.uniform can take.
    bool hasIntegerCodesAndPlainScales() const {
      return !getCodeType() && !getScaleEncoding() && !getZeroEncoding() &&
             !::mlir::hfq::isNarrowFloat(getScaleType());
    }
    /// Largest code value, 2^bits - 1.
    int64_t getMaxCode() const { return (int64_t(1) << getBits()) - 1; }
    /// Number of groups along the axis for a dimension of the given size.
    int64_t getNumGroups(int64_t axisSize) const;
  }];
}

def HFQ_CodebookEncodingAttr : HFQ_Attr<"CodebookEncoding", "codebook",
    [DeclareAttrInterfaceMethods<HFQ_EncodingAttrInterface,
        ["verifyPartData"]>]> {
  let summary = "lookup-table codes with blockwise absmax scaling";
  let description = [{
    `w = table[q] * absmax[b]` (`+ offset` with `offset = true`), where `b =
    flat_index / block_size` over the row-major flattened weight (the last
    block may be partial), as bitsandbytes' 4-bit formats define it. `kind`
    picks the table: `nf4` and `fp4` are bitsandbytes' tables (normalized to
    [-1, 1]); `dynamic8` is bitsandbytes' signed dynamic 8-bit map; `custom`
    takes `values`, whose size must be a power of two (the code width is its
    log2). With `offset = true` a tensor-wide `offset` (the mean) is added
    back: the values were centred before quantizing.

    Parts: codes, absmax (f32 [blocks]), and `offset` (tensor<1xf32>) with
    `offset = true`. With `absmax_encoding` the absmax vector is itself
    quantized in that encoding, whose parts take the place of `absmax`
    (named `absmax.<part>`). bitsandbytes' double quantization
    (compress_statistics) is `absmax_encoding = #hfq.codebook<kind =
    dynamic8, block_size = 256, offset = true>`: `absmax[b] =
    dynamic8[c[b]] * absmax2[b / 256] + offset`, parts `absmax.codes` (i8),
    `absmax.absmax` (f32), `absmax.offset`.

    ```mlir
    #hfq.codebook<kind = nf4, block_size = 64, storage_bits = 8, order = msb_first>
    #hfq.codebook<kind = nf4, block_size = 64,
                  absmax_encoding = #hfq.codebook<kind = dynamic8, block_size = 256,
                                                  offset = true>>
    #hfq.codebook<kind = custom, values = [-1.0, -0.25, 0.25, 1.0], block_size = 32>
    ```
  }];
  let parameters = (ins
    EnumParameter<HFQ_CodebookKind>:$kind,
    OptionalParameter<"::mlir::DenseF32ArrayAttr">:$values,
    DefaultValuedParameter<"int64_t", "64">:$block_size,
    OptionalParameter<"::mlir::hfq::EncodingAttrInterface">:$absmax_encoding,
    DefaultValuedParameter<"bool", "false">:$offset,
    DefaultValuedParameter<"unsigned", "8">:$storage_bits,
    HFQ_DefaultEnumParameter<HFQ_PackOrder, "::mlir::hfq::PackOrder::msb_first">:$order
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The table values, in code order (bitsandbytes' for nf4/fp4/dynamic8).
    ::llvm::SmallVector<float> getTable() const;
    /// Number of absmax blocks for a weight with `numElements` elements.
    int64_t getNumBlocks(int64_t numElements) const {
      return (numElements + getBlockSize() - 1) / getBlockSize();
    }
    /// How many parts the absmax values take (1, or absmax_encoding's).
    unsigned getNumAbsmaxParts() const;
  }];
}

def HFQ_SparseEncodingAttr : HFQ_Attr<"SparseEncoding", "sparse",
    [DeclareAttrInterfaceMethods<HFQ_EncodingAttrInterface,
        ["getStoredElementCount"]>]> {
  let summary = "N:M semi-structured sparsity (n kept of every m)";
  let description = [{
    In every run of `m` consecutive elements along the last dimension at most
    `n` are non-zero (2:4 is the pattern sparse tensor cores run). Parts:
    `indices`, the position (0..m-1) of each kept value inside its group as
    `log2(m)`-bit codes packed lsb-first into i8 along the last dimension
    (for 2:4: 2 bits per kept value, NVIDIA's metadata density), and
    `values` `[..., last * n / m]` in the weight's float type, in group order.
    Element `c` of a row is `values[g * n + j]` when `indices[g * n + j] ==
    c mod m` for some `j` (with `g = c / m`), and 0 otherwise. Produced by
    pruning passes (`hfq-prune`), not by `hfq.quantize`.

    ```mlir
    #hfq.sparse<n = 2, m = 4>
    ```
  }];
  let parameters = (ins "int64_t":$n, "int64_t":$m);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Kept values per row of `lastDim` elements.
    int64_t getKeptPerRow(int64_t lastDim) const {
      return lastDim / getM() * getN();
    }
  }];
}

def HFQ_BitmaskEncodingAttr : HFQ_Attr<"BitmaskEncoding", "bitmask",
    [DeclareAttrInterfaceMethods<HFQ_EncodingAttrInterface,
        ["verifyPartData", "getStoredElementCount"]>]> {
  let summary = "unstructured sparsity: a bitmask and the kept values";
  let description = [{
    compressed-tensors' `sparse-bitmask` layout of an `[out, in]` weight with
    `kept` non-zero elements. Parts: `bitmask` i8 [out, ceil(in / 8)], bit
    `c mod 8` (lsb first) of byte `c / 8` of row `r` set when element (r, c)
    is kept; `values` [kept] in the weight's float type, row-major order of
    the kept elements; `row_offsets` i64 [out], the index in `values` of each
    row's first kept element. Element (r, c) is `values[row_offsets[r] +
    (kept elements of row r before c)]` when its bit is set, else 0. Rows
    decode independently (the offsets), and a kernel skips zero bytes of the
    mask. Produced by pruning passes (`hfq-prune`), not by `hfq.quantize`;
    the mask and offsets of data read from disk are checked on import.

    ```mlir
    #hfq.bitmask<kept = 41472>
    ```
  }];
  let parameters = (ins "int64_t":$kept);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def HFQ_SpQREncodingAttr : HFQ_Attr<"SpQREncoding", "spqr",
    [DeclareAttrInterfaceMethods<HFQ_EncodingAttrInterface,
        ["verifyPartData"]>]> {
  let summary = "SpQR: a base encoding with float16 outliers written over it";
  let description = [{
    SpQR's representation of an `[out, in]` weight (numerics/SpQR.h): the
    weight as `base` decodes it, with `outliers` weights replaced by float16
    values kept in CSR form. SpQR's base is one `#hfq.affine`: `bits`-bit
    codes with a float zero point per row and group of `group_size` input
    columns (or the group `g_idx[c]` with `act_order`), whose scales and
    zeros are themselves `#hfq.affine`-quantized along the output dimension
    (`axis = 0`), `scale_bits` / `zero_bits` codes with one float scale and
    zero per run of `stats_group_size` rows:

      s = scales.scales[k, g] (scales.codes[r, g] - scales.zeros[k, g])
      z = zeros.scales[k, g] (zeros.codes[r, g] - zeros.zeros[k, g])
      w = s (q[r, c] - z), or the outlier value when (r, c) is one,

    for element `(r, c)` in group `g`, `k = r / stats_group_size`.

    Parts: the base's (for SpQR `codes`, `scales.codes`, `scales.scales`,
    `scales.zeros`, `zeros.codes`, `zeros.scales`, `zeros.zeros`, `g_idx`),
    then `outlier_row_ptr` i32 [out + 1], `outlier_cols` i32 [outliers] and
    `outlier_values` f16 [outliers]. Produced by `hfq-spqr`, not by
    `hfq.quantize`.

    ```mlir
    #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group,
        group_size = 16, zero_point = float, act_order = true,
        scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0,
            group_size = 16, zero_point = float>,
        zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0,
            group_size = 16, zero_point = float>>,
      outliers = 1234>
    ```
  }];
  let parameters = (ins
    "::mlir::hfq::EncodingAttrInterface":$base,
    "int64_t":$outliers
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of parts of the base encoding (the outlier parts follow).
    unsigned getNumBaseParts() const { return getBase().getPartNames().size(); }
  }];
}

def HFQ_ParameterAttr : HFQ_Attr<"Parameter", "param"> {
  let summary = "a tensor stored outside the IR: a key in a parameter scope";
  let description = [{
    The initial value of an `hfq.global` whose data lives in a checkpoint:
    tensor `key` of the parameter scope `scope`. The IR never names a file
    or directory: a scope is bound to a checkpoint directory by whoever runs
    or transforms the module (`hfq-opt --hfq-param-scope=model=DIR`, the
    `hfq` driver from its MODEL argument, `HFQDialect::bindParameterScope`
    in C++). `hfq import` puts every checkpoint tensor in scope `model`.

    The global of a quantized weight (`!hfq.qtensor`) names the weight's
    key; its parts are the tensors `key.<part>` (`key.codes`, `key.scales`,
    ...), named by the encoding.

    ```mlir
    #hfq.param<"model", "model.layers.0.self_attn.q_proj.weight">
    ```
  }];
  let parameters = (ins "::mlir::StringAttr":$scope, "::mlir::StringAttr":$key);
  let assemblyFormat = "`<` $scope `,` $key `>`";
  let genVerifyDecl = 1;
}

#endif // HFQ_DIALECT_HFQ_IR_HFQATTRS_TD

//===- HFQDialect.td - hfq dialect definition --------------*- tablegen -*-===//
//
// The hfq dialect and the base classes its attributes, types and ops derive
// from. The umbrella HFQ.td includes this file, then enums, attributes, types
// and ops, in that order.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_DIALECT_HFQ_IR_HFQDIALECT_TD
#define HFQ_DIALECT_HFQ_IR_HFQDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def HFQ_Dialect : Dialect {
  let name = "hfq";
  let cppNamespace = "::mlir::hfq";
  let summary = "Quantized weights of large language models and the ops over them";
  let description = [{
    The hfq dialect represents a quantized weight as one SSA value of type
    `!hfq.qtensor`, whose encoding attribute says exactly how the stored data
    maps back to real numbers: `#hfq.affine` for integer codes with scales and
    zero points (RTN, GPTQ, AWQ, HQQ, llama.cpp Q4_0/Q8_0, ...),
    `#hfq.codebook` for lookup-table codes with blockwise absmax scaling
    (bitsandbytes NF4/FP4 with optional double quantization, arbitrary
    tables), `#hfq.sparse` for N:M structured sparsity, `#hfq.bitmask` for
    unstructured sparsity (compressed-tensors' sparse-bitmask layout) and
    `#hfq.spqr` for SpQR (quantized group statistics plus float outliers).

    Model weights are symbols: one `hfq.global` per tensor, read with
    `hfq.load`, whose initial value is an external `#hfq.param` (a key in a
    parameter scope bound to a checkpoint directory at run time) or inline
    data. A linear's identity is its weight's symbol; quantizing a weight
    changes its global's type to `!hfq.qtensor` and its value to the parts.

    The dialect is named `hfq` because upstream MLIR already owns `quant`;
    encodings that `!quant.uniform` can express convert to and from it.

    ```mlir
    %w = hfq.assemble %codes, %scales, %zeros
        : tensor<768x144xi8>, tensor<768x9xf32>, tensor<768x9xi32>
        -> !hfq.qtensor<768x288xf32, #hfq.affine<bits = 4, granularity = group,
                                                 group_size = 32, zero_point = integer>>
    %y = hfq.linear %x, %w : tensor<7x288xf32>, !hfq.qtensor<...> -> tensor<7x768xf32>
    ```
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let extraClassDeclaration = [{
    // Defined next to the storage classes they need (HFQAttrs.cpp, HFQTypes.cpp).
    void registerAttributes();
    void registerTypes();

    /// Binds parameter scope `scope` (see `#hfq.param`) to a checkpoint
    /// directory for the passes that read weights in this context. Bind
    /// before running passes; a later binding of the same scope replaces it.
    void bindParameterScope(::llvm::StringRef scope,
                            ::llvm::StringRef directory) {
      parameterScopes[scope] = directory.str();
    }
    /// The directory bound to `scope`, if any.
    std::optional<::llvm::StringRef>
    lookupParameterScope(::llvm::StringRef scope) const {
      auto it = parameterScopes.find(scope);
      if (it == parameterScopes.end())
        return std::nullopt;
      return ::llvm::StringRef(it->second);
    }

  private:
    ::llvm::StringMap<std::string> parameterScopes;

  public:
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::tensor::TensorDialect"
  ];
}

class HFQ_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<HFQ_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

class HFQ_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<HFQ_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

class HFQ_Op<string mnemonic, list<Trait> traits = []>
    : Op<HFQ_Dialect, mnemonic, traits>;

#endif // HFQ_DIALECT_HFQ_IR_HFQDIALECT_TD

//===- HFQInterfaces.td - hfq attribute interfaces ---------*- tablegen -*-===//
//
// The interface every weight encoding attribute implements. Kept in its own
// file because interface generators only emit records of their main file.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_DIALECT_HFQ_IR_HFQINTERFACES_TD
#define HFQ_DIALECT_HFQ_IR_HFQINTERFACES_TD

include "mlir/IR/OpBase.td"

def HFQ_EncodingAttrInterface : AttrInterface<"EncodingAttrInterface"> {
  let cppNamespace = "::mlir::hfq";
  let description = [{
    An attribute that says how a quantized weight is stored. The storage of a
    `!hfq.qtensor<SHAPE x E, ENC>` is a fixed list of ranked tensors (the
    "parts") that `hfq.assemble` takes and `hfq.disassemble` returns; the
    first part is always the packed code tensor, whose last dimension holds
    `SHAPE[-1] * codeBits / storageBits` containers of `storageBits` bits.
  }];
  let methods = [
    InterfaceMethod<"number of bits of one code", "unsigned", "getCodeBits">,
    InterfaceMethod<"width of one storage container in bits", "unsigned",
      "getStorageBits">,
    InterfaceMethod<"bit order of codes inside containers",
      "::mlir::hfq::PackOrder", "getOrder">,
    InterfaceMethod<[{
        Checks that a weight of the given logical shape and element type can
        carry this encoding; reports the first broken rule.
      }], "::llvm::LogicalResult", "verifyForShape", (ins
        "::llvm::function_ref<::mlir::InFlightDiagnostic()>":$emitError,
        "::llvm::ArrayRef<int64_t>":$shape, "::mlir::FloatType":$elementType)>,
    InterfaceMethod<"names of the storage parts, in order",
      "::llvm::SmallVector<::llvm::StringRef>", "getPartNames">,
    InterfaceMethod<[{
        Types of the storage parts for a weight of the given logical shape and
        element type. Only meaningful once verifyForShape succeeded.
      }], "::llvm::SmallVector<::mlir::RankedTensorType>", "getPartTypes", (ins
        "::llvm::ArrayRef<int64_t>":$shape, "::mlir::FloatType":$elementType)>,
    InterfaceMethod<[{
        Checks the stored values of parts that index into other parts or
        into the weight (act-order g_idx, CSR outliers, bitmask offsets), so
        that data read from a file cannot make the lowered code read out of
        bounds. `parts` holds each part's little-endian bytes, of the types
        getPartTypes gives; the first problem found is reported with the
        part's name. Encodings without such parts accept everything.
      }], "::llvm::LogicalResult", "verifyPartData", (ins
        "::llvm::ArrayRef<int64_t>":$shape,
        "::llvm::ArrayRef<::llvm::ArrayRef<char>>":$parts,
        "::llvm::function_ref<void(::llvm::StringRef, const ::llvm::Twine &)>":$report),
      /*methodBody=*/[{}], /*defaultImplementation=*/[{
        return ::mlir::success();
      }]>,
    InterfaceMethod<[{
        How many of the weight's `numElements` logical elements are stored;
        the others are structural zeros (pruning masks). Dense encodings
        store all of them.
      }], "int64_t", "getStoredElementCount", (ins "int64_t":$numElements),
      /*methodBody=*/[{}], /*defaultImplementation=*/[{
        return numElements;
      }]>
  ];
}

#endif // HFQ_DIALECT_HFQ_IR_HFQINTERFACES_TD

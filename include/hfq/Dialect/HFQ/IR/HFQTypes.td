//===- HFQTypes.td - hfq types -----------------------------*- tablegen -*-===//
//
// `!hfq.qtensor`: a quantized weight as one SSA value.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_DIALECT_HFQ_IR_HFQTYPES_TD
#define HFQ_DIALECT_HFQ_IR_HFQTYPES_TD

include "hfq/Dialect/HFQ/IR/HFQAttrs.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

def HFQ_QTensorType : HFQ_Type<"QTensor", "qtensor"> {
  let summary = "a quantized tensor: packed codes plus scaling data, one value";
  let description = [{
    A statically shaped tensor of real numbers of type `elementType`, stored
    as the parts its encoding names (see `#hfq.affine`, `#hfq.codebook`).
    Dequantizing yields `tensor<shape x elementType>`.

    ```mlir
    !hfq.qtensor<768x288xf32, #hfq.affine<bits = 4, granularity = group,
                                          group_size = 32, zero_point = integer>>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t">:$shape,
    "::mlir::FloatType":$elementType,
    "::mlir::hfq::EncodingAttrInterface":$encoding
  );
  let assemblyFormat =
      "`<` custom<Shape>($shape, $elementType) `,` custom<Encoding>($encoding) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRank() const { return getShape().size(); }
    int64_t getNumElements() const;
    /// The dequantized tensor type.
    ::mlir::RankedTensorType getDequantizedType() const {
      return ::mlir::RankedTensorType::get(getShape(), getElementType());
    }
    ::llvm::SmallVector<::mlir::RankedTensorType> getPartTypes() const {
      return getEncoding().getPartTypes(getShape(), getElementType());
    }
  }];
}

#endif // HFQ_DIALECT_HFQ_IR_HFQTYPES_TD

//===- EncodingLowering.td - lowering hooks of encodings ---*- tablegen -*-===//
//
// The interface through which the reference lowering (and, later, the
// kernel generator) reaches an encoding's arithmetic. The dialect declares
// what an encoding stores (HFQ_EncodingAttrInterface); the conversion
// library attaches how it computes, as external models, so the dialect does
// not depend on linalg and a new encoding adds its lowering in one file.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_CONVERSION_HFQTOLINALG_ENCODINGLOWERING_TD
#define HFQ_CONVERSION_HFQTOLINALG_ENCODINGLOWERING_TD

include "mlir/IR/OpBase.td"

def HFQ_EncodingLoweringAttrInterface
    : AttrInterface<"EncodingLoweringAttrInterface"> {
  let cppNamespace = "::mlir::hfq";
  let description = [{
    Builds the reference IR of an encoding: the dequantized tensor from the
    parts, and (where round-to-nearest quantization into the encoding is
    defined) the parts from a float tensor. Attached to the encoding
    attributes by `registerHFQToLinalgInterfaces`.
  }];
  let methods = [
    InterfaceMethod<[{
        The real values, tensor<shape x elementType> of `type`, from its
        storage parts (in the encoding's order), following the encoding's
        documented formula step by step.
      }], "::mlir::Value", "buildDequantize", (ins
        "::mlir::OpBuilder &":$b, "::mlir::Location":$loc,
        "::mlir::hfq::QTensorType":$type, "::mlir::ValueRange":$parts)>,
    InterfaceMethod<[{
        The storage parts of `input` quantized round-to-nearest into `type`
        (hfq.quantize), or failure where the encoding's data comes from a
        pass instead (masks, outliers, g_idx).
      }], "::mlir::FailureOr<::llvm::SmallVector<::mlir::Value>>",
      "buildQuantize", (ins
        "::mlir::OpBuilder &":$b, "::mlir::Location":$loc,
        "::mlir::Value":$input, "::mlir::hfq::QTensorType":$type),
      /*methodBody=*/[{}], /*defaultImplementation=*/[{
        return ::mlir::failure();
      }]>
  ];
}

#endif // HFQ_CONVERSION_HFQTOLINALG_ENCODINGLOWERING_TD

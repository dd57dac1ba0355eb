//===- HFQEnums.td - enums used by hfq encodings -----------*- tablegen -*-===//
//
// Enumerations that parameterize the encoding attributes. They are plain
// C++ enums with string forms; the attributes embed them as parameters.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_DIALECT_HFQ_IR_HFQENUMS_TD
#define HFQ_DIALECT_HFQ_IR_HFQENUMS_TD

include "mlir/IR/EnumAttr.td"

def HFQ_Granularity : I32EnumAttr<"Granularity",
    "which elements share one scale (and zero point)", [
      I32EnumAttrCase<"tensor", 0>,
      I32EnumAttrCase<"channel", 1>,
      I32EnumAttrCase<"group", 2>
    ]> {
  let cppNamespace = "::mlir::hfq";
  let genSpecializedAttr = 0;
}

def HFQ_ZeroPoint : I32EnumAttr<"ZeroPoint",
    "how the zero point of an affine encoding is stored", [
      // No zeros are stored; codes are unsigned with the implicit zero point
      // 2^(bits-1) (offset binary, as GPTQ sym and llama.cpp Q4_0 store them).
      I32EnumAttrCase<"symmetric", 0>,
      // w = (q - z) * s with an integer z stored per group.
      I32EnumAttrCase<"integer", 1>,
      // GPTQ v1 checkpoints: the stored integer is z - 1, so w = (q - (z + 1)) * s.
      I32EnumAttrCase<"integer_minus_one", 2>,
      // HQQ: w = (q - z) * s with a floating-point z.
      I32EnumAttrCase<"float_", 3, "float">
    ]> {
  let cppNamespace = "::mlir::hfq";
  let genSpecializedAttr = 0;
}

def HFQ_PackOrder : I32EnumAttr<"PackOrder",
    "bit order of codes inside storage containers", [
      // Little-endian bit stream: element 0 in the least significant bits of
      // container 0 (GPTQ, AWQ before its interleave, compressed-tensors).
      I32EnumAttrCase<"lsb_first", 0>,
      // Big-endian bit stream: element 0 in the most significant bits
      // (bitsandbytes: first element in the high nibble).
      I32EnumAttrCase<"msb_first", 1>
    ]> {
  let cppNamespace = "::mlir::hfq";
  let genSpecializedAttr = 0;
}

def HFQ_CodebookKind : I32EnumAttr<"CodebookKind",
    "the lookup table of a codebook encoding", [
      I32EnumAttrCase<"nf4", 0>,
      I32EnumAttrCase<"fp4", 1>,
      I32EnumAttrCase<"custom", 2>,
      // bitsandbytes' signed dynamic 8-bit map (create_dynamic_map): the
      // codes of double-quantized absmax values.
      I32EnumAttrCase<"dynamic8", 3>
    ]> {
  let cppNamespace = "::mlir::hfq";
  let genSpecializedAttr = 0;
}

#endif // HFQ_DIALECT_HFQ_IR_HFQENUMS_TD

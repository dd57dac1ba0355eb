//===- HFQTypes.cpp - hfq types --------------------------------*- C++ -*-===//
//
// `!hfq.qtensor`: parsing its `NxMxE` shape syntax and checking the shape
// against the encoding.
//
//===----------------------------------------------------------------------===//

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::hfq;

/// `4x64xf32`: a static dimension list followed by the float element type.
static ParseResult parseShape(AsmParser &parser,
                              SmallVectorImpl<int64_t> &shape,
                              FloatType &elementType) {
  if (parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/true))
    return failure();
  Type type;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseType(type))
    return failure();
  elementType = dyn_cast<FloatType>(type);
  if (!elementType)
    return parser.emitError(loc, "expected a float element type, got ")
           << type;
  return success();
}

static void printShape(AsmPrinter &printer, ArrayRef<int64_t> shape,
                       FloatType elementType) {
  for (int64_t d : shape)
    printer << d << 'x';
  printer << elementType;
}

/// An attribute implementing EncodingAttrInterface. Errors inside the
/// attribute are reported by its own parser/verifier; only a non-encoding
/// attribute is diagnosed here, so each mistake gets one message.
static ParseResult parseEncoding(AsmParser &parser,
                                 EncodingAttrInterface &encoding) {
  SMLoc loc = parser.getCurrentLocation();
  Attribute attr;
  if (parser.parseAttribute(attr))
    return failure();
  encoding = dyn_cast<EncodingAttrInterface>(attr);
  if (!encoding)
    return parser.emitError(loc, "expected an hfq encoding attribute "
                                 "(#hfq.affine or #hfq.codebook), got ")
           << attr;
  return success();
}

static void printEncoding(AsmPrinter &printer,
                          EncodingAttrInterface encoding) {
  printer.printAttribute(encoding);
}

#define GET_TYPEDEF_CLASSES
#include "hfq/Dialect/HFQ/IR/HFQTypes.cpp.inc"

void HFQDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "hfq/Dialect/HFQ/IR/HFQTypes.cpp.inc"
      >();
}

LogicalResult QTensorType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  ArrayRef<int64_t> shape,
                                  FloatType elementType,
                                  EncodingAttrInterface encoding) {
  if (!encoding)
    return emitError() << "expected an hfq encoding attribute";
  return encoding.verifyForShape(emitError, shape, elementType);
}

int64_t QTensorType::getNumElements() const {
  int64_t n = 1;
  for (int64_t d : getShape())
    n *= d;
  return n;
}

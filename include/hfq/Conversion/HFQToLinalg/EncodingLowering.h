//===- EncodingLowering.h - lowering hooks of encodings ---------*- C++ -*-===//
//
// EncodingLoweringAttrInterface: how an encoding's values are computed in
// the reference lowering. Models for every hfq encoding are attached by
// registerHFQToLinalgInterfaces (HFQToLinalg.h).
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_CONVERSION_HFQTOLINALG_ENCODINGLOWERING_H
#define HFQ_CONVERSION_HFQTOLINALG_ENCODINGLOWERING_H

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"

#include "mlir/IR/Builders.h"

#include "hfq/Conversion/HFQToLinalg/EncodingLowering.h.inc"

#endif // HFQ_CONVERSION_HFQTOLINALG_ENCODINGLOWERING_H

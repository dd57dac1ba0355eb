//===- QuantInterop.h - hfq encodings <-> upstream !quant.uniform -*- C++ -*-===//
//
// Converts quantized constants between upstream MLIR's `!quant.uniform`
// types (per-tensor, per-axis, sub-channel) and hfq's `#hfq.affine`
// encoding. `!quant.uniform` carries its scales and zero points in the type,
// so the conversion works on constants: integer storage + type on one side,
// an `!hfq.qtensor` type + part values on the other.
//
// Expressible both ways: integer storage of 2..8 bits over its full range,
// one scale (and integer zero point) per tensor, per row/column of a matrix,
// or per block along one dimension. Not expressible in `!quant.uniform`:
// codebooks, float zero points, act-order g_idx; not expressible in hfq:
// blocks along two dimensions, narrowed storage ranges.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_CONVERSION_QUANTINTEROP_QUANTINTEROP_H
#define HFQ_CONVERSION_QUANTINTEROP_QUANTINTEROP_H

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"

namespace mlir::hfq {

/// A quantized constant in hfq's terms.
struct HFQConstant {
  QTensorType type;
  /// The storage parts in the order the encoding names them.
  SmallVector<DenseElementsAttr> parts;
};

/// A quantized constant in upstream's terms: signless integer storage whose
/// element type has the quantized type's storage width.
struct QuantConstant {
  quant::QuantizedType type;
  DenseElementsAttr storage;
};

/// `!quant.uniform` storage + type -> hfq. Codes are packed into 8-bit
/// containers, LSB first.
FailureOr<HFQConstant>
convertQuantToHFQ(const QuantConstant &value,
                  function_ref<InFlightDiagnostic()> emitError);

/// hfq -> `!quant.uniform`. Symmetric encodings use signed storage with zero
/// point 0; integer zero points use unsigned storage.
FailureOr<QuantConstant>
convertHFQToQuant(const HFQConstant &value,
                  function_ref<InFlightDiagnostic()> emitError);

} // namespace mlir::hfq

#endif // HFQ_CONVERSION_QUANTINTEROP_QUANTINTEROP_H

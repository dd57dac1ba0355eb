//===- HFQToLinalg.h - reference lowering of hfq ----------------*- C++ -*-===//
//
// Patterns and type conversion of the reference lowering, for compilers that
// assemble their own conversion pass around them.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_CONVERSION_HFQTOLINALG_HFQTOLINALG_H
#define HFQ_CONVERSION_HFQTOLINALG_HFQTOLINALG_H

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::hfq {

/// Attaches the reference lowering of every hfq encoding
/// (EncodingLoweringAttrInterface) to the hfq dialect's attributes. The
/// conversion patterns need it; registerAllDialects calls it.
void registerHFQToLinalgInterfaces(DialectRegistry &registry);

/// Adds the 1:N conversion of `!hfq.qtensor` to its storage parts; all other
/// types are left as they are.
void populateHFQToLinalgTypeConversion(TypeConverter &converter);

/// Patterns lowering every hfq op to linalg/tensor/arith/math/scf.
void populateHFQToLinalgConversionPatterns(const TypeConverter &converter,
                                           RewritePatternSet &patterns);

} // namespace mlir::hfq

#endif // HFQ_CONVERSION_HFQTOLINALG_HFQTOLINALG_H

//===- Codebooks.h - lookup tables of codebook encodings -------*- C++ -*-===//
//
// The code tables bitsandbytes defines: NF4 and FP4 (4-bit weights) and the
// signed 8-bit dynamic map used to double-quantize absmax values.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_NUMERICS_CODEBOOKS_H
#define HFQ_NUMERICS_CODEBOOKS_H

#include "llvm/ADT/ArrayRef.h"

namespace mlir::hfq::numerics {

/// bitsandbytes' NF4 table (the 16 values of its CUDA kernels), code order.
llvm::ArrayRef<float> nf4Table();
/// bitsandbytes' FP4 (E2M1 variant) table, code order: bit 3 is the sign.
llvm::ArrayRef<float> fp4Table();
/// bitsandbytes' create_dynamic_map(signed=True, max_exponent_bits=7,
/// total_bits=8): 256 sorted values in [-1, 1], computed in float32.
llvm::ArrayRef<float> dynamicMap8();

} // namespace mlir::hfq::numerics

#endif // HFQ_NUMERICS_CODEBOOKS_H

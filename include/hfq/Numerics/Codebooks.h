//===- Codebooks.h - lookup tables of codebook encodings -------*- C++ -*-===//
//
// The code tables bitsandbytes defines: NF4 and FP4 (4-bit weights) and the
// signed 8-bit dynamic map used to double-quantize absmax values.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_NUMERICS_CODEBOOKS_H
#define HFQ_NUMERICS_CODEBOOKS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace mlir::hfq::numerics {

/// bitsandbytes' NF4 table (the 16 values of its CUDA kernels), code order.
llvm::ArrayRef<float> nf4Table();
/// bitsandbytes' FP4 (E2M1 variant) table, code order: bit 3 is the sign.
llvm::ArrayRef<float> fp4Table();
/// bitsandbytes' create_dynamic_map(signed=True, max_exponent_bits=7,
/// total_bits=8): 256 sorted values in [-1, 1], computed in float32.
llvm::ArrayRef<float> dynamicMap8();

/// Index of the table entry nearest to x; the lowest index wins a tie (as
/// torch.argmin over |x - table| does).
uint8_t nearestCode(llvm::ArrayRef<float> table, float x);

/// Blockwise codebook quantization of a flattened tensor, as bitsandbytes'
/// reference (torch) implementation defines it: absmax = max|w| per block of
/// `blockSize` elements (the last block may be partial), q = the nearest
/// table entry to w / absmax. An all-zero block keeps absmax 0 and the code
/// nearest 0 (bitsandbytes would divide 0 by 0). With `doubleQuantBlock` > 0
/// (compress_statistics): offset = mean(absmax) (float32, summed in order),
/// and absmax - offset is quantized blockwise into dynamicMap8() with
/// float32 scales absmax2, `doubleQuantBlock` values per block.
struct CodebookQuantized {
  std::vector<uint8_t> codes;
  std::vector<float> absmax;
  // With double quantization (absmax is then left empty):
  std::vector<uint8_t> absmaxCodes;
  std::vector<float> absmax2;
  float offset = 0.0f;
};
llvm::Expected<CodebookQuantized>
quantizeCodebook(llvm::ArrayRef<float> weights, llvm::ArrayRef<float> table,
                 int64_t blockSize, int64_t doubleQuantBlock = 0);

/// table[q] * absmax, with absmax rebuilt from its codes under double
/// quantization: dynamic8[c] * absmax2 + offset.
std::vector<float> dequantizeCodebook(const CodebookQuantized &q,
                                      llvm::ArrayRef<float> table,
                                      int64_t blockSize,
                                      int64_t doubleQuantBlock = 0);

} // namespace mlir::hfq::numerics

#endif // HFQ_NUMERICS_CODEBOOKS_H

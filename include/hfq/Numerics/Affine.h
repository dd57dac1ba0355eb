//===- Affine.h - integer (affine) quantization of weight matrices -*- C++ -*-===//
//
// Round-to-nearest quantization of a row-major [rows, cols] weight matrix
// into b-bit unsigned codes with per-tensor, per-channel or group-wise scales
// and zero points, and the matching dequantization. The rules are those the
// `hfq.quantize` op documents (GPTQ's reference quantizer), so this library
// is the independent oracle the IR lowering is tested against.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_NUMERICS_AFFINE_H
#define HFQ_NUMERICS_AFFINE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace mlir::hfq::numerics {

/// How an affine scheme groups and offsets a [rows, cols] matrix. Groups run
/// along the columns (axis 1, the input dimension of an HF linear weight).
struct AffineScheme {
  enum class Granularity { Tensor, Channel, Group };
  unsigned bits = 4;
  Granularity granularity = Granularity::Group;
  /// Columns per group when granularity == Group.
  int64_t groupSize = 128;
  /// Symmetric: implicit zero 2^(bits-1), scale 2 max|w| / (2^bits - 1).
  bool symmetric = false;

  int64_t numGroups(int64_t cols) const;
  /// Checks bits and group size against a matrix of `cols` columns.
  llvm::Error validate(int64_t cols) const;
};

/// Codes (one per element, row-major) with one scale and zero per
/// (row, group); a per-tensor scheme has one of each.
struct AffineQuantized {
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> codes;
  std::vector<float> scales;
  /// Integer zero points (2^(bits-1) for symmetric schemes).
  std::vector<int32_t> zeros;
};

/// Round-to-nearest quantization (round half to even). Fails on non-finite
/// weights, naming the first offending element.
llvm::Expected<AffineQuantized> quantizeRTN(llvm::ArrayRef<float> weights,
                                            int64_t rows, int64_t cols,
                                            const AffineScheme &scheme);

/// (q - z) * s for every element.
std::vector<float> dequantize(const AffineQuantized &q,
                              const AffineScheme &scheme);

} // namespace mlir::hfq::numerics

#endif // HFQ_NUMERICS_AFFINE_H

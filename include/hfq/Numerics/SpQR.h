//===- SpQR.h - sparse-quantized representation -----------------*- C++ -*-===//
//
// SpQR (Dettmers et al., 2023) as its reference (Vahe1994/SpQR,
// spqr_engine.py and quant_groups.py) defines it, on a row-major [rows,
// cols] weight and H = 2 XᵀX / N:
//
// - GPTQ's machinery: dead inputs, dampening percDamp · mean(diag H)
//   (raised on Cholesky failure), optional act-order permutation, the upper
//   Cholesky factor U of H⁻¹, blocks of `blockSize` columns with lazy
//   updates; inside a block every update is applied at once, so a group's
//   statistics see the in-block updates, as the reference's in-place loop.
// - Small groups of `groupSize` columns; each row's group gets min-max
//   statistics (x_min, x_max of the values, [-1, 1] when equal; scale =
//   range / (2^bits - 1), float zero = -x_min / scale), and codes
//   clamp(round(w / s + z), 0, 2^bits - 1), w ≈ s (q - z).
// - Those scales and zeros are themselves quantized the same way to
//   `scaleBits` / `zeroBits`, in runs of `statsGroupSize` consecutive rows
//   (second-level float scale and zero per run).
// - Outliers: with the threshold τ = relThreshold · mean_c(var_r(W_rc) /
//   U_cc²), each group's statistics are fitted without the weights whose
//   leave-one-out reduction of the group's U-weighted squared error exceeds
//   τ (they are replaced by the mean of the others); then every weight whose
//   scaled error ((w - q) / U_cc)² exceeds τ is kept exactly as an outlier
//   (stored in float16; its code is that of 0) and the rest are quantized.
//   Errors propagate as in GPTQ.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_NUMERICS_SPQR_H
#define HFQ_NUMERICS_SPQR_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <limits>
#include <vector>

namespace mlir::hfq::numerics {

struct SpQROptions {
  unsigned bits = 3;
  int64_t groupSize = 16;
  unsigned scaleBits = 3, zeroBits = 3;
  int64_t statsGroupSize = 16;
  /// Relative outlier threshold (infinity: no outliers).
  double outlierThreshold = 0.2;
  double percDamp = 1.0;
  int64_t blockSize = 128;
  bool actOrder = true;
  /// Skip the leave-one-out refit (the reference's simplified_outliers).
  bool simplifiedOutliers = false;
};

/// Second-level quantized statistics of one kind (scales or zeros):
/// codes [groups, rows] and one float scale and zero per run of
/// statsGroupSize rows: [groups, rows / statsGroupSize].
struct SpQRStats {
  std::vector<uint8_t> codes;
  std::vector<float> scales, zeros;
};

struct SpQRResult {
  int64_t rows = 0, cols = 0;
  /// Codes [rows, cols] in the original column order.
  std::vector<uint8_t> codes;
  SpQRStats scales, zeros;
  /// With act-order: the group of every column.
  std::vector<int32_t> gIdx;
  /// Outliers in CSR over rows: rowPtr [rows + 1], column and float16 bits.
  std::vector<int32_t> rowPtr, outlierCols;
  std::vector<uint16_t> outlierValues;
  double percDamp = 0;
  int64_t deadColumns = 0;
};

llvm::Expected<SpQRResult> quantizeSpQR(llvm::ArrayRef<float> weights,
                                        int64_t rows, int64_t cols,
                                        llvm::ArrayRef<double> hessian,
                                        const SpQROptions &options);

/// The dequantized weight: s (q - z) with s and z from the second level,
/// outliers written over it.
std::vector<float> dequantizeSpQR(const SpQRResult &r,
                                  const SpQROptions &options);

/// IEEE half precision (round to nearest even) and back.
uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);

} // namespace mlir::hfq::numerics

#endif // HFQ_NUMERICS_SPQR_H

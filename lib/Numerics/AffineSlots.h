//===- AffineSlots.h - groups of an affine scheme ---------------*- C++ -*-===//
//
// Which scale each element of a [rows, cols] matrix uses, and the input
// checks every quantizer of the affine family shares. Private to
// lib/Numerics.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_LIB_NUMERICS_AFFINESLOTS_H
#define HFQ_LIB_NUMERICS_AFFINESLOTS_H

#include "hfq/Numerics/Affine.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace mlir::hfq::numerics::detail {

/// Which scale slot (row, group) each element of a [rows, cols] matrix uses.
struct Slots {
  int64_t rows, cols, groups, groupCols;
  bool perTensor;
  Slots(const AffineScheme &scheme, int64_t rows, int64_t cols)
      : rows(rows), cols(cols), groups(scheme.numGroups(cols)),
        groupCols(scheme.granularity == AffineScheme::Granularity::Group
                      ? scheme.groupSize
                      : cols),
        perTensor(scheme.granularity == AffineScheme::Granularity::Tensor) {}
  int64_t count() const { return perTensor ? 1 : rows * groups; }
  int64_t of(int64_t r, int64_t c) const {
    return perTensor ? 0 : r * groups + c / groupCols;
  }
  /// (row, group) of slot s.
  std::pair<int64_t, int64_t> position(int64_t s) const {
    return perTensor ? std::pair<int64_t, int64_t>(0, 0)
                     : std::pair<int64_t, int64_t>(s / groups, s % groups);
  }
};

inline llvm::Error checkMatrix(llvm::ArrayRef<float> weights, int64_t rows,
                               int64_t cols) {
  if (rows <= 0 || cols <= 0 || int64_t(weights.size()) != rows * cols)
    return llvm::createStringError(llvm::formatv(
        "{0} weights given for a {1}x{2} matrix", weights.size(), rows, cols));
  for (size_t i = 0; i < weights.size(); ++i)
    if (!std::isfinite(weights[i]))
      return llvm::createStringError(
          llvm::formatv("weight at row {0}, column {1} is not finite ({2})",
                        i / cols, i % cols, weights[i]));
  return llvm::Error::success();
}

} // namespace mlir::hfq::numerics::detail

#endif // HFQ_LIB_NUMERICS_AFFINESLOTS_H

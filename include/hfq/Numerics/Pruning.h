//===- Pruning.h - weight pruning -------------------------------*- C++ -*-===//
//
// Pruning of a row-major [rows, cols] linear weight (rows = outputs):
// - magnitude: the `sparsity` fraction of smallest |w| of the whole matrix
//   (ties broken by position), or, with an N:M pattern, the m - n smallest
//   of every m consecutive inputs of a row (n kept of every m, e.g. 2:4);
// - structured: whole units of `unit` consecutive rows (axis 0: output
//   channels; unit = head_dim prunes attention heads of q/k/v) or columns
//   (axis 1: input channels, heads of o_proj) with the smallest L2 norm;
// - SparseGPT (Frantar & Alistarh 2023, the reference's fasterprune): OBS
//   updates with the upper Cholesky factor of H⁻¹ (as GPTQ), masks chosen
//   per block of `blockSize` columns by w² / [H⁻¹]_ii² (unstructured: the
//   smallest `sparsity` fraction of the block; N:M: the m - n smallest of
//   every m, chosen when the group is reached), optionally quantizing the
//   kept weights jointly (per-channel params from the start weight).
// Pruned weights are exact zeros; the mask says which weights are kept.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_NUMERICS_PRUNING_H
#define HFQ_NUMERICS_PRUNING_H

#include "hfq/Numerics/Affine.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

namespace mlir::hfq::numerics {

/// n kept of every m consecutive inputs (n = 0: unstructured).
struct NMPattern {
  int64_t n = 0, m = 0;
  bool enabled() const { return m > 0; }
  bool operator==(const NMPattern &o) const { return n == o.n && m == o.m; }
};

/// "N:M", or "none" when disabled (the pass option's spelling).
llvm::raw_ostream &operator<<(llvm::raw_ostream &os, NMPattern p);

struct PruneResult {
  std::vector<float> weights;
  /// 1 where the weight is kept.
  std::vector<uint8_t> mask;
  /// SparseGPT only.
  double percDamp = 0;
  int64_t deadColumns = 0;
  double loss = 0;
  /// With joint quantization: the codes/scales of the kept weights.
  std::optional<AffineQuantized> quantized;
};

/// compressed-tensors' sparse-bitmask layout of a [rows, cols] weight
/// (`#hfq.bitmask`): the non-zero elements in row-major order, a mask of
/// ceil(cols / 8) bytes per row (bit c % 8 of byte c / 8, lsb first), and
/// the index in `values` of each row's first element.
struct BitmaskSparse {
  std::vector<uint8_t> bitmask;
  std::vector<float> values;
  std::vector<int64_t> rowOffsets;
};
BitmaskSparse compressBitmask(llvm::ArrayRef<float> weights, int64_t rows,
                              int64_t cols);
std::vector<float> decompressBitmask(const BitmaskSparse &sparse, int64_t rows,
                                     int64_t cols);

llvm::Expected<PruneResult> pruneMagnitude(llvm::ArrayRef<float> weights,
                                           int64_t rows, int64_t cols,
                                           double sparsity, NMPattern pattern);

llvm::Expected<PruneResult> pruneStructured(llvm::ArrayRef<float> weights,
                                            int64_t rows, int64_t cols,
                                            double sparsity, int axis,
                                            int64_t unit);

struct SparseGPTOptions {
  double sparsity = 0.5;
  NMPattern pattern;
  double percDamp = 0.01;
  int64_t blockSize = 128;
  /// Joint quantization (per-channel scheme) when set.
  std::optional<AffineScheme> quantize;
};

/// `hessian` is 2 XᵀX / N ([cols, cols], float64).
llvm::Expected<PruneResult> pruneSparseGPT(llvm::ArrayRef<float> weights,
                                           int64_t rows, int64_t cols,
                                           llvm::ArrayRef<double> hessian,
                                           const SparseGPTOptions &options);

/// Checks an N:M pattern against a row length.
llvm::Error validatePattern(NMPattern pattern, int64_t cols);

} // namespace mlir::hfq::numerics

#endif // HFQ_NUMERICS_PRUNING_H

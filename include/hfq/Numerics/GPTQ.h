//===- GPTQ.h - GPTQ weight quantization ------------------------*- C++ -*-===//
//
// GPTQ (Frantar et al., 2023) as its reference implementation (gptq.py /
// AutoGPTQ's fasterquant) defines it, on a row-major [rows, cols] weight
// (rows = output channels) and the Hessian H = 2 XᵀX / N of its inputs:
//
// 1. per-channel params (no groups) from the whole weight;
// 2. dead inputs (H_ii = 0): H_ii = 1 and the weight column is zeroed;
// 3. static groups: params of every group from the weight now;
// 4. act-order: columns permuted by descending H_ii (stable for ties);
// 5. dampening λ = percdamp · mean(diag H) added to the diagonal; if the
//    Cholesky factorization fails, λ grows tenfold (up to 6 times);
// 6. U = the upper Cholesky factor of H⁻¹;
// 7. columns in blocks of `blockSize`: each column is quantized with its
//    group's params (computed, without static groups, when the group's
//    first column is reached, from the weight as the previous blocks left
//    it), its error (w - q) / U_ii is spread over the block's later columns
//    through row i of U, and after the block over all later columns at once
//    (lazy batch update, one GEMM).
//
// Quantization rules are those of numerics::quantizeRTN (GPTQ's own
// Quantizer, including its MSE clipping option). Linear algebra runs on
// LAPACK (Cholesky, inverse: float64) and BLAS (updates: float32).
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_NUMERICS_GPTQ_H
#define HFQ_NUMERICS_GPTQ_H

#include "hfq/Numerics/Affine.h"

namespace mlir::hfq::numerics {

struct GPTQOptions {
  /// Bits, granularity (Channel or Group along the columns), symmetric,
  /// float zeros are not supported, MSE clipping.
  AffineScheme scheme;
  double percDamp = 0.01;
  int64_t blockSize = 128;
  bool actOrder = false;
  bool staticGroups = false;
};

struct GPTQResult {
  /// Codes in the original column order; scales/zeros [rows, groups] in the
  /// order groups were formed (the permuted order with act-order).
  AffineQuantized q;
  /// With act-order (and no static groups): the group of every column.
  std::vector<int32_t> gIdx;
  /// The dampening finally used, as a fraction of mean(diag H).
  double percDamp = 0;
  int64_t deadColumns = 0;
  /// Σ (w - q)² / U_ii² / 2 over all weights (GPTQ's reported error).
  double loss = 0;
};

/// `hessian` is the [cols, cols] matrix 2 XᵀX / N (float64, symmetric).
llvm::Expected<GPTQResult> quantizeGPTQ(llvm::ArrayRef<float> weights,
                                        int64_t rows, int64_t cols,
                                        llvm::ArrayRef<double> hessian,
                                        const GPTQOptions &options);

/// The upper Cholesky factor U (row-major float32) of (H + λI)⁻¹ with
/// λ = percDamp · mean(diag H), raising percDamp tenfold (up to 6 times)
/// while the factorization fails; `percDamp` returns the value used. H is
/// modified: dead inputs (H_ii = 0) get H_ii = 1 and are listed in `dead`.
llvm::Expected<std::vector<float>>
hessianInverseFactor(std::vector<double> &hessian, int64_t cols,
                     double &percDamp, std::vector<int64_t> *dead = nullptr);

/// Act-order: the columns by descending H_ii (stable for ties).
std::vector<int64_t> actOrderPermutation(llvm::ArrayRef<double> hessian,
                                         int64_t cols);
/// W ← W[:, perm] ([rows, cols]) and H ← H[perm][:, perm].
void permuteColumns(std::vector<float> &W, std::vector<double> &H,
                    int64_t rows, int64_t cols, llvm::ArrayRef<int64_t> perm);
/// W[:, c] ← 0 for every c in `columns` (the dead inputs).
void zeroColumns(std::vector<float> &W, int64_t rows, int64_t cols,
                 llvm::ArrayRef<int64_t> columns);
/// Starts a block of columns [i1, i1 + count): W1 ← W[:, i1:i1+count]
/// ([rows, count] row-major) and Err1 ← 0.
void loadBlock(const std::vector<float> &W, int64_t rows, int64_t cols,
               int64_t i1, int64_t count, std::vector<float> &W1,
               std::vector<float> &Err1);

/// The two error-propagation steps GPTQ and SparseGPT share, on a block of
/// columns [i1, i1 + count) copied into `block` ([rows, count] row-major):
/// column i of one row becomes `q`; its error (w - q) / d (d = U_ii) is
/// spread over the row's later block columns through `hrow` = U[i, i1:].
/// Returns the error and adds (w - q)² / d² / 2 to `loss`.
float propagateColumnError(float *blockRow, int64_t i, int64_t count, float q,
                           float d, const float *hrow, double &loss);
/// After a block: W[:, i2:] -= Err · U[i1:i2, i2:] (one SGEMM), with Err
/// the block's [rows, i2 - i1] errors.
void lazyBatchUpdate(std::vector<float> &W, const std::vector<float> &err,
                     const std::vector<float> &upper, int64_t rows,
                     int64_t cols, int64_t i1, int64_t i2);

/// Dequantized weight of a GPTQ result (honours g_idx).
std::vector<float> dequantizeGPTQ(const GPTQResult &r,
                                  const AffineScheme &scheme);

/// The GPTQ Hessian H = 2 XᵀX / N of a linear's inputs X [N, cols],
/// accumulated in float64 over chunks of rows (one sequence at a time).
class HessianAccumulator {
public:
  explicit HessianAccumulator(int64_t cols) : cols(cols), xtx(cols * cols) {}
  /// Adds `rows` rows of `cols` floats, `stride` apart.
  void add(const float *x, int64_t rows, int64_t stride);
  int64_t rows() const { return n; }
  /// 2 XᵀX / N (all zeros before any row), full and symmetric.
  std::vector<double> hessian() const;

private:
  int64_t cols, n = 0;
  /// The upper triangle of XᵀX, row-major.
  std::vector<double> xtx;
  std::vector<double> chunk;
};

} // namespace mlir::hfq::numerics

#endif // HFQ_NUMERICS_GPTQ_H

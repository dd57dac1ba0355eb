//===- GPTQ.cpp - GPTQ weight quantization ----------------------*- C++ -*-===//

#include "hfq/Numerics/GPTQ.h"

#include "llvm/Support/FormatVariadic.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <numeric>

// LAPACK from OpenBLAS (Fortran interface; Debian ships no LAPACKE in it).
extern "C" {
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda,
             int *info, size_t uploLength);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda,
             int *info, size_t uploLength);
}

using namespace mlir::hfq::numerics;

namespace {

/// Per-row (scale, zero) of the columns [begin, begin + width) of `w`,
/// by quantizeRTN's rules over that slice.
struct RowParams {
  std::vector<float> scales;
  std::vector<float> zeros;
};

llvm::Expected<RowParams> findParams(const std::vector<float> &w, int64_t rows,
                                     int64_t cols, int64_t begin,
                                     int64_t width, AffineScheme scheme) {
  std::vector<float> slice(rows * width);
  for (int64_t r = 0; r < rows; ++r)
    std::copy_n(&w[r * cols + begin], width, &slice[r * width]);
  scheme.granularity = AffineScheme::Granularity::Channel;
  auto q = quantizeRTN(slice, rows, width, scheme);
  if (!q)
    return q.takeError();
  RowParams p;
  p.scales = std::move(q->scales);
  p.zeros.assign(q->zeros.begin(), q->zeros.end());
  return p;
}

/// The upper Cholesky factor U of (H + λI)⁻¹ (row-major float32, zeros
/// below the diagonal). Column-major LAPACK on a symmetric matrix: 'L' of
/// the column-major view is 'U' of the row-major one, so the steps are
/// spelled in column-major terms.
bool inverseCholeskyUpper(const std::vector<double> &h, int64_t n,
                          double damp, std::vector<float> &upper) {
  std::vector<double> a(h);
  for (int64_t i = 0; i < n; ++i)
    a[i * n + i] += damp;
  const int N = int(n);
  int info = 0;
  dpotrf_("L", &N, a.data(), &N, &info, 1); // H = L Lᵀ
  if (info != 0)
    return false;
  dpotri_("L", &N, a.data(), &N, &info, 1); // H⁻¹ in the lower triangle
  if (info != 0)
    return false;
  // Mirror to a full symmetric matrix (column-major lower -> upper).
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = j + 1; i < n; ++i)
      a[i * n + j] = a[j * n + i];
  dpotrf_("U", &N, a.data(), &N, &info, 1); // H⁻¹ = Uᵀ U
  if (info != 0)
    return false;
  upper.assign(n * n, 0.0f);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i <= j; ++i)
      upper[i * n + j] = float(a[i + j * n]); // U(i, j), column-major
  return true;
}

} // namespace

llvm::Expected<std::vector<float>>
mlir::hfq::numerics::hessianInverseFactor(std::vector<double> &H, int64_t cols,
                                          double &percDamp,
                                          std::vector<int64_t> *dead) {
  for (int64_t c = 0; c < cols; ++c)
    if (H[c * cols + c] == 0.0) {
      H[c * cols + c] = 1.0;
      if (dead)
        dead->push_back(c);
    }
  double meanDiag = 0;
  for (int64_t c = 0; c < cols; ++c)
    meanDiag += H[c * cols + c];
  meanDiag /= double(cols);
  std::vector<float> upper;
  for (int attempt = 0; attempt < 7; ++attempt, percDamp *= 10)
    if (inverseCholeskyUpper(H, cols, percDamp * meanDiag, upper))
      return upper;
  return llvm::createStringError(llvm::formatv(
      "the Hessian is not positive definite even with dampening {0} x "
      "mean(diag H)",
      percDamp / 10));
}

std::vector<int64_t>
mlir::hfq::numerics::actOrderPermutation(llvm::ArrayRef<double> H,
                                         int64_t cols) {
  std::vector<int64_t> perm(cols);
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
    return H[a * cols + a] > H[b * cols + b];
  });
  return perm;
}

void mlir::hfq::numerics::permuteColumns(std::vector<float> &W,
                                         std::vector<double> &H, int64_t rows,
                                         int64_t cols,
                                         llvm::ArrayRef<int64_t> perm) {
  std::vector<float> Wp(W.size());
  std::vector<double> Hp(H.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      Wp[r * cols + c] = W[r * cols + perm[c]];
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < cols; ++j)
      Hp[i * cols + j] = H[perm[i] * cols + perm[j]];
  W.swap(Wp);
  H.swap(Hp);
}

void mlir::hfq::numerics::zeroColumns(std::vector<float> &W, int64_t rows,
                                      int64_t cols,
                                      llvm::ArrayRef<int64_t> columns) {
  for (int64_t c : columns)
    for (int64_t r = 0; r < rows; ++r)
      W[r * cols + c] = 0.0f;
}

void mlir::hfq::numerics::loadBlock(const std::vector<float> &W, int64_t rows,
                                    int64_t cols, int64_t i1, int64_t count,
                                    std::vector<float> &W1,
                                    std::vector<float> &Err1) {
  W1.assign(rows * count, 0.0f);
  Err1.assign(rows * count, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    std::copy_n(&W[r * cols + i1], count, &W1[r * count]);
}

float mlir::hfq::numerics::propagateColumnError(float *blockRow, int64_t i,
                                                int64_t count, float q, float d,
                                                const float *hrow,
                                                double &loss) {
  const float w = blockRow[i];
  loss += double(w - q) * double(w - q) / (double(d) * d) / 2;
  const float err = (w - q) / d;
  for (int64_t j = i; j < count; ++j)
    blockRow[j] -= err * hrow[j];
  return err;
}

void mlir::hfq::numerics::lazyBatchUpdate(std::vector<float> &W,
                                          const std::vector<float> &err,
                                          const std::vector<float> &upper,
                                          int64_t rows, int64_t cols,
                                          int64_t i1, int64_t i2) {
  if (i2 >= cols)
    return;
  const int64_t count = i2 - i1;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows),
              int(cols - i2), int(count), -1.0f, err.data(), int(count),
              &upper[i1 * cols + i2], int(cols), 1.0f, &W[i2], int(cols));
}

llvm::Expected<GPTQResult> mlir::hfq::numerics::quantizeGPTQ(
    llvm::ArrayRef<float> weights, int64_t rows, int64_t cols,
    llvm::ArrayRef<double> hessian, const GPTQOptions &options) {
  const AffineScheme &scheme = options.scheme;
  if (scheme.granularity == AffineScheme::Granularity::Tensor ||
      scheme.floatZero)
    return llvm::createStringError(
        "GPTQ quantizes per channel or per group, with integer zeros");
  if (llvm::Error e = scheme.validate(cols))
    return std::move(e);
  if (int64_t(weights.size()) != rows * cols)
    return llvm::createStringError("weights do not match the shape");
  if (int64_t(hessian.size()) != cols * cols)
    return llvm::createStringError(llvm::formatv(
        "the Hessian has {0} entries, a {1}-input linear needs {1}x{1}",
        hessian.size(), cols));
  if (options.blockSize <= 0 || !(options.percDamp > 0))
    return llvm::createStringError("block size and dampening must be positive");
  for (double v : hessian)
    if (!std::isfinite(v))
      return llvm::createStringError("the Hessian has non-finite entries "
                                     "(NaN activations in calibration?)");

  const bool grouped = scheme.granularity == AffineScheme::Granularity::Group;
  const int64_t gs = grouped ? scheme.groupSize : cols;
  const int64_t numGroups = grouped ? cols / gs : 1;
  const float maxq = float((1u << scheme.bits) - 1);
  std::vector<float> W(weights.begin(), weights.end());
  std::vector<double> H(hessian.begin(), hessian.end());

  // 1. Per-channel params come from the untouched weight.
  RowParams current;
  if (!grouped) {
    auto p = findParams(W, rows, cols, 0, cols, scheme);
    if (!p)
      return p.takeError();
    current = std::move(*p);
  }
  // 2. Dead inputs.
  GPTQResult result;
  for (int64_t c = 0; c < cols; ++c)
    if (H[c * cols + c] == 0.0) {
      H[c * cols + c] = 1.0;
      for (int64_t r = 0; r < rows; ++r)
        W[r * cols + c] = 0.0f;
      ++result.deadColumns;
    }
  // 3. Static groups.
  std::vector<RowParams> staticParams;
  if (grouped && options.staticGroups)
    for (int64_t g = 0; g < numGroups; ++g) {
      auto p = findParams(W, rows, cols, g * gs, gs, scheme);
      if (!p)
        return p.takeError();
      staticParams.push_back(std::move(*p));
    }
  // 4. Act-order.
  std::vector<int64_t> perm(cols);
  std::iota(perm.begin(), perm.end(), 0);
  if (options.actOrder) {
    perm = actOrderPermutation(H, cols);
    permuteColumns(W, H, rows, cols, perm);
  }
  // 5./6. Dampening and the inverse's Cholesky factor.
  double percDamp = options.percDamp;
  auto factor = hessianInverseFactor(H, cols, percDamp);
  if (!factor)
    return factor.takeError();
  std::vector<float> Hinv = std::move(*factor);
  result.percDamp = percDamp;

  // 7. Column-by-column quantization with lazy batch updates.
  std::vector<uint8_t> codes(rows * cols);
  std::vector<float> scales(rows * numGroups), zeros(rows * numGroups);
  auto store = [&](int64_t g, const RowParams &p) {
    for (int64_t r = 0; r < rows; ++r) {
      scales[r * numGroups + g] = p.scales[r];
      zeros[r * numGroups + g] = p.zeros[r];
    }
  };
  if (!grouped)
    store(0, current);
  if (grouped && options.staticGroups)
    for (int64_t g = 0; g < numGroups; ++g)
      store(g, staticParams[g]);
  const int64_t B = options.blockSize;
  std::vector<float> W1, Err1;
  double loss = 0;
  for (int64_t i1 = 0; i1 < cols; i1 += B) {
    const int64_t i2 = std::min(i1 + B, cols), count = i2 - i1;
    loadBlock(W, rows, cols, i1, count, W1, Err1);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t col = i1 + i;
      const RowParams *p = &current;
      if (grouped && options.staticGroups) {
        p = &staticParams[perm[col] / gs];
      } else if (grouped && col % gs == 0) {
        // From the weight as the previous blocks left it, as the reference.
        auto fresh = findParams(W, rows, cols, col, gs, scheme);
        if (!fresh)
          return fresh.takeError();
        current = std::move(*fresh);
        store(col / gs, current);
      }
      const float d = Hinv[col * cols + col];
      const float *hrow = &Hinv[col * cols + i1];
      for (int64_t r = 0; r < rows; ++r) {
        float *w1 = &W1[r * count];
        const float w = w1[i];
        const float s = p->scales[r], z = p->zeros[r];
        const float q = std::clamp(std::nearbyint(w / s) + z, 0.0f, maxq);
        codes[r * cols + col] = uint8_t(q);
        Err1[r * count + i] =
            propagateColumnError(w1, i, count, s * (q - z), d, hrow, loss);
      }
    }
    lazyBatchUpdate(W, Err1, Hinv, rows, cols, i1, i2);
  }
  result.loss = loss;

  // Back to the original column order.
  GPTQResult &res = result;
  res.q.rows = rows;
  res.q.cols = cols;
  res.q.codes.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      res.q.codes[r * cols + perm[c]] = codes[r * cols + c];
  res.q.scales = std::move(scales);
  res.q.zeros.assign(zeros.begin(), zeros.end());
  if (grouped && options.actOrder && !options.staticGroups) {
    res.gIdx.resize(cols);
    for (int64_t c = 0; c < cols; ++c)
      res.gIdx[perm[c]] = int32_t(c / gs);
  }
  return result;
}

std::vector<float>
mlir::hfq::numerics::dequantizeGPTQ(const GPTQResult &r,
                                    const AffineScheme &scheme) {
  if (r.gIdx.empty())
    return dequantize(r.q, scheme);
  const int64_t rows = r.q.rows, cols = r.q.cols;
  const int64_t groups = int64_t(r.q.scales.size()) / rows;
  std::vector<float> out(rows * cols);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t s = i * groups + r.gIdx[c];
      out[i * cols + c] =
          float(int32_t(r.q.codes[i * cols + c]) - r.q.zeros[s]) *
          r.q.scales[s];
    }
  return out;
}

void mlir::hfq::numerics::HessianAccumulator::add(const float *x, int64_t rows,
                                                  int64_t stride) {
  constexpr int64_t kChunk = 4096; // rows converted to float64 at a time
  for (int64_t r0 = 0; r0 < rows; r0 += kChunk) {
    const int64_t count = std::min(kChunk, rows - r0);
    chunk.resize(count * cols);
    for (int64_t r = 0; r < count; ++r)
      std::copy_n(x + (r0 + r) * stride, cols, chunk.begin() + r * cols);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, int(cols), int(count),
                1.0, chunk.data(), int(cols), 1.0, xtx.data(), int(cols));
  }
  n += rows;
}

std::vector<double> mlir::hfq::numerics::HessianAccumulator::hessian() const {
  std::vector<double> h(cols * cols, 0.0);
  if (n == 0)
    return h;
  // 2 v / N, as hessianOf computes it from a statistics file's XᵀX.
  for (int64_t r = 0; r < cols; ++r)
    for (int64_t c = r; c < cols; ++c)
      h[c * cols + r] = h[r * cols + c] = 2.0 * xtx[r * cols + c] / double(n);
  return h;
}

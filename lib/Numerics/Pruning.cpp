//===- Pruning.cpp - weight pruning -----------------------------*- C++ -*-===//

#include "hfq/Numerics/Pruning.h"
#include "hfq/Numerics/GPTQ.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir::hfq::numerics;

namespace {

llvm::Error checkInput(llvm::ArrayRef<float> w, int64_t rows, int64_t cols,
                       double sparsity) {
  if (rows <= 0 || cols <= 0 || int64_t(w.size()) != rows * cols)
    return llvm::createStringError("weights do not match the shape");
  if (!(sparsity >= 0.0 && sparsity < 1.0))
    return llvm::createStringError(
        llvm::formatv("sparsity {0} is outside [0, 1)", sparsity));
  for (size_t i = 0; i < w.size(); ++i)
    if (!std::isfinite(w[i]))
      return llvm::createStringError(llvm::formatv(
          "weight at row {0}, column {1} is not finite ({2})", i / cols,
          i % cols, w[i]));
  return llvm::Error::success();
}

/// Indices of the `k` smallest scores (ties: lower index first).
std::vector<int64_t> smallest(llvm::ArrayRef<double> scores, int64_t k) {
  std::vector<int64_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto less = [&](int64_t a, int64_t b) {
    return scores[a] < scores[b] || (scores[a] == scores[b] && a < b);
  };
  std::nth_element(idx.begin(), idx.begin() + k, idx.end(), less);
  idx.resize(k);
  return idx;
}

PruneResult applyMask(llvm::ArrayRef<float> w, std::vector<uint8_t> mask) {
  PruneResult r;
  r.weights.assign(w.begin(), w.end());
  for (size_t i = 0; i < mask.size(); ++i)
    if (!mask[i])
      r.weights[i] = 0.0f;
  r.mask = std::move(mask);
  return r;
}

} // namespace

llvm::raw_ostream &mlir::hfq::numerics::operator<<(llvm::raw_ostream &os,
                                                   NMPattern p) {
  if (!p.enabled())
    return os << "none";
  return os << p.n << ":" << p.m;
}

llvm::Error mlir::hfq::numerics::validatePattern(NMPattern p, int64_t cols) {
  if (!p.enabled())
    return llvm::Error::success();
  if (p.n <= 0 || p.n >= p.m || p.m > 16)
    return llvm::createStringError(llvm::formatv(
        "pattern {0}:{1} must keep 0 < n < m <= 16 weights", p.n, p.m));
  if (cols % p.m)
    return llvm::createStringError(llvm::formatv(
        "pattern {0}:{1} needs an input dimension divisible by {1}, got {2}",
        p.n, p.m, cols));
  return llvm::Error::success();
}

llvm::Expected<PruneResult>
mlir::hfq::numerics::pruneMagnitude(llvm::ArrayRef<float> w, int64_t rows,
                                    int64_t cols, double sparsity,
                                    NMPattern pattern) {
  if (llvm::Error e = checkInput(w, rows, cols, pattern.enabled() ? 0 : sparsity))
    return std::move(e);
  if (llvm::Error e = validatePattern(pattern, cols))
    return std::move(e);
  std::vector<uint8_t> mask(w.size(), 1);
  if (pattern.enabled()) {
    std::vector<double> scores(pattern.m);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t g = 0; g < cols; g += pattern.m) {
        for (int64_t j = 0; j < pattern.m; ++j)
          scores[j] = std::fabs(w[r * cols + g + j]);
        for (int64_t j : smallest(scores, pattern.m - pattern.n))
          mask[r * cols + g + j] = 0;
      }
  } else {
    std::vector<double> scores(w.size());
    for (size_t i = 0; i < w.size(); ++i)
      scores[i] = std::fabs(w[i]);
    for (int64_t i : smallest(scores, int64_t(double(w.size()) * sparsity)))
      mask[i] = 0;
  }
  return applyMask(w, std::move(mask));
}

llvm::Expected<PruneResult>
mlir::hfq::numerics::pruneStructured(llvm::ArrayRef<float> w, int64_t rows,
                                     int64_t cols, double sparsity, int axis,
                                     int64_t unit) {
  if (llvm::Error e = checkInput(w, rows, cols, sparsity))
    return std::move(e);
  const int64_t extent = axis == 0 ? rows : cols;
  if ((axis != 0 && axis != 1) || unit <= 0 || extent % unit)
    return llvm::createStringError(llvm::formatv(
        "structured pruning needs axis 0 or 1 and a unit dividing {0}, got "
        "axis {1}, unit {2}",
        extent, axis, unit));
  const int64_t units = extent / unit;
  std::vector<double> norms(units, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      norms[(axis == 0 ? r : c) / unit] +=
          double(w[r * cols + c]) * w[r * cols + c];
  std::vector<uint8_t> keepUnit(units, 1);
  for (int64_t u : smallest(norms, int64_t(double(units) * sparsity)))
    keepUnit[u] = 0;
  std::vector<uint8_t> mask(w.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      mask[r * cols + c] = keepUnit[(axis == 0 ? r : c) / unit];
  return applyMask(w, std::move(mask));
}

llvm::Expected<PruneResult> mlir::hfq::numerics::pruneSparseGPT(
    llvm::ArrayRef<float> weights, int64_t rows, int64_t cols,
    llvm::ArrayRef<double> hessian, const SparseGPTOptions &options) {
  const NMPattern pattern = options.pattern;
  if (llvm::Error e = checkInput(weights, rows, cols,
                                 pattern.enabled() ? 0 : options.sparsity))
    return std::move(e);
  if (llvm::Error e = validatePattern(pattern, cols))
    return std::move(e);
  if (int64_t(hessian.size()) != cols * cols)
    return llvm::createStringError(llvm::formatv(
        "the Hessian has {0} entries, a {1}-input linear needs {1}x{1}",
        hessian.size(), cols));
  for (double v : hessian)
    if (!std::isfinite(v))
      return llvm::createStringError("the Hessian has non-finite entries "
                                     "(NaN activations in calibration?)");
  const int64_t B = pattern.enabled()
                        ? std::max<int64_t>(options.blockSize / pattern.m, 1) *
                              pattern.m
                        : options.blockSize;
  if (B <= 0)
    return llvm::createStringError("block size must be positive");

  std::vector<float> W(weights.begin(), weights.end());
  // Joint quantization: per-channel params from the start weight.
  std::vector<float> scales, zeros;
  float maxq = 0;
  if (options.quantize) {
    AffineScheme s = *options.quantize;
    s.granularity = AffineScheme::Granularity::Channel;
    auto q = quantizeRTN(W, rows, cols, s);
    if (!q)
      return q.takeError();
    scales = q->scales;
    zeros.assign(q->zeros.begin(), q->zeros.end());
    maxq = float((1u << s.bits) - 1);
  }
  std::vector<double> H(hessian.begin(), hessian.end());
  std::vector<int64_t> dead;
  PruneResult result;
  result.percDamp = options.percDamp;
  auto factor = hessianInverseFactor(H, cols, result.percDamp, &dead);
  if (!factor)
    return factor.takeError();
  const std::vector<float> &Hinv = *factor;
  zeroColumns(W, rows, cols, dead);
  result.deadColumns = dead.size();

  std::vector<uint8_t> mask(rows * cols, 1);
  std::vector<uint8_t> codes(options.quantize ? rows * cols : 0);
  std::vector<float> W1, Err1;
  std::vector<double> scores;
  double loss = 0;
  for (int64_t i1 = 0; i1 < cols; i1 += B) {
    const int64_t i2 = std::min(i1 + B, cols), count = i2 - i1;
    loadBlock(W, rows, cols, i1, count, W1, Err1);
    auto score = [&](int64_t r, int64_t j) {
      double d = Hinv[(i1 + j) * cols + i1 + j];
      double v = W1[r * count + j];
      return v * v / (d * d);
    };
    if (!pattern.enabled()) {
      // The block's smallest `sparsity` fraction of w² / d².
      scores.resize(rows * count);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < count; ++j)
          scores[r * count + j] = score(r, j);
      for (int64_t k :
           smallest(scores, int64_t(double(rows * count) * options.sparsity)))
        mask[(k / count) * cols + i1 + k % count] = 0;
    }
    for (int64_t i = 0; i < count; ++i) {
      const int64_t col = i1 + i;
      if (pattern.enabled() && i % pattern.m == 0) {
        scores.resize(pattern.m);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t j = 0; j < pattern.m; ++j)
            scores[j] = score(r, i + j);
          for (int64_t j : smallest(scores, pattern.m - pattern.n))
            mask[r * cols + col + j] = 0;
        }
      }
      const float d = Hinv[col * cols + col];
      const float *hrow = &Hinv[col * cols + i1];
      for (int64_t r = 0; r < rows; ++r) {
        float *w1 = &W1[r * count];
        const float w = w1[i];
        float q = mask[r * cols + col] ? w : 0.0f;
        if (options.quantize && mask[r * cols + col]) {
          const float s = scales[r], z = zeros[r];
          const float code = std::clamp(std::nearbyint(q / s) + z, 0.0f, maxq);
          codes[r * cols + col] = uint8_t(code);
          q = s * (code - z);
        }
        W[r * cols + col] = q;
        Err1[r * count + i] =
            propagateColumnError(w1, i, count, q, d, hrow, loss);
      }
    }
    lazyBatchUpdate(W, Err1, Hinv, rows, cols, i1, i2);
  }
  // Pruned weights are exact zeros (dead columns are pruned too).
  for (int64_t c : dead)
    for (int64_t r = 0; r < rows; ++r)
      W[r * cols + c] = 0.0f;
  for (size_t i = 0; i < W.size(); ++i)
    if (!mask[i])
      W[i] = 0.0f;
  result.weights = std::move(W);
  result.mask = std::move(mask);
  result.loss = loss;
  if (options.quantize) {
    AffineQuantized q;
    q.rows = rows;
    q.cols = cols;
    q.codes = std::move(codes);
    for (size_t i = 0; i < q.codes.size(); ++i)
      if (!result.mask[i])
        q.codes[i] = uint8_t(zeros[i / cols]); // dequantizes to 0
    q.scales = std::move(scales);
    q.zeros.assign(zeros.begin(), zeros.end());
    result.quantized = std::move(q);
  }
  return result;
}

BitmaskSparse mlir::hfq::numerics::compressBitmask(llvm::ArrayRef<float> w,
                                                   int64_t rows, int64_t cols) {
  const int64_t bytes = (cols + 7) / 8;
  BitmaskSparse s;
  s.bitmask.assign(rows * bytes, 0);
  s.rowOffsets.resize(rows);
  for (int64_t r = 0; r < rows; ++r) {
    s.rowOffsets[r] = int64_t(s.values.size());
    for (int64_t c = 0; c < cols; ++c)
      if (float v = w[r * cols + c]; v != 0.0f) {
        s.bitmask[r * bytes + c / 8] |= uint8_t(1u << (c % 8));
        s.values.push_back(v);
      }
  }
  return s;
}

std::vector<float>
mlir::hfq::numerics::decompressBitmask(const BitmaskSparse &s, int64_t rows,
                                       int64_t cols) {
  const int64_t bytes = (cols + 7) / 8;
  std::vector<float> w(rows * cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t next = s.rowOffsets[r];
    for (int64_t c = 0; c < cols; ++c)
      if (s.bitmask[r * bytes + c / 8] >> (c % 8) & 1)
        w[r * cols + c] = s.values[next++];
  }
  return w;
}

//===- AWQ.cpp - activation-aware weight quantization -----------*- C++ -*-===//

#include "hfq/Numerics/AWQ.h"

#include "llvm/Support/FormatVariadic.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir::hfq::numerics;

llvm::Expected<std::vector<float>> mlir::hfq::numerics::fakeQuantizeScaled(
    llvm::ArrayRef<float> weight, int64_t rows, int64_t cols,
    llvm::ArrayRef<float> scales, const AffineScheme &scheme) {
  std::vector<float> w(weight.begin(), weight.end());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      w[r * cols + c] *= scales[c];
  auto q = quantizeRTN(w, rows, cols, scheme);
  if (!q)
    return q.takeError();
  w = dequantize(*q, scheme);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      w[r * cols + c] /= scales[c];
  return w;
}

std::vector<float> mlir::hfq::numerics::awqWeightMean(
    llvm::ArrayRef<const std::vector<float> *> weights,
    llvm::ArrayRef<int64_t> rows, int64_t cols, const AffineScheme &scheme) {
  using G = AffineScheme::Granularity;
  std::vector<double> sum(cols, 0.0);
  int64_t total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const std::vector<float> &w = *weights[i];
    float tensorMax = 0;
    if (scheme.granularity == G::Tensor)
      for (float v : w)
        tensorMax = std::max(tensorMax, std::fabs(v));
    const int64_t chunk =
        scheme.granularity == G::Group ? scheme.groupSize : cols;
    for (int64_t r = 0; r < rows[i]; ++r) {
      const float *row = w.data() + r * cols;
      for (int64_t c0 = 0; c0 < cols; c0 += chunk) {
        const int64_t c1 = std::min(cols, c0 + chunk);
        float m = tensorMax;
        if (scheme.granularity != G::Tensor)
          for (int64_t c = c0; c < c1; ++c)
            m = std::max(m, std::fabs(row[c]));
        for (int64_t c = c0; c < c1; ++c)
          sum[c] += std::fabs(row[c]) / (m + 1e-6f);
      }
    }
    total += rows[i];
  }
  std::vector<float> mean(cols);
  for (int64_t c = 0; c < cols; ++c)
    mean[c] = float(sum[c] / double(total));
  return mean;
}

llvm::Expected<AWQScaleResult> mlir::hfq::numerics::searchAWQScale(
    llvm::ArrayRef<float> absMean,
    llvm::ArrayRef<const std::vector<float> *> weights,
    llvm::ArrayRef<int64_t> rows, const AffineScheme &scheme, int grid,
    AWQLossFn loss, bool duoScaling) {
  const int64_t cols = int64_t(absMean.size());
  if (grid <= 0)
    return llvm::createStringError("the AWQ grid needs at least one point");
  std::vector<float> wMean;
  if (duoScaling)
    wMean = awqWeightMean(weights, rows, cols, scheme);
  AWQScaleResult result;
  double best = std::numeric_limits<double>::infinity();
  std::vector<float> scales(cols);
  std::vector<std::vector<float>> candidates(weights.size());
  for (int i = 0; i < grid; ++i) {
    const double alpha = double(i) / grid;
    float lo = std::numeric_limits<float>::infinity(), hi = 0.0f;
    for (int64_t c = 0; c < cols; ++c) {
      float s = std::pow(absMean[c], float(alpha));
      if (duoScaling)
        s /= std::pow(wMean[c], float(1 - alpha)) + 1e-4f;
      scales[c] = std::max(s, 1e-4f);
      lo = std::min(lo, scales[c]);
      hi = std::max(hi, scales[c]);
    }
    const float norm = std::sqrt(hi * lo);
    for (float &s : scales)
      s /= norm;
    for (size_t w = 0; w < weights.size(); ++w) {
      auto q = fakeQuantizeScaled(*weights[w], rows[w], cols, scales, scheme);
      if (!q)
        return q.takeError();
      candidates[w] = std::move(*q);
    }
    double l = loss(candidates);
    result.losses.push_back(l);
    if (std::isfinite(l) && l < best) {
      best = l;
      result.bestIndex = i;
      result.alpha = alpha;
      result.scales = scales;
    }
  }
  if (result.bestIndex < 0)
    return llvm::createStringError(
        "no AWQ scaling ratio gives a finite output error (non-finite "
        "activations or weights?)");
  return result;
}

namespace {
int64_t groupColsOf(const AffineScheme &scheme, int64_t cols) {
  return scheme.granularity == AffineScheme::Granularity::Group
             ? scheme.groupSize
             : cols;
}
} // namespace

llvm::Expected<std::vector<float>> mlir::hfq::numerics::searchAWQClip(
    llvm::ArrayRef<float> weight, int64_t rows, int64_t cols,
    llvm::ArrayRef<float> x, int64_t n, const AffineScheme &scheme,
    const AWQClipOptions &options) {
  if (scheme.granularity == AffineScheme::Granularity::Tensor)
    return llvm::createStringError(
        "AWQ's clip search needs per-channel or grouped scales");
  if (llvm::Error e = scheme.validate(cols))
    return std::move(e);
  if (n <= 0)
    return llvm::createStringError("AWQ's clip search needs calibration tokens");
  const int64_t gs = groupColsOf(scheme, cols), groups = cols / gs;
  // Every step-th token, as the reference's input_feat[:, 0::N // 512].
  const int64_t step = std::max<int64_t>(1, n / options.clipTokens);
  const int64_t m = (n + step - 1) / step;
  std::vector<float> xs(m * cols);
  for (int64_t t = 0; t < m; ++t)
    std::copy_n(x.data() + t * step * cols, cols, xs.data() + t * cols);

  // Partial outputs of every group: out[g][t, r] = Σ_{c in g} x_tc w_rc.
  auto groupOutputs = [&](llvm::ArrayRef<float> w) {
    std::vector<float> out(groups * m * rows);
    for (int64_t g = 0; g < groups; ++g)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(rows),
                  int(gs), 1.0f, xs.data() + g * gs, int(cols),
                  w.data() + g * gs, int(cols), 0.0f,
                  out.data() + g * m * rows, int(rows));
    return out;
  };
  const std::vector<float> reference = groupOutputs(weight);

  std::vector<float> orgMax(rows * groups, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float &a = orgMax[r * groups + c / gs];
      a = std::max(a, std::fabs(weight[r * cols + c]));
    }
  std::vector<float> bestMax = orgMax;
  std::vector<double> bestErr(rows * groups,
                              std::numeric_limits<double>::infinity());
  std::vector<float> maxima(rows * groups), clamped(weight.size());
  const int steps = int(options.maxShrink * options.grid);
  for (int i = 0; i < steps; ++i) {
    const float p = 1.0f - float(i) / float(options.grid);
    for (size_t s = 0; s < maxima.size(); ++s)
      maxima[s] = orgMax[s] * p;
    clamped.assign(weight.begin(), weight.end());
    applyAWQClip(clamped, rows, cols, maxima, scheme);
    auto q = quantizeRTN(clamped, rows, cols, scheme);
    if (!q)
      return q.takeError();
    std::vector<float> out = groupOutputs(dequantize(*q, scheme));
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t r = 0; r < rows; ++r) {
        double err = 0;
        for (int64_t t = 0; t < m; ++t) {
          size_t at = size_t(g * m * rows + t * rows + r);
          double d = double(out[at]) - double(reference[at]);
          err += d * d;
        }
        err /= double(m);
        if (err < bestErr[r * groups + g]) {
          bestErr[r * groups + g] = err;
          bestMax[r * groups + g] = maxima[r * groups + g];
        }
      }
  }
  return bestMax;
}

void mlir::hfq::numerics::applyAWQClip(std::vector<float> &weight,
                                       int64_t rows, int64_t cols,
                                       llvm::ArrayRef<float> maxima,
                                       const AffineScheme &scheme) {
  const int64_t gs = groupColsOf(scheme, cols), groups = cols / gs;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float a = maxima[r * groups + c / gs];
      float &w = weight[r * cols + c];
      w = std::clamp(w, -a, a);
    }
}

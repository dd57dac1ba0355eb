//===- AWQ.cpp - activation-aware weight quantization -----------*- C++ -*-===//

#include "hfq/Numerics/AWQ.h"

#include "llvm/Support/FormatVariadic.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir::hfq::numerics;

std::vector<float>
mlir::hfq::numerics::linearForward(const DenseLinear &l,
                                   llvm::ArrayRef<float> x, int64_t n) {
  std::vector<float> y(n * l.out, 0.0f);
  if (!l.bias.empty())
    for (int64_t t = 0; t < n; ++t)
      std::copy(l.bias.begin(), l.bias.end(), y.begin() + t * l.out);
  if (n > 0)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(l.out),
                int(l.in), 1.0f, x.data(), int(l.in), l.weight.data(),
                int(l.in), l.bias.empty() ? 0.0f : 1.0f, y.data(), int(l.out));
  return y;
}

namespace {

/// Rotate-half RoPE in place on [n, heads, D] with per-sequence positions,
/// in float32 as the importer's lowering computes it.
void applyRope(std::vector<float> &x, int64_t heads, int64_t headDim,
               llvm::ArrayRef<float> invFreq, llvm::ArrayRef<int64_t> seqLens) {
  const int64_t half = headDim / 2;
  int64_t t = 0;
  std::vector<float> row(headDim);
  for (int64_t len : seqLens)
    for (int64_t p = 0; p < len; ++p, ++t)
      for (int64_t h = 0; h < heads; ++h) {
        float *v = x.data() + (t * heads + h) * headDim;
        std::copy(v, v + headDim, row.begin());
        for (int64_t d = 0; d < headDim; ++d) {
          float angle = float(p) * invFreq[d % half];
          float c = std::cos(angle), s = std::sin(angle);
          float rotated = d < half ? -row[d + half] : row[d - half];
          v[d] = row[d] * c + rotated * s;
        }
      }
}

} // namespace

std::vector<float> mlir::hfq::numerics::attentionContext(
    const AttentionShape &shape, const DenseLinear &q, const DenseLinear &k,
    const DenseLinear &v, llvm::ArrayRef<float> x,
    llvm::ArrayRef<int64_t> seqLens) {
  int64_t n = 0;
  for (int64_t len : seqLens)
    n += len;
  const int64_t H = shape.heads, KV = shape.kvHeads, D = shape.headDim;
  std::vector<float> Q = linearForward(q, x, n), K = linearForward(k, x, n),
                     V = linearForward(v, x, n);
  applyRope(Q, H, D, shape.invFreq, seqLens);
  applyRope(K, KV, D, shape.invFreq, seqLens);
  std::vector<float> attn(n * H * D, 0.0f), scores;
  const float scale = 1.0f / std::sqrt(float(D));
  int64_t start = 0;
  for (int64_t len : seqLens) {
    scores.assign(len * len, 0.0f);
    for (int64_t h = 0; h < H; ++h) {
      const int64_t kvh = h / (H / KV);
      const float *qh = Q.data() + start * H * D + h * D;
      const float *kh = K.data() + start * KV * D + kvh * D;
      const float *vh = V.data() + start * KV * D + kvh * D;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(len), int(len),
                  int(D), 1.0f, qh, int(H * D), kh, int(KV * D), 0.0f,
                  scores.data(), int(len));
      for (int64_t i = 0; i < len; ++i) {
        float *row = scores.data() + i * len;
        auto visible = [&](int64_t j) {
          return j <= i &&
                 (!shape.slidingWindow || j + *shape.slidingWindow > i);
        };
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < len; ++j)
          if (visible(j))
            m = std::max(m, row[j] * scale);
        float sum = 0.0f;
        for (int64_t j = 0; j < len; ++j) {
          row[j] = visible(j) ? std::exp(row[j] * scale - m) : 0.0f;
          sum += row[j];
        }
        for (int64_t j = 0; j < len; ++j)
          row[j] /= sum;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(len), int(D),
                  int(len), 1.0f, scores.data(), int(len), vh, int(KV * D),
                  0.0f, attn.data() + start * H * D + h * D, int(H * D));
    }
    start += len;
  }
  return attn;
}

std::vector<float> mlir::hfq::numerics::attentionForward(
    const AttentionShape &shape, const DenseLinear &q, const DenseLinear &k,
    const DenseLinear &v, const DenseLinear &o, llvm::ArrayRef<float> x,
    llvm::ArrayRef<int64_t> seqLens) {
  std::vector<float> context = attentionContext(shape, q, k, v, x, seqLens);
  return linearForward(o, context, int64_t(context.size()) / o.in);
}

std::vector<float> mlir::hfq::numerics::mlpIntermediate(const DenseLinear &gate,
                                                        const DenseLinear &up,
                                                        llvm::ArrayRef<float> x,
                                                        int64_t n) {
  std::vector<float> g = linearForward(gate, x, n), u = linearForward(up, x, n);
  for (size_t i = 0; i < g.size(); ++i)
    g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  return g;
}

std::vector<float> mlir::hfq::numerics::mlpForward(const DenseLinear &gate,
                                                   const DenseLinear &up,
                                                   const DenseLinear &down,
                                                   llvm::ArrayRef<float> x,
                                                   int64_t n) {
  return linearForward(down, mlpIntermediate(gate, up, x, n), n);
}

double mlir::hfq::numerics::relativeRMSError(llvm::ArrayRef<float> a,
                                             llvm::ArrayRef<float> reference) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = double(a[i]) - double(reference[i]);
    err += d * d;
    ref += double(reference[i]) * double(reference[i]);
  }
  return ref > 0 ? std::sqrt(err / ref) : std::sqrt(err);
}

double mlir::hfq::numerics::meanSquaredError(llvm::ArrayRef<float> a,
                                             llvm::ArrayRef<float> b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = double(a[i]) - double(b[i]);
    sum += d * d;
  }
  return a.empty() ? 0.0 : sum / double(a.size());
}

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

llvm::Expected<AWQScaleResult> mlir::hfq::numerics::searchAWQScale(
    llvm::ArrayRef<float> absMean,
    llvm::ArrayRef<const std::vector<float> *> weights,
    llvm::ArrayRef<int64_t> rows, const AffineScheme &scheme, int grid,
    AWQLossFn loss) {
  const int64_t cols = int64_t(absMean.size());
  if (grid <= 0)
    return llvm::createStringError("the AWQ grid needs at least one point");
  AWQScaleResult result;
  double best = std::numeric_limits<double>::infinity();
  std::vector<float> scales(cols);
  std::vector<std::vector<float>> candidates(weights.size());
  for (int i = 0; i < grid; ++i) {
    const double alpha = double(i) / grid;
    float lo = std::numeric_limits<float>::infinity(), hi = 0.0f;
    for (int64_t c = 0; c < cols; ++c) {
      scales[c] = std::max(std::pow(absMean[c], float(alpha)), 1e-4f);
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

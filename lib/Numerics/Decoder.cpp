//===- Decoder.cpp - float evaluators of the Llama decoder block -*- C++ -*-===//

#include "hfq/Numerics/Decoder.h"
#include "hfq/Numerics/GPTQ.h"

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

namespace {
template <typename T>
double relativeRMS(llvm::ArrayRef<T> a, llvm::ArrayRef<T> reference) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = double(a[i]) - double(reference[i]);
    err += d * d;
    ref += double(reference[i]) * double(reference[i]);
  }
  return ref > 0 ? std::sqrt(err / ref) : std::sqrt(err);
}
} // namespace

double mlir::hfq::numerics::relativeRMSError(llvm::ArrayRef<float> a,
                                             llvm::ArrayRef<float> reference) {
  return relativeRMS(a, reference);
}

double mlir::hfq::numerics::relativeRMSError(llvm::ArrayRef<double> a,
                                             llvm::ArrayRef<double> reference) {
  return relativeRMS(a, reference);
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

void mlir::hfq::numerics::rmsNorm(std::vector<float> &x, int64_t n,
                                  llvm::ArrayRef<float> weight, double eps) {
  const int64_t d = int64_t(weight.size());
  for (int64_t t = 0; t < n; ++t) {
    float *row = x.data() + t * d;
    double sum = 0;
    for (int64_t c = 0; c < d; ++c)
      sum += double(row[c]) * row[c];
    const float inv = float(1.0 / std::sqrt(sum / double(d) + eps));
    for (int64_t c = 0; c < d; ++c)
      row[c] = weight[c] * (row[c] * inv);
  }
}

std::vector<double> mlir::hfq::numerics::inputHessian(llvm::ArrayRef<float> x,
                                                      int64_t n, int64_t cols) {
  HessianAccumulator h(cols);
  h.add(x.data(), n, cols);
  return h.hessian();
}

//===- AWQTest.cpp - AWQ searches and block evaluators --------------------===//
//
// The block evaluators against a direct transcription of HF's Llama
// attention in double precision (the AWQ pass additionally checks them
// against the compiled model's own activations on every layer), and the
// searches against their definitions: α = 0 is plain RTN, salient input
// channels are protected, the clip search never loses on its own inputs.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/AWQ.h"

#include "TestMatrices.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>

using namespace mlir::hfq::numerics;
using hfq_test::randomWeights;

namespace {

DenseLinear randomLinear(int64_t out, int64_t in, unsigned seed,
                         bool bias = false) {
  DenseLinear l;
  l.out = out;
  l.in = in;
  l.weight = randomWeights(out, in, seed);
  if (bias)
    l.bias = randomWeights(1, out, seed + 1000);
  return l;
}

/// HF LlamaAttention in double: projections, rotate_half RoPE, repeat_kv,
/// scaled causal softmax (with an optional sliding window), o_proj.
std::vector<double> naiveAttention(const AttentionShape &s,
                                   const DenseLinear &q, const DenseLinear &k,
                                   const DenseLinear &v, const DenseLinear &o,
                                   const std::vector<float> &x,
                                   const std::vector<int64_t> &lens) {
  auto project = [&](const DenseLinear &l, int64_t t) {
    std::vector<double> y(l.out);
    for (int64_t r = 0; r < l.out; ++r) {
      double acc = l.bias.empty() ? 0.0 : l.bias[r];
      for (int64_t c = 0; c < l.in; ++c)
        acc += double(x[t * l.in + c]) * l.weight[r * l.in + c];
      y[r] = acc;
    }
    return y;
  };
  const int64_t D = s.headDim, half = D / 2;
  auto rope = [&](std::vector<double> y, int64_t heads, int64_t pos) {
    std::vector<double> out(y.size());
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t d = 0; d < D; ++d) {
        double angle = double(float(pos) * s.invFreq[d % half]);
        double rot = d < half ? -y[h * D + d + half] : y[h * D + d - half];
        out[h * D + d] = y[h * D + d] * std::cos(angle) + rot * std::sin(angle);
      }
    return out;
  };
  std::vector<double> result;
  int64_t start = 0;
  for (int64_t len : lens) {
    std::vector<std::vector<double>> Q, K, V;
    for (int64_t p = 0; p < len; ++p) {
      Q.push_back(rope(project(q, start + p), s.heads, p));
      K.push_back(rope(project(k, start + p), s.kvHeads, p));
      V.push_back(project(v, start + p));
    }
    for (int64_t i = 0; i < len; ++i) {
      std::vector<double> ctx(s.heads * D, 0.0);
      for (int64_t h = 0; h < s.heads; ++h) {
        int64_t kh = h / (s.heads / s.kvHeads);
        std::vector<double> logits;
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j <= i; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += Q[i][h * D + d] * K[j][kh * D + d];
          bool visible = !s.slidingWindow || i - j < *s.slidingWindow;
          logits.push_back(visible ? dot / std::sqrt(double(D))
                                   : -std::numeric_limits<double>::infinity());
          m = std::max(m, logits.back());
        }
        double sum = 0;
        for (double &l : logits)
          sum += (l = std::exp(l - m));
        for (int64_t j = 0; j <= i; ++j)
          for (int64_t d = 0; d < D; ++d)
            ctx[h * D + d] += logits[j] / sum * V[j][kh * D + d];
      }
      for (int64_t r = 0; r < o.out; ++r) {
        double acc = o.bias.empty() ? 0.0 : o.bias[r];
        for (int64_t c = 0; c < o.in; ++c)
          acc += ctx[c] * o.weight[r * o.in + c];
        result.push_back(acc);
      }
    }
    start += len;
  }
  return result;
}

AttentionShape gqaShape() {
  AttentionShape s;
  s.heads = 4;
  s.kvHeads = 2;
  s.headDim = 8;
  for (int i = 0; i < 4; ++i)
    s.invFreq.push_back(float(std::pow(10000.0, -2.0 * i / 8)));
  return s;
}

TEST(Decoder, AttentionMatchesTheDefinition) {
  for (std::optional<int64_t> window : {std::optional<int64_t>(), std::optional<int64_t>(3)}) {
    AttentionShape s = gqaShape();
    s.slidingWindow = window;
    const int64_t hidden = 16;
    DenseLinear q = randomLinear(32, hidden, 1, true), k = randomLinear(16, hidden, 2, true),
                v = randomLinear(16, hidden, 3), o = randomLinear(hidden, 32, 4);
    for (DenseLinear *l : {&q, &k, &v, &o})
      for (float &w : l->weight)
        w *= 8.0f; // large enough logits for the softmax to matter
    std::vector<int64_t> lens = {5, 3};
    std::vector<float> x = randomWeights(8, hidden, 5);
    for (float &e : x)
      e *= 20.0f;
    std::vector<float> got = attentionForward(s, q, k, v, o, x, lens);
    std::vector<double> want = naiveAttention(s, q, k, v, o, x, lens);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << i;
  }
}

TEST(Decoder, MLPIsSwiGLU) {
  DenseLinear gate = randomLinear(12, 6, 7), up = randomLinear(12, 6, 8),
              down = randomLinear(6, 12, 9);
  std::vector<float> x = randomWeights(3, 6, 10);
  for (float &e : x)
    e *= 30.0f;
  std::vector<float> got = mlpForward(gate, up, down, x, 3);
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t r = 0; r < 6; ++r) {
      double acc = 0;
      for (int64_t i = 0; i < 12; ++i) {
        double g = 0, u = 0;
        for (int64_t c = 0; c < 6; ++c) {
          g += double(x[t * 6 + c]) * gate.weight[i * 6 + c];
          u += double(x[t * 6 + c]) * up.weight[i * 6 + c];
        }
        acc += g / (1 + std::exp(-g)) * u * down.weight[r * 12 + i];
      }
      EXPECT_NEAR(got[t * 6 + r], acc, 1e-5 * (1 + std::fabs(acc)));
    }
}

TEST(Decoder, RMSNormIsLlamaRMSNorm) {
  const int64_t n = 3, d = 8;
  std::vector<float> x = randomWeights(n, d, 12), w = randomWeights(1, d, 13);
  x[5] = 0.0f;
  std::vector<float> got = x;
  rmsNorm(got, n, w, 1e-5);
  for (int64_t t = 0; t < n; ++t) {
    double ms = 0;
    for (int64_t c = 0; c < d; ++c)
      ms += double(x[t * d + c]) * x[t * d + c] / d;
    for (int64_t c = 0; c < d; ++c) {
      double want = w[c] * x[t * d + c] / std::sqrt(ms + 1e-5);
      EXPECT_NEAR(got[t * d + c], want, 1e-6 * (1 + std::fabs(want)));
    }
  }
}

TEST(Decoder, InputHessianIsTwoXtXOverN) {
  // More rows than one float64 chunk (4096), so chunks must accumulate.
  const int64_t n = 5000, cols = 3;
  std::vector<float> x = randomWeights(n, cols, 14);
  std::vector<double> h = inputHessian(x, n, cols);
  ASSERT_EQ(h.size(), size_t(cols * cols));
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      double want = 0;
      for (int64_t t = 0; t < n; ++t)
        want += double(x[t * cols + i]) * x[t * cols + j];
      want *= 2.0 / n;
      EXPECT_NEAR(h[i * cols + j], want, 1e-12 * (1 + std::fabs(want)));
      EXPECT_EQ(h[i * cols + j], h[j * cols + i]);
    }
}

AffineScheme scheme(unsigned bits, int64_t group) {
  AffineScheme s;
  s.bits = bits;
  s.granularity = group ? AffineScheme::Granularity::Group
                        : AffineScheme::Granularity::Channel;
  s.groupSize = group;
  return s;
}

/// Activations whose first few channels are much larger than the rest, as
/// the salient channels AWQ is built around.
std::vector<float> salientActivations(int64_t n, int64_t cols) {
  std::vector<float> x = randomWeights(n, cols, 11);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < cols; ++c)
      x[t * cols + c] *= (c % 16 == 0 ? 400.0f : 20.0f);
  return x;
}

std::vector<float> absMeanOf(const std::vector<float> &x, int64_t cols) {
  std::vector<float> m(cols, 0.0f);
  const int64_t n = int64_t(x.size()) / cols;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < cols; ++c)
      m[c] += std::fabs(x[t * cols + c]) / float(n);
  return m;
}

TEST(AWQ, ScaleSearchAlphaZeroIsRTNAndSalientChannelsGain) {
  const int64_t rows = 48, cols = 64, n = 256;
  DenseLinear l = randomLinear(rows, cols, 12);
  std::vector<float> x = salientActivations(n, cols);
  std::vector<float> reference = linearForward(l, x, n);
  AffineScheme s = scheme(3, 32);
  auto loss = [&](llvm::ArrayRef<std::vector<float>> w) {
    DenseLinear c{w[0], {}, rows, cols};
    return meanSquaredError(linearForward(c, x, n), reference);
  };
  auto r = searchAWQScale(absMeanOf(x, cols), {&l.weight}, {rows}, s, 20, loss);
  ASSERT_TRUE(bool(r)) << llvm::toString(r.takeError());
  ASSERT_EQ(r->losses.size(), 20u);

  // α = 0: every scale is 1, so the candidate is plain round-to-nearest.
  auto rtn = quantizeRTN(l.weight, rows, cols, s);
  ASSERT_TRUE(bool(rtn));
  DenseLinear plain{dequantize(*rtn, s), {}, rows, cols};
  EXPECT_DOUBLE_EQ(r->losses[0],
                   meanSquaredError(linearForward(plain, x, n), reference));
  // The chosen ratio is the first minimum, and scaling the salient
  // channels up pays off clearly here.
  for (size_t i = 0; i < r->losses.size(); ++i)
    EXPECT_LE(r->losses[r->bestIndex], r->losses[i]);
  EXPECT_GT(r->alpha, 0.0);
  EXPECT_LT(r->losses[r->bestIndex], 0.8 * r->losses[0]);
  // Normalised: sqrt(max s · min s) = 1.
  float lo = *std::min_element(r->scales.begin(), r->scales.end());
  float hi = *std::max_element(r->scales.begin(), r->scales.end());
  EXPECT_NEAR(std::sqrt(double(lo) * hi), 1.0, 1e-5);
}

TEST(AWQ, DuoScalingWeightMeanIsPerQuantizationGroup) {
  // Two linears of the group, [1x4] and [1x4]: |w| over the max of each
  // weight's group, averaged over the two rows.
  std::vector<float> a = {1, -2, 4, 0}, b = {-3, 3, 1, 2};
  auto near = [](std::vector<float> got, std::vector<double> want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-6) << "channel " << i;
  };
  near(awqWeightMean({&a, &b}, {1, 1}, 4, scheme(4, 0)),
       {(0.25 + 1) / 2, (0.5 + 1) / 2, (1 + 1.0 / 3) / 2, (0 + 2.0 / 3) / 2});
  near(awqWeightMean({&a, &b}, {1, 1}, 4, scheme(4, 2)),
       {(0.5 + 1) / 2, 1.0, (1 + 0.5) / 2, 0.5});
}

TEST(AWQ, DuoScalingDividesByTheWeightMean) {
  // At α = 0 duo scaling's scales are 1 / (w̄ + 1e-4), normalised; the
  // first loss is that candidate's, computed here independently.
  const int64_t rows = 8, cols = 64, n = 48;
  DenseLinear l = randomLinear(rows, cols, 21);
  std::vector<float> x = salientActivations(n, cols);
  std::vector<float> reference = linearForward(l, x, n);
  AffineScheme s = scheme(4, 32);
  auto loss = [&](llvm::ArrayRef<std::vector<float>> w) {
    DenseLinear c{w[0], {}, rows, cols};
    return meanSquaredError(linearForward(c, x, n), reference);
  };
  auto duo = searchAWQScale(absMeanOf(x, cols), {&l.weight}, {rows}, s, 20,
                            loss, /*duoScaling=*/true);
  ASSERT_TRUE(bool(duo)) << llvm::toString(duo.takeError());
  std::vector<float> wMean = awqWeightMean({&l.weight}, {rows}, cols, s);
  std::vector<float> scales(cols);
  for (int64_t c = 0; c < cols; ++c)
    scales[c] = std::max(1.0f / (wMean[c] + 1e-4f), 1e-4f);
  float lo = *std::min_element(scales.begin(), scales.end());
  float hi = *std::max_element(scales.begin(), scales.end());
  for (float &v : scales)
    v /= std::sqrt(hi * lo);
  auto q = fakeQuantizeScaled(l.weight, rows, cols, scales, s);
  ASSERT_TRUE(bool(q));
  EXPECT_DOUBLE_EQ(duo->losses[0], loss({*q}));
  // And it is a different search from the paper's.
  auto plain =
      searchAWQScale(absMeanOf(x, cols), {&l.weight}, {rows}, s, 20, loss);
  ASSERT_TRUE(bool(plain));
  EXPECT_NE(duo->losses[0], plain->losses[0]);
}

TEST(AWQ, ScaleSearchFailsWithoutAFiniteLoss) {
  DenseLinear l = randomLinear(4, 32, 13);
  std::vector<float> absMean(32, 1.0f);
  auto r = searchAWQScale(absMean, {&l.weight}, {4}, scheme(4, 0), 20,
                          [](llvm::ArrayRef<std::vector<float>>) {
                            return std::nan("");
                          });
  ASSERT_FALSE(bool(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("no AWQ scaling ratio"),
            std::string::npos);
}

TEST(AWQ, ClipSearchNeverLosesOnItsInputs) {
  for (int64_t group : {int64_t(0), int64_t(32)}) {
    const int64_t rows = 40, cols = 64, n = 300;
    std::vector<float> w = randomWeights(rows, cols, 14);
    w[5] = 0.6f; // an outlier weight: clipping it should pay
    std::vector<float> x = randomWeights(n, cols, 15);
    AffineScheme s = scheme(3, group);
    AWQClipOptions options;
    auto maxima = searchAWQClip(w, rows, cols, x, n, s, options);
    ASSERT_TRUE(bool(maxima)) << llvm::toString(maxima.takeError());
    const int64_t groups = group ? cols / group : 1, gs = cols / groups;
    ASSERT_EQ(int64_t(maxima->size()), rows * groups);
    std::vector<float> clipped = w;
    applyAWQClip(clipped, rows, cols, *maxima, s);
    bool shrunk = false;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t g = 0; g < groups; ++g) {
        float orgMax = 0;
        for (int64_t c = g * gs; c < (g + 1) * gs; ++c)
          orgMax = std::max(orgMax, std::fabs(w[r * cols + c]));
        float m = (*maxima)[r * groups + g];
        EXPECT_LE(m, orgMax);
        EXPECT_GE(m, orgMax * 0.55f * (1 - 1e-6f));
        shrunk |= m < orgMax;
      }
    EXPECT_TRUE(shrunk);
    // Group partial outputs: the searched clamp is never worse than none.
    auto err = [&](const std::vector<float> &weights) {
      auto q = quantizeRTN(weights, rows, cols, s);
      EXPECT_TRUE(bool(q));
      std::vector<float> dq = dequantize(*q, s);
      double total = 0;
      for (int64_t t = 0; t < n; ++t)
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t g = 0; g < groups; ++g) {
            double a = 0, b = 0;
            for (int64_t c = g * gs; c < (g + 1) * gs; ++c) {
              a += double(x[t * cols + c]) * dq[r * cols + c];
              b += double(x[t * cols + c]) * w[r * cols + c];
            }
            total += (a - b) * (a - b);
          }
      return total;
    };
    EXPECT_LT(err(clipped), err(w));
  }
}

TEST(AWQ, ClipSearchRejectsPerTensorSchemes) {
  std::vector<float> w = randomWeights(4, 32, 16), x = randomWeights(8, 32, 17);
  AffineScheme s = scheme(4, 0);
  s.granularity = AffineScheme::Granularity::Tensor;
  auto r = searchAWQClip(w, 4, 32, x, 8, s, AWQClipOptions());
  ASSERT_FALSE(bool(r));
  llvm::consumeError(r.takeError());
}

} // namespace

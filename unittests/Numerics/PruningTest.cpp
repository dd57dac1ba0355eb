//===- PruningTest.cpp - magnitude, structured, SparseGPT -------*- C++ -*-===//
//
// Known answers for magnitude and structured pruning; SparseGPT with H = I
// must choose magnitude's N:M masks exactly (no error propagation), and on
// correlated inputs must beat magnitude's layer-output error at the same
// sparsity; joint quantization keeps pruned weights at exactly zero.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Pruning.h"

#include "TestMatrices.h"

#include "gtest/gtest.h"

#include <random>

using namespace mlir::hfq::numerics;

namespace {

using hfq_test::outputError;
using hfq_test::randomWeights;

std::vector<double> correlatedHessian(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  const int64_t tokens = 4 * n, rank = 8;
  std::vector<double> b(rank * n);
  for (double &v : b)
    v = normal(rng);
  std::vector<double> h(n * n, 0.0), x(n);
  for (int64_t t = 0; t < tokens; ++t) {
    std::vector<double> z(rank);
    for (double &v : z)
      v = normal(rng);
    for (int64_t j = 0; j < n; ++j) {
      x[j] = normal(rng) * (1.0 + 3.0 * (j % 7 == 0));
      for (int64_t k = 0; k < rank; ++k)
        x[j] += z[k] * b[k * n + j];
    }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        h[i * n + j] += 2.0 * x[i] * x[j] / double(tokens);
  }
  return h;
}

TEST(Pruning, MagnitudeKnownAnswers) {
  std::vector<float> w = {0.5f, -0.1f, 0.3f, -0.7f, 0.2f, 0.05f, -0.4f, 0.6f};
  auto half = pruneMagnitude(w, 2, 4, 0.5, {});
  ASSERT_TRUE(bool(half));
  EXPECT_EQ(half->weights, (std::vector<float>{0.5f, 0, 0, -0.7f, 0, 0, -0.4f,
                                               0.6f}));
  auto nm = pruneMagnitude(w, 2, 4, 0, {2, 4});
  ASSERT_TRUE(bool(nm));
  // Row 1 is [0.2, 0.05, -0.4, 0.6]: its two largest are the last two.
  EXPECT_EQ(nm->weights, (std::vector<float>{0.5f, 0, 0, -0.7f, 0, 0, -0.4f,
                                             0.6f}));
  EXPECT_EQ(nm->mask, (std::vector<uint8_t>{1, 0, 0, 1, 0, 0, 1, 1}));
  // Unstructured 25%: the two smallest magnitudes overall (0.05, 0.1).
  auto quarter = pruneMagnitude(w, 2, 4, 0.25, {});
  ASSERT_TRUE(bool(quarter));
  EXPECT_EQ(quarter->mask, (std::vector<uint8_t>{1, 0, 1, 1, 1, 0, 1, 1}));
}

/// compressed-tensors' sparse-bitmask layout, by hand: bit c % 8 of byte
/// c / 8 (lsb first), values row-major, offsets of each row's first value.
TEST(Pruning, BitmaskKnownAnswer) {
  // 2 x 10: row 0 keeps columns 0, 3 and 9, row 1 column 8.
  std::vector<float> w(20, 0.0f);
  w[0] = 1.5f;
  w[3] = -2.0f;
  w[9] = 0.25f;
  w[10 + 8] = 7.0f;
  BitmaskSparse s = compressBitmask(w, 2, 10);
  EXPECT_EQ(s.bitmask, (std::vector<uint8_t>{0x09, 0x02, 0x00, 0x01}));
  EXPECT_EQ(s.values, (std::vector<float>{1.5f, -2.0f, 0.25f, 7.0f}));
  EXPECT_EQ(s.rowOffsets, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(decompressBitmask(s, 2, 10), w);
}

TEST(Pruning, BitmaskRoundTripsPrunedWeights) {
  std::vector<float> w = randomWeights(7, 37, 3);
  auto pruned = pruneMagnitude(w, 7, 37, 0.6, {});
  ASSERT_TRUE(bool(pruned));
  for (int64_t c = 0; c < 37; ++c) // an empty row
    pruned->weights[2 * 37 + c] = 0.0f;
  BitmaskSparse s = compressBitmask(pruned->weights, 7, 37);
  EXPECT_EQ(s.bitmask.size(), size_t(7 * 5));
  EXPECT_EQ(s.rowOffsets[3], s.rowOffsets[2]);
  EXPECT_EQ(decompressBitmask(s, 7, 37), pruned->weights);
}

TEST(Pruning, StructuredUnits) {
  // Rows by L2 norm (row 1 smallest), then columns in units of 2.
  std::vector<float> w = {1, 2, 3, 4, 0.1f, 0.1f, 0.1f, 0.1f, 1, 1, 1, 1};
  auto rows = pruneStructured(w, 3, 4, 0.34, 0, 1);
  ASSERT_TRUE(bool(rows));
  for (int c = 0; c < 4; ++c) {
    EXPECT_EQ(rows->weights[4 + c], 0.0f);
    EXPECT_EQ(rows->weights[c], w[c]);
  }
  auto cols = pruneStructured(w, 3, 4, 0.5, 1, 2);
  ASSERT_TRUE(bool(cols));
  EXPECT_EQ(cols->mask, (std::vector<uint8_t>{0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1}));
  auto bad = pruneStructured(w, 3, 4, 0.5, 0, 2);
  ASSERT_FALSE(bool(bad));
  llvm::consumeError(bad.takeError());
}

TEST(SparseGPT, IdentityHessianChoosesMagnitudeMasks) {
  const int64_t rows = 8, cols = 64;
  std::vector<float> w = randomWeights(rows, cols, 1);
  std::vector<double> eye(cols * cols, 0.0);
  for (int64_t i = 0; i < cols; ++i)
    eye[i * cols + i] = 1.0;
  SparseGPTOptions o;
  o.pattern = {2, 4};
  auto s = pruneSparseGPT(w, rows, cols, eye, o);
  auto m = pruneMagnitude(w, rows, cols, 0, {2, 4});
  ASSERT_TRUE(s && m);
  EXPECT_EQ(s->mask, m->mask);
  // No error to propagate: kept weights unchanged (up to the 1/(1+λ)
  // scaling that cancels in err / d · U_ij for i != j, which is 0).
  for (size_t i = 0; i < w.size(); ++i)
    EXPECT_EQ(s->weights[i], m->weights[i]) << "element " << i;
}

TEST(SparseGPT, BeatsMagnitudeOnCorrelatedInputs) {
  const int64_t rows = 16, cols = 128;
  std::vector<float> w = randomWeights(rows, cols, 2);
  std::vector<double> h = correlatedHessian(cols, 3);
  for (NMPattern p : {NMPattern{}, NMPattern{2, 4}}) {
    SparseGPTOptions o;
    o.sparsity = 0.5;
    o.pattern = p;
    o.blockSize = 32;
    auto s = pruneSparseGPT(w, rows, cols, h, o);
    auto m = pruneMagnitude(w, rows, cols, 0.5, p);
    ASSERT_TRUE(s && m);
    int64_t zeros = std::count(s->weights.begin(), s->weights.end(), 0.0f);
    EXPECT_EQ(zeros, rows * cols / 2) << "pattern " << p.n << ":" << p.m;
    double es = outputError(w, s->weights, h, rows, cols);
    double em = outputError(w, m->weights, h, rows, cols);
    EXPECT_LT(es, 0.8 * em) << "pattern " << p.n << ":" << p.m;
  }
}

TEST(SparseGPT, JointQuantizationKeepsZeros) {
  const int64_t rows = 8, cols = 64;
  std::vector<float> w = randomWeights(rows, cols, 4);
  SparseGPTOptions o;
  o.pattern = {2, 4};
  AffineScheme s;
  s.bits = 4;
  s.granularity = AffineScheme::Granularity::Channel;
  o.quantize = s;
  auto r = pruneSparseGPT(w, rows, cols, correlatedHessian(cols, 5), o);
  ASSERT_TRUE(bool(r));
  ASSERT_TRUE(r->quantized.has_value());
  std::vector<float> d = dequantize(*r->quantized, s);
  for (size_t i = 0; i < d.size(); ++i) {
    EXPECT_EQ(d[i], r->weights[i]) << "element " << i;
    if (!r->mask[i])
      EXPECT_EQ(d[i], 0.0f);
  }
}

TEST(Pruning, BadInput) {
  std::vector<float> w = randomWeights(2, 6, 6);
  auto pattern = pruneMagnitude(w, 2, 6, 0, {2, 4});
  ASSERT_FALSE(bool(pattern));
  EXPECT_NE(llvm::toString(pattern.takeError()).find("divisible by 4"),
            std::string::npos);
  auto full = pruneMagnitude(w, 2, 6, 1.0, {});
  ASSERT_FALSE(bool(full));
  llvm::consumeError(full.takeError());
  w[3] = std::nanf("");
  auto nan = pruneMagnitude(w, 2, 6, 0.5, {});
  ASSERT_FALSE(bool(nan));
  EXPECT_NE(llvm::toString(nan.takeError()).find("column 3 is not finite"),
            std::string::npos);
}

} // namespace

//===- GPTQTest.cpp - GPTQ on small problems --------------------*- C++ -*-===//
//
// Properties that pin GPTQ down without a second implementation:
// - with H = I (independent unit inputs) no error is propagated, so GPTQ
//   must reproduce round-to-nearest exactly, per channel and per group;
// - on correlated inputs it must lower the layer-output error
//   tr((W - Q) H (W - Q)ᵀ) below RTN's, with and without act-order;
// - dead inputs give zero columns; an indefinite H raises the dampening;
//   NaN statistics and impossible shapes are errors.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/GPTQ.h"

#include "TestMatrices.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace mlir::hfq::numerics;

namespace {

using hfq_test::correlatedHessian;
using hfq_test::outputError;
using hfq_test::randomWeights;

std::vector<double> identity(int64_t n) {
  std::vector<double> h(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    h[i * n + i] = 1.0;
  return h;
}

GPTQOptions options(unsigned bits, int64_t group, bool sym = false) {
  GPTQOptions o;
  o.scheme.bits = bits;
  o.scheme.granularity = group ? AffineScheme::Granularity::Group
                               : AffineScheme::Granularity::Channel;
  o.scheme.groupSize = group;
  o.scheme.symmetric = sym;
  return o;
}

TEST(GPTQ, IdentityHessianIsRoundToNearest) {
  const int64_t rows = 12, cols = 256;
  std::vector<float> w = randomWeights(rows, cols, 1);
  for (int64_t group : {0, 32}) {
    for (bool sym : {false, true}) {
      GPTQOptions o = options(4, group, sym);
      o.blockSize = 64; // several blocks and lazy updates
      auto g = quantizeGPTQ(w, rows, cols, identity(cols), o);
      ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
      auto r = quantizeRTN(w, rows, cols, o.scheme);
      ASSERT_TRUE(bool(r));
      EXPECT_EQ(g->q.codes, r->codes) << "group " << group << " sym " << sym;
      EXPECT_EQ(g->q.scales, r->scales);
      EXPECT_EQ(g->q.zeros, r->zeros);
      EXPECT_TRUE(g->gIdx.empty());
      EXPECT_EQ(g->percDamp, 0.01);
    }
  }
}

TEST(GPTQ, BeatsRoundToNearestOnCorrelatedInputs) {
  const int64_t rows = 16, cols = 128;
  std::vector<float> w = randomWeights(rows, cols, 2);
  std::vector<double> h = correlatedHessian(cols, 3);
  for (unsigned bits : {3u, 4u})
    for (int64_t group : {0, 32})
      for (bool actOrder : {false, true}) {
        GPTQOptions o = options(bits, group);
        o.actOrder = actOrder;
        o.blockSize = 32;
        auto g = quantizeGPTQ(w, rows, cols, h, o);
        ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
        auto r = quantizeRTN(w, rows, cols, o.scheme);
        ASSERT_TRUE(bool(r));
        double eg = outputError(w, dequantizeGPTQ(*g, o.scheme), h, rows, cols);
        double er = outputError(w, dequantize(*r, o.scheme), h, rows, cols);
        EXPECT_LT(eg, 0.8 * er) << bits << " bits, group " << group
                                << ", act-order " << actOrder;
        EXPECT_EQ(g->gIdx.empty(), !(actOrder && group));
        if (!g->gIdx.empty()) {
          // Every group holds exactly group_size columns.
          std::vector<int> count(cols / group, 0);
          for (int32_t gi : g->gIdx)
            ++count.at(gi);
          for (int c : count)
            EXPECT_EQ(c, group);
        }
      }
}

TEST(GPTQ, StaticGroupsKeepGroupsInColumnOrder) {
  const int64_t rows = 8, cols = 64;
  std::vector<float> w = randomWeights(rows, cols, 4);
  GPTQOptions o = options(4, 16);
  o.actOrder = true;
  o.staticGroups = true;
  auto g = quantizeGPTQ(w, rows, cols, correlatedHessian(cols, 5), o);
  ASSERT_TRUE(bool(g));
  EXPECT_TRUE(g->gIdx.empty()); // groups are c / 16
  // Static group params come from the weight before any update: RTN's.
  auto r = quantizeRTN(w, rows, cols, o.scheme);
  EXPECT_EQ(g->q.scales, r->scales);
}

TEST(GPTQ, DeadInputsAndDampening) {
  const int64_t rows = 4, cols = 64;
  std::vector<float> w = randomWeights(rows, cols, 6);
  std::vector<double> h = correlatedHessian(cols, 7);
  for (int64_t j = 0; j < cols; ++j)
    h[5 * cols + j] = h[j * cols + 5] = 0.0; // input 5 never fires
  GPTQOptions o = options(4, 0);
  auto g = quantizeGPTQ(w, rows, cols, h, o);
  ASSERT_TRUE(bool(g));
  EXPECT_EQ(g->deadColumns, 1);
  std::vector<float> d = dequantizeGPTQ(*g, o.scheme);
  for (int64_t r = 0; r < rows; ++r)
    EXPECT_EQ(d[r * cols + 5], 0.0f);

  // Slightly indefinite: the default dampening fails, a larger one works.
  std::vector<double> bad = identity(cols);
  bad[3 * cols + 3] = -0.05;
  auto damped = quantizeGPTQ(w, rows, cols, bad, o);
  ASSERT_TRUE(bool(damped)) << llvm::toString(damped.takeError());
  EXPECT_GT(damped->percDamp, 0.01);
  // Hopelessly indefinite: a clear error.
  bad[3 * cols + 3] = -1e9;
  auto hopeless = quantizeGPTQ(w, rows, cols, bad, o);
  ASSERT_FALSE(bool(hopeless));
  EXPECT_NE(llvm::toString(hopeless.takeError()).find("not positive definite"),
            std::string::npos);
}

TEST(GPTQ, BadInput) {
  std::vector<float> w = randomWeights(2, 8, 8);
  std::vector<double> h = identity(8);
  h[9] = std::nan("");
  auto nan = quantizeGPTQ(w, 2, 8, h, options(4, 0));
  ASSERT_FALSE(bool(nan));
  EXPECT_NE(llvm::toString(nan.takeError()).find("non-finite"), std::string::npos);
  auto shape = quantizeGPTQ(w, 2, 8, identity(4), options(4, 0));
  ASSERT_FALSE(bool(shape));
  EXPECT_NE(llvm::toString(shape.takeError()).find("8-input linear needs 8x8"),
            std::string::npos);
  auto group = quantizeGPTQ(w, 2, 8, identity(8), options(4, 3));
  ASSERT_FALSE(bool(group));
  llvm::consumeError(group.takeError());
}

} // namespace

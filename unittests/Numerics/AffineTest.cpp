//===- AffineTest.cpp - round-to-nearest affine quantization ---*- C++ -*-===//
//
// Known answers worked out by hand from GPTQ's reference rule, the error
// bound of round-to-nearest, and the bad-input diagnostics.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Affine.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>
#include <random>

using namespace mlir::hfq::numerics;

namespace {

AffineScheme scheme(unsigned bits, AffineScheme::Granularity g, int64_t gs,
                    bool sym) {
  AffineScheme s;
  s.bits = bits;
  s.granularity = g;
  s.groupSize = gs;
  s.symmetric = sym;
  return s;
}

TEST(AffineRTN, KnownAnswerAsymmetric) {
  // One row, one group: lo = -1, hi = 2, 2 bits -> s = 1, z = round(1) = 1.
  std::vector<float> w = {-1.0f, 0.0f, 0.4f, 2.0f};
  auto q = quantizeRTN(w, 1, 4, scheme(2, AffineScheme::Granularity::Channel, 0, false));
  ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
  EXPECT_FLOAT_EQ(q->scales[0], 1.0f);
  EXPECT_EQ(q->zeros[0], 1);
  EXPECT_EQ(q->codes, (std::vector<uint8_t>{0, 1, 1, 3}));
  std::vector<float> d = dequantize(*q, scheme(2, AffineScheme::Granularity::Channel, 0, false));
  EXPECT_EQ(d, (std::vector<float>{-1.0f, 0.0f, 0.0f, 2.0f}));
}

TEST(AffineRTN, KnownAnswerSymmetric) {
  // a = 3, 4 bits: s = 6 / 15 = 0.4, z = 8. 3 / 0.4 = 7.5 rounds to 8 (even)
  // and clamps to code 15; -3 / 0.4 = -7.5 rounds to -8 (even): code 0.
  std::vector<float> w = {-3.0f, 3.0f, 0.2f, -0.2f};
  AffineScheme s = scheme(4, AffineScheme::Granularity::Tensor, 0, true);
  auto q = quantizeRTN(w, 2, 2, s);
  ASSERT_TRUE(bool(q));
  EXPECT_FLOAT_EQ(q->scales[0], 6.0f / 15.0f);
  EXPECT_EQ(q->zeros[0], 8);
  // 0.2 / 0.4 = 0.5 -> 0 (half to even); -0.5 -> -0.
  EXPECT_EQ(q->codes, (std::vector<uint8_t>{0, 15, 8, 8}));
}

TEST(AffineRTN, ErrorWithinHalfStep) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  const int64_t rows = 8, cols = 96;
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = dist(rng);
  for (unsigned bits : {2u, 3u, 4u, 8u}) {
    AffineScheme s = scheme(bits, AffineScheme::Granularity::Group, 32, false);
    auto q = quantizeRTN(w, rows, cols, s);
    ASSERT_TRUE(bool(q));
    std::vector<float> d = dequantize(*q, s);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        float scale = q->scales[r * 3 + c / 32];
        // The range includes 0 and every weight, so nothing clips.
        EXPECT_LE(std::fabs(d[r * cols + c] - w[r * cols + c]),
                  0.5f * scale * 1.0001f)
            << "bits " << bits << " at " << r << "," << c;
      }
  }
}

TEST(AffineRTN, AllZeroGroupIsFinite) {
  std::vector<float> w(8, 0.0f);
  for (bool sym : {false, true}) {
    AffineScheme s = scheme(4, AffineScheme::Granularity::Group, 4, sym);
    auto q = quantizeRTN(w, 1, 8, s);
    ASSERT_TRUE(bool(q));
    for (float v : dequantize(*q, s))
      EXPECT_EQ(v, 0.0f);
  }
}

TEST(AffineRTN, RejectsNonFiniteWeights) {
  std::vector<float> w = {0.0f, std::numeric_limits<float>::quiet_NaN(), 1.0f,
                          2.0f};
  auto q = quantizeRTN(w, 2, 2, scheme(4, AffineScheme::Granularity::Channel, 0, false));
  ASSERT_FALSE(bool(q));
  EXPECT_NE(llvm::toString(q.takeError()).find("row 0, column 1 is not finite"),
            std::string::npos);
}

TEST(AffineRTN, RejectsGroupThatDoesNotDivide) {
  std::vector<float> w(288, 0.5f);
  auto q = quantizeRTN(w, 1, 288, scheme(4, AffineScheme::Granularity::Group, 128, false));
  ASSERT_FALSE(bool(q));
  EXPECT_NE(llvm::toString(q.takeError())
                .find("group size 128 does not divide the input dimension 288"),
            std::string::npos);
}

TEST(AffineRTN, RejectsBitWidth) {
  std::vector<float> w(4, 0.5f);
  auto q = quantizeRTN(w, 1, 4, scheme(9, AffineScheme::Granularity::Channel, 0, false));
  ASSERT_FALSE(bool(q));
  llvm::consumeError(q.takeError());
}

} // namespace

//===- FloatCodesTest.cpp - FP8/FP4 codes against the formats' tables -----===//
//
// Known answers from the OCP specifications: the FP4 E2M1 value table and
// E4M3's range (OCP 8-bit Floating Point Specification; OCP Microscaling
// Formats (MX) v1.0, section 5.3.3 and the scale rule of section 6.3), and
// NVFP4's two-level scales, checked by hand-derived examples.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Affine.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace mlir::hfq::numerics;

namespace {

using Scales = FloatCodeScheme::Scales;

/// Blocks of `group` input columns.
FloatCodeScheme blocks(MiniFloat code, int64_t group, Scales scales) {
  FloatCodeScheme s;
  s.code = code;
  s.granularity = AffineScheme::Granularity::Group;
  s.groupSize = group;
  s.scales = scales;
  return s;
}

TEST(FloatCodes, E2M1TableIsTheSpecs) {
  const float positive[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(decodeMiniFloat(uint8_t(i), MiniFloat::E2M1), positive[i]);
    EXPECT_EQ(decodeMiniFloat(uint8_t(i | 8), MiniFloat::E2M1), -positive[i]);
  }
  EXPECT_EQ(maxFinite(MiniFloat::E2M1), 6.0f);
  EXPECT_EQ(maxFinite(MiniFloat::E4M3), 448.0f);
  EXPECT_EQ(maxFinite(MiniFloat::E5M2), 57344.0f);
}

TEST(FloatCodes, RoundsToNearestEvenAndSaturates) {
  // Midpoints go to the even mantissa.
  EXPECT_EQ(encodeMiniFloat(0.25f, MiniFloat::E2M1), 0u); // 0 | 0.5
  EXPECT_EQ(encodeMiniFloat(0.75f, MiniFloat::E2M1), 2u); // 0.5 | 1 -> 1
  EXPECT_EQ(encodeMiniFloat(2.5f, MiniFloat::E2M1), 4u);  // 2 | 3 -> 2
  EXPECT_EQ(encodeMiniFloat(5.0f, MiniFloat::E2M1), 6u);  // 4 | 6 -> 4
  EXPECT_EQ(encodeMiniFloat(5.01f, MiniFloat::E2M1), 7u);
  EXPECT_EQ(encodeMiniFloat(-7.0f, MiniFloat::E2M1), 15u); // saturated -6
  EXPECT_EQ(encodeMiniFloat(1e30f, MiniFloat::E2M1), 7u);
  // E4M3: 448 = 0x7E is the largest finite; 0x7F is NaN, never produced.
  EXPECT_EQ(encodeMiniFloat(448.0f, MiniFloat::E4M3), 0x7Eu);
  EXPECT_EQ(encodeMiniFloat(10000.0f, MiniFloat::E4M3), 0x7Eu);
  EXPECT_TRUE(std::isnan(decodeMiniFloat(0x7F, MiniFloat::E4M3)));
  EXPECT_EQ(encodeMiniFloat(1.0f, MiniFloat::E4M3), 0x38u);
  // Smallest subnormal 2^-9; half of it ties to zero.
  EXPECT_EQ(encodeMiniFloat(std::ldexp(1.0f, -9), MiniFloat::E4M3), 1u);
  EXPECT_EQ(encodeMiniFloat(std::ldexp(1.0f, -10), MiniFloat::E4M3), 0u);
  // E8M0: 2^(code - 127).
  EXPECT_EQ(decodeMiniFloat(127, MiniFloat::E8M0), 1.0f);
  EXPECT_EQ(decodeMiniFloat(0, MiniFloat::E8M0), std::ldexp(1.0f, -127));
  EXPECT_TRUE(std::isnan(decodeMiniFloat(255, MiniFloat::E8M0)));
}

TEST(FloatCodes, MXScaleRule) {
  // One MXFP4 block of 32 per row; E2M1's emax is 2.
  FloatCodeScheme mx = blocks(MiniFloat::E2M1, 32, Scales::E8M0);
  std::vector<float> w(64, 0.0f);
  w[0] = 7.0f;   // row 0: amax 7, floor(log2 7) = 2, X = 2^0
  w[1] = -2.5f;  // -> -2 (tie to even)
  w[32] = 0.3f;  // row 1: amax 0.3, floor(log2 0.3) = -2, X = 2^-4
  w[33] = 0.01f; // 0.16 X -> 0 (below 0.25 X)
  auto q = quantizeFloatCodes(w, 2, 32, mx);
  ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
  EXPECT_EQ(q->scaleCodes[0], 127u);
  EXPECT_EQ(q->scaleCodes[1], 127u - 4u);
  EXPECT_EQ(q->codes[0], 7u);  // 7 saturates to 6
  EXPECT_EQ(q->codes[1], 12u); // -2
  EXPECT_EQ(q->codes[32], 6u); // 0.3 / 2^-4 = 4.8 -> 4
  EXPECT_EQ(q->codes[33], 0u);
  std::vector<float> d = dequantize(*q, mx);
  EXPECT_EQ(d[0], 6.0f);
  EXPECT_EQ(d[32], 0.25f);
}

TEST(FloatCodes, NVFP4TwoLevelScales) {
  FloatCodeScheme nv = blocks(MiniFloat::E2M1, 16, Scales::E4M3);
  std::vector<float> w(32, 0.0f);
  w[0] = 6.0f * 448.0f; // block 0: scale 448 -> tensor scale 1, code 0x7E
  w[16] = 3.0f;         // block 1: scale 0.5 -> E4M3 0.5 = 0x30
  w[17] = -1.0f;        // 1 / 0.5 = 2 -> code 4, negative: 12
  auto q = quantizeFloatCodes(w, 1, 32, nv);
  ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
  EXPECT_EQ(q->tensorScale, 1.0f);
  EXPECT_EQ(q->scaleCodes[0], 0x7Eu);
  EXPECT_EQ(q->scaleCodes[1], 0x30u);
  EXPECT_EQ(q->codes[16], 7u);
  EXPECT_EQ(q->codes[17], 12u);
  std::vector<float> d = dequantize(*q, nv);
  EXPECT_EQ(d[0], w[0]);
  EXPECT_EQ(d[16], 3.0f);
  EXPECT_EQ(d[17], -1.0f);
}

TEST(FloatCodes, NVFP4TinyBlockKeepsASubnormalScale) {
  FloatCodeScheme nv = blocks(MiniFloat::E2M1, 16, Scales::E4M3);
  std::vector<float> w(32, 0.0f);
  w[0] = 1000.0f;
  w[16] = 1e-6f; // its scale is ~1e-9 of block 0's: below E4M3's range
  auto q = quantizeFloatCodes(w, 1, 32, nv);
  ASSERT_TRUE(bool(q));
  EXPECT_EQ(q->scaleCodes[1], 1u);
  EXPECT_GT(q->scales[1], 0.0f);
}

TEST(FloatCodes, FP8PerChannelErrorIsBounded) {
  // E4M3 has 3 mantissa bits: relative error <= 2^-4 for values in the
  // normal range of a row scaled to 448.
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t rows = 8, cols = 64;
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = dist(rng);
  FloatCodeScheme fp8;
  fp8.scaleType = ScaleType::F32;
  auto q = quantizeFloatCodes(w, rows, cols, fp8);
  ASSERT_TRUE(bool(q));
  std::vector<float> d = dequantize(*q, fp8);
  for (int64_t r = 0; r < rows; ++r) {
    float s = q->scales[r];
    for (int64_t c = 0; c < cols; ++c) {
      float v = w[r * cols + c];
      if (std::fabs(v) / s >= std::ldexp(1.0f, -6)) // E4M3's normal range
        EXPECT_LE(std::fabs(d[r * cols + c] - v), std::fabs(v) / 16.0f);
    }
  }
}

TEST(FloatCodes, RefusesBadInput) {
  FloatCodeScheme mx = blocks(MiniFloat::E2M1, 32, Scales::Float);
  std::vector<float> w(48, 1.0f);
  EXPECT_FALSE(bool(quantizeFloatCodes(w, 1, 48, mx))); // 32 does not divide
  w.assign(32, 1.0f);
  w[3] = NAN;
  auto q = quantizeFloatCodes(w, 1, 32, mx);
  ASSERT_FALSE(bool(q));
  EXPECT_NE(llvm::toString(q.takeError()).find("not finite"),
            std::string::npos);
  FloatCodeScheme e8;
  e8.code = MiniFloat::E8M0;
  EXPECT_FALSE(bool(quantizeFloatCodes(w, 1, 32, e8)));
}

} // namespace

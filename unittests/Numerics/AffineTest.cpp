//===- AffineTest.cpp - round-to-nearest affine quantization ---*- C++ -*-===//
//
// Known answers worked out by hand from GPTQ's reference rule, the error
// bound of round-to-nearest, and the bad-input diagnostics; MSE clipping's
// guarantees; HQQ against known answers from an independent torch
// implementation of the reference's quantizer; LLM.int8's row quantization.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Affine.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
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

TEST(AffineRTN, F16ScaleIsRoundedBeforeZeroAndCodes) {
  // [1, -2, 0.5, 0.25] at 4 bits: s = 3/15 = 0.2, which f16 stores as
  // 0.199951171875 (0x3266). With that scale z = round(2 / s16) = 10 and
  // 0.5 / s16 = 2.5006 rounds up to 3, where the f32 scale gives exactly
  // 2.5 (ties to even: 2): codes [15, 0, 13, 11] against [15, 0, 12, 11].
  std::vector<float> w = {1.0f, -2.0f, 0.5f, 0.25f};
  AffineScheme f16 = scheme(4, AffineScheme::Granularity::Channel, 0, false);
  f16.scaleType = ScaleType::F16;
  auto q = quantizeRTN(w, 1, 4, f16);
  ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
  EXPECT_EQ(q->scales[0], 0.199951171875f);
  EXPECT_EQ(q->zeros[0], 10);
  EXPECT_EQ(q->codes, (std::vector<uint8_t>{15, 0, 13, 11}));
  auto q32 = quantizeRTN(
      w, 1, 4, scheme(4, AffineScheme::Granularity::Channel, 0, false));
  ASSERT_TRUE(bool(q32));
  EXPECT_EQ(q32->codes, (std::vector<uint8_t>{15, 0, 12, 11}));
  // The stored bytes are the f16 bit pattern, little-endian.
  std::vector<char> bytes = scaleBytes(q->scales, ScaleType::F16);
  ASSERT_EQ(bytes.size(), 2u);
  EXPECT_EQ(uint8_t(bytes[0]), 0x66);
  EXPECT_EQ(uint8_t(bytes[1]), 0x32);
}

TEST(AffineRTN, ScaleTypeRangeIsChecked) {
  // |w| = 1e6 at 4 bits needs a scale of ~1.3e5, beyond f16's 65504.
  std::vector<float> big = {1.0e6f, -1.0e6f, 0.0f, 1.0f};
  AffineScheme f16 = scheme(4, AffineScheme::Granularity::Channel, 0, false);
  f16.scaleType = ScaleType::F16;
  auto q = quantizeRTN(big, 1, 4, f16);
  ASSERT_FALSE(bool(q));
  EXPECT_EQ(llvm::toString(q.takeError()),
            "row 0, group 0: its scale does not fit in f16 (weights too large "
            "for the scale type)");
  // bf16 has f32's range.
  f16.scaleType = ScaleType::BF16;
  EXPECT_TRUE(bool(quantizeRTN(big, 1, 4, f16)));
  // A tiny range keeps the smallest positive subnormal, never a zero scale.
  std::vector<float> tiny = {1.0e-9f, -1.0e-9f, 0.0f, 5.0e-10f};
  f16.scaleType = ScaleType::F16;
  auto t = quantizeRTN(tiny, 1, 4, f16);
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  EXPECT_EQ(t->scales[0], std::ldexp(1.0f, -24));
  for (uint8_t c : t->codes)
    EXPECT_LE(c, 15);
  EXPECT_GE(t->zeros[0], 0);
  EXPECT_LE(t->zeros[0], 15);
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

TEST(AffineRTN, MSEClipShrinksAroundOutliers) {
  // A row of small weights and one outlier: the full range wastes levels on
  // the outlier, so the search must pick p < 1 and lower the clipped error.
  std::vector<float> w = {0.1f, -0.2f, 0.3f, -0.15f, 0.05f, 0.25f, -0.3f, 1.2f};
  for (bool sym : {false, true}) {
    AffineScheme plain = scheme(3, AffineScheme::Granularity::Channel, 0, sym);
    AffineScheme clipped = plain;
    clipped.clip.enabled = true;
    auto a = quantizeRTN(w, 1, 8, plain);
    auto b = quantizeRTN(w, 1, 8, clipped);
    ASSERT_TRUE(a && b);
    auto err = [&](const AffineQuantized &q, const AffineScheme &s) {
      std::vector<float> d = dequantize(q, s);
      double e = 0;
      for (size_t i = 0; i < w.size(); ++i)
        e += std::pow(std::fabs(double(d[i]) - w[i]), 2.4);
      return e;
    };
    if (sym) {
      // Symmetric ranges keep the outlier inside [-a, a]; clipping may not
      // help here but must not hurt, and keeps z = 2^(bits-1).
      EXPECT_LE(err(*b, clipped), err(*a, plain));
      EXPECT_EQ(b->zeros[0], 4);
    } else {
      EXPECT_LT(b->scales[0], a->scales[0]);
      EXPECT_LT(err(*b, clipped), err(*a, plain));
    }
  }
}

TEST(AffineRTN, MSEClipNeverWorseThanFullRange) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(16 * 64);
  for (float &v : w)
    v = normal(rng);
  AffineScheme plain = scheme(4, AffineScheme::Granularity::Group, 32, false);
  AffineScheme clipped = plain;
  clipped.clip.enabled = true;
  auto a = quantizeRTN(w, 16, 64, plain);
  auto b = quantizeRTN(w, 16, 64, clipped);
  ASSERT_TRUE(a && b);
  std::vector<float> da = dequantize(*a, plain), db = dequantize(*b, clipped);
  // Per group, because the search minimises each group's error.
  for (int64_t g = 0; g < 32; ++g) {
    double ea = 0, eb = 0;
    for (int64_t i = g * 32; i < (g + 1) * 32; ++i) {
      ea += std::pow(std::fabs(double(da[i]) - w[i]), 2.4);
      eb += std::pow(std::fabs(double(db[i]) - w[i]), 2.4);
    }
    EXPECT_LE(eb, ea * (1 + 1e-6)) << "group " << g;
  }
}

TEST(AffineRTN, FloatZeroKeepsUnroundedZero) {
  // lo = -1, hi = 2, 3 bits: s = 3/7, z = 7/3 unrounded.
  std::vector<float> w = {-1.0f, 0.0f, 0.5f, 2.0f};
  AffineScheme s = scheme(3, AffineScheme::Granularity::Channel, 0, false);
  s.floatZero = true;
  auto q = quantizeRTN(w, 1, 4, s);
  ASSERT_TRUE(bool(q));
  EXPECT_TRUE(q->zeros.empty());
  ASSERT_EQ(q->floatZeros.size(), 1u);
  EXPECT_FLOAT_EQ(q->floatZeros[0], 7.0f / 3.0f);
  std::vector<float> d = dequantize(*q, s);
  for (size_t i = 0; i < w.size(); ++i)
    EXPECT_NEAR(d[i], w[i], q->scales[0] / 2 + 1e-6f);
}

uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

TEST(HQQ, KnownAnswer) {
  // 3x16 weights, 3 bits, groups of 8 along the rows. Expected values from an
  // independent torch implementation of HQQ's Quantizer.quantize with
  // optimize_weights_proximal_legacy (p = 0.7, beta 10, kappa 1.01, 20
  // iterations; this input stops after the second round).
  std::vector<float> w(48);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 16; ++c)
      w[r * 16 + c] = float(std::sin(r * 1.3 + c * 0.71) *
                            (0.5 + 0.1 * ((r * c) % 7)));
  AffineScheme s = scheme(3, AffineScheme::Granularity::Group, 8, false);
  s.floatZero = true;
  auto q = quantizeHQQ(w, 3, 16, s, HQQOptions{});
  ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
  EXPECT_EQ(q->codes,
            (std::vector<uint8_t>{3, 6, 7, 6, 4, 2, 0, 0, 1, 4, 6, 7, 6, 4, 2, 0,
                                  7, 7, 6, 3, 1, 0, 1, 4, 6, 7, 7, 5, 3, 0, 2, 3,
                                  6, 4, 2, 0, 3, 4, 7, 7, 7, 6, 2, 1, 0, 1, 4, 6}));
  const uint32_t scales[6] = {0x3e0f0ac5, 0x3e0de40f, 0x3e605809,
                              0x3e74d043, 0x3e70aad0, 0x3e515f05};
  const uint32_t zeros[6] = {0x40511006, 0x405883af, 0x408d85bb,
                             0x4086b586, 0x40981a17, 0x40780abb};
  for (int g = 0; g < 6; ++g) {
    EXPECT_EQ(bitsOf(q->scales[g]), scales[g]) << "group " << g;
    // The zero is a group mean: torch sums the 8 values in its vector
    // reduction order, we sum in double and round once, so the last bit may
    // differ (it does for groups 3 and 4). One ulp, nothing more.
    float expected;
    std::memcpy(&expected, &zeros[g], 4);
    EXPECT_LE(std::fabs(q->floatZeros[g] - expected),
              std::ldexp(std::fabs(expected), -23))
        << "group " << g;
  }
}

TEST(HQQ, BeatsMinMaxRTNOnAverage) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> w(64 * 128);
  for (float &v : w)
    v = normal(rng);
  AffineScheme s = scheme(3, AffineScheme::Granularity::Group, 32, false);
  s.floatZero = true;
  auto h = quantizeHQQ(w, 64, 128, s, HQQOptions{});
  auto r = quantizeRTN(w, 64, 128, s);
  ASSERT_TRUE(h && r);
  std::vector<float> dh = dequantize(*h, s), dr = dequantize(*r, s);
  double eh = 0, er = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    eh += std::fabs(dh[i] - w[i]);
    er += std::fabs(dr[i] - w[i]);
  }
  EXPECT_LT(eh, er);
}

TEST(HQQ, ConstantGroupAndBadInput) {
  // max - min <= 1e-4: inverse scale 1, no division by zero, exact result.
  std::vector<float> w(16, 0.25f);
  AffineScheme s = scheme(4, AffineScheme::Granularity::Group, 8, false);
  s.floatZero = true;
  auto q = quantizeHQQ(w, 1, 16, s, HQQOptions{});
  ASSERT_TRUE(bool(q));
  for (float v : dequantize(*q, s))
    EXPECT_FLOAT_EQ(v, 0.25f);
  w[3] = std::numeric_limits<float>::infinity();
  auto bad = quantizeHQQ(w, 1, 16, s, HQQOptions{});
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("column 3 is not finite"),
            std::string::npos);
}

TEST(Int8Rowwise, KnownAnswer) {
  // absmax 2: codes round(w * 63.5) (half to even), stored + 128.
  std::vector<float> w = {-2.0f, 1.0f, 0.5f, 2.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  auto q = quantizeInt8Rowwise(w, 2, 4);
  ASSERT_TRUE(bool(q));
  EXPECT_EQ(q->codes,
            (std::vector<uint8_t>{1, 128 + 64, 128 + 32, 255, 128, 128, 128, 128}));
  EXPECT_EQ(q->scales, (std::vector<float>{2.0f / 127.0f, 0.0f}));
  EXPECT_EQ(q->zeros, (std::vector<int32_t>{128, 128}));
}

} // namespace

//===- SpQRTest.cpp - SpQR against its definition -------------------------===//
//
// Half conversion known answers; without outliers and with an identity
// Hessian and no act-order, SpQR is round-to-nearest with two-level
// statistics (checked against a direct computation); planted large weights
// become exact outliers; on correlated inputs SpQR lowers the output error
// of plain 3-bit g16 RTN; a higher threshold keeps fewer outliers.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Affine.h"
#include "hfq/Numerics/SpQR.h"

#include "TestMatrices.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>

using namespace mlir::hfq::numerics;
using hfq_test::correlatedHessian;
using hfq_test::outputError;
using hfq_test::randomWeights;

namespace {

std::vector<double> identity(int64_t n) {
  std::vector<double> h(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    h[i * n + i] = 1.0;
  return h;
}

TEST(SpQR, HalfKnownAnswers) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(1.0f / 3.0f), 0x3555);
  EXPECT_EQ(floatToHalf(5.9604645e-8f), 0x0001); // smallest subnormal
  EXPECT_EQ(halfToFloat(0x3555), 0.333251953125f);
  EXPECT_EQ(halfToFloat(0x0001), 5.9604645e-8f);
}

/// The reference's min-max fit and round trip, written out directly.
float roundTripMinMax(float w, float lo, float hi, float maxq) {
  if (lo == hi) {
    lo = -1;
    hi = 1;
  }
  float s = (hi - lo) / maxq, z = -lo / s;
  float q = std::clamp(std::nearbyint(w / s + z), 0.0f, maxq);
  return s * (q - z);
}

TEST(SpQR, WithoutOutliersItIsTwoLevelRoundToNearest) {
  const int64_t rows = 32, cols = 64;
  std::vector<float> w = randomWeights(rows, cols, 21);
  SpQROptions o;
  o.outlierThreshold = std::numeric_limits<double>::infinity();
  o.actOrder = false;
  o.percDamp = 0.0; // U = I exactly: no error propagation
  auto r = quantizeSpQR(w, rows, cols, identity(cols), o);
  ASSERT_TRUE(bool(r)) << llvm::toString(r.takeError());
  EXPECT_TRUE(r->outlierCols.empty());
  EXPECT_EQ(r->rowPtr.size(), size_t(rows + 1));
  std::vector<float> got = dequantizeSpQR(*r, o);
  for (int64_t g = 0; g < cols / 16; ++g) {
    // First level per row, then both statistics in runs of 16 rows.
    std::vector<float> s(rows), z(rows);
    for (int64_t row = 0; row < rows; ++row) {
      float lo = 1e9f, hi = -1e9f;
      for (int64_t c = g * 16; c < (g + 1) * 16; ++c) {
        lo = std::min(lo, w[row * cols + c]);
        hi = std::max(hi, w[row * cols + c]);
      }
      s[row] = (hi - lo) / 7.0f;
      z[row] = -lo / s[row];
    }
    for (std::vector<float> *v : {&s, &z})
      for (int64_t k = 0; k < rows / 16; ++k) {
        auto first = v->begin() + k * 16, last = first + 16;
        float lo = *std::min_element(first, last), hi = *std::max_element(first, last);
        std::vector<float> copy(first, last);
        for (int64_t i = 0; i < 16; ++i)
          (*v)[k * 16 + i] = roundTripMinMax(copy[i], lo, hi, 7.0f);
      }
    for (int64_t row = 0; row < rows; ++row)
      for (int64_t c = g * 16; c < (g + 1) * 16; ++c) {
        float q = std::clamp(std::nearbyint(w[row * cols + c] / s[row] + z[row]),
                             0.0f, 7.0f);
        EXPECT_EQ(got[row * cols + c], s[row] * (q - z[row])) << row << "," << c;
      }
  }
}

TEST(SpQR, PlantedWeightsBecomeExactOutliers) {
  const int64_t rows = 32, cols = 64;
  std::vector<float> w = randomWeights(rows, cols, 22);
  w[3 * cols + 17] = 1.5f;
  w[20 * cols + 40] = -2.25f;
  SpQROptions o;
  o.actOrder = false;
  o.percDamp = 0.0;
  auto r = quantizeSpQR(w, rows, cols, identity(cols), o);
  ASSERT_TRUE(bool(r)) << llvm::toString(r.takeError());
  std::vector<float> got = dequantizeSpQR(*r, o);
  EXPECT_EQ(got[3 * cols + 17], 1.5f);
  EXPECT_EQ(got[20 * cols + 40], -2.25f);
  // CSR: rows sorted, columns ascending within a row.
  ASSERT_EQ(r->rowPtr.size(), size_t(rows + 1));
  for (int64_t row = 0; row < rows; ++row)
    for (int32_t k = r->rowPtr[row] + 1; k < r->rowPtr[row + 1]; ++k)
      EXPECT_LT(r->outlierCols[k - 1], r->outlierCols[k]);
  bool found = false;
  for (int32_t k = r->rowPtr[3]; k < r->rowPtr[4]; ++k)
    found |= r->outlierCols[k] == 17;
  EXPECT_TRUE(found);
}

TEST(SpQR, LowersOutputErrorAndThresholdControlsOutliers) {
  const int64_t rows = 64, cols = 128;
  std::vector<float> w = randomWeights(rows, cols, 23);
  std::vector<double> h = correlatedHessian(cols, 24);
  AffineScheme rtn;
  rtn.bits = 3;
  rtn.granularity = AffineScheme::Granularity::Group;
  rtn.groupSize = 16;
  auto q = quantizeRTN(w, rows, cols, rtn);
  ASSERT_TRUE(bool(q));
  double rtnErr = outputError(w, dequantize(*q, rtn), h, rows, cols);

  size_t previous = std::numeric_limits<size_t>::max();
  for (double threshold : {0.1, 0.2, 1.0, 4.0}) {
    SpQROptions o;
    o.outlierThreshold = threshold;
    o.percDamp = 0.01;
    auto r = quantizeSpQR(w, rows, cols, h, o);
    ASSERT_TRUE(bool(r)) << llvm::toString(r.takeError());
    double err = outputError(w, dequantizeSpQR(*r, o), h, rows, cols);
    EXPECT_LT(err, 0.8 * rtnErr) << threshold;
    EXPECT_LE(r->outlierCols.size(), previous) << threshold;
    previous = r->outlierCols.size();
    // act-order: every group index in range and each used gs times.
    std::vector<int> count(cols / 16, 0);
    for (int32_t g : r->gIdx)
      ++count.at(g);
    for (int c : count)
      EXPECT_EQ(c, 16);
  }
}

TEST(SpQR, RejectsBadShapesAndWeights) {
  std::vector<float> w = randomWeights(16, 40, 25);
  SpQROptions o;
  auto r = quantizeSpQR(w, 16, 40, identity(40), o);
  ASSERT_FALSE(bool(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("group size 16 must divide"),
            std::string::npos);
  std::vector<float> w2 = randomWeights(12, 32, 26);
  auto r2 = quantizeSpQR(w2, 12, 32, identity(32), o);
  ASSERT_FALSE(bool(r2));
  EXPECT_NE(llvm::toString(r2.takeError()).find("does not divide the output"),
            std::string::npos);
  std::vector<float> w3 = randomWeights(16, 32, 27);
  w3[5] = std::nanf("");
  auto r3 = quantizeSpQR(w3, 16, 32, identity(32), o);
  ASSERT_FALSE(bool(r3));
  llvm::consumeError(r3.takeError());
}

} // namespace

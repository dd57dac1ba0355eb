//===- CodebooksTest.cpp - bitsandbytes code tables ------------*- C++ -*-===//
//
// Structural facts of the tables bitsandbytes defines: NF4's endpoints and
// exact zero, FP4's sign bit, and the dynamic map's size, order and range.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Codebooks.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>

using namespace mlir::hfq::numerics;

namespace {

TEST(Codebooks, NF4) {
  llvm::ArrayRef<float> t = nf4Table();
  ASSERT_EQ(t.size(), 16u);
  EXPECT_EQ(t.front(), -1.0f);
  EXPECT_EQ(t.back(), 1.0f);
  EXPECT_EQ(t[7], 0.0f);
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
}

TEST(Codebooks, FP4SignBit) {
  llvm::ArrayRef<float> t = fp4Table();
  ASSERT_EQ(t.size(), 16u);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(t[i + 8], -t[i]) << "code " << i;
    EXPECT_GE(t[i], 0.0f);
  }
  EXPECT_EQ(t[3], 1.0f); // 0b0011: the largest magnitude
}

TEST(Codebooks, DynamicMap) {
  llvm::ArrayRef<float> t = dynamicMap8();
  ASSERT_EQ(t.size(), 256u);
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
  EXPECT_EQ(t.back(), 1.0f);
  EXPECT_EQ(std::count(t.begin(), t.end(), 0.0f), 1);
  // 127 negative values mirror 127 positive ones below 1.
  for (int i = 0; i < 127; ++i)
    EXPECT_EQ(t[i], -t[254 - i]) << "index " << i;
  // The smallest magnitude is the midpoint of [0.1, 1] scaled by 1e-6.
  EXPECT_NEAR(t[128], 0.55e-6, 1e-12);
}

} // namespace

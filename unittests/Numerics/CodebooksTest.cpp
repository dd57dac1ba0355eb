//===- CodebooksTest.cpp - bitsandbytes code tables ------------*- C++ -*-===//
//
// Structural facts of the tables bitsandbytes defines (NF4's endpoints and
// exact zero, FP4's sign bit, the dynamic map's size, order and range) and
// known answers: bit patterns of the FP4 table and the dynamic map, and
// blockwise NF4/FP4 quantization with and without double quantization. The
// expected values were computed by an independent torch implementation of
// bitsandbytes' definitions (get_4bit_type, create_dynamic_map with
// torch.linspace in float32, the torch reference of quantize_4bit and
// quantize_blockwise: absmax per block, argmin |w / absmax - code|, first
// element in the high nibble).
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Codebooks.h"

#include "gtest/gtest.h"

#include "hfq/Numerics/Packing.h"

#include <algorithm>
#include <cstring>
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

uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

TEST(Codebooks, FP4KnownBits) {
  const uint32_t expected[16] = {
      0x0,        0x3baaaaab, 0x3f2aaaab, 0x3f800000, 0x3eaaaaab, 0x3f000000,
      0x3e2aaaab, 0x3e800000, 0x0,        0xbbaaaaab, 0xbf2aaaab, 0xbf800000,
      0xbeaaaaab, 0xbf000000, 0xbe2aaaab, 0xbe800000};
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(bitsOf(fp4Table()[i]), expected[i]) << "code " << i;
}

TEST(Codebooks, DynamicMapKnownBits) {
  llvm::ArrayRef<float> t = dynamicMap8();
  uint32_t sum = 0;
  for (float v : t)
    sum += bitsOf(v);
  EXPECT_EQ(sum, 0xa2c2ce6eu);
  const std::pair<int, uint32_t> known[] = {
      {0, 0xbf7e3333},   {1, 0xbf7a9999},   {64, 0xbdc9eb85},
      {127, 0x0},        {128, 0x3513a3b7}, {129, 0x365a1a94},
      {200, 0x3e6f3334}, {254, 0x3f7e3333}, {255, 0x3f800000}};
  for (auto [i, bits] : known)
    EXPECT_EQ(bitsOf(t[i]), bits) << "index " << i;
}

/// 160 weights in three blocks of 64 (the last one partial).
std::vector<float> knownWeights() {
  std::vector<float> w(160);
  for (int i = 0; i < 160; ++i)
    w[i] = float((i * 37) % 29 - 14) / 7.0f * float(1 + i / 64);
  return w;
}

std::vector<uint32_t> packedBytes(const CodebookQuantized &q) {
  auto packed = packCodes(q.codes, 4, 8, BitOrder::MsbFirst);
  EXPECT_TRUE(bool(packed));
  return packed ? *packed : std::vector<uint32_t>{};
}

TEST(Codebooks, NF4BlockwiseKnownAnswer) {
  auto q = quantizeCodebook(knownWeights(), nf4Table(), 64);
  ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
  const std::vector<uint32_t> expected = {
      3,   158, 21,  191, 39,  208, 58,  225, 92,  242, 142, 4,   174, 22,
      192, 57,  225, 91,  242, 125, 3,   174, 21,  207, 40,  224, 74,  225,
      108, 3,   158, 21,  191, 39,  208, 58,  225, 92,  242, 142, 4,   174,
      22,  192, 57,  225, 91,  242, 125, 3,   174, 21,  207, 40,  224, 74,
      225, 108, 3,   158, 21,  191, 39,  208, 58,  225, 92,  242, 142, 4,
      174, 22,  192, 57,  225, 91,  242, 125, 3,   174};
  EXPECT_EQ(packedBytes(*q), expected);
  EXPECT_EQ(q->absmax, (std::vector<float>{2.0f, 4.0f, 6.0f}));
}

TEST(Codebooks, FP4BlockwiseKnownAnswer) {
  auto q = quantizeCodebook(knownWeights(), fp4Table(), 64);
  ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
  const std::vector<uint32_t> expected = {
      189, 98,  175, 67,  208, 91,  199, 42,  229, 61,  18,  191, 115, 169,
      91,  214, 42,  244, 61,  5,   188, 114, 174, 83,  209, 43,  247, 58,
      149, 189, 98,  175, 67,  208, 91,  199, 42,  229, 61,  18,  191, 115,
      169, 91,  214, 42,  244, 61,  5,   188, 114, 174, 83,  209, 43,  247,
      58,  149, 189, 98,  175, 67,  208, 91,  199, 42,  229, 61,  18,  191,
      115, 169, 91,  214, 42,  244, 61,  5,   188, 114};
  EXPECT_EQ(packedBytes(*q), expected);
}

TEST(Codebooks, DoubleQuantKnownAnswer) {
  std::vector<float> w(160);
  for (int i = 0; i < 160; ++i)
    w[i] = float(std::sin(i * 0.37) * (1 + i / 50.0));
  auto q = quantizeCodebook(w, nf4Table(), 16, 4);
  ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
  EXPECT_TRUE(q->absmax.empty());
  EXPECT_EQ(q->absmaxCodes,
            (std::vector<uint8_t>{0, 16, 33, 47, 50, 193, 224, 255, 238, 255}));
  EXPECT_EQ(q->offset, 2.6681156158447266f);
  EXPECT_EQ(q->absmax2, (std::vector<float>{1.4141134023666382f,
                                            0.7886722087860107f,
                                            1.4700875282287598f}));
  // Dequantization rebuilds absmax from its codes.
  std::vector<float> d = dequantizeCodebook(*q, nf4Table(), 16, 4);
  llvm::ArrayRef<float> map = dynamicMap8();
  for (int i = 0; i < 160; ++i) {
    int b = i / 16;
    float absmax = map[q->absmaxCodes[b]] * q->absmax2[b / 4] + q->offset;
    EXPECT_EQ(d[i], nf4Table()[q->codes[i]] * absmax) << "element " << i;
  }
}

TEST(Codebooks, AllZeroBlockAndBadInput) {
  std::vector<float> w(128, 0.0f);
  w[100] = -3.0f;
  auto q = quantizeCodebook(w, nf4Table(), 64);
  ASSERT_TRUE(bool(q));
  EXPECT_EQ(q->absmax[0], 0.0f);
  for (float v : dequantizeCodebook(*q, nf4Table(), 64))
    EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(dequantizeCodebook(*q, nf4Table(), 64)[100], -3.0f);
  w[5] = std::nanf("");
  auto bad = quantizeCodebook(w, nf4Table(), 64);
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("flat index 5"),
            std::string::npos);
}

} // namespace

//===- PackingTest.cpp - bit packing round trips and layouts ---*- C++ -*-===//
//
// Round trips for every code width and container width in both bit orders,
// plus known layouts: bitsandbytes' high-nibble-first bytes and GPTQ's
// 3-bit codes straddling 32-bit words.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Packing.h"

#include "gtest/gtest.h"

#include <random>

using namespace mlir::hfq::numerics;

namespace {

struct PackCase {
  unsigned bits, storage;
  BitOrder order;
};

class PackRoundTrip : public ::testing::TestWithParam<PackCase> {};

TEST_P(PackRoundTrip, UnpackRestoresCodes) {
  PackCase c = GetParam();
  std::mt19937 rng(c.bits * 100 + c.storage);
  // 32 * storage codes always fill whole containers.
  std::vector<uint8_t> codes(32 * c.storage);
  for (uint8_t &v : codes)
    v = rng() & ((1u << c.bits) - 1);
  auto packed = packCodes(codes, c.bits, c.storage, c.order);
  ASSERT_TRUE(bool(packed)) << llvm::toString(packed.takeError());
  EXPECT_EQ(packed->size(), codes.size() * c.bits / c.storage);
  for (uint32_t w : *packed)
    EXPECT_EQ(uint64_t(w) >> c.storage, 0u) << "container overflows its width";
  auto unpacked =
      unpackCodes(*packed, codes.size(), c.bits, c.storage, c.order);
  ASSERT_TRUE(bool(unpacked)) << llvm::toString(unpacked.takeError());
  EXPECT_EQ(*unpacked, codes);
}

std::vector<PackCase> allCases() {
  std::vector<PackCase> cases;
  for (unsigned bits : {2u, 3u, 4u, 5u, 6u, 7u, 8u})
    for (unsigned storage : {8u, 16u, 32u})
      for (BitOrder order : {BitOrder::LsbFirst, BitOrder::MsbFirst})
        cases.push_back({bits, storage, order});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllWidths, PackRoundTrip,
                         ::testing::ValuesIn(allCases()));

TEST(Packing, NibbleOrders) {
  std::vector<uint8_t> codes = {0x1, 0x2, 0xA, 0xF};
  auto msb = packCodes(codes, 4, 8, BitOrder::MsbFirst);
  ASSERT_TRUE(bool(msb));
  // bitsandbytes: the first element goes to the high nibble.
  EXPECT_EQ(*msb, (std::vector<uint32_t>{0x12, 0xAF}));
  auto lsb = packCodes(codes, 4, 8, BitOrder::LsbFirst);
  ASSERT_TRUE(bool(lsb));
  EXPECT_EQ(*lsb, (std::vector<uint32_t>{0x21, 0xFA}));
}

TEST(Packing, Int32EightNibblesLsbFirst) {
  // GPTQ/AutoGPTQ 4-bit: value i in bits [4i, 4i+4) of the int32.
  std::vector<uint8_t> codes = {1, 2, 3, 4, 5, 6, 7, 8};
  auto packed = packCodes(codes, 4, 32, BitOrder::LsbFirst);
  ASSERT_TRUE(bool(packed));
  EXPECT_EQ(*packed, (std::vector<uint32_t>{0x87654321u}));
}

TEST(Packing, ThreeBitCodesStraddleWords) {
  // 32 codes of 3 bits fill three 32-bit words; code 10 occupies bits 30-31
  // of word 0 and bit 0 of word 1, code 21 bit 31 of word 1 and bits 0-1 of
  // word 2 (GPTQ's 3-bit layout).
  std::vector<uint8_t> codes(32, 0);
  codes[10] = 0b111;
  codes[21] = 0b101;
  auto packed = packCodes(codes, 3, 32, BitOrder::LsbFirst);
  ASSERT_TRUE(bool(packed));
  ASSERT_EQ(packed->size(), 3u);
  EXPECT_EQ((*packed)[0], 0xC0000000u);
  EXPECT_EQ((*packed)[1], 0x80000001u);
  EXPECT_EQ((*packed)[2], 0x00000002u);
}

TEST(Packing, RejectsCodesOutOfRange) {
  std::vector<uint8_t> codes = {0, 16};
  auto packed = packCodes(codes, 4, 8, BitOrder::LsbFirst);
  ASSERT_FALSE(bool(packed));
  EXPECT_NE(llvm::toString(packed.takeError()).find("does not fit in 4 bits"),
            std::string::npos);
}

TEST(Packing, RejectsPartialContainers) {
  std::vector<uint8_t> codes(3, 1);
  auto packed = packCodes(codes, 4, 8, BitOrder::LsbFirst);
  ASSERT_FALSE(bool(packed));
  EXPECT_NE(llvm::toString(packed.takeError()).find("whole 8-bit containers"),
            std::string::npos);
}

TEST(Packing, RejectsBadStorageWidth) {
  auto size = packedSize(8, 4, 12);
  ASSERT_FALSE(bool(size));
  llvm::consumeError(size.takeError());
}

} // namespace

TEST(Packing, RowsPaddedToWholeBytes) {
  // Two rows of three 3-bit codes: 9 bits -> 2 bytes per row, LSB first:
  // row 0 = 5 | 3 << 3 | 6 << 6 = 0x19D -> bytes 0x9D, 0x01.
  auto packed = packRowsPadded({5, 3, 6, 7, 0, 1}, 2, 3, 3);
  ASSERT_TRUE(bool(packed)) << llvm::toString(packed.takeError());
  EXPECT_EQ(*packed, (std::vector<uint8_t>{0x9D, 0x01, 0x47, 0x00}));
  auto bad = packRowsPadded({8}, 1, 1, 3);
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "code 8 at row 0, column 0 does not fit in 3 bits");
}

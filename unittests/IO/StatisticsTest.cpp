//===- StatisticsTest.cpp - the calibration statistics file ---------------===//
//
// The format tag and its version are checked; the Hessian is 2 XᵀX / N of
// the stored sums; the calibration tokens come back as written.
//
//===----------------------------------------------------------------------===//

#include "hfq/IO/Statistics.h"

#include "llvm/Support/FileSystem.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace mlir::hfq::io;

namespace {

template <typename T> std::vector<uint8_t> bytes(std::vector<T> v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

/// A statistics file for one linear "l" of 2 inputs over 4 tokens of two
/// samples, with the given metadata.
std::string write(const std::map<std::string, std::string> &metadata) {
  llvm::SmallString<128> path;
  EXPECT_FALSE(
      llvm::sys::fs::createTemporaryFile("hfq-stats", "safetensors", path));
  std::vector<TensorToWrite> tensors = {
      {"l.xtx", DType::F64, {2, 2}, bytes<double>({4, 2, 2, 8})},
      {"l.tokens", DType::I64, {1}, bytes<int64_t>({4})},
      {"calibration.sequence_lengths", DType::I64, {2}, bytes<int64_t>({3, 1})},
      {"calibration.token_ids", DType::I64, {4}, bytes<int64_t>({1, 5, 9, 1})}};
  EXPECT_FALSE(bool(writeSafetensors(path, tensors, metadata)));
  return path.str().str();
}

std::string errorOf(llvm::Expected<Statistics> s) {
  EXPECT_FALSE(bool(s));
  return s ? "" : llvm::toString(s.takeError());
}

TEST(Statistics, ReadsWhatCalibrateWrites) {
  std::string path = write(Statistics::metadata());
  auto s = Statistics::open(path);
  ASSERT_TRUE(bool(s)) << llvm::toString(s.takeError());
  auto h = s->hessian("l", 2);
  ASSERT_TRUE(bool(h));
  EXPECT_EQ(*h, (std::vector<double>{2, 1, 1, 4}));
  auto lens = s->sequenceLengths();
  ASSERT_TRUE(bool(lens));
  EXPECT_EQ(*lens, (std::vector<int64_t>{3, 1}));
  auto ids = s->tokenIds(4);
  ASSERT_TRUE(bool(ids));
  EXPECT_EQ(*ids, (std::vector<int64_t>{1, 5, 9, 1}));
  // Wrong shapes and missing names are errors naming the file.
  auto wrong = s->hessian("l", 3);
  ASSERT_FALSE(bool(wrong));
  EXPECT_NE(llvm::toString(wrong.takeError()).find("do not match the linear"),
            std::string::npos);
  auto none = s->floats("l.inputs", {4, 2}, "needs --keep-inputs");
  ASSERT_FALSE(bool(none));
  EXPECT_NE(llvm::toString(none.takeError()).find("needs --keep-inputs"),
            std::string::npos);
  auto short_ = s->tokenIds(5);
  ASSERT_FALSE(bool(short_));
  llvm::consumeError(short_.takeError());
  llvm::sys::fs::remove(path);
}

TEST(Statistics, ChecksTheFormatAndVersion) {
  EXPECT_EQ(Statistics::metadata().at("format"), "hfq-calibration-v1");
  for (auto [metadata, message] :
       std::vector<std::pair<std::map<std::string, std::string>, std::string>>{
           {{}, "is not an hfq statistics file"},
           {{{"format", "gguf"}}, "is not an hfq statistics file"},
           {{{"format", "hfq-calibration-vX"}},
            "is not an hfq statistics file"},
           {{{"format", "hfq-calibration-v2"}}, "is newer than this hfq"}}) {
    std::string path = write(metadata);
    EXPECT_NE(errorOf(Statistics::open(path)).find(message), std::string::npos)
        << message;
    llvm::sys::fs::remove(path);
  }
}

} // namespace

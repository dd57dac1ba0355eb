//===- SafetensorsTest.cpp - safetensors reading, writing, rejecting -*- C++ -*-===//
//
// Round trips through the writer, exact dtype conversions, and one test per
// rule of the format the reader enforces: each malformed file must be
// rejected with a message naming the file and the rule.
//
//===----------------------------------------------------------------------===//

#include "hfq/IO/Safetensors.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>

using namespace mlir::hfq::io;

namespace {

class Safetensors : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("hfq-st", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string path(llvm::StringRef name) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }

  /// A file made of the 8-byte length, `header`, then `data`.
  std::string raw(llvm::StringRef header, llvm::StringRef data,
                  int64_t lengthOverride = -1) {
    std::string p = path("raw.safetensors");
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    uint64_t len = lengthOverride >= 0 ? uint64_t(lengthOverride) : header.size();
    for (int i = 0; i < 8; ++i)
      os << char((len >> (8 * i)) & 0xff);
    os << header << data;
    return p;
  }

  /// Expects `file` to be rejected with a message containing `rule`.
  void expectRejected(const std::string &file, llvm::StringRef rule) {
    auto st = SafetensorsFile::open(file);
    ASSERT_FALSE(bool(st)) << "accepted a file that breaks: " << rule.str();
    std::string message = llvm::toString(st.takeError());
    EXPECT_NE(message.find(rule.str()), std::string::npos) << message;
    EXPECT_NE(message.find(file), std::string::npos) << message;
  }

  llvm::SmallString<128> dir;
};

std::vector<uint8_t> bytesOf(const std::vector<float> &v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

TEST_F(Safetensors, WriteThenRead) {
  std::vector<TensorToWrite> tensors = {
      {"b.weight", DType::F32, {2, 3}, bytesOf({1, 2, 3, 4, 5, 6})},
      {"a.bias", DType::F32, {3}, bytesOf({-1, 0.5f, 7})},
      {"c.codes", DType::U8, {4}, {1, 2, 3, 255}},
      {"d.empty", DType::I32, {0, 5}, {}},
  };
  std::string file = path("out.safetensors");
  ASSERT_FALSE(bool(writeSafetensors(file, tensors, {{"format", "pt"}})));
  auto st = SafetensorsFile::open(file);
  ASSERT_TRUE(bool(st)) << llvm::toString(st.takeError());
  EXPECT_EQ((*st)->metadata().at("format"), "pt");
  ASSERT_EQ((*st)->tensors().size(), 4u);
  // Data is laid out wider elements first, then in name order.
  EXPECT_EQ((*st)->tensors()[0].name, "a.bias");
  EXPECT_EQ((*st)->tensors()[3].name, "c.codes");
  const TensorInfo *w = (*st)->find("b.weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{2, 3}));
  auto values = (*st)->readFloat32(*w);
  ASSERT_TRUE(bool(values));
  EXPECT_EQ(*values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  llvm::ArrayRef<uint8_t> codes = (*st)->bytes(*(*st)->find("c.codes"));
  EXPECT_EQ(std::vector<uint8_t>(codes.begin(), codes.end()),
            (std::vector<uint8_t>{1, 2, 3, 255}));
  EXPECT_EQ((*st)->find("d.empty")->numElements(), 0);

  // The header is padded so the data section starts 64-byte aligned.
  auto buffer = llvm::MemoryBuffer::getFile(file);
  ASSERT_TRUE(bool(buffer));
  uint64_t len;
  std::memcpy(&len, (*buffer)->getBufferStart(), 8);
  EXPECT_EQ((8 + len) % 64, 0u);
}

// Tensors of odd byte counts in every width, named so that name order
// would misalign them: each still starts at a multiple of its element size
// (what lets the loader use mapped data in place), without holes.
TEST_F(Safetensors, WriterPutsEveryTensorAtItsAlignment) {
  std::vector<TensorToWrite> tensors = {
      {"a.codes", DType::U8, {3}, {1, 2, 3}},
      {"b.half", DType::F16, {1}, {0x00, 0x3C}},
      {"c.float", DType::F32, {1}, bytesOf({5})},
      {"d.long", DType::I64, {1}, std::vector<uint8_t>(8, 7)},
      {"e.codes", DType::U8, {1}, {9}},
      {"f.float", DType::F32, {3}, bytesOf({1, 2, 3})},
  };
  std::string file = path("aligned.safetensors");
  ASSERT_FALSE(bool(writeSafetensors(file, tensors)));
  auto st = SafetensorsFile::open(file);
  ASSERT_TRUE(bool(st)) << llvm::toString(st.takeError());
  uint64_t expectedBegin = 0;
  for (const TensorInfo &t : (*st)->tensors()) {
    EXPECT_EQ((*st)->fileOffset(t) % dtypeSize(t.dtype), 0u) << t.name;
    EXPECT_EQ(t.begin, expectedBegin) << t.name << ": a hole before it";
    expectedBegin = t.end;
  }
  EXPECT_EQ((*st)->tensors().front().name, "d.long");
  EXPECT_EQ((*st)->tensors().back().name, "e.codes");
  auto f = (*st)->readFloat32(*(*st)->find("f.float"));
  ASSERT_TRUE(bool(f));
  EXPECT_EQ(*f, (std::vector<float>{1, 2, 3}));
}

TEST_F(Safetensors, WriterIsDeterministic) {
  std::vector<TensorToWrite> a = {
      {"x", DType::F32, {1}, bytesOf({1})}, {"y", DType::F32, {1}, bytesOf({2})}};
  std::vector<TensorToWrite> b = {a[1], a[0]};
  ASSERT_FALSE(bool(writeSafetensors(path("a.safetensors"), a)));
  ASSERT_FALSE(bool(writeSafetensors(path("b.safetensors"), b)));
  auto fa = llvm::MemoryBuffer::getFile(path("a.safetensors"));
  auto fb = llvm::MemoryBuffer::getFile(path("b.safetensors"));
  ASSERT_TRUE(fa && fb);
  EXPECT_EQ((*fa)->getBuffer(), (*fb)->getBuffer());
}

TEST_F(Safetensors, WriterLeavesNothingOnError) {
  std::string file = path("bad.safetensors");
  llvm::Error e = writeSafetensors(
      file, {{"x", DType::F32, {2}, bytesOf({1})}}); // 4 bytes for 2 floats
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("4 bytes given"),
            std::string::npos);
  std::error_code ec;
  llvm::sys::fs::directory_iterator it(dir, ec), end;
  EXPECT_TRUE(it == end) << "left " << it->path();
}

TEST_F(Safetensors, HalfAndBFloat16Conversion) {
  // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF, smallest subnormal
  // 2^-24 = 0x0001. BF16: 1.0 = 0x3F80, -0.5 = 0xBF00.
  std::vector<TensorToWrite> tensors = {
      {"h", DType::F16, {4}, {0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00}},
      {"b", DType::BF16, {2}, {0x80, 0x3F, 0x00, 0xBF}}};
  std::string file = path("half.safetensors");
  ASSERT_FALSE(bool(writeSafetensors(file, tensors)));
  auto st = SafetensorsFile::open(file);
  ASSERT_TRUE(bool(st));
  auto h = (*st)->readFloat32(*(*st)->find("h"));
  ASSERT_TRUE(bool(h));
  EXPECT_EQ(*h, (std::vector<float>{1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24)}));
  auto b = (*st)->readFloat32(*(*st)->find("b"));
  ASSERT_TRUE(bool(b));
  EXPECT_EQ(*b, (std::vector<float>{1.0f, -0.5f}));
}

TEST_F(Safetensors, RejectsNonFiniteValues) {
  std::string file = path("nan.safetensors");
  ASSERT_FALSE(bool(writeSafetensors(
      file, {{"w", DType::F32, {2}, bytesOf({1.0f, std::nanf("")})}})));
  auto st = SafetensorsFile::open(file);
  ASSERT_TRUE(bool(st));
  auto values = (*st)->readFloat32(*(*st)->find("w"));
  ASSERT_FALSE(bool(values));
  EXPECT_NE(llvm::toString(values.takeError()).find("tensor 'w' element 1 is not finite"),
            std::string::npos);
}

TEST_F(Safetensors, RejectsIntegerAsFloat) {
  std::string file = path("int.safetensors");
  ASSERT_FALSE(bool(writeSafetensors(file, {{"w", DType::I32, {1}, {1, 0, 0, 0}}})));
  auto st = SafetensorsFile::open(file);
  ASSERT_TRUE(bool(st));
  auto values = (*st)->readFloat32(*(*st)->find("w"));
  ASSERT_FALSE(bool(values));
  llvm::consumeError(values.takeError());
}

TEST_F(Safetensors, AllSpecDTypesParse) {
  for (const char *name :
       {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL",
        "F8_E4M3", "F8_E5M2", "F8_E8M0"}) {
    auto dtype = parseDType(name);
    ASSERT_TRUE(dtype.has_value()) << name;
    EXPECT_EQ(dtypeName(*dtype), name);
  }
  EXPECT_FALSE(parseDType("F4").has_value());
}

TEST_F(Safetensors, RejectsTooShort) {
  std::string p = path("short.safetensors");
  std::error_code ec;
  { llvm::raw_fd_ostream os(p, ec); os << "abc"; }
  expectRejected(p, "too short for the 8-byte header length");
}

TEST_F(Safetensors, RejectsHeaderBeyondFile) {
  expectRejected(raw("{}", "", 1000), "header length 1000 exceeds");
}

TEST_F(Safetensors, RejectsBadJSON) {
  expectRejected(raw("{\"w\": ", ""), "header is not valid JSON");
}

TEST_F(Safetensors, RejectsInvalidUTF8) {
  expectRejected(raw("{\"w\xff\": {}}", ""), "header is not valid JSON (or not valid UTF-8)");
}

TEST_F(Safetensors, RejectsNonObjectHeader) {
  expectRejected(raw("[1, 2]", ""), "header must be a JSON object");
}

TEST_F(Safetensors, RejectsUnknownDType) {
  expectRejected(raw(R"({"w":{"dtype":"F4","shape":[1],"data_offsets":[0,1]}})", "x"),
                 "tensor 'w': unknown dtype 'F4'");
}

TEST_F(Safetensors, RejectsShapeDTypeMismatch) {
  expectRejected(raw(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                     std::string(8, '\0')),
                 "tensor 'w': 8 bytes in data_offsets, but shape x F32 needs 12");
}

TEST_F(Safetensors, RejectsOffsetsOutOfRange) {
  expectRejected(raw(R"({"w":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}})",
                     std::string(8, '\0')),
                 "data_offsets end 16 is beyond the 8-byte data section");
}

TEST_F(Safetensors, RejectsReversedOffsets) {
  expectRejected(raw(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})",
                     std::string(4, '\0')),
                 "are reversed");
}

TEST_F(Safetensors, RejectsOverlap) {
  expectRejected(
      raw(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
          R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
          std::string(6, '\0')),
      "tensor 'b' overlaps the previous tensor");
}

TEST_F(Safetensors, RejectsHole) {
  expectRejected(raw(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                     std::string(4, '\0')),
                 "hole of 2 bytes before tensor 'a'");
}

TEST_F(Safetensors, RejectsTrailingBytes) {
  expectRejected(raw(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
                     std::string(5, '\0')),
                 "3 trailing bytes after the last tensor");
}

TEST_F(Safetensors, RejectsNegativeShape) {
  expectRejected(raw(R"({"a":{"dtype":"U8","shape":[-2],"data_offsets":[0,0]}})", ""),
                 "shape entries must be non-negative integers");
}

TEST_F(Safetensors, RejectsHugeShape) {
  expectRejected(
      raw(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
          std::string(8, '\0')),
      "shape x dtype size overflows 64 bits");
}

TEST_F(Safetensors, RejectsNonStringMetadata) {
  expectRejected(raw(R"({"__metadata__":{"format":1}})", ""),
                 "__metadata__ entry 'format' is not a string");
}

TEST_F(Safetensors, RejectsMissingFields) {
  expectRejected(raw(R"({"a":{"dtype":"U8","shape":[1]}})", "x"),
                 "'data_offsets' must be two non-negative integers");
}

} // namespace

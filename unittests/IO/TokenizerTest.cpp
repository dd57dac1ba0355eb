//===- TokenizerTest.cpp - tokenizer.json BPE ------------------*- C++ -*-===//
//
// Known answers on the bundled Llama 2 tokenizer, decode(encode(x)) == x on
// the shared corpora (skipped when ../shared is absent), and the errors for
// bad input. Exact agreement with Hugging Face `tokenizers` is checked by
// the lit test Tools/hfq/tokenizer-vs-hf*.test.
//
//===----------------------------------------------------------------------===//

#include "hfq/IO/Tokenizer.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include "gtest/gtest.h"

using namespace mlir::hfq::io;

namespace {

const std::string kModel = HFQ_SOURCE_DIR "/models/stories15M";

Tokenizer loadBundled() {
  auto t = Tokenizer::load(kModel);
  if (!t) {
    ADD_FAILURE() << llvm::toString(t.takeError());
    std::abort();
  }
  return std::move(*t);
}

TEST(Tokenizer, KnownAnswers) {
  Tokenizer t = loadBundled();
  EXPECT_EQ(t.vocabSize(), 32000);
  EXPECT_EQ(t.bosId(), 1);
  EXPECT_EQ(t.eosId(), 2);
  auto ids = t.encode("Once upon a time");
  ASSERT_TRUE(bool(ids));
  EXPECT_EQ(*ids, (std::vector<int64_t>{1, 9038, 2501, 263, 931}));
  auto noBos = t.encode("Once upon a time", /*addSpecial=*/false);
  ASSERT_TRUE(bool(noBos));
  EXPECT_EQ(*noBos, (std::vector<int64_t>{9038, 2501, 263, 931}));
  auto empty = t.encode("");
  ASSERT_TRUE(bool(empty));
  EXPECT_EQ(*empty, (std::vector<int64_t>{1}));
  EXPECT_EQ(t.tokenText(9038), "\xE2\x96\x81Once");
}

void expectRoundTrip(const Tokenizer &t, llvm::StringRef text) {
  auto ids = t.encode(text);
  ASSERT_TRUE(bool(ids)) << llvm::toString(ids.takeError());
  auto back = t.decode(*ids);
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(*back, text.str());
}

TEST(Tokenizer, RoundTripHardText) {
  Tokenizer t = loadBundled();
  auto file = llvm::MemoryBuffer::getFile(HFQ_SOURCE_DIR
                                          "/test/Tools/hfq/Inputs/unicode.txt");
  ASSERT_TRUE(bool(file));
  llvm::SmallVector<llvm::StringRef> lines;
  (*file)->getBuffer().split(lines, '\n', -1, false);
  for (llvm::StringRef line : lines)
    // U+2581 itself decodes to a space; every other line must come back.
    if (!line.contains("\xE2\x96\x81"))
      expectRoundTrip(t, line);
}

TEST(Tokenizer, RoundTripSharedCorpora) {
  const char *corpora = HFQ_SOURCE_DIR "/../shared/corpora";
  if (!llvm::sys::fs::is_directory(corpora))
    GTEST_SKIP() << "../shared/corpora is not present";
  Tokenizer t = loadBundled();
  for (const char *name : {"stories-eval.txt", "sherlock-holmes.txt",
                           "moby-dick.txt"}) {
    auto file = llvm::MemoryBuffer::getFile(std::string(corpora) + "/" + name);
    ASSERT_TRUE(bool(file)) << name;
    llvm::SmallVector<llvm::StringRef> docs;
    (*file)->getBuffer().split(docs, '\n', -1, false);
    for (llvm::StringRef doc : docs)
      expectRoundTrip(t, doc);
  }
}

TEST(Tokenizer, RejectsInvalidUTF8) {
  Tokenizer t = loadBundled();
  for (const char *bad : {"a\xff", "\xc3", "\xed\xa0\x80" /* surrogate */,
                          "\xc0\xaf" /* overlong */}) {
    auto ids = t.encode(bad);
    ASSERT_FALSE(bool(ids)) << bad;
    EXPECT_NE(llvm::toString(ids.takeError()).find("not valid UTF-8"),
              std::string::npos);
  }
}

TEST(Tokenizer, RejectsUnknownIds) {
  Tokenizer t = loadBundled();
  auto text = t.decode({1, 32000});
  ASSERT_FALSE(bool(text));
  EXPECT_NE(llvm::toString(text.takeError()).find("token id 32000"),
            std::string::npos);
}

void expectLoadError(llvm::StringRef json, llvm::StringRef message) {
  auto t = Tokenizer::parse(json, "", "tok.json");
  ASSERT_FALSE(bool(t)) << json.str();
  std::string got = llvm::toString(t.takeError());
  EXPECT_NE(got.find(message.str()), std::string::npos) << got;
  EXPECT_NE(got.find("tok.json"), std::string::npos) << got;
}

TEST(Tokenizer, RejectsBadFiles) {
  expectLoadError("{", "not valid JSON");
  expectLoadError("[]", "missing object 'model'");
  expectLoadError(R"({"model": {"type": "Unigram", "vocab": []}})",
                  "unsupported tokenizer model 'Unigram'");
  expectLoadError(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})",
                  "merge 'a b' uses tokens missing from the vocabulary");
  expectLoadError(R"({"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}})",
                  "vocab entry 'a' has a bad id");
  expectLoadError(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                      "normalizer": {"type": "NFKD"}})",
                  "unsupported normalizer 'NFKD'");
  expectLoadError(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                      "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\w+"},
                                        "behavior": "Isolated", "invert": false}})",
                  "unsupported Split pre-tokenizer");
  expectLoadError(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                      "post_processor": {"type": "BertProcessing"}})",
                  "unsupported post_processor 'BertProcessing'");
  // Fields of the wrong type are errors, not crashes (found by fuzzing).
  expectLoadError(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                      "post_processor": {"type": [1, 2]}})",
                  "field 'type' must be a string");
  expectLoadError(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [],
                                "byte_fallback": "yes"}})",
                  "field 'byte_fallback' must be true or false");
  expectLoadError(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                      "added_tokens": [{"id": 4294967296, "content": "x"}]})",
                  "malformed added token");
  expectLoadError(R"({"model": {"type": "BPE", "vocab": {"a": 1000000000}, "merges": []}})",
                  "token id 1000000000 is far beyond the 1 vocabulary entries");
}

TEST(Tokenizer, MergesByRank) {
  // "abc": ranks say (b,c) before (a,b), so the result is a + bc even though
  // (a,b) comes first in the text.
  auto t = Tokenizer::parse(
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5},
                    "merges": ["b c", "a b"]}})",
      "", "tok.json");
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  auto ids = t->encode("abc");
  ASSERT_TRUE(bool(ids));
  EXPECT_EQ(*ids, (std::vector<int64_t>{0, 4}));
  auto ab = t->encode("abab");
  ASSERT_TRUE(bool(ab));
  EXPECT_EQ(*ab, (std::vector<int64_t>{3, 3}));
}

} // namespace

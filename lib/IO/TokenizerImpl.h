//===- TokenizerImpl.h - internals of the tokenizer.json reader -*- C++ -*-===//
//
// What the tokenizer's three files share: the loaded pipeline
// (Tokenizer::Impl), UTF-8 helpers, GPT-2's byte alphabet and the
// hand-written matchers of the known split regexes. Private to lib/IO:
//   TokenizerText.cpp   UTF-8, byte alphabet, split patterns
//   TokenizerLoad.cpp   tokenizer.json / tokenizer_config.json -> Impl
//   Tokenizer.cpp       normalize, pre-tokenize, BPE, encode and decode
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_LIB_IO_TOKENIZERIMPL_H
#define HFQ_LIB_IO_TOKENIZERIMPL_H

#include "hfq/IO/Tokenizer.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::hfq::io {
namespace detail {

inline llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
/// (its code point in *cp when given).
size_t utf8Length(llvm::StringRef s, size_t i, uint32_t *cp = nullptr);
std::string utf8Encode(uint32_t c);
/// Code points of valid UTF-8 text.
std::vector<uint32_t> codePoints(llvm::StringRef s);
/// Bytes -> UTF-8 with each invalid byte replaced by U+FFFD, as Rust's
/// String::from_utf8_lossy does (one replacement per maximal invalid part).
std::string utf8Lossy(llvm::StringRef bytes);
/// `s` with every occurrence of `from` replaced by `to`.
std::string replaceAll(llvm::StringRef s, llvm::StringRef from,
                       llvm::StringRef to);

/// SentencePiece's word-boundary mark, U+2581.
inline constexpr const char *kMetaspace = "\xE2\x96\x81";

/// GPT-2's bytes_to_unicode: every byte as a printable character.
struct ByteAlphabet {
  std::string byteToChar[256];
  llvm::DenseMap<uint32_t, uint8_t> charToByte;
  ByteAlphabet();
};
const ByteAlphabet &byteAlphabet();

/// The split regexes hfq recognises (verbatim) and matches by hand.
enum class SplitPattern { GPT2, Llama3, Qwen2 };
std::optional<SplitPattern> recognizePattern(llvm::StringRef regex);
/// `text` cut into the pattern's matches, in order.
std::vector<std::string> splitByPattern(SplitPattern pattern,
                                        llvm::StringRef text);

} // namespace detail

struct Tokenizer::Impl {
  // Model.
  std::vector<std::string> idToToken;
  llvm::StringMap<int32_t> tokenToId;
  llvm::DenseMap<uint64_t, std::pair<int32_t, int32_t>> merges; // -> rank, id
  bool byteFallback = false, fuseUnk = false, ignoreMerges = false;
  int32_t unkId = -1;
  int32_t byteTokens[256];

  // Added tokens, longest first.
  struct Added {
    std::string content;
    int32_t id;
    bool special;
  };
  std::vector<Added> added;
  /// Ids of special added tokens, which decode skips.
  llvm::DenseSet<int64_t> specialIds;

  // Normalizer and pre-tokenizer steps.
  struct Step {
    enum Kind { Prepend, Replace, NFC, Split, ByteLevel, Metaspace } kind;
    std::string a, b;
    detail::SplitPattern pattern = detail::SplitPattern::GPT2;
    bool flag = false;     // ByteLevel: add_prefix_space; Metaspace: split
    std::string scheme;    // Metaspace prepend_scheme
    bool useRegex = false; // ByteLevel
  };
  std::vector<Step> normalizers, preTokenizers;

  // Decoder steps.
  struct DecodeStep {
    enum Kind { Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace } kind;
    std::string a, b;
    int start = 0, stop = 0;
    std::string scheme;
  };
  std::vector<DecodeStep> decoders;

  std::vector<int32_t> prefix, suffix; // post-processor, single sequence
  std::optional<int64_t> bos, eos;

  static uint64_t key(int32_t a, int32_t b) {
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  }

  std::string normalize(llvm::StringRef text) const;
  std::vector<std::string> preTokenize(std::string text, bool first) const;
  void bpe(llvm::StringRef word, std::vector<int64_t> &out) const;
};

} // namespace mlir::hfq::io

#endif // HFQ_LIB_IO_TOKENIZERIMPL_H

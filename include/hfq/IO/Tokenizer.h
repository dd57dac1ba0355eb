//===- Tokenizer.h - Hugging Face tokenizer.json (BPE) ----------*- C++ -*-===//
//
// Encodes and decodes text with a BPE tokenizer.json as Hugging Face's
// `tokenizers` library defines the pipeline:
//
//   added tokens split out -> normalizer -> pre-tokenizer -> BPE (merges by
//   rank, byte fallback) -> post-processor (BOS)      ... and decoders back.
//
// Two families are supported:
// - SentencePiece-style BPE (Llama 2, Mistral): Prepend/Replace normalizers
//   or a Metaspace pre-tokenizer, `▁` for spaces, `<0xNN>` byte tokens;
// - byte-level BPE (GPT-2, Llama 3, Qwen2): the ByteLevel pre-tokenizer and
//   decoder, with GPT-2's split regex or the Llama 3 / Qwen2 one (recognized
//   by pattern; they are implemented as hand-written matchers, not a regex
//   engine), NFC normalization.
// Anything else (WordPiece, Unigram, unknown normalizers or regexes) is
// rejected when loading, naming the component.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_IO_TOKENIZER_H
#define HFQ_IO_TOKENIZER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir::hfq::io {

class Tokenizer {
public:
  ~Tokenizer();
  Tokenizer(Tokenizer &&);

  /// Parses tokenizer.json text; `tokenizerConfig` (tokenizer_config.json,
  /// may be empty) supplies add_bos_token/bos_token when the post-processor
  /// does not. `source` names the file in messages.
  static llvm::Expected<Tokenizer> parse(llvm::StringRef tokenizerJson,
                                         llvm::StringRef tokenizerConfig,
                                         llvm::StringRef source);
  /// Reads `<dir>/tokenizer.json` (and tokenizer_config.json if present).
  static llvm::Expected<Tokenizer> load(llvm::StringRef modelDir);

  /// Token ids of `text` (UTF-8), with BOS when the tokenizer adds it and
  /// `addSpecial` is set. Fails on invalid UTF-8.
  llvm::Expected<std::vector<int64_t>> encode(llvm::StringRef text,
                                              bool addSpecial = true) const;
  /// Text of `ids`; special tokens are skipped. Fails on unknown ids.
  llvm::Expected<std::string> decode(const std::vector<int64_t> &ids) const;

  int64_t vocabSize() const;
  std::optional<int64_t> bosId() const;
  std::optional<int64_t> eosId() const;
  /// The token string of `id` as stored in the vocabulary.
  llvm::StringRef tokenText(int64_t id) const;

  struct Impl;

private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

} // namespace mlir::hfq::io

#endif // HFQ_IO_TOKENIZER_H

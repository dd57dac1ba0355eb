//===- TokenizerTextFuzzer.cpp - libFuzzer target: text to encode -*- C++ -*-===//
//
// Encodes arbitrary bytes with the bundled Llama 2 tokenizer and a small
// byte-level tokenizer. Valid UTF-8 must encode and decode back to itself
// (the Llama 2 tokenizer maps U+2581 to a space, so that character is left
// out of the check); anything else must be rejected cleanly.
//
//===----------------------------------------------------------------------===//

#include "hfq/IO/Tokenizer.h"

#include <cstdlib>

using namespace mlir::hfq::io;

static const Tokenizer &bundled() {
  static Tokenizer t = [] {
    auto loaded = Tokenizer::load(HFQ_SOURCE_DIR "/models/stories15M");
    if (!loaded)
      std::abort();
    return std::move(*loaded);
  }();
  return t;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  auto ids = bundled().encode(text);
  if (!ids) {
    llvm::consumeError(ids.takeError());
    return 0;
  }
  auto back = bundled().decode(*ids);
  if (!back)
    std::abort(); // ids from encode must decode
  if (!text.contains("\xE2\x96\x81") && !text.contains("<s>") &&
      !text.contains("</s>") && !text.contains("<unk>") && *back != text)
    std::abort(); // lossless for text without special tokens
  return 0;
}

//===- TokenizerJsonFuzzer.cpp - libFuzzer target: tokenizer.json -*- C++ -*-===//
//
// Parses arbitrary bytes as tokenizer.json; whatever loads must encode and
// decode a fixed sample without crashing.
//
//===----------------------------------------------------------------------===//

#include "hfq/IO/Tokenizer.h"

using namespace mlir::hfq::io;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto t = Tokenizer::parse(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "", "fuzz");
  if (!t) {
    llvm::consumeError(t.takeError());
    return 0;
  }
  auto ids = t->encode("It's 2024: naïve café 🙂\n  ok");
  if (!ids) {
    llvm::consumeError(ids.takeError());
    return 0;
  }
  if (auto text = t->decode(*ids); !text)
    llvm::consumeError(text.takeError());
  return 0;
}

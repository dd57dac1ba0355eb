//===- ConfigFuzzer.cpp - libFuzzer target: config.json -------*- C++ -*-===//

#include "hfq/IO/ModelConfig.h"

using namespace mlir::hfq::io;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto config = ModelConfig::parse(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz");
  if (!config) {
    llvm::consumeError(config.takeError());
    return 0;
  }
  (void)config->ropeInverseFrequencies();
  return 0;
}

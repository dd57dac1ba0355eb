//===- SafetensorsFuzzer.cpp - libFuzzer target: safetensors files -*- C++ -*-===//
//
// Feeds arbitrary bytes to the safetensors reader; whatever it accepts must
// be readable without touching memory outside the file.
//
//===----------------------------------------------------------------------===//

#include "hfq/IO/Safetensors.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace mlir::hfq::io;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz");
  auto file = SafetensorsFile::fromBuffer(std::move(buffer), "fuzz");
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  for (const TensorInfo &info : (*file)->tensors()) {
    llvm::ArrayRef<uint8_t> bytes = (*file)->bytes(info);
    volatile uint8_t sink = 0;
    for (uint8_t b : bytes)
      sink ^= b;
    if (auto values = (*file)->readFloat32(info); !values)
      llvm::consumeError(values.takeError());
  }
  return 0;
}

//===- Checkpoint.h - Hugging Face checkpoint directories -------*- C++ -*-===//
//
// Opens the weights of a checkpoint directory: `model.safetensors`, or the
// shards listed by `model.safetensors.index.json`. A path to a single
// .safetensors file is accepted too.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_IO_CHECKPOINT_H
#define HFQ_IO_CHECKPOINT_H

#include "hfq/IO/Safetensors.h"

namespace mlir::hfq::io {

class Checkpoint {
public:
  static llvm::Expected<Checkpoint> open(llvm::StringRef path);

  struct Entry {
    const SafetensorsFile *file;
    const TensorInfo *info;
  };
  /// All tensors, ordered by name.
  const std::vector<Entry> &tensors() const { return entries; }
  const Entry *find(llvm::StringRef name) const;

private:
  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::vector<Entry> entries;
};

} // namespace mlir::hfq::io

#endif // HFQ_IO_CHECKPOINT_H

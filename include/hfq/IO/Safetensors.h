//===- Safetensors.h - read and write safetensors files ---------*- C++ -*-===//
//
// The safetensors format: an 8-byte little-endian header length N, N bytes of
// JSON describing each tensor (dtype, shape, [begin, end) offsets into the
// data section) plus optional string metadata, then the data section.
//
// The reader memory-maps the file and hands out zero-copy views after
// checking everything the format promises; any violation is an error naming
// the file, the tensor and the rule. The writer emits tensors in name order
// with an 8-byte aligned header and publishes the file by renaming a
// temporary only once it is complete.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_IO_SAFETENSORS_H
#define HFQ_IO_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir::hfq::io {

/// Every dtype of the safetensors specification that hfq reads.
enum class DType {
  F64,
  F32,
  F16,
  BF16,
  I64,
  I32,
  I16,
  I8,
  U8,
  BOOL,
  F8_E4M3,
  F8_E5M2,
  F8_E8M0
};

/// The spelling used in safetensors headers ("F32", "BF16", ...).
llvm::StringRef dtypeName(DType dtype);
std::optional<DType> parseDType(llvm::StringRef name);
/// Bytes per element.
unsigned dtypeSize(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  /// Byte range relative to the start of the data section.
  uint64_t begin = 0, end = 0;

  int64_t numElements() const;
};

class SafetensorsFile {
public:
  /// Maps and validates `path`.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  open(llvm::StringRef path);
  /// Validates an in-memory file; `name` stands for the path in messages.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef name);

  llvm::StringRef path() const { return filePath; }
  /// Tensors in file order (by offset).
  llvm::ArrayRef<TensorInfo> tensors() const { return infos; }
  const TensorInfo *find(llvm::StringRef name) const;
  /// The `__metadata__` entries.
  const std::map<std::string, std::string> &metadata() const { return meta; }
  /// Where a tensor's data starts in the file (the 8-byte length field
  /// and the header before it).
  uint64_t fileOffset(const TensorInfo &info) const {
    return dataStart + info.begin;
  }
  /// Zero-copy view of a tensor's bytes (little-endian, row-major).
  llvm::ArrayRef<uint8_t> bytes(const TensorInfo &info) const;
  /// The tensor converted to float32 (from F32, F16, BF16 or F64). Fails for
  /// other dtypes and for NaN/Inf values, naming the first bad element.
  llvm::Expected<std::vector<float>> readFloat32(const TensorInfo &info) const;

private:
  SafetensorsFile() = default;
  std::string filePath;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  uint64_t dataStart = 0;
  std::vector<TensorInfo> infos;
  std::map<std::string, std::string> meta;
};

/// A tensor to write: its bytes must be shape x dtype size long.
struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

/// Writes `tensors` (sorted by name) and `metadata` to `path` via a temporary
/// file renamed into place on success; on failure nothing is left behind.
llvm::Error writeSafetensors(llvm::StringRef path,
                             std::vector<TensorToWrite> tensors,
                             const std::map<std::string, std::string> &metadata = {});

} // namespace mlir::hfq::io

#endif // HFQ_IO_SAFETENSORS_H

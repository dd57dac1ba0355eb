//===- Safetensors.cpp - read and write safetensors files ------*- C++ -*-===//
//
// Validation follows the format's own rules: header length within the file
// (and under 100 MB), a JSON object whose entries are tensors or
// `__metadata__`, known dtypes, non-negative shapes, offsets inside the data
// section with end - begin equal to elements x dtype size, and ranges that
// tile the data section exactly (no overlaps, no holes).
//
// LLVM is built without exceptions, so nlohmann::json is only ever parsed in
// its non-throwing mode and every value's type is checked before it is read.
//
//===----------------------------------------------------------------------===//

#include "hfq/IO/Safetensors.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace mlir::hfq::io;
using llvm::formatv;

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u * 1024 * 1024;

llvm::Error fail(llvm::StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + message);
}

struct DTypeEntry {
  DType dtype;
  const char *name;
  unsigned size;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::F64, "F64", 8},         {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},         {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8},         {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},         {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},           {DType::BOOL, "BOOL", 1},
    {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
    {DType::F8_E8M0, "F8_E8M0", 1},
};

const DTypeEntry &entry(DType dtype) {
  for (const DTypeEntry &e : kDTypes)
    if (e.dtype == dtype)
      return e;
  llvm_unreachable("unknown dtype");
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else { // subnormal: renormalize
      exponent = 127 - 15 + 1;
      while (!(mantissa & 0x400)) {
        mantissa <<= 1;
        --exponent;
      }
      bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
    }
  } else if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

} // namespace

llvm::StringRef mlir::hfq::io::dtypeName(DType dtype) {
  return entry(dtype).name;
}

unsigned mlir::hfq::io::dtypeSize(DType dtype) { return entry(dtype).size; }

std::optional<DType> mlir::hfq::io::parseDType(llvm::StringRef name) {
  for (const DTypeEntry &e : kDTypes)
    if (name == e.name)
      return e.dtype;
  return std::nullopt;
}

int64_t TensorInfo::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

//===----------------------------------------------------------------------===//
// Reader
//===----------------------------------------------------------------------===//

llvm::Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::open(llvm::StringRef path) {
  auto bufferOr = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
  if (!bufferOr)
    return fail(path, "cannot open: " + bufferOr.getError().message());
  return fromBuffer(std::move(*bufferOr), path);
}

llvm::Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer,
                            llvm::StringRef path) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->filePath = path.str();
  file->buffer = std::move(buffer);
  llvm::StringRef contents = file->buffer->getBuffer();
  const uint64_t fileSize = contents.size();

  if (fileSize < 8)
    return fail(path, formatv("file of {0} bytes is too short for the 8-byte "
                              "header length",
                              fileSize));
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i)
    headerLen = (headerLen << 8) | uint8_t(contents[i]);
  if (headerLen > fileSize - 8)
    return fail(path, formatv("header length {0} exceeds the {1} bytes after "
                              "the length field",
                              headerLen, fileSize - 8));
  if (headerLen > kMaxHeaderBytes)
    return fail(path, formatv("header length {0} exceeds the format's 100 MB "
                              "limit",
                              headerLen));
  llvm::StringRef header = contents.substr(8, headerLen);
  file->dataStart = 8 + headerLen;
  const uint64_t dataSize = fileSize - file->dataStart;

  nlohmann::json json = nlohmann::json::parse(header.begin(), header.end(),
                                               nullptr,
                                               /*allow_exceptions=*/false);
  if (json.is_discarded())
    return fail(path, "header is not valid JSON (or not valid UTF-8)");
  if (!json.is_object())
    return fail(path, "header must be a JSON object");

  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string &name = it.key();
    const nlohmann::json &value = it.value();
    if (name == "__metadata__") {
      if (!value.is_object())
        return fail(path, "__metadata__ must be an object of strings");
      for (auto m = value.begin(); m != value.end(); ++m) {
        if (!m.value().is_string())
          return fail(path, "__metadata__ entry '" + m.key() +
                                "' is not a string");
        file->meta[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto bad = [&](const llvm::Twine &rule) {
      return fail(path, "tensor '" + name + "': " + rule);
    };
    if (!value.is_object())
      return bad("entry must be an object");
    auto dtypeIt = value.find("dtype");
    auto shapeIt = value.find("shape");
    auto offsetsIt = value.find("data_offsets");
    if (dtypeIt == value.end() || !dtypeIt->is_string())
      return bad("missing string field 'dtype'");
    if (shapeIt == value.end() || !shapeIt->is_array())
      return bad("missing array field 'shape'");
    if (offsetsIt == value.end() || !offsetsIt->is_array() ||
        offsetsIt->size() != 2 || !(*offsetsIt)[0].is_number_unsigned() ||
        !(*offsetsIt)[1].is_number_unsigned())
      return bad("'data_offsets' must be two non-negative integers");

    TensorInfo info;
    info.name = name;
    std::string dtypeStr = dtypeIt->get<std::string>();
    std::optional<DType> dtype = parseDType(dtypeStr);
    if (!dtype)
      return bad("unknown dtype '" + dtypeStr + "'");
    info.dtype = *dtype;
    uint64_t bytes = dtypeSize(info.dtype);
    for (const nlohmann::json &d : *shapeIt) {
      if (!d.is_number_unsigned())
        return bad("shape entries must be non-negative integers");
      uint64_t dim = d.get<uint64_t>();
      if (__builtin_mul_overflow(bytes, dim, &bytes))
        return bad("shape x dtype size overflows 64 bits");
      info.shape.push_back(int64_t(dim));
    }
    info.begin = (*offsetsIt)[0].get<uint64_t>();
    info.end = (*offsetsIt)[1].get<uint64_t>();
    if (info.begin > info.end)
      return bad(formatv("data_offsets [{0}, {1}] are reversed", info.begin,
                         info.end));
    if (info.end > dataSize)
      return bad(formatv("data_offsets end {0} is beyond the {1}-byte data "
                         "section",
                         info.end, dataSize));
    if (info.end - info.begin != bytes)
      return bad(formatv("{0} bytes in data_offsets, but shape x {1} needs {2}",
                         info.end - info.begin, dtypeStr, bytes));
    file->infos.push_back(std::move(info));
  }

  // The ranges must tile the data section: sorted, touching, no overlap.
  std::stable_sort(file->infos.begin(), file->infos.end(),
                   [](const TensorInfo &a, const TensorInfo &b) {
                     return a.begin < b.begin ||
                            (a.begin == b.begin && a.end < b.end);
                   });
  uint64_t cursor = 0;
  for (const TensorInfo &info : file->infos) {
    if (info.begin < cursor)
      return fail(path, formatv("tensor '{0}' overlaps the previous tensor "
                                "(starts at {1}, previous ends at {2})",
                                info.name, info.begin, cursor));
    if (info.begin > cursor)
      return fail(path, formatv("hole of {0} bytes before tensor '{1}': the "
                                "data section must be fully indexed",
                                info.begin - cursor, info.name));
    cursor = info.end;
  }
  if (cursor != dataSize)
    return fail(path, formatv("{0} trailing bytes after the last tensor",
                              dataSize - cursor));
  return file;
}

const TensorInfo *SafetensorsFile::find(llvm::StringRef name) const {
  for (const TensorInfo &info : infos)
    if (info.name == name)
      return &info;
  return nullptr;
}

llvm::ArrayRef<uint8_t> SafetensorsFile::bytes(const TensorInfo &info) const {
  const uint8_t *base =
      reinterpret_cast<const uint8_t *>(buffer->getBufferStart()) + dataStart;
  return llvm::ArrayRef<uint8_t>(base + info.begin, info.end - info.begin);
}

llvm::Expected<std::vector<float>>
SafetensorsFile::readFloat32(const TensorInfo &info) const {
  llvm::ArrayRef<uint8_t> raw = bytes(info);
  const int64_t n = info.numElements();
  std::vector<float> out(n);
  switch (info.dtype) {
  case DType::F32:
    std::memcpy(out.data(), raw.data(), n * 4);
    break;
  case DType::F64:
    for (int64_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, raw.data() + 8 * i, 8);
      out[i] = float(d);
    }
    break;
  case DType::F16:
    for (int64_t i = 0; i < n; ++i)
      out[i] = halfToFloat(uint16_t(raw[2 * i] | (raw[2 * i + 1] << 8)));
    break;
  case DType::BF16:
    for (int64_t i = 0; i < n; ++i) {
      uint32_t bits = uint32_t(raw[2 * i] | (raw[2 * i + 1] << 8)) << 16;
      std::memcpy(&out[i], &bits, 4);
    }
    break;
  default:
    return fail(filePath, "tensor '" + info.name + "' has dtype " +
                              dtypeName(info.dtype) +
                              ", not a floating-point type");
  }
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(out[i]))
      return fail(filePath, formatv("tensor '{0}' element {1} is not finite "
                                    "({2})",
                                    info.name, i, out[i]));
  return out;
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

llvm::Error
mlir::hfq::io::writeSafetensors(llvm::StringRef path,
                                std::vector<TensorToWrite> tensors,
                                const std::map<std::string, std::string> &metadata) {
  // Wider elements first, then by name (as the safetensors library
  // writes): with no holes allowed between tensors, this order is what
  // puts every tensor at a multiple of its element size, so a reader can
  // use the mapped data in place.
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorToWrite &a, const TensorToWrite &b) {
              unsigned wa = dtypeSize(a.dtype), wb = dtypeSize(b.dtype);
              return wa != wb ? wa > wb : a.name < b.name;
            });
  // nlohmann::json objects are ordered by key, which is the name order.
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorToWrite &t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape) {
      if (d < 0)
        return fail(path, "tensor '" + t.name + "' has a negative dimension");
      n *= d;
    }
    if (uint64_t(n) * dtypeSize(t.dtype) != t.data.size())
      return fail(path, formatv("tensor '{0}': {1} bytes given, shape x {2} "
                                "needs {3}",
                                t.name, t.data.size(), dtypeName(t.dtype),
                                uint64_t(n) * dtypeSize(t.dtype)));
    header[t.name] = {{"dtype", dtypeName(t.dtype).str()},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string text = header.dump();
  // Pad with spaces so the data section starts 64-byte aligned in the file
  // (the 8-byte length field included): mapped at a page boundary, the
  // first tensors (and every one whose predecessors' sizes are multiples
  // of 64, most weight matrices) are then cache-line aligned.
  text.append((64 - (8 + text.size()) % 64) % 64, ' ');

  llvm::SmallString<256> tmp;
  int fd;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(
          path + ".tmp-%%%%%%", fd, tmp))
    return fail(path, "cannot create a temporary file: " + ec.message());
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    uint64_t len = text.size();
    for (int i = 0; i < 8; ++i)
      os << char((len >> (8 * i)) & 0xff);
    os << text;
    for (const TensorToWrite &t : tensors)
      os.write(reinterpret_cast<const char *>(t.data.data()), t.data.size());
    os.close();
    if (os.has_error()) {
      std::string message = os.error().message();
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return fail(path, "write failed: " + message);
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    llvm::sys::fs::remove(tmp);
    return fail(path, "cannot rename the finished file into place: " +
                          ec.message());
  }
  return llvm::Error::success();
}

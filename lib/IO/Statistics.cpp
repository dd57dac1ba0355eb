//===- Statistics.cpp - the calibration statistics file -------------------===//

#include "hfq/IO/Statistics.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>

using namespace mlir::hfq::io;
using llvm::formatv;

std::map<std::string, std::string> Statistics::metadata() {
  return {{"format", (kFormat + std::to_string(kVersion)).str()}};
}

llvm::Expected<Statistics> Statistics::open(llvm::StringRef path) {
  auto file = SafetensorsFile::open(path);
  if (!file)
    return file.takeError();
  const auto &meta = (*file)->metadata();
  auto format = meta.find("format");
  llvm::StringRef tag;
  if (format != meta.end())
    tag = format->second;
  int version = 0;
  if (!tag.consume_front(kFormat) || tag.getAsInteger(10, version) ||
      version < 1)
    return llvm::createStringError(
        path +
        " is not an hfq statistics file (its __metadata__ has no "
        "\"format\": \"" +
        kFormat + "N\"; write it with hfq calibrate)");
  if (version > kVersion)
    return llvm::createStringError(formatv(
        "{0}: statistics version {1} is newer than this hfq reads ({2})", path,
        version, kVersion));
  Statistics s;
  s.filePath = path.str();
  s.safetensors = std::move(*file);
  return s;
}

llvm::Expected<std::vector<double>> Statistics::hessian(llvm::StringRef name,
                                                        int64_t cols) const {
  const TensorInfo *xtx = safetensors->find((name + ".xtx").str());
  const TensorInfo *tokens = safetensors->find((name + ".tokens").str());
  if (!xtx || !tokens)
    return llvm::createStringError(
        filePath + " has no statistics for '" + name +
        "' (was it calibrated on this model? see hfq calibrate)");
  if (xtx->dtype != DType::F64 ||
      xtx->shape != std::vector<int64_t>{cols, cols} ||
      tokens->dtype != DType::I64 || tokens->shape != std::vector<int64_t>{1})
    return llvm::createStringError(formatv(
        "{0}: statistics of '{1}' do not match the linear ({2} inputs): "
        "expected {1}.xtx F64 [{2}, {2}] and {1}.tokens I64 [1]",
        filePath, name, cols));
  int64_t n = 0;
  std::memcpy(&n, safetensors->bytes(*tokens).data(), sizeof(n));
  if (n <= 0)
    return llvm::createStringError(filePath + ": '" + name +
                                   "' was calibrated on no tokens");
  std::vector<double> h(cols * cols);
  std::memcpy(h.data(), safetensors->bytes(*xtx).data(),
              h.size() * sizeof(double));
  for (double &v : h)
    v = 2.0 * v / double(n);
  return h;
}

llvm::Expected<std::vector<float>>
Statistics::floats(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                   llvm::StringRef why) const {
  const TensorInfo *info = safetensors->find(name);
  if (!info)
    return llvm::createStringError(filePath + " has no '" + name + "' (" + why +
                                   ")");
  if (info->dtype != DType::F32 || info->shape != shape.vec())
    return llvm::createStringError(formatv(
        "{0}: '{1}' does not match the model and calibration (F32 [{2}] "
        "expected)",
        filePath, name, llvm::make_range(shape.begin(), shape.end())));
  std::vector<float> out(info->numElements());
  std::memcpy(out.data(), safetensors->bytes(*info).data(),
              out.size() * sizeof(float));
  for (float v : out)
    if (!std::isfinite(v))
      return llvm::createStringError(filePath + ": '" + name +
                                     "' holds non-finite activations");
  return out;
}

namespace {
llvm::Expected<std::vector<int64_t>> int64Vector(const SafetensorsFile &file,
                                                 llvm::StringRef path,
                                                 llvm::StringRef name,
                                                 std::optional<int64_t> size) {
  const TensorInfo *info = file.find(name);
  if (!info || info->dtype != DType::I64 || info->shape.size() != 1 ||
      (size && info->shape[0] != *size))
    return llvm::createStringError(formatv(
        "{0} has no {1} I64 [{2}] (written by hfq calibrate; statistics "
        "from another calibration lack it)",
        path, name, size ? std::to_string(*size) : "samples"));
  std::vector<int64_t> out(info->shape[0]);
  std::memcpy(out.data(), file.bytes(*info).data(),
              out.size() * sizeof(int64_t));
  return out;
}
} // namespace

llvm::Expected<std::vector<int64_t>> Statistics::sequenceLengths() const {
  auto lens = int64Vector(*safetensors, filePath,
                          "calibration.sequence_lengths", std::nullopt);
  if (!lens)
    return lens.takeError();
  for (int64_t n : *lens)
    if (n <= 0)
      return llvm::createStringError(filePath +
                                     ": a calibration sample has no tokens");
  return lens;
}

llvm::Expected<std::vector<int64_t>>
Statistics::tokenIds(int64_t tokens) const {
  return int64Vector(*safetensors, filePath, "calibration.token_ids", tokens);
}

//===- Statistics.h - the calibration statistics file -----------*- C++ -*-===//
//
// What `hfq calibrate` writes and the calibrated passes (GPTQ, AWQ, SpQR,
// SparseGPT) read: a safetensors file whose __metadata__ holds
// "format": "hfq-calibration-v1" (the version after the prefix; also the
// model, text, samples, seq_len and tokens it came from), with, for every
// linear
// NAME (its HF module name):
//   NAME.xtx       F64 [in, in]     sum over tokens of x xᵀ
//   NAME.tokens    I64 [1]          tokens seen
//   NAME.abs_mean  F32 [in]         mean |x| per input channel
//   NAME.abs_max   F32 [in]         max |x| per input channel
//   NAME.inputs    F32 [tokens, in] the inputs themselves, in sample order
//                                   (--keep-inputs; only under the first
//                                   linear of an input group)
// and for the calibration itself:
//   calibration.sequence_lengths I64 [samples]  tokens of every sample
//   calibration.token_ids        I64 [tokens]   the samples' tokens, end to
//                                               end (sequential
//                                               passes run the model on
//                                               them)
// Linears reading one input (q/k/v, gate/up) carry identical statistics.
// A reader refuses a file without the format tag or of a newer version.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_IO_STATISTICS_H
#define HFQ_IO_STATISTICS_H

#include "hfq/IO/Safetensors.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mlir::hfq::io {

class Statistics {
public:
  /// The format tag's prefix; the version follows it.
  static constexpr llvm::StringLiteral kFormat = "hfq-calibration-v";
  static constexpr int kVersion = 1;

  /// The format entry of the __metadata__ a statistics file carries.
  static std::map<std::string, std::string> metadata();

  /// Opens `path` and checks its format tag and version.
  static llvm::Expected<Statistics> open(llvm::StringRef path);

  llvm::StringRef path() const { return filePath; }
  const SafetensorsFile &file() const { return *safetensors; }

  /// H = 2 XᵀX / N of linear `name` ([cols, cols]); errors say when the
  /// file does not match the linear.
  llvm::Expected<std::vector<double>> hessian(llvm::StringRef name,
                                              int64_t cols) const;
  /// The F32 tensor `name` of exactly `shape`, all finite; `why` says which
  /// calibration it needs when it is missing.
  llvm::Expected<std::vector<float>> floats(llvm::StringRef name,
                                            llvm::ArrayRef<int64_t> shape,
                                            llvm::StringRef why) const;
  /// calibration.sequence_lengths (all positive) and calibration.token_ids
  /// ([sum of the lengths]).
  llvm::Expected<std::vector<int64_t>> sequenceLengths() const;
  llvm::Expected<std::vector<int64_t>> tokenIds(int64_t tokens) const;

private:
  std::string filePath;
  std::unique_ptr<SafetensorsFile> safetensors;
};

} // namespace mlir::hfq::io

#endif // HFQ_IO_STATISTICS_H

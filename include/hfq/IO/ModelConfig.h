//===- ModelConfig.h - Hugging Face config.json of Llama-family models -*- C++ -*-===//
//
// The architecture hyper-parameters hfq needs to build a model's IR, read
// from a checkpoint's config.json. Supported `model_type`s: llama, mistral,
// qwen2 (Llama blocks; qwen2 adds q/k/v biases). Missing required keys,
// unknown architectures and inconsistent values are errors naming the file
// and the key.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_IO_MODELCONFIG_H
#define HFQ_IO_MODELCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::hfq::io {

/// `rope_scaling` of config.json. Only the `llama3` scheme (Llama 3.1+)
/// changes the frequencies; `default` (or absent) leaves them alone.
struct RopeScaling {
  enum class Kind { None, Llama3 };
  Kind kind = Kind::None;
  double factor = 1.0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  int64_t originalMaxPositionEmbeddings = 8192;
};

struct ModelConfig {
  std::string modelType; // llama | mistral | qwen2
  std::string architecture;
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKVHeads = 0;
  int64_t headDim = 0;
  int64_t vocabSize = 0;
  int64_t maxPositionEmbeddings = 0;
  double rmsNormEps = 1e-6;
  double ropeTheta = 10000.0;
  RopeScaling ropeScaling;
  bool tieWordEmbeddings = false;
  /// q/k/v projections carry biases (qwen2; llama with attention_bias).
  bool qkvBias = false;
  /// o_proj carries a bias (llama with attention_bias).
  bool oBias = false;
  bool mlpBias = false;
  std::optional<int64_t> slidingWindow;
  std::optional<int64_t> bosTokenId;
  std::vector<int64_t> eosTokenIds;

  /// Parses config.json text; `source` names it in messages.
  static llvm::Expected<ModelConfig> parse(llvm::StringRef json,
                                           llvm::StringRef source);
  /// Reads `<dir>/config.json`.
  static llvm::Expected<ModelConfig> load(llvm::StringRef modelDir);

  /// The inverse frequency of each rotary pair, with rope_scaling applied.
  std::vector<double> ropeInverseFrequencies() const;
};

} // namespace mlir::hfq::io

#endif // HFQ_IO_MODELCONFIG_H

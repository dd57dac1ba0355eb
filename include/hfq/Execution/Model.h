//===- Model.h - a checkpoint imported, compiled and ready to run -*- C++ -*-===//
//
// Loads a model directory (config.json, safetensors, tokenizer.json),
// imports it (hfq/Import), JIT-compiles it with the weights bound to the
// memory-mapped checkpoint (no copy when the data is 64-byte aligned), and
// runs prefill/decode steps that keep the KV cache between calls.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_EXECUTION_MODEL_H
#define HFQ_EXECUTION_MODEL_H

#include "hfq/IO/ModelConfig.h"
#include "hfq/IO/Tokenizer.h"
#include "hfq/Transforms/LayerRunner.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlir::hfq {

struct ModelOptions {
  /// KV cache length; 0 uses max_position_embeddings.
  int64_t maxContext = 0;
  /// For an .mlir model: the checkpoint directory bound to its parameter
  /// scope "model" (weights, config.json and tokenizer come from there).
  /// Unused for a model directory.
  std::string checkpointDir;
  /// When set, the model is instrumented (hfq-instrument-linears) and every
  /// forward step reports each distinct linear input here. Calls come from
  /// the thread running the model.
  CalibrationRecorder recorder;
  /// Compile every hfq op through the reference lowering instead of the
  /// generated kernels (JITOptions::reference; the oracle).
  bool referenceLowering = false;
};

class LoadedModel {
public:
  ~LoadedModel();
  static llvm::Expected<std::unique_ptr<LoadedModel>>
  load(llvm::StringRef modelDir, const ModelOptions &options = {});

  const io::ModelConfig &config() const;
  const io::Tokenizer &tokenizer() const;
  int64_t maxContext() const;
  /// Checkpoint bytes copied at load because the file put a tensor off its
  /// element type's alignment; 0 when every weight is used where it is
  /// mapped (files hfq or the safetensors library wrote).
  uint64_t copiedWeightBytes() const;
  /// Tokens in the KV cache.
  int64_t position() const;
  /// With a recorder: for each group id, the linears (HF names) that read
  /// the recorded input.
  const std::vector<std::vector<std::string>> &calibrationGroups() const;

  /// Clears the cache and runs `tokens` from position 0; returns one row of
  /// vocabulary logits per token (row-major, tokens x vocab).
  llvm::Expected<std::vector<float>> prefill(llvm::ArrayRef<int64_t> tokens);
  /// Runs one more token at the current position; returns its logits.
  llvm::Expected<std::vector<float>> decode(int64_t token);

  struct Impl;

private:
  explicit LoadedModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

} // namespace mlir::hfq

#endif // HFQ_EXECUTION_MODEL_H

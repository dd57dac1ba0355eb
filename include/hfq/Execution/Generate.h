//===- Generate.h - sampling and generation on a loaded model --*- C++ -*-===//
//
// The token loop behind `hfq generate`: prefill the prompt, then decode one
// token at a time, choosing each with a Sampler (greedy, or temperature
// with nucleus/top-p), until an end-of-sequence token, the token budget or
// the model's context is reached. Also the logits file behind `hfq logits`.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_EXECUTION_GENERATE_H
#define HFQ_EXECUTION_GENERATE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <random>
#include <vector>

namespace mlir::hfq {

class LoadedModel;

struct SamplingOptions {
  /// 0 picks the most likely token (ties: the lowest id).
  double temperature = 0;
  /// Sample from the smallest set of most likely tokens whose probability
  /// reaches this mass, in (0, 1].
  double topP = 1;
  uint64_t seed = 0;
};

/// Chooses tokens from logits. Deterministic for a seed: the same options
/// and logits give the same tokens on every run and machine (mt19937_64 and
/// a sort with a total order).
class Sampler {
public:
  /// An error when the temperature is negative or top-p outside (0, 1].
  static llvm::Expected<Sampler> create(const SamplingOptions &options);

  /// The next token for one row of vocabulary logits.
  int64_t next(llvm::ArrayRef<float> logits);

private:
  explicit Sampler(const SamplingOptions &options);
  SamplingOptions options;
  std::mt19937_64 rng;
};

struct Generation {
  /// The generated tokens (the prompt not included; no end token).
  std::vector<int64_t> tokens;
  double prefillSeconds = 0, decodeSeconds = 0;
  /// decode() calls: one fewer than the tokens, as the first comes from
  /// the prefill's last row.
  int64_t decodeSteps = 0;
};

/// Runs `prompt` through `model` and generates at most `maxTokens` tokens,
/// stopping before any of `eosIds` and when the KV cache is full.
llvm::Expected<Generation> generate(LoadedModel &model,
                                    llvm::ArrayRef<int64_t> prompt,
                                    int64_t maxTokens, Sampler &sampler,
                                    llvm::ArrayRef<int64_t> eosIds);

/// Writes `ids` (I64 [T]) and their logits (F32 [T, vocab], row-major) as
/// the safetensors file `path` (atomically), the form other tools' logits
/// are compared in.
llvm::Error writeLogits(llvm::StringRef path, llvm::ArrayRef<int64_t> ids,
                        llvm::ArrayRef<float> logits, int64_t vocab);

} // namespace mlir::hfq

#endif // HFQ_EXECUTION_GENERATE_H

//===- Generate.cpp - sampling and generation on a loaded model -----------===//

#include "hfq/Execution/Generate.h"
#include "hfq/Execution/Model.h"
#include "hfq/IO/Safetensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

using namespace mlir::hfq;

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}
} // namespace

Sampler::Sampler(const SamplingOptions &options)
    : options(options), rng(options.seed) {}

llvm::Expected<Sampler> Sampler::create(const SamplingOptions &options) {
  if (!(options.temperature >= 0) || !std::isfinite(options.temperature))
    return fail("temperature must be >= 0, got " +
                llvm::formatv("{0}", llvm::format("%g", options.temperature)));
  if (!(options.topP > 0 && options.topP <= 1))
    return fail("top-p must be in (0, 1], got " +
                llvm::formatv("{0}", llvm::format("%g", options.topP)));
  return Sampler(options);
}

int64_t Sampler::next(llvm::ArrayRef<float> logits) {
  const auto *maxIt = std::max_element(logits.begin(), logits.end());
  if (options.temperature == 0)
    return maxIt - logits.begin();
  // Softmax at the temperature, most likely first (ties by id, so the
  // order is total), then the smallest prefix reaching top-p of the mass.
  std::vector<std::pair<double, int64_t>> probs(logits.size());
  double sum = 0;
  for (auto [i, logit] : llvm::enumerate(logits)) {
    double p = std::exp((double(logit) - *maxIt) / options.temperature);
    probs[i] = {p, int64_t(i)};
    sum += p;
  }
  std::sort(probs.begin(), probs.end(), [](const auto &a, const auto &b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  double mass = 0;
  size_t keep = 0;
  while (keep < probs.size() && mass < options.topP * sum)
    mass += probs[keep++].first;
  double r = std::uniform_real_distribution<double>(0, mass)(rng);
  for (size_t i = 0; i < keep; ++i) {
    r -= probs[i].first;
    if (r <= 0)
      return probs[i].second;
  }
  return probs[keep - 1].second;
}

llvm::Expected<Generation> mlir::hfq::generate(LoadedModel &model,
                                               llvm::ArrayRef<int64_t> prompt,
                                               int64_t maxTokens,
                                               Sampler &sampler,
                                               llvm::ArrayRef<int64_t> eosIds) {
  if (prompt.empty())
    return fail("the prompt encodes to no tokens");
  const int64_t vocab = model.config().vocabSize;
  Generation g;
  auto start = std::chrono::steady_clock::now();
  auto logits = model.prefill(prompt);
  if (!logits)
    return logits.takeError();
  g.prefillSeconds = secondsSince(start);
  start = std::chrono::steady_clock::now();
  int64_t next = sampler.next(
      llvm::ArrayRef(*logits).slice((prompt.size() - 1) * vocab, vocab));
  while (int64_t(g.tokens.size()) < maxTokens &&
         !llvm::is_contained(eosIds, next)) {
    g.tokens.push_back(next);
    if (int64_t(g.tokens.size()) == maxTokens ||
        model.position() >= model.maxContext())
      break;
    auto step = model.decode(next);
    if (!step)
      return step.takeError();
    ++g.decodeSteps;
    next = sampler.next(*step);
  }
  g.decodeSeconds = secondsSince(start);
  return g;
}

llvm::Error mlir::hfq::writeLogits(llvm::StringRef path,
                                   llvm::ArrayRef<int64_t> ids,
                                   llvm::ArrayRef<float> logits,
                                   int64_t vocab) {
  const int64_t t = ids.size();
  if (int64_t(logits.size()) != t * vocab)
    return fail(llvm::formatv("{0} logits for {1} tokens of a {2}-token "
                              "vocabulary",
                              logits.size(), t, vocab));
  std::vector<uint8_t> idBytes(ids.size() * sizeof(int64_t)),
      logitBytes(logits.size() * sizeof(float));
  std::memcpy(idBytes.data(), ids.data(), idBytes.size());
  std::memcpy(logitBytes.data(), logits.data(), logitBytes.size());
  return io::writeSafetensors(
      path, {{"ids", io::DType::I64, {t}, std::move(idBytes)},
             {"logits", io::DType::F32, {t, vocab}, std::move(logitBytes)}});
}

//===- Run.cpp - hfq generate and logits -----------------------*- C++ -*-===//
//
// The subcommands that run a model on a prompt: generate text (the token
// loop and sampler are hfq/Execution/Generate.h), or write one forward
// pass's logits for comparison with other tools.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "hfq/Execution/Generate.h"
#include "hfq/Execution/Model.h"

#include "llvm/Support/FormatVariadic.h"

#include <chrono>

using namespace llvm;
using namespace mlir::hfq;

namespace {
cl::OptionCategory &cat = driver::category();
const char *const checkpointHelp =
    "for an .mlir MODEL: the checkpoint directory bound to its parameter "
    "scope 'model' (weights, config.json, tokenizer)";

cl::SubCommand generateCmd("generate", "Generate text with a model");
cl::opt<std::string> genModel(cl::Positional, cl::Required,
                              cl::desc("<model dir or .mlir>"),
                              cl::sub(generateCmd), cl::cat(cat));
cl::opt<std::string> genCheckpoint("checkpoint", cl::desc(checkpointHelp),
                                   cl::value_desc("dir"), cl::sub(generateCmd),
                                   cl::cat(cat));
cl::opt<int64_t> genMaxContext("max-context",
                               cl::desc("KV cache length (default: "
                                        "max_position_embeddings)"),
                               cl::init(0), cl::sub(generateCmd), cl::cat(cat));
cl::opt<std::string> genPrompt("prompt", cl::desc("prompt text"), cl::init(""),
                               cl::sub(generateCmd), cl::cat(cat));
cl::opt<int64_t> genMaxTokens("max-tokens",
                              cl::desc("tokens to generate at most"),
                              cl::init(64), cl::sub(generateCmd), cl::cat(cat));
cl::opt<double> genTemperature("temperature",
                               cl::desc("sampling temperature; 0 is greedy"),
                               cl::init(0.0), cl::sub(generateCmd),
                               cl::cat(cat));
cl::opt<double> genTopP("top-p", cl::desc("nucleus sampling mass"),
                        cl::init(1.0), cl::sub(generateCmd), cl::cat(cat));
cl::opt<uint64_t> genSeed("seed", cl::desc("sampling seed"), cl::init(0),
                          cl::sub(generateCmd), cl::cat(cat));

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

Error runGenerate() {
  auto sampler = Sampler::create({genTemperature, genTopP, genSeed});
  if (!sampler)
    return sampler.takeError();
  auto loadStart = std::chrono::steady_clock::now();
  ModelOptions options;
  options.referenceLowering = driver::referenceLowering();
  options.maxContext = genMaxContext;
  options.checkpointDir = genCheckpoint;
  auto model = LoadedModel::load(genModel, options);
  if (!model)
    return model.takeError();
  double loadSecs = secondsSince(loadStart);
  const io::Tokenizer &tok = (*model)->tokenizer();
  auto prompt = tok.encode(genPrompt);
  if (!prompt)
    return prompt.takeError();
  std::vector<int64_t> eos = (*model)->config().eosTokenIds;
  if (tok.eosId())
    eos.push_back(*tok.eosId());
  auto g = generate(**model, *prompt, genMaxTokens, *sampler, eos);
  if (!g)
    return g.takeError();
  std::vector<int64_t> all = *prompt;
  all.insert(all.end(), g->tokens.begin(), g->tokens.end());
  auto text = tok.decode(all);
  if (!text)
    return text.takeError();
  outs() << *text << "\n";
  if (!driver::quiet())
    errs() << formatv("hfq generate: load+compile {0:F2} s ({5} weight bytes "
                      "copied, the rest used where mapped); prefill {1} "
                      "tokens {2:F1} tok/s; decode {3} tokens {4:F1} tok/s\n",
                      loadSecs, prompt->size(),
                      prompt->size() / g->prefillSeconds, g->decodeSteps,
                      g->decodeSteps ? g->decodeSteps / g->decodeSeconds : 0.0,
                      (*model)->copiedWeightBytes());
  return Error::success();
}
driver::Subcommand generateEntry(generateCmd, runGenerate);

cl::SubCommand logitsCmd("logits",
                         "Write the logits of a text (one forward pass) "
                         "to a safetensors file");
cl::opt<std::string> logitsModel(cl::Positional, cl::Required,
                                 cl::desc("<model dir or .mlir>"),
                                 cl::sub(logitsCmd), cl::cat(cat));
cl::opt<std::string> logitsCheckpoint("checkpoint", cl::desc(checkpointHelp),
                                      cl::value_desc("dir"), cl::sub(logitsCmd),
                                      cl::cat(cat));
cl::opt<std::string> logitsText("text", cl::Required,
                                cl::desc("text (encoded with BOS)"),
                                cl::sub(logitsCmd), cl::cat(cat));
cl::opt<std::string> logitsOutput("o", cl::Required,
                                  cl::desc("output .safetensors: ids I64 "
                                           "[T], logits F32 [T, vocab]"),
                                  cl::value_desc("file"), cl::sub(logitsCmd),
                                  cl::cat(cat));

Error runLogits() {
  ModelOptions options;
  options.referenceLowering = driver::referenceLowering();
  options.checkpointDir = logitsCheckpoint;
  auto model = LoadedModel::load(logitsModel, options);
  if (!model)
    return model.takeError();
  auto ids = (*model)->tokenizer().encode(logitsText);
  if (!ids)
    return ids.takeError();
  auto logits = (*model)->prefill(*ids);
  if (!logits)
    return logits.takeError();
  return writeLogits(logitsOutput, *ids, *logits, (*model)->config().vocabSize);
}
driver::Subcommand logitsEntry(logitsCmd, runLogits);
} // namespace

//===- Evaluate.cpp - `hfq perplexity` and `hfq kl` ------------*- C++ -*-===//
//
// The evaluation protocol, shared by both commands so their numbers compare
// across tools: every non-empty line of the text is one document, encoded
// with BOS; a document of n tokens has n-1 predicted tokens, cut into
// consecutive non-overlapping windows of at most `max_position_embeddings`
// predictions, each window run from an empty cache. All sums are in double.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "hfq/Execution/Model.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <chrono>
#include <cmath>

using namespace mlir;
using namespace mlir::hfq;
using llvm::formatv;

namespace {

ModelOptions modelOptions(llvm::StringRef checkpointDir) {
  ModelOptions options;
  options.referenceLowering = driver::referenceLowering();
  options.checkpointDir = checkpointDir.str();
  return options;
}

/// One window: the input tokens and the targets they predict.
struct Window {
  std::vector<int64_t> inputs, targets;
};

llvm::Expected<std::vector<std::vector<Window>>>
makeWindows(const LoadedModel &model, llvm::StringRef textPath,
            int64_t maxDocs) {
  auto buffer = llvm::MemoryBuffer::getFile(textPath);
  if (!buffer)
    return fail(textPath + ": cannot open: " + buffer.getError().message());
  llvm::SmallVector<llvm::StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
  const int64_t C = model.config().maxPositionEmbeddings;
  std::vector<std::vector<Window>> docs;
  if (maxDocs > 0 && int64_t(lines.size()) > maxDocs)
    lines.resize(maxDocs);
  for (llvm::StringRef line : lines) {
    auto ids = model.tokenizer().encode(line);
    if (!ids)
      return fail(textPath + ": " + llvm::toString(ids.takeError()));
    std::vector<Window> windows;
    const int64_t n = ids->size();
    for (int64_t start = 0; start + 1 < n; start += C) {
      int64_t predictions = std::min(C, n - 1 - start);
      Window w;
      w.inputs.assign(ids->begin() + start,
                      ids->begin() + start + predictions);
      w.targets.assign(ids->begin() + start + 1,
                       ids->begin() + start + 1 + predictions);
      windows.push_back(std::move(w));
    }
    if (!windows.empty())
      docs.push_back(std::move(windows));
  }
  if (docs.empty())
    return fail(textPath + ": no document with at least two tokens");
  return docs;
}

/// log(sum(exp(row))) computed stably.
double logSumExp(const float *row, int64_t n) {
  double m = *std::max_element(row, row + n), s = 0;
  for (int64_t i = 0; i < n; ++i)
    s += std::exp(double(row[i]) - m);
  return m + std::log(s);
}

/// Progress on stderr at most once a second: documents, tokens, rate, ETA.
class Progress {
public:
  Progress(bool quiet, size_t total) : quiet(quiet), total(total) {}
  void update(size_t done, int64_t tokens, bool last = false) {
    if (quiet)
      return;
    auto now = std::chrono::steady_clock::now();
    double secs = std::chrono::duration<double>(now - start).count();
    if (!last && std::chrono::duration<double>(now - lastPrint).count() < 1)
      return;
    lastPrint = now;
    double rate = tokens / std::max(secs, 1e-9);
    double eta = done ? secs * double(total - done) / double(done) : 0;
    llvm::errs() << formatv("[{0}/{1} documents] {2} tokens, {3:F1} tok/s, "
                            "ETA {4:F0} s\n",
                            done, total, tokens, rate, eta);
  }

private:
  bool quiet;
  size_t total;
  std::chrono::steady_clock::time_point start =
      std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point lastPrint = start;
};

llvm::Error runPerplexity(llvm::StringRef modelPath,
                          llvm::StringRef checkpointDir,
                          llvm::StringRef textPath, int64_t maxDocs, bool quiet,
                          llvm::raw_ostream &os) {
  auto model = LoadedModel::load(modelPath, modelOptions(checkpointDir));
  if (!model)
    return model.takeError();
  auto docs = makeWindows(**model, textPath, maxDocs);
  if (!docs)
    return docs.takeError();
  const int64_t vocab = (*model)->config().vocabSize;
  double nll = 0;
  int64_t predicted = 0;
  Progress progress(quiet, docs->size());
  for (size_t d = 0; d < docs->size(); ++d) {
    for (const Window &w : (*docs)[d]) {
      auto logits = (*model)->prefill(w.inputs);
      if (!logits)
        return logits.takeError();
      for (size_t r = 0; r < w.targets.size(); ++r) {
        const float *row = logits->data() + r * vocab;
        nll += logSumExp(row, vocab) - double(row[w.targets[r]]);
      }
      predicted += w.targets.size();
    }
    progress.update(d + 1, predicted, d + 1 == docs->size());
  }
  os << formatv("perplexity: {0:F4} ({1} tokens)\n",
                std::exp(nll / double(predicted)), predicted);
  return llvm::Error::success();
}

llvm::Error runKL(llvm::StringRef modelPath, llvm::StringRef checkpointDir,
                  llvm::StringRef referencePath, llvm::StringRef textPath,
                  int64_t maxDocs, bool quiet, llvm::raw_ostream &os) {
  auto model = LoadedModel::load(modelPath, modelOptions(checkpointDir));
  if (!model)
    return model.takeError();
  auto reference =
      LoadedModel::load(referencePath, modelOptions(checkpointDir));
  if (!reference)
    return reference.takeError();
  const int64_t vocab = (*model)->config().vocabSize;
  if ((*reference)->config().vocabSize != vocab)
    return fail(formatv("the models' vocabularies differ ({0} vs {1} tokens)",
                        vocab, (*reference)->config().vocabSize));
  if ((*reference)->config().maxPositionEmbeddings !=
      (*model)->config().maxPositionEmbeddings)
    return fail("the models' context lengths differ, so their windows would");
  auto docs = makeWindows(**model, textPath, maxDocs);
  if (!docs)
    return docs.takeError();
  double kl = 0, nll = 0, referenceNll = 0;
  int64_t positions = 0, agree = 0;
  Progress progress(quiet, docs->size());
  for (size_t d = 0; d < docs->size(); ++d) {
    for (const Window &w : (*docs)[d]) {
      auto q = (*model)->prefill(w.inputs);
      if (!q)
        return q.takeError();
      auto p = (*reference)->prefill(w.inputs);
      if (!p)
        return p.takeError();
      for (size_t r = 0; r < w.inputs.size(); ++r) {
        const float *pr = p->data() + r * vocab, *qr = q->data() + r * vocab;
        double lp = logSumExp(pr, vocab), lq = logSumExp(qr, vocab), sum = 0;
        for (int64_t i = 0; i < vocab; ++i) {
          double logP = pr[i] - lp, logQ = qr[i] - lq;
          sum += std::exp(logP) * (logP - logQ);
        }
        kl += sum;
        nll += lq - qr[w.targets[r]];
        referenceNll += lp - pr[w.targets[r]];
        agree += (std::max_element(pr, pr + vocab) - pr) ==
                 (std::max_element(qr, qr + vocab) - qr);
      }
      positions += w.inputs.size();
    }
    progress.update(d + 1, positions, d + 1 == docs->size());
  }
  os << formatv("kl: {0:F6} top1: {1:F2}% ({2} positions)\n",
                kl / double(positions), 100.0 * agree / double(positions),
                positions);
  os << formatv("perplexity: {0:F4} (reference {1:F4})\n",
                std::exp(nll / double(positions)),
                std::exp(referenceNll / double(positions)));
  return llvm::Error::success();
}

llvm::cl::OptionCategory &cat = driver::category();
using llvm::cl::desc, llvm::cl::sub;

llvm::cl::SubCommand perplexityCmd("perplexity",
                                   "Perplexity of a model on a text, one "
                                   "document per line");
llvm::cl::SubCommand klCmd("kl", "KL divergence and top-1 agreement against "
                                 "a reference model");
llvm::cl::opt<std::string> evalModel(llvm::cl::Positional, llvm::cl::Required,
                                     desc("<model dir or .mlir>"),
                                     sub(perplexityCmd), sub(klCmd),
                                     llvm::cl::cat(cat));
llvm::cl::opt<std::string> evalText("text", llvm::cl::Required,
                                    desc("text file, one document per line"),
                                    sub(perplexityCmd), sub(klCmd),
                                    llvm::cl::cat(cat));
llvm::cl::opt<int64_t> evalDocs("docs",
                                desc("evaluate only the first N documents "
                                     "(0: all)"),
                                llvm::cl::init(0), sub(perplexityCmd),
                                sub(klCmd), llvm::cl::cat(cat));
llvm::cl::opt<std::string> evalCheckpoint(
    "checkpoint",
    desc("for an .mlir MODEL (and --reference): the checkpoint directory "
         "bound to its parameter scope 'model' (weights, config.json, "
         "tokenizer)"),
    llvm::cl::value_desc("dir"), sub(perplexityCmd), sub(klCmd),
    llvm::cl::cat(cat));
llvm::cl::opt<std::string> klReference("reference", llvm::cl::Required,
                                       desc("reference model dir or .mlir"),
                                       sub(klCmd), llvm::cl::cat(cat));

driver::Subcommand perplexity(perplexityCmd, [] {
  return runPerplexity(evalModel, evalCheckpoint, evalText, evalDocs,
                       driver::quiet(), llvm::outs());
});
driver::Subcommand kl(klCmd, [] {
  return runKL(evalModel, evalCheckpoint, klReference, evalText, evalDocs,
               driver::quiet(), llvm::outs());
});

} // namespace

//===- Sequential.cpp - Hessian-based rewrites, from a file or in order ---===//

#include "Sequential.h"
#include "hfq/Numerics/Decoder.h" // relativeRMSError

#include "hfq/Numerics/GPTQ.h"
#include "hfq/Transforms/LayerRunner.h"

#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <cmath>
#include <map>

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;
namespace nx = mlir::hfq::numerics;

namespace {

/// How closely layer 0's float Hessians must match the statistics file's:
/// the same compiled model and the same float64 sums, so they agree
/// exactly; the tolerance only separates that from another model's file.
constexpr double kStatisticsTolerance = 1e-4;

/// The sequential rewrite of the selected linears; returns them by name.
llvm::Expected<llvm::StringMap<Quantized>>
rewriteSequentially(ModuleOp module, const LinearSelection &selection,
                    llvm::StringRef method, bool report,
                    const HessianSource &source, HessianRewriteFn rewrite) {
  const io::Statistics &stats = *source.stats;
  auto runner = createLayerRunner(
      module,
      method.str() + " sequential=" + stringify(source.sequential).str());
  if (!runner)
    return runner.takeError();
  LayerRunner &run = **runner;
  auto seqLens = stats.sequenceLengths();
  if (!seqLens)
    return seqLens.takeError();
  int64_t n = 0;
  for (int64_t len : *seqLens)
    n += len;
  auto ids = stats.tokenIds(n);
  if (!ids)
    return ids.takeError();
  auto h = run.embed(*ids);
  if (!h)
    return llvm::createStringError(stats.path() + ": calibration tokens: " +
                                   llvm::toString(h.takeError()) +
                                   " (statistics of another model?)");

  // The Hessians of the groups `wanted`, from one run of `layer` (the head
  // when -1) on a copy of h.
  auto hessians = [&](int64_t layer, llvm::ArrayRef<int64_t> wanted)
      -> llvm::Expected<std::map<int64_t, nx::HessianAccumulator>> {
    std::map<int64_t, nx::HessianAccumulator> acc;
    CalibrationRecorder record = [&](int64_t g, const float *x, int64_t rows,
                                     int64_t cols, int64_t stride) {
      if (llvm::is_contained(wanted, g))
        acc.try_emplace(g, cols).first->second.add(x, rows, stride);
    };
    std::vector<float> copy = *h;
    llvm::Error e = layer < 0 ? run.head(copy, *seqLens, record)
                              : run.layer(layer, copy, *seqLens, record);
    if (e)
      return std::move(e);
    for (int64_t g : wanted)
      if (!acc.count(g) || acc.at(g).rows() != n)
        return llvm::createStringError(
            "internal error: the layer function did not record the input of " +
            run.groupLinears(g).front() + " for every token");
    return acc;
  };
  auto selectedIn = [&](int64_t g) {
    return llvm::any_of(run.groupLinears(g), [&](const std::string &name) {
      return selection.selected(name);
    });
  };

  llvm::StringMap<Quantized> out;
  // Rewrites the selected linears of group g with its Hessian (`known`,
  // or from a run of the layer now), and makes them compute with their new
  // weights.
  auto rewriteGroup = [&](int64_t layer, int64_t g,
                          std::vector<double> known = {}) -> llvm::Error {
    if (!selectedIn(g))
      return llvm::Error::success();
    std::vector<double> H = std::move(known);
    if (H.empty()) {
      auto acc = hessians(layer, {g});
      if (!acc)
        return acc.takeError();
      H = acc->at(g).hessian();
    }
    const int64_t cols = std::lround(std::sqrt(double(H.size())));
    for (const std::string &name : run.groupLinears(g)) {
      if (!selection.selected(name))
        continue;
      auto w = run.weight(name);
      if (!w)
        return w.takeError();
      auto q = rewrite(name, *w, w->size() / cols, cols, H);
      if (!q)
        return q.takeError();
      llvm::copy(q->dequantized, w->begin());
      out[name] = std::move(*q);
    }
    return llvm::Error::success();
  };

  // Layers up to the last one with a selected linear (all of them when the
  // output head is selected).
  const bool headSelected = llvm::any_of(run.headGroups(), selectedIn);
  int64_t layers = headSelected ? run.numLayers() : 0;
  for (int64_t l = 0; l < run.numLayers(); ++l)
    if (llvm::any_of(run.layerGroups(l), selectedIn))
      layers = std::max(layers, l + 1);
  for (int64_t layer = 0; layer < layers; ++layer) {
    auto start = std::chrono::steady_clock::now();
    llvm::ArrayRef<int64_t> groups = run.layerGroups(layer);
    std::string log;
    // Layer 0 sees the float model's inputs: its float Hessians must be the
    // file's (else the statistics are of another model or tokens). The same
    // run gives the Hessians that nothing rewritten yet affects: the first
    // group's, or with Sequential::layers all of them.
    std::map<int64_t, nx::HessianAccumulator> layer0;
    if (layer == 0 && !groups.empty()) {
      auto acc = hessians(0, groups);
      if (!acc)
        return acc.takeError();
      for (int64_t g : groups) {
        const std::string &name = run.groupLinears(g).front();
        std::vector<double> mine = acc->at(g).hessian();
        const int64_t cols = std::lround(std::sqrt(double(mine.size())));
        auto recorded = stats.hessian(name, cols);
        if (!recorded)
          return recorded.takeError();
        double diff = nx::relativeRMSError(mine, *recorded);
        if (!(diff < kStatisticsTolerance))
          return llvm::createStringError(llvm::formatv(
              "{0}: the float model does not reproduce the statistics' "
              "Hessian (relative difference {1:E2}, tolerance {2:E0}); "
              "statistics from another model or calibration",
              name, diff, kStatisticsTolerance));
        log += llvm::formatv(" {0:E1}", diff).str();
      }
      layer0 = std::move(*acc);
    }
    if (source.sequential == Sequential::layers) {
      // One run of the layer, none of it rewritten yet, gives every group's
      // Hessian (on layer 0 the check's run above did).
      std::map<int64_t, nx::HessianAccumulator> acc = std::move(layer0);
      llvm::SmallVector<int64_t> wanted(
          llvm::make_filter_range(groups, selectedIn));
      if (layer > 0 && !wanted.empty()) {
        auto all = hessians(layer, wanted);
        if (!all)
          return all.takeError();
        acc = std::move(*all);
      }
      for (int64_t g : groups)
        if (auto it = acc.find(g); it != acc.end())
          if (llvm::Error e = rewriteGroup(layer, g, it->second.hessian()))
            return e;
    } else {
      for (auto [i, g] : llvm::enumerate(groups))
        if (llvm::Error e =
                rewriteGroup(layer, g,
                             i == 0 && layer == 0 ? layer0.at(g).hessian()
                                                  : std::vector<double>()))
          return e;
    }
    if (llvm::Error e = run.layer(layer, *h, *seqLens, nullptr))
      return e;
    if (report)
      llvm::errs() << llvm::formatv(
          "{0} sequential={1} model.layers.{2}: {3} tokens{4}; {5:F1} s\n",
          method, stringify(source.sequential), layer, n,
          log.empty() ? "" : "; float Hessians vs the file's:" + log,
          std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                        start)
              .count());
  }
  // The output head (tied or not, its weight is @lm_head.weight).
  if (headSelected)
    for (int64_t g : run.headGroups())
      if (llvm::Error e = rewriteGroup(-1, g))
        return e;
  return out;
}

} // namespace

LogicalResult mlir::hfq::detail::rewriteWithHessians(
    ModuleOp module, const LinearSelection &selection, llvm::StringRef method,
    bool report, const HessianSource &source, HessianRewriteFn rewrite,
    llvm::StringRef verb) {
  llvm::StringMap<Quantized> sequential;
  const bool layerByLayer = source.sequential != Sequential::none;
  if (layerByLayer) {
    auto done =
        rewriteSequentially(module, selection, method, report, source, rewrite);
    if (!done) {
      module.emitError() << llvm::toString(done.takeError());
      return failure();
    }
    sequential = std::move(*done);
  }
  return rewriteLinearWeights(
      module, selection, method, report,
      [&](LinearOp op, llvm::ArrayRef<float> w, int64_t rows,
          int64_t cols) -> llvm::Expected<Quantized> {
        const std::string name = getLinearName(op);
        if (layerByLayer) {
          auto it = sequential.find(name);
          if (it == sequential.end())
            return llvm::createStringError(
                method + " sequential=" + stringify(source.sequential).str() +
                " covers the decoder layers' linears and the output head; "
                "exclude " +
                name);
          return std::move(it->second);
        }
        auto h = source.stats->hessian(name, cols);
        if (!h)
          return h.takeError();
        return rewrite(name, w, rows, cols, *h);
      },
      verb);
}

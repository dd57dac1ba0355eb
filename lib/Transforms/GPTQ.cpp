//===- GPTQ.cpp - the hfq-gptq pass -----------------------------*- C++ -*-===//
//
// Reads each selected linear's Hessian from the calibration statistics (or,
// true-sequential, computes it from the calibration tokens run through the
// already quantized layers) and runs numerics::quantizeGPTQ; the parts
// replace the float weight through the shared LinearWeights machinery.
//
//===----------------------------------------------------------------------===//

#include "DecoderLayers.h"

#include "hfq/Transforms/LayerRunner.h"

#include "hfq/Numerics/GPTQ.h"
#include "hfq/Transforms/Passes.h"

#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <map>
#include <tuple>

namespace mlir::hfq {
#define GEN_PASS_DEF_GPTQ
#include "hfq/Transforms/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;
namespace nx = mlir::hfq::numerics;

namespace {

/// How closely layer 0's float Hessians must match the statistics file's
/// (the same compiled model; float32 sums in another order agree to ~1e-7).
constexpr double kStatisticsTolerance = 1e-4;

struct GPTQPass : mlir::hfq::impl::GPTQBase<GPTQPass> {
  using GPTQBase::GPTQBase;

  using QuantizeOneFn = llvm::function_ref<llvm::Expected<Quantized>(
      const std::string &name, llvm::ArrayRef<float> w, int64_t rows,
      int64_t cols, llvm::ArrayRef<double> h)>;

  /// True-sequential GPTQ: the calibration tokens go through the module's
  /// own layer functions (a LayerRunner), one layer at a time. Within a
  /// layer, the linears reading one input (q/k/v, o, gate/up, down: the
  /// groups the IR gives) are quantized in program order with the Hessian
  /// of the inputs the already quantized linears produce, and their
  /// dequantized weights replace the float ones for everything after them;
  /// the quantized layer's outputs feed the next. Returns the quantized
  /// linears by name.
  llvm::Expected<llvm::StringMap<Quantized>>
  quantizeSequentially(ModuleOp module, const LinearSelection &selection,
                       const io::SafetensorsFile &file,
                       QuantizeOneFn quantizeOne) {
    auto runner = createLayerRunner(module, "true-sequential GPTQ");
    if (!runner)
      return runner.takeError();
    LayerRunner &run = **runner;
    auto seqLens = sequenceLengths(file, stats);
    if (!seqLens)
      return seqLens.takeError();
    int64_t n = 0;
    for (int64_t len : *seqLens)
      n += len;
    auto ids = calibrationTokens(file, stats, n);
    if (!ids)
      return ids.takeError();
    auto h = run.embed(*ids);
    if (!h)
      return llvm::createStringError(
          stats + ": calibration tokens: " + llvm::toString(h.takeError()) +
          " (statistics of another model?)");

    // The Hessians of the groups `wanted`, from one run of `layer` (the
    // head when -1) on a copy of h.
    auto hessians = [&](int64_t layer, llvm::ArrayRef<int64_t> wanted)
        -> llvm::Expected<std::map<int64_t, nx::HessianAccumulator>> {
      std::map<int64_t, nx::HessianAccumulator> acc;
      CalibrationRecorder record = [&](int64_t g, const float *x, int64_t rows,
                                       int64_t cols, int64_t stride) {
        if (!llvm::is_contained(wanted, g))
          return;
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
              "internal error: the layer function did not record the input "
              "of " + run.groupLinears(g).front() + " for every token");
      return acc;
    };
    llvm::StringMap<Quantized> out;
    // Quantizes the selected linears of group g with its Hessian, and makes
    // them compute with their quantized weights.
    auto quantizeGroup = [&](int64_t layer, int64_t g) -> llvm::Error {
      if (llvm::none_of(run.groupLinears(g), [&](const std::string &name) {
            return selection.selected(name);
          }))
        return llvm::Error::success();
      auto acc = hessians(layer, {g});
      if (!acc)
        return acc.takeError();
      std::vector<double> H = acc->at(g).hessian();
      const int64_t cols = std::lround(std::sqrt(double(H.size())));
      for (const std::string &name : run.groupLinears(g)) {
        if (!selection.selected(name))
          continue;
        auto w = run.weight(name);
        if (!w)
          return w.takeError();
        auto q = quantizeOne(name, *w, w->size() / cols, cols, H);
        if (!q)
          return q.takeError();
        llvm::copy(q->dequantized, w->begin());
        out[name] = std::move(*q);
      }
      return llvm::Error::success();
    };

    // Layers up to the last one with a selected linear (all of them when
    // the output head is selected).
    auto anySelected = [&](llvm::ArrayRef<int64_t> groups) {
      return llvm::any_of(groups, [&](int64_t g) {
        return llvm::any_of(run.groupLinears(g), [&](const std::string &name) {
          return selection.selected(name);
        });
      });
    };
    const bool headSelected = anySelected(run.headGroups());
    int64_t layers = headSelected ? run.numLayers() : 0;
    for (int64_t l = 0; l < run.numLayers(); ++l)
      if (anySelected(run.layerGroups(l)))
        layers = std::max(layers, l + 1);
    for (int64_t layer = 0; layer < layers; ++layer) {
      auto start = std::chrono::steady_clock::now();
      llvm::ArrayRef<int64_t> groups = run.layerGroups(layer);
      std::string log;
      // Layer 0 sees the float model's inputs: its float Hessians must be
      // the file's (else the statistics are of another model or tokens).
      if (layer == 0) {
        auto acc = hessians(0, groups);
        if (!acc)
          return acc.takeError();
        for (int64_t g : groups) {
          const std::string &name = run.groupLinears(g).front();
          std::vector<double> mine = acc->at(g).hessian();
          const int64_t cols = std::lround(std::sqrt(double(mine.size())));
          auto recorded = hessianOf(file, stats, name, cols);
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
      }
      for (int64_t g : groups)
        if (llvm::Error e = quantizeGroup(layer, g))
          return e;
      if (llvm::Error e = run.layer(layer, *h, *seqLens, nullptr))
        return e;
      if (report)
        llvm::errs() << llvm::formatv(
            "gptq true-sequential model.layers.{0}: {1} tokens{2}; {3:F1} s\n",
            layer, n,
            log.empty() ? "" : "; float Hessians vs the file's:" + log,
            std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                          start)
                .count());
    }
    // The output head (tied or not, its weight is @lm_head.weight).
    if (headSelected)
      for (int64_t g : run.headGroups())
        if (llvm::Error e = quantizeGroup(-1, g))
          return e;
    return out;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (stats.empty()) {
      module.emitError() << "hfq-gptq needs stats=<file> (from hfq calibrate)";
      return signalPassFailure();
    }
    if (bits < 2 || bits > 8) {
      module.emitError() << "bits = " << unsigned(bits) << " is outside 2..8";
      return signalPassFailure();
    }
    if (groupSize < 0 || blockSize <= 0 || !(damp > 0)) {
      module.emitError() << "group-size must be >= 0, block-size and damp > 0";
      return signalPassFailure();
    }
    LinearSelection selection;
    if (failed(selection.init(module, include, exclude)))
      return signalPassFailure();
    auto file = io::SafetensorsFile::open(stats);
    if (!file) {
      module.emitError() << llvm::toString(file.takeError());
      return signalPassFailure();
    }

    nx::GPTQOptions options;
    options.scheme.bits = bits;
    options.scheme.granularity = groupSize ? nx::AffineScheme::Granularity::Group
                                           : nx::AffineScheme::Granularity::Channel;
    options.scheme.groupSize = groupSize;
    options.scheme.symmetric = symmetric;
    options.scheme.clip.enabled = mseClip;
    options.scheme.scaleType = scaleType;
    options.percDamp = damp;
    options.blockSize = blockSize;
    options.actOrder = actOrder;
    options.staticGroups = staticGroups;
    const bool withGIdx = actOrder && groupSize && !staticGroups;
    auto enc = AffineEncodingAttr::get(
        &getContext(), bits,
        groupSize ? Granularity::group : Granularity::channel, 1,
        int64_t(groupSize),
        symmetric ? ZeroPoint::symmetric : ZeroPoint::integer, withGIdx, 8,
        PackOrder::lsb_first, scaleStorageAttrType(&getContext(), scaleType),
        packZeros && !symmetric);

    // One linear: GPTQ with Hessian h; the dequantized weight is what the
    // true-sequential forward runs on.
    auto quantizeOne = [&](const std::string &name, llvm::ArrayRef<float> w,
                           int64_t rows, int64_t cols,
                           llvm::ArrayRef<double> h) -> llvm::Expected<Quantized> {
      auto r = nx::quantizeGPTQ(w, rows, cols, h, options);
      if (!r)
        return r.takeError();
      if (report && (r->percDamp != damp || r->deadColumns))
        llvm::errs() << llvm::formatv(
            "  {0}: dampening {1} x mean(diag H), {2} dead inputs\n", name,
            r->percDamp, r->deadColumns);
      return affineParts(enc, r->q, options.scheme, false, r->gIdx,
                         nx::dequantizeGPTQ(*r, options.scheme));
    };

    llvm::StringMap<Quantized> sequential;
    if (trueSequential) {
      auto done = quantizeSequentially(module, selection, **file, quantizeOne);
      if (!done) {
        module.emitError() << llvm::toString(done.takeError());
        return signalPassFailure();
      }
      sequential = std::move(*done);
    }

    if (failed(rewriteLinearWeights(
            module, selection, "gptq", report,
            [&](LinearOp op, llvm::ArrayRef<float> w, int64_t rows,
                int64_t cols) -> llvm::Expected<Quantized> {
              const std::string name = getLinearName(op);
              if (trueSequential) {
                auto it = sequential.find(name);
                if (it == sequential.end())
                  return llvm::createStringError(
                      "true-sequential GPTQ covers the decoder layers' "
                      "linears and the output head; exclude " + name);
                return std::move(it->second);
              }
              auto h = hessianOf(**file, stats, name, cols);
              if (!h)
                return h.takeError();
              return quantizeOne(name, w, rows, cols, *h);
            })))
      return signalPassFailure();

    OpBuilder b(&getContext());
    module->setAttr(
        "hfq.quantization",
        b.getDictionaryAttr(
            {b.getNamedAttr("method", b.getStringAttr("gptq")),
             b.getNamedAttr("bits", b.getI64IntegerAttr(bits)),
             b.getNamedAttr("group_size", b.getI64IntegerAttr(groupSize)),
             b.getNamedAttr("sym", b.getBoolAttr(symmetric)),
             b.getNamedAttr("desc_act", b.getBoolAttr(actOrder)),
             b.getNamedAttr("static_groups", b.getBoolAttr(staticGroups)),
             b.getNamedAttr("damp_percent", b.getF64FloatAttr(damp)),
             b.getNamedAttr("block_size", b.getI64IntegerAttr(blockSize)),
             b.getNamedAttr("mse_clip", b.getBoolAttr(mseClip)),
             b.getNamedAttr("true_sequential", b.getBoolAttr(trueSequential))}));
  }
};

} // namespace

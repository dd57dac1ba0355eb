//===- GPTQ.cpp - the hfq-gptq pass -----------------------------*- C++ -*-===//
//
// Reads each selected linear's Hessian from the calibration statistics (or,
// true-sequential, computes it from the calibration tokens run through the
// already quantized layers) and runs numerics::quantizeGPTQ; the parts
// replace the float weight through the shared LinearWeights machinery.
//
//===----------------------------------------------------------------------===//

#include "DecoderLayers.h"

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

struct GPTQPass : mlir::hfq::impl::GPTQBase<GPTQPass> {
  using GPTQBase::GPTQBase;

  using QuantizeOneFn = llvm::function_ref<llvm::Expected<Quantized>(
      const std::string &name, llvm::ArrayRef<float> w, int64_t rows,
      int64_t cols, llvm::ArrayRef<double> h)>;

  /// True-sequential GPTQ: the calibration tokens go through the decoder
  /// layers in C++, each selected linear is quantized with the Hessian of
  /// the inputs the already quantized linears produce, and its dequantized
  /// weight replaces the float one for everything after it. Returns the
  /// quantized linears by name.
  llvm::Expected<llvm::StringMap<Quantized>>
  quantizeSequentially(ModuleOp module, const LinearSelection &selection,
                       const io::SafetensorsFile &file,
                       QuantizeOneFn quantizeOne) {
    auto decoder = DecoderLayers::of(module, "true-sequential GPTQ");
    if (!decoder)
      return decoder.takeError();
    const io::ModelConfig &cfg = decoder->config;
    auto seqLens = sequenceLengths(file, stats);
    if (!seqLens)
      return seqLens.takeError();
    int64_t n = 0;
    for (int64_t len : *seqLens)
      n += len;
    auto ids = calibrationTokens(file, stats, n);
    if (!ids)
      return ids.takeError();
    FloatReader reader(module);
    const int64_t d = cfg.hiddenSize;
    std::vector<float> h(n * d);
    {
      auto table = decoder->tensor(reader, "model.embed_tokens.weight");
      if (!table)
        return table.takeError();
      if (int64_t(table->size()) != cfg.vocabSize * d)
        return llvm::createStringError(
            "model.embed_tokens.weight does not match the config");
      for (int64_t t = 0; t < n; ++t) {
        int64_t id = (*ids)[t];
        if (id < 0 || id >= cfg.vocabSize)
          return llvm::createStringError(llvm::formatv(
              "{0}: calibration token {1} is outside the vocabulary ({2}); "
              "statistics from another model?",
              stats, id, cfg.vocabSize));
        std::copy_n(table->begin() + id * d, d, h.begin() + t * d);
      }
    }

    llvm::StringMap<Quantized> out;
    // Quantizes the selected linears among `group` (all reading x) with
    // the Hessian of x, and makes them compute with their quantized weights.
    auto quantizeGroup =
        [&](llvm::ArrayRef<std::pair<std::string, nx::DenseLinear *>> group,
            llvm::ArrayRef<float> x) -> llvm::Error {
      if (llvm::none_of(group, [&](const auto &m) {
            return selection.selected(m.first);
          }))
        return llvm::Error::success();
      const int64_t cols = group.front().second->in;
      std::vector<double> H = nx::inputHessian(x, n, cols);
      for (auto &[name, l] : group) {
        if (!selection.selected(name))
          continue;
        auto q = quantizeOne(name, l->weight, l->out, l->in, H);
        if (!q)
          return q.takeError();
        l->weight = q->dequantized;
        out[name] = std::move(*q);
      }
      return llvm::Error::success();
    };
    // Whether the Hessian of x matches the file's for linear `name`.
    auto checkHessian = [&](const std::string &name, llvm::ArrayRef<float> x,
                            int64_t cols, std::string &log) -> llvm::Error {
      auto recorded = hessianOf(file, stats, name, cols);
      if (!recorded)
        return recorded.takeError();
      double diff =
          nx::relativeRMSError(nx::inputHessian(x, n, cols), *recorded);
      if (!(diff < kDecoderCheckTolerance))
        return llvm::createStringError(llvm::formatv(
            "{0}: the C++ decoder layer does not reproduce the model's own "
            "inputs (Hessian relative difference {1:E2}, tolerance {2:E0}); "
            "unsupported architecture variant, or statistics from another "
            "model",
            name, diff, kDecoderCheckTolerance));
      log += llvm::formatv(" {0:E1}", diff).str();
      return llvm::Error::success();
    };

    // Layers up to the last one with a selected linear (all of them when
    // the output head is selected).
    int64_t layers = 0;
    for (const auto &entry : decoder->linears) {
      if (!selection.selected(entry.getKey()))
        continue;
      int64_t index;
      llvm::StringRef rest = entry.getKey();
      if (rest.consume_front("model.layers.") &&
          !rest.consumeInteger(10, index))
        layers = std::max(layers, index + 1);
      else
        layers = cfg.numLayers;
    }
    for (int64_t layer = 0; layer < layers; ++layer) {
      auto start = std::chrono::steady_clock::now();
      const std::string p = llvm::formatv("model.layers.{0}.", layer).str();
      std::map<std::string, nx::DenseLinear> l;
      for (const char *name :
           {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
            "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",
            "mlp.down_proj"}) {
        auto loaded = decoder->linear(reader, p + name);
        if (!loaded)
          return loaded.takeError();
        l[name] = std::move(*loaded);
      }
      auto inNorm = decoder->tensor(reader, p + "input_layernorm.weight");
      auto postNorm =
          decoder->tensor(reader, p + "post_attention_layernorm.weight");
      if (!inNorm || !postNorm)
        return llvm::joinErrors(inNorm.takeError(), postNorm.takeError());
      auto entry = [&](const char *name) {
        return std::pair(p + name, &l[name]);
      };
      std::string log;
      // Layer 0 sees the float model's inputs: its float forward must give
      // the file's Hessians (the C++ layer computes what the model does).
      if (layer == 0) {
        std::vector<float> x = h;
        nx::rmsNorm(x, n, *inNorm, cfg.rmsNormEps);
        std::vector<float> context = nx::attentionContext(
            decoder->attention, l["self_attn.q_proj"], l["self_attn.k_proj"],
            l["self_attn.v_proj"], x, *seqLens);
        std::vector<float> y =
            nx::linearForward(l["self_attn.o_proj"], context, n);
        for (int64_t i = 0; i < n * d; ++i)
          y[i] += h[i];
        nx::rmsNorm(y, n, *postNorm, cfg.rmsNormEps);
        std::vector<float> inter =
            nx::mlpIntermediate(l["mlp.gate_proj"], l["mlp.up_proj"], y, n);
        for (auto [name, in, cols] :
             {std::tuple(p + "self_attn.q_proj", &x, d),
              std::tuple(p + "self_attn.o_proj", &context,
                         l["self_attn.o_proj"].in),
              std::tuple(p + "mlp.gate_proj", &y, d),
              std::tuple(p + "mlp.down_proj", &inter, l["mlp.down_proj"].in)})
          if (auto e = checkHessian(name, *in, cols, log))
            return e;
      }

      std::vector<float> x = h;
      nx::rmsNorm(x, n, *inNorm, cfg.rmsNormEps);
      if (auto e = quantizeGroup({entry("self_attn.k_proj"),
                                  entry("self_attn.v_proj"),
                                  entry("self_attn.q_proj")},
                                 x))
        return e;
      std::vector<float> context = nx::attentionContext(
          decoder->attention, l["self_attn.q_proj"], l["self_attn.k_proj"],
          l["self_attn.v_proj"], x, *seqLens);
      if (auto e = quantizeGroup({entry("self_attn.o_proj")}, context))
        return e;
      std::vector<float> y = nx::linearForward(l["self_attn.o_proj"], context, n);
      for (int64_t i = 0; i < n * d; ++i)
        h[i] += y[i];

      x = h;
      nx::rmsNorm(x, n, *postNorm, cfg.rmsNormEps);
      if (auto e = quantizeGroup({entry("mlp.up_proj"), entry("mlp.gate_proj")}, x))
        return e;
      std::vector<float> inter =
          nx::mlpIntermediate(l["mlp.gate_proj"], l["mlp.up_proj"], x, n);
      if (auto e = quantizeGroup({entry("mlp.down_proj")}, inter))
        return e;
      y = nx::linearForward(l["mlp.down_proj"], inter, n);
      for (int64_t i = 0; i < n * d; ++i)
        h[i] += y[i];
      if (report)
        llvm::errs() << llvm::formatv(
            "gptq true-sequential {0}: {1} tokens{2}; {3:F1} s\n",
            p.substr(0, p.size() - 1), n,
            log.empty() ? "" : "; float Hessians vs the file's:" + log,
            std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                          start)
                .count());
    }

    // The output head (tied or not, its weight is @lm_head.weight), when
    // selected.
    if (decoder->linears.count("lm_head") && selection.selected("lm_head")) {
      auto head = decoder->linear(reader, "lm_head");
      auto norm = decoder->tensor(reader, "model.norm.weight");
      if (!head || !norm)
        return llvm::joinErrors(head.takeError(), norm.takeError());
      nx::rmsNorm(h, n, *norm, cfg.rmsNormEps);
      if (auto e = quantizeGroup({{"lm_head", &*head}}, h))
        return e;
    }
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

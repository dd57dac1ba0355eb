//===- LayerRunner.cpp - the JIT's layer runner ---------------------------===//
//
// Compiles a LayerModule once. The layer functions return fresh buffers
// (ownership-based deallocation hands results to the caller); the caches
// each sequence starts from are the runner's, and stay valid whatever the
// layer returns, because attention reads only the entries it has written.
//
//===----------------------------------------------------------------------===//

#include "Runtime.h"

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;

namespace {
using Rows = StridedMemRefType<float, 2>;
using LayerCache = StridedMemRefType<float, 3>;
using Tokens = StridedMemRefType<int64_t, 1>;
struct LayerResult {
  Rows h;
  LayerCache k, v;
};
using EmbedFn = void(Rows *, Tokens *);
using LayerFn = void(LayerResult *, Rows *, int64_t, LayerCache *,
                     LayerCache *);
using HeadFn = void(Rows *, Rows *);

/// Frees a returned buffer unless it is `ours`.
void release(void *returned, const void *ours) {
  if (returned != ours)
    std::free(returned);
}

/// Copies the [rows, cols] result `r` into `out` (row-major).
void copyRows(const Rows &r, float *out) {
  for (int64_t i = 0; i < r.sizes[0]; ++i)
    for (int64_t j = 0; j < r.sizes[1]; ++j)
      out[i * r.sizes[1] + j] =
          r.data[r.offset + i * r.strides[0] + j * r.strides[1]];
}

class JITLayerRunner final : public LayerRunner {
public:
  static llvm::Expected<std::unique_ptr<LayerRunner>>
  create(ModuleOp module, const JITOptions &base);

  int64_t numLayers() const override { return layers.numLayers; }
  llvm::ArrayRef<std::string> groupLinears(int64_t g) const override {
    return layers.groups[g];
  }
  llvm::ArrayRef<int64_t> layerGroups(int64_t layer) const override {
    return layers.layerGroups[layer];
  }
  llvm::ArrayRef<int64_t> headGroups() const override {
    return layers.headGroups;
  }

  llvm::Expected<std::vector<float>>
  embed(llvm::ArrayRef<int64_t> tokens) override {
    for (int64_t t : tokens)
      if (t < 0 || t >= vocab)
        return llvm::createStringError(llvm::formatv(
            "token id {0} is outside the vocabulary [0, {1})", t, vocab));
    std::vector<int64_t> ids(tokens.begin(), tokens.end());
    Tokens in{ids.data(), ids.data(), 0, {int64_t(ids.size())}, {1}};
    Rows r{};
    embedFn(&r, &in);
    std::vector<float> h(ids.size() * hidden);
    copyRows(r, h.data());
    std::free(r.basePtr);
    return h;
  }

  llvm::Error layer(int64_t layer, llvm::MutableArrayRef<float> h,
                    llvm::ArrayRef<int64_t> seqLens,
                    const CalibrationRecorder &recorder) override {
    if (layer < 0 || layer >= numLayers())
      return llvm::createStringError("no decoder layer " +
                                     std::to_string(layer));
    if (llvm::Error e = checkRows(h.size(), seqLens))
      return e;
    RecordingScope recording(&recorder);
    float *at = h.data();
    for (int64_t len : seqLens) {
      Rows in{at, at, 0, {len, hidden}, {hidden, 1}};
      LayerCache k = cache(kCache.get()), v = cache(vCache.get());
      LayerResult r{};
      layerFns[layer](&r, &in, 0, &k, &v);
      if (r.h.data + r.h.offset != at)
        copyRows(r.h, at);
      release(r.h.basePtr, at);
      release(r.k.basePtr, kCache.get());
      release(r.v.basePtr, vCache.get());
      at += len * hidden;
    }
    return llvm::Error::success();
  }

  llvm::Error head(llvm::ArrayRef<float> h, llvm::ArrayRef<int64_t> seqLens,
                   const CalibrationRecorder &recorder) override {
    if (llvm::Error e = checkRows(h.size(), seqLens))
      return e;
    RecordingScope recording(&recorder);
    // The code only reads its argument.
    float *at = const_cast<float *>(h.data());
    for (int64_t len : seqLens) {
      Rows in{at, at, 0, {len, hidden}, {hidden, 1}};
      Rows logits{};
      headFn(&logits, &in);
      std::free(logits.basePtr);
      at += len * hidden;
    }
    return llvm::Error::success();
  }

  llvm::Expected<llvm::MutableArrayRef<float>>
  weight(llvm::StringRef name) override {
    auto it = buffers.find((name + ".weight").str());
    if (it == buffers.end())
      return llvm::createStringError("the layer runner holds no float weight "
                                     "of linear '" +
                                     name + "'");
    return llvm::MutableArrayRef<float>(
        static_cast<float *>(it->second.data.get()), it->second.elements);
  }

private:
  llvm::Error checkRows(size_t values, llvm::ArrayRef<int64_t> seqLens) const {
    int64_t tokens = 0;
    for (int64_t len : seqLens) {
      if (len <= 0 || len > maxContext)
        return llvm::createStringError(llvm::formatv(
            "a sequence of {0} tokens does not fit the context of {1}", len,
            maxContext));
      tokens += len;
    }
    if (int64_t(values) != tokens * hidden)
      return llvm::createStringError(llvm::formatv(
          "{0} hidden values for {1} tokens of {2}", values, tokens, hidden));
    return llvm::Error::success();
  }
  LayerCache cache(void *data) const {
    float *p = static_cast<float *>(data);
    return LayerCache{p,
                      p,
                      0,
                      {kvHeads, maxContext, headDim},
                      {maxContext * headDim, headDim, 1}};
  }

  struct Buffer {
    AlignedBuffer data;
    size_t elements = 0;
  };
  LayerModule layers;
  llvm::StringMap<Buffer> buffers;
  llvm::StringMap<std::unique_ptr<io::Checkpoint>> checkpoints;
  llvm::StringMap<AlignedBuffer> copies;
  AlignedBuffer kCache, vCache;
  std::unique_ptr<ExecutionEngine> engine;
  EmbedFn *embedFn = nullptr;
  std::vector<LayerFn *> layerFns;
  HeadFn *headFn = nullptr;
  int64_t hidden = 0, vocab = 0, kvHeads = 0, maxContext = 0, headDim = 0;
};

llvm::Expected<std::unique_ptr<LayerRunner>>
JITLayerRunner::create(ModuleOp module, const JITOptions &base) {
  auto extracted = extractLayerModule(module);
  if (!extracted)
    return extracted.takeError();
  auto runner = std::make_unique<JITLayerRunner>();
  runner->layers = std::move(*extracted);
  ModuleOp m = *runner->layers.module;

  // Shapes from the signatures: layer (h [T, H], pos, k [kv, S, D], v);
  // head (h) -> [T, vocab].
  auto layer0 = m.lookupSymbol<func::FuncOp>("model.layers.0");
  auto head = m.lookupSymbol<func::FuncOp>("head");
  auto hType = dyn_cast<RankedTensorType>(layer0.getArgumentTypes()[0]);
  auto cType = dyn_cast<RankedTensorType>(layer0.getArgumentTypes()[2]);
  auto logits = dyn_cast<RankedTensorType>(head.getResultTypes()[0]);
  if (!hType || !cType || !logits || hType.getRank() != 2 ||
      cType.getRank() != 3 || !cType.hasStaticShape() || logits.getRank() != 2)
    return llvm::createStringError("@model.layers.0 or @head does not have "
                                   "the signature hfq import gives them");
  runner->hidden = hType.getDimSize(1);
  runner->vocab = logits.getDimSize(1);
  runner->kvHeads = cType.getDimSize(0);
  runner->maxContext = cType.getDimSize(1);
  runner->headDim = cType.getDimSize(2);
  size_t cacheBytes = cType.getNumElements() * sizeof(float);
  runner->kCache = allocateAligned(cacheBytes);
  runner->vCache = allocateAligned(cacheBytes);
  if (!runner->kCache || !runner->vCache)
    return llvm::createStringError("out of memory for the layer caches");
  std::memset(runner->kCache.get(), 0, cacheBytes);
  std::memset(runner->vCache.get(), 0, cacheBytes);

  for (auto &[symbol, values] : runner->layers.weights) {
    Buffer buffer{allocateAligned(values.size() * sizeof(float)),
                  values.size()};
    if (!buffer.data)
      return llvm::createStringError("out of memory for " + symbol);
    std::memcpy(buffer.data.get(), values.data(),
                values.size() * sizeof(float));
    runner->buffers[symbol] = std::move(buffer);
  }
  runner->layers.weights.clear();

  JITOptions jit = base;
  bindRecorders(m, jit);
  JITLayerRunner *raw = runner.get();
  auto *dialect = m.getContext()->getLoadedDialect<HFQDialect>();
  jit.parameterAddress =
      [raw, dialect](llvm::StringRef scope,
                     llvm::StringRef key) -> llvm::Expected<const void *> {
    if (scope == kLayerRunnerScope) {
      auto it = raw->buffers.find(key);
      if (it == raw->buffers.end())
        return llvm::createStringError("no layer runner buffer '" + key + "'");
      return it->second.data.get();
    }
    std::unique_ptr<io::Checkpoint> &ckpt = raw->checkpoints[scope];
    if (!ckpt) {
      std::optional<llvm::StringRef> dir =
          dialect ? dialect->lookupParameterScope(scope) : std::nullopt;
      if (!dir)
        return llvm::createStringError("parameter scope '" + scope +
                                       "' is not bound to a checkpoint");
      auto opened = io::Checkpoint::open(*dir);
      if (!opened)
        return opened.takeError();
      ckpt = std::make_unique<io::Checkpoint>(std::move(*opened));
    }
    return alignedTensorData(*ckpt, key, raw->copies);
  };
  auto engine = compileForJIT(m, jit);
  if (!engine)
    return engine.takeError();
  runner->engine = std::move(*engine);

  auto embedFn =
      lookupCInterface<EmbedFn>(*runner->engine, "model.embed_tokens");
  if (!embedFn)
    return embedFn.takeError();
  runner->embedFn = *embedFn;
  auto headFn = lookupCInterface<HeadFn>(*runner->engine, "head");
  if (!headFn)
    return headFn.takeError();
  runner->headFn = *headFn;
  for (int64_t l = 0; l < runner->numLayers(); ++l) {
    auto fn = lookupCInterface<LayerFn>(*runner->engine,
                                        "model.layers." + std::to_string(l));
    if (!fn)
      return fn.takeError();
    runner->layerFns.push_back(*fn);
  }
  return std::unique_ptr<LayerRunner>(std::move(runner));
}
} // namespace

void mlir::hfq::registerJITLayerRunner(const JITOptions &base) {
  registerLayerRunnerFactory(
      [base](ModuleOp module) { return JITLayerRunner::create(module, base); });
}

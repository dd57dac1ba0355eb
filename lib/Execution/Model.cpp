//===- Model.cpp - a checkpoint imported, compiled and ready to run -*- C++
//-*-===//
//
// The compiled functions return freshly allocated buffers (the ownership-
// based deallocation pipeline gives results to the caller), so the previous
// caches are freed once the new ones come back.
//
//===----------------------------------------------------------------------===//

#include "hfq/Execution/Model.h"
#include "Runtime.h"
#include "hfq/Execution/JIT.h"
#include "hfq/IO/Checkpoint.h"
#include "hfq/Import/LlamaImporter.h"
#include "hfq/Pipelines/Pipelines.h"
#include "hfq/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstdlib>
#include <cstring>
#include <set>

using namespace mlir;
using namespace mlir::hfq;

namespace {
using Cache = StridedMemRefType<float, 4>;
using Logits = StridedMemRefType<float, 2>;
using Tokens = StridedMemRefType<int64_t, 1>;
struct StepResult {
  Logits logits;
  Cache k, v;
};
using PrefillFn = void(StepResult *, Tokens *);
using DecodeFn = void(StepResult *, Tokens *, int64_t, Cache *, Cache *);

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}
} // namespace

struct LoadedModel::Impl {
  io::ModelConfig config;
  std::unique_ptr<io::Tokenizer> tokenizer;
  io::Checkpoint checkpoint;
  std::unique_ptr<MLIRContext> context;
  std::unique_ptr<ExecutionEngine> engine;
  PrefillFn *prefillFn = nullptr;
  DecodeFn *decodeFn = nullptr;
  int64_t maxContext = 0;
  int64_t position = 0;
  Cache k{}, v{};
  CalibrationRecorder recorder;
  std::vector<std::vector<std::string>> calibrationGroups;
  /// Aligned copies of weights whose mapped data is not at their element
  /// type's alignment (none for files hfq or safetensors wrote).
  llvm::StringMap<detail::AlignedBuffer> alignedCopies;

  explicit Impl(io::Checkpoint ckpt) : checkpoint(std::move(ckpt)) {}
  ~Impl() { freeCaches(); }
  void freeCaches() {
    free(k.basePtr);
    free(v.basePtr);
    k.basePtr = v.basePtr = nullptr;
  }

  llvm::Error checkTokens(llvm::ArrayRef<int64_t> tokens) const {
    for (int64_t t : tokens)
      if (t < 0 || t >= config.vocabSize)
        return fail(llvm::formatv("token id {0} is outside the vocabulary "
                                  "[0, {1})",
                                  t, config.vocabSize));
    if (position + int64_t(tokens.size()) > maxContext)
      return fail(llvm::formatv("{0} tokens at position {1} exceed the "
                                "context of {2}",
                                tokens.size(), position, maxContext));
    return llvm::Error::success();
  }

  std::vector<float> takeLogits(StepResult &r) {
    std::vector<float> out;
    int64_t rows = r.logits.sizes[0], cols = r.logits.sizes[1];
    out.reserve(rows * cols);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        out.push_back(r.logits.data[r.logits.offset + i * r.logits.strides[0] +
                                    j * r.logits.strides[1]]);
    free(r.logits.basePtr);
    return out;
  }

  void keepCaches(StepResult &r) {
    if (k.basePtr != r.k.basePtr)
      free(k.basePtr);
    if (v.basePtr != r.v.basePtr)
      free(v.basePtr);
    k = r.k;
    v = r.v;
  }
};

LoadedModel::LoadedModel(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
LoadedModel::~LoadedModel() = default;

llvm::Expected<std::unique_ptr<LoadedModel>>
LoadedModel::load(llvm::StringRef modelPath, const ModelOptions &options) {
  // An .mlir module names no directory: its parameters (scope "model")
  // come from options.checkpointDir.
  auto context = std::make_unique<MLIRContext>();
  DialectRegistry registry;
  registerAllDialects(registry);
  context->appendDialectRegistry(registry);
  OwningOpRef<ModuleOp> parsed;
  std::string modelDir = modelPath.str();
  if (modelPath.ends_with(".mlir")) {
    std::string messages;
    ScopedDiagnosticHandler handler(context.get(), [&](Diagnostic &diag) {
      messages += diag.str() + "\n";
      return success();
    });
    parsed = parseSourceFile<ModuleOp>(modelPath, context.get());
    if (!parsed)
      return fail(modelPath + ": " + messages);
    if (!(*parsed).lookupSymbol("prefill") || !(*parsed).lookupSymbol("decode"))
      return fail(modelPath + ": not a module written by hfq import (it "
                              "needs @prefill and @decode)");
    if (options.checkpointDir.empty())
      return fail(modelPath +
                  ": an .mlir model reads its weights, config "
                  "and tokenizer from the checkpoint its "
                  "parameter scope '" +
                  kModelScope + "' is bound to: pass --checkpoint DIR");
    modelDir = options.checkpointDir;
  }
  auto config = io::ModelConfig::load(modelDir);
  if (!config)
    return config.takeError();
  auto checkpoint = io::Checkpoint::open(modelDir);
  if (!checkpoint)
    return checkpoint.takeError();
  auto tokenizer = io::Tokenizer::load(modelDir);
  if (!tokenizer)
    return tokenizer.takeError();
  auto impl = std::make_unique<Impl>(std::move(*checkpoint));
  impl->context = std::move(context);
  impl->config = std::move(*config);
  impl->tokenizer = std::make_unique<io::Tokenizer>(std::move(*tokenizer));
  impl->recorder = options.recorder;

  OwningOpRef<ModuleOp> module;
  if (parsed) {
    module = std::move(parsed);
    auto context = (*module)->getAttrOfType<IntegerAttr>("hfq.max_context");
    impl->maxContext = context ? context.getInt() : 0;
  } else {
    auto quantized = readQuantizedLinears(*impl->context, modelDir);
    if (!quantized)
      return quantized.takeError();
    ImportOptions importOptions;
    importOptions.maxContext = options.maxContext;
    importOptions.quantized = &*quantized;
    auto imported = importLlama(*impl->context, impl->config, impl->checkpoint,
                                importOptions);
    if (!imported)
      return imported.takeError();
    module = std::move(*imported);
    impl->maxContext = options.maxContext ? options.maxContext
                                          : impl->config.maxPositionEmbeddings;
  }
  if (impl->maxContext <= 0)
    return fail(modelPath + ": unknown context length");

  JITOptions jit;
  jit.reference = options.referenceLowering;
  Impl *raw = impl.get();
  // Calibration: instrument unless the module already is (hfq-opt
  // --hfq-instrument-linears); recorder symbols are always bound, and do
  // nothing when no recorder was given.
  if (impl->recorder && !(*module)->hasAttr("hfq.calibration_inputs")) {
    PassManager pm(impl->context.get());
    pm.addPass(createInstrumentLinears());
    if (failed(pm.run(*module)))
      return fail("instrumenting the linears for calibration failed");
  }
  if (auto groups =
          (*module)->getAttrOfType<ArrayAttr>("hfq.calibration_inputs")) {
    for (Attribute group : groups) {
      std::vector<std::string> names;
      for (Attribute name : cast<ArrayAttr>(group))
        names.push_back(cast<StringAttr>(name).str());
      impl->calibrationGroups.push_back(std::move(names));
    }
  }
  detail::bindRecorders(*module, jit);

  jit.parameterAddress =
      [raw](llvm::StringRef scope,
            llvm::StringRef name) -> llvm::Expected<const void *> {
    if (scope != kModelScope)
      return fail("parameter scope '" + scope +
                  "' is not bound (the model "
                  "binds '" +
                  kModelScope + "' to its checkpoint)");
    return detail::alignedTensorData(raw->checkpoint, name, raw->alignedCopies);
  };
  auto engine = compileForJIT(*module, jit);
  if (!engine)
    return engine.takeError();
  impl->engine = std::move(*engine);
  auto prefill = lookupCInterface<PrefillFn>(*impl->engine, "prefill");
  if (!prefill)
    return prefill.takeError();
  auto decode = lookupCInterface<DecodeFn>(*impl->engine, "decode");
  if (!decode)
    return decode.takeError();
  impl->prefillFn = *prefill;
  impl->decodeFn = *decode;
  return std::unique_ptr<LoadedModel>(new LoadedModel(std::move(impl)));
}

const io::ModelConfig &LoadedModel::config() const { return impl->config; }
const io::Tokenizer &LoadedModel::tokenizer() const { return *impl->tokenizer; }
int64_t LoadedModel::maxContext() const { return impl->maxContext; }
uint64_t LoadedModel::copiedWeightBytes() const {
  uint64_t bytes = 0;
  for (const auto &copy : impl->alignedCopies) {
    const io::TensorInfo &info = *impl->checkpoint.find(copy.getKey())->info;
    bytes += info.end - info.begin;
  }
  return bytes;
}
int64_t LoadedModel::position() const { return impl->position; }
const std::vector<std::vector<std::string>> &
LoadedModel::calibrationGroups() const {
  return impl->calibrationGroups;
}

llvm::Expected<std::vector<float>>
LoadedModel::prefill(llvm::ArrayRef<int64_t> tokens) {
  impl->position = 0;
  if (tokens.empty())
    return fail("prefill needs at least one token");
  if (llvm::Error e = impl->checkTokens(tokens))
    return std::move(e);
  std::vector<int64_t> ids(tokens.begin(), tokens.end());
  Tokens in{ids.data(), ids.data(), 0, {int64_t(ids.size())}, {1}};
  StepResult r{};
  {
    detail::RecordingScope recording(&impl->recorder);
    impl->prefillFn(&r, &in);
  }
  impl->keepCaches(r);
  impl->position = ids.size();
  return impl->takeLogits(r);
}

llvm::Expected<std::vector<float>> LoadedModel::decode(int64_t token) {
  if (!impl->k.basePtr)
    return fail("decode before prefill");
  if (llvm::Error e = impl->checkTokens({token}))
    return std::move(e);
  int64_t id = token;
  Tokens in{&id, &id, 0, {1}, {1}};
  StepResult r{};
  {
    detail::RecordingScope recording(&impl->recorder);
    impl->decodeFn(&r, &in, impl->position, &impl->k, &impl->v);
  }
  impl->keepCaches(r);
  impl->position += 1;
  return impl->takeLogits(r);
}

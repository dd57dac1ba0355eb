//===- LayerRunnerTest.cpp - the imported model, layer by layer -----------===//
//
// On the bundled stories15M:
// - the layer runner (embedding, each layer, head, called one at a time)
//   computes what the whole compiled model computes: every linear input it
//   records equals the one LoadedModel records over the same sequences;
// - a decoder layer equals the C++ transcription of HF's Llama layer
//   (numerics/Decoder.h, kept as this oracle), to float32 summation-order
//   tolerance;
// - writing a weight buffer changes what the next call computes: with o_proj
//   and down_proj zeroed, a layer returns its input unchanged;
// - a module without layer functions is refused with a clear error.
//
//===----------------------------------------------------------------------===//

#include "hfq/Transforms/LayerRunner.h"
#include "hfq/Dialect/HFQ/IR/HFQWeights.h"
#include "hfq/Execution/JIT.h"
#include "hfq/Execution/Model.h"
#include "hfq/IO/Checkpoint.h"
#include "hfq/IO/ModelConfig.h"
#include "hfq/Import/LlamaImporter.h"
#include "hfq/Numerics/Decoder.h"
#include "hfq/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

#include <cstring>
#include <map>

using namespace mlir;
using namespace mlir::hfq;
namespace nx = mlir::hfq::numerics;

namespace {

const std::string kModel = std::string(HFQ_SOURCE_DIR) + "/models/stories15M";
// Two sequences laid end to end, as calibration runs them.
const std::vector<int64_t> kTokens = {1,   403, 2501, 263,  931,   29892,
                                      727, 1,   3118, 2462, 29892, 365};
const std::vector<int64_t> kLengths = {7, 5};

class LayerRunnerTest : public ::testing::Test {
protected:
  void SetUp() override {
    registerJITLayerRunner();
    DialectRegistry registry;
    registerAllDialects(registry);
    ctx.appendDialectRegistry(registry);
    ctx.loadAllAvailableDialects();
    ctx.getLoadedDialect<HFQDialect>()->bindParameterScope(kModelScope, kModel);
    auto cfg = io::ModelConfig::load(kModel);
    ASSERT_TRUE(bool(cfg)) << llvm::toString(cfg.takeError());
    config = *cfg;
    auto ckpt = io::Checkpoint::open(kModel);
    ASSERT_TRUE(bool(ckpt)) << llvm::toString(ckpt.takeError());
    checkpoint = std::make_unique<io::Checkpoint>(std::move(*ckpt));
    auto imported = importLlama(ctx, config, *checkpoint, {});
    ASSERT_TRUE(bool(imported)) << llvm::toString(imported.takeError());
    module = std::move(*imported);
    auto r = createLayerRunner(*module, "the test");
    ASSERT_TRUE(bool(r)) << llvm::toString(r.takeError());
    runner = std::move(*r);
  }

  std::vector<float> tensor(const std::string &name) {
    const io::Checkpoint::Entry *e = checkpoint->find(name);
    EXPECT_TRUE(e) << name;
    if (!e)
      return {};
    llvm::ArrayRef<uint8_t> bytes = e->file->bytes(*e->info);
    std::vector<float> out(bytes.size() / sizeof(float));
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
  nx::DenseLinear linear(const std::string &name) {
    nx::DenseLinear l;
    l.weight = tensor(name + ".weight");
    l.out = checkpoint->find(name + ".weight")->info->shape[0];
    l.in = checkpoint->find(name + ".weight")->info->shape[1];
    return l;
  }

  MLIRContext ctx;
  io::ModelConfig config;
  std::unique_ptr<io::Checkpoint> checkpoint;
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<LayerRunner> runner;
};

/// Inputs recorded per group, keyed by the group's first linear.
using Recorded = std::map<std::string, std::vector<float>>;

TEST_F(LayerRunnerTest, LayersComposeToTheCompiledModel) {
  ASSERT_EQ(runner->numLayers(), config.numLayers);
  Recorded mine;
  CalibrationRecorder record = [&](int64_t g, const float *x, int64_t rows,
                                   int64_t cols, int64_t stride) {
    std::vector<float> &out = mine[runner->groupLinears(g).front()];
    for (int64_t r = 0; r < rows; ++r)
      out.insert(out.end(), x + r * stride, x + r * stride + cols);
  };
  auto h = runner->embed(kTokens);
  ASSERT_TRUE(bool(h)) << llvm::toString(h.takeError());
  for (int64_t l = 0; l < runner->numLayers(); ++l)
    ASSERT_FALSE(bool(runner->layer(l, *h, kLengths, record)));
  ASSERT_FALSE(bool(runner->head(*h, kLengths, record)));

  // The whole model, sequence by sequence, recording the same inputs.
  std::vector<std::vector<std::string>> groups;
  Recorded theirs;
  ModelOptions options;
  options.recorder = [&](int64_t g, const float *x, int64_t rows, int64_t cols,
                         int64_t stride) {
    std::vector<float> &out = theirs[groups[g].front()];
    for (int64_t r = 0; r < rows; ++r)
      out.insert(out.end(), x + r * stride, x + r * stride + cols);
  };
  auto model = LoadedModel::load(kModel, options);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  groups = (*model)->calibrationGroups();
  size_t at = 0;
  for (int64_t len : kLengths) {
    std::vector<int64_t> seq(kTokens.begin() + at, kTokens.begin() + at + len);
    ASSERT_TRUE(bool((*model)->prefill(seq)));
    at += len;
  }
  // q/k/v, o, gate/up, down per layer, and the head.
  ASSERT_EQ(theirs.size(), size_t(4 * config.numLayers + 1));
  ASSERT_EQ(mine.size(), theirs.size());
  for (const auto &[name, values] : theirs) {
    ASSERT_TRUE(mine.count(name)) << name;
    const std::vector<float> &got = mine[name];
    ASSERT_EQ(got.size(), values.size()) << name;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, double(std::fabs(got[i] - values[i])) /
                                  std::max(1.0, double(std::fabs(values[i]))));
    // The same IR, lowered once inlined into @forward and once as separate
    // functions: LLVM may contract or reorder differently, nothing more.
    EXPECT_LT(worst, 1e-5) << name;
  }
}

TEST_F(LayerRunnerTest, ALayerIsHuggingFacesLlamaLayer) {
  auto h = runner->embed(kTokens);
  ASSERT_TRUE(bool(h));
  std::vector<float> in = *h;
  ASSERT_FALSE(bool(runner->layer(0, *h, kLengths, nullptr)));

  const int64_t n = kTokens.size(), d = config.hiddenSize;
  nx::AttentionShape shape;
  shape.heads = config.numHeads;
  shape.kvHeads = config.numKVHeads;
  shape.headDim = config.headDim;
  for (double f : config.ropeInverseFrequencies())
    shape.invFreq.push_back(float(f));
  const std::string p = "model.layers.0.";
  std::vector<float> x = in;
  nx::rmsNorm(x, n, tensor(p + "input_layernorm.weight"), config.rmsNormEps);
  std::vector<float> a = nx::attentionForward(
      shape, linear(p + "self_attn.q_proj"), linear(p + "self_attn.k_proj"),
      linear(p + "self_attn.v_proj"), linear(p + "self_attn.o_proj"), x,
      kLengths);
  std::vector<float> expected = in;
  for (int64_t i = 0; i < n * d; ++i)
    expected[i] += a[i];
  x = expected;
  nx::rmsNorm(x, n, tensor(p + "post_attention_layernorm.weight"),
              config.rmsNormEps);
  std::vector<float> m =
      nx::mlpForward(linear(p + "mlp.gate_proj"), linear(p + "mlp.up_proj"),
                     linear(p + "mlp.down_proj"), x, n);
  for (int64_t i = 0; i < n * d; ++i)
    expected[i] += m[i];
  EXPECT_LT(nx::relativeRMSError(*h, expected), 1e-5);
  // It does change the hidden states (the comparison can fail).
  EXPECT_GT(nx::relativeRMSError(in, expected), 1e-2);
}

TEST_F(LayerRunnerTest, WrittenWeightsAreWhatTheNextCallReads) {
  auto h = runner->embed(kTokens);
  ASSERT_TRUE(bool(h));
  std::vector<float> in = *h;
  for (const char *name :
       {"model.layers.2.self_attn.o_proj", "model.layers.2.mlp.down_proj"}) {
    auto w = runner->weight(name);
    ASSERT_TRUE(bool(w)) << llvm::toString(w.takeError());
    std::fill(w->begin(), w->end(), 0.0f);
  }
  ASSERT_FALSE(bool(runner->layer(2, *h, kLengths, nullptr)));
  EXPECT_EQ(*h, in);
  ASSERT_FALSE(bool(runner->layer(1, *h, kLengths, nullptr)));
  EXPECT_NE(*h, in);
  auto missing = runner->weight("model.layers.9.mlp.down_proj");
  ASSERT_FALSE(bool(missing));
  llvm::consumeError(missing.takeError());
}

TEST_F(LayerRunnerTest, ModulesWithoutLayerFunctionsAreRefused) {
  module->lookupSymbol<func::FuncOp>("model.layers.3").erase();
  auto r = createLayerRunner(*module, "the test");
  ASSERT_FALSE(bool(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("@model.layers.0..N-1"),
            std::string::npos);
}

TEST_F(LayerRunnerTest, BadInputIsAnError) {
  auto bad = runner->embed({1, 99999});
  ASSERT_FALSE(bool(bad));
  llvm::consumeError(bad.takeError());
  std::vector<float> h(5);
  llvm::Error e = runner->layer(0, h, {1}, nullptr);
  ASSERT_TRUE(bool(e));
  llvm::consumeError(std::move(e));
}

} // namespace

//===- ModelConfigTest.cpp - config.json of Llama-family models -*- C++ -*-===//

#include "hfq/IO/ModelConfig.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace mlir::hfq::io;

namespace {

TEST(ModelConfig, BundledModel) {
  auto c = ModelConfig::load(HFQ_SOURCE_DIR "/models/stories15M");
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->modelType, "llama");
  EXPECT_EQ(c->architecture, "LlamaForCausalLM");
  EXPECT_EQ(c->hiddenSize, 288);
  EXPECT_EQ(c->intermediateSize, 768);
  EXPECT_EQ(c->numLayers, 6);
  EXPECT_EQ(c->numHeads, 6);
  EXPECT_EQ(c->numKVHeads, 6);
  EXPECT_EQ(c->headDim, 48);
  EXPECT_EQ(c->vocabSize, 32000);
  EXPECT_EQ(c->maxPositionEmbeddings, 256);
  EXPECT_DOUBLE_EQ(c->rmsNormEps, 1e-5);
  EXPECT_DOUBLE_EQ(c->ropeTheta, 10000.0);
  EXPECT_TRUE(c->tieWordEmbeddings);
  EXPECT_FALSE(c->qkvBias);
  EXPECT_EQ(c->bosTokenId, 1);
  EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{2}));
}

TEST(ModelConfig, Qwen2GQAAndBiases) {
  auto c = ModelConfig::parse(R"({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"],
    "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
    "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
    "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": true,
    "sliding_window": 32768, "use_sliding_window": false,
    "eos_token_id": [151645, 151643]})", "config.json");
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->numKVHeads, 2);
  EXPECT_EQ(c->headDim, 64);
  EXPECT_TRUE(c->qkvBias);
  EXPECT_FALSE(c->oBias);
  EXPECT_FALSE(c->slidingWindow.has_value());
  EXPECT_EQ(c->maxPositionEmbeddings, 32768);
  EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{151645, 151643}));
}

TEST(ModelConfig, Llama3RopeScaling) {
  auto c = ModelConfig::parse(R"({"model_type": "llama", "hidden_size": 2048,
    "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
    "num_key_value_heads": 8, "vocab_size": 128256, "rms_norm_eps": 1e-5,
    "rope_theta": 500000.0, "max_position_embeddings": 131072,
    "rope_scaling": {"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"}})",
                              "config.json");
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->ropeScaling.kind, RopeScaling::Kind::Llama3);
  std::vector<double> inv = c->ropeInverseFrequencies();
  ASSERT_EQ(inv.size(), 32u);
  // Highest frequency (wavelength 2*pi < 8192/4): unchanged.
  EXPECT_DOUBLE_EQ(inv[0], 1.0);
  // Lowest frequency: wavelength far above 8192, divided by the factor.
  double base = 1.0 / std::pow(500000.0, 62.0 / 64.0);
  EXPECT_DOUBLE_EQ(inv[31], base / 32.0);
}

void expectError(const char *json, const char *message) {
  auto c = ModelConfig::parse(json, "config.json");
  ASSERT_FALSE(bool(c)) << json;
  std::string got = llvm::toString(c.takeError());
  EXPECT_NE(got.find(message), std::string::npos) << got;
  EXPECT_NE(got.find("config.json"), std::string::npos) << got;
}

TEST(ModelConfig, Errors) {
  expectError("{", "not valid JSON");
  expectError(R"({"model_type": "gpt2"})",
              "unsupported model_type 'gpt2' (supported: llama, mistral, qwen2)");
  expectError(R"({"model_type": "llama", "hidden_size": 64})",
              "missing required key 'intermediate_size'");
  expectError(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 3,
    "vocab_size": 10})", "num_attention_heads 4 is not a multiple of num_key_value_heads 3");
  expectError(R"({"model_type": "llama", "hidden_size": -64})",
              "'hidden_size' must be a positive integer");
  expectError(R"({"model_type": "llama", "architectures": ["LlamaForSequenceClassification"]})",
              "unsupported architecture 'LlamaForSequenceClassification'");
  expectError(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10,
    "rope_scaling": {"rope_type": "yarn", "factor": 4.0}})",
              "unsupported rope_scaling type 'yarn'");
  expectError(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10,
    "hidden_act": "gelu"})", "unsupported hidden_act");
}

} // namespace

//===- ModelConfig.cpp - Hugging Face config.json of Llama-family models -*- C++ -*-===//
//
// Defaults follow transformers' configuration classes (LlamaConfig,
// MistralConfig, Qwen2Config) for keys a checkpoint may omit; the keys that
// define the shapes are required. The llama3 rope scaling follows
// transformers' _compute_llama3_parameters.
//
//===----------------------------------------------------------------------===//

#include "hfq/IO/ModelConfig.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <nlohmann/json.hpp>

#include <cmath>

using namespace mlir::hfq::io;
using nlohmann::json;

namespace {

/// Typed access to config.json with errors that name the file and key.
class Reader {
public:
  Reader(const json &root, llvm::StringRef source)
      : root(root), source(source) {}

  llvm::Error fail(const llvm::Twine &message) const {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   source + ": " + message);
  }

  bool has(const char *key) const {
    auto it = root.find(key);
    return it != root.end() && !it->is_null();
  }

  llvm::Error positiveInt(const char *key, int64_t &out,
                          std::optional<int64_t> fallback = std::nullopt) const {
    if (!has(key)) {
      if (fallback) {
        out = *fallback;
        return llvm::Error::success();
      }
      return fail(llvm::Twine("missing required key '") + key + "'");
    }
    const json &v = root.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() <= 0)
      return fail(llvm::Twine("'") + key + "' must be a positive integer");
    out = v.get<int64_t>();
    return llvm::Error::success();
  }

  llvm::Error positiveNumber(const char *key, double &out,
                             std::optional<double> fallback) const {
    if (!has(key)) {
      if (fallback) {
        out = *fallback;
        return llvm::Error::success();
      }
      return fail(llvm::Twine("missing required key '") + key + "'");
    }
    const json &v = root.at(key);
    if (!v.is_number() || !(v.get<double>() > 0) ||
        !std::isfinite(v.get<double>()))
      return fail(llvm::Twine("'") + key + "' must be a positive number");
    out = v.get<double>();
    return llvm::Error::success();
  }

  llvm::Error boolean(const char *key, bool &out, bool fallback) const {
    if (!has(key)) {
      out = fallback;
      return llvm::Error::success();
    }
    if (!root.at(key).is_boolean())
      return fail(llvm::Twine("'") + key + "' must be true or false");
    out = root.at(key).get<bool>();
    return llvm::Error::success();
  }

  const json &root;
  llvm::StringRef source;
};

} // namespace

llvm::Expected<ModelConfig> ModelConfig::parse(llvm::StringRef text,
                                               llvm::StringRef source) {
  json root = json::parse(text.begin(), text.end(), nullptr, false);
  Reader r(root, source);
  if (root.is_discarded())
    return r.fail("not valid JSON (or not valid UTF-8)");
  if (!root.is_object())
    return r.fail("must be a JSON object");

  ModelConfig c;
  if (!r.has("model_type") || !root.at("model_type").is_string())
    return r.fail("missing string key 'model_type'");
  c.modelType = root.at("model_type").get<std::string>();
  if (c.modelType != "llama" && c.modelType != "mistral" &&
      c.modelType != "qwen2")
    return r.fail("unsupported model_type '" + c.modelType +
                  "' (supported: llama, mistral, qwen2)");
  if (r.has("architectures")) {
    const json &a = root.at("architectures");
    if (!a.is_array() || a.empty() || !a[0].is_string())
      return r.fail("'architectures' must be a non-empty list of names");
    c.architecture = a[0].get<std::string>();
    if (!llvm::StringRef(c.architecture).ends_with("ForCausalLM"))
      return r.fail("unsupported architecture '" + c.architecture +
                    "': hfq imports causal language models (*ForCausalLM)");
  }

  const bool isQwen = c.modelType == "qwen2";
  const bool isMistral = c.modelType == "mistral";
  if (llvm::Error e = r.positiveInt("hidden_size", c.hiddenSize))
    return std::move(e);
  if (llvm::Error e = r.positiveInt("intermediate_size", c.intermediateSize))
    return std::move(e);
  if (llvm::Error e = r.positiveInt("num_hidden_layers", c.numLayers))
    return std::move(e);
  if (llvm::Error e = r.positiveInt("num_attention_heads", c.numHeads))
    return std::move(e);
  if (llvm::Error e = r.positiveInt("vocab_size", c.vocabSize))
    return std::move(e);
  if (llvm::Error e =
          r.positiveInt("num_key_value_heads", c.numKVHeads, c.numHeads))
    return std::move(e);
  if (c.numHeads % c.numKVHeads != 0)
    return r.fail(llvm::formatv("num_attention_heads {0} is not a multiple of "
                                "num_key_value_heads {1}",
                                c.numHeads, c.numKVHeads));
  if (!r.has("head_dim") && c.hiddenSize % c.numHeads != 0)
    return r.fail(llvm::formatv("hidden_size {0} is not a multiple of "
                                "num_attention_heads {1} and no head_dim is "
                                "given",
                                c.hiddenSize, c.numHeads));
  if (llvm::Error e =
          r.positiveInt("head_dim", c.headDim, c.hiddenSize / c.numHeads))
    return std::move(e);
  if (c.headDim % 2 != 0)
    return r.fail(llvm::formatv("head_dim {0} must be even for rotary "
                                "embeddings",
                                c.headDim));
  int64_t defaultContext = isQwen ? 32768 : isMistral ? 131072 : 2048;
  if (llvm::Error e = r.positiveInt("max_position_embeddings",
                                    c.maxPositionEmbeddings, defaultContext))
    return std::move(e);
  if (llvm::Error e =
          r.positiveNumber("rms_norm_eps", c.rmsNormEps, 1e-6))
    return std::move(e);
  if (llvm::Error e = r.positiveNumber("rope_theta", c.ropeTheta, 10000.0))
    return std::move(e);
  if (llvm::Error e =
          r.boolean("tie_word_embeddings", c.tieWordEmbeddings, false))
    return std::move(e);
  bool attentionBias = false;
  if (llvm::Error e = r.boolean("attention_bias", attentionBias, false))
    return std::move(e);
  if (llvm::Error e = r.boolean("mlp_bias", c.mlpBias, false))
    return std::move(e);
  // Qwen2 always has q/k/v biases and no o_proj bias; Llama's
  // attention_bias puts a bias on all four projections.
  c.qkvBias = isQwen || attentionBias;
  c.oBias = !isQwen && attentionBias;

  if (r.has("hidden_act")) {
    if (!root.at("hidden_act").is_string() ||
        root.at("hidden_act").get<std::string>() != "silu")
      return r.fail("unsupported hidden_act (hfq supports 'silu')");
  }
  if (r.has("sliding_window")) {
    if (!root.at("sliding_window").is_number_integer())
      return r.fail("'sliding_window' must be an integer or null");
    // Qwen2 only applies it with use_sliding_window.
    bool use = !isQwen;
    if (isQwen)
      if (llvm::Error e = r.boolean("use_sliding_window", use, false))
        return std::move(e);
    if (use && root.at("sliding_window").get<int64_t>() <
                   c.maxPositionEmbeddings)
      c.slidingWindow = root.at("sliding_window").get<int64_t>();
  }
  if (r.has("bos_token_id")) {
    if (!root.at("bos_token_id").is_number_integer())
      return r.fail("'bos_token_id' must be an integer");
    c.bosTokenId = root.at("bos_token_id").get<int64_t>();
  }
  if (r.has("eos_token_id")) {
    const json &e = root.at("eos_token_id");
    if (e.is_number_integer()) {
      c.eosTokenIds.push_back(e.get<int64_t>());
    } else if (e.is_array()) {
      for (const json &id : e) {
        if (!id.is_number_integer())
          return r.fail("'eos_token_id' entries must be integers");
        c.eosTokenIds.push_back(id.get<int64_t>());
      }
    } else {
      return r.fail("'eos_token_id' must be an integer or a list");
    }
  }

  if (r.has("rope_scaling")) {
    const json &s = root.at("rope_scaling");
    if (!s.is_object())
      return r.fail("'rope_scaling' must be an object or null");
    std::string type;
    for (const char *key : {"rope_type", "type"})
      if (s.contains(key) && s.at(key).is_string())
        type = s.at(key).get<std::string>();
    Reader sr(s, source);
    if (type == "llama3") {
      c.ropeScaling.kind = RopeScaling::Kind::Llama3;
      if (llvm::Error e = sr.positiveNumber("factor", c.ropeScaling.factor,
                                            std::nullopt))
        return std::move(e);
      if (llvm::Error e = sr.positiveNumber(
              "low_freq_factor", c.ropeScaling.lowFreqFactor, std::nullopt))
        return std::move(e);
      if (llvm::Error e = sr.positiveNumber(
              "high_freq_factor", c.ropeScaling.highFreqFactor, std::nullopt))
        return std::move(e);
      if (llvm::Error e = sr.positiveInt(
              "original_max_position_embeddings",
              c.ropeScaling.originalMaxPositionEmbeddings))
        return std::move(e);
      if (c.ropeScaling.highFreqFactor <= c.ropeScaling.lowFreqFactor)
        return r.fail("rope_scaling: high_freq_factor must exceed "
                      "low_freq_factor");
    } else if (type != "default") {
      return r.fail("unsupported rope_scaling type '" + type +
                    "' (supported: llama3, default)");
    }
  }
  return c;
}

llvm::Expected<ModelConfig> ModelConfig::load(llvm::StringRef modelDir) {
  llvm::SmallString<256> path(modelDir);
  llvm::sys::path::append(path, "config.json");
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   path + ": cannot open: " +
                                       buffer.getError().message());
  return parse((*buffer)->getBuffer(), path);
}

std::vector<double> ModelConfig::ropeInverseFrequencies() const {
  std::vector<double> inv(headDim / 2);
  for (int64_t i = 0; i < headDim / 2; ++i)
    inv[i] = 1.0 / std::pow(ropeTheta, double(2 * i) / double(headDim));
  if (ropeScaling.kind != RopeScaling::Kind::Llama3)
    return inv;
  // Long wavelengths are slowed down by `factor`, short ones kept, and the
  // band between interpolated smoothly.
  const RopeScaling &s = ropeScaling;
  double lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  double highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (double &f : inv) {
    double wavelen = 2 * M_PI / f;
    if (wavelen > lowWavelen) {
      f /= s.factor;
    } else if (wavelen >= highWavelen) {
      double smooth = (s.originalMaxPositionEmbeddings / wavelen -
                       s.lowFreqFactor) /
                      (s.highFreqFactor - s.lowFreqFactor);
      f = (1 - smooth) * f / s.factor + smooth * f;
    }
  }
  return inv;
}

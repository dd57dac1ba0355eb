//===- TokenizerLoad.cpp - tokenizer.json into a pipeline ------*- C++ -*-===//
//
// Reads tokenizer.json (model, added tokens, normalizer, pre-tokenizer,
// decoder, post-processor) and tokenizer_config.json into Tokenizer::Impl.
// Unsupported components are load-time errors that name them.
//
//===----------------------------------------------------------------------===//

#include "TokenizerImpl.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <nlohmann/json.hpp>

#include <algorithm>

using namespace mlir::hfq::io;
using namespace mlir::hfq::io::detail;
using nlohmann::json;

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

namespace {

using Impl = Tokenizer::Impl;

/// Optional fields of tokenizer.json objects. A field of the wrong type is
/// remembered as an error (reported once loading ends) instead of throwing:
/// LLVM builds without exceptions, where a nlohmann type_error aborts.
struct Fields {
  std::string error;

  bool present(const json &j, const char *key) const {
    return j.is_object() && j.contains(key) && !j.at(key).is_null();
  }
  std::string str(const json &j, const char *key, const std::string &fallback) {
    if (!present(j, key))
      return fallback;
    if (!j.at(key).is_string()) {
      note(key, "a string");
      return fallback;
    }
    return j.at(key).get<std::string>();
  }
  bool boolean(const json &j, const char *key, bool fallback) {
    if (!present(j, key))
      return fallback;
    if (!j.at(key).is_boolean()) {
      note(key, "true or false");
      return fallback;
    }
    return j.at(key).get<bool>();
  }
  int integer(const json &j, const char *key, int fallback) {
    if (!present(j, key))
      return fallback;
    const json &v = j.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
        v.get<int64_t>() > 1000000) {
      note(key, "a small non-negative integer");
      return fallback;
    }
    return v.get<int>();
  }
  const json &object(const json &j, const char *key) {
    static const json null;
    return present(j, key) ? j.at(key) : null;
  }
  void note(const char *key, const char *what) {
    if (error.empty())
      error = std::string("field '") + key + "' must be " + what;
  }
};

/// Calls `parseOne(node, type)` on `node`, or on each element when `node`
/// is a {"type": "Sequence", LIST: [...]} (nested to a bounded depth).
llvm::Error forEachComponent(
    const json &node, const char *listKey, const char *what, Fields &f,
    llvm::StringRef src,
    llvm::function_ref<llvm::Error(const json &, llvm::StringRef)> parseOne,
    int depth = 0) {
  if (node.is_null())
    return llvm::Error::success();
  std::string type = f.str(node, "type", "");
  if (!f.error.empty())
    return fail(src + ": " + f.error);
  if (type != "Sequence")
    return parseOne(node, type);
  if (depth > 16)
    return fail(src + ": " + what + " Sequences nested too deeply");
  if (!node.contains(listKey) || !node[listKey].is_array())
    return fail(src + ": " + what + " Sequence without a '" + listKey +
                "' list");
  for (const json &child : node[listKey])
    if (llvm::Error e =
            forEachComponent(child, listKey, what, f, src, parseOne, depth + 1))
      return e;
  return llvm::Error::success();
}

/// {"pattern": {"String": FROM}, "content": TO} of Replace components.
std::optional<std::pair<std::string, std::string>>
stringReplace(const json &j) {
  if (!j.contains("pattern") || !j["pattern"].is_object() ||
      !j["pattern"].contains("String") || !j["pattern"]["String"].is_string() ||
      !j.contains("content") || !j["content"].is_string())
    return std::nullopt;
  return std::make_pair(j["pattern"]["String"].get<std::string>(),
                        j["content"].get<std::string>());
}

llvm::Error parseNormalizer(const json &n, llvm::StringRef type, Impl &impl,
                            llvm::StringRef src) {
  Impl::Step step{};
  if (type == "Prepend" && n.contains("prepend") && n["prepend"].is_string()) {
    step.kind = Impl::Step::Prepend;
    step.a = n["prepend"].get<std::string>();
  } else if (auto replace =
                 type == "Replace" ? stringReplace(n) : std::nullopt) {
    step.kind = Impl::Step::Replace;
    std::tie(step.a, step.b) = *replace;
  } else if (type == "NFC") {
    step.kind = Impl::Step::NFC;
  } else {
    return fail(src + ": unsupported normalizer '" + type +
                "' (supported: Sequence, Prepend, Replace with a string "
                "pattern, NFC)");
  }
  impl.normalizers.push_back(step);
  return llvm::Error::success();
}

llvm::Error parsePreTokenizer(const json &p, llvm::StringRef type, Impl &impl,
                              Fields &f, llvm::StringRef src) {
  Impl::Step step{};
  if (type == "ByteLevel") {
    step.kind = Impl::Step::ByteLevel;
    step.flag = f.boolean(p, "add_prefix_space", false);
    step.useRegex = f.boolean(p, "use_regex", true);
  } else if (type == "Split") {
    std::string regex;
    if (p.contains("pattern") && p["pattern"].is_object() &&
        p["pattern"].contains("Regex") && p["pattern"]["Regex"].is_string())
      regex = p["pattern"]["Regex"].get<std::string>();
    std::optional<SplitPattern> known = recognizePattern(regex);
    if (!known || f.str(p, "behavior", "") != "Isolated" ||
        f.boolean(p, "invert", false))
      return fail(src + ": unsupported Split pre-tokenizer (hfq knows the "
                        "GPT-2, Llama 3 and Qwen2 split regexes, behavior "
                        "Isolated)");
    step.kind = Impl::Step::Split;
    step.pattern = *known;
  } else if (type == "Metaspace") {
    step.kind = Impl::Step::Metaspace;
    step.a = f.str(p, "replacement", kMetaspace);
    if (step.a != kMetaspace)
      return fail(src + ": Metaspace replacement other than U+2581");
    step.flag = f.boolean(p, "split", true);
    step.scheme =
        f.str(p, "prepend_scheme",
              f.boolean(p, "add_prefix_space", true) ? "always" : "never");
  } else {
    return fail(src + ": unsupported pre_tokenizer '" + type +
                "' (supported: Sequence, ByteLevel, Split, Metaspace)");
  }
  impl.preTokenizers.push_back(step);
  return llvm::Error::success();
}

llvm::Error parseDecoder(const json &d, llvm::StringRef type, Impl &impl,
                         Fields &f, llvm::StringRef src) {
  Impl::DecodeStep step{};
  if (auto replace = type == "Replace" ? stringReplace(d) : std::nullopt) {
    step.kind = Impl::DecodeStep::Replace;
    std::tie(step.a, step.b) = *replace;
  } else if (type == "ByteFallback") {
    step.kind = Impl::DecodeStep::ByteFallback;
  } else if (type == "Fuse") {
    step.kind = Impl::DecodeStep::Fuse;
  } else if (type == "Strip" && d.contains("content") &&
             d["content"].is_string()) {
    step.kind = Impl::DecodeStep::Strip;
    step.a = d["content"].get<std::string>();
    step.start = f.integer(d, "start", 0);
    step.stop = f.integer(d, "stop", 0);
  } else if (type == "ByteLevel") {
    step.kind = Impl::DecodeStep::ByteLevel;
  } else if (type == "Metaspace") {
    step.kind = Impl::DecodeStep::Metaspace;
    step.scheme =
        f.str(d, "prepend_scheme",
              f.boolean(d, "add_prefix_space", true) ? "always" : "never");
  } else {
    return fail(src + ": unsupported decoder '" + type + "'");
  }
  impl.decoders.push_back(step);
  return llvm::Error::success();
}

/// Collects BOS-style prefix/suffix ids of the single-sequence template.
llvm::Error parsePostProcessor(const json &p, llvm::StringRef type, Impl &impl,
                               bool &found, llvm::StringRef src) {
  if (type == "ByteLevel")
    return llvm::Error::success();
  if (type != "TemplateProcessing")
    return fail(src + ": unsupported post_processor '" + type + "'");
  found = true;
  if (!p.contains("single") || !p["single"].is_array())
    return fail(src + ": TemplateProcessing without a 'single' template");
  bool seenSequence = false;
  for (const json &item : p["single"]) {
    if (item.contains("Sequence")) {
      seenSequence = true;
      continue;
    }
    if (!item.contains("SpecialToken") || !item["SpecialToken"].is_object() ||
        !item["SpecialToken"].contains("id") ||
        !item["SpecialToken"]["id"].is_string())
      return fail(src + ": malformed TemplateProcessing item");
    std::string name = item["SpecialToken"]["id"].get<std::string>();
    const json *ids = nullptr;
    if (p.contains("special_tokens") && p["special_tokens"].contains(name) &&
        p["special_tokens"][name].contains("ids") &&
        p["special_tokens"][name]["ids"].is_array())
      ids = &p["special_tokens"][name]["ids"];
    if (!ids)
      return fail(src + ": template token '" + name + "' has no ids");
    for (const json &id : *ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
          id.get<int64_t>() >= int64_t(impl.idToToken.size()))
        return fail(src + ": template token '" + name + "' has a bad id");
      (seenSequence ? impl.suffix : impl.prefix).push_back(id.get<int32_t>());
    }
  }
  return llvm::Error::success();
}

} // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer &&) = default;

llvm::Expected<Tokenizer> Tokenizer::parse(llvm::StringRef text,
                                           llvm::StringRef configText,
                                           llvm::StringRef src) {
  json root = json::parse(text.begin(), text.end(), nullptr, false);
  if (root.is_discarded())
    return fail(src + ": not valid JSON (or not valid UTF-8)");
  if (!root.is_object() || !root.contains("model") ||
      !root["model"].is_object())
    return fail(src + ": missing object 'model'");
  const json &model = root["model"];
  Fields f;
  std::string type = f.str(model, "type", "BPE");
  if (!model.contains("type") && !model.contains("merges"))
    type = "";
  if (type != "BPE")
    return fail(src + ": unsupported tokenizer model '" + type +
                "' (hfq supports BPE)");
  if (!model.contains("vocab") || !model["vocab"].is_object())
    return fail(src + ": BPE model without a 'vocab' object");
  if (!model.contains("merges") || !model["merges"].is_array())
    return fail(src + ": BPE model without a 'merges' list");
  if (f.present(model, "continuing_subword_prefix") ||
      f.present(model, "end_of_word_suffix"))
    return fail(src + ": continuing_subword_prefix/end_of_word_suffix are "
                      "not supported");

  auto impl = std::make_unique<Impl>();
  std::fill(std::begin(impl->byteTokens), std::end(impl->byteTokens), -1);
  const json &vocab = model["vocab"];
  int64_t maxId = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > (int64_t(1) << 30))
      return fail(src + ": vocab entry '" + it.key() + "' has a bad id");
    maxId = std::max(maxId, it.value().get<int64_t>());
  }
  if (root.contains("added_tokens") && root["added_tokens"].is_array())
    for (const json &a : root["added_tokens"])
      if (a.contains("id") && a["id"].is_number_integer() &&
          a["id"].get<int64_t>() >= 0 &&
          a["id"].get<int64_t>() <= (int64_t(1) << 30))
        maxId = std::max(maxId, a["id"].get<int64_t>());
  // Vocabularies are dense; an id far past the number of entries is a
  // corrupt file, not a reason to allocate gigabytes for the id table.
  int64_t entries = vocab.size() + (root.contains("added_tokens") &&
                                            root["added_tokens"].is_array()
                                        ? root["added_tokens"].size()
                                        : 0);
  if (maxId >= 4 * entries + 1024)
    return fail(src + llvm::formatv(": token id {0} is far beyond the {1} "
                                    "vocabulary entries",
                                    maxId, entries));
  impl->idToToken.resize(maxId + 1);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    int32_t id = it.value().get<int32_t>();
    impl->idToToken[id] = it.key();
    impl->tokenToId[it.key()] = id;
  }
  for (int b = 0; b < 256; ++b) {
    auto it = impl->tokenToId.find(llvm::formatv("<0x{0:X-2}>", b).str());
    if (it != impl->tokenToId.end())
      impl->byteTokens[b] = it->second;
  }
  impl->byteFallback = f.boolean(model, "byte_fallback", false);
  impl->fuseUnk = f.boolean(model, "fuse_unk", false);
  impl->ignoreMerges = f.boolean(model, "ignore_merges", false);
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    auto it = impl->tokenToId.find(model["unk_token"].get<std::string>());
    if (it == impl->tokenToId.end())
      return fail(src + ": unk_token is not in the vocabulary");
    impl->unkId = it->second;
  }

  int32_t rank = 0;
  for (const json &m : model["merges"]) {
    std::string left, right;
    if (m.is_string()) {
      std::string s = m.get<std::string>();
      size_t space = s.find(' ', 1);
      if (space == std::string::npos)
        return fail(src + ": merge '" + s + "' is not two tokens");
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() &&
               m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      return fail(src + ": malformed merge entry");
    }
    auto l = impl->tokenToId.find(left), r = impl->tokenToId.find(right),
         merged = impl->tokenToId.find(left + right);
    if (l == impl->tokenToId.end() || r == impl->tokenToId.end() ||
        merged == impl->tokenToId.end())
      return fail(src + ": merge '" + left + " " + right +
                  "' uses tokens missing from the vocabulary");
    impl->merges.try_emplace(Impl::key(l->second, r->second), rank++,
                             merged->second);
  }

  if (root.contains("added_tokens")) {
    if (!root["added_tokens"].is_array())
      return fail(src + ": 'added_tokens' must be a list");
    for (const json &a : root["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
          !a.contains("content") || !a["content"].is_string() ||
          a["id"].get<int64_t>() < 0 ||
          a["id"].get<int64_t>() > (int64_t(1) << 30))
        return fail(src + ": malformed added token");
      Impl::Added added{a["content"].get<std::string>(), a["id"].get<int32_t>(),
                        f.boolean(a, "special", false)};
      if (added.content.empty())
        return fail(src + ": empty added token");
      if (impl->idToToken[added.id].empty())
        impl->idToToken[added.id] = added.content;
      impl->tokenToId[added.content] = added.id;
      if (added.special)
        impl->specialIds.insert(added.id);
      impl->added.push_back(added);
    }
    std::stable_sort(impl->added.begin(), impl->added.end(),
                     [](const Impl::Added &a, const Impl::Added &b) {
                       return a.content.size() > b.content.size();
                     });
  }

  Impl &im = *impl;
  if (llvm::Error e = forEachComponent(
          f.object(root, "normalizer"), "normalizers", "normalizer", f, src,
          [&](const json &n, llvm::StringRef type) {
            return parseNormalizer(n, type, im, src);
          }))
    return std::move(e);
  if (llvm::Error e = forEachComponent(
          f.object(root, "pre_tokenizer"), "pretokenizers", "pre_tokenizer", f,
          src, [&](const json &p, llvm::StringRef type) {
            return parsePreTokenizer(p, type, im, f, src);
          }))
    return std::move(e);
  if (llvm::Error e =
          forEachComponent(f.object(root, "decoder"), "decoders", "decoder", f,
                           src, [&](const json &d, llvm::StringRef type) {
                             return parseDecoder(d, type, im, f, src);
                           }))
    return std::move(e);
  bool haveTemplate = false;
  if (llvm::Error e = forEachComponent(
          f.object(root, "post_processor"), "processors", "post_processor", f,
          src, [&](const json &p, llvm::StringRef type) {
            return parsePostProcessor(p, type, im, haveTemplate, src);
          }))
    return std::move(e);

  // tokenizer_config.json: names of BOS/EOS, and add_bos_token when the
  // post-processor has no template.
  json config =
      configText.empty()
          ? json::object()
          : json::parse(configText.begin(), configText.end(), nullptr, false);
  if (config.is_discarded() || !config.is_object())
    return fail(src + ": tokenizer_config.json is not a valid JSON object");
  auto tokenId = [&](const char *key) -> std::optional<int64_t> {
    if (!config.contains(key))
      return std::nullopt;
    const json &v = config[key];
    std::string name;
    if (v.is_string())
      name = v.get<std::string>();
    else if (v.is_object() && v.contains("content") && v["content"].is_string())
      name = v["content"].get<std::string>();
    auto it = impl->tokenToId.find(name);
    if (name.empty() || it == impl->tokenToId.end())
      return std::nullopt;
    return it->second;
  };
  impl->bos = tokenId("bos_token");
  impl->eos = tokenId("eos_token");
  if (!haveTemplate && f.boolean(config, "add_bos_token", false) && impl->bos)
    impl->prefix = {int32_t(*impl->bos)};
  if (!impl->bos && !impl->prefix.empty())
    impl->bos = impl->prefix.front();
  if (!f.error.empty())
    return fail(src + ": " + f.error);
  return Tokenizer(std::move(impl));
}

llvm::Expected<Tokenizer> Tokenizer::load(llvm::StringRef modelDir) {
  llvm::SmallString<256> path(modelDir), configPath(modelDir);
  llvm::sys::path::append(path, "tokenizer.json");
  llvm::sys::path::append(configPath, "tokenizer_config.json");
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return fail(path + ": cannot open: " + buffer.getError().message());
  std::string configText;
  if (auto config = llvm::MemoryBuffer::getFile(configPath))
    configText = (*config)->getBuffer().str();
  return parse((*buffer)->getBuffer(), configText, path);
}

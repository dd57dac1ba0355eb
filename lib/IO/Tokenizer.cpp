//===- Tokenizer.cpp - Hugging Face tokenizer.json (BPE) -------*- C++ -*-===//
//
// A re-implementation of the parts of Hugging Face `tokenizers` that BPE
// language-model tokenizers use. Each pipeline stage is a small step list
// read from tokenizer.json; unsupported components are load-time errors.
//
// The BPE merge loop follows `tokenizers`' Word::merge_all: repeatedly merge
// the adjacent pair with the lowest merge rank (leftmost on ties) until no
// pair has a merge.
//
//===----------------------------------------------------------------------===//

#include "hfq/IO/Tokenizer.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <nlohmann/json.hpp>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <queue>

using namespace mlir::hfq::io;
using nlohmann::json;

namespace {

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

//===----------------------------------------------------------------------===//
// UTF-8
//===----------------------------------------------------------------------===//

/// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t utf8Length(llvm::StringRef s, size_t i, uint32_t *cp = nullptr) {
  auto byte = [&](size_t k) { return uint8_t(s[k]); };
  uint8_t b0 = byte(i);
  size_t n;
  uint32_t c;
  if (b0 < 0x80) {
    n = 1;
    c = b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    c = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    c = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    c = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size())
    return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80)
      return 0;
    c = (c << 6) | (byte(i + k) & 0x3F);
  }
  // Reject overlong forms, surrogates and values past U+10FFFF.
  static const uint32_t minimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < minimum[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  if (cp)
    *cp = c;
  return n;
}

std::string utf8Encode(uint32_t c) {
  std::string out;
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
  return out;
}

/// Code points of valid UTF-8 text.
std::vector<uint32_t> codePoints(llvm::StringRef s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    uint32_t c;
    size_t n = utf8Length(s, i, &c);
    out.push_back(c);
    i += n;
  }
  return out;
}

/// Bytes -> UTF-8 with each invalid byte replaced by U+FFFD, as Rust's
/// String::from_utf8_lossy does (one replacement per maximal invalid part).
std::string utf8Lossy(llvm::StringRef bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size();) {
    size_t n = utf8Length(bytes, i);
    if (n) {
      out.append(bytes.data() + i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string replaceAll(llvm::StringRef s, llvm::StringRef from,
                       llvm::StringRef to) {
  if (from.empty())
    return s.str();
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t hit = s.find(from, pos);
    if (hit == llvm::StringRef::npos)
      break;
    out.append(s.data() + pos, hit - pos);
    out += to;
    pos = hit + from.size();
  }
  out.append(s.data() + pos, s.size() - pos);
  return out;
}

const char *const kMetaspace = "\xE2\x96\x81"; // U+2581 "▁"

//===----------------------------------------------------------------------===//
// Byte-level alphabet (GPT-2's bytes_to_unicode)
//===----------------------------------------------------------------------===//

struct ByteAlphabet {
  std::string byteToChar[256];
  llvm::DenseMap<uint32_t, uint8_t> charToByte;
  ByteAlphabet() {
    uint32_t code[256];
    bool printable[256] = {};
    for (int b = '!'; b <= '~'; ++b)
      printable[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b)
      printable[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b)
      printable[b] = true;
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b)
      code[b] = printable[b] ? uint32_t(b) : next++;
    for (int b = 0; b < 256; ++b) {
      byteToChar[b] = utf8Encode(code[b]);
      charToByte[code[b]] = uint8_t(b);
    }
  }
};

const ByteAlphabet &byteAlphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}

//===----------------------------------------------------------------------===//
// Split patterns (hand-written matchers of the known regexes)
//===----------------------------------------------------------------------===//

bool isLetter(uint32_t c) {
  int8_t t = u_charType(UChar32(c));
  return t == U_UPPERCASE_LETTER || t == U_LOWERCASE_LETTER ||
         t == U_TITLECASE_LETTER || t == U_MODIFIER_LETTER ||
         t == U_OTHER_LETTER;
}
bool isNumber(uint32_t c) {
  int8_t t = u_charType(UChar32(c));
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER ||
         t == U_OTHER_NUMBER;
}
bool isSpace(uint32_t c) { return u_isUWhiteSpace(UChar32(c)); }
bool isNewline(uint32_t c) { return c == '\r' || c == '\n'; }

enum class SplitPattern { GPT2, Llama3, Qwen2 };

const char *const kGPT2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|"
    "\\s+(?!\\S)|\\s+";
const char *const kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char *const kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

std::optional<SplitPattern> recognizePattern(llvm::StringRef regex) {
  if (regex == kGPT2Pattern)
    return SplitPattern::GPT2;
  if (regex == kLlama3Pattern)
    return SplitPattern::Llama3;
  if (regex == kQwen2Pattern)
    return SplitPattern::Qwen2;
  return std::nullopt;
}

/// Length (in code points) of the match of `pattern` at cps[i]; every
/// position matches one of the alternatives, so the result is >= 1.
size_t matchAt(SplitPattern pattern, const std::vector<uint32_t> &cps,
               size_t i) {
  const size_t n = cps.size();
  auto at = [&](size_t k) -> uint32_t { return k < n ? cps[k] : 0; };
  auto lower = [](uint32_t c) { return c < 128 ? uint32_t(tolower(c)) : c; };
  bool caseless = pattern != SplitPattern::GPT2;

  // Contractions.
  if (at(i) == '\'' && i + 1 < n) {
    for (const char *suffix : {"s", "t", "re", "ve", "m", "ll", "d"}) {
      size_t len = strlen(suffix), k = 0;
      while (k < len && i + 1 + k < n &&
             (caseless ? lower(at(i + 1 + k)) : at(i + 1 + k)) ==
                 uint32_t(suffix[k]))
        ++k;
      if (k == len)
        return 1 + len;
    }
  }
  auto run = [&](size_t k, auto pred) {
    while (k < n && pred(cps[k]))
      ++k;
    return k;
  };
  auto isOther = [](uint32_t c) {
    return !isSpace(c) && !isLetter(c) && !isNumber(c);
  };

  if (pattern == SplitPattern::GPT2) {
    size_t k = at(i) == ' ' ? i + 1 : i;
    if (k < n && isLetter(cps[k]))
      return run(k, isLetter) - i;
    if (k < n && isNumber(cps[k]))
      return run(k, isNumber) - i;
    if (k < n && isOther(cps[k]))
      return run(k, isOther) - i;
  } else {
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (i < n && !isNewline(cps[i]) && !isLetter(cps[i]) &&
        !isNumber(cps[i]) && i + 1 < n && isLetter(cps[i + 1]))
      return run(i + 1, isLetter) - i;
    if (i < n && isLetter(cps[i]))
      return run(i, isLetter) - i;
    // \p{N}{1,3} (Llama 3) or \p{N} (Qwen2)
    if (i < n && isNumber(cps[i])) {
      size_t maxDigits = pattern == SplitPattern::Llama3 ? 3 : 1;
      size_t k = i;
      while (k < n && k - i < maxDigits && isNumber(cps[k]))
        ++k;
      return k - i;
    }
    //  ?[^\s\p{L}\p{N}]+[\r\n]*
    size_t k = at(i) == ' ' ? i + 1 : i;
    if (k < n && isOther(cps[k]))
      return run(run(k, isOther), isNewline) - i;
    // \s*[\r\n]+ : the whitespace run up to its last newline.
    size_t end = run(i, isSpace);
    for (size_t j = end; j > i; --j)
      if (isNewline(cps[j - 1]))
        return j - i;
  }
  // \s+(?!\S) then \s+
  size_t end = run(i, isSpace);
  if (end > i) {
    if (end == n || end - i == 1)
      return end - i;
    return end - 1 - i; // leave one space for the following word
  }
  return 1; // unreachable for these patterns; keeps progress guaranteed
}

std::vector<std::string> splitByPattern(SplitPattern pattern,
                                        llvm::StringRef text) {
  std::vector<uint32_t> cps = codePoints(text);
  std::vector<std::string> pieces;
  for (size_t i = 0; i < cps.size();) {
    size_t len = matchAt(pattern, cps, i);
    std::string piece;
    for (size_t k = i; k < i + len; ++k)
      piece += utf8Encode(cps[k]);
    pieces.push_back(std::move(piece));
    i += len;
  }
  return pieces;
}

} // namespace

//===----------------------------------------------------------------------===//
// The pipeline
//===----------------------------------------------------------------------===//

struct Tokenizer::Impl {
  // Model.
  std::vector<std::string> idToToken;
  llvm::StringMap<int32_t> tokenToId;
  llvm::DenseMap<uint64_t, std::pair<int32_t, int32_t>> merges; // -> rank, id
  bool byteFallback = false, fuseUnk = false, ignoreMerges = false;
  int32_t unkId = -1;
  int32_t byteTokens[256];

  // Added tokens, longest first.
  struct Added {
    std::string content;
    int32_t id;
    bool special;
  };
  std::vector<Added> added;
  /// Ids of special added tokens, which decode skips.
  llvm::DenseSet<int64_t> specialIds;

  // Normalizer and pre-tokenizer steps.
  struct Step {
    enum Kind {
      Prepend, Replace, NFC, Split, ByteLevel, Metaspace
    } kind;
    std::string a, b;
    SplitPattern pattern = SplitPattern::GPT2;
    bool flag = false;        // ByteLevel: add_prefix_space; Metaspace: split
    std::string scheme;       // Metaspace prepend_scheme
    bool useRegex = false;    // ByteLevel
  };
  std::vector<Step> normalizers, preTokenizers;

  // Decoder steps.
  struct DecodeStep {
    enum Kind { Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace } kind;
    std::string a, b;
    int start = 0, stop = 0;
    std::string scheme;
  };
  std::vector<DecodeStep> decoders;

  std::vector<int32_t> prefix, suffix; // post-processor, single sequence
  std::optional<int64_t> bos, eos;

  static uint64_t key(int32_t a, int32_t b) {
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  }

  std::string normalize(llvm::StringRef text) const;
  std::vector<std::string> preTokenize(std::string text, bool first) const;
  void bpe(llvm::StringRef word, std::vector<int64_t> &out) const;
};

std::string Tokenizer::Impl::normalize(llvm::StringRef text) const {
  std::string s = text.str();
  for (const Step &step : normalizers) {
    switch (step.kind) {
    case Step::Prepend:
      if (!s.empty())
        s = step.a + s;
      break;
    case Step::Replace:
      s = replaceAll(s, step.a, step.b);
      break;
    case Step::NFC: {
      UErrorCode status = U_ZERO_ERROR;
      const icu::Normalizer2 *nfc = icu::Normalizer2::getNFCInstance(status);
      icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
      std::string out;
      nfc->normalize(u, status).toUTF8String(out);
      if (U_SUCCESS(status))
        s = std::move(out);
      break;
    }
    default:
      break;
    }
  }
  return s;
}

std::vector<std::string>
Tokenizer::Impl::preTokenize(std::string text, bool first) const {
  std::vector<std::string> pieces = {std::move(text)};
  for (const Step &step : preTokenizers) {
    std::vector<std::string> next;
    for (std::string &piece : pieces) {
      switch (step.kind) {
      case Step::Split:
        for (std::string &p : splitByPattern(step.pattern, piece))
          next.push_back(std::move(p));
        break;
      case Step::ByteLevel: {
        std::vector<std::string> parts;
        std::string p = piece;
        if (step.flag && !p.empty() && p[0] != ' ')
          p = " " + p;
        if (step.useRegex)
          parts = splitByPattern(SplitPattern::GPT2, p);
        else
          parts = {p};
        for (const std::string &part : parts) {
          std::string mapped;
          for (unsigned char c : part)
            mapped += byteAlphabet().byteToChar[c];
          next.push_back(std::move(mapped));
        }
        break;
      }
      case Step::Metaspace: {
        std::string p = replaceAll(piece, " ", kMetaspace);
        bool prepend = step.scheme == "always" ||
                       (step.scheme == "first" && first);
        if (prepend && !llvm::StringRef(p).starts_with(kMetaspace))
          p = kMetaspace + p;
        if (!step.flag) {
          next.push_back(std::move(p));
          break;
        }
        // Split before every ▁, keeping it with the following text.
        size_t start = 0;
        for (size_t pos = p.find(kMetaspace, 1); pos != std::string::npos;
             pos = p.find(kMetaspace, pos + 1)) {
          next.push_back(p.substr(start, pos - start));
          start = pos;
        }
        next.push_back(p.substr(start));
        break;
      }
      default:
        next.push_back(std::move(piece));
      }
    }
    pieces = std::move(next);
  }
  return pieces;
}

void Tokenizer::Impl::bpe(llvm::StringRef word,
                          std::vector<int64_t> &out) const {
  if (word.empty())
    return;
  if (ignoreMerges) {
    auto it = tokenToId.find(word);
    if (it != tokenToId.end()) {
      out.push_back(it->second);
      return;
    }
  }
  // Initial symbols: characters, or their bytes, or unk.
  std::vector<int32_t> symbols;
  for (size_t i = 0; i < word.size();) {
    size_t n = utf8Length(word, i);
    llvm::StringRef ch = word.substr(i, n);
    auto it = tokenToId.find(ch);
    if (it != tokenToId.end()) {
      symbols.push_back(it->second);
    } else {
      bool bytesOk = byteFallback;
      for (size_t k = 0; bytesOk && k < n; ++k)
        bytesOk = byteTokens[uint8_t(ch[k])] >= 0;
      if (bytesOk) {
        for (size_t k = 0; k < n; ++k)
          symbols.push_back(byteTokens[uint8_t(ch[k])]);
      } else if (unkId >= 0) {
        if (!(fuseUnk && !symbols.empty() && symbols.back() == unkId))
          symbols.push_back(unkId);
      }
    }
    i += n;
  }

  // Merge loop over a doubly linked list with a min-heap of candidate pairs.
  const int64_t count = symbols.size();
  std::vector<int64_t> prev(count), next(count);
  std::vector<bool> alive(count, true);
  for (int64_t i = 0; i < count; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < count ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank;
    int64_t pos;
    int32_t left, right;
    bool operator>(const Candidate &o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto consider = [&](int64_t i) {
    if (i < 0 || next[i] < 0)
      return;
    auto it = merges.find(key(symbols[i], symbols[next[i]]));
    if (it != merges.end())
      queue.push({it->second.first, i, symbols[i], symbols[next[i]]});
  };
  for (int64_t i = 0; i < count; ++i)
    consider(i);
  while (!queue.empty()) {
    Candidate c = queue.top();
    queue.pop();
    int64_t i = c.pos;
    if (!alive[i] || next[i] < 0 || symbols[i] != c.left ||
        symbols[next[i]] != c.right)
      continue; // stale
    int64_t j = next[i];
    symbols[i] = merges.find(key(c.left, c.right))->second.second;
    alive[j] = false;
    next[i] = next[j];
    if (next[j] >= 0)
      prev[next[j]] = i;
    consider(prev[i]);
    consider(i);
  }
  for (int64_t i = 0; i >= 0 && i < count; i = next[i])
    out.push_back(symbols[i]);
}

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
llvm::Error
forEachComponent(const json &node, const char *listKey, const char *what,
                 Fields &f, llvm::StringRef src,
                 llvm::function_ref<llvm::Error(const json &, llvm::StringRef)>
                     parseOne,
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
    if (llvm::Error e = forEachComponent(child, listKey, what, f, src,
                                         parseOne, depth + 1))
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
  } else if (auto replace = type == "Replace" ? stringReplace(n) : std::nullopt) {
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

llvm::Error parsePreTokenizer(const json &p, llvm::StringRef type,
                              Impl &impl, Fields &f, llvm::StringRef src) {
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
    step.scheme = f.str(p, "prepend_scheme",
                        f.boolean(p, "add_prefix_space", true) ? "always"
                                                               : "never");
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
    step.scheme = f.str(d, "prepend_scheme",
                        f.boolean(d, "add_prefix_space", true) ? "always"
                                                               : "never");
  } else {
    return fail(src + ": unsupported decoder '" + type + "'");
  }
  impl.decoders.push_back(step);
  return llvm::Error::success();
}

/// Collects BOS-style prefix/suffix ids of the single-sequence template.
llvm::Error parsePostProcessor(const json &p, llvm::StringRef type,
                               Impl &impl, bool &found, llvm::StringRef src) {
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
      if (!a.is_object() || !a.contains("id") ||
          !a["id"].is_number_integer() || !a.contains("content") ||
          !a["content"].is_string() || a["id"].get<int64_t>() < 0 ||
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
          f.object(root, "pre_tokenizer"), "pretokenizers", "pre_tokenizer",
          f, src, [&](const json &p, llvm::StringRef type) {
            return parsePreTokenizer(p, type, im, f, src);
          }))
    return std::move(e);
  if (llvm::Error e = forEachComponent(
          f.object(root, "decoder"), "decoders", "decoder", f, src,
          [&](const json &d, llvm::StringRef type) {
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
  json config = configText.empty()
                    ? json::object()
                    : json::parse(configText.begin(), configText.end(),
                                  nullptr, false);
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

//===----------------------------------------------------------------------===//
// Encode / decode
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<int64_t>>
Tokenizer::encode(llvm::StringRef text, bool addSpecial) const {
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8Length(text, i);
    if (!n)
      return fail(llvm::formatv("input is not valid UTF-8 at byte {0}", i));
    i += n;
  }
  std::vector<int64_t> ids;
  if (addSpecial)
    ids.assign(impl->prefix.begin(), impl->prefix.end());
  // Split out added tokens (longest match first), then run the pipeline on
  // each remaining segment.
  size_t segmentStart = 0;
  bool first = true;
  auto flush = [&](size_t end) {
    if (end > segmentStart) {
      std::string normalized =
          impl->normalize(text.substr(segmentStart, end - segmentStart));
      for (const std::string &piece :
           impl->preTokenize(std::move(normalized), first))
        impl->bpe(piece, ids);
      first = false;
    }
  };
  for (size_t i = 0; i < text.size();) {
    const Impl::Added *hit = nullptr;
    for (const Impl::Added &a : impl->added)
      if (text.substr(i).starts_with(a.content)) {
        hit = &a;
        break;
      }
    if (!hit) {
      i += utf8Length(text, i);
      continue;
    }
    flush(i);
    ids.push_back(hit->id);
    first = false;
    i += hit->content.size();
    segmentStart = i;
  }
  flush(text.size());
  if (addSpecial)
    ids.insert(ids.end(), impl->suffix.begin(), impl->suffix.end());
  return ids;
}

llvm::Expected<std::string>
Tokenizer::decode(const std::vector<int64_t> &ids) const {
  std::vector<std::string> tokens;
  for (int64_t id : ids) {
    if (id < 0 || id >= int64_t(impl->idToToken.size()) ||
        impl->idToToken[id].empty())
      return fail(llvm::formatv("token id {0} is not in the vocabulary", id));
    if (!impl->specialIds.count(id))
      tokens.push_back(impl->idToToken[id]);
  }
  for (const Impl::DecodeStep &step : impl->decoders) {
    switch (step.kind) {
    case Impl::DecodeStep::Replace:
      for (std::string &t : tokens)
        t = replaceAll(t, step.a, step.b);
      break;
    case Impl::DecodeStep::ByteFallback: {
      std::vector<std::string> out;
      std::string bytes;
      // A run of <0xNN> tokens becomes its bytes if they are valid UTF-8;
      // otherwise tokenizers emits one U+FFFD per byte.
      auto flushBytes = [&] {
        if (bytes.empty())
          return;
        if (utf8Lossy(bytes) == bytes) {
          out.push_back(bytes);
        } else {
          std::string replacement;
          for (size_t k = 0; k < bytes.size(); ++k)
            replacement += "\xEF\xBF\xBD";
          out.push_back(replacement);
        }
        bytes.clear();
      };
      for (std::string &t : tokens) {
        unsigned value;
        if (t.size() == 6 && llvm::StringRef(t).starts_with("<0x") &&
            t[5] == '>' && !llvm::StringRef(t).substr(3, 2).getAsInteger(16, value)) {
          bytes += char(value);
        } else {
          flushBytes();
          out.push_back(std::move(t));
        }
      }
      flushBytes();
      tokens = std::move(out);
      break;
    }
    case Impl::DecodeStep::Fuse: {
      std::string all;
      for (const std::string &t : tokens)
        all += t;
      tokens = {all};
      break;
    }
    case Impl::DecodeStep::Strip:
      for (std::string &t : tokens) {
        llvm::StringRef s(t);
        for (int k = 0; k < step.start && s.starts_with(step.a); ++k)
          s = s.drop_front(step.a.size());
        for (int k = 0; k < step.stop && s.ends_with(step.a); ++k)
          s = s.drop_back(step.a.size());
        t = s.str();
      }
      break;
    case Impl::DecodeStep::ByteLevel: {
      std::string bytes;
      for (const std::string &t : tokens)
        for (uint32_t c : codePoints(t)) {
          auto it = byteAlphabet().charToByte.find(c);
          if (it != byteAlphabet().charToByte.end())
            bytes += char(it->second);
          else
            bytes += utf8Encode(c);
        }
      tokens = {utf8Lossy(bytes)};
      break;
    }
    case Impl::DecodeStep::Metaspace:
      for (size_t k = 0; k < tokens.size(); ++k) {
        tokens[k] = replaceAll(tokens[k], kMetaspace, " ");
        if (k == 0 && step.scheme != "never" &&
            llvm::StringRef(tokens[k]).starts_with(" "))
          tokens[k].erase(0, 1);
      }
      break;
    }
  }
  std::string text;
  for (const std::string &t : tokens)
    text += t;
  return text;
}

int64_t Tokenizer::vocabSize() const { return impl->idToToken.size(); }
std::optional<int64_t> Tokenizer::bosId() const { return impl->bos; }
std::optional<int64_t> Tokenizer::eosId() const { return impl->eos; }
llvm::StringRef Tokenizer::tokenText(int64_t id) const {
  if (id < 0 || id >= int64_t(impl->idToToken.size()))
    return "";
  return impl->idToToken[id];
}

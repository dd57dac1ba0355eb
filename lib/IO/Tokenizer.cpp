//===- Tokenizer.cpp - Hugging Face tokenizer.json (BPE) -------*- C++ -*-===//
//
// A re-implementation of the parts of Hugging Face `tokenizers` that BPE
// language-model tokenizers use. Each pipeline stage is a small step list
// read from tokenizer.json (TokenizerLoad.cpp); this file runs them:
// normalize, pre-tokenize, BPE, encode and decode.
//
// The BPE merge loop follows `tokenizers`' Word::merge_all: repeatedly merge
// the adjacent pair with the lowest merge rank (leftmost on ties) until no
// pair has a merge.
//
//===----------------------------------------------------------------------===//

#include "TokenizerImpl.h"

#include "llvm/Support/FormatVariadic.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <queue>

using namespace mlir::hfq::io;
using namespace mlir::hfq::io::detail;

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

std::vector<std::string> Tokenizer::Impl::preTokenize(std::string text,
                                                      bool first) const {
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
        bool prepend =
            step.scheme == "always" || (step.scheme == "first" && first);
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
// Encode / decode
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<int64_t>> Tokenizer::encode(llvm::StringRef text,
                                                       bool addSpecial) const {
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
            t[5] == '>' &&
            !llvm::StringRef(t).substr(3, 2).getAsInteger(16, value)) {
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

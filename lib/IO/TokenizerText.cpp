//===- TokenizerText.cpp - UTF-8, byte alphabet, split patterns -*- C++ -*-===//
//
// The text-level pieces of the tokenizer: UTF-8 decoding as Rust's String
// does it, GPT-2's byte alphabet, and the GPT-2 / Llama 3 / Qwen2 split
// regexes as hand-written matchers over ICU character classes.
//
//===----------------------------------------------------------------------===//

#include "TokenizerImpl.h"

#include <unicode/uchar.h>

using namespace mlir::hfq::io;
using namespace mlir::hfq::io::detail;

//===----------------------------------------------------------------------===//
// UTF-8
//===----------------------------------------------------------------------===//

/// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t mlir::hfq::io::detail::utf8Length(llvm::StringRef s, size_t i,
                                         uint32_t *cp) {
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

std::string mlir::hfq::io::detail::utf8Encode(uint32_t c) {
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
std::vector<uint32_t> mlir::hfq::io::detail::codePoints(llvm::StringRef s) {
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
std::string mlir::hfq::io::detail::utf8Lossy(llvm::StringRef bytes) {
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

std::string mlir::hfq::io::detail::replaceAll(llvm::StringRef s,
                                              llvm::StringRef from,
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

//===----------------------------------------------------------------------===//
// Byte-level alphabet (GPT-2's bytes_to_unicode)
//===----------------------------------------------------------------------===//

ByteAlphabet::ByteAlphabet() {
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

const ByteAlphabet &mlir::hfq::io::detail::byteAlphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}

//===----------------------------------------------------------------------===//
// Split patterns (hand-written matchers of the known regexes)
//===----------------------------------------------------------------------===//

static bool isLetter(uint32_t c) {
  int8_t t = u_charType(UChar32(c));
  return t == U_UPPERCASE_LETTER || t == U_LOWERCASE_LETTER ||
         t == U_TITLECASE_LETTER || t == U_MODIFIER_LETTER ||
         t == U_OTHER_LETTER;
}
static bool isNumber(uint32_t c) {
  int8_t t = u_charType(UChar32(c));
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER ||
         t == U_OTHER_NUMBER;
}
static bool isSpace(uint32_t c) { return u_isUWhiteSpace(UChar32(c)); }
static bool isNewline(uint32_t c) { return c == '\r' || c == '\n'; }

static const char *const kGPT2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|"
    "\\s+(?!\\S)|\\s+";
static const char *const kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char *const kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

std::optional<SplitPattern>
mlir::hfq::io::detail::recognizePattern(llvm::StringRef regex) {
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
static size_t matchAt(SplitPattern pattern, const std::vector<uint32_t> &cps,
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
    if (i < n && !isNewline(cps[i]) && !isLetter(cps[i]) && !isNumber(cps[i]) &&
        i + 1 < n && isLetter(cps[i + 1]))
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

std::vector<std::string>
mlir::hfq::io::detail::splitByPattern(SplitPattern pattern,
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

//===- Codebooks.cpp - lookup tables of codebook encodings -----*- C++ -*-===//
//
// NF4 and FP4 are the constants of bitsandbytes' dequantization kernels
// (float32). The dynamic map is recomputed the way bitsandbytes'
// create_dynamic_map does it, with torch.linspace's float32 arithmetic
// reproduced bit for bit (see linspace below).
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Codebooks.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace mlir::hfq::numerics;

llvm::ArrayRef<float> mlir::hfq::numerics::nf4Table() {
  static const float table[16] = {
      -1.0f,
      -0.6961928009986877f,
      -0.5250730514526367f,
      -0.39491748809814453f,
      -0.28444138169288635f,
      -0.18477343022823334f,
      -0.09105003625154495f,
      0.0f,
      0.07958029955625534f,
      0.16093020141124725f,
      0.24611230194568634f,
      0.33791524171829224f,
      0.44070982933044434f,
      0.5626170039176941f,
      0.7229568362236023f,
      1.0f};
  return table;
}

llvm::ArrayRef<float> mlir::hfq::numerics::fp4Table() {
  // bitsandbytes' get_4bit_type("fp4"): these values divided (in float32)
  // by the largest magnitude, 12. Sign in bit 3; code 8 is +0 because the
  // Python list spells it as the integer -0.
  static const std::vector<float> table = [] {
    const float raw[16] = {0,  0.0625f,  8,  12,  4,  6,  2,  3,
                           0, -0.0625f, -8, -12, -4, -6, -2, -3};
    std::vector<float> t(16);
    for (int i = 0; i < 16; ++i)
      t[i] = raw[i] / 12.0f;
    return t;
  }();
  return table;
}

/// torch.linspace(start, end, steps, dtype=float32) as x86-64 builds of
/// torch compute it (checked bit for bit against Debian's torch for every
/// size the dynamic map uses). step = (end - start) / (steps - 1); index i
/// is fma(step, i, start) in the first half and fma(-step, steps-1-i, end) in
/// the second. Runs of 16 go through two 8-lane vectors whose first lane is
/// that fused formula and whose lane j adds j * step to it unfused
/// (Vectorized::arange); the remainder is scalar.
static std::vector<float> linspace(float start, float end, int64_t steps) {
  std::vector<float> out(steps);
  const float step = (end - start) / float(steps - 1);
  const int64_t halfway = steps / 2;
  auto fused = [&](int64_t i) {
    return i < halfway ? std::fma(step, float(i), start)
                       : std::fma(-step, float(steps - i - 1), end);
  };
  int64_t i = 0;
  while (i + 16 <= steps)
    for (int vector = 0; vector < 2; ++vector, i += 8) {
      const float base = fused(i);
      out[i] = base;
      for (int64_t j = 1; j < 8; ++j) {
        const float offset = float(j) * step; // own statement: never fused
        out[i + j] = base + offset;
      }
    }
  for (; i < steps; ++i)
    out[i] = fused(i);
  return out;
}

llvm::ArrayRef<float> mlir::hfq::numerics::dynamicMap8() {
  static const std::vector<float> table = [] {
    const int maxExponentBits = 7, nonSignBits = 7;
    std::vector<float> data;
    for (int i = 0; i < maxExponentBits; ++i) {
      int64_t fractionItems = (int64_t(1) << (i + nonSignBits - maxExponentBits)) + 1;
      std::vector<float> bounds = linspace(0.1f, 1.0f, fractionItems);
      float magnitude = float(std::pow(10.0, -(maxExponentBits - 1) + i));
      for (int64_t k = 0; k + 1 < fractionItems; ++k) {
        float mean = (bounds[k] + bounds[k + 1]) / 2.0f;
        data.push_back(magnitude * mean);
        data.push_back(-magnitude * mean);
      }
    }
    data.push_back(0.0f);
    data.push_back(1.0f);
    std::sort(data.begin(), data.end());
    return data;
  }();
  return table;
}

uint8_t mlir::hfq::numerics::nearestCode(llvm::ArrayRef<float> table,
                                         float x) {
  size_t best = 0;
  float bestDistance = std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < table.size(); ++i) {
    float d = std::fabs(x - table[i]);
    if (d < bestDistance) {
      best = i;
      bestDistance = d;
    }
  }
  return uint8_t(best);
}

/// x / scale, or 0 for an all-zero block (scale 0).
static float normalized(float x, float scale) {
  return scale == 0.0f ? 0.0f : x / scale;
}

/// max|v| over each run of `block` values.
static std::vector<float> blockAbsmax(llvm::ArrayRef<float> v, int64_t block) {
  std::vector<float> out((v.size() + block - 1) / block, 0.0f);
  for (size_t i = 0; i < v.size(); ++i)
    out[i / block] = std::max(out[i / block], std::fabs(v[i]));
  return out;
}

llvm::Expected<CodebookQuantized> mlir::hfq::numerics::quantizeCodebook(
    llvm::ArrayRef<float> weights, llvm::ArrayRef<float> table,
    int64_t blockSize, int64_t doubleQuantBlock) {
  if (blockSize <= 0 || doubleQuantBlock < 0)
    return llvm::createStringError(llvm::formatv(
        "block sizes must be positive (got {0} and {1})", blockSize,
        doubleQuantBlock));
  for (size_t i = 0; i < weights.size(); ++i)
    if (!std::isfinite(weights[i]))
      return llvm::createStringError(llvm::formatv(
          "weight at flat index {0} is not finite ({1})", i, weights[i]));
  CodebookQuantized q;
  q.absmax = blockAbsmax(weights, blockSize);
  q.codes.resize(weights.size());
  for (size_t i = 0; i < weights.size(); ++i)
    q.codes[i] =
        nearestCode(table, normalized(weights[i], q.absmax[i / blockSize]));
  if (!doubleQuantBlock)
    return q;

  float sum = 0.0f;
  for (float a : q.absmax)
    sum += a;
  q.offset = sum / float(q.absmax.size());
  std::vector<float> centred(q.absmax.size());
  for (size_t i = 0; i < centred.size(); ++i)
    centred[i] = q.absmax[i] - q.offset;
  q.absmax2 = blockAbsmax(centred, doubleQuantBlock);
  llvm::ArrayRef<float> map = dynamicMap8();
  q.absmaxCodes.resize(centred.size());
  for (size_t i = 0; i < centred.size(); ++i)
    q.absmaxCodes[i] = nearestCode(
        map, normalized(centred[i], q.absmax2[i / doubleQuantBlock]));
  q.absmax.clear();
  return q;
}

std::vector<float> mlir::hfq::numerics::dequantizeCodebook(
    const CodebookQuantized &q, llvm::ArrayRef<float> table, int64_t blockSize,
    int64_t doubleQuantBlock) {
  std::vector<float> absmax = q.absmax;
  if (doubleQuantBlock) {
    llvm::ArrayRef<float> map = dynamicMap8();
    absmax.resize(q.absmaxCodes.size());
    for (size_t i = 0; i < absmax.size(); ++i)
      absmax[i] = map[q.absmaxCodes[i]] * q.absmax2[i / doubleQuantBlock] +
                  q.offset;
  }
  std::vector<float> out(q.codes.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = table[q.codes[i]] * absmax[i / blockSize];
  return out;
}

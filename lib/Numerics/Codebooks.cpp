//===- Codebooks.cpp - lookup tables of codebook encodings -----*- C++ -*-===//
//
// NF4 and FP4 are the constants of bitsandbytes' dequantization kernels
// (float32). The dynamic map is recomputed the way bitsandbytes'
// create_dynamic_map does it, with torch.linspace's float32 arithmetic.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Codebooks.h"

#include <algorithm>
#include <cmath>
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
  // Sign in bit 3; magnitudes as bitsandbytes' FP4 decision tree returns them.
  static const float table[16] = {
      0.0f,          0.0052083333f,  0.66666667f,  1.0f,
      0.33333333f,   0.5f,           0.16666667f,  0.25f,
      -0.0f,         -0.0052083333f, -0.66666667f, -1.0f,
      -0.33333333f,  -0.5f,          -0.16666667f, -0.25f};
  return table;
}

/// torch.linspace(start, end, steps) in float32: the first half counts up
/// from start, the second half down from end.
static std::vector<float> linspace(float start, float end, int64_t steps) {
  std::vector<float> out(steps);
  float step = (end - start) / float(steps - 1);
  int64_t halfway = steps / 2;
  for (int64_t i = 0; i < steps; ++i)
    out[i] = i < halfway ? start + step * float(i)
                         : end - step * float(steps - i - 1);
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

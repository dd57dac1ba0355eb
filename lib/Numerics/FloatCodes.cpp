//===- FloatCodes.cpp - FP8/FP4 codes with per-group scales ----*- C++ -*-===//
//
// Round-to-nearest into narrow float codes (OCP FP8/FP4) with plain,
// power-of-two (MX) or two-level (NVFP4) scales. Element formats go through
// LLVM's APFloat, so rounding, subnormals and saturation follow the formats'
// definitions rather than a transcription of them.
//
//===----------------------------------------------------------------------===//

#include "AffineSlots.h"
#include "hfq/Numerics/Affine.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/APInt.h"

#include <algorithm>
#include <cmath>

using namespace mlir::hfq::numerics;
using mlir::hfq::numerics::detail::checkMatrix;
using mlir::hfq::numerics::detail::Slots;

namespace {
const llvm::fltSemantics &semanticsOf(MiniFloat type) {
  switch (type) {
  case MiniFloat::E2M1:
    return llvm::APFloat::Float4E2M1FN();
  case MiniFloat::E4M3:
    return llvm::APFloat::Float8E4M3FN();
  case MiniFloat::E5M2:
    return llvm::APFloat::Float8E5M2();
  case MiniFloat::E8M0:
    return llvm::APFloat::Float8E8M0FNU();
  }
  llvm_unreachable("unknown format");
}

/// The exponent of the largest power of two <= maxFinite (OCP MX's emax).
int emaxOf(MiniFloat type) {
  int exponent;
  std::frexp(maxFinite(type), &exponent);
  return exponent - 1;
}

/// floor(log2 a) for finite a > 0, exactly (subnormals included).
int floorLog2(float a) {
  int exponent;
  std::frexp(a, &exponent);
  return exponent - 1;
}
} // namespace

llvm::StringRef mlir::hfq::numerics::stringify(MiniFloat type) {
  switch (type) {
  case MiniFloat::E2M1:
    return "f4E2M1FN";
  case MiniFloat::E4M3:
    return "f8E4M3FN";
  case MiniFloat::E5M2:
    return "f8E5M2";
  case MiniFloat::E8M0:
    return "f8E8M0FNU";
  }
  llvm_unreachable("unknown format");
}

unsigned mlir::hfq::numerics::bitWidth(MiniFloat type) {
  return type == MiniFloat::E2M1 ? 4 : 8;
}

float mlir::hfq::numerics::maxFinite(MiniFloat type) {
  llvm::APFloat v = llvm::APFloat::getLargest(semanticsOf(type));
  return float(v.convertToDouble());
}

float mlir::hfq::numerics::decodeMiniFloat(uint8_t code, MiniFloat type) {
  unsigned width = bitWidth(type);
  llvm::APFloat v(semanticsOf(type),
                  llvm::APInt(width, code & ((1u << width) - 1)));
  // Checked first: LLVM 22's APFloat widens E8M0's NaN (0xFF) to infinity.
  if (v.isNaN())
    return std::nanf("");
  return float(v.convertToDouble());
}

uint8_t mlir::hfq::numerics::encodeMiniFloat(float x, MiniFloat type) {
  assert(type != MiniFloat::E8M0 && std::isfinite(x));
  float limit = maxFinite(type);
  llvm::APFloat v(std::clamp(x, -limit, limit));
  bool lost;
  v.convert(semanticsOf(type), llvm::APFloat::rmNearestTiesToEven, &lost);
  return uint8_t(v.bitcastToAPInt().getZExtValue());
}

AffineScheme FloatCodeScheme::grouping() const {
  AffineScheme s;
  s.bits = bitWidth(code);
  s.granularity = granularity;
  s.groupSize = groupSize;
  return s;
}

llvm::Error FloatCodeScheme::validate(int64_t cols) const {
  if (code == MiniFloat::E8M0)
    return llvm::createStringError(
        "f8E8M0FNU has no zero and cannot be a code type");
  return grouping().validate(cols);
}

llvm::Expected<FloatCodeQuantized>
mlir::hfq::numerics::quantizeFloatCodes(llvm::ArrayRef<float> weights,
                                        int64_t rows, int64_t cols,
                                        const FloatCodeScheme &scheme) {
  if (llvm::Error e = scheme.validate(cols))
    return std::move(e);
  if (llvm::Error e = checkMatrix(weights, rows, cols))
    return std::move(e);

  Slots slots(scheme.grouping(), rows, cols);
  std::vector<float> amax(slots.count(), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float &a = amax[slots.of(r, c)];
      a = std::max(a, std::fabs(weights[r * cols + c]));
    }

  FloatCodeQuantized q;
  q.rows = rows;
  q.cols = cols;
  q.scales.resize(slots.count());
  const float top = maxFinite(scheme.code);
  switch (scheme.scales) {
  case FloatCodeScheme::Scales::Float:
    for (size_t s = 0; s < amax.size(); ++s) {
      q.scales[s] = roundToScaleType(amax[s] / top, scheme.scaleType);
      if (!std::isfinite(q.scales[s])) {
        auto [row, group] = slots.position(s);
        return llvm::createStringError(llvm::formatv(
            "row {0}, group {1}: its scale does not fit in {2} (weights too "
            "large for the scale type)",
            row, group, stringify(scheme.scaleType)));
      }
    }
    break;
  case FloatCodeScheme::Scales::E8M0: {
    const int emax = emaxOf(scheme.code);
    q.scaleCodes.resize(amax.size());
    for (size_t s = 0; s < amax.size(); ++s) {
      int e = amax[s] > 0.0f ? floorLog2(amax[s]) - emax : -127;
      e = std::clamp(e, -127, 127);
      q.scaleCodes[s] = uint8_t(e + 127);
      q.scales[s] = decodeMiniFloat(q.scaleCodes[s], MiniFloat::E8M0);
    }
    break;
  }
  case FloatCodeScheme::Scales::E4M3: {
    float largest = 0.0f;
    for (float a : amax)
      largest = std::max(largest, a / top);
    const float e4m3Max = maxFinite(MiniFloat::E4M3);
    q.tensorScale = largest > 0.0f ? largest / e4m3Max : 1.0f;
    q.scaleCodes.resize(amax.size());
    for (size_t s = 0; s < amax.size(); ++s) {
      float wanted = amax[s] / top;
      uint8_t c = encodeMiniFloat(wanted / q.tensorScale, MiniFloat::E4M3);
      if (c == 0 && wanted > 0.0f)
        c = 1; // the smallest subnormal, so that the group does not vanish
      q.scaleCodes[s] = c;
      q.scales[s] = decodeMiniFloat(c, MiniFloat::E4M3) * q.tensorScale;
    }
    break;
  }
  }

  q.codes.resize(weights.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float s = q.scales[slots.of(r, c)];
      float w = weights[r * cols + c];
      q.codes[r * cols + c] =
          s > 0.0f ? encodeMiniFloat(w / s, scheme.code) : uint8_t(0);
    }
  return q;
}

std::vector<float>
mlir::hfq::numerics::dequantize(const FloatCodeQuantized &q,
                                const FloatCodeScheme &scheme) {
  std::vector<float> table(size_t(1) << bitWidth(scheme.code));
  for (size_t i = 0; i < table.size(); ++i)
    table[i] = decodeMiniFloat(uint8_t(i), scheme.code);
  Slots slots(scheme.grouping(), q.rows, q.cols);
  std::vector<float> out(q.codes.size());
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t c = 0; c < q.cols; ++c)
      out[r * q.cols + c] =
          table[q.codes[r * q.cols + c]] * q.scales[slots.of(r, c)];
  return out;
}

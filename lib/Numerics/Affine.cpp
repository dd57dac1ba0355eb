//===- Affine.cpp - integer (affine) quantization of weight matrices -*- C++ -*-===//
//
// Round-to-nearest with GPTQ's reference range rule. Every step is done in
// float32 in the same order as the reference lowering of `hfq.quantize`, so
// the two agree bit for bit.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Affine.h"
#include "AffineSlots.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir::hfq::numerics;
using mlir::hfq::numerics::detail::checkMatrix;
using mlir::hfq::numerics::detail::Slots;

namespace {
const llvm::fltSemantics &semanticsOf(ScaleType type) {
  return type == ScaleType::F16    ? llvm::APFloat::IEEEhalf()
         : type == ScaleType::BF16 ? llvm::APFloat::BFloat()
                                   : llvm::APFloat::IEEEsingle();
}

/// x in `type` (round to nearest even; positive values below the smallest
/// subnormal become it).
llvm::APFloat toScaleType(float x, ScaleType type) {
  llvm::APFloat v(x);
  bool lost;
  v.convert(semanticsOf(type), llvm::APFloat::rmNearestTiesToEven, &lost);
  if (v.isZero() && x > 0.0f)
    v = llvm::APFloat::getSmallest(semanticsOf(type));
  return v;
}
} // namespace

float mlir::hfq::numerics::roundToScaleType(float x, ScaleType type) {
  if (type == ScaleType::F32)
    return x;
  llvm::APFloat v = toScaleType(x, type);
  bool lost;
  v.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return v.convertToFloat();
}

std::vector<char> mlir::hfq::numerics::scaleBytes(llvm::ArrayRef<float> values,
                                                  ScaleType type) {
  if (type == ScaleType::F32) {
    std::vector<char> out(values.size() * sizeof(float));
    if (!values.empty())
      std::memcpy(out.data(), values.data(), out.size());
    return out;
  }
  std::vector<char> out(values.size() * 2);
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t bits =
        uint16_t(toScaleType(values[i], type).bitcastToAPInt().getZExtValue());
    out[2 * i] = char(bits & 0xff);
    out[2 * i + 1] = char(bits >> 8);
  }
  return out;
}

int64_t AffineScheme::numGroups(int64_t cols) const {
  switch (granularity) {
  case Granularity::Tensor:
  case Granularity::Channel:
    return 1;
  case Granularity::Group:
    return cols / groupSize;
  }
  return 1;
}

llvm::Error AffineScheme::validate(int64_t cols) const {
  if (bits < 2 || bits > 8)
    return llvm::createStringError(
        llvm::formatv("bit width {0} is outside 2..8", bits));
  if (granularity == Granularity::Group &&
      (groupSize <= 0 || cols % groupSize != 0))
    return llvm::createStringError(llvm::formatv(
        "group size {0} does not divide the input dimension {1}", groupSize,
        cols));
  return llvm::Error::success();
}

namespace {
/// One (scale, zero) candidate; zero is integral unless float zeros.
struct Params {
  float scale, zero;
};

/// Fails when a stored scale overflowed its type.
llvm::Error checkScales(const AffineScheme &scheme, const Slots &slots,
                        const std::vector<Params> &params) {
  for (int64_t s = 0; s < int64_t(params.size()); ++s)
    if (!std::isfinite(params[s].scale) || !std::isfinite(params[s].zero)) {
      auto [row, group] = slots.position(s);
      return llvm::createStringError(llvm::formatv(
          "row {0}, group {1}: its scale does not fit in {2} (weights too "
          "large for the scale type)",
          row, group, stringify(scheme.scaleType)));
    }
  return llvm::Error::success();
}

/// GPTQ's range rule for the range [lo, hi] (lo <= 0 <= hi).
Params rangeParams(const AffineScheme &scheme, float lo, float hi,
                   float maxq) {
  if (scheme.symmetric) {
    float a = std::max(-lo, hi);
    if (a == 0.0f)
      a = 1.0f;
    return {roundToScaleType((a + a) / maxq, scheme.scaleType),
            float(1u << (scheme.bits - 1))};
  }
  if (lo == hi) {
    lo = -1.0f;
    hi = 1.0f;
  }
  float scale = roundToScaleType((hi - lo) / maxq, scheme.scaleType);
  float zero = -lo / scale;
  if (scheme.floatZero)
    return {scale, roundToScaleType(zero, scheme.scaleType)};
  return {scale, std::clamp(std::nearbyint(zero), 0.0f, maxq)};
}

float quantizeOne(float w, Params p, float maxq) {
  return std::clamp(std::nearbyint(w / p.scale) + p.zero, 0.0f, maxq);
}

/// Fills scales and zeros (integer or float) of q from per-slot params.
void storeParams(AffineQuantized &q, const AffineScheme &scheme,
                 const std::vector<Params> &params) {
  q.scales.resize(params.size());
  for (size_t s = 0; s < params.size(); ++s)
    q.scales[s] = params[s].scale;
  if (scheme.floatZero) {
    q.floatZeros.resize(params.size());
    for (size_t s = 0; s < params.size(); ++s)
      q.floatZeros[s] = params[s].zero;
  } else {
    q.zeros.resize(params.size());
    for (size_t s = 0; s < params.size(); ++s)
      q.zeros[s] = int32_t(params[s].zero);
  }
}
} // namespace

llvm::Expected<AffineQuantized>
mlir::hfq::numerics::quantizeRTN(llvm::ArrayRef<float> weights, int64_t rows,
                                 int64_t cols, const AffineScheme &scheme) {
  if (llvm::Error e = scheme.validate(cols))
    return std::move(e);
  if (llvm::Error e = checkMatrix(weights, rows, cols))
    return std::move(e);

  Slots slots(scheme, rows, cols);
  const float maxq = float((1u << scheme.bits) - 1);
  std::vector<float> lo(slots.count(), 0.0f), hi(slots.count(), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float w = weights[r * cols + c];
      int64_t s = slots.of(r, c);
      lo[s] = std::min(lo[s], w);
      hi[s] = std::max(hi[s], w);
    }
  std::vector<Params> params(slots.count());
  for (int64_t s = 0; s < slots.count(); ++s)
    params[s] = rangeParams(scheme, lo[s], hi[s], maxq);

  if (scheme.clip.enabled) {
    std::vector<double> best(slots.count(),
                             std::numeric_limits<double>::infinity());
    std::vector<double> err(slots.count());
    std::vector<Params> candidate(slots.count());
    int steps = int(scheme.clip.maxShrink * float(scheme.clip.grid));
    for (int i = 0; i < steps; ++i) {
      float p = 1.0f - float(i) / float(scheme.clip.grid);
      for (int64_t s = 0; s < slots.count(); ++s) {
        candidate[s] = rangeParams(scheme, p * lo[s], p * hi[s], maxq);
        // Symmetric GPTQ keeps z = 2^(bits-1) for every candidate.
      }
      std::fill(err.begin(), err.end(), 0.0);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          float w = weights[r * cols + c];
          int64_t s = slots.of(r, c);
          Params cp = candidate[s];
          float d = (quantizeOne(w, cp, maxq) - cp.zero) * cp.scale - w;
          err[s] += std::pow(double(std::fabs(d)), double(scheme.clip.norm));
        }
      for (int64_t s = 0; s < slots.count(); ++s)
        if (err[s] < best[s]) {
          best[s] = err[s];
          params[s] = candidate[s];
        }
    }
  }

  AffineQuantized q;
  if (llvm::Error e = checkScales(scheme, slots, params))
    return std::move(e);
  q.rows = rows;
  q.cols = cols;
  q.codes.resize(weights.size());
  storeParams(q, scheme, params);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      q.codes[r * cols + c] = uint8_t(
          quantizeOne(weights[r * cols + c], params[slots.of(r, c)], maxq));
  return q;
}

llvm::Expected<AffineQuantized> mlir::hfq::numerics::quantizeHQQ(
    llvm::ArrayRef<float> weights, int64_t rows, int64_t cols,
    const AffineScheme &scheme, const HQQOptions &options) {
  if (llvm::Error e = scheme.validate(cols))
    return std::move(e);
  if (llvm::Error e = checkMatrix(weights, rows, cols))
    return std::move(e);
  if (scheme.symmetric || !scheme.floatZero)
    return llvm::createStringError("HQQ needs an asymmetric scheme with float "
                                   "zero points");
  if (options.iters < 0 || !(options.beta > 0.0f) || !(options.kappa > 0.0f))
    return llvm::createStringError("HQQ needs iters >= 0, beta > 0, kappa > 0");

  Slots slots(scheme, rows, cols);
  const int64_t n = rows * cols, numSlots = slots.count();
  const float maxq = float((1u << scheme.bits) - 1);
  std::vector<float> lo(numSlots, std::numeric_limits<float>::infinity());
  std::vector<float> hi(numSlots, -std::numeric_limits<float>::infinity());
  std::vector<int64_t> counts(numSlots, 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t s = slots.of(r, c);
      lo[s] = std::min(lo[s], weights[r * cols + c]);
      hi[s] = std::max(hi[s], weights[r * cols + c]);
      ++counts[s];
    }
  // Inverse scales S (w * S + z quantizes) and zeros, in float32 as the
  // reference computes them on CPU.
  std::vector<float> invScale(numSlots), zero(numSlots);
  for (int64_t s = 0; s < numSlots; ++s) {
    float denom = hi[s] - lo[s];
    float S = std::fabs(denom) <= 1e-4f ? 1.0f : maxq / denom;
    invScale[s] = std::min(S, 2e4f);
    zero[s] = -lo[s] * invScale[s];
    if (options.roundZero)
      zero[s] = std::nearbyint(zero[s]);
  }
  auto quant = [&](float w, int64_t s) {
    return std::clamp(std::nearbyint(w * invScale[s] + zero[s]), 0.0f, maxq);
  };
  auto shrink = [&](float x, float beta) {
    float a = std::fabs(x);
    float t = options.lpNorm == 1.0f
                  ? 1.0f / beta
                  : (1.0f / beta) * std::pow(a + 1e-8f, options.lpNorm - 1.0f);
    return std::copysign(std::max(a - t, 0.0f), x);
  };

  float beta = options.beta;
  double bestError = 1e4;
  std::vector<double> zeroSum(numSlots);
  for (int it = 0; it < options.iters; ++it) {
    std::fill(zeroSum.begin(), zeroSum.end(), 0.0);
    double absError = 0.0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        int64_t s = slots.of(r, c);
        float w = weights[r * cols + c];
        float wq = quant(w, s);
        float wr = (wq - zero[s]) / invScale[s];
        float we = shrink(w - wr, beta);
        zeroSum[s] += wq - (w - we) * invScale[s];
        absError += std::fabs(w - wr);
      }
    for (int64_t s = 0; s < numSlots; ++s)
      zero[s] = float(zeroSum[s] / double(counts[s]));
    beta *= options.kappa;
    double error = absError / double(n);
    if (error < bestError)
      bestError = error;
    else
      break;
  }

  AffineQuantized q;
  q.rows = rows;
  q.cols = cols;
  q.codes.resize(n);
  std::vector<Params> params(numSlots);
  // The codes were optimized against these values; the stored scale and
  // zero are rounded to the scale type afterwards, as the reference casts
  // its meta data to the compute dtype.
  for (int64_t s = 0; s < numSlots; ++s)
    params[s] = {roundToScaleType(1.0f / invScale[s], scheme.scaleType),
                 roundToScaleType(zero[s], scheme.scaleType)};
  if (llvm::Error e = checkScales(scheme, slots, params))
    return std::move(e);
  storeParams(q, scheme, params);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      q.codes[r * cols + c] =
          uint8_t(quant(weights[r * cols + c], slots.of(r, c)));
  return q;
}

llvm::Expected<AffineQuantized>
mlir::hfq::numerics::quantizeInt8Rowwise(llvm::ArrayRef<float> weights,
                                         int64_t rows, int64_t cols) {
  if (llvm::Error e = checkMatrix(weights, rows, cols))
    return std::move(e);
  AffineQuantized q;
  q.rows = rows;
  q.cols = cols;
  q.codes.resize(weights.size());
  q.scales.resize(rows);
  q.zeros.assign(rows, 128);
  for (int64_t r = 0; r < rows; ++r) {
    float a = 0.0f;
    for (int64_t c = 0; c < cols; ++c)
      a = std::max(a, std::fabs(weights[r * cols + c]));
    q.scales[r] = a / 127.0f;
    float mul = a == 0.0f ? 0.0f : 127.0f / a;
    for (int64_t c = 0; c < cols; ++c)
      q.codes[r * cols + c] = uint8_t(
          int(std::clamp(std::nearbyint(weights[r * cols + c] * mul), -127.0f,
                         127.0f)) +
          128);
  }
  return q;
}

std::vector<float> mlir::hfq::numerics::dequantize(const AffineQuantized &q,
                                                   const AffineScheme &scheme) {
  std::vector<float> out(q.codes.size());
  Slots slots(scheme, q.rows, q.cols);
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t c = 0; c < q.cols; ++c) {
      int64_t s = slots.of(r, c);
      float code = float(q.codes[r * q.cols + c]);
      float z = scheme.floatZero ? q.floatZeros[s] : float(q.zeros[s]);
      out[r * q.cols + c] = (code - z) * q.scales[s];
    }
  return out;
}

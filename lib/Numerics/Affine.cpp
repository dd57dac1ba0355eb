//===- Affine.cpp - integer (affine) quantization of weight matrices -*- C++ -*-===//
//
// Round-to-nearest with GPTQ's reference range rule. Every step is done in
// float32 in the same order as the reference lowering of `hfq.quantize`, so
// the two agree bit for bit.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Affine.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>

using namespace mlir::hfq::numerics;

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

llvm::Expected<AffineQuantized>
mlir::hfq::numerics::quantizeRTN(llvm::ArrayRef<float> weights, int64_t rows,
                           int64_t cols, const AffineScheme &scheme) {
  if (llvm::Error e = scheme.validate(cols))
    return std::move(e);
  if (int64_t(weights.size()) != rows * cols)
    return llvm::createStringError(llvm::formatv(
        "{0} weights given for a {1}x{2} matrix", weights.size(), rows, cols));
  for (size_t i = 0; i < weights.size(); ++i)
    if (!std::isfinite(weights[i]))
      return llvm::createStringError(llvm::formatv(
          "weight at row {0}, column {1} is not finite ({2})", i / cols,
          i % cols, weights[i]));

  AffineQuantized q;
  q.rows = rows;
  q.cols = cols;
  q.codes.resize(weights.size());
  const bool perTensor =
      scheme.granularity == AffineScheme::Granularity::Tensor;
  const int64_t groups = scheme.numGroups(cols);
  const int64_t groupCols =
      scheme.granularity == AffineScheme::Granularity::Group ? scheme.groupSize
                                                             : cols;
  const int64_t numScales = perTensor ? 1 : rows * groups;
  q.scales.resize(numScales);
  q.zeros.resize(numScales);
  const float maxq = float((1u << scheme.bits) - 1);
  const int32_t symZero = int32_t(1u << (scheme.bits - 1));

  // Element e belongs to scale slot slotOf(e).
  auto slotOf = [&](int64_t r, int64_t c) -> int64_t {
    return perTensor ? 0 : r * groups + c / groupCols;
  };
  std::vector<float> lo(numScales, 0.0f), hi(numScales, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float w = weights[r * cols + c];
      int64_t s = slotOf(r, c);
      lo[s] = std::min(lo[s], w);
      hi[s] = std::max(hi[s], w);
    }
  for (int64_t s = 0; s < numScales; ++s) {
    float l = lo[s], h = hi[s];
    if (scheme.symmetric) {
      float a = std::max(-l, h);
      if (a == 0.0f)
        a = 1.0f;
      q.scales[s] = (a + a) / maxq;
      q.zeros[s] = symZero;
      continue;
    }
    if (l == h) {
      l = -1.0f;
      h = 1.0f;
    }
    float scale = (h - l) / maxq;
    q.scales[s] = scale;
    q.zeros[s] = int32_t(std::nearbyint(-l / scale));
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t s = slotOf(r, c);
      float v = std::nearbyint(weights[r * cols + c] / q.scales[s]) +
                float(q.zeros[s]);
      q.codes[r * cols + c] = uint8_t(std::clamp(v, 0.0f, maxq));
    }
  return q;
}

std::vector<float> mlir::hfq::numerics::dequantize(const AffineQuantized &q,
                                             const AffineScheme &scheme) {
  std::vector<float> out(q.codes.size());
  const bool perTensor =
      scheme.granularity == AffineScheme::Granularity::Tensor;
  const int64_t groups = scheme.numGroups(q.cols);
  const int64_t groupCols =
      scheme.granularity == AffineScheme::Granularity::Group ? scheme.groupSize
                                                             : q.cols;
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t c = 0; c < q.cols; ++c) {
      int64_t s = perTensor ? 0 : r * groups + c / groupCols;
      out[r * q.cols + c] =
          float(int32_t(q.codes[r * q.cols + c]) - q.zeros[s]) * q.scales[s];
    }
  return out;
}

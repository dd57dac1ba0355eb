//===- SpQR.cpp - sparse-quantized representation ---------------*- C++ -*-===//

#include "hfq/Numerics/SpQR.h"

#include "hfq/Numerics/GPTQ.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

using namespace mlir::hfq::numerics;

uint16_t mlir::hfq::numerics::floatToHalf(float f) {
  llvm::APFloat v(f);
  bool lost;
  v.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return uint16_t(v.bitcastToAPInt().getZExtValue());
}

float mlir::hfq::numerics::halfToFloat(uint16_t h) {
  llvm::APFloat v(llvm::APFloat::IEEEhalf(), llvm::APInt(16, h));
  bool lost;
  v.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return v.convertToFloat();
}

namespace {

/// The reference's min-max statistics with a float zero.
struct MinMax {
  float scale, zero;
};

MinMax fitMinMax(const float *v, int64_t n, float maxq) {
  float lo = *std::min_element(v, v + n), hi = *std::max_element(v, v + n);
  if (lo == hi) {
    lo = -1.0f;
    hi = 1.0f;
  }
  float scale = (hi - lo) / maxq;
  return {scale, -lo / scale};
}

float codeOf(float w, MinMax p, float maxq) {
  return std::clamp(std::nearbyint(w / p.scale + p.zero), 0.0f, maxq);
}

float roundTrip(float w, MinMax p, float maxq) {
  return p.scale * (codeOf(w, p, maxq) - p.zero);
}

/// Quantizes `values` [rows] in runs of `run` with `bits`: codes into
/// `stats.codes[g * rows + r]`, the run's statistics into stats.scales /
/// stats.zeros[g * runs + k]; returns the dequantized values.
std::vector<float> quantizeStats(const std::vector<float> &values, int64_t g,
                                 int64_t run, unsigned bits,
                                 SpQRStats &stats) {
  const int64_t rows = int64_t(values.size()), runs = rows / run;
  const float maxq = float((1u << bits) - 1);
  std::vector<float> out(rows);
  for (int64_t k = 0; k < runs; ++k) {
    MinMax p = fitMinMax(&values[k * run], run, maxq);
    stats.scales[g * runs + k] = p.scale;
    stats.zeros[g * runs + k] = p.zero;
    for (int64_t r = k * run; r < (k + 1) * run; ++r) {
      float q = codeOf(values[r], p, maxq);
      stats.codes[g * rows + r] = uint8_t(q);
      out[r] = p.scale * (q - p.zero);
    }
  }
  return out;
}

/// For each weight of one row's group: how much the group's
/// Σ ((q(w) - w) / d)² drops when that weight is left out of the fit and
/// of the sum (the reference's get_leave_one_out_error).
void leaveOneOutReduction(const float *w, const float *d, int64_t n,
                          float maxq, std::vector<float> &loo,
                          float *out) {
  auto errorOf = [&](const float *vals, const float *ds, int64_t m) {
    MinMax p = fitMinMax(vals, m, maxq);
    double e = 0;
    for (int64_t k = 0; k < m; ++k) {
      double x = (double(roundTrip(vals[k], p, maxq)) - vals[k]) / ds[k];
      e += x * x;
    }
    return e;
  };
  const double baseline = errorOf(w, d, n);
  std::vector<float> dl(n - 1);
  loo.resize(n - 1);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t k = 0, m = 0; k < n; ++k)
      if (k != j) {
        loo[m] = w[k];
        dl[m++] = d[k];
      }
    out[j] = float(baseline - errorOf(loo.data(), dl.data(), n - 1));
  }
}

} // namespace

llvm::Expected<SpQRResult> mlir::hfq::numerics::quantizeSpQR(
    llvm::ArrayRef<float> weights, int64_t rows, int64_t cols,
    llvm::ArrayRef<double> hessian, const SpQROptions &o) {
  if (o.bits < 2 || o.bits > 8 || o.scaleBits < 2 || o.scaleBits > 8 ||
      o.zeroBits < 2 || o.zeroBits > 8)
    return llvm::createStringError(llvm::formatv(
        "SpQR bit widths must be in 2..8 (weights {0}, scales {1}, zeros {2})",
        o.bits, o.scaleBits, o.zeroBits));
  if (o.groupSize <= 0 || cols % o.groupSize != 0 || o.blockSize <= 0 ||
      o.blockSize % o.groupSize != 0)
    return llvm::createStringError(llvm::formatv(
        "SpQR group size {0} must divide the input dimension {1} and the "
        "block size {2}",
        o.groupSize, cols, o.blockSize));
  if (o.statsGroupSize <= 0 || rows % o.statsGroupSize != 0)
    return llvm::createStringError(llvm::formatv(
        "SpQR statistics group size {0} does not divide the output "
        "dimension {1}",
        o.statsGroupSize, rows));
  if (int64_t(weights.size()) != rows * cols ||
      int64_t(hessian.size()) != cols * cols)
    return llvm::createStringError("weights or Hessian do not match the shape");
  for (size_t i = 0; i < weights.size(); ++i)
    if (!std::isfinite(weights[i]))
      return llvm::createStringError(llvm::formatv(
          "weight at row {0}, column {1} is not finite ({2})", i / cols,
          i % cols, weights[i]));
  if (!(o.outlierThreshold >= 0))
    return llvm::createStringError("the outlier threshold must be >= 0");

  const float maxq = float((1u << o.bits) - 1);
  const int64_t gs = o.groupSize, groups = cols / gs;
  const int64_t runs = rows / o.statsGroupSize;
  SpQRResult result;
  result.rows = rows;
  result.cols = cols;

  // Act-order permutation (descending diag H, stable) and dead inputs.
  std::vector<float> W(weights.begin(), weights.end());
  std::vector<double> H(hessian.begin(), hessian.end());
  std::vector<int64_t> perm(cols);
  std::iota(perm.begin(), perm.end(), 0);
  if (o.actOrder) {
    perm = actOrderPermutation(H, cols);
    permuteColumns(W, H, rows, cols, perm);
  }
  double percDamp = o.percDamp;
  std::vector<int64_t> dead;
  auto factor = hessianInverseFactor(H, cols, percDamp, &dead);
  if (!factor)
    return factor.takeError();
  const std::vector<float> &U = *factor;
  zeroColumns(W, rows, cols, dead);
  result.percDamp = percDamp;
  result.deadColumns = int64_t(dead.size());

  // τ = relThreshold · mean_c(var_r(W_rc) / U_cc²) (unbiased variance).
  double tau = std::numeric_limits<double>::infinity();
  if (std::isfinite(o.outlierThreshold) && rows > 1) {
    double scale = 0;
    for (int64_t c = 0; c < cols; ++c) {
      double mean = 0, var = 0;
      for (int64_t r = 0; r < rows; ++r)
        mean += W[r * cols + c];
      mean /= double(rows);
      for (int64_t r = 0; r < rows; ++r)
        var += (W[r * cols + c] - mean) * (W[r * cols + c] - mean);
      var /= double(rows - 1);
      double d = U[c * cols + c];
      scale += var / (d * d);
    }
    tau = o.outlierThreshold * scale / double(cols);
  }

  result.scales.codes.assign(groups * rows, 0);
  result.zeros.codes.assign(groups * rows, 0);
  for (SpQRStats *s : {&result.scales, &result.zeros}) {
    s->scales.assign(groups * runs, 0.0f);
    s->zeros.assign(groups * runs, 0.0f);
  }
  std::vector<uint8_t> codes(rows * cols);
  std::map<std::pair<int64_t, int64_t>, uint16_t> outliers; // (row, perm col)
  std::vector<float> scales(rows), zeros(rows), groupVals(gs), loo, red(gs),
      dgroup(gs), W1, Err1;
  double loss = 0;
  const int64_t B = o.blockSize;
  for (int64_t i1 = 0; i1 < cols; i1 += B) {
    const int64_t i2 = std::min(i1 + B, cols), count = i2 - i1;
    loadBlock(W, rows, cols, i1, count, W1, Err1);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t col = i1 + i;
      if (col % gs == 0) {
        // The group's statistics, from the weights as updated so far.
        const int64_t g = col / gs;
        for (int64_t k = 0; k < gs; ++k)
          dgroup[k] = U[(col + k) * cols + col + k];
        for (int64_t r = 0; r < rows; ++r) {
          const float *w = &W1[r * count + i];
          std::copy_n(w, gs, groupVals.begin());
          if (std::isfinite(tau) && !o.simplifiedOutliers) {
            leaveOneOutReduction(w, dgroup.data(), gs, maxq, loo, red.data());
            double sum = 0;
            int64_t kept = 0;
            for (int64_t k = 0; k < gs; ++k)
              if (!(red[k] > tau)) {
                sum += w[k];
                ++kept;
              }
            float mean = float(sum / double(std::max<int64_t>(kept, 1)));
            for (int64_t k = 0; k < gs; ++k)
              if (red[k] > tau)
                groupVals[k] = mean;
          }
          MinMax p = fitMinMax(groupVals.data(), gs, maxq);
          scales[r] = p.scale;
          zeros[r] = p.zero;
        }
        scales = quantizeStats(scales, g, o.statsGroupSize, o.scaleBits,
                               result.scales);
        zeros = quantizeStats(zeros, g, o.statsGroupSize, o.zeroBits,
                              result.zeros);
      }
      const float d = U[col * cols + col];
      const float *hrow = &U[col * cols + i1];
      for (int64_t r = 0; r < rows; ++r) {
        float *w1 = &W1[r * count];
        const float w = w1[i];
        MinMax p{scales[r], zeros[r]};
        float q = codeOf(w, p, maxq);
        float deq = p.scale * (q - p.zero);
        float err = (w - deq) / d;
        if (double(err) * err > tau) {
          uint16_t half = floatToHalf(w);
          outliers[{r, col}] = half;
          q = codeOf(0.0f, p, maxq);
          deq = halfToFloat(half);
        }
        codes[r * cols + col] = uint8_t(q);
        Err1[r * count + i] =
            propagateColumnError(w1, i, count, deq, d, hrow, loss);
      }
    }
    lazyBatchUpdate(W, Err1, U, rows, cols, i1, i2);
  }

  // Back to the original column order.
  result.codes.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j)
      result.codes[r * cols + perm[j]] = codes[r * cols + j];
  if (o.actOrder) {
    result.gIdx.resize(cols);
    for (int64_t j = 0; j < cols; ++j)
      result.gIdx[perm[j]] = int32_t(j / gs);
  }
  std::vector<std::vector<std::pair<int32_t, uint16_t>>> byRow(rows);
  for (auto &[at, half] : outliers)
    byRow[at.first].push_back({int32_t(perm[at.second]), half});
  result.rowPtr.push_back(0);
  for (auto &row : byRow) {
    std::sort(row.begin(), row.end());
    for (auto [c, half] : row) {
      result.outlierCols.push_back(c);
      result.outlierValues.push_back(half);
    }
    result.rowPtr.push_back(int32_t(result.outlierCols.size()));
  }
  return result;
}

std::vector<float>
mlir::hfq::numerics::dequantizeSpQR(const SpQRResult &r,
                                    const SpQROptions &o) {
  const int64_t rows = r.rows, cols = r.cols, runs = rows / o.statsGroupSize;
  std::vector<float> w(rows * cols);
  auto level2 = [&](const SpQRStats &s, int64_t g, int64_t row) {
    int64_t k = g * runs + row / o.statsGroupSize;
    return s.scales[k] * (float(s.codes[g * rows + row]) - s.zeros[k]);
  };
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t g = r.gIdx.empty() ? c / o.groupSize : r.gIdx[c];
      float s = level2(r.scales, g, row), z = level2(r.zeros, g, row);
      w[row * cols + c] = s * (float(r.codes[row * cols + c]) - z);
    }
  for (int64_t row = 0; row < rows; ++row)
    for (int32_t k = r.rowPtr[row]; k < r.rowPtr[row + 1]; ++k)
      w[row * cols + r.outlierCols[k]] = halfToFloat(r.outlierValues[k]);
  return w;
}

//===- TestMatrices.h - weights and errors for numerics tests ---*- C++ -*-===//

#ifndef HFQ_UNITTESTS_NUMERICS_TESTMATRICES_H
#define HFQ_UNITTESTS_NUMERICS_TESTMATRICES_H

#include <cstdint>
#include <random>
#include <vector>

namespace hfq_test {

/// [rows, cols] weights drawn from N(0, 0.05²).
inline std::vector<float> randomWeights(int64_t rows, int64_t cols,
                                        unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = normal(rng);
  return w;
}

/// The layer-output error tr((W - Q) H (W - Q)ᵀ) GPTQ and SparseGPT minimise.
inline double outputError(const std::vector<float> &w,
                          const std::vector<float> &q,
                          const std::vector<double> &h, int64_t rows,
                          int64_t cols) {
  double total = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < cols; ++i) {
      double di = double(w[r * cols + i]) - q[r * cols + i];
      for (int64_t j = 0; j < cols; ++j)
        total += di * h[i * cols + j] *
                 (double(w[r * cols + j]) - q[r * cols + j]);
    }
  return total;
}

/// H = 2 XᵀX / N for N tokens of correlated inputs with uneven scales.
inline std::vector<double> correlatedHessian(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  const int64_t tokens = 4 * n;
  std::vector<double> mix(n * n);
  for (double &v : mix)
    v = normal(rng);
  std::vector<double> x(tokens * n, 0.0);
  for (int64_t t = 0; t < tokens; ++t) {
    std::vector<double> z(n);
    for (double &v : z)
      v = normal(rng);
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k)
        s += z[k] * mix[k * n + j];
      x[t * n + j] = s * (1.0 + 4.0 * double(j % 5 == 0));
    }
  }
  std::vector<double> h(n * n, 0.0);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        h[i * n + j] += 2.0 * x[t * n + i] * x[t * n + j] / double(tokens);
  return h;
}

} // namespace hfq_test

#endif // HFQ_UNITTESTS_NUMERICS_TESTMATRICES_H

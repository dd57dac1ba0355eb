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

} // namespace hfq_test

#endif // HFQ_UNITTESTS_NUMERICS_TESTMATRICES_H

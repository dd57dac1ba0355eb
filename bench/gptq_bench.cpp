//===- gptq_bench.cpp - GPTQ time and memory on large layers ----*- C++ -*-===//
//
// Times numerics::quantizeGPTQ (4-bit, groups of 128, the reference's block
// of 128) on synthetic 4096x4096 and 11008x4096 layers whose Hessian comes
// from correlated random activations (a low-rank shared part plus
// per-channel noise with uneven scales), and reports in the same run:
//   - wall time and peak RSS growth during the call (VmHWM, reset first);
//   - the time of RTN on the same layer, and of one float32 GEMM of the
//     layer's size (rows x cols x cols, the FLOPs of GPTQ's lazy updates)
//     as the machine's attainable-throughput yardstick.
//
// usage: hfq-bench-gptq [ROWSxCOLS ...]   (default: 4096x4096 11008x4096)
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/GPTQ.h"

#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace mlir::hfq::numerics;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

/// A field of /proc/self/status in kB.
long statusKB(const char *field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field, 0) == 0)
      return std::stol(line.substr(std::strlen(field)));
  return -1;
}

void resetPeak() { std::ofstream("/proc/self/clear_refs") << "5"; }

std::vector<double> hessian(int64_t cols, int64_t tokens, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t rank = 64;
  std::vector<float> z(tokens * rank), b(rank * cols), x(tokens * cols);
  for (float &v : z)
    v = normal(rng);
  for (float &v : b)
    v = normal(rng) * 0.5f;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(tokens), int(cols),
              int(rank), 1.0f, z.data(), int(rank), b.data(), int(cols), 0.0f,
              x.data(), int(cols));
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t c = 0; c < cols; ++c)
      x[t * cols + c] += normal(rng) * (1.0f + 3.0f * float(c % 7 == 0));
  std::vector<double> xd(x.begin(), x.end()), h(cols * cols, 0.0);
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, int(cols), int(tokens),
              2.0 / double(tokens), xd.data(), int(cols), 0.0, h.data(),
              int(cols));
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < i; ++j)
      h[i * cols + j] = h[j * cols + i];
  return h;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::pair<int64_t, int64_t>> shapes;
  for (int i = 1; i < argc; ++i) {
    long r, c;
    if (std::sscanf(argv[i], "%ldx%ld", &r, &c) != 2 || r <= 0 || c <= 0 ||
        c % 128) {
      std::fprintf(stderr, "usage: %s [ROWSxCOLS ...] (COLS a multiple of 128)\n",
                   argv[0]);
      return 2;
    }
    shapes.push_back({r, c});
  }
  if (shapes.empty())
    shapes = {{4096, 4096}, {11008, 4096}};
  std::printf("GPTQ 4-bit g128 (block 128, damp 0.01), %d BLAS threads\n",
              openblas_get_num_threads());
  std::printf("%-12s %9s %9s %9s %11s %12s %10s\n", "layer", "gptq s",
              "rtn s", "gemm s", "gptq/gemm", "peak +MB", "loss");
  for (auto [rows, cols] : shapes) {
    std::mt19937 rng(42);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> w(rows * cols);
    for (float &v : w)
      v = normal(rng);
    std::vector<double> h = hessian(cols, 2048, rng);

    GPTQOptions o;
    o.scheme.bits = 4;
    o.scheme.granularity = AffineScheme::Granularity::Group;
    o.scheme.groupSize = 128;
    resetPeak();
    long before = statusKB("VmRSS:");
    auto start = Clock::now();
    auto g = quantizeGPTQ(w, rows, cols, h, o);
    double gptqSeconds = seconds(start);
    long peak = statusKB("VmHWM:");
    if (!g) {
      std::fprintf(stderr, "gptq failed: %s\n",
                   llvm::toString(g.takeError()).c_str());
      return 1;
    }
    double loss = g->loss;
    g = llvm::Expected<GPTQResult>(GPTQResult{}); // free before the next runs

    start = Clock::now();
    auto r = quantizeRTN(w, rows, cols, o.scheme);
    double rtnSeconds = seconds(start);
    if (!r)
      return 1;

    // One GEMM with GPTQ's lazy-update FLOP count: [rows, cols] x [cols, cols].
    std::vector<float> a(cols * cols, 0.001f), c(rows * cols, 0.0f);
    start = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(cols),
                int(cols), 1.0f, w.data(), int(cols), a.data(), int(cols), 0.0f,
                c.data(), int(cols));
    double gemmSeconds = seconds(start);

    char name[32];
    std::snprintf(name, sizeof name, "%ldx%ld", long(rows), long(cols));
    std::printf("%-12s %9.2f %9.2f %9.2f %11.2f %12.0f %10.4g\n", name,
                gptqSeconds, rtnSeconds, gemmSeconds, gptqSeconds / gemmSeconds,
                double(peak - before) / 1024.0, loss);
  }
  return 0;
}

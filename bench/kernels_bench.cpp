//===- kernels_bench.cpp - hfq.linear against the memory roofline -*- C++
//-*-===//
//
// The yardsticks of the CPU-kernel work (README "Measured"), in one run on
// this machine:
//   - its read bandwidth: a STREAM-like sum over buffers larger than the
//     last-level cache, with 1 and 2 threads;
//   - OpenBLAS's float32 GEMV on the same weights (a library baseline);
//   - `hfq.linear` as hfq compiles it today (hfq-lower-to-llvm, JIT), on a
//     float32 weight and on a 4-bit #hfq.affine weight (groups of 32, f16
//     scales, packed zeros: what `hfq quantize` writes), x of 1 or more
//     rows; and on an NF4 #hfq.codebook weight (f32 absmax per 64),
//     checked against the reference lowering of the same module.
// Every case reads its weight from one of several copies in turn, so the
// weights stream from DRAM (copies together > 2x the last-level cache).
// Per case: time per call, effective weight GB/s (stored bytes / time), %
// of the probe's bandwidth at the run's thread count, GFLOPS (2·N·K), and
// speed relative to OpenBLAS's float32 GEMV of the same shape. (OpenBLAS
// reads faster than the one-stream probe, 110-130 % of it on a 2-core
// EPYC: the probe is a floor of the attainable bandwidth, not a roofline.)
//
// usage: hfq-bench-kernels [--rows=R,...] [NxK ...]
//        (default: rows 1,4,16; 4096x4096 11008x4096 4096x11008)
// Rows are the activation rows of x (batch or prefill tokens); OpenBLAS
// runs sgemv for one row and sgemm (x W^T) for more.
// hfq's threads are OpenMP's: run under OMP_NUM_THREADS=1 and =2.
//
//===----------------------------------------------------------------------===//

#include "hfq/Execution/JIT.h"
#include "hfq/Pipelines/Pipelines.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"

#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace mlir;
using namespace mlir::hfq;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

/// Calls `fn` until at least 0.5 s and 3 calls have passed (after one
/// warm-up call); returns seconds per call.
template <typename Fn> double timePerCall(Fn &&fn) {
  fn(0);
  int calls = 0;
  auto start = Clock::now();
  while (calls < 3 || seconds(start) < 0.5)
    fn(++calls);
  return seconds(start) / calls;
}

int64_t lastLevelCacheBytes() {
  long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  return std::max<int64_t>({l3 > 0 ? l3 : 0, l2 > 0 ? l2 : 0, 32 << 20});
}

/// Read bandwidth in GB/s: `threads` threads each summing their share of a
/// buffer of `bytes` as 64-bit integers (integer sums vectorize, so the
/// loop is bound by the loads), best of 5.
double readBandwidth(int64_t bytes, int threads) {
  const int64_t n = bytes / 8;
  std::vector<uint64_t> data(n, 1);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<uint64_t> sums(threads);
    auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const uint64_t *p = data.data();
        uint64_t s = 0;
        for (int64_t i = n * t / threads, e = n * (t + 1) / threads; i < e; ++i)
          s += p[i];
        sums[t] = s;
      });
    for (std::thread &th : pool)
      th.join();
    double secs = seconds(start);
    uint64_t total = 0;
    for (uint64_t s : sums)
      total += s;
    if (total != uint64_t(n)) // keeps the loads; checks they all happened
      std::fprintf(stderr, "bandwidth probe: wrong sum\n");
    best = std::max(best, double(bytes) / secs / 1e9);
  }
  return best;
}

/// One compiled `hfq.linear` case: @gemv(x, weight parts...) -> y.
struct Compiled {
  MLIRContext ctx;
  std::unique_ptr<ExecutionEngine> engine;
};

std::unique_ptr<Compiled> compile(const std::string &source,
                                  bool reference = false) {
  auto c = std::make_unique<Compiled>();
  DialectRegistry registry;
  registerAllDialects(registry);
  c->ctx.appendDialectRegistry(registry);
  c->ctx.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &c->ctx);
  if (!module) {
    std::fprintf(stderr, "hfq-bench-kernels: cannot parse:\n%s\n",
                 source.c_str());
    return nullptr;
  }
  JITOptions options;
  options.reference = reference;
  auto engine = compileForJIT(*module, options);
  if (!engine) {
    std::fprintf(stderr, "hfq-bench-kernels: %s\n",
                 llvm::toString(engine.takeError()).c_str());
    return nullptr;
  }
  c->engine = std::move(*engine);
  return c;
}

template <typename T>
StridedMemRefType<T, 2> view(T *data, int64_t rows, int64_t cols) {
  StridedMemRefType<T, 2> d;
  d.basePtr = d.data = data;
  d.offset = 0;
  d.sizes[0] = rows;
  d.sizes[1] = cols;
  d.strides[0] = cols;
  d.strides[1] = 1;
  return d;
}

/// The values of a returned dense [rows, n] buffer (freed).
std::vector<float> take(StridedMemRefType<float, 2> &out) {
  std::vector<float> y(out.data + out.offset,
                       out.data + out.offset + out.sizes[0] * out.sizes[1]);
  free(out.basePtr);
  return y;
}

/// Whether `got` computes what `want` does, up to float summation order
/// (relative to the largest |want|); the timings are only worth printing
/// for a kernel that computes the product.
bool agrees(const char *what, const std::vector<float> &got,
            const std::vector<float> &want) {
  double maxDiff = 0, maxWant = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    maxDiff = std::max(maxDiff, double(std::fabs(got[i] - want[i])));
    maxWant = std::max(maxWant, double(std::fabs(want[i])));
  }
  if (got.size() == want.size() && maxDiff <= 1e-4 * maxWant)
    return true;
  std::fprintf(stderr,
               "hfq-bench-kernels: %s differs from its check: max "
               "|difference| %g, max |value| %g\n",
               what, maxDiff, maxWant);
  return false;
}

struct Row {
  std::string what;
  double secs, weightBytes, flops;
};

/// `blasSecs`: OpenBLAS's time on the same shape (float32).
void print(const Row &r, double bandwidth, double blasSecs) {
  double gbs = r.weightBytes / r.secs / 1e9;
  std::printf("| %s | %.3f | %.2f | %.1f%% | %.2f | %.3f |\n", r.what.c_str(),
              r.secs * 1e3, gbs, 100.0 * gbs / bandwidth,
              r.flops / r.secs / 1e9, blasSecs / r.secs);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv) {
  registerAllPasses();
  std::vector<std::pair<int64_t, int64_t>> shapes;
  std::vector<int64_t> rowCounts = {1, 4, 16};
  for (int i = 1; i < argc; ++i) {
    if (!std::strncmp(argv[i], "--rows=", 7)) {
      rowCounts.clear();
      for (const char *p = argv[i] + 7; *p;) {
        char *end;
        long long r = std::strtoll(p, &end, 10);
        if (end == p || r <= 0) {
          std::fprintf(stderr, "hfq-bench-kernels: bad --rows list '%s'\n",
                       argv[i] + 7);
          return 1;
        }
        rowCounts.push_back(r);
        p = *end == ',' ? end + 1 : end;
      }
      continue;
    }
    long long n, k;
    if (std::sscanf(argv[i], "%lldx%lld", &n, &k) != 2 || n <= 0 || k <= 0 ||
        k % 32) {
      std::fprintf(stderr,
                   "usage: hfq-bench-kernels [--rows=R,...] [NxK ...] "
                   "(K a multiple of 32), got '%s'\n",
                   argv[i]);
      return 1;
    }
    shapes.push_back({n, k});
  }
  if (shapes.empty())
    shapes = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
  const char *ompEnv = std::getenv("OMP_NUM_THREADS");
  const int threads = ompEnv ? std::max(1, std::atoi(ompEnv))
                             : int(std::thread::hardware_concurrency());
  openblas_set_num_threads(threads);

  const int64_t llc = lastLevelCacheBytes();
  const double bw1 = readBandwidth(4 * llc, 1), bw2 = readBandwidth(4 * llc, 2);
  const double bandwidth = threads == 1 ? bw1 : bw2;
  std::printf("read bandwidth (sum over %lld MiB): 1 thread %.2f GB/s, 2 "
              "threads %.2f GB/s; this run: %d thread(s) (OMP_NUM_THREADS, "
              "OpenBLAS), last-level cache %lld MiB\n\n",
              (long long)(4 * llc >> 20), bw1, bw2, threads,
              (long long)(llc >> 20));
  std::printf("| case | ms/call | weight GB/s | %% of probe | GFLOPS | "
              "speed vs OpenBLAS f32 |\n|---|---|---|---|---|---|\n");

  std::mt19937 rng(0);
  for (auto shapeNK : shapes) {
    const int64_t n = shapeNK.first, k = shapeNK.second;
    const int64_t floatBytes = n * k * 4;
    const int copies = int(std::max<int64_t>(2, 2 * llc / floatBytes + 1));
    std::vector<std::vector<float>> weights(copies);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    for (auto &w : weights) {
      w.resize(n * k);
      for (float &v : w)
        v = uni(rng);
    }
    for (int64_t rows : rowCounts) {
      const double flops = 2.0 * double(rows) * double(n) * double(k);
      std::vector<float> x(rows * k), y(rows * n);
      for (float &v : x)
        v = uni(rng);
      const std::string shape =
          llvm::formatv("{0}x{1}, {2} row(s)", n, k, rows).str();
      // OpenBLAS: y = x W^T (sgemv for one row).
      auto blasProduct = [&](const float *w, float *out) {
        if (rows == 1)
          cblas_sgemv(CblasRowMajor, CblasNoTrans, int(n), int(k), 1.0f, w,
                      int(k), x.data(), 1, 0.0f, out, 1);
        else
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows),
                      int(n), int(k), 1.0f, x.data(), int(k), w, int(k), 0.0f,
                      out, int(n));
      };
      Row blas{"OpenBLAS f32 " + shape, timePerCall([&](int i) {
                 blasProduct(weights[i % copies].data(), y.data());
               }),
               double(floatBytes), flops};
      print(blas, bandwidth, blas.secs);

      // hfq.linear, float32 weight.
      const std::string f32 = llvm::formatv(R"(
func.func @gemv(%x: tensor<{2}x{1}xf32>, %w: tensor<{0}x{1}xf32>) -> tensor<{2}x{0}xf32> {
  %y = hfq.linear %x, %w : tensor<{2}x{1}xf32>, tensor<{0}x{1}xf32> -> tensor<{2}x{0}xf32>
  return %y : tensor<{2}x{0}xf32>
})",
                                            n, k, rows)
                                  .str();
      if (auto c = compile(f32)) {
        using Fn =
            void(StridedMemRefType<float, 2> *, StridedMemRefType<float, 2> *,
                 StridedMemRefType<float, 2> *);
        auto fn = lookupCInterface<Fn>(*c->engine, "gemv");
        if (!fn) {
          std::fprintf(stderr, "%s\n", llvm::toString(fn.takeError()).c_str());
          return 1;
        }
        auto xv = view(x.data(), rows, k);
        {
          StridedMemRefType<float, 2> out{};
          auto wv = view(weights[0].data(), n, k);
          (*fn)(&out, &xv, &wv);
          blasProduct(weights[0].data(), y.data());
          if (!agrees("hfq.linear f32", take(out), y))
            return 1;
        }
        Row row{"hfq.linear f32 " + shape, timePerCall([&](int i) {
                  StridedMemRefType<float, 2> out{};
                  auto wv = view(weights[i % copies].data(), n, k);
                  (*fn)(&out, &xv, &wv);
                  free(out.basePtr);
                }),
                double(floatBytes), flops};
        print(row, bandwidth, blas.secs);
      }

      // hfq.linear, 4-bit affine weight (g32, f16 scales, packed zeros).
      const int64_t groups = k / 32, zeroBytes = (groups * 4 + 7) / 8;
      const int64_t qBytes = n * k / 2 + n * groups * 2 + n * zeroBytes;
      const int qCopies = int(std::max<int64_t>(2, 2 * llc / qBytes + 1));
      std::vector<std::vector<uint8_t>> codes(qCopies), zeros(qCopies);
      std::vector<std::vector<uint16_t>> scales(qCopies);
      for (int c = 0; c < qCopies; ++c) {
        codes[c].resize(n * k / 2);
        for (uint8_t &b : codes[c])
          b = uint8_t(rng());
        zeros[c].resize(n * zeroBytes);
        for (uint8_t &b : zeros[c])
          b = uint8_t(rng());
        scales[c].assign(n * groups, 0x2000); // f16 2^-7
      }
      const std::string enc = "#hfq.affine<bits = 4, granularity = group, "
                              "group_size = 32, zero_point = integer, "
                              "scale_type = f16, packed_zeros = true>";
      const std::string q4 =
          llvm::formatv(R"(
func.func @gemv(%x: tensor<{6}x{1}xf32>, %c: tensor<{0}x{2}xi8>, %s: tensor<{0}x{3}xf16>, %z: tensor<{0}x{4}xi8>) -> tensor<{6}x{0}xf32> {
  %w = hfq.assemble %c, %s, %z : tensor<{0}x{2}xi8>, tensor<{0}x{3}xf16>, tensor<{0}x{4}xi8> -> !hfq.qtensor<{0}x{1}xf32, {5}>
  %y = hfq.linear %x, %w : tensor<{6}x{1}xf32>, !hfq.qtensor<{0}x{1}xf32, {5}> -> tensor<{6}x{0}xf32>
  return %y : tensor<{6}x{0}xf32>
})",
                        n, k, k / 2, groups, zeroBytes, enc, rows)
              .str();
      if (auto c = compile(q4)) {
        using Fn = void(
            StridedMemRefType<float, 2> *, StridedMemRefType<float, 2> *,
            StridedMemRefType<uint8_t, 2> *, StridedMemRefType<uint16_t, 2> *,
            StridedMemRefType<uint8_t, 2> *);
        auto fn = lookupCInterface<Fn>(*c->engine, "gemv");
        if (!fn) {
          std::fprintf(stderr, "%s\n", llvm::toString(fn.takeError()).c_str());
          return 1;
        }
        auto xv = view(x.data(), rows, k);
        {
          // w = (q - z) * 2^-7: codes and zeros are 4-bit, LSB first.
          std::vector<float> w(n * k);
          for (int64_t r = 0; r < n; ++r)
            for (int64_t col = 0; col < k; ++col) {
              int q = codes[0][(r * k + col) / 2] >> (4 * (col % 2)) & 15;
              int64_t g = col / 32;
              int z = zeros[0][r * zeroBytes + g / 2] >> (4 * (g % 2)) & 15;
              w[r * k + col] = float(q - z) * 0.0078125f;
            }
          blasProduct(w.data(), y.data());
          StridedMemRefType<float, 2> out{};
          auto cv = view(codes[0].data(), n, k / 2);
          auto sv = view(scales[0].data(), n, groups);
          auto zv = view(zeros[0].data(), n, zeroBytes);
          (*fn)(&out, &xv, &cv, &sv, &zv);
          if (!agrees("hfq.linear int4 g32", take(out), y))
            return 1;
        }
        Row row{"hfq.linear int4 g32 " + shape, timePerCall([&](int i) {
                  StridedMemRefType<float, 2> out{};
                  int j = i % qCopies;
                  auto cv = view(codes[j].data(), n, k / 2);
                  auto sv = view(scales[j].data(), n, groups);
                  auto zv = view(zeros[j].data(), n, zeroBytes);
                  (*fn)(&out, &xv, &cv, &sv, &zv);
                  free(out.basePtr);
                }),
                double(qBytes), flops};
        print(row, bandwidth, blas.secs);
      }

      // hfq.linear, NF4 (bitsandbytes' table, f32 absmax per 64): checked
      // against the reference lowering of the same module.
      const int64_t blocks = n * k / 64;
      const int64_t nfBytes = n * k / 2 + blocks * 4;
      const int nfCopies = int(std::max<int64_t>(2, 2 * llc / nfBytes + 1));
      std::vector<std::vector<uint8_t>> nfCodes(nfCopies);
      std::vector<std::vector<float>> absmax(nfCopies);
      for (int c = 0; c < nfCopies; ++c) {
        nfCodes[c].resize(n * k / 2);
        for (uint8_t &b : nfCodes[c])
          b = uint8_t(rng());
        absmax[c].assign(blocks, 0.01f);
      }
      const std::string nf4 = llvm::formatv(R"(
func.func @gemv(%x: tensor<{3}x{1}xf32>, %c: tensor<{0}x{2}xi8>, %s: tensor<{4}xf32>) -> tensor<{3}x{0}xf32> {
  %w = hfq.assemble %c, %s : tensor<{0}x{2}xi8>, tensor<{4}xf32> -> !hfq.qtensor<{0}x{1}xf32, #hfq.codebook<kind = nf4>>
  %y = hfq.linear %x, %w : tensor<{3}x{1}xf32>, !hfq.qtensor<{0}x{1}xf32, #hfq.codebook<kind = nf4>> -> tensor<{3}x{0}xf32>
  return %y : tensor<{3}x{0}xf32>
})",
                                            n, k, k / 2, rows, blocks)
                                  .str();
      auto fast = compile(nf4), slow = compile(nf4, /*reference=*/true);
      if (fast && slow) {
        using Fn = void(
            StridedMemRefType<float, 2> *, StridedMemRefType<float, 2> *,
            StridedMemRefType<uint8_t, 2> *, StridedMemRefType<float, 1> *);
        auto fn = lookupCInterface<Fn>(*fast->engine, "gemv");
        auto check = lookupCInterface<Fn>(*slow->engine, "gemv");
        if (!fn || !check) {
          std::fprintf(stderr, "hfq-bench-kernels: no @gemv\n");
          return 1;
        }
        auto xv = view(x.data(), rows, k);
        auto flat = [](float *data, int64_t size) {
          StridedMemRefType<float, 1> d;
          d.basePtr = d.data = data;
          d.offset = 0;
          d.sizes[0] = size;
          d.strides[0] = 1;
          return d;
        };
        {
          auto cv = view(nfCodes[0].data(), n, k / 2);
          auto sv = flat(absmax[0].data(), blocks);
          StridedMemRefType<float, 2> got{}, want{};
          (*fn)(&got, &xv, &cv, &sv);
          (*check)(&want, &xv, &cv, &sv);
          if (!agrees("hfq.linear nf4", take(got), take(want)))
            return 1;
        }
        Row row{"hfq.linear nf4 " + shape, timePerCall([&](int i) {
                  StridedMemRefType<float, 2> out{};
                  int j = i % nfCopies;
                  auto cv = view(nfCodes[j].data(), n, k / 2);
                  auto sv = flat(absmax[j].data(), blocks);
                  (*fn)(&out, &xv, &cv, &sv);
                  free(out.basePtr);
                }),
                double(nfBytes), flops};
        print(row, bandwidth, blas.secs);
      }
    } // rows
  }
  return 0;
}

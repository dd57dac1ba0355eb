//===- Calibrate.cpp - `hfq calibrate` -------------------------*- C++ -*-===//
//
// Runs the instrumented model over calibration text and keeps, per distinct
// linear input: XᵀX accumulated in float64 (OpenBLAS dsyrk on a float64
// copy of each chunk, one BLAS thread so results do not depend on the
// machine), sum and max of |x| per input channel, and the token count.
// Memory is O(sum of in_features²), independent of the amount of text.
//
// Samples: the first N documents (non-empty lines) of the text, each encoded
// with BOS and truncated to the sequence length; fewer documents than asked
// is an error.
//
// Output: the statistics file of hfq/IO/Statistics.h (format tag and
// version in its __metadata__); NAME.inputs, with --keep-inputs, only under
// the first linear of an input group (q_proj, gate_proj), in sample order.
//
//===----------------------------------------------------------------------===//

#include "Calibrate.h"
#include "Driver.h"

#include "hfq/IO/Statistics.h"

#include "hfq/Execution/Model.h"
#include "hfq/IO/Safetensors.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cblas.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::hfq;
using llvm::formatv;

namespace {

struct InputStats {
  int64_t features = 0, tokens = 0;
  std::vector<double> xtx; // upper triangle filled by dsyrk
  std::vector<double> absSum;
  std::vector<float> absMax;
  std::vector<float> inputs; // with keepInputs
  bool nonFinite = false;
};

template <typename T>
std::vector<uint8_t> bytesOf(const std::vector<T> &v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

} // namespace

llvm::Error mlir::hfq::runCalibrate(llvm::StringRef modelPath,
                                    const CalibrateOptions &options,
                                    llvm::raw_ostream &log) {
  if (options.samples <= 0 || options.seqLen < 2)
    return fail("--samples must be positive and --seq-len at least 2");
  openblas_set_num_threads(1);
  auto start = std::chrono::steady_clock::now();

  std::vector<InputStats> stats;
  std::vector<double> chunk;
  ModelOptions modelOptions;
  modelOptions.referenceLowering = driver::referenceLowering();
  modelOptions.checkpointDir = options.checkpointDir;
  modelOptions.recorder = [&](int64_t group, const float *data, int64_t rows,
                              int64_t cols, int64_t stride) {
    if (group >= int64_t(stats.size()))
      stats.resize(group + 1);
    InputStats &s = stats[group];
    if (s.features == 0) {
      s.features = cols;
      s.xtx.assign(cols * cols, 0.0);
      s.absSum.assign(cols, 0.0);
      s.absMax.assign(cols, 0.0f);
    }
    chunk.resize(rows * cols);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        float x = data[r * stride + c];
        if (!std::isfinite(x))
          s.nonFinite = true;
        chunk[r * cols + c] = x;
        if (options.keepInputs)
          s.inputs.push_back(x);
        s.absSum[c] += std::fabs(double(x));
        s.absMax[c] = std::max(s.absMax[c], std::fabs(x));
      }
    // xtx += chunkᵀ chunk (upper triangle, row-major).
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, int(cols), int(rows),
                1.0, chunk.data(), int(cols), 1.0, s.xtx.data(), int(cols));
    s.tokens += rows;
  };
  auto model = LoadedModel::load(modelPath, modelOptions);
  if (!model)
    return model.takeError();

  auto buffer = llvm::MemoryBuffer::getFile(options.textPath);
  if (!buffer)
    return fail(options.textPath + ": cannot open: " +
                buffer.getError().message());
  llvm::SmallVector<llvm::StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
  if (int64_t(lines.size()) < options.samples)
    return fail(formatv("{0}: calibration text has {1} documents, {2} asked "
                        "for (--samples)",
                        options.textPath, lines.size(), options.samples));
  const int64_t seqLen = std::min(options.seqLen, (*model)->maxContext());

  int64_t tokens = 0;
  std::vector<int64_t> seqLens, tokenIds;
  for (int64_t i = 0; i < options.samples; ++i) {
    auto ids = (*model)->tokenizer().encode(lines[i]);
    if (!ids)
      return fail(options.textPath + ": " + llvm::toString(ids.takeError()));
    if (int64_t(ids->size()) > seqLen)
      ids->resize(seqLen);
    auto logits = (*model)->prefill(*ids);
    if (!logits)
      return logits.takeError();
    tokens += ids->size();
    seqLens.push_back(int64_t(ids->size()));
    tokenIds.insert(tokenIds.end(), ids->begin(), ids->end());
    if (!options.quiet) {
      double secs = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
      log << formatv("[{0}/{1} samples] {2} tokens, {3:F1} s\n", i + 1,
                     options.samples, tokens, secs);
    }
  }

  const auto &groups = (*model)->calibrationGroups();
  std::vector<io::TensorToWrite> tensors;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (g >= stats.size() || stats[g].features == 0)
      return fail(formatv("internal error: no activations recorded for {0}",
                          groups[g].front()));
    InputStats &s = stats[g];
    if (s.nonFinite)
      return fail("non-finite activation at the input of " +
                  groups[g].front() + "; no statistics written");
    const int64_t k = s.features;
    for (int64_t r = 0; r < k; ++r) // mirror the upper triangle
      for (int64_t c = 0; c < r; ++c)
        s.xtx[r * k + c] = s.xtx[c * k + r];
    std::vector<float> absMean(k);
    for (int64_t c = 0; c < k; ++c)
      absMean[c] = float(s.absSum[c] / double(s.tokens));
    for (const std::string &name : groups[g]) {
      tensors.push_back({name + ".xtx", io::DType::F64, {k, k}, bytesOf(s.xtx)});
      tensors.push_back(
          {name + ".abs_mean", io::DType::F32, {k}, bytesOf(absMean)});
      tensors.push_back(
          {name + ".abs_max", io::DType::F32, {k}, bytesOf(s.absMax)});
      tensors.push_back({name + ".tokens", io::DType::I64, {1},
                         bytesOf(std::vector<int64_t>{s.tokens})});
    }
    if (options.keepInputs)
      tensors.push_back({groups[g].front() + ".inputs", io::DType::F32,
                         {s.tokens, k}, bytesOf(s.inputs)});
  }
  tensors.push_back({"calibration.sequence_lengths", io::DType::I64,
                     {int64_t(seqLens.size())}, bytesOf(seqLens)});
  tensors.push_back({"calibration.token_ids", io::DType::I64,
                     {int64_t(tokenIds.size())}, bytesOf(tokenIds)});
  std::map<std::string, std::string> metadata = io::Statistics::metadata();
  metadata.insert({{"model", modelPath.str()},
                   {"text", options.textPath},
                   {"samples", std::to_string(options.samples)},
                   {"seq_len", std::to_string(seqLen)},
                   {"tokens", std::to_string(tokens)}});
  if (llvm::Error e = io::writeSafetensors(options.outputPath,
                                           std::move(tensors), metadata))
    return e;

  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!options.quiet)
    log << formatv("hfq calibrate: {0} samples, {1} tokens, {2} linears in "
                   "{3} input groups -> {4}; {5:F1} s, peak RSS {6} MB\n",
                   options.samples, tokens,
                   [&] {
                     size_t n = 0;
                     for (const auto &g : groups)
                       n += g.size();
                     return n;
                   }(),
                   groups.size(), options.outputPath, secs,
                   usage.ru_maxrss / 1024);
  return llvm::Error::success();
}

namespace {
llvm::cl::OptionCategory &cat = driver::category();
using llvm::cl::desc, llvm::cl::sub;

llvm::cl::SubCommand calibrateCmd("calibrate",
                                  "Collect per-linear input statistics (XᵀX, "
                                  "mean/max |x|) over calibration text");
llvm::cl::opt<std::string> calModel(llvm::cl::Positional, llvm::cl::Required,
                                    desc("<model dir or .mlir>"),
                                    sub(calibrateCmd), llvm::cl::cat(cat));
llvm::cl::opt<std::string> calText("text", llvm::cl::Required,
                                   desc("calibration text, one document per "
                                        "line"),
                                   sub(calibrateCmd), llvm::cl::cat(cat));
llvm::cl::opt<std::string> calOutput("o", llvm::cl::Required,
                                     desc("output statistics (.safetensors)"),
                                     llvm::cl::value_desc("file"),
                                     sub(calibrateCmd), llvm::cl::cat(cat));
llvm::cl::opt<int64_t> calSamples("samples", desc("documents to run"),
                                  llvm::cl::init(CalibrateOptions().samples),
                                  sub(calibrateCmd), llvm::cl::cat(cat));
llvm::cl::opt<int64_t> calSeqLen("seq-len",
                                 desc("tokens per document at most (BOS "
                                      "included)"),
                                 llvm::cl::init(CalibrateOptions().seqLen),
                                 sub(calibrateCmd), llvm::cl::cat(cat));
llvm::cl::opt<bool> calKeepInputs("keep-inputs",
                                  desc("also store every linear input (F32 "
                                       "[tokens, in] each; no hfq pass needs "
                                       "them: for analysis outside hfq)"),
                                  sub(calibrateCmd), llvm::cl::cat(cat));
llvm::cl::opt<std::string> calCheckpoint(
    "checkpoint",
    desc("for an .mlir MODEL: the checkpoint directory bound to its "
         "parameter scope 'model' (weights, config.json, tokenizer)"),
    llvm::cl::value_desc("dir"), sub(calibrateCmd), llvm::cl::cat(cat));

driver::Subcommand calibrate(calibrateCmd, [] {
  CalibrateOptions options;
  options.textPath = calText;
  options.outputPath = calOutput;
  options.samples = calSamples;
  options.seqLen = calSeqLen;
  options.keepInputs = calKeepInputs;
  options.quiet = driver::quiet();
  options.checkpointDir = calCheckpoint;
  return runCalibrate(calModel, options, llvm::errs());
});
} // namespace

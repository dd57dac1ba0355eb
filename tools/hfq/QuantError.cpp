//===- QuantError.cpp - `hfq quant-error` ----------------------*- C++ -*-===//
//
// One small module per distinct weight shape:
//
//   func.func @roundtrip(%w: tensor<RxCxf32>) -> tensor<RxCxf32> {
//     %q = hfq.quantize %w : ... -> !hfq.qtensor<RxCxf32, ENCODING>
//     %d = hfq.dequantize %q : ... -> tensor<RxCxf32>
//   }
//
// is lowered with hfq-lower-to-llvm and JIT-compiled; every weight of that
// shape goes through it. For integer (rtn) encodings the result is also
// computed by the numerics library and must agree bit for bit — a live check
// that the compiler and the library implement the same quantizer.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "hfq/Execution/JIT.h"
#include "hfq/IO/Checkpoint.h"
#include "hfq/Numerics/Affine.h"
#include "hfq/Pipelines/Pipelines.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <cmath>
#include <map>

using namespace mlir;
using namespace mlir::hfq;
using llvm::formatv;

namespace {

struct QuantErrorOptions {
  std::string method = "rtn";
  unsigned bits = 4;
  int64_t groupSize = 32;
  bool symmetric = false;
  bool doubleQuant = false;
  std::string match;
  bool quiet = false;
};

/// Linear weights: 2-D float tensors named *.weight, except the embedding
/// and the LM head (which quantizers leave in float by default).
bool isLinearWeight(const io::TensorInfo &info) {
  llvm::StringRef name = info.name;
  bool isFloat = info.dtype == io::DType::F32 || info.dtype == io::DType::F16 ||
                 info.dtype == io::DType::BF16 || info.dtype == io::DType::F64;
  return isFloat && info.shape.size() == 2 && name.ends_with(".weight") &&
         !name.contains("embed_tokens") && !name.contains("lm_head");
}

llvm::Expected<std::string> encodingFor(const QuantErrorOptions &o) {
  if (o.method == "rtn") {
    if (o.bits < 2 || o.bits > 8)
      return fail(formatv("--bits {0} is outside 2..8", o.bits));
    if (o.groupSize < 0)
      return fail("--group-size must be >= 0");
    std::string s = formatv("#hfq.affine<bits = {0}, ", o.bits);
    if (o.groupSize == 0)
      s += "granularity = channel";
    else
      s += formatv("granularity = group, group_size = {0}", o.groupSize).str();
    // The storage hfq quantize writes: f16 scales, zeros packed.
    s += o.symmetric ? ", zero_point = symmetric, scale_type = f16>"
                     : ", zero_point = integer, scale_type = f16, "
                       "packed_zeros = true>";
    return s;
  }
  if (o.method == "nf4" || o.method == "fp4") {
    if (o.groupSize <= 0)
      return fail("--group-size (the block size) must be positive for " +
                  o.method);
    std::string s = formatv("#hfq.codebook<kind = {0}, block_size = {1}",
                            o.method, o.groupSize);
    if (o.doubleQuant)
      s += ", absmax_encoding = #hfq.codebook<kind = dynamic8, block_size = "
           "256, offset = true>";
    return s + ", order = msb_first>";
  }
  return fail("unknown --method '" + o.method + "' (expected rtn, nf4 or fp4)");
}

/// A compiled round-trip function for one weight shape.
struct Compiled {
  std::unique_ptr<ExecutionEngine> engine;
  void (*fn)(StridedMemRefType<float, 2> *, StridedMemRefType<float, 2> *) =
      nullptr;
  double storageBitsPerWeight = 0;
};

llvm::Expected<Compiled> compileRoundTrip(MLIRContext &ctx, int64_t rows,
                                          int64_t cols,
                                          llvm::StringRef encoding,
                                          llvm::StringRef tensorName) {
  std::string type = formatv("tensor<{0}x{1}xf32>", rows, cols);
  std::string qtype = formatv("!hfq.qtensor<{0}x{1}xf32, {2}>", rows, cols,
                              encoding);
  std::string source = formatv(
      "func.func @roundtrip(%w: {0}) -> {0} {\n"
      "  %q = hfq.quantize %w : {0} -> {1}\n"
      "  %d = hfq.dequantize %q : {1} -> {0}\n"
      "  return %d : {0}\n}\n",
      type, qtype);
  std::string messages;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &diag) {
    messages += diag.str();
    return success();
  });
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &ctx);
  if (!module)
    return fail(formatv("tensor '{0}' [{1}x{2}]: {3}", tensorName, rows, cols,
                        messages));
  Compiled compiled;
  module->walk([&](QuantizeOp op) {
    int64_t bits = 0;
    for (RankedTensorType part : op.getResult().getType().getPartTypes())
      bits += part.getNumElements() * part.getElementTypeBitWidth();
    compiled.storageBitsPerWeight = double(bits) / double(rows * cols);
  });
  JITOptions jit;
  jit.reference = driver::referenceLowering();
  auto engine = compileForJIT(*module, jit);
  if (!engine)
    return engine.takeError();
  compiled.engine = std::move(*engine);
  auto fn = lookupCInterface<void(StridedMemRefType<float, 2> *,
                                  StridedMemRefType<float, 2> *)>(
      *compiled.engine, "roundtrip");
  if (!fn)
    return fn.takeError();
  compiled.fn = *fn;
  return compiled;
}

llvm::Error runQuantErrorReport(llvm::StringRef modelPath,
                                const QuantErrorOptions &options,
                                llvm::raw_ostream &os) {
  auto encoding = encodingFor(options);
  if (!encoding)
    return encoding.takeError();
  auto ckpt = io::Checkpoint::open(modelPath);
  if (!ckpt)
    return ckpt.takeError();

  std::vector<const io::Checkpoint::Entry *> selected;
  for (const io::Checkpoint::Entry &e : ckpt->tensors())
    if (isLinearWeight(*e.info) &&
        llvm::StringRef(e.info->name).contains(options.match))
      selected.push_back(&e);
  if (selected.empty())
    return fail(modelPath + ": no linear weights to quantize" +
                (options.match.empty() ? "" : " matching '" + options.match + "'"));

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();

  numerics::AffineScheme scheme;
  scheme.bits = options.bits;
  scheme.granularity = options.groupSize == 0
                           ? numerics::AffineScheme::Granularity::Channel
                           : numerics::AffineScheme::Granularity::Group;
  scheme.groupSize = options.groupSize;
  scheme.symmetric = options.symmetric;
  scheme.scaleType = numerics::ScaleType::F16;
  const bool crossCheck = options.method == "rtn";

  // Compile every distinct shape first, so an encoding a shape cannot take
  // is reported before any output.
  std::map<std::pair<int64_t, int64_t>, Compiled> compiled;
  for (const io::Checkpoint::Entry *e : selected) {
    auto key = std::make_pair(e->info->shape[0], e->info->shape[1]);
    if (compiled.count(key))
      continue;
    auto c = compileRoundTrip(ctx, key.first, key.second, *encoding,
                              e->info->name);
    if (!c)
      return c.takeError();
    compiled[key] = std::move(*c);
  }

  os << "hfq quant-error: " << selected.size() << " linear weights of "
     << modelPath << "\nencoding: " << *encoding << "\n\n";
  os << llvm::format("%-42s %-10s %10s %10s\n", "tensor", "shape",
                     "rel_rmse", "max_abs");

  auto start = std::chrono::steady_clock::now();
  double totalErr2 = 0, totalW2 = 0, storageBits = 0;
  int64_t totalWeights = 0;
  for (size_t i = 0; i < selected.size(); ++i) {
    const io::TensorInfo &info = *selected[i]->info;
    int64_t rows = info.shape[0], cols = info.shape[1];
    if (!options.quiet) {
      double secs = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
      llvm::errs() << formatv("[{0}/{1}] {2} ({3:F1} s)\n", i + 1,
                              selected.size(), info.name, secs);
    }
    Compiled &fn = compiled[std::make_pair(rows, cols)];

    auto weights = selected[i]->file->readFloat32(info);
    if (!weights)
      return weights.takeError();
    StridedMemRefType<float, 2> in{weights->data(), weights->data(), 0,
                                   {rows, cols}, {cols, 1}};
    StridedMemRefType<float, 2> out{};
    fn.fn(&out, &in);
    std::vector<float> deq(out.data + out.offset,
                           out.data + out.offset + rows * cols);
    free(out.basePtr);

    if (crossCheck) {
      auto q = numerics::quantizeRTN(*weights, rows, cols, scheme);
      if (!q)
        return fail("tensor '" + info.name + "': " + toString(q.takeError()));
      std::vector<float> ref = numerics::dequantize(*q, scheme);
      for (int64_t k = 0; k < rows * cols; ++k)
        if (ref[k] != deq[k])
          return fail(formatv("tensor '{0}': the compiled quantizer and the "
                              "numerics library disagree at element {1} ({2} "
                              "vs {3})",
                              info.name, k, deq[k], ref[k]));
    }
    double err2 = 0, w2 = 0, maxAbs = 0;
    for (int64_t k = 0; k < rows * cols; ++k) {
      double d = double(deq[k]) - double((*weights)[k]);
      err2 += d * d;
      w2 += double((*weights)[k]) * (*weights)[k];
      maxAbs = std::max(maxAbs, std::fabs(d));
    }
    totalErr2 += err2;
    totalW2 += w2;
    totalWeights += rows * cols;
    storageBits += fn.storageBitsPerWeight * rows * cols;
    os << llvm::format("%-42s %-10s %10.5f %10.6f\n", info.name.c_str(),
                       formatv("{0}x{1}", rows, cols).str().c_str(),
                       std::sqrt(err2 / std::max(w2, 1e-300)), maxAbs);
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  os << formatv("\n{0} tensors, {1} weights: rel_rmse {2:F5} overall; "
                "{3:F2} bits/weight as hfq stores them (codes + scaling "
                "parts); {4:F1} s\n",
                selected.size(), totalWeights,
                std::sqrt(totalErr2 / std::max(totalW2, 1e-300)),
                storageBits / double(totalWeights), secs);
  if (crossCheck)
    os << "compiled quantizer == numerics library, bit for bit, on every "
          "tensor\n";
  return llvm::Error::success();
}

llvm::cl::OptionCategory &cat = driver::category();
using llvm::cl::desc, llvm::cl::sub;

llvm::cl::SubCommand quantErrorCmd(
    "quant-error",
    "Quantize each linear weight of a checkpoint through the compiler and "
    "report the error per tensor");
llvm::cl::opt<std::string> qeModel(llvm::cl::Positional, llvm::cl::Required,
                                   desc("<model dir or .safetensors>"),
                                   sub(quantErrorCmd), llvm::cl::cat(cat));
llvm::cl::opt<std::string> qeMethod("method",
                                    desc("rtn (integer), nf4 or fp4 "
                                         "(codebook)"),
                                    llvm::cl::init("rtn"), sub(quantErrorCmd),
                                    llvm::cl::cat(cat));
llvm::cl::opt<unsigned> qeBits("bits", desc("code width for rtn (2-8)"),
                               llvm::cl::init(4), sub(quantErrorCmd),
                               llvm::cl::cat(cat));
llvm::cl::opt<int64_t> qeGroup("group-size",
                               desc("rtn: input columns per group (0: one "
                                    "group per output channel); nf4/fp4: "
                                    "block size"),
                               llvm::cl::init(32), sub(quantErrorCmd),
                               llvm::cl::cat(cat));
llvm::cl::opt<bool> qeSym("sym", desc("rtn: symmetric (no zero points)"),
                          sub(quantErrorCmd), llvm::cl::cat(cat));
llvm::cl::opt<bool> qeDoubleQuant("double-quant",
                                  desc("nf4/fp4: quantize absmax (block "
                                       "256)"),
                                  sub(quantErrorCmd), llvm::cl::cat(cat));
llvm::cl::opt<std::string> qeMatch("match",
                                   desc("only tensors whose name contains "
                                        "this"),
                                   llvm::cl::init(""), sub(quantErrorCmd),
                                   llvm::cl::cat(cat));

driver::Subcommand quantError(quantErrorCmd, [] {
  QuantErrorOptions options;
  options.method = qeMethod;
  options.bits = qeBits;
  options.groupSize = qeGroup;
  options.symmetric = qeSym;
  options.doubleQuant = qeDoubleQuant;
  options.match = qeMatch;
  options.quiet = driver::quiet();
  return runQuantErrorReport(qeModel, options, llvm::outs());
});

} // namespace

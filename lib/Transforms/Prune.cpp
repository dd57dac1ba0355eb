//===- Prune.cpp - the hfq-prune pass ---------------------------*- C++ -*-===//

#include "LinearWeights.h"

#include "hfq/IO/Safetensors.h"
#include "hfq/Numerics/Packing.h"
#include "hfq/Numerics/Pruning.h"
#include "hfq/Transforms/Passes.h"

#include "llvm/Support/FormatVariadic.h"

#include <map>
#include <numeric>

namespace mlir::hfq {
#define GEN_PASS_DEF_PRUNE
#include "hfq/Transforms/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;
namespace nx = mlir::hfq::numerics;


namespace {

/// The #hfq.sparse parts of an N:M-pruned weight.
llvm::Expected<Quantized> sparseParts(SparseEncodingAttr enc,
                                      const nx::PruneResult &r, int64_t rows,
                                      int64_t cols) {
  const int64_t n = enc.getN(), m = enc.getM();
  const int64_t kept = enc.getKeptPerRow(cols);
  std::vector<uint8_t> indices;
  std::vector<float> values;
  indices.reserve(rows * kept);
  values.reserve(rows * kept);
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t g = 0; g < cols; g += m) {
      int64_t found = 0;
      for (int64_t p = 0; p < m; ++p)
        if (r.mask[row * cols + g + p]) {
          indices.push_back(uint8_t(p));
          values.push_back(r.weights[row * cols + g + p]);
          ++found;
        }
      if (found != n)
        return llvm::createStringError(llvm::formatv(
            "row {0}, group at column {1} keeps {2} weights, the pattern {3}",
            row, g, found, n));
    }
  auto packed = packedCodes(indices, enc.getCodeBits(), /*msbFirst=*/false);
  if (!packed)
    return packed.takeError();
  auto types = enc.getPartTypes({rows, cols}, Float32Type::get(enc.getContext()));
  Quantized q;
  q.encoding = enc;
  q.parts.push_back({types[0], std::move(*packed)});
  q.parts.push_back({types[1], bytesOf<float>(values)});
  q.dequantized = r.weights;
  return q;
}

/// For coupled MLP pruning: the channels (rows of gate/up, columns of down)
/// kept in each layer's MLP, by the linears' names.
llvm::Expected<std::map<std::string, std::vector<uint8_t>>>
coupledMLPChannels(ModuleOp module, double sparsity) {
  std::map<std::string, std::map<std::string, LinearOp>> mlps;
  module.walk([&](LinearOp op) {
    std::string name = linearName(op);
    for (const char *part : {"gate_proj", "up_proj", "down_proj"})
      if (llvm::StringRef(name).ends_with(std::string(".mlp.") + part))
        mlps[name.substr(0, name.size() - strlen(part))][part] = op;
  });
  std::map<std::string, std::vector<uint8_t>> keep;
  FloatReader reader(module);
  for (auto &[prefix, ops] : mlps) {
    if (ops.size() != 3)
      return llvm::createStringError(prefix + " lacks one of gate/up/down");
    auto gate = reader.read(ops["gate_proj"]);
    auto up = reader.read(ops["up_proj"]);
    auto down = reader.read(ops["down_proj"]);
    if (!gate || !up || !down)
      return llvm::joinErrors(
          llvm::joinErrors(gate.takeError(), up.takeError()),
          down.takeError());
    auto shape = [](LinearOp op) {
      return cast<RankedTensorType>(op.getWeight().getType()).getShape();
    };
    const int64_t channels = shape(ops["gate_proj"])[0];
    const int64_t hidden = shape(ops["gate_proj"])[1];
    if (shape(ops["up_proj"]) != shape(ops["gate_proj"]) ||
        shape(ops["down_proj"])[1] != channels)
      return llvm::createStringError(prefix + " gate/up/down shapes disagree");
    const int64_t outputs = shape(ops["down_proj"])[0];
    std::vector<double> score(channels, 0.0);
    for (int64_t i = 0; i < channels; ++i)
      for (int64_t j = 0; j < hidden; ++j)
        score[i] += double((*gate)[i * hidden + j]) * (*gate)[i * hidden + j] +
                    double((*up)[i * hidden + j]) * (*up)[i * hidden + j];
    for (int64_t o = 0; o < outputs; ++o)
      for (int64_t i = 0; i < channels; ++i)
        score[i] += double((*down)[o * channels + i]) * (*down)[o * channels + i];
    std::vector<int64_t> order(channels);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return score[a] < score[b]; });
    std::vector<uint8_t> kept(channels, 1);
    for (int64_t k = 0; k < int64_t(double(channels) * sparsity); ++k)
      kept[order[k]] = 0;
    for (const char *part : {"gate_proj", "up_proj", "down_proj"})
      keep[prefix + part] = kept;
  }
  return keep;
}

struct PrunePass : mlir::hfq::impl::PruneBase<PrunePass> {
  using PruneBase::PruneBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const llvm::Twine &message) {
      module.emitError() << message;
      signalPassFailure();
    };
    if (method != "magnitude" && method != "structured" && method != "sparsegpt")
      return fail("unknown method '" + method +
                  "' (expected magnitude, structured or sparsegpt)");
    nx::NMPattern nm;
    if (!pattern.empty()) {
      auto [a, b] = llvm::StringRef(pattern).split(':');
      if (a.getAsInteger(10, nm.n) || b.getAsInteger(10, nm.m))
        return fail("pattern must be N:M (e.g. 2:4), got '" + pattern + "'");
      if (method == "structured")
        return fail("structured pruning takes no N:M pattern");
    }
    if (!(sparsity >= 0.0 && sparsity < 1.0))
      return fail(llvm::formatv("sparsity {0} is outside [0, 1)",
                                double(sparsity)));
    if (bits != 0 && (bits < 2 || bits > 8 || method != "sparsegpt"))
      return fail("bits (joint quantization) is for sparsegpt, 2..8");
    if (method == "sparsegpt" && stats.empty())
      return fail("sparsegpt needs stats=<file> (from hfq calibrate)");
    SparseEncodingAttr enc;
    if (nm.enabled() && !bits) {
      enc = SparseEncodingAttr::getChecked(
          [&] { return module.emitError(); }, &getContext(), nm.n, nm.m);
      if (!enc)
        return signalPassFailure();
    }
    LinearSelection selection;
    std::vector<std::string> includes(include.begin(), include.end());
    if (coupled && includes.empty())
      includes.push_back("\\.mlp\\.(gate|up|down)_proj$");
    if (failed(selection.init(module, includes, exclude)))
      return signalPassFailure();
    if (coupled && method != "structured")
      return fail("coupled is an option of structured pruning");
    std::map<std::string, std::vector<uint8_t>> channels;
    if (coupled) {
      auto c = coupledMLPChannels(module, sparsity);
      if (!c)
        return fail(llvm::toString(c.takeError()));
      channels = std::move(*c);
    }
    std::unique_ptr<io::SafetensorsFile> file;
    if (method == "sparsegpt") {
      auto opened = io::SafetensorsFile::open(stats);
      if (!opened)
        return fail(llvm::toString(opened.takeError()));
      file = std::move(*opened);
    }

    if (failed(rewriteLinearWeights(
            module, selection, method, report,
            [&](LinearOp op, llvm::ArrayRef<float> w, int64_t rows,
                int64_t cols) -> llvm::Expected<Quantized> {
              nx::AffineScheme scheme;
              if (bits) {
                scheme.bits = bits;
                scheme.granularity = nx::AffineScheme::Granularity::Channel;
              }
              auto prune = [&]() -> llvm::Expected<nx::PruneResult> {
                if (method == "magnitude")
                  return nx::pruneMagnitude(w, rows, cols, sparsity, nm);
                if (method == "structured" && !coupled)
                  return nx::pruneStructured(w, rows, cols, sparsity,
                                             int(axis), unit);
                if (method == "structured") {
                  auto it = channels.find(linearName(op));
                  if (it == channels.end())
                    return llvm::createStringError(
                        "coupled pruning applies to MLP gate/up/down linears "
                        "only; do not include " + linearName(op));
                  bool down =
                      llvm::StringRef(linearName(op)).ends_with("down_proj");
                  nx::PruneResult p;
                  p.weights.assign(w.begin(), w.end());
                  p.mask.resize(rows * cols);
                  for (int64_t i = 0; i < rows; ++i)
                    for (int64_t j = 0; j < cols; ++j) {
                      uint8_t keep = it->second[down ? j : i];
                      p.mask[i * cols + j] = keep;
                      if (!keep)
                        p.weights[i * cols + j] = 0.0f;
                    }
                  return p;
                }
                auto h = hessianOf(*file, stats, linearName(op), cols);
                if (!h)
                  return h.takeError();
                nx::SparseGPTOptions o;
                o.sparsity = sparsity;
                o.pattern = nm;
                o.percDamp = damp;
                o.blockSize = blockSize;
                if (bits)
                  o.quantize = scheme;
                return nx::pruneSparseGPT(w, rows, cols, *h, o);
              };
              auto r = prune();
              if (!r)
                return r.takeError();
              if (r->quantized) {
                auto affine = AffineEncodingAttr::get(
                    &getContext(), bits, Granularity::channel, 1, 0,
                    ZeroPoint::integer, false, 8, PackOrder::lsb_first);
                return affineParts(affine, *r->quantized, scheme, false, {},
                                   r->weights);
              }
              if (enc)
                return sparseParts(enc, *r, rows, cols);
              Quantized dense;
              dense.parts.push_back(
                  {RankedTensorType::get({rows, cols},
                                         Float32Type::get(&getContext())),
                   bytesOf<float>(r->weights)});
              dense.dequantized = r->weights;
              return dense;
            },
            "pruned")))
      return signalPassFailure();

    OpBuilder b(&getContext());
    SmallVector<NamedAttribute> settings = {
        b.getNamedAttr("method", b.getStringAttr(method)),
        b.getNamedAttr("sparsity", b.getF64FloatAttr(nm.enabled()
                                                         ? 1.0 - double(nm.n) / double(nm.m)
                                                         : double(sparsity)))};
    if (nm.enabled())
      settings.push_back(b.getNamedAttr("pattern", b.getStringAttr(pattern)));
    if (method == "structured" && coupled)
      settings.push_back(b.getNamedAttr("coupled", b.getStringAttr("mlp")));
    else if (method == "structured") {
      settings.push_back(b.getNamedAttr("axis", b.getI64IntegerAttr(axis)));
      settings.push_back(b.getNamedAttr("unit", b.getI64IntegerAttr(unit)));
    }
    if (bits)
      settings.push_back(b.getNamedAttr("bits", b.getI64IntegerAttr(bits)));
    module->setAttr("hfq.pruning", b.getDictionaryAttr(settings));
  }
};

} // namespace

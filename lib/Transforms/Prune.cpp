//===- Prune.cpp - the hfq-prune pass ---------------------------*- C++ -*-===//

#include "DecoderLayers.h"
#include "Sequential.h"

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
  auto packed = packedCodes(indices, int64_t(indices.size()) / rows,
                            enc.getCodeBits(), /*msbFirst=*/false);
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

/// The #hfq.bitmask parts of a pruned float weight (its non-zeros).
Quantized bitmaskParts(MLIRContext *ctx, std::vector<float> weights,
                       int64_t rows, int64_t cols) {
  nx::BitmaskSparse sparse = nx::compressBitmask(weights, rows, cols);
  auto enc = BitmaskEncodingAttr::get(ctx, int64_t(sparse.values.size()));
  auto types = enc.getPartTypes({rows, cols}, Float32Type::get(ctx));
  Quantized q;
  q.encoding = enc;
  q.parts.push_back({types[0], bytesOf<uint8_t>(sparse.bitmask)});
  q.parts.push_back({types[1], bytesOf<float>(sparse.values)});
  q.parts.push_back({types[2], bytesOf<int64_t>(sparse.rowOffsets)});
  q.dequantized = std::move(weights);
  return q;
}

/// Coupled structured pruning removes units that span several linears: a
/// unit is `width` consecutive rows (or columns) of each member, and units
/// are scored by the sum of their squared weights over all members. For
/// each member: 1 for every row (or column) kept.
struct CoupledMember {
  std::string name;
  bool columns;
  int64_t width;
};
struct CoupledMask {
  std::vector<uint8_t> keep;
  bool columns = false;
};
using CoupledMasks = std::map<std::string, CoupledMask>;

llvm::Error pruneCoupledUnits(FloatReader &reader, const DecoderLayers &layers,
                              llvm::ArrayRef<CoupledMember> members,
                              int64_t units, double sparsity,
                              CoupledMasks &masks) {
  std::vector<double> score(units, 0.0);
  for (const CoupledMember &m : members) {
    LinearOp op = layers.linears.lookup(m.name);
    if (!op)
      return llvm::createStringError("coupled pruning: no linear '" + m.name +
                                     "' in the module");
    auto type = dyn_cast<RankedTensorType>(op.getWeight().getType());
    if (!type || type.getRank() != 2)
      return llvm::createStringError(m.name + ": needs a float weight");
    const int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
    if ((m.columns ? cols : rows) != units * m.width)
      return llvm::createStringError(llvm::formatv(
          "coupled pruning: {0} has {1} {2}, expected {3} units of {4}",
          m.name, m.columns ? cols : rows, m.columns ? "columns" : "rows",
          units, m.width));
    auto w = reader.read(op);
    if (!w)
      return w.takeError();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        double v = (*w)[r * cols + c];
        score[(m.columns ? c : r) / m.width] += v * v;
      }
  }
  std::vector<int64_t> order(units);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return score[a] < score[b]; });
  std::vector<uint8_t> kept(units, 1);
  for (int64_t k = 0; k < int64_t(double(units) * sparsity); ++k)
    kept[order[k]] = 0;
  for (const CoupledMember &m : members) {
    CoupledMask &mask = masks[m.name];
    mask.columns = m.columns;
    mask.keep.resize(units * m.width);
    for (int64_t i = 0; i < units * m.width; ++i)
      mask.keep[i] = kept[i / m.width];
  }
  return llvm::Error::success();
}

/// The coupled units of every layer: MLP channels (gate row i, up row i,
/// down column i) and/or attention KV groups (a KV head's k and v rows, the
/// rows of the query heads sharing it, and their o_proj columns; one head
/// each without GQA).
llvm::Expected<CoupledMasks> coupledMasks(ModuleOp module, bool mlp,
                                          bool heads, double sparsity) {
  auto layers = DecoderLayers::of(module, "coupled pruning");
  if (!layers)
    return layers.takeError();
  const io::ModelConfig &cfg = layers->config;
  const int64_t D = cfg.headDim, perGroup = cfg.numHeads / cfg.numKVHeads;
  FloatReader reader(module);
  CoupledMasks masks;
  for (int64_t l = 0; l < cfg.numLayers; ++l) {
    const std::string p = llvm::formatv("model.layers.{0}.", l).str();
    if (mlp)
      if (llvm::Error e = pruneCoupledUnits(
              reader, *layers,
              {{p + "mlp.gate_proj", false, 1},
               {p + "mlp.up_proj", false, 1},
               {p + "mlp.down_proj", true, 1}},
              cfg.intermediateSize, sparsity, masks))
        return std::move(e);
    if (heads)
      if (llvm::Error e = pruneCoupledUnits(
              reader, *layers,
              {{p + "self_attn.q_proj", false, D * perGroup},
               {p + "self_attn.k_proj", false, D},
               {p + "self_attn.v_proj", false, D},
               {p + "self_attn.o_proj", true, D * perGroup}},
              cfg.numKVHeads, sparsity, masks))
        return std::move(e);
  }
  return masks;
}

struct PrunePass : mlir::hfq::impl::PruneBase<PrunePass> {
  using PruneBase::PruneBase;

  /// Magnitude and structured pruning (coupled units from `coupledKeep`).
  llvm::Expected<nx::PruneResult>
  pruneWithoutData(LinearOp op, llvm::ArrayRef<float> w, int64_t rows,
                   int64_t cols, const nx::NMPattern &nm,
                   const CoupledMasks &coupledKeep) {
    if (method == PruneMethod::magnitude)
      return nx::pruneMagnitude(w, rows, cols, sparsity, nm);
    if (coupled == CoupledUnits::none)
      return nx::pruneStructured(w, rows, cols, sparsity, int(axis), unit);
    auto it = coupledKeep.find(getLinearName(op));
    if (it == coupledKeep.end())
      return llvm::createStringError(
          "coupled pruning applies to the layers' MLP (coupled=mlp) and "
          "attention (coupled=heads) linears only; do not include " +
          getLinearName(op));
    const CoupledMask &mask = it->second;
    nx::PruneResult p;
    p.weights.assign(w.begin(), w.end());
    p.mask.resize(rows * cols);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        uint8_t keep = mask.keep[mask.columns ? j : i];
        p.mask[i * cols + j] = keep;
        if (!keep)
          p.weights[i * cols + j] = 0.0f;
      }
    return p;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const llvm::Twine &message) {
      module.emitError() << message;
      signalPassFailure();
    };
    const nx::NMPattern nm = pattern;
    if (nm.enabled() && method == PruneMethod::structured)
      return fail("structured pruning takes no N:M pattern");
    if (!(sparsity >= 0.0 && sparsity < 1.0))
      return fail(llvm::formatv("sparsity {0} is outside [0, 1)",
                                double(sparsity)));
    if (bits != 0 && (bits < 2 || bits > 8 || method != PruneMethod::sparsegpt))
      return fail("bits (joint quantization) is for sparsegpt, 2..8");
    if (method == PruneMethod::sparsegpt && stats.empty())
      return fail("sparsegpt needs stats=<file> (from hfq calibrate)");
    if (sequential != Sequential::none && method != PruneMethod::sparsegpt)
      return fail("sequential is an option of sparsegpt");
    SparseEncodingAttr enc;
    if (nm.enabled() && !bits) {
      enc = SparseEncodingAttr::getChecked(
          [&] { return module.emitError(); }, &getContext(), nm.n, nm.m);
      if (!enc)
        return signalPassFailure();
    }
    const bool isCoupled = coupled != CoupledUnits::none;
    const bool coupledMLP =
        coupled == CoupledUnits::mlp || coupled == CoupledUnits::all;
    const bool coupledHeads =
        coupled == CoupledUnits::heads || coupled == CoupledUnits::all;
    LinearSelection selection;
    std::vector<std::string> includes(include.begin(), include.end());
    if (include.empty() && coupledMLP)
      includes.push_back("\\.mlp\\.(gate|up|down)_proj$");
    if (include.empty() && coupledHeads)
      includes.push_back("\\.self_attn\\.(q|k|v|o)_proj$");
    if (failed(selection.init(module, includes, exclude)))
      return signalPassFailure();
    if (isCoupled && method != PruneMethod::structured)
      return fail("coupled is an option of structured pruning");
    CoupledMasks coupledKeep;
    if (isCoupled) {
      auto c = coupledMasks(module, coupledMLP, coupledHeads, sparsity);
      if (!c)
        return fail(llvm::toString(c.takeError()));
      coupledKeep = std::move(*c);
    }
    nx::AffineScheme scheme;
    if (bits) {
      scheme.bits = bits;
      scheme.granularity = nx::AffineScheme::Granularity::Channel;
      scheme.scaleType = scaleType;
    }
    // A pruned (and maybe jointly quantized) weight as parts.
    auto toParts = [&](nx::PruneResult r, int64_t rows,
                       int64_t cols) -> llvm::Expected<Quantized> {
      if (r.quantized) {
        auto affine = AffineEncodingAttr::get(
            &getContext(), bits, /*codeType=*/FloatType(), Granularity::channel,
            1, 0, ZeroPoint::integer, false, 8, PackOrder::lsb_first,
            scaleStorageAttrType(&getContext(), scaleType),
            /*scaleEncoding=*/{}, /*zeroEncoding=*/{}, packZeros);
        return affineParts(affine, *r.quantized, scheme, false, {}, r.weights);
      }
      if (enc)
        return sparseParts(enc, r, rows, cols);
      return bitmaskParts(&getContext(), std::move(r.weights), rows, cols);
    };

    if (method == PruneMethod::sparsegpt) {
      auto file = io::Statistics::open(stats);
      if (!file)
        return fail(llvm::toString(file.takeError()));
      nx::SparseGPTOptions o;
      o.sparsity = sparsity;
      o.pattern = nm;
      o.percDamp = damp;
      o.blockSize = blockSize;
      if (bits)
        o.quantize = scheme;
      HessianSource source{&*file, sequential};
      if (failed(rewriteWithHessians(
              module, selection, "sparsegpt", report, source,
              [&](const std::string &, llvm::ArrayRef<float> w, int64_t rows,
                  int64_t cols,
                  llvm::ArrayRef<double> h) -> llvm::Expected<Quantized> {
                auto r = nx::pruneSparseGPT(w, rows, cols, h, o);
                if (!r)
                  return r.takeError();
                return toParts(std::move(*r), rows, cols);
              },
              "pruned")))
        return signalPassFailure();
    } else if (failed(rewriteLinearWeights(
                   module, selection, stringify(method), report,
                   [&](LinearOp op, llvm::ArrayRef<float> w, int64_t rows,
                       int64_t cols) -> llvm::Expected<Quantized> {
                     auto r =
                         pruneWithoutData(op, w, rows, cols, nm, coupledKeep);
                     if (!r)
                       return r.takeError();
                     return toParts(std::move(*r), rows, cols);
                   },
                   "pruned")))
      return signalPassFailure();

    OpBuilder b(&getContext());
    SmallVector<NamedAttribute> settings = {
        b.getNamedAttr("method", b.getStringAttr(stringify(method))),
        b.getNamedAttr("sparsity",
                       b.getF64FloatAttr(nm.enabled()
                                             ? 1.0 - double(nm.n) / double(nm.m)
                                             : double(sparsity)))};
    if (nm.enabled())
      settings.push_back(b.getNamedAttr(
          "pattern", b.getStringAttr(llvm::formatv("{0}:{1}", nm.n, nm.m))));
    if (method == PruneMethod::structured && isCoupled)
      settings.push_back(
          b.getNamedAttr("coupled", b.getStringAttr(stringify(coupled))));
    else if (method == PruneMethod::structured) {
      settings.push_back(b.getNamedAttr("axis", b.getI64IntegerAttr(axis)));
      settings.push_back(b.getNamedAttr("unit", b.getI64IntegerAttr(unit)));
    }
    if (bits)
      settings.push_back(b.getNamedAttr("bits", b.getI64IntegerAttr(bits)));
    if (method == PruneMethod::sparsegpt)
      settings.push_back(
          b.getNamedAttr("sequential", b.getStringAttr(stringify(sequential))));
    module->setAttr("hfq.pruning", b.getDictionaryAttr(settings));
  }
};

} // namespace

bool llvm::cl::parser<nx::NMPattern>::parse(Option &o, StringRef, StringRef arg,
                                            nx::NMPattern &value) {
  value = nx::NMPattern();
  if (arg.empty() || arg == "none")
    return false;
  auto [a, b] = arg.split(':');
  nx::NMPattern p;
  if (a.getAsInteger(10, p.n) || b.getAsInteger(10, p.m))
    return o.error("pattern must be N:M (e.g. 2:4) or none, got '" + arg + "'");
  if (p.n <= 0 || p.n >= p.m || p.m > 16)
    return o.error("pattern " + arg + " must keep 0 < N < M <= 16 weights");
  value = p;
  return false;
}

void llvm::cl::parser<nx::NMPattern>::printOptionDiff(
    const Option &o, nx::NMPattern value, const OptionValue<nx::NMPattern> &,
    size_t globalWidth) const {
  printOptionName(o, globalWidth);
  outs() << "= " << value << "\n";
}

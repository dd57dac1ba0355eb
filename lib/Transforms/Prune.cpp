//===- Prune.cpp - the hfq-prune pass ---------------------------*- C++ -*-===//

#include "LinearWeights.h"

#include "hfq/IO/Safetensors.h"
#include "hfq/Numerics/Packing.h"
#include "hfq/Numerics/Pruning.h"
#include "hfq/Transforms/Passes.h"

#include "llvm/Support/FormatVariadic.h"

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
    if (failed(selection.init(module, include, exclude)))
      return signalPassFailure();
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
              llvm::Expected<nx::PruneResult> r = nx::PruneResult{};
              nx::AffineScheme scheme;
              if (method == "magnitude") {
                r = nx::pruneMagnitude(w, rows, cols, sparsity, nm);
              } else if (method == "structured") {
                r = nx::pruneStructured(w, rows, cols, sparsity, int(axis),
                                        unit);
              } else {
                auto h = hessianOf(*file, stats, linearName(op), cols);
                if (!h)
                  return h.takeError();
                nx::SparseGPTOptions o;
                o.sparsity = sparsity;
                o.pattern = nm;
                o.percDamp = damp;
                o.blockSize = blockSize;
                if (bits) {
                  scheme.bits = bits;
                  scheme.granularity = nx::AffineScheme::Granularity::Channel;
                  o.quantize = scheme;
                }
                r = nx::pruneSparseGPT(w, rows, cols, *h, o);
              }
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
    if (method == "structured") {
      settings.push_back(b.getNamedAttr("axis", b.getI64IntegerAttr(axis)));
      settings.push_back(b.getNamedAttr("unit", b.getI64IntegerAttr(unit)));
    }
    if (bits)
      settings.push_back(b.getNamedAttr("bits", b.getI64IntegerAttr(bits)));
    module->setAttr("hfq.pruning", b.getDictionaryAttr(settings));
  }
};

} // namespace

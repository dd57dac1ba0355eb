//===- AWQ.cpp - the hfq-awq pass -------------------------------*- C++ -*-===//
//
// Layer by layer: run the module's own layer function on the calibration
// tokens (a LayerRunner, float weights) to record its linears' inputs, read
// the layer's float weights, run the four scale searches and fold each
// result (numerics/AWQ.h), run the clip search, write the transformed float
// weights back into the IR, and finally quantize every selected linear
// round-to-nearest through the shared LinearWeights machinery. The searches
// evaluate candidate blocks with the C++ evaluators of numerics/Decoder.h
// (SGEMM; ~40 block evaluations a layer would take minutes each on the
// reference lowering), checked on every layer against the activations the
// layer function recorded.
//
// Every search of a layer sees the float weights it would see in the
// reference (which searches all groups before applying any): a group's
// search only reads weights that earlier groups of the layer do not change
// (o_proj for q/k/v and v->o, down_proj for gate/up and up->down), so
// applying each result right away is equivalent and keeps the bookkeeping
// simple. Inputs come from the float model, as in the reference, which
// computes the next layer's inputs before scaling the current one.
//
//===----------------------------------------------------------------------===//

#include "DecoderLayers.h"

#include "hfq/IO/Statistics.h"
#include "hfq/Transforms/LayerRunner.h"

#include "hfq/Numerics/AWQ.h"
#include "hfq/Transforms/Passes.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>

namespace mlir::hfq {
#define GEN_PASS_DEF_AWQ
#include "hfq/Transforms/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;
namespace nx = mlir::hfq::numerics;
using llvm::formatv;

namespace {

/// One layer's linear inputs, as the layer runner recorded them: each
/// linear's group, and each group's rows (all calibration tokens).
struct LayerInputs {
  llvm::StringMap<int64_t> groupOf;
  std::map<int64_t, std::vector<float>> rows;
};

struct AWQPass : mlir::hfq::impl::AWQBase<AWQPass> {
  using AWQBase::AWQBase;

  ModuleOp module;
  LinearSelection selection;
  nx::AffineScheme scheme;
  std::optional<DecoderLayers> decoder;

  LogicalResult fail(const llvm::Twine &message) {
    module.emitError() << message;
    return failure();
  }
  void abortPass(const llvm::Twine &message) {
    module.emitError() << message;
    signalPassFailure();
  }

  /// Divides columns of `x` [n, cols] by s.
  static void divideColumns(std::vector<float> &x, llvm::ArrayRef<float> s) {
    const size_t cols = s.size();
    for (size_t i = 0; i < x.size(); ++i)
      x[i] /= s[i % cols];
  }
  static void scaleColumns(nx::DenseLinear &l, llvm::ArrayRef<float> s) {
    for (int64_t r = 0; r < l.out; ++r)
      for (int64_t c = 0; c < l.in; ++c)
        l.weight[r * l.in + c] *= s[c];
  }
  /// Divides the last s.size() output rows (and bias) of `l` by s.
  static void divideRows(nx::DenseLinear &l, llvm::ArrayRef<float> s) {
    const int64_t first = l.out - int64_t(s.size());
    for (int64_t r = first; r < l.out; ++r) {
      for (int64_t c = 0; c < l.in; ++c)
        l.weight[r * l.in + c] /= s[r - first];
      if (!l.bias.empty())
        l.bias[r] /= s[r - first];
    }
  }

  /// Runs one scale search and reports it; `loss` evaluates candidates.
  llvm::Expected<std::vector<float>>
  search(const std::string &what, const std::vector<float> &x, int64_t cols,
         llvm::ArrayRef<nx::DenseLinear *> group, nx::AWQLossFn loss,
         std::string &log) {
    std::vector<double> sum(cols, 0.0);
    const int64_t n = int64_t(x.size()) / cols;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t c = 0; c < cols; ++c)
        sum[c] += std::fabs(double(x[t * cols + c]));
    std::vector<float> absMean(cols);
    for (int64_t c = 0; c < cols; ++c)
      absMean[c] = float(sum[c] / double(n));
    std::vector<const std::vector<float> *> weights;
    std::vector<int64_t> rows;
    for (nx::DenseLinear *l : group) {
      weights.push_back(&l->weight);
      rows.push_back(l->out);
    }
    auto r = nx::searchAWQScale(absMean, weights, rows, scheme, int(grid), loss,
                                duoScaling);
    if (!r)
      return llvm::createStringError(what + ": " + llvm::toString(r.takeError()));
    log += formatv(" {0} alpha {1:F2} (loss {2:E2} -> {3:E2})", what, r->alpha,
                   r->losses.front(), r->losses[r->bestIndex])
               .str();
    return std::move(r->scales);
  }

  /// A linear reading another's output (o after v, down after up): s is
  /// searched on the linear's own output error and folds into the previous
  /// linear's output rows (and bias); x [tokens, in] is rescaled to match.
  llvm::Error scaleAfterLinear(const char *what, nx::DenseLinear &previous,
                               nx::DenseLinear &l, std::vector<float> &x,
                               std::string &log) {
    const int64_t tokens = int64_t(x.size()) / l.in;
    std::vector<float> org = nx::linearForward(l, x, tokens);
    auto s = search(
        what, x, l.in, {&l},
        [&](llvm::ArrayRef<std::vector<float>> w) {
          nx::DenseLinear candidate{w[0], l.bias, l.out, l.in};
          return nx::meanSquaredError(nx::linearForward(candidate, x, tokens),
                                      org);
        },
        log);
    if (!s)
      return s.takeError();
    divideRows(previous, *s);
    scaleColumns(l, *s);
    divideColumns(x, *s);
    return llvm::Error::success();
  }

  LogicalResult runLayer(FloatReader &reader, int64_t layer,
                         const LayerInputs &recorded,
                         llvm::ArrayRef<int64_t> seqLens, int64_t tokens) {
    auto start = std::chrono::steady_clock::now();
    const std::string p = formatv("model.layers.{0}.", layer).str();
    const char *names[] = {"self_attn.q_proj", "self_attn.k_proj",
                           "self_attn.v_proj", "self_attn.o_proj",
                           "mlp.gate_proj",    "mlp.up_proj",
                           "mlp.down_proj"};
    llvm::StringMap<nx::DenseLinear> l;
    for (const char *n : names) {
      auto loaded = decoder->linear(reader, p + n);
      if (!loaded)
        return fail(llvm::toString(loaded.takeError()));
      l[n] = std::move(*loaded);
    }
    nx::DenseLinear &q = l["self_attn.q_proj"], &k = l["self_attn.k_proj"],
                    &v = l["self_attn.v_proj"], &o = l["self_attn.o_proj"],
                    &gate = l["mlp.gate_proj"], &up = l["mlp.up_proj"],
                    &down = l["mlp.down_proj"];
    auto sel = [&](std::initializer_list<const char *> ns) {
      return llvm::all_of(ns, [&](const char *n) {
        return selection.selected(p + n);
      });
    };
    std::vector<float> norms[2];
    const std::string normNames[2] = {p + "input_layernorm.weight",
                                      p + "post_attention_layernorm.weight"};
    for (int i = 0; i < 2; ++i) {
      auto values = decoder->tensor(reader, normNames[i]);
      if (!values)
        return fail(llvm::toString(values.takeError()));
      norms[i] = std::move(*values);
    }
    const nx::AttentionShape &attention = decoder->attention;
    auto inputs = [&](const char *n,
                      int64_t cols) -> llvm::Expected<std::vector<float>> {
      auto g = recorded.groupOf.find(p + n);
      if (g == recorded.groupOf.end())
        return llvm::createStringError("the layer function records no input "
                                       "of " +
                                       p + n);
      auto rows = recorded.rows.find(g->second);
      const std::vector<float> empty;
      const std::vector<float> &x =
          rows == recorded.rows.end() ? empty : rows->second;
      if (int64_t(x.size()) != tokens * cols)
        return llvm::createStringError(
            formatv("{0}{1}: {2} recorded input values, expected {3} x {4}", p,
                    n, x.size(), tokens, cols));
      for (float v : x)
        if (!std::isfinite(v))
          return llvm::createStringError(
              p + n +
              ": non-finite activations at its input (the model computes "
              "NaN or infinity on the calibration tokens)");
      return x;
    };
    auto xAttn = inputs("self_attn.q_proj", q.in);
    auto xO = inputs("self_attn.o_proj", o.in);
    auto xMlp = inputs("mlp.gate_proj", gate.in);
    auto xDown = inputs("mlp.down_proj", down.in);
    for (auto *x : {&xAttn, &xO, &xMlp, &xDown})
      if (!*x)
        return fail(llvm::toString(x->takeError()));

    // The evaluators must compute what the model computes: they reproduce
    // the recorded o_proj and down_proj inputs from the q/k/v and gate/up
    // inputs (all from the same float forward passes), or AWQ would
    // optimise the wrong function.
    double attnCheck = nx::relativeRMSError(
        nx::attentionContext(attention, q, k, v, *xAttn, seqLens), *xO);
    double mlpCheck = nx::relativeRMSError(
        nx::mlpIntermediate(gate, up, *xMlp, tokens), *xDown);
    if (!(attnCheck < kDecoderCheckTolerance) || !(mlpCheck < kDecoderCheckTolerance))
      return fail(formatv(
          "{0}: AWQ's block evaluator does not reproduce the model's own "
          "activations (relative error: attention {1:E2}, MLP {2:E2}; "
          "tolerance {3:E0}); unsupported architecture variant, or "
          "statistics from another model",
          p.substr(0, p.size() - 1), attnCheck, mlpCheck, kDecoderCheckTolerance));
    std::string log =
        formatv(" evaluator check {0:E1}/{1:E1};", attnCheck, mlpCheck).str();
    // Weights changed; linears whose output rows (and bias) were scaled.
    llvm::StringSet<> modified, rowsScaled;
    auto markModified = [&](std::initializer_list<llvm::StringRef> names) {
      for (llvm::StringRef n : names)
        modified.insert(n);
    };
    // q/k/v through the attention; s folds into input_layernorm.
    if (sel({"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"})) {
      auto org = nx::attentionForward(attention, q, k, v, o, *xAttn, seqLens);
      auto s = search(
          "qkv", *xAttn, q.in, {&q, &k, &v},
          [&](llvm::ArrayRef<std::vector<float>> w) {
            nx::DenseLinear q2{w[0], q.bias, q.out, q.in},
                k2{w[1], k.bias, k.out, k.in}, v2{w[2], v.bias, v.out, v.in};
            return nx::meanSquaredError(
                nx::attentionForward(attention, q2, k2, v2, o, *xAttn, seqLens),
                org);
          },
          log);
      if (!s)
        return fail(p + llvm::toString(s.takeError()));
      for (size_t c = 0; c < s->size(); ++c)
        norms[0][c] /= (*s)[c];
      for (nx::DenseLinear *w : {&q, &k, &v})
        scaleColumns(*w, *s);
      divideColumns(*xAttn, *s);
      markModified({"self_attn.q_proj", "self_attn.k_proj",
                       "self_attn.v_proj", normNames[0]});
    }
    // o_proj after v_proj (no GQA); s folds into v_proj's rows.
    if (sel({"self_attn.v_proj", "self_attn.o_proj"}) && v.out == o.in &&
        v.in == o.out) {
      if (llvm::Error e = scaleAfterLinear("o", v, o, *xO, log))
        return fail(p + llvm::toString(std::move(e)));
      markModified({"self_attn.v_proj", "self_attn.o_proj"});
      rowsScaled.insert("self_attn.v_proj");
    } else if (v.out != o.in) {
      log += " o skipped (GQA: v_proj rows are shared by several heads)";
    }
    // gate/up through the MLP; s folds into post_attention_layernorm.
    if (sel({"mlp.gate_proj", "mlp.up_proj"})) {
      auto org = nx::mlpForward(gate, up, down, *xMlp, tokens);
      auto s = search(
          "gate/up", *xMlp, gate.in, {&gate, &up},
          [&](llvm::ArrayRef<std::vector<float>> w) {
            nx::DenseLinear g2{w[0], gate.bias, gate.out, gate.in},
                u2{w[1], up.bias, up.out, up.in};
            return nx::meanSquaredError(
                nx::mlpForward(g2, u2, down, *xMlp, tokens), org);
          },
          log);
      if (!s)
        return fail(p + llvm::toString(s.takeError()));
      for (size_t c = 0; c < s->size(); ++c)
        norms[1][c] /= (*s)[c];
      scaleColumns(gate, *s);
      scaleColumns(up, *s);
      divideColumns(*xMlp, *s);
      markModified({"mlp.gate_proj", "mlp.up_proj", normNames[1]});
    }
    // down_proj after up_proj; s folds into up_proj's rows.
    if (sel({"mlp.up_proj", "mlp.down_proj"})) {
      if (llvm::Error e = scaleAfterLinear("down", up, down, *xDown, log))
        return fail(p + llvm::toString(std::move(e)));
      markModified({"mlp.up_proj", "mlp.down_proj"});
      rowsScaled.insert("mlp.up_proj");
    }
    // Clip search on the scaled weights and inputs (not q/k, as the
    // reference: the q·k product makes their clipping error hard to judge).
    if (clip) {
      nx::AWQClipOptions options;
      options.maxShrink = maxShrink;
      options.grid = int(grid);
      options.clipTokens = clipTokens;
      std::pair<const char *, std::vector<float> *> clipped[] = {
          {"self_attn.v_proj", &*xAttn}, {"self_attn.o_proj", &*xO},
          {"mlp.gate_proj", &*xMlp},     {"mlp.up_proj", &*xMlp},
          {"mlp.down_proj", &*xDown}};
      int count = 0;
      for (auto [n, x] : clipped) {
        if (!selection.selected(p + n))
          continue;
        nx::DenseLinear &w = l[n];
        auto maxima = nx::searchAWQClip(w.weight, w.out, w.in, *x, tokens,
                                        scheme, options);
        if (!maxima)
          return fail(p + n + ": " + llvm::toString(maxima.takeError()));
        nx::applyAWQClip(w.weight, w.out, w.in, *maxima, scheme);
        modified.insert(n);
        ++count;
      }
      log += formatv("; clip search on {0} linears", count).str();
    }

    // Back into the IR.
    for (const char *n : names) {
      if (!modified.contains(n))
        continue;
      LinearOp op = decoder->linears.lookup(p + n);
      const nx::DenseLinear &w = l[n];
      if (llvm::Error e = decoder->replaceTensor(p + n + ".weight", w.weight))
        return fail(llvm::toString(std::move(e)));
      if (op.getBias() && rowsScaled.contains(n))
        if (llvm::Error e = decoder->replaceTensor(p + n + ".bias", w.bias))
          return fail(llvm::toString(std::move(e)));
    }
    for (int i = 0; i < 2; ++i)
      if (modified.contains(normNames[i]))
        if (llvm::Error e = decoder->replaceTensor(normNames[i], norms[i]))
          return fail(llvm::toString(std::move(e)));
    if (report)
      llvm::errs() << formatv(
          "awq {0}:{1}; {2:F1} s\n", p.substr(0, p.size() - 1), log,
          std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                        start)
              .count());
    return success();
  }

  void runOnOperation() override {
    module = getOperation();
    if (stats.empty()) {
      return abortPass("hfq-awq needs stats=<file> (from hfq calibrate)");
    }
    if (bits < 2 || bits > 8 || groupSize < 0 || grid <= 0 ||
        !(maxShrink >= 0 && maxShrink < 1) || clipTokens <= 0) {
      return abortPass(formatv("invalid options: bits {0} (2..8), group-size {1} (>= 0), "
                   "grid {2} (> 0), max-shrink {3} ([0, 1)), clip-tokens {4} "
                   "(> 0)",
                   unsigned(bits), int64_t(groupSize), int64_t(grid),
                   double(maxShrink), int64_t(clipTokens)));
    }
    scheme.bits = bits;
    scheme.granularity = groupSize ? nx::AffineScheme::Granularity::Group
                                   : nx::AffineScheme::Granularity::Channel;
    scheme.groupSize = groupSize;
    scheme.symmetric = symmetric;
    scheme.scaleType = scaleType;
    if (failed(selection.init(module, include, exclude)))
      return signalPassFailure();

    auto layers = DecoderLayers::of(module, "hfq-awq");
    if (!layers)
      return abortPass(llvm::toString(layers.takeError()));
    decoder = std::move(*layers);

    auto st = io::Statistics::open(stats);
    if (!st)
      return abortPass(llvm::toString(st.takeError()));
    auto seqLens = st->sequenceLengths();
    if (!seqLens)
      return abortPass(llvm::toString(seqLens.takeError()));
    int64_t tokens = 0;
    for (int64_t n : *seqLens)
      tokens += n;

    auto ids = st->tokenIds(tokens);
    if (!ids)
      return abortPass(llvm::toString(ids.takeError()));

    // The linears' inputs come from the module's own layer functions on the
    // float weights (the runner holds its own copy of them): layer i reads
    // the float layer i-1's outputs, as in the reference, which computes
    // the next layer's inputs before scaling the current one.
    auto runner = createLayerRunner(module, "hfq-awq");
    if (!runner)
      return abortPass(llvm::toString(runner.takeError()));
    auto h = (*runner)->embed(*ids);
    if (!h)
      return abortPass(
          stats + ": calibration tokens: " + llvm::toString(h.takeError()) +
          " (statistics of another model?)");
    FloatReader reader(module);
    for (int64_t layer = 0; layer < (*runner)->numLayers(); ++layer) {
      LayerInputs recorded;
      for (int64_t g : (*runner)->layerGroups(layer))
        for (const std::string &name : (*runner)->groupLinears(g))
          recorded.groupOf[name] = g;
      CalibrationRecorder record = [&](int64_t g, const float *x, int64_t rows,
                                       int64_t cols, int64_t stride) {
        std::vector<float> &out = recorded.rows[g];
        for (int64_t r = 0; r < rows; ++r)
          out.insert(out.end(), x + r * stride, x + r * stride + cols);
      };
      if (llvm::Error e = (*runner)->layer(layer, *h, *seqLens, record))
        return abortPass(llvm::toString(std::move(e)));
      if (failed(runLayer(reader, layer, recorded, *seqLens, tokens)))
        return signalPassFailure();
    }

    OpBuilder b(&getContext());
    module->setAttr(
        "hfq.quantization",
        b.getDictionaryAttr(
            {b.getNamedAttr("method", b.getStringAttr("awq")),
             b.getNamedAttr("bits", b.getI64IntegerAttr(bits)),
             b.getNamedAttr("group_size", b.getI64IntegerAttr(groupSize)),
             b.getNamedAttr("sym", b.getBoolAttr(symmetric)),
             b.getNamedAttr("grid", b.getI64IntegerAttr(grid)),
             b.getNamedAttr("duo_scaling", b.getBoolAttr(duoScaling)),
             b.getNamedAttr("clip", b.getBoolAttr(clip)),
             b.getNamedAttr("max_shrink", b.getF64FloatAttr(maxShrink)),
             b.getNamedAttr("clip_tokens", b.getI64IntegerAttr(clipTokens)),
             b.getNamedAttr("quantized", b.getBoolAttr(quantize))}));
    if (!quantize)
      return;

    auto enc = AffineEncodingAttr::get(
        &getContext(), bits, /*codeType=*/FloatType(),
        groupSize ? Granularity::group : Granularity::channel, 1,
        int64_t(groupSize),
        symmetric ? ZeroPoint::symmetric : ZeroPoint::integer, false, 8,
        PackOrder::lsb_first, scaleStorageAttrType(&getContext(), scaleType),
        /*scaleEncoding=*/{}, /*zeroEncoding=*/{}, packZeros && !symmetric);
    if (failed(rewriteLinearWeights(
            module, selection, "awq", report,
            [&](LinearOp, llvm::ArrayRef<float> w, int64_t rows,
                int64_t cols) -> llvm::Expected<Quantized> {
              auto q = nx::quantizeRTN(w, rows, cols, scheme);
              if (!q)
                return q.takeError();
              return affineParts(enc, *q, scheme, false);
            })))
      return signalPassFailure();
  }
};

} // namespace

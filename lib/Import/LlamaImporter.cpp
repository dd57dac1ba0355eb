//===- LlamaImporter.cpp - Llama-family checkpoints to MLIR ----*- C++ -*-===//
//
// The computation follows Hugging Face's LlamaForCausalLM in float32:
// RMSNorm as w * (x * rsqrt(mean(x^2) + eps)), rotary embeddings with
// rotate_half on the HF (permuted) q/k layout, grouped-query attention with
// softmax in float32 and scale 1/sqrt(head_dim), SiLU-gated MLP. Attention
// runs over the cache prefix 0 .. pos+T-1 only.
//
//===----------------------------------------------------------------------===//

#include "hfq/Import/LlamaImporter.h"
#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "mlir/IR/Diagnostics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

using namespace mlir;
using namespace mlir::hfq;
using llvm::formatv;

namespace {

using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;

class LlamaBuilder {
public:
  LlamaBuilder(MLIRContext &ctx, const io::ModelConfig &cfg,
               const io::Checkpoint &ckpt, int64_t maxContext,
               const QuantizedLinears &quantized)
      : ctx(ctx), cfg(cfg), ckpt(ckpt), quantized(quantized), b(&ctx),
        loc(UnknownLoc::get(&ctx)), f32(b.getF32Type()), S(maxContext),
        cacheType(RankedTensorType::get(
            {cfg.numLayers, cfg.numKVHeads, maxContext, cfg.headDim}, f32)),
        layerCacheType(RankedTensorType::get(
            {cfg.numKVHeads, maxContext, cfg.headDim}, f32)),
        hiddenType(
            RankedTensorType::get({ShapedType::kDynamic, cfg.hiddenSize}, f32)),
        tokensType(
            RankedTensorType::get({ShapedType::kDynamic}, b.getI64Type())),
        logitsType(RankedTensorType::get({ShapedType::kDynamic, cfg.vocabSize},
                                         f32)) {}

  llvm::Expected<OwningOpRef<ModuleOp>> build();

private:
  //===--- checkpoint checks ---------------------------------------------===//
  llvm::Error expectTensor(llvm::StringRef name, ArrayRef<int64_t> shape) {
    const io::Checkpoint::Entry *e = ckpt.find(name);
    if (!e)
      return llvm::createStringError("checkpoint has no tensor '" + name +
                                     "', which a " + cfg.modelType +
                                     " model needs");
    if (e->info->shape != std::vector<int64_t>(shape.begin(), shape.end())) {
      std::string want, got;
      for (int64_t d : shape)
        want += (want.empty() ? "" : "x") + std::to_string(d);
      for (int64_t d : e->info->shape)
        got += (got.empty() ? "" : "x") + std::to_string(d);
      return llvm::createStringError("tensor '" + name + "' has shape [" +
                                     got + "], config.json implies [" + want +
                                     "]");
    }
    io::DType t = e->info->dtype;
    if (t != io::DType::F32 && t != io::DType::F16 && t != io::DType::BF16)
      return llvm::createStringError("tensor '" + name + "' has dtype " +
                                     io::dtypeName(t) +
                                     "; hfq imports F32, F16 and BF16 weights");
    return llvm::Error::success();
  }

  /// The parts of quantized linear `module` ([out, in] = shape) must be in
  /// the checkpoint with the shapes and element types its encoding implies.
  llvm::Error expectQuantized(const std::string &module,
                              ArrayRef<int64_t> shape,
                              const QuantizedLinear &q) {
    std::string message;
    auto emit = [&]() {
      return emitError(loc) << "";
    };
    {
      ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
        message += d.str();
        return success();
      });
      if (failed(q.encoding.verifyForShape(emit, shape, cast<FloatType>(f32))))
        return llvm::createStringError(
            "quantized linear '" + module + "': " + message);
    }
    auto types = q.encoding.getPartTypes(shape, cast<FloatType>(f32));
    auto names = q.encoding.getPartNames();
    for (auto [type, part] : llvm::zip(types, names)) {
      std::string name = module + ".weight." + part.str();
      const io::Checkpoint::Entry *e = ckpt.find(name);
      if (!e)
        return llvm::createStringError("checkpoint lacks '" + name +
                                       "', a part of quantized linear '" +
                                       module + "'");
      io::DType t = e->info->dtype;
      Type elem = type.getElementType();
      // i8 containers may come as U8 or I8; everything else as written.
      std::optional<io::DType> want = storageDType(elem);
      bool dtypeOk = want && (t == *want ||
                              (*want == io::DType::U8 && t == io::DType::I8));
      if (e->info->shape != std::vector<int64_t>(type.getShape().begin(),
                                                 type.getShape().end()) ||
          !dtypeOk) {
        std::string want;
        llvm::raw_string_ostream os(want);
        os << type;
        return llvm::createStringError("tensor '" + name + "' (" +
                                       io::dtypeName(t).str() +
                                       ") does not match its encoding, which "
                                       "needs " + want);
      }
    }
    return checkIndexParts(module, shape, q);
  }

  /// Parts whose values index into other parts must stay in range, or the
  /// compiled model would read out of bounds; the encoding checks them.
  llvm::Error checkIndexParts(const std::string &module,
                              ArrayRef<int64_t> shape,
                              const QuantizedLinear &q) {
    SmallVector<llvm::ArrayRef<char>> parts;
    for (llvm::StringRef part : q.encoding.getPartNames()) {
      const io::Checkpoint::Entry *e =
          ckpt.find(module + ".weight." + part.str());
      llvm::ArrayRef<uint8_t> raw = e->file->bytes(*e->info);
      parts.push_back({reinterpret_cast<const char *>(raw.data()), raw.size()});
    }
    std::string error;
    (void)q.encoding.verifyPartData(
        shape, parts, [&](llvm::StringRef part, const llvm::Twine &what) {
          error = ("tensor '" + module + ".weight." + part +
                   "' is malformed: " + what)
                      .str();
        });
    if (!error.empty())
      return llvm::createStringError(error);
    return llvm::Error::success();
  }

  //===--- IR helpers ----------------------------------------------------===//
  Value cIndex(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value cF32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  }
  AffineExpr d(unsigned i) { return getAffineDimExpr(i, &ctx); }
  AffineMap map(unsigned dims, ArrayRef<AffineExpr> results) {
    return AffineMap::get(dims, 0, results, &ctx);
  }
  Value empty(ArrayRef<OpFoldResult> sizes) {
    return tensor::EmptyOp::create(b, loc, sizes, f32);
  }
  Value filled(ArrayRef<OpFoldResult> sizes, double value) {
    return linalg::FillOp::create(b, loc, ValueRange{cF32(value)},
                                  ValueRange{empty(sizes)})
        .getResult(0);
  }
  Value generic(Value init, ValueRange inputs, ArrayRef<AffineMap> maps,
                ArrayRef<IteratorType> iterators,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
               maps, iterators,
               [&](OpBuilder &nb, Location nloc, ValueRange args) {
                 linalg::YieldOp::create(nb, nloc, body(nb, nloc, args));
               })
        .getResult(0);
  }

  /// The global of tensor `symbol` (created on first use at the top of the
  /// module), whose data is checkpoint tensor `key`.
  GlobalOp global(llvm::StringRef symbol, Type type, llvm::StringRef key) {
    GlobalOp &g = globals[symbol];
    if (!g) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(firstFunction);
      g = GlobalOp::create(b, loc, symbol, type,
                           ParameterAttr::get(&ctx,
                                              b.getStringAttr(kModelScope),
                                              b.getStringAttr(key)));
    }
    return g;
  }

  /// The checkpoint tensor `key` as an f32 tensor, read through the global
  /// `symbol` (the key itself unless given).
  Value weight(llvm::StringRef key, llvm::StringRef symbol = "") {
    const io::TensorInfo &info = *ckpt.find(key)->info;
    Type elem = info.dtype == io::DType::F16    ? Type(b.getF16Type())
                : info.dtype == io::DType::BF16 ? Type(b.getBF16Type())
                                                : f32;
    auto type = RankedTensorType::get(info.shape, elem);
    GlobalOp g = global(symbol.empty() ? key : symbol, type, key);
    Value w = LoadOp::create(b, loc, type, g.getSymName());
    if (elem == f32)
      return w;
    SmallVector<OpFoldResult> sizes;
    for (int64_t s : info.shape)
      sizes.push_back(b.getIndexAttr(s));
    AffineMap id = b.getMultiDimIdentityMap(info.shape.size());
    SmallVector<IteratorType> par(info.shape.size(), kPar);
    return generic(empty(sizes), {w}, {id, id}, par,
                   [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                     return arith::ExtFOp::create(nb, l, f32, a[0]);
                   });
  }

  /// Whether the LM head reads the embedding table (tied, no lm_head.weight).
  bool tiedHead() const {
    return cfg.tieWordEmbeddings && !ckpt.find("lm_head.weight");
  }

  /// The weight of linear `module` ([out, in] = shape): a float tensor, or
  /// the quantized global whose parameter names the parts.
  Value linearWeight(const std::string &module, ArrayRef<int64_t> shape) {
    std::string symbol = module + ".weight";
    std::string key = module == "lm_head" && tiedHead()
                          ? "model.embed_tokens.weight"
                          : symbol;
    auto q = quantized.find(module);
    if (q == quantized.end())
      return weight(key, symbol);
    auto type =
        QTensorType::get(&ctx, shape, cast<FloatType>(f32), q->second.encoding);
    GlobalOp g = global(symbol, type, symbol);
    return LoadOp::create(b, loc, type, g.getSymName());
  }

  /// x [T, in] -> [T, out] through the projection `module` (HF name).
  Value linear(Value x, const std::string &module, bool bias) {
    auto q = quantized.find(module);
    const std::vector<int64_t> &shape = linearShapes.at(module);
    Value w = linearWeight(module, shape);
    FloatAttr threshold;
    if (q != quantized.end() && q->second.outlierThreshold)
      threshold = b.getF64FloatAttr(*q->second.outlierThreshold);
    auto resultType =
        RankedTensorType::get({ShapedType::kDynamic, shape[0]}, f32);
    // The name location is for diagnostics only: the linear's identity is
    // its weight's symbol.
    Location nameLoc = NameLoc::get(b.getStringAttr(module));
    Value b0 = bias ? weight(module + ".bias") : Value();
    return LinearOp::create(b, nameLoc, resultType, x, w, b0, threshold);
  }

  Value add(Value x, Value y) {
    AffineMap id = b.getMultiDimIdentityMap(2);
    return generic(empty({T, b.getIndexAttr(cfg.hiddenSize)}), {x, y},
                   {id, id, id}, {kPar, kPar},
                   [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                     return arith::AddFOp::create(nb, l, a[0], a[1]);
                   });
  }

  /// w * (x * rsqrt(mean(x^2) + eps)) over the hidden dimension.
  Value rmsNorm(Value x, const std::string &weightName) {
    int64_t H = cfg.hiddenSize;
    Value w = weight(weightName);
    Value ss = generic(filled({T}, 0.0), {x},
                       {b.getMultiDimIdentityMap(2), map(2, {d(0)})},
                       {kPar, kRed},
                       [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                         Value sq = arith::MulFOp::create(nb, l, a[0], a[0]);
                         return arith::AddFOp::create(nb, l, a[1], sq);
                       });
    AffineMap id = b.getMultiDimIdentityMap(2);
    return generic(
        empty({T, b.getIndexAttr(H)}), {x, ss, w},
        {id, map(2, {d(0)}), map(2, {d(1)}), id}, {kPar, kPar},
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value mean = arith::DivFOp::create(
              nb, l, a[1],
              arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(float(H))));
          Value var = arith::AddFOp::create(
              nb, l, mean,
              arith::ConstantOp::create(nb, l,
                                        nb.getF32FloatAttr(float(cfg.rmsNormEps))));
          Value r = math::RsqrtOp::create(nb, l, var);
          return arith::MulFOp::create(
              nb, l, a[2], arith::MulFOp::create(nb, l, a[0], r));
        });
  }

  /// x [T, n*D] -> [T, n, D] with rotary embeddings at positions pos+t.
  Value rope(Value x, int64_t heads) {
    int64_t D = cfg.headDim, half = D / 2;
    Value x3 = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({ShapedType::kDynamic, heads, D}, f32),
        x, ArrayRef<ReassociationIndices>{{0}, {1, 2}},
        ArrayRef<OpFoldResult>{T, b.getIndexAttr(heads), b.getIndexAttr(D)});
    std::vector<double> inv = cfg.ropeInverseFrequencies();
    SmallVector<float> invF(inv.begin(), inv.end());
    Value invFreq = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({half}, f32),
                               ArrayRef<float>(invF)));
    Value posV = pos;
    return generic(
        empty({T, b.getIndexAttr(heads), b.getIndexAttr(D)}), {}, 
        {b.getMultiDimIdentityMap(3)}, {kPar, kPar, kPar},
        [&](OpBuilder &nb, Location l, ValueRange) -> Value {
          Value t = linalg::IndexOp::create(nb, l, 0);
          Value h = linalg::IndexOp::create(nb, l, 1);
          Value dd = linalg::IndexOp::create(nb, l, 2);
          Value cHalf = arith::ConstantIndexOp::create(nb, l, half);
          Value i = arith::RemUIOp::create(nb, l, dd, cHalf);
          Value lower = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult,
                                              dd, cHalf);
          Value p = arith::AddIOp::create(nb, l, posV, t);
          Value pf = arith::UIToFPOp::create(
              nb, l, f32,
              arith::IndexCastOp::create(nb, l, nb.getI64Type(), p));
          Value angle = arith::MulFOp::create(
              nb, l, pf, tensor::ExtractOp::create(nb, l, invFreq, {i}));
          Value c = math::CosOp::create(nb, l, angle);
          Value s = math::SinOp::create(nb, l, angle);
          Value partnerIdx = arith::SelectOp::create(
              nb, l, lower, arith::AddIOp::create(nb, l, dd, cHalf),
              arith::SubIOp::create(nb, l, dd, cHalf));
          Value self = tensor::ExtractOp::create(nb, l, x3, {t, h, dd});
          Value partner =
              tensor::ExtractOp::create(nb, l, x3, {t, h, partnerIdx});
          // rotate_half: (-x2, x1).
          Value rotated = arith::SelectOp::create(
              nb, l, lower, arith::NegFOp::create(nb, l, partner), partner);
          return arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, self, c),
              arith::MulFOp::create(nb, l, rotated, s));
        });
  }

  /// [T, n, D] -> [n, T, D].
  Value headsFirst(Value x, int64_t heads) {
    return generic(empty({b.getIndexAttr(heads), T,
                          b.getIndexAttr(cfg.headDim)}),
                   {x}, {map(3, {d(1), d(0), d(2)}), b.getMultiDimIdentityMap(3)},
                   {kPar, kPar, kPar},
                   [](OpBuilder &, Location, ValueRange a) -> Value {
                     return a[0];
                   });
  }

  Value attention(int64_t layer, Value x, Value &kCache, Value &vCache);
  Value mlp(int64_t layer, Value x);
  /// A new private function at the end of `module`, the builder inside it.
  func::FuncOp function(ModuleOp module, llvm::StringRef name,
                        FunctionType type);
  void buildEmbedding(ModuleOp module);
  void buildLayer(ModuleOp module, int64_t layer);
  void buildHead(ModuleOp module);
  void buildForward(ModuleOp module);

  MLIRContext &ctx;
  const io::ModelConfig &cfg;
  const io::Checkpoint &ckpt;
  const QuantizedLinears &quantized;
  /// [out, in] of every linear, by HF module name.
  std::map<std::string, std::vector<int64_t>, std::less<>> linearShapes;
  /// Globals by symbol, and the function they are created before.
  llvm::StringMap<GlobalOp> globals;
  Operation *firstFunction = nullptr;
  OpBuilder b;
  Location loc;
  Type f32;
  int64_t S;
  // Signature types of the functions.
  RankedTensorType cacheType, layerCacheType, hiddenType, tokensType,
      logitsType;
  // Values of the function being built.
  Value tokens, pos;
  OpFoldResult T;
};

Value LlamaBuilder::attention(int64_t layer, Value x, Value &kCache,
                              Value &vCache) {
  const int64_t nH = cfg.numHeads, kvH = cfg.numKVHeads, D = cfg.headDim;
  const int64_t group = nH / kvH;
  std::string prefix = formatv("model.layers.{0}.self_attn.", layer).str();
  Value q = rope(linear(x, prefix + "q_proj", cfg.qkvBias), nH);
  Value k = rope(linear(x, prefix + "k_proj", cfg.qkvBias), kvH);
  Value v = linear(x, prefix + "v_proj", cfg.qkvBias);
  v = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({ShapedType::kDynamic, kvH, D}, f32), v,
      ArrayRef<ReassociationIndices>{{0}, {1, 2}},
      ArrayRef<OpFoldResult>{T, b.getIndexAttr(kvH), b.getIndexAttr(D)});

  // Write this chunk's keys/values at [:, pos:pos+T, :] of the layer's
  // caches.
  auto cacheSlice = [&](Value cache, Value chunk) {
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), pos,
                                         b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(kvH), T,
                                       b.getIndexAttr(D)};
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    return tensor::InsertSliceOp::create(b, loc, headsFirst(chunk, kvH), cache,
                                         offsets, sizes, strides)
        .getResult();
  };
  kCache = cacheSlice(kCache, k);
  vCache = cacheSlice(vCache, v);

  // Read the valid prefix 0 .. pos+T-1.
  Value tIndex = getValueOrCreateConstantIndexOp(b, loc, T);
  Value n = arith::AddIOp::create(b, loc, pos, tIndex);
  auto prefixOf = [&](Value cache) {
    SmallVector<OpFoldResult> offsets(3, b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(kvH), n,
                                       b.getIndexAttr(D)};
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    auto type =
        RankedTensorType::get({kvH, ShapedType::kDynamic, D}, f32);
    return tensor::ExtractSliceOp::create(b, loc, type, cache, offsets, sizes,
                                          strides)
        .getResult();
  };
  Value keys = prefixOf(kCache), values = prefixOf(vCache);

  // scores[h, i, j] = q[i, h, :] . k[h / group, j, :]
  AffineExpr kvHead = d(0).floorDiv(group);
  Value scores = generic(
      filled({b.getIndexAttr(nH), T, n}, 0.0), {q, keys},
      {map(4, {d(1), d(0), d(3)}), map(4, {kvHead, d(2), d(3)}),
       map(4, {d(0), d(1), d(2)})},
      {kPar, kPar, kPar, kRed},
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return arith::AddFOp::create(
            nb, l, a[2], arith::MulFOp::create(nb, l, a[0], a[1]));
      });

  // Scaled, causally masked scores; softmax over j in float32.
  const float scale = 1.0f / std::sqrt(float(D));
  Value posV = pos;
  // Position pos+i sees keys j <= pos+i, and with a sliding window W
  // (Mistral) only those with pos+i - j < W.
  auto masked = [&](OpBuilder &nb, Location l, Value s) -> Value {
    Value i = linalg::IndexOp::create(nb, l, 1);
    Value j = linalg::IndexOp::create(nb, l, 2);
    Value query = arith::AddIOp::create(nb, l, posV, i);
    Value future = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ugt, j,
                                         query);
    if (cfg.slidingWindow) {
      Value reach = arith::AddIOp::create(
          nb, l, j, arith::ConstantIndexOp::create(nb, l, *cfg.slidingWindow));
      Value tooOld = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ule,
                                           reach, query);
      future = arith::OrIOp::create(nb, l, future, tooOld);
    }
    Value scaled = arith::MulFOp::create(
        nb, l, s, arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(scale)));
    return arith::SelectOp::create(
        nb, l, future,
        arith::ConstantOp::create(
            nb, l, nb.getF32FloatAttr(-std::numeric_limits<float>::infinity())),
        scaled);
  };
  AffineMap id3 = b.getMultiDimIdentityMap(3);
  AffineMap row = map(3, {d(0), d(1)});
  Value rowMax = generic(
      filled({b.getIndexAttr(nH), T},
             -std::numeric_limits<double>::infinity()),
      {scores}, {id3, row}, {kPar, kPar, kRed},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return arith::MaximumFOp::create(nb, l, a[1], masked(nb, l, a[0]));
      });
  Value exps = generic(
      empty({b.getIndexAttr(nH), T, n}), {scores, rowMax}, {id3, row, id3},
      {kPar, kPar, kPar},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return math::ExpOp::create(
            nb, l, arith::SubFOp::create(nb, l, masked(nb, l, a[0]), a[1]));
      });
  Value rowSum = generic(filled({b.getIndexAttr(nH), T}, 0.0), {exps},
                         {id3, row}, {kPar, kPar, kRed},
                         [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                           return arith::AddFOp::create(nb, l, a[1], a[0]);
                         });
  Value probs = generic(empty({b.getIndexAttr(nH), T, n}), {exps, rowSum},
                        {id3, row, id3}, {kPar, kPar, kPar},
                        [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          return arith::DivFOp::create(nb, l, a[0], a[1]);
                        });

  // out[i, h, d] = sum_j probs[h, i, j] * v[h / group, j, d]
  Value out = generic(
      filled({T, b.getIndexAttr(nH), b.getIndexAttr(D)}, 0.0), {probs, values},
      {map(4, {d(1), d(0), d(3)}), map(4, {d(1).floorDiv(group), d(3), d(2)}),
       map(4, {d(0), d(1), d(2)})},
      {kPar, kPar, kPar, kRed},
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return arith::AddFOp::create(
            nb, l, a[2], arith::MulFOp::create(nb, l, a[0], a[1]));
      });
  Value flat = tensor::CollapseShapeOp::create(
      b, loc, out, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
  return linear(flat, prefix + "o_proj", cfg.oBias);
}

Value LlamaBuilder::mlp(int64_t layer, Value x) {
  std::string prefix = formatv("model.layers.{0}.mlp.", layer).str();
  Value gate = linear(x, prefix + "gate_proj", cfg.mlpBias);
  Value up = linear(x, prefix + "up_proj", cfg.mlpBias);
  AffineMap id = b.getMultiDimIdentityMap(2);
  Value act = generic(
      empty({T, b.getIndexAttr(cfg.intermediateSize)}), {gate, up},
      {id, id, id}, {kPar, kPar},
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        // silu(g) = g / (1 + exp(-g))
        Value one = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(1.0f));
        Value e = math::ExpOp::create(nb, l, arith::NegFOp::create(nb, l, a[0]));
        Value silu = arith::DivFOp::create(
            nb, l, a[0], arith::AddFOp::create(nb, l, one, e));
        return arith::MulFOp::create(nb, l, silu, a[1]);
      });
  return linear(act, prefix + "down_proj", cfg.mlpBias);
}

func::FuncOp LlamaBuilder::function(ModuleOp module, llvm::StringRef name,
                                    FunctionType type) {
  b.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(b, loc, name, type);
  fn.setPrivate();
  if (!firstFunction)
    firstFunction = fn; // globals go before it
  b.setInsertionPointToStart(fn.addEntryBlock());
  return fn;
}

void LlamaBuilder::buildEmbedding(ModuleOp module) {
  auto fn = function(module, "model.embed_tokens",
                     b.getFunctionType({tokensType}, {hiddenType}));
  tokens = fn.getArgument(0);
  T = tensor::getMixedSize(b, loc, tokens, 0);
  Value table = weight("model.embed_tokens.weight");
  Value h = generic(
      empty({T, b.getIndexAttr(cfg.hiddenSize)}), {},
      {b.getMultiDimIdentityMap(2)}, {kPar, kPar},
      [&](OpBuilder &nb, Location l, ValueRange) -> Value {
        Value t = linalg::IndexOp::create(nb, l, 0);
        Value c = linalg::IndexOp::create(nb, l, 1);
        Value id = arith::IndexCastOp::create(
            nb, l, nb.getIndexType(), tensor::ExtractOp::create(nb, l, tokens, {t}));
        return tensor::ExtractOp::create(nb, l, table, {id, c});
      });
  func::ReturnOp::create(b, loc, h);
}

void LlamaBuilder::buildLayer(ModuleOp module, int64_t layer) {
  auto fn =
      function(module, formatv("model.layers.{0}", layer).str(),
               b.getFunctionType({hiddenType, b.getIndexType(), layerCacheType,
                                  layerCacheType},
                                 {hiddenType, layerCacheType, layerCacheType}));
  Value h = fn.getArgument(0);
  pos = fn.getArgument(1);
  Value kCache = fn.getArgument(2), vCache = fn.getArgument(3);
  T = tensor::getMixedSize(b, loc, h, 0);
  std::string p = formatv("model.layers.{0}.", layer).str();
  Value a = attention(layer, rmsNorm(h, p + "input_layernorm.weight"), kCache,
                      vCache);
  h = add(h, a);
  Value m = mlp(layer, rmsNorm(h, p + "post_attention_layernorm.weight"));
  h = add(h, m);
  func::ReturnOp::create(b, loc, ValueRange{h, kCache, vCache});
}

void LlamaBuilder::buildHead(ModuleOp module) {
  auto fn =
      function(module, "head", b.getFunctionType({hiddenType}, {logitsType}));
  T = tensor::getMixedSize(b, loc, fn.getArgument(0), 0);
  Value h = rmsNorm(fn.getArgument(0), "model.norm.weight");
  func::ReturnOp::create(b, loc, linear(h, "lm_head", false));
}

void LlamaBuilder::buildForward(ModuleOp module) {
  auto fn = function(
      module, "forward",
      b.getFunctionType({tokensType, b.getIndexType(), cacheType, cacheType},
                        {logitsType, cacheType, cacheType}));
  fn.setPublic();
  Value pos = fn.getArgument(1);
  Value kCache = fn.getArgument(2), vCache = fn.getArgument(3);
  Value h = func::CallOp::create(b, loc, "model.embed_tokens", hiddenType,
                                 ValueRange{fn.getArgument(0)})
                .getResult(0);
  // Layer l reads and writes its own caches [l, :, :, :].
  for (int64_t layer = 0; layer < cfg.numLayers; ++layer) {
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(layer),
                                         b.getIndexAttr(0), b.getIndexAttr(0),
                                         b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {
        b.getIndexAttr(1), b.getIndexAttr(cfg.numKVHeads), b.getIndexAttr(S),
        b.getIndexAttr(cfg.headDim)};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    auto slice = [&](Value cache) -> Value {
      return tensor::ExtractSliceOp::create(b, loc, layerCacheType, cache,
                                            offsets, sizes, strides);
    };
    auto call = func::CallOp::create(
        b, loc, formatv("model.layers.{0}", layer).str(),
        TypeRange{hiddenType, layerCacheType, layerCacheType},
        ValueRange{h, pos, slice(kCache), slice(vCache)});
    h = call.getResult(0);
    kCache = tensor::InsertSliceOp::create(b, loc, call.getResult(1), kCache,
                                           offsets, sizes, strides);
    vCache = tensor::InsertSliceOp::create(b, loc, call.getResult(2), vCache,
                                           offsets, sizes, strides);
  }
  Value logits = func::CallOp::create(b, loc, "head", logitsType, ValueRange{h})
                     .getResult(0);
  func::ReturnOp::create(b, loc, ValueRange{logits, kCache, vCache});
}

llvm::Expected<OwningOpRef<ModuleOp>> LlamaBuilder::build() {
  const int64_t H = cfg.hiddenSize, I = cfg.intermediateSize;
  const int64_t qDim = cfg.numHeads * cfg.headDim;
  const int64_t kvDim = cfg.numKVHeads * cfg.headDim;
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"model.embed_tokens.weight", {cfg.vocabSize, H}},
      {"model.norm.weight", {H}}};
  if (!cfg.tieWordEmbeddings || ckpt.find("lm_head.weight"))
    expected.push_back({"lm_head.weight", {cfg.vocabSize, H}});
  for (int64_t l = 0; l < cfg.numLayers; ++l) {
    std::string p = formatv("model.layers.{0}.", l).str();
    expected.push_back({p + "input_layernorm.weight", {H}});
    expected.push_back({p + "post_attention_layernorm.weight", {H}});
    expected.push_back({p + "self_attn.q_proj.weight", {qDim, H}});
    expected.push_back({p + "self_attn.k_proj.weight", {kvDim, H}});
    expected.push_back({p + "self_attn.v_proj.weight", {kvDim, H}});
    expected.push_back({p + "self_attn.o_proj.weight", {H, qDim}});
    if (cfg.qkvBias) {
      expected.push_back({p + "self_attn.q_proj.bias", {qDim}});
      expected.push_back({p + "self_attn.k_proj.bias", {kvDim}});
      expected.push_back({p + "self_attn.v_proj.bias", {kvDim}});
    }
    if (cfg.oBias)
      expected.push_back({p + "self_attn.o_proj.bias", {H}});
    for (const char *m : {"gate_proj", "up_proj"}) {
      expected.push_back({p + "mlp." + m + ".weight", {I, H}});
      if (cfg.mlpBias)
        expected.push_back({p + "mlp." + m + ".bias", {I}});
    }
    expected.push_back({p + "mlp.down_proj.weight", {H, I}});
    if (cfg.mlpBias)
      expected.push_back({p + "mlp.down_proj.bias", {H}});
  }
  // Linears: their weights are float tensors or quantized parts.
  linearShapes["lm_head"] = {cfg.vocabSize, H};
  for (const auto &[name, shape] : expected) {
    llvm::StringRef module(name);
    if (module.consume_back(".weight") && shape.size() == 2 &&
        module != "model.embed_tokens")
      linearShapes[module.str()] = shape;
  }
  for (const auto &[name, q] : quantized) {
    auto it = linearShapes.find(name);
    if (it == linearShapes.end())
      return llvm::createStringError("quantization_config names '" + name +
                                     "', which is not a linear of this " +
                                     cfg.modelType + " model");
    if (llvm::Error e = expectQuantized(name, it->second, q))
      return std::move(e);
  }
  for (const auto &[name, shape] : expected) {
    llvm::StringRef module(name);
    if (module.consume_back(".weight") && quantized.count(module.str()))
      continue;
    if (llvm::Error e = expectTensor(name, shape))
      return std::move(e);
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  (*module)->setAttr("hfq.model_type", b.getStringAttr(cfg.modelType));
  (*module)->setAttr("hfq.max_context", b.getI64IntegerAttr(S));
  buildEmbedding(*module);
  for (int64_t layer = 0; layer < cfg.numLayers; ++layer)
    buildLayer(*module, layer);
  buildHead(*module);
  buildForward(*module);

  // Entry points: they call @forward out of line (no_inline), so lowering
  // inlines the layers into one copy of the model, not three.
  b.setInsertionPointToEnd(module->getBody());
  auto prefill = func::FuncOp::create(
      b, loc, "prefill",
      b.getFunctionType({tokensType}, {logitsType, cacheType, cacheType}));
  {
    Block *entry = prefill.addEntryBlock();
    b.setInsertionPointToStart(entry);
    Value zero = cF32(0.0);
    auto zeros = [&] {
      Value e = tensor::EmptyOp::create(b, loc, cacheType.getShape(), f32);
      return linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{e})
          .getResult(0);
    };
    auto call = func::CallOp::create(
        b, loc, "forward", TypeRange{logitsType, cacheType, cacheType},
        ValueRange{entry->getArgument(0), cIndex(0), zeros(), zeros()});
    call.setNoInline(true);
    func::ReturnOp::create(b, loc, call.getResults());
  }
  b.setInsertionPointToEnd(module->getBody());
  auto oneToken = RankedTensorType::get({1}, b.getI64Type());
  auto oneLogits = RankedTensorType::get({1, cfg.vocabSize}, f32);
  auto decode = func::FuncOp::create(
      b, loc, "decode",
      b.getFunctionType({oneToken, b.getIndexType(), cacheType, cacheType},
                        {oneLogits, cacheType, cacheType}));
  {
    Block *entry = decode.addEntryBlock();
    b.setInsertionPointToStart(entry);
    Value tok = tensor::CastOp::create(b, loc, tokensType, entry->getArgument(0));
    auto call = func::CallOp::create(
        b, loc, "forward", TypeRange{logitsType, cacheType, cacheType},
        ValueRange{tok, entry->getArgument(1), entry->getArgument(2),
                   entry->getArgument(3)});
    call.setNoInline(true);
    Value logits = tensor::CastOp::create(b, loc, oneLogits, call.getResult(0));
    func::ReturnOp::create(
        b, loc, ValueRange{logits, call.getResult(1), call.getResult(2)});
  }
  if (failed(verify(*module)))
    return llvm::createStringError("internal error: the imported module "
                                   "does not verify");
  return module;
}

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::hfq::importLlama(MLIRContext &ctx, const io::ModelConfig &config,
                       const io::Checkpoint &checkpoint,
                       const ImportOptions &options) {
  int64_t maxContext = options.maxContext ? options.maxContext
                                          : config.maxPositionEmbeddings;
  if (maxContext <= 0)
    return llvm::createStringError("the context length must be positive");
  ctx.loadDialect<HFQDialect, arith::ArithDialect, func::FuncDialect,
                  linalg::LinalgDialect, math::MathDialect,
                  tensor::TensorDialect>();
  static const QuantizedLinears none;
  LlamaBuilder builder(ctx, config, checkpoint, maxContext,
                       options.quantized ? *options.quantized : none);
  return builder.build();
}

//===- HFQToCPU.cpp - generated CPU kernels for hfq.linear ------*- C++ -*-===//
//
// convert-hfq-to-cpu: each `hfq.linear` it has a kernel for becomes a
// fused dequantize-and-multiply kernel in the vector dialect, on tensors
// (bufferized with the rest of the module).
//
// The kernel is one generator: a WeightStream says how to decode a chunk
// of one output row's weights into float32 vectors (and in which input
// order), how many inputs a group spans, and the groups' scales and
// offsets; the generator
// builds the loops, the FMAs and the tiling around it. Every weight layout
// a stream can decode gets a kernel, so a new encoding needs a stream, not
// a kernel:
//
//   y[m, n] = sum_g ( s[n, g] * sum_{k in g} c[n, k] * x[m, k]
//                   + o[n, g] * sum_{k in g} x[m, k] )
//
// with c the decoded code (the weight itself for float weights), s the
// group's scale and o its offset (-s * z for `(q - z) * s`).
//
// Decision (recorded in the pass description): the first generation
// streams the weights in their stored layout, which for every supported
// encoding is already row-major with each row's groups consecutive, so no
// repacking step exists yet; repacked layouts (interleaved rows, act-order
// permutation applied) will be new streams over a repacked copy.
//
//===----------------------------------------------------------------------===//

#include "hfq/Conversion/Passes.h"
#include "hfq/Dialect/HFQ/IR/HFQDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/TargetParser/Host.h"

#include <functional>

namespace mlir::hfq {
#define GEN_PASS_DEF_CONVERTHFQTOCPU
#include "hfq/Conversion/Passes.h.inc"
} // namespace mlir::hfq

using namespace mlir;
using namespace mlir::hfq;

namespace {

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value f32Const(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
}

/// How one weight is read by the kernel; see the file comment.
///
/// A load decodes one chunk of `chunk(lanes)` consecutive inputs of a row
/// into vectors of `lanes` float32 values, in the order the stored bits
/// give them most cheaply: vector j, lane i holds the weight of input
/// `permutation(lanes)[j * lanes + i]` of the chunk. The kernel permutes
/// the activations the same way once per call (O(rows * K), shared by all
/// N rows), so the weights are never shuffled.
class WeightStream {
public:
  virtual ~WeightStream() = default;
  /// Inputs per group: the whole row when a row has one scale (or none).
  int64_t groupSize = 0;
  /// Whether groups have an offset term (o != 0).
  bool hasOffsets = false;
  /// Inputs one load decodes.
  virtual int64_t chunk(int64_t lanes) const { return lanes; }
  /// The chunk's input order (identity when empty).
  virtual SmallVector<int64_t> permutation(int64_t lanes) const { return {}; }
  /// The chunk of row `row` starting at input k0 (a multiple of the
  /// chunk). With `inBounds` false, values past the end of the row are
  /// finite (the activations are zero there).
  virtual SmallVector<Value> load(OpBuilder &b, Location loc, Value row,
                                  Value k0, int64_t lanes,
                                  bool inBounds) const = 0;
  /// The scales and offsets of groups g0 .. g0 + count of row `row`, as
  /// vector<count x f32> each: a null scale when every scale is 1, a null
  /// offset unless hasOffsets. `count` divides the number of groups.
  virtual std::pair<Value, Value> groupParams(OpBuilder &b, Location loc,
                                              Value row, Value g0,
                                              int64_t count) const {
    return {};
  }
};

/// A float32 weight [N, K]: c = w.
class FloatStream : public WeightStream {
public:
  FloatStream(Value weight, int64_t k) : weight(weight) { groupSize = k; }
  SmallVector<Value> load(OpBuilder &b, Location loc, Value row, Value k0,
                          int64_t lanes, bool inBounds) const override {
    auto type = VectorType::get({lanes}, b.getF32Type());
    return {vector::TransferReadOp::create(
        b, loc, type, weight, ValueRange{row, k0},
        std::optional<Value>(f32Const(b, loc, 0.0)), ArrayRef<bool>{inBounds})};
  }

private:
  Value weight;
};

/// Field j of every byte of `raw` (the code of input perByte * byte + j
/// in the stream), as one vector<bytes x i32> per j.
SmallVector<Value> fieldsOf(OpBuilder &b, Location loc, Value raw,
                            unsigned bits, PackOrder order) {
  int64_t perByte = 8 / bits;
  int64_t n = cast<VectorType>(raw.getType()).getNumElements();
  auto wide = VectorType::get({n}, b.getI32Type());
  Value words = arith::ExtUIOp::create(b, loc, wide, raw);
  auto splat = [&](int64_t v) {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(wide, b.getI32IntegerAttr(v)));
  };
  SmallVector<Value> fields;
  for (int64_t j = 0; j < perByte; ++j) {
    int64_t shift =
        order == PackOrder::lsb_first ? bits * j : 8 - bits * (j + 1);
    Value f = words;
    if (shift)
      f = arith::ShRUIOp::create(b, loc, f, splat(shift));
    if (shift + bits < 8)
      f = arith::AndIOp::create(b, loc, f, splat((1 << bits) - 1));
    fields.push_back(f);
  }
  return fields;
}

/// The `bits`-bit fields of the bytes `raw` in stream order, as i32.
Value unpackInOrder(OpBuilder &b, Location loc, Value raw, unsigned bits,
                    PackOrder order) {
  SmallVector<Value> fields = fieldsOf(b, loc, raw, bits, order);
  // Interleaving the even- and odd-indexed fields recursively puts field
  // j of byte i at position perByte * i + j.
  std::function<Value(ArrayRef<Value>)> merge =
      [&](ArrayRef<Value> fs) -> Value {
    if (fs.size() == 1)
      return fs[0];
    SmallVector<Value> even, odd;
    for (size_t j = 0; j < fs.size(); ++j)
      (j % 2 ? odd : even).push_back(fs[j]);
    return vector::InterleaveOp::create(b, loc, merge(even), merge(odd));
  };
  return merge(fields);
}

/// Codes of `bits` bits (2, 4 or 8) packed in byte containers, each row
/// its own stream: a load reads `lanes` bytes, and field j of every byte
/// (the code of input perByte * byte + j) becomes vector j.
class PackedCodesStream : public WeightStream {
public:
  int64_t chunk(int64_t lanes) const override { return lanes * (8 / bits); }

  SmallVector<int64_t> permutation(int64_t lanes) const override {
    int64_t perByte = 8 / bits;
    SmallVector<int64_t> order;
    for (int64_t j = 0; j < perByte; ++j)
      for (int64_t i = 0; i < lanes; ++i)
        order.push_back(perByte * i + j);
    return order;
  }

protected:
  PackedCodesStream(unsigned bits, PackOrder order, Value codes)
      : bits(bits), order(order), codes(codes) {}

  /// Why codes of `bits` bits in `storageBits`-bit containers have no
  /// stream (kernels read bytes holding 1, 2 or 4 codes), or empty.
  static std::string unsupportedPacking(unsigned bits, unsigned storageBits) {
    if (storageBits == 8 && (bits == 2 || bits == 4 || bits == 8))
      return {};
    return "codes of " + std::to_string(bits) + " bits in " +
           std::to_string(storageBits) +
           "-bit containers (kernels take 2, 4 or 8 bits in bytes)";
  }

  /// The chunk's codes as i32 vectors, in permutation order.
  SmallVector<Value> loadCodes(OpBuilder &b, Location loc, Value row, Value k0,
                               int64_t lanes, bool inBounds) const {
    int64_t perByte = 8 / bits;
    Value byte0 =
        arith::DivUIOp::create(b, loc, k0, indexConst(b, loc, perByte));
    Value raw = vector::TransferReadOp::create(
        b, loc, VectorType::get({lanes}, b.getI8Type()), codes,
        ValueRange{row, byte0},
        std::optional<Value>(
            arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(0))),
        ArrayRef<bool>{inBounds});
    return fieldsOf(b, loc, raw, bits, order);
  }

  unsigned bits;
  PackOrder order;
  Value codes;
};

/// `#hfq.affine` with unsigned integer codes of 2, 4 or 8 bits in i8
/// containers: c = q; s from the scales, o = -s * z. A load reads `lanes`
/// bytes; field j of every byte (the code of input perByte * byte + j)
/// becomes vector j.
class AffineStream : public PackedCodesStream {
public:
  /// The stream of `enc` over `parts`, or a reason it has none.
  static FailureOr<std::unique_ptr<AffineStream>>
  create(AffineEncodingAttr enc, ArrayRef<int64_t> shape, ValueRange parts,
         std::string &why) {
    unsigned bits = enc.getBits();
    if (enc.getCodeType() || enc.getScaleEncoding() || enc.getZeroEncoding() ||
        isNarrowFloat(enc.getScaleType())) {
      why = "float codes, 8-bit or quantized scales or zeros";
      return failure();
    }
    if (enc.getActOrder()) {
      why = "act_order (g_idx) needs a repacked layout";
      return failure();
    }
    why = unsupportedPacking(bits, enc.getStorageBits());
    if (!why.empty())
      return failure();
    if (enc.getGranularity() != Granularity::tensor && enc.getAxis() != 1) {
      why = "scales along axis 0";
      return failure();
    }
    auto s = std::unique_ptr<AffineStream>(new AffineStream(enc, parts[0]));
    s->scales = parts[1];
    s->groupSize = enc.getGranularity() == Granularity::group
                       ? enc.getGroupSize()
                       : shape[1];
    if (enc.getZeroPoint() != ZeroPoint::symmetric)
      s->zeros = parts[2];
    s->hasOffsets = true; // symmetric: z = 2^(bits-1)
    return s;
  }

  SmallVector<Value> load(OpBuilder &b, Location loc, Value row, Value k0,
                          int64_t lanes, bool inBounds) const override {
    SmallVector<Value> fields;
    for (Value f : loadCodes(b, loc, row, k0, lanes, inBounds))
      fields.push_back(arith::UIToFPOp::create(
          b, loc, VectorType::get({lanes}, b.getF32Type()), f));
    return fields;
  }

  std::pair<Value, Value> groupParams(OpBuilder &b, Location loc, Value row,
                                      Value g0, int64_t count) const override {
    Type f32 = b.getF32Type(), i32 = b.getI32Type();
    auto vec = [&](Type t) { return VectorType::get({count}, t); };
    // One scale for the tensor: its row index is 0 too (g0 is 0).
    Value r = enc.getGranularity() == Granularity::tensor
                  ? indexConst(b, loc, 0)
                  : row;
    auto read = [&](Value t, Type elem, Value col) -> Value {
      Attribute zero = isa<FloatType>(elem)
                           ? Attribute(b.getFloatAttr(elem, 0.0))
                           : Attribute(b.getIntegerAttr(elem, 0));
      return vector::TransferReadOp::create(
          b, loc, vec(elem), t, ValueRange{r, col},
          std::optional<Value>(
              arith::ConstantOp::create(b, loc, cast<TypedAttr>(zero))),
          ArrayRef<bool>{true});
    };
    auto widen = [&](Value v) -> Value {
      if (cast<VectorType>(v.getType()).getElementType() == f32)
        return v;
      return arith::ExtFOp::create(b, loc, vec(f32), v);
    };
    Type scaleType = cast<RankedTensorType>(scales.getType()).getElementType();
    Value s = widen(read(scales, scaleType, g0));
    unsigned bits = enc.getBits();
    Value z;
    switch (enc.getZeroPoint()) {
    case ZeroPoint::symmetric:
      z = arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(
              vec(f32), b.getF32FloatAttr(float(int64_t(1) << (bits - 1)))));
      break;
    case ZeroPoint::float_:
      z = widen(read(
          zeros, cast<RankedTensorType>(zeros.getType()).getElementType(), g0));
      break;
    case ZeroPoint::integer:
    case ZeroPoint::integer_minus_one: {
      Value zi;
      int64_t perByte = 8 / bits;
      if (!enc.getPackedZeros()) {
        zi = read(zeros, i32, g0);
      } else if (count % perByte == 0) {
        Value byte0 =
            arith::DivUIOp::create(b, loc, g0, indexConst(b, loc, perByte));
        Value raw = vector::TransferReadOp::create(
            b, loc, VectorType::get({count / perByte}, b.getI8Type()), zeros,
            ValueRange{r, byte0},
            std::optional<Value>(
                arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(0))),
            ArrayRef<bool>{true});
        zi = unpackInOrder(b, loc, raw, bits, PackOrder::lsb_first);
      } else {
        // Fewer groups than a byte holds: one field at a time.
        SmallVector<Value> fields;
        for (int64_t i = 0; i < count; ++i)
          fields.push_back(packedZero(
              b, loc, r,
              arith::AddIOp::create(b, loc, g0, indexConst(b, loc, i))));
        zi = vector::FromElementsOp::create(b, loc, vec(i32), fields);
      }
      if (enc.getZeroPoint() == ZeroPoint::integer_minus_one)
        zi = arith::AddIOp::create(
            b, loc, zi,
            arith::ConstantOp::create(
                b, loc,
                DenseElementsAttr::get(vec(i32), b.getI32IntegerAttr(1))));
      z = arith::SIToFPOp::create(b, loc, vec(f32), zi);
      break;
    }
    }
    Value o =
        arith::NegFOp::create(b, loc, arith::MulFOp::create(b, loc, s, z));
    return {s, o};
  }

private:
  AffineStream(AffineEncodingAttr enc, Value codes)
      : PackedCodesStream(enc.getBits(), enc.getOrder(), codes), enc(enc) {}

  /// The packed integer zero of group g of row r, as i32 (each row of
  /// zeros its own LSB-first stream).
  Value packedZero(OpBuilder &b, Location loc, Value r, Value g) const {
    Type i32 = b.getI32Type();
    unsigned bits = enc.getBits();
    int64_t perByte = 8 / bits;
    Value byte = arith::DivUIOp::create(b, loc, g, indexConst(b, loc, perByte));
    Value field =
        arith::RemUIOp::create(b, loc, g, indexConst(b, loc, perByte));
    Value v = arith::ExtUIOp::create(
        b, loc, i32,
        tensor::ExtractOp::create(b, loc, zeros, ValueRange{r, byte}));
    Value shift = arith::IndexCastOp::create(
        b, loc, i32,
        arith::MulIOp::create(b, loc, field, indexConst(b, loc, bits)));
    v = arith::ShRUIOp::create(b, loc, v, shift);
    return arith::AndIOp::create(
        b, loc, v,
        arith::ConstantOp::create(b, loc,
                                  b.getI32IntegerAttr(enc.getMaxCode())));
  }

  AffineEncodingAttr enc;
  Value scales, zeros;
};

/// `#hfq.codebook` (NF4, FP4, dynamic8, custom tables) with plain f32
/// absmax per block of a row: c = table[q] (gathered from the constant
/// table), s = absmax, o = the table's offset (dynamic8 with offset).
class CodebookStream : public PackedCodesStream {
public:
  static FailureOr<std::unique_ptr<CodebookStream>>
  create(CodebookEncodingAttr enc, ArrayRef<int64_t> shape, ValueRange parts,
         std::string &why) {
    unsigned bits = enc.getCodeBits();
    if (enc.getAbsmaxEncoding()) {
      why = "double-quantized absmax (a nested encoding) has no stream yet";
      return failure();
    }
    why = unsupportedPacking(bits, enc.getStorageBits());
    if (!why.empty())
      return failure();
    if (shape[1] % enc.getBlockSize() != 0) {
      why = "absmax blocks straddle rows (K not a multiple of block_size)";
      return failure();
    }
    auto s = std::unique_ptr<CodebookStream>(new CodebookStream(enc, parts[0]));
    s->absmax = parts[1];
    s->blocksPerRow = shape[1] / enc.getBlockSize();
    s->groupSize = enc.getBlockSize();
    if (enc.getOffset()) {
      s->offsetPart = parts[2];
      s->hasOffsets = true;
    }
    return s;
  }

  SmallVector<Value> load(OpBuilder &b, Location loc, Value row, Value k0,
                          int64_t lanes, bool inBounds) const override {
    Type f32 = b.getF32Type();
    SmallVector<float> values = enc.getTable();
    Value table = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(
            RankedTensorType::get({int64_t(values.size())}, f32),
            ArrayRef<float>(values)));
    auto vec = VectorType::get({lanes}, f32);
    Value all = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(VectorType::get({lanes}, b.getI1Type()), true));
    Value none = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(vec, b.getF32FloatAttr(0.0f)));
    SmallVector<Value> out;
    for (Value q : loadCodes(b, loc, row, k0, lanes, inBounds))
      out.push_back(vector::GatherOp::create(
          b, loc, vec, table, ValueRange{indexConst(b, loc, 0)}, q, all, none));
    return out;
  }

  std::pair<Value, Value> groupParams(OpBuilder &b, Location loc, Value row,
                                      Value g0, int64_t count) const override {
    Type f32 = b.getF32Type();
    auto vec = VectorType::get({count}, f32);
    Value first = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, row, indexConst(b, loc, blocksPerRow)),
        g0);
    Value s = vector::TransferReadOp::create(
        b, loc, vec, absmax, ValueRange{first},
        std::optional<Value>(f32Const(b, loc, 0.0)), ArrayRef<bool>{true});
    Value o;
    if (offsetPart)
      o = vector::BroadcastOp::create(
          b, loc, vec,
          tensor::ExtractOp::create(b, loc, offsetPart,
                                    ValueRange{indexConst(b, loc, 0)}));
    return {s, o};
  }

private:
  CodebookStream(CodebookEncodingAttr enc, Value codes)
      : PackedCodesStream(enc.getCodeBits(), enc.getOrder(), codes), enc(enc) {}
  CodebookEncodingAttr enc;
  Value absmax, offsetPart;
  int64_t blocksPerRow = 0;
};

/// The stream of `op`'s weight, or the reason it has none.
FailureOr<std::unique_ptr<WeightStream>> streamFor(LinearOp op,
                                                   std::string &why) {
  Value weight = op.getWeight();
  if (auto type = dyn_cast<RankedTensorType>(weight.getType())) {
    if (!type.getElementType().isF32()) {
      why = "float weight of another type than f32";
      return failure();
    }
    return std::unique_ptr<WeightStream>(
        new FloatStream(weight, type.getShape()[1]));
  }
  auto qtype = cast<QTensorType>(weight.getType());
  if (!qtype.getElementType().isF32()) {
    why = "quantized weight of element type other than f32";
    return failure();
  }
  auto assemble = weight.getDefiningOp<AssembleOp>();
  if (!assemble) {
    why = "the weight's parts are not visible (not an hfq.assemble)";
    return failure();
  }
  if (auto book = dyn_cast<CodebookEncodingAttr>(qtype.getEncoding())) {
    auto stream = CodebookStream::create(book, qtype.getShape(),
                                         assemble.getParts(), why);
    if (failed(stream))
      return failure();
    return std::unique_ptr<WeightStream>(std::move(*stream));
  }
  auto enc = dyn_cast<AffineEncodingAttr>(qtype.getEncoding());
  if (!enc) {
    why = "no stream for this encoding yet";
    return failure();
  }
  auto stream =
      AffineStream::create(enc, qtype.getShape(), assemble.getParts(), why);
  if (failed(stream))
    return failure();
  return std::unique_ptr<WeightStream>(std::move(*stream));
}

/// `x` [M, K] with each chunk of `chunk` inputs in `order`, zero-padded to
/// whole chunks: the activations as the stream's loads order the weights.
Value permuteInputs(OpBuilder &b, Location loc, Value x, Value M, int64_t K,
                    int64_t chunk, ArrayRef<int64_t> order) {
  Type f32 = b.getF32Type();
  const int64_t padded = (K + chunk - 1) / chunk * chunk;
  auto xType = cast<RankedTensorType>(x.getType());
  SmallVector<Value> dynamicSizes;
  if (xType.isDynamicDim(0))
    dynamicSizes.push_back(M);
  Value init = tensor::EmptyOp::create(
      b, loc, ArrayRef<int64_t>{xType.getShape()[0], padded}, f32,
      dynamicSizes);
  auto vecType = VectorType::get({chunk}, f32);
  Value c0 = indexConst(b, loc, 0), c1 = indexConst(b, loc, 1);
  auto rows = scf::ForOp::create(
      b, loc, c0, M, c1, ValueRange{init},
      [&](OpBuilder &b, Location loc, Value m, ValueRange acc) {
        auto chunks = scf::ForOp::create(
            b, loc, c0, indexConst(b, loc, padded), indexConst(b, loc, chunk),
            ValueRange{acc[0]},
            [&](OpBuilder &b, Location loc, Value k, ValueRange acc2) {
              Value v = vector::TransferReadOp::create(
                  b, loc, vecType, x, ValueRange{m, k},
                  std::optional<Value>(f32Const(b, loc, 0.0)),
                  ArrayRef<bool>{K % chunk == 0});
              Value p = vector::ShuffleOp::create(b, loc, v, v, order);
              scf::YieldOp::create(b, loc,
                                   vector::TransferWriteOp::create(
                                       b, loc, p, acc2[0], ValueRange{m, k},
                                       ArrayRef<bool>{true})
                                       .getResult());
            });
        scf::YieldOp::create(b, loc, chunks.getResults());
      });
  return rows.getResult(0);
}

/// Builds the kernel computing `op` from `stream`; see the file comment.
Value buildKernel(OpBuilder &b, LinearOp op, const WeightStream &stream,
                  int64_t lanes) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  int64_t N = resultType.getShape()[1];
  int64_t K = cast<RankedTensorType>(x.getType()).getShape()[1];
  Type f32 = b.getF32Type();
  auto vecType = VectorType::get({lanes}, f32);
  // Output rows per tile: each activation vector feeds this many rows;
  // activation rows per block: each decoded weight vector feeds this many
  // (tile * rowsPerBlock accumulators fit AVX2's 16 registers).
  const int64_t tile = N % 4 == 0 ? 4 : N % 2 == 0 ? 2 : 1;
  const int64_t rowsPerBlock = 2;
  const int64_t chunk = stream.chunk(lanes), perChunk = chunk / lanes;
  const int64_t gs = stream.groupSize, groups = K / gs;
  const int64_t fullChunks = gs / chunk;
  const int64_t block = groups % 8 == 0   ? 8
                        : groups % 4 == 0 ? 4
                        : groups % 2 == 0 ? 2
                                          : 1;
  const bool tail = gs % chunk != 0; // only when gs == K (checked)

  Value M = tensor::DimOp::create(b, loc, x, 0);
  Value c0 = indexConst(b, loc, 0), c1 = indexConst(b, loc, 1);
  SmallVector<int64_t> order = stream.permutation(lanes);
  // With a permutation, the activations are padded to whole chunks, so
  // only the weights' tail is read out of bounds.
  Value xs = order.empty() ? x : permuteInputs(b, loc, x, M, K, chunk, order);
  const bool xPadded = !order.empty();

  SmallVector<Value> dynamicSizes;
  if (resultType.isDynamicDim(0))
    dynamicSizes.push_back(M);
  Value init =
      tensor::EmptyOp::create(b, loc, resultType.getShape(), f32, dynamicSizes);
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(N / tile)},
      ValueRange{init}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  Value n0 = arith::MulIOp::create(b, loc, forall.getInductionVar(0),
                                   indexConst(b, loc, tile));
  Value out = forall.getRegionIterArgs()[0];
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), n0};
  SmallVector<OpFoldResult> sizes = {M, b.getIndexAttr(tile)};
  SmallVector<OpFoldResult> strides = {b.getIndexAttr(1), b.getIndexAttr(1)};
  Value tileInit =
      tensor::ExtractSliceOp::create(b, loc, out, offsets, sizes, strides);
  SmallVector<Value> rows;
  for (int64_t r = 0; r < tile; ++r)
    rows.push_back(arith::AddIOp::create(b, loc, n0, indexConst(b, loc, r)));
  Value zeroVec = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(vecType, b.getF32FloatAttr(0.0f)));
  Value zeroF = f32Const(b, loc, 0.0);

  // Rows m0 .. m0 + mb of x into the tile: every decoded weight vector is
  // scaled once and feeds the mb rows' accumulators (acc[r * mb + i]),
  // so prefill decodes each weight once per mb rows.
  auto rowBlock = [&](OpBuilder &b, Value m0, int64_t mb, Value tileIn) {
    SmallVector<Value> ms;
    for (int64_t i = 0; i < mb; ++i)
      ms.push_back(arith::AddIOp::create(b, loc, m0, indexConst(b, loc, i)));
    // One chunk at input k: acc[r][i] += (c_rj * s_r) * x_ij; sums[i] +=
    // x_ij (the activations' group sums, shared by the rows).
    auto chunkStep = [&](OpBuilder &b, Value k, ValueRange state,
                         ArrayRef<Value> rowScales, bool inBounds) {
      SmallVector<Value> xv; // [i * perChunk + j]
      for (int64_t i = 0; i < mb; ++i)
        for (int64_t j = 0; j < perChunk; ++j)
          xv.push_back(vector::TransferReadOp::create(
              b, loc, vecType, xs,
              ValueRange{ms[i], arith::AddIOp::create(
                                    b, loc, k, indexConst(b, loc, j * lanes))},
              std::optional<Value>(zeroF),
              ArrayRef<bool>{inBounds || xPadded}));
      SmallVector<Value> next(state);
      for (int64_t r = 0; r < tile; ++r) {
        SmallVector<Value> w = stream.load(b, loc, rows[r], k, lanes, inBounds);
        for (int64_t j = 0; j < perChunk; ++j) {
          Value wj = rowScales.empty()
                         ? w[j]
                         : arith::MulFOp::create(b, loc, w[j], rowScales[r])
                               .getResult();
          for (int64_t i = 0; i < mb; ++i)
            next[r * mb + i] = vector::FMAOp::create(
                b, loc, wj, xv[i * perChunk + j], next[r * mb + i]);
        }
      }
      if (stream.hasOffsets)
        for (int64_t i = 0; i < mb; ++i)
          for (int64_t j = 0; j < perChunk; ++j)
            next[tile * mb + i] = arith::AddFOp::create(
                b, loc, next[tile * mb + i], xv[i * perChunk + j]);
      return next;
    };
    // Groups in blocks of `block`: their scales and offsets are read and
    // computed as one vector per row, then taken lane by lane.
    SmallVector<Value> accInit(tile * mb, zeroVec);
    auto groupLoop = scf::ForOp::create(
        b, loc, c0, indexConst(b, loc, groups / block), c1, accInit,
        [&](OpBuilder &b, Location loc, Value gb, ValueRange accIn) {
          Value g0 =
              arith::MulIOp::create(b, loc, gb, indexConst(b, loc, block));
          SmallVector<std::pair<Value, Value>> params;
          for (int64_t r = 0; r < tile; ++r)
            params.push_back(stream.groupParams(b, loc, rows[r], g0, block));
          auto lane = [&](Value v, int64_t i) -> Value {
            return vector::BroadcastOp::create(
                b, loc, vecType,
                vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{i}));
          };
          SmallVector<Value> acc(accIn);
          for (int64_t gi = 0; gi < block; ++gi) {
            Value kb = arith::MulIOp::create(
                b, loc,
                arith::AddIOp::create(b, loc, g0, indexConst(b, loc, gi)),
                indexConst(b, loc, gs));
            SmallVector<Value> rowScales;
            for (int64_t r = 0; r < tile; ++r)
              if (Value sv = params[r].first)
                rowScales.push_back(lane(sv, gi));
            SmallVector<Value> state(acc);
            if (stream.hasOffsets)
              state.append(mb, zeroVec);
            auto chunks = scf::ForOp::create(
                b, loc, c0, indexConst(b, loc, fullChunks * chunk),
                indexConst(b, loc, chunk), state,
                [&](OpBuilder &b, Location loc, Value c, ValueRange st) {
                  Value k = arith::AddIOp::create(b, loc, kb, c);
                  scf::YieldOp::create(b, loc,
                                       chunkStep(b, k, st, rowScales, true));
                });
            state.assign(chunks.getResults().begin(),
                         chunks.getResults().end());
            if (tail)
              state = chunkStep(b, indexConst(b, loc, fullChunks * chunk),
                                state, rowScales, false);
            for (int64_t r = 0; r < tile; ++r) {
              for (int64_t i = 0; i < mb; ++i) {
                acc[r * mb + i] = state[r * mb + i];
                if (Value o = params[r].second)
                  acc[r * mb + i] = vector::FMAOp::create(b, loc, lane(o, gi),
                                                          state[tile * mb + i],
                                                          acc[r * mb + i]);
              }
            }
          }
          scf::YieldOp::create(b, loc, acc);
        });
    Value written = tileIn;
    for (int64_t i = 0; i < mb; ++i) {
      SmallVector<Value> ys;
      for (int64_t r = 0; r < tile; ++r) {
        Value y =
            vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                        groupLoop.getResult(r * mb + i));
        if (Value bias = op.getBias())
          y = arith::AddFOp::create(
              b, loc, y, tensor::ExtractOp::create(b, loc, bias, rows[r]));
        ys.push_back(y);
      }
      Value yv = vector::FromElementsOp::create(
          b, loc, VectorType::get({tile}, f32), ys);
      written = vector::TransferWriteOp::create(b, loc, yv, written,
                                                ValueRange{ms[i], c0},
                                                ArrayRef<bool>{true})
                    .getResult();
    }
    return written;
  };
  // Blocks of `rowsPerBlock` rows of x, then the rest one at a time.
  Value blocked = arith::MulIOp::create(
      b, loc,
      arith::DivUIOp::create(b, loc, M, indexConst(b, loc, rowsPerBlock)),
      indexConst(b, loc, rowsPerBlock));
  auto mainRows = scf::ForOp::create(
      b, loc, c0, blocked, indexConst(b, loc, rowsPerBlock),
      ValueRange{tileInit},
      [&](OpBuilder &b, Location loc, Value m0, ValueRange t) {
        scf::YieldOp::create(b, loc, rowBlock(b, m0, rowsPerBlock, t[0]));
      });
  auto perRow = scf::ForOp::create(
      b, loc, blocked, M, c1, mainRows.getResults(),
      [&](OpBuilder &b, Location loc, Value m, ValueRange t) {
        scf::YieldOp::create(b, loc, rowBlock(b, m, 1, t[0]));
      });
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, perRow.getResult(0), out,
                                        offsets, sizes, strides);
  return forall.getResult(0);
}

int64_t hostLanes() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  return features.lookup("avx512f") ? 16 : 8;
}

struct ConvertHFQToCPUPass
    : mlir::hfq::impl::ConvertHFQToCPUBase<ConvertHFQToCPUPass> {
  using ConvertHFQToCPUBase::ConvertHFQToCPUBase;
  void runOnOperation() override {
    const int64_t width = lanes ? int64_t(lanes) : hostLanes();
    if (width < 8 || !llvm::isPowerOf2_64(width)) {
      getOperation().emitError()
          << "convert-hfq-to-cpu: lanes must be a power of two >= 8, got "
          << width;
      return signalPassFailure();
    }
    SmallVector<LinearOp> linears;
    getOperation().walk([&](LinearOp op) { linears.push_back(op); });
    for (LinearOp op : linears) {
      std::string why;
      FailureOr<std::unique_ptr<WeightStream>> stream = failure();
      auto xType = dyn_cast<RankedTensorType>(op.getInput().getType());
      if (op.getOutlierThresholdAttr())
        why = "LLM.int8 mixed decomposition";
      else if (!xType || xType.getRank() != 2 ||
               !xType.getElementType().isF32() ||
               ShapedType::isDynamic(xType.getShape()[1]))
        why = "input is not a [rows, K] f32 tensor with static K";
      else
        stream = streamFor(op, why);
      // Groups must hold whole chunks (a row-wide group may end in a
      // partial one); narrower vectors make smaller chunks.
      int64_t laneCount = width;
      if (succeeded(stream)) {
        int64_t K = xType.getShape()[1];
        int64_t gs = (*stream)->groupSize;
        while (gs != K && gs % (*stream)->chunk(laneCount) != 0 &&
               laneCount > 8)
          laneCount /= 2;
        if (gs != K && gs % (*stream)->chunk(laneCount) != 0) {
          why = "group size " + std::to_string(gs) +
                " is not a multiple of the kernel's chunk of " +
                std::to_string((*stream)->chunk(laneCount)) + " inputs";
          stream = failure();
        }
      }
      if (failed(stream)) {
        if (report)
          op.emitRemark() << "left to the reference lowering: " << why;
        continue;
      }
      OpBuilder b(op);
      Value y = buildKernel(b, op, **stream, laneCount);
      op.getResult().replaceAllUsesWith(y);
      op.erase();
    }
  }
};

} // namespace

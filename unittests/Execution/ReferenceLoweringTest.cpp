//===- ReferenceLoweringTest.cpp - JIT runs of the reference lowering -*- C++ -*-===//
//
// Builds hfq modules with weights as constants, lowers them with
// hfq-lower-to-llvm, runs them through the JIT and compares with results
// computed independently by the numerics library in C++:
// - codes packed by `hfq.quantize` equal packCodes(quantizeRTN(w)) bit for bit;
// - `hfq.dequantize` equals numerics::dequantize bit for bit;
// - `hfq.linear` on a group-quantized weight equals x * dequant(W)^T from a
//   plain C++ loop, to float32 summation-order tolerance;
// - hfq-quantize-linears produces weights that compute exactly what
//   `hfq.quantize` computes for the same encoding (rtn, nf4, fp4, double
//   quant), and what the numerics library dequantizes (MSE clip, HQQ);
// - LLM.int8's mixed decomposition equals a C++ transcription of it;
// - 2:4 sparse weights from hfq-prune compute x * W_pruned^T.
//
//===----------------------------------------------------------------------===//

#include "hfq/Execution/JIT.h"
#include "hfq/IO/Safetensors.h"
#include "hfq/IO/Statistics.h"
#include "hfq/Numerics/Affine.h"
#include "hfq/Numerics/Codebooks.h"
#include "hfq/Numerics/Packing.h"
#include "hfq/Numerics/Pruning.h"
#include "hfq/Numerics/SpQR.h"
#include "hfq/Pipelines/Pipelines.h"
#include "hfq/Transforms/Passes.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "hfq/Conversion/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

#include "TestJit.h"

#include "gtest/gtest.h"

#include <cmath>
#include <functional>
#include <random>
#include <sstream>

using namespace mlir;
using namespace mlir::hfq;
namespace nx = mlir::hfq::numerics;
using namespace mlir::hfq::testing;

namespace {

/// These tests are of the reference lowering: no generated kernels.
JITOptions referenceOnly() {
  JITOptions options;
  options.reference = true;
  return options;
}

struct Case {
  const char *name;
  unsigned bits;
  nx::AffineScheme::Granularity granularity;
  int64_t groupSize;
  bool symmetric;
  unsigned storageBits;
  nx::BitOrder order;
};

std::string encodingText(const Case &c) {
  const char *gran[] = {"tensor", "channel", "group"};
  std::string s = llvm::formatv("#hfq.affine<bits = {0}, granularity = {1}",
                                c.bits, gran[int(c.granularity)]);
  if (c.granularity == nx::AffineScheme::Granularity::Group)
    s += llvm::formatv(", group_size = {0}", c.groupSize).str();
  s += c.symmetric ? ", zero_point = symmetric" : ", zero_point = integer";
  s += llvm::formatv(", storage_bits = {0}, order = {1}>", c.storageBits,
                     c.order == nx::BitOrder::LsbFirst ? "lsb_first"
                                                       : "msb_first")
           .str();
  return s;
}

class AffineLowering : public ::testing::TestWithParam<Case> {};

TEST_P(AffineLowering, MatchesNumericsLibrary) {
  const Case c = GetParam();
  const int64_t rows = 16, cols = 128, tokens = 3;
  std::mt19937 rng(1234 + c.bits);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> w(rows * cols), x(tokens * cols);
  for (float &v : w)
    v = dist(rng);
  for (float &v : x)
    v = dist(rng) * 50.0f;

  nx::AffineScheme scheme;
  scheme.bits = c.bits;
  scheme.granularity = c.granularity;
  scheme.groupSize = c.groupSize;
  scheme.symmetric = c.symmetric;
  auto q = nx::quantizeRTN(w, rows, cols, scheme);
  ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
  std::vector<float> deq = nx::dequantize(*q, scheme);
  auto packedOr = nx::packCodes(q->codes, c.bits, c.storageBits, c.order);
  ASSERT_TRUE(bool(packedOr));
  const int64_t packedCols = cols * c.bits / c.storageBits;
  // Containers as the signed integers MLIR prints for iN.
  std::vector<int64_t> packed;
  for (uint32_t v : *packedOr)
    packed.push_back(int64_t(llvm::SignExtend64(v, c.storageBits)));
  const int64_t groups =
      c.granularity == nx::AffineScheme::Granularity::Group ? cols / c.groupSize : 1;
  const int64_t scaleRows =
      c.granularity == nx::AffineScheme::Granularity::Tensor ? 1 : rows;

  std::string enc = encodingText(c);
  std::string qtype = llvm::formatv("!hfq.qtensor<{0}x{1}xf32, {2}>", rows, cols, enc);
  std::string codesType = llvm::formatv("tensor<{0}x{1}xi{2}>", rows, packedCols, c.storageBits);
  std::string scaleType = llvm::formatv("tensor<{0}x{1}xf32>", scaleRows, groups);
  std::string zeroType = llvm::formatv("tensor<{0}x{1}xi32>", scaleRows, groups);
  std::string wType = llvm::formatv("tensor<{0}x{1}xf32>", rows, cols);
  std::string xType = llvm::formatv("tensor<{0}x{1}xf32>", tokens, cols);
  std::string yType = llvm::formatv("tensor<{0}x{1}xf32>", tokens, rows);

  std::string assembled =
      llvm::formatv("  %c = arith.constant {0} : {1}\n"
                    "  %s = arith.constant {2} : {3}\n",
                    dense(packed, rows, packedCols), codesType,
                    dense(q->scales, scaleRows, groups), scaleType);
  if (c.symmetric)
    assembled += llvm::formatv("  %q = hfq.assemble %c, %s : {0}, {1} -> {2}\n",
                               codesType, scaleType, qtype);
  else
    assembled += llvm::formatv(
        "  %z = arith.constant {0} : {1}\n"
        "  %q = hfq.assemble %c, %s, %z : {2}, {3}, {1} -> {4}\n",
        dense(q->zeros, scaleRows, groups), zeroType, codesType, scaleType, qtype);

  std::string source = llvm::formatv(
      "func.func @codes() -> {0} {\n"
      "  %w = arith.constant {1} : {2}\n"
      "  %q = hfq.quantize %w : {2} -> {3}\n"
      "  %parts:{4} = hfq.disassemble %q : {3} -> {0}, {5}{6}\n"
      "  return %parts#0 : {0}\n}\n"
      "func.func @deq() -> {2} {\n"
      "  %w = arith.constant {1} : {2}\n"
      "  %q = hfq.quantize %w : {2} -> {3}\n"
      "  %d = hfq.dequantize %q : {3} -> {2}\n"
      "  return %d : {2}\n}\n"
      "func.func @linear() -> {7} {\n{8}"
      "  %x = arith.constant {9} : {10}\n"
      "  %y = hfq.linear %x, %q : {10}, {3} -> {7}\n"
      "  return %y : {7}\n}\n",
      codesType, dense(w, rows, cols), wType, qtype, c.symmetric ? 2 : 3,
      scaleType, c.symmetric ? "" : ", " + zeroType, yType, assembled,
      dense(x, tokens, cols), xType);

  Jit jit(referenceOnly());
  ASSERT_TRUE(jit.compile(source));

  // Packed codes: bit-exact.
  std::vector<int64_t> gotCodes;
  if (c.storageBits == 8)
    for (int8_t v : jit.call2d<int8_t>("codes"))
      gotCodes.push_back(v);
  else
    for (int32_t v : jit.call2d<int32_t>("codes"))
      gotCodes.push_back(v);
  EXPECT_EQ(gotCodes, packed);

  // Dequantized weights: bit-exact (same float32 operations in same order).
  std::vector<float> gotDeq = jit.call2d<float>("deq");
  ASSERT_EQ(gotDeq.size(), deq.size());
  for (size_t i = 0; i < deq.size(); ++i)
    ASSERT_EQ(gotDeq[i], deq[i]) << "element " << i;

  // Linear: y = x * deq(W)^T computed in double here.
  std::vector<float> y = jit.call2d<float>("linear");
  ASSERT_EQ(y.size(), size_t(tokens * rows));
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      double ref = 0, mag = 0;
      for (int64_t k = 0; k < cols; ++k) {
        ref += double(x[t * cols + k]) * deq[r * cols + k];
        mag += std::fabs(double(x[t * cols + k]) * deq[r * cols + k]);
      }
      // float32 accumulation over 128 terms: relative to the sum of |terms|.
      EXPECT_NEAR(y[t * rows + r], ref, 1e-6 * mag + 1e-7)
          << "token " << t << " row " << r;
    }
}

using G = nx::AffineScheme::Granularity;
INSTANTIATE_TEST_SUITE_P(
    Encodings, AffineLowering,
    ::testing::Values(
        Case{"int4_g32_asym_i8", 4, G::Group, 32, false, 8, nx::BitOrder::LsbFirst},
        Case{"int4_g32_sym_i32", 4, G::Group, 32, true, 32, nx::BitOrder::LsbFirst},
        Case{"int3_g64_asym_i32", 3, G::Group, 64, false, 32, nx::BitOrder::LsbFirst},
        Case{"int8_channel_sym_i8", 8, G::Channel, 0, true, 8, nx::BitOrder::LsbFirst},
        Case{"int2_tensor_asym_msb", 2, G::Tensor, 0, false, 8, nx::BitOrder::MsbFirst}),
    [](const ::testing::TestParamInfo<Case> &info) { return info.param.name; });

TEST(CodebookLowering, NF4DoubleQuantDequantize) {
  // Two blocks of 64 NF4 codes; absmax double-quantized with one outer block.
  const int64_t rows = 2, cols = 64;
  std::vector<uint8_t> codes(rows * cols);
  for (size_t i = 0; i < codes.size(); ++i)
    codes[i] = (i * 7 + 3) % 16;
  auto packedOr = nx::packCodes(codes, 4, 8, nx::BitOrder::MsbFirst);
  ASSERT_TRUE(bool(packedOr));
  std::vector<int64_t> packed;
  for (uint32_t v : *packedOr)
    packed.push_back(int8_t(v));
  const uint8_t absmaxCodes[2] = {200, 37};
  const float outer = 0.75f, offset = 0.125f;
  llvm::ArrayRef<float> dmap = nx::dynamicMap8(), nf4 = nx::nf4Table();

  std::string type = "!hfq.qtensor<2x64xf32, #hfq.codebook<kind = nf4, "
                     "block_size = 64, absmax_encoding = #hfq.codebook<kind = "
                     "dynamic8, block_size = 256, offset = true>>>";
  std::string source = llvm::formatv(
      "func.func @deq() -> tensor<2x64xf32> {\n"
      "  %c = arith.constant {0} : tensor<2x32xi8>\n"
      "  %a = arith.constant dense<[{1}, {2}]> : tensor<2xi8>\n"
      "  %o = arith.constant dense<{3}> : tensor<1xf32>\n"
      "  %m = arith.constant dense<{4}> : tensor<1xf32>\n"
      "  %q = hfq.assemble %c, %a, %o, %m : tensor<2x32xi8>, tensor<2xi8>, "
      "tensor<1xf32>, tensor<1xf32> -> {5}\n"
      "  %d = hfq.dequantize %q : {5} -> tensor<2x64xf32>\n"
      "  return %d : tensor<2x64xf32>\n}\n",
      dense(packed, 2, 32), int(int8_t(absmaxCodes[0])),
      int(int8_t(absmaxCodes[1])), floatText(outer), floatText(offset), type);
  Jit jit(referenceOnly());
  ASSERT_TRUE(jit.compile(source));
  std::vector<float> got = jit.call2d<float>("deq");
  ASSERT_EQ(got.size(), codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    float absmax = dmap[absmaxCodes[i / 64]] * outer + offset;
    EXPECT_EQ(got[i], nf4[codes[i]] * absmax) << "element " << i;
  }
}

TEST(CodebookLowering, NF4QuantizeRoundTripsTableValues) {
  // Weights that are exactly table values times a block absmax of 2 must
  // come back unchanged through quantize -> dequantize.
  llvm::ArrayRef<float> nf4 = nx::nf4Table();
  std::vector<float> w(64);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = 2.0f * nf4[(i * 5) % 16];
  w[3] = 2.0f; // make sure the block absmax is exactly 2
  std::string type = "!hfq.qtensor<1x64xf32, #hfq.codebook<kind = nf4>>";
  std::string source = llvm::formatv(
      "func.func @rt() -> tensor<1x64xf32> {\n"
      "  %w = arith.constant {0} : tensor<1x64xf32>\n"
      "  %q = hfq.quantize %w : tensor<1x64xf32> -> {1}\n"
      "  %d = hfq.dequantize %q : {1} -> tensor<1x64xf32>\n"
      "  return %d : tensor<1x64xf32>\n}\n",
      dense(w, 1, 64), type);
  Jit jit(referenceOnly());
  ASSERT_TRUE(jit.compile(source));
  EXPECT_EQ(jit.call2d<float>("rt"), w);
}

TEST(CodebookLowering, AllZeroBlocksStayZero) {
  // One all-zero block and one ordinary block, with double quantization: the
  // zero block keeps absmax 0 and must dequantize to exact zeros, never NaN.
  std::vector<float> w(128, 0.0f);
  for (int i = 64; i < 128; ++i)
    w[i] = 0.01f * float(i - 96);
  std::string type = "!hfq.qtensor<2x64xf32, #hfq.codebook<kind = nf4, "
                     "block_size = 64, absmax_encoding = #hfq.codebook<kind = "
                     "dynamic8, block_size = 256, offset = true>>>";
  std::string source = llvm::formatv(
      "func.func @rt() -> tensor<2x64xf32> {\n"
      "  %w = arith.constant {0} : tensor<2x64xf32>\n"
      "  %q = hfq.quantize %w : tensor<2x64xf32> -> {1}\n"
      "  %d = hfq.dequantize %q : {1} -> tensor<2x64xf32>\n"
      "  return %d : tensor<2x64xf32>\n}\n",
      dense(w, 2, 64), type);
  Jit jit(referenceOnly());
  ASSERT_TRUE(jit.compile(source));
  std::vector<float> got = jit.call2d<float>("rt");
  ASSERT_EQ(got.size(), w.size());
  for (int i = 0; i < 64; ++i)
    EXPECT_EQ(got[i], 0.0f) << "element " << i;
  for (int i = 64; i < 128; ++i) {
    EXPECT_TRUE(std::isfinite(got[i])) << "element " << i;
    // Half the widest NF4 gap (0.152) times absmax 0.32 is 0.049; the rest
    // covers the 8-bit double quantization of absmax.
    EXPECT_NEAR(got[i], w[i], 0.06f) << "element " << i;
  }
}

TEST(QuantInterop, ConvertedWeightsKeepQuantSemantics) {
  // Upstream semantics: w = (q - zp) * scale with the storage integer q.
  const char *source = R"mlir(
func.func @per_axis() -> tensor<2x4xf32> {
  %c = arith.constant dense<[[0, 1, 14, 15], [5, 6, 7, 8]]> : tensor<2x4xi4>
  %s = quant.scast %c : tensor<2x4xi4> to tensor<2x4x!quant.uniform<u4:f32:0, {0.5:3, 0.25:4}>>
  %w = quant.dcast %s : tensor<2x4x!quant.uniform<u4:f32:0, {0.5:3, 0.25:4}>> to tensor<2x4xf32>
  return %w : tensor<2x4xf32>
}
func.func @sub_channel() -> tensor<2x4xf32> {
  %c = arith.constant dense<[[-8, -1, 0, 7], [1, 2, 3, 4]]> : tensor<2x4xi8>
  %s = quant.scast %c : tensor<2x4xi8> to tensor<2x4x!quant.uniform<i8:f32:{0:1, 1:2}, {{2.0:10, 3.0:20}, {4.0:30, 5.0:40}}>>
  %w = quant.dcast %s : tensor<2x4x!quant.uniform<i8:f32:{0:1, 1:2}, {{2.0:10, 3.0:20}, {4.0:30, 5.0:40}}>> to tensor<2x4xf32>
  return %w : tensor<2x4xf32>
})mlir";
  Jit jit(referenceOnly());
  ASSERT_TRUE(jit.compile(source, [](PassManager &pm) {
    pm.addPass(hfq::createConvertQuantToHFQ());
  }));
  std::vector<float> perAxis = {(0 - 3) * 0.5f,  (1 - 3) * 0.5f,
                                (14 - 3) * 0.5f, (15 - 3) * 0.5f,
                                (5 - 4) * 0.25f, (6 - 4) * 0.25f,
                                (7 - 4) * 0.25f, (8 - 4) * 0.25f};
  EXPECT_EQ(jit.call2d<float>("per_axis"), perAxis);
  std::vector<float> subChannel = {(-8 - 10) * 2.0f, (-1 - 10) * 2.0f,
                                   (0 - 20) * 3.0f,  (7 - 20) * 3.0f,
                                   (1 - 30) * 4.0f,  (2 - 30) * 4.0f,
                                   (3 - 40) * 5.0f,  (4 - 40) * 5.0f};
  EXPECT_EQ(jit.call2d<float>("sub_channel"), subChannel);
}

//===----------------------------------------------------------------------===//
// hfq-quantize-linears
//===----------------------------------------------------------------------===//

/// Deterministic weights with a few larger values, [rows, cols].
std::vector<float> testWeights(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = normal(rng);
  for (int64_t i = 0; i < rows * cols; i += 37)
    w[i] *= 6.0f;
  return w;
}

struct LinearModule {
  std::vector<float> x, w;
  int64_t tokens, in, out;
  /// @passed: linear on the weight global model.layers.0.mlp.up_proj.weight
  /// (to be quantized by the pass); @reference: the same weight through
  /// hfq.quantize into `type`, if given.
  std::string source(const std::string &type) const {
    std::string s = llvm::formatv(
        "hfq.global @model.layers.0.mlp.up_proj.weight : tensor<{2}x{1}xf32> "
        "= {4} : tensor<{2}x{1}xf32>\n"
        "func.func @passed() -> tensor<{0}x{2}xf32> {{\n"
        "  %x = arith.constant {3} : tensor<{0}x{1}xf32>\n"
        "  %w = hfq.load @model.layers.0.mlp.up_proj.weight : "
        "tensor<{2}x{1}xf32>\n"
        "  %y = hfq.linear %x, %w : tensor<{0}x{1}xf32>, tensor<{2}x{1}xf32> "
        "-> tensor<{0}x{2}xf32>\n"
        "  return %y : tensor<{0}x{2}xf32>\n}\n",
        tokens, in, out, dense(x, tokens, in), dense(w, out, in));
    if (!type.empty())
      s += llvm::formatv(
          "func.func @reference() -> tensor<{0}x{2}xf32> {{\n"
          "  %x = arith.constant {3} : tensor<{0}x{1}xf32>\n"
          "  %w = arith.constant {4} : tensor<{2}x{1}xf32>\n"
          "  %q = hfq.quantize %w : tensor<{2}x{1}xf32> -> {5}\n"
          "  %y = hfq.linear %x, %q : tensor<{0}x{1}xf32>, {5} -> "
          "tensor<{0}x{2}xf32>\n"
          "  return %y : tensor<{0}x{2}xf32>\n}\n",
          tokens, in, out, dense(x, tokens, in), dense(w, out, in), type);
    return s;
  }
};

LinearModule makeLinear(int64_t tokens, int64_t in, int64_t out) {
  LinearModule m{testWeights(tokens, in, 11), testWeights(out, in, 5), tokens,
                 in, out};
  return m;
}

/// y = x * w^T in float32, k in order (the lowering's summation order).
std::vector<float> matmulT(const std::vector<float> &x,
                           const std::vector<float> &w, int64_t tokens,
                           int64_t in, int64_t out) {
  std::vector<float> y(tokens * out, 0.0f);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t o = 0; o < out; ++o) {
      float acc = 0.0f;
      for (int64_t k = 0; k < in; ++k) {
        float p = x[t * in + k] * w[o * in + k];
        acc += p;
      }
      y[t * out + o] = acc;
    }
  return y;
}

void addQuantizePass(PassManager &pm, const QuantizeLinearsOptions &o) {
  pm.addPass(createQuantizeLinears(o));
}

struct PassCase {
  const char *name;
  QuantizeLinearsOptions options;
  const char *encoding; // the same quantizer as hfq.quantize
};

class QuantizePassMatchesOp : public ::testing::TestWithParam<PassCase> {};

TEST_P(QuantizePassMatchesOp, BitIdentical) {
  const PassCase &c = GetParam();
  LinearModule m = makeLinear(3, 128, 8);
  std::string type =
      llvm::formatv("!hfq.qtensor<8x128xf32, {0}>", c.encoding).str();
  Jit jit(referenceOnly());
  ASSERT_TRUE(jit.compile(m.source(type), [&](PassManager &pm) {
    addQuantizePass(pm, c.options);
  }));
  std::vector<float> got = jit.call2d<float>("passed");
  std::vector<float> want = jit.call2d<float>("reference");
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i], want[i]) << "element " << i;
}

QuantizeLinearsOptions opts(QuantizeMethod method, unsigned bits, int64_t group,
                            bool sym = false, bool dq = false) {
  QuantizeLinearsOptions o;
  o.method = method;
  o.bits = bits;
  o.groupSize = group;
  o.symmetric = sym;
  o.doubleQuant = dq;
  return o;
}

/// The same with scales kept in f32 and i32 zeros (the pre-f16 storage).
QuantizeLinearsOptions f32Storage(QuantizeLinearsOptions o) {
  o.scaleType = nx::ScaleType::F32;
  o.packZeros = false;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Methods, QuantizePassMatchesOp,
    ::testing::Values(
        // Default storage: f16 scales (rounded before zeros and codes are
        // chosen), zeros packed at the code width.
        PassCase{"rtn4_g32", opts(QuantizeMethod::rtn, 4, 32),
                 "#hfq.affine<bits = 4, granularity = group, group_size = 32, "
                 "zero_point = integer, scale_type = f16, packed_zeros = "
                 "true>"},
        PassCase{"rtn3_g32_bf16",
                 [] {
                   QuantizeLinearsOptions o = opts(QuantizeMethod::rtn, 3, 32);
                   o.scaleType = nx::ScaleType::BF16;
                   return o;
                 }(),
                 "#hfq.affine<bits = 3, granularity = group, group_size = 32, "
                 "zero_point = integer, scale_type = bf16, packed_zeros = "
                 "true>"},
        PassCase{"rtn3_channel_sym", opts(QuantizeMethod::rtn, 3, 0, true),
                 "#hfq.affine<bits = 3, granularity = channel, zero_point = "
                 "symmetric, scale_type = f16>"},
        PassCase{"rtn8_tensor", opts(QuantizeMethod::rtn, 8, -1),
                 "#hfq.affine<bits = 8, granularity = tensor, zero_point = "
                 "integer, scale_type = f16, packed_zeros = true>"},
        PassCase{"rtn4_g32_f32", f32Storage(opts(QuantizeMethod::rtn, 4, 32)),
                 "#hfq.affine<bits = 4, granularity = group, group_size = 32, "
                 "zero_point = integer>"},
        PassCase{"nf4", opts(QuantizeMethod::nf4, 4, 0),
                 "#hfq.codebook<kind = nf4, block_size = 64>"},
        PassCase{"fp4_dq", opts(QuantizeMethod::fp4, 4, 0, false, true),
                 "#hfq.codebook<kind = fp4, block_size = 64, "
                 "absmax_encoding = #hfq.codebook<kind = dynamic8, block_size "
                 "= 256, offset = true>>"}),
    [](const ::testing::TestParamInfo<PassCase> &info) {
      return std::string(info.param.name);
    });

/// Methods without an hfq.quantize equivalent: the compiled linear equals
/// x * dequant(W)^T with dequant from the numerics library.
TEST(QuantizePass, MSEClipAndHQQMatchNumerics) {
  LinearModule m = makeLinear(3, 128, 8);
  struct Case {
    QuantizeLinearsOptions options;
    std::function<std::vector<float>()> dequantized;
  };
  nx::AffineScheme clip;
  clip.bits = 3;
  clip.groupSize = 32;
  clip.clip.enabled = true;
  clip.scaleType = nx::ScaleType::F16;
  nx::AffineScheme hqq;
  hqq.scaleType = nx::ScaleType::F16;
  hqq.bits = 2;
  hqq.groupSize = 16;
  hqq.floatZero = true;
  QuantizeLinearsOptions clipOpts = opts(QuantizeMethod::rtn, 3, 32);
  clipOpts.mseClip = true;
  std::vector<Case> cases = {
      {clipOpts,
       [&] {
         return nx::dequantize(*nx::quantizeRTN(m.w, 8, 128, clip), clip);
       }},
      {opts(QuantizeMethod::hqq, 2, 16), [&] {
         return nx::dequantize(
             *nx::quantizeHQQ(m.w, 8, 128, hqq, nx::HQQOptions{}), hqq);
       }}};
  for (const Case &c : cases) {
    Jit jit(referenceOnly());
    ASSERT_TRUE(jit.compile(m.source(""), [&](PassManager &pm) {
      addQuantizePass(pm, c.options);
    }));
    std::vector<float> got = jit.call2d<float>("passed");
    std::vector<float> want = matmulT(m.x, c.dequantized(), 3, 128, 8);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_FLOAT_EQ(got[i], want[i])
          << stringify(c.options.method).str() << " element " << i;
  }
}

/// Float codes (fp8, mxfp8, mxfp4, nvfp4): the pass's parts, dequantized by
/// the compiled reference lowering (narrow floats decoded by table, NVFP4's
/// scales through their nested encoding), equal the numerics library's
/// dequantization exactly. The input is the identity, so the linear's
/// output is W^T exactly, whatever the summation order (up to the sign of
/// zero: the accumulator starts at +0, so -0 weights come out +0).
TEST(QuantizePass, FloatCodesMatchNumericsExactly) {
  const int64_t in = 64, out = 8;
  std::vector<float> w = testWeights(out, in, 5);
  // Rows 1..2 tiny and row 3 huge: E8M0 exponents and E4M3 scales across
  // their range, including NVFP4 block scales far below the tensor's.
  for (int64_t c = 0; c < in; ++c) {
    w[1 * in + c] *= 1e-3f;
    w[2 * in + c] *= 1e-6f;
    w[3 * in + c] *= 1e3f;
  }
  std::vector<float> eye(in * in, 0.0f);
  for (int64_t i = 0; i < in; ++i)
    eye[i * in + i] = 1.0f;
  LinearModule m{eye, w, in, in, out};
  using Scales = nx::FloatCodeScheme::Scales;
  using G = nx::AffineScheme::Granularity;
  struct FloatCase {
    QuantizeMethod method;
    int64_t groupSize;
    nx::FloatCodeScheme scheme;
  };
  auto scheme = [](nx::MiniFloat code, G g, int64_t group, Scales scales) {
    nx::FloatCodeScheme s;
    s.code = code;
    s.granularity = g;
    s.groupSize = group;
    s.scales = scales;
    return s;
  };
  const FloatCase cases[] = {
      {QuantizeMethod::fp8, 0,
       scheme(nx::MiniFloat::E4M3, G::Channel, 0, Scales::Float)},
      {QuantizeMethod::fp8, 16,
       scheme(nx::MiniFloat::E4M3, G::Group, 16, Scales::Float)},
      {QuantizeMethod::fp8, -1,
       scheme(nx::MiniFloat::E4M3, G::Tensor, 0, Scales::Float)},
      {QuantizeMethod::mxfp8, 0,
       scheme(nx::MiniFloat::E4M3, G::Group, 32, Scales::E8M0)},
      {QuantizeMethod::mxfp4, 0,
       scheme(nx::MiniFloat::E2M1, G::Group, 32, Scales::E8M0)},
      {QuantizeMethod::nvfp4, 0,
       scheme(nx::MiniFloat::E2M1, G::Group, 16, Scales::E4M3)},
  };
  for (const FloatCase &c : cases) {
    QuantizeLinearsOptions o;
    o.method = c.method;
    o.groupSize = c.groupSize;
    Jit jit(referenceOnly());
    ASSERT_TRUE(jit.compile(m.source(""),
                            [&](PassManager &pm) { addQuantizePass(pm, o); }));
    std::vector<float> got = jit.call2d<float>("passed");
    auto q = nx::quantizeFloatCodes(w, out, in, c.scheme);
    ASSERT_TRUE(bool(q)) << llvm::toString(q.takeError());
    std::vector<float> want = nx::dequantize(*q, c.scheme);
    ASSERT_EQ(got.size(), want.size());
    int64_t mismatches = 0;
    for (int64_t t = 0; t < in; ++t)
      for (int64_t r = 0; r < out; ++r)
        if (got[t * out + r] != want[r * in + t] && mismatches++ < 5)
          ADD_FAILURE() << stringify(c.method).str() << " group " << c.groupSize
                        << ": W[" << r << ", " << t
                        << "] = " << got[t * out + r] << ", numerics "
                        << want[r * in + t];
    EXPECT_EQ(mismatches, 0);
  }
}

/// LLM.int8() written out in C++ from its definition (see hfq.linear).
std::vector<float> int8Reference(const std::vector<float> &x,
                                 const std::vector<float> &w, int64_t tokens,
                                 int64_t in, int64_t out, float threshold) {
  auto q = nx::quantizeInt8Rowwise(w, out, in);
  std::vector<bool> outlier(in, false);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t k = 0; k < in; ++k)
      if (threshold > 0 && std::fabs(x[t * in + k]) >= threshold)
        outlier[k] = true;
  std::vector<float> y(tokens * out);
  for (int64_t t = 0; t < tokens; ++t) {
    float a = 0.0f;
    for (int64_t k = 0; k < in; ++k) {
      float v = std::fabs(x[t * in + k]);
      if (!(threshold > 0 && v >= threshold))
        a = std::max(a, v);
    }
    std::vector<int32_t> xq(in, 0);
    for (int64_t k = 0; k < in; ++k)
      if (!outlier[k] && a != 0.0f)
        xq[k] = int32_t(std::nearbyint(x[t * in + k] * (127.0f / a)));
    for (int64_t o = 0; o < out; ++o) {
      int32_t acc = 0;
      for (int64_t k = 0; k < in; ++k)
        acc += xq[k] * (int32_t(q->codes[o * in + k]) - 128);
      float v = float(acc) * (a * q->scales[o]) / 127.0f;
      for (int64_t k = 0; k < in; ++k)
        if (outlier[k]) {
          float wd = float(int32_t(q->codes[o * in + k]) - 128) * q->scales[o];
          v += x[t * in + k] * wd;
        }
      y[t * out + o] = v;
    }
  }
  return y;
}

TEST(QuantizePass, LLMInt8MixedDecomposition) {
  LinearModule m = makeLinear(4, 64, 8);
  // Two outlier features (one with a single large value), like the
  // systematic outliers LLM.int8 was built for.
  for (int64_t t = 0; t < 4; ++t)
    m.x[t * 64 + 5] = 7.5f * float(t % 2 ? -1 : 1);
  m.x[2 * 64 + 40] = -9.0f;
  for (double threshold : {6.0, 0.0}) {
    QuantizeLinearsOptions o = opts(QuantizeMethod::int8, 8, 0);
    o.threshold = threshold;
    Jit jit(referenceOnly());
    ASSERT_TRUE(jit.compile(m.source(""), [&](PassManager &pm) {
      addQuantizePass(pm, o);
    }));
    std::vector<float> got = jit.call2d<float>("passed");
    std::vector<float> want =
        int8Reference(m.x, m.w, 4, 64, 8, float(threshold));
    std::vector<float> exact = matmulT(m.x, m.w, 4, 64, 8);
    ASSERT_EQ(got.size(), want.size());
    double err = 0, ref = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_FLOAT_EQ(got[i], want[i])
          << "threshold " << threshold << " element " << i;
      err += (got[i] - exact[i]) * (got[i] - exact[i]);
      ref += exact[i] * exact[i];
    }
    // The decomposition is what makes int8 accurate with outliers: with it
    // the error is small, without it (threshold 0) clearly larger.
    if (threshold > 0)
      EXPECT_LT(std::sqrt(err / ref), 0.02);
    else
      EXPECT_GT(std::sqrt(err / ref), 0.02);
  }
}

TEST(PrunePass, TwoFourSparseWeightsCompute) {
  LinearModule m = makeLinear(3, 64, 8);
  PruneOptions o;
  o.method = PruneMethod::magnitude;
  o.pattern = nx::NMPattern{2, 4};
  Jit jit(referenceOnly());
  ASSERT_TRUE(jit.compile(m.source(""), [&](PassManager &pm) {
    pm.addPass(createPrune(o));
  }));
  auto pruned = nx::pruneMagnitude(m.w, 8, 64, 0, {2, 4});
  ASSERT_TRUE(bool(pruned));
  std::vector<float> got = jit.call2d<float>("passed");
  std::vector<float> want = matmulT(m.x, pruned->weights, 3, 64, 8);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i], want[i]) << "element " << i;
}

/// Unstructured pruning's #hfq.bitmask weights (a row length that is not a
/// multiple of 8, an empty row) compute with the pruned dense weights, bit
/// for bit.
TEST(PrunePass, BitmaskWeightsCompute) {
  LinearModule m = makeLinear(3, 60, 8);
  for (int64_t c = 0; c < 60; ++c)
    m.w[5 * 60 + c] = 0.001f; // row 5: pruned away entirely
  PruneOptions o;
  o.method = PruneMethod::magnitude;
  o.sparsity = 0.5;
  Jit jit(referenceOnly());
  ASSERT_TRUE(jit.compile(m.source(""), [&](PassManager &pm) {
    pm.addPass(createPrune(o));
  }));
  auto pruned = nx::pruneMagnitude(m.w, 8, 60, 0.5, {});
  ASSERT_TRUE(bool(pruned));
  for (int64_t c = 0; c < 60; ++c)
    ASSERT_EQ(pruned->weights[5 * 60 + c], 0.0f);
  std::vector<float> got = jit.call2d<float>("passed");
  std::vector<float> want = matmulT(m.x, pruned->weights, 3, 60, 8);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i], want[i]) << "element " << i;
}

/// SpQR weights (act-order, outliers in CSR) compute x * dequant(W)^T with
/// dequant from the numerics library, bit for bit.
TEST(SpQRPass, LoweringMatchesNumerics) {
  LinearModule m = makeLinear(3, 64, 16);
  m.w[5 * 64 + 9] = 3.0f; // planted outliers: the CSR path must run
  m.w[12 * 64 + 50] = -2.5f;
  // Statistics of correlated inputs with uneven channel scales.
  const int64_t n = 256, cols = 64;
  std::mt19937 rng(31);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> xtx(cols * cols, 0.0), x(cols);
  for (int64_t t = 0; t < n; ++t) {
    double common = normal(rng);
    for (int64_t c = 0; c < cols; ++c)
      x[c] = (normal(rng) + 0.5 * common) * (c % 8 == 0 ? 4.0 : 1.0);
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j)
        xtx[i * cols + j] += x[i] * x[j];
  }
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("spqr-stats", "safetensors", path));
  auto bytes = [](const auto &v) {
    std::vector<uint8_t> out(v.size() * sizeof(v[0]));
    std::memcpy(out.data(), v.data(), out.size());
    return out;
  };
  ASSERT_FALSE(bool(io::writeSafetensors(path,
                                         {{"model.layers.0.mlp.up_proj.xtx",
                                           io::DType::F64,
                                           {cols, cols},
                                           bytes(xtx)},
                                          {"model.layers.0.mlp.up_proj.tokens",
                                           io::DType::I64,
                                           {1},
                                           bytes(std::vector<int64_t>{n})}},
                                         io::Statistics::metadata())));
  SpQROptions o;
  o.stats = std::string(path);
  Jit jit(referenceOnly());
  bool compiled = jit.compile(m.source(""), [&](PassManager &pm) {
    pm.addPass(createSpQR(o));
  });
  llvm::sys::fs::remove(path);
  ASSERT_TRUE(compiled);
  std::vector<double> h(xtx);
  for (double &v : h)
    v = 2.0 * v / double(n);
  nx::SpQROptions no;
  auto r = nx::quantizeSpQR(m.w, 16, 64, h, no);
  ASSERT_TRUE(bool(r)) << llvm::toString(r.takeError());
  EXPECT_GE(r->outlierCols.size(), 2u);
  std::vector<float> got = jit.call2d<float>("passed");
  std::vector<float> want = matmulT(m.x, nx::dequantizeSpQR(*r, no), 3, 64, 16);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i], want[i]) << "element " << i;
}

} // namespace

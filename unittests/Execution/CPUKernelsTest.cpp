//===- CPUKernelsTest.cpp - generated kernels against the oracle -*- C++
//-*-===//
//
// Every hfq.linear kernel convert-hfq-to-cpu generates, against the
// reference lowering of the same module: random weights in each supported
// layout, shapes with ragged edges (K not a multiple of the vector width,
// odd group counts, N not a multiple of the row tile, several activation
// rows), at 8 and 16 lanes. The kernels reassociate the float32 sum, so
// outputs agree to a tolerance of 1e-5 of the largest |output| (a wrong
// index or decode is off by O(1) of it); each case first checks that the
// pass did generate a kernel (no hfq.linear left), so a fallback to the
// reference cannot pass for a kernel.
//
//===----------------------------------------------------------------------===//

#include "TestJit.h"

#include "hfq/Conversion/Passes.h"

#include "mlir/AsmParser/AsmParser.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <random>

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::testing;

namespace {

struct KernelCase {
  const char *name;
  /// Encoding text, or empty for a float32 weight.
  const char *encoding;
  int64_t rows, n, k;
  bool bias = false;
};

/// A random constant of a part type: any byte for packed codes and zeros,
/// codes in range for i32 zeros, positive floats for scales and zeros.
std::string randomConstant(RankedTensorType type, std::mt19937 &rng,
                           int64_t maxCode) {
  // A rank-1 part (a codebook's absmax, its offset) as one row.
  const bool flat = type.getRank() == 1;
  int64_t rows = flat ? 1 : type.getShape()[0];
  int64_t cols = type.getShape()[flat ? 0 : 1];
  Type elem = type.getElementType();
  std::string body;
  if (elem.isInteger(8)) {
    std::vector<int> v(rows * cols);
    for (int &x : v)
      x = int(rng() % 256) - 128; // any byte: codes of every value
    body = dense(v, rows, cols);
  } else if (elem.isInteger(32)) {
    std::vector<int> v(rows * cols);
    for (int &x : v)
      x = int(rng() % uint32_t(maxCode + 1));
    body = dense(v, rows, cols);
  } else {
    std::uniform_real_distribution<float> scale(0.01f, 0.1f);
    std::vector<float> v(rows * cols);
    for (float &x : v)
      x = scale(rng);
    body = dense(v, rows, cols);
  }
  if (flat) // dense<[[...]]> -> dense<[...]>
    body = "dense<" + body.substr(7, body.size() - 9) + ">";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << body << " : " << type;
  return s;
}

/// @f() -> tensor<rows x n>: hfq.linear of constant x and weight.
std::string moduleText(const KernelCase &c, MLIRContext &ctx) {
  std::mt19937 rng(uint32_t(c.n * 131 + c.k * 7 + c.rows));
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::vector<float> x(c.rows * c.k), w(c.n * c.k), b(c.n);
  for (float &v : x)
    v = uni(rng);
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "func.func @f() -> tensor<" << c.rows << "x" << c.n << "xf32> {\n";
  os << "  %x = arith.constant " << dense(x, c.rows, c.k) << " : tensor<"
     << c.rows << "x" << c.k << "xf32>\n";
  std::string wType;
  if (!*c.encoding) {
    for (float &v : w)
      v = uni(rng);
    wType = llvm::formatv("tensor<{0}x{1}xf32>", c.n, c.k).str();
    os << "  %w = arith.constant " << dense(w, c.n, c.k) << " : " << wType
       << "\n";
  } else {
    wType =
        llvm::formatv("!hfq.qtensor<{0}x{1}xf32, {2}>", c.n, c.k, c.encoding)
            .str();
    auto qtype = cast<QTensorType>(parseType(wType, &ctx));
    auto affine = dyn_cast<AffineEncodingAttr>(qtype.getEncoding());
    int64_t maxCode = affine ? affine.getMaxCode() : 255;
    SmallVector<RankedTensorType> parts = qtype.getPartTypes();
    std::string names, types;
    for (size_t i = 0; i < parts.size(); ++i) {
      os << "  %p" << i << " = arith.constant "
         << randomConstant(parts[i], rng, maxCode) << "\n";
      std::string t;
      llvm::raw_string_ostream ts(t);
      ts << parts[i];
      names += (i ? ", %p" : "%p") + std::to_string(i);
      types += (i ? ", " : "") + t;
    }
    os << "  %w = hfq.assemble " << names << " : " << types << " -> " << wType
       << "\n";
  }
  std::string xType = llvm::formatv("tensor<{0}x{1}xf32>", c.rows, c.k).str();
  std::string yType = llvm::formatv("tensor<{0}x{1}xf32>", c.rows, c.n).str();
  if (c.bias) {
    for (float &v : b)
      v = uni(rng);
    os << "  %b = arith.constant dense<[";
    for (int64_t i = 0; i < c.n; ++i)
      os << (i ? ", " : "") << floatText(b[i]);
    os << "]> : tensor<" << c.n << "xf32>\n";
    os << "  %y = hfq.linear %x, %w, %b : " << xType << ", " << wType
       << ", tensor<" << c.n << "xf32> -> " << yType << "\n";
  } else {
    os << "  %y = hfq.linear %x, %w : " << xType << ", " << wType << " -> "
       << yType << "\n";
  }
  os << "  return %y : " << yType << "\n}\n";
  return out;
}

/// Runs convert-hfq-to-cpu with `options` on `module`; the number of
/// hfq.linear ops it left (-1 when the pass failed).
int linearsLeft(ModuleOp module, const ConvertHFQToCPUOptions &options) {
  PassManager pm(module.getContext());
  pm.addPass(createConvertHFQToCPU(options));
  if (failed(pm.run(module)))
    return -1;
  int linears = 0;
  module.walk([&](LinearOp) { ++linears; });
  return linears;
}

/// A context with every dialect hfq's pipelines use.
void loadDialects(MLIRContext &ctx) {
  DialectRegistry registry;
  registerAllDialects(registry);
  ctx.appendDialectRegistry(registry);
  ctx.loadAllAvailableDialects();
}

class CPUKernels
    : public ::testing::TestWithParam<std::tuple<KernelCase, unsigned>> {};

TEST_P(CPUKernels, MatchReferenceLowering) {
  const auto &[c, lanes] = GetParam();
  MLIRContext ctx;
  loadDialects(ctx);
  const std::string source = moduleText(c, ctx);

  // The pass generates a kernel for this case (no reference fallback).
  {
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &ctx);
    ASSERT_TRUE(module) << source;
    ConvertHFQToCPUOptions options;
    options.lanes = lanes;
    ASSERT_EQ(linearsLeft(*module, options), 0)
        << "convert-hfq-to-cpu left the linear of " << c.name;
  }

  JITOptions reference;
  reference.reference = true;
  Jit oracle(reference);
  ASSERT_TRUE(oracle.compile(source));
  std::vector<float> want = oracle.call2d<float>("f");

  JITOptions kernels;
  kernels.lanes = lanes;
  Jit fast(kernels);
  ASSERT_TRUE(fast.compile(source));
  std::vector<float> got = fast.call2d<float>("f");

  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(int64_t(want.size()), c.rows * c.n);
  float maxWant = 0;
  for (float v : want)
    maxWant = std::max(maxWant, std::fabs(v));
  ASSERT_GT(maxWant, 0.0f);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-5f * maxWant)
        << c.name << ": output " << i / c.n << ", " << i % c.n;
}

const char *const kG32 =
    "#hfq.affine<bits = 4, granularity = group, group_size = 32, "
    "zero_point = integer, scale_type = f16, packed_zeros = true>";

INSTANTIATE_TEST_SUITE_P(
    Encodings, CPUKernels,
    ::testing::Combine(
        ::testing::Values(
            KernelCase{"f32", "", 3, 12, 64},
            // K = 36: a tail of 4 (8 lanes) or 4 of 16 lanes; N = 7: tiles
            // of one row.
            KernelCase{"f32_ragged", "", 2, 7, 36, true},
            // What hfq quantize writes: 3 groups (odd), N = 6 (tiles of 2).
            KernelCase{"int4_g32_packed_zeros", kG32, 3, 6, 96},
            KernelCase{"int4_g32_bias", kG32, 1, 8, 64, true},
            KernelCase{"int4_g32_i32_zeros",
                       "#hfq.affine<bits = 4, granularity = group, "
                       "group_size = 32, zero_point = integer>",
                       2, 4, 160},
            KernelCase{"int4_g32_sym_bf16",
                       "#hfq.affine<bits = 4, granularity = group, "
                       "group_size = 32, zero_point = symmetric, "
                       "scale_type = bf16>",
                       2, 5, 64},
            KernelCase{"int4_gptq_v1_zeros",
                       "#hfq.affine<bits = 4, granularity = group, "
                       "group_size = 32, zero_point = integer_minus_one, "
                       "scale_type = f16, packed_zeros = true>",
                       1, 8, 128},
            KernelCase{"int4_float_zero_hqq",
                       "#hfq.affine<bits = 4, granularity = group, "
                       "group_size = 64, zero_point = float, "
                       "scale_type = f16>",
                       2, 4, 192},
            KernelCase{"int4_msb_first",
                       "#hfq.affine<bits = 4, granularity = group, "
                       "group_size = 32, zero_point = integer, "
                       "order = msb_first>",
                       1, 4, 64},
            // Channel granularity: one group per row, K ragged.
            KernelCase{"int4_channel_ragged",
                       "#hfq.affine<bits = 4, granularity = channel, "
                       "zero_point = symmetric, scale_type = f16>",
                       3, 6, 40},
            KernelCase{"int8_channel_sym",
                       "#hfq.affine<bits = 8, granularity = channel, "
                       "zero_point = symmetric, scale_type = f16>",
                       2, 8, 72},
            KernelCase{"int8_g32",
                       "#hfq.affine<bits = 8, granularity = group, "
                       "group_size = 32, zero_point = integer, "
                       "scale_type = f16, packed_zeros = true>",
                       2, 4, 96},
            KernelCase{"int2_g32",
                       "#hfq.affine<bits = 2, granularity = group, "
                       "group_size = 32, zero_point = integer, "
                       "scale_type = f16, packed_zeros = true>",
                       2, 6, 96},
            // Codebooks: NF4 (msb first, blocks of 64 = 2 per row), FP4
            // LSB first, dynamic8 with its offset.
            KernelCase{"nf4", "#hfq.codebook<kind = nf4, block_size = 64>", 3,
                       6, 128},
            KernelCase{"fp4_lsb",
                       "#hfq.codebook<kind = fp4, block_size = 32, "
                       "order = lsb_first>",
                       2, 4, 96},
            KernelCase{"dynamic8_offset",
                       "#hfq.codebook<kind = dynamic8, block_size = 32, "
                       "offset = true>",
                       1, 4, 64},
            KernelCase{"int2_msb_tensor",
                       "#hfq.affine<bits = 2, granularity = tensor, "
                       "zero_point = integer, order = msb_first>",
                       1, 4, 48}),
        ::testing::Values(8u, 16u)),
    [](const ::testing::TestParamInfo<std::tuple<KernelCase, unsigned>> &info) {
      return std::string(std::get<0>(info.param).name) + "_lanes" +
             std::to_string(std::get<1>(info.param));
    });

/// Cases the generator has no kernel for stay with the reference lowering
/// and say why.
TEST(CPUKernels, FallbacksAreReported) {
  MLIRContext ctx;
  loadDialects(ctx);
  const char *source = R"(
func.func @f(%x: tensor<2x64xf32>, %c: tensor<4x32xi8>, %s: tensor<4x2xf32>, %z: tensor<4x2xi32>, %g: tensor<64xi32>) -> tensor<2x4xf32> {
  %w = hfq.assemble %c, %s, %z, %g : tensor<4x32xi8>, tensor<4x2xf32>, tensor<4x2xi32>, tensor<64xi32> -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, act_order = true>>
  %y = hfq.linear %x, %w : tensor<2x64xf32>, !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer, act_order = true>> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
})";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &ctx);
  ASSERT_TRUE(module);
  std::string remarks;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &diag) {
    remarks += diag.str() + "\n";
    return success();
  });
  ConvertHFQToCPUOptions options;
  options.report = true;
  EXPECT_EQ(linearsLeft(*module, options), 1);
  EXPECT_NE(remarks.find("left to the reference lowering: act_order"),
            std::string::npos)
      << remarks;
}

} // namespace

//===- Affine.h - integer (affine) quantization of weight matrices -*- C++ -*-===//
//
// Round-to-nearest quantization of a row-major [rows, cols] weight matrix
// into b-bit unsigned codes with per-tensor, per-channel or group-wise scales
// and zero points, and the matching dequantization. The rules are those the
// `hfq.quantize` op documents (GPTQ's reference quantizer), so this library
// is the independent oracle the IR lowering is tested against.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_NUMERICS_AFFINE_H
#define HFQ_NUMERICS_AFFINE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace mlir::hfq::numerics {

/// The precision scales (and float zero points) are stored in.
enum class ScaleType { F32, F16, BF16 };

/// The type's name as options and diagnostics spell it (f32, f16, bf16).
inline llvm::StringRef stringify(ScaleType type) {
  return type == ScaleType::F16    ? "f16"
         : type == ScaleType::BF16 ? "bf16"
                                   : "f32";
}

/// `x` rounded (to nearest, ties to even) to `type` and back. A positive
/// value below the type's smallest subnormal becomes that subnormal, so a
/// scale never rounds to zero; a value beyond its range becomes infinite.
float roundToScaleType(float x, ScaleType type);

/// The little-endian bytes of `values` stored as `type` (rounded as
/// roundToScaleType does).
std::vector<char> scaleBytes(llvm::ArrayRef<float> values, ScaleType type);

/// How an affine scheme groups and offsets a [rows, cols] matrix. Groups run
/// along the columns (axis 1, the input dimension of an HF linear weight).
struct AffineScheme {
  enum class Granularity { Tensor, Channel, Group };
  unsigned bits = 4;
  Granularity granularity = Granularity::Group;
  /// Columns per group when granularity == Group.
  int64_t groupSize = 128;
  /// Symmetric: implicit zero 2^(bits-1), scale 2 max|w| / (2^bits - 1).
  bool symmetric = false;
  /// Asymmetric only: keep z = -lo / s unrounded (float zero points).
  bool floatZero = false;
  /// The precision scales (and float zeros) are stored in. Quantizers round
  /// every scale to it before computing the zero point and the codes, so
  /// dequantizing with the stored scale is what the codes were chosen for;
  /// integer zero points are then clamped to [0, 2^bits - 1]. A scale that
  /// does not fit the type (weights beyond ~4.9e5 at 4 bits for f16) is an
  /// error naming the group.
  ScaleType scaleType = ScaleType::F32;
  /// GPTQ's optional MSE range search (Quantizer.find_params, mse=True):
  /// for p = 1, 1 - 1/grid, ..., (maxShrink * grid steps) the group's range
  /// [lo, hi] shrinks to [p lo, p hi]; the scale and zero of the p with the
  /// smallest sum |dequant(quant(w)) - w|^norm over the group are kept.
  struct MSEClip {
    bool enabled = false;
    int grid = 100;
    float maxShrink = 0.8f;
    float norm = 2.4f;
  } clip;

  int64_t numGroups(int64_t cols) const;
  /// Checks bits and group size against a matrix of `cols` columns.
  llvm::Error validate(int64_t cols) const;
};

/// Codes (one per element, row-major) with one scale and zero per
/// (row, group); a per-tensor scheme has one of each.
struct AffineQuantized {
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> codes;
  std::vector<float> scales;
  /// Integer zero points (2^(bits-1) for symmetric schemes).
  std::vector<int32_t> zeros;
  /// Float zero points instead, when the scheme has floatZero (HQQ).
  std::vector<float> floatZeros;
};

/// Round-to-nearest quantization (round half to even). Fails on non-finite
/// weights, naming the first offending element.
llvm::Expected<AffineQuantized> quantizeRTN(llvm::ArrayRef<float> weights,
                                            int64_t rows, int64_t cols,
                                            const AffineScheme &scheme);

/// HQQ's half-quadratic solver (Badri & Shaji 2023; the reference's
/// optimize_weights_proximal_legacy): per group, inverse scale
/// S = (2^bits - 1) / (max - min) (1 when max - min <= 1e-4, at most 2e4)
/// and zero z = -min S (rounded when roundZero); then up to `iters` rounds of
///   Wq = clamp(round(W S + z)), Wr = (Wq - z) / S,
///   We = shrink_lp(W - Wr, beta), z = mean_group(Wq - (W - We) S),
///   beta *= kappa,
/// stopping after the first round whose mean |W - Wr| over the whole matrix
/// does not improve (that round's zero update is kept, as in the reference).
/// shrink_lp(x) = sign(x) relu(|x| - |x|^(p-1) / beta) (with 1e-8 inside the
/// power; soft thresholding when p = 1). Only the zero point is optimized;
/// the scale stays the min-max one. Returns codes with s = 1 / S and float
/// zeros; the scheme must be asymmetric with floatZero set.
struct HQQOptions {
  float lpNorm = 0.7f;
  float beta = 10.0f;
  float kappa = 1.01f;
  int iters = 20;
  bool roundZero = false;
};
llvm::Expected<AffineQuantized> quantizeHQQ(llvm::ArrayRef<float> weights,
                                            int64_t rows, int64_t cols,
                                            const AffineScheme &scheme,
                                            const HQQOptions &options);

/// LLM.int8()'s vector-wise weight quantization (bitsandbytes'
/// int8_vectorwise_quant): per row absmax a, int8 code round(w * (127 / a)),
/// stored as code + 128 with scale a / 127 (a zero row gets scale 0). The
/// result uses the symmetric 8-bit per-channel scheme.
llvm::Expected<AffineQuantized> quantizeInt8Rowwise(llvm::ArrayRef<float> weights,
                                                    int64_t rows, int64_t cols);

/// (q - z) * s for every element.
std::vector<float> dequantize(const AffineQuantized &q,
                              const AffineScheme &scheme);

/// Narrow float formats, of codes (E2M1, E4M3, E5M2: the OCP FP4/FP8
/// element types, MLIR's f4E2M1FN, f8E4M3FN, f8E5M2) and of scales (E4M3,
/// and E8M0: MLIR's f8E8M0FNU, a bare power-of-two exponent).
enum class MiniFloat { E2M1, E4M3, E5M2, E8M0 };

/// MLIR's name of the type (f4E2M1FN, f8E4M3FN, f8E5M2, f8E8M0FNU).
llvm::StringRef stringify(MiniFloat type);
unsigned bitWidth(MiniFloat type);
/// The largest finite value (6, 448, 57344, 2^127).
float maxFinite(MiniFloat type);
/// The value encoded by `code`'s low bitWidth bits (NaN for NaN patterns).
float decodeMiniFloat(uint8_t code, MiniFloat type);
/// Finite `x` rounded to nearest (ties to even) in `type`, saturated to
/// +-maxFinite, as a bit pattern. Not for E8M0, which has no zero.
uint8_t encodeMiniFloat(float x, MiniFloat type);

/// Float codes with one scale per group: w = value(q) * s, no zero point.
/// Groups as in AffineScheme (along the columns). The scale of a group with
/// absolute maximum a:
/// - Float: a / maxFinite(code), rounded to `scaleType` (as AffineScheme's
///   scales: a positive scale never rounds to zero; FP8 per channel);
/// - E8M0: the OCP MX rule, 2^(floor(log2 a) - emax) with emax the exponent
///   of maxFinite(code), clamped to E8M0's [2^-127, 2^127] (MXFP4, MXFP8);
/// - E4M3: NVFP4's two levels, s = value(c) * t with E4M3 codes
///   c = round(a / maxFinite(code) / t) under one f32 tensor scale
///   t = max over groups of a / maxFinite(code), divided by 448 (1 for an
///   all-zero weight); a positive scale below E4M3's smallest subnormal
///   becomes it.
/// Codes are round(w / s) in the code type, saturated; an all-zero group
/// gets scale 0 (E8M0: 2^-127) and zero codes.
struct FloatCodeScheme {
  enum class Scales { Float, E8M0, E4M3 };
  MiniFloat code = MiniFloat::E4M3;
  AffineScheme::Granularity granularity = AffineScheme::Granularity::Channel;
  int64_t groupSize = 0;
  Scales scales = Scales::Float;
  ScaleType scaleType = ScaleType::F16;

  /// The same grouping as an AffineScheme (for shapes and slots).
  AffineScheme grouping() const;
  llvm::Error validate(int64_t cols) const;
};

struct FloatCodeQuantized {
  int64_t rows = 0, cols = 0;
  /// Bit patterns of the codes, one per element, row-major.
  std::vector<uint8_t> codes;
  /// The scale each (row, group) dequantizes with (one per tensor).
  std::vector<float> scales;
  /// E8M0 / E4M3 scales: their bit patterns, one per scale.
  std::vector<uint8_t> scaleCodes;
  /// E4M3 scales: the f32 tensor scale t.
  float tensorScale = 1.0f;
};

llvm::Expected<FloatCodeQuantized>
quantizeFloatCodes(llvm::ArrayRef<float> weights, int64_t rows, int64_t cols,
                   const FloatCodeScheme &scheme);

/// value(q) * s for every element.
std::vector<float> dequantize(const FloatCodeQuantized &q,
                              const FloatCodeScheme &scheme);

} // namespace mlir::hfq::numerics

#endif // HFQ_NUMERICS_AFFINE_H

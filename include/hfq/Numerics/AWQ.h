//===- AWQ.h - activation-aware weight quantization -------------*- C++ -*-===//
//
// AWQ (Lin et al., 2024) as the reference implementation (mit-han-lab
// llm-awq, auto_scale.py / auto_clip.py) defines its two searches, on
// row-major weights and float calibration activations:
//
// Scale search, per group of linears reading one input x (q/k/v, gate/up,
// o after v, down after up):
//   x̄_c = mean_t |x_tc|;  for α = i / grid, i = 0 .. grid-1:
//     s_c = max(x̄_c^α, 1e-4),  s ← s / sqrt(max s · min s)
//   or, with duo scaling (AutoAWQ's and llm-compressor's default),
//     s_c = max(x̄_c^α / (w̄_c^(1-α) + 1e-4), 1e-4), where w̄_c is the mean
//     over every row of the group's weights of |w_rc| / (max |w| of the
//     quantization group holding w_rc + 1e-6)
//     every W of the group → Q(W diag(s)) diag(s)⁻¹
//     loss(α) = mean squared difference of the inspected module's output
//               (attention, MLP, or the linear itself) from the float one
//   the first α with the smallest finite loss wins.
//
// Clip search, per linear (the reference skips q/k), on the scaled weight
// and the scaled inputs (at most `clipTokens` tokens, every
// (N / clipTokens)-th): for each (row, group) and shrink
// p = 1 - i / grid, i = 0 .. maxShrink·grid - 1, the weight clamped to
// ±p·max|w| is quantized and the group's partial output Σ_c x_tc q_c is
// compared with the float one; the clamp with the smallest mean squared
// error over tokens is kept.
//
// Q is numerics::quantizeRTN with the caller's scheme. (The reference's
// pseudo-quantizer takes min/max without forcing zero into the range; the
// two agree on every group whose range straddles zero, and hfq's rule is
// the one `#hfq.affine` stores exactly.)
//
// The modules are evaluated by numerics/Decoder.h.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_NUMERICS_AWQ_H
#define HFQ_NUMERICS_AWQ_H

#include "hfq/Numerics/Affine.h"
#include "hfq/Numerics/Decoder.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir::hfq::numerics {

struct AWQScaleResult {
  /// The grid index and ratio chosen, and the per-channel scales s.
  int bestIndex = -1;
  double alpha = 0;
  std::vector<float> scales;
  /// loss(α) for every grid point.
  std::vector<double> losses;
};

/// Evaluates the inspected module with the group's weights replaced by the
/// candidates (in the order given to searchAWQScale) and returns its loss.
using AWQLossFn =
    llvm::function_ref<double(llvm::ArrayRef<std::vector<float>> weights)>;

/// w̄ [cols] of duo scaling: per input channel, the mean over all rows of
/// `weights` of |w| relative to the max |w| of its quantization group in
/// `scheme` (per channel: the row; per tensor: the whole weight).
std::vector<float>
awqWeightMean(llvm::ArrayRef<const std::vector<float> *> weights,
              llvm::ArrayRef<int64_t> rows, int64_t cols,
              const AffineScheme &scheme);

/// The scale search over `grid` ratios for the linears `weights` (each
/// [rows_i, cols] with rows given in `rows`) whose input has per-channel
/// mean magnitude `absMean` [cols]; `duoScaling` divides by w̄^(1-α).
/// Fails when no ratio gives a finite loss.
llvm::Expected<AWQScaleResult>
searchAWQScale(llvm::ArrayRef<float> absMean,
               llvm::ArrayRef<const std::vector<float> *> weights,
               llvm::ArrayRef<int64_t> rows, const AffineScheme &scheme,
               int grid, AWQLossFn loss, bool duoScaling = false);

/// Q(W diag(s)) diag(s)⁻¹ for a [rows, cols] weight.
llvm::Expected<std::vector<float>>
fakeQuantizeScaled(llvm::ArrayRef<float> weight, int64_t rows, int64_t cols,
                   llvm::ArrayRef<float> scales, const AffineScheme &scheme);

struct AWQClipOptions {
  double maxShrink = 0.5;
  int grid = 20;
  int64_t clipTokens = 512;
};

/// The clip search; returns the per-(row, group) clamp max|w| (groups as
/// `scheme`; one per row for per-channel schemes). `x` is [n, cols].
llvm::Expected<std::vector<float>>
searchAWQClip(llvm::ArrayRef<float> weight, int64_t rows, int64_t cols,
              llvm::ArrayRef<float> x, int64_t n, const AffineScheme &scheme,
              const AWQClipOptions &options);

/// Clamps every weight to ±maxima of its (row, group).
void applyAWQClip(std::vector<float> &weight, int64_t rows, int64_t cols,
                  llvm::ArrayRef<float> maxima, const AffineScheme &scheme);

} // namespace mlir::hfq::numerics

#endif // HFQ_NUMERICS_AWQ_H

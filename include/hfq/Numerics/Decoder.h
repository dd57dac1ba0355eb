//===- Decoder.h - float evaluators of the Llama decoder block --*- C++ -*-===//
//
// The Llama block's float math as HF computes it (LlamaRMSNorm;
// LlamaAttention with rotate-half RoPE, GQA, causal and optional sliding
// window masks; the SwiGLU MLP), on row-major float32 activations [tokens,
// features] with SGEMM for the products, over several sequences laid end to
// end. AWQ's searches use them for the candidate blocks they evaluate
// outside the compiled model, checked against the activations the
// compiled model recorded.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_NUMERICS_DECODER_H
#define HFQ_NUMERICS_DECODER_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace mlir::hfq::numerics {

/// A linear's float weight [out, in] and optional bias [out].
struct DenseLinear {
  std::vector<float> weight;
  std::vector<float> bias;
  int64_t out = 0, in = 0;
};

/// y [n, out] = x [n, in] Wᵀ + b.
std::vector<float> linearForward(const DenseLinear &l, llvm::ArrayRef<float> x,
                                 int64_t n);

struct AttentionShape {
  int64_t heads = 0, kvHeads = 0, headDim = 0;
  /// Inverse frequency of each rotary pair (headDim / 2 values).
  std::vector<float> invFreq;
  std::optional<int64_t> slidingWindow;
};

/// attention(q_proj x, k_proj x, v_proj x) [n, heads * headDim] (o_proj's
/// input) over consecutive sequences of the given lengths (positions
/// restart at 0 in each).
std::vector<float> attentionContext(const AttentionShape &shape,
                                    const DenseLinear &q, const DenseLinear &k,
                                    const DenseLinear &v,
                                    llvm::ArrayRef<float> x,
                                    llvm::ArrayRef<int64_t> seqLens);

/// o_proj(attention(q_proj x, k_proj x, v_proj x)) over consecutive
/// sequences of the given lengths (positions restart at 0 in each).
std::vector<float> attentionForward(const AttentionShape &shape,
                                    const DenseLinear &q, const DenseLinear &k,
                                    const DenseLinear &v, const DenseLinear &o,
                                    llvm::ArrayRef<float> x,
                                    llvm::ArrayRef<int64_t> seqLens);

/// silu(gate_proj x) * up_proj x (down_proj's input).
std::vector<float> mlpIntermediate(const DenseLinear &gate,
                                   const DenseLinear &up,
                                   llvm::ArrayRef<float> x, int64_t n);

/// down_proj(silu(gate_proj x) * up_proj x).
std::vector<float> mlpForward(const DenseLinear &gate, const DenseLinear &up,
                              const DenseLinear &down, llvm::ArrayRef<float> x,
                              int64_t n);

/// Mean squared difference.
double meanSquaredError(llvm::ArrayRef<float> a, llvm::ArrayRef<float> b);

/// ‖a - reference‖ / ‖reference‖ (the absolute norm when reference is 0).
double relativeRMSError(llvm::ArrayRef<float> a,
                        llvm::ArrayRef<float> reference);
double relativeRMSError(llvm::ArrayRef<double> a,
                        llvm::ArrayRef<double> reference);

/// LlamaRMSNorm in place on x [n, d]: x · rsqrt(mean(x²) + eps) · weight.
void rmsNorm(std::vector<float> &x, int64_t n, llvm::ArrayRef<float> weight,
             double eps);

/// The GPTQ Hessian H = 2 XᵀX / n (float64, [cols, cols]) of x [n, cols].
std::vector<double> inputHessian(llvm::ArrayRef<float> x, int64_t n,
                                 int64_t cols);

} // namespace mlir::hfq::numerics

#endif // HFQ_NUMERICS_DECODER_H

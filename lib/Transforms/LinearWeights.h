//===- LinearWeights.h - rewriting linear weights into parts ----*- C++ -*-===//
//
// What every weight-quantization pass shares: finding the float weight of a
// selected hfq.linear (a constant, or a checkpoint tensor named by
// hfq.weight), reading it, and replacing it with an hfq.assemble of the
// quantized parts (dense constants, or dense_resource blobs for checkpoint
// weights so the IR stays small to print), then dropping the dead floats.
// Internal to lib/Transforms.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_LIB_TRANSFORMS_LINEARWEIGHTS_H
#define HFQ_LIB_TRANSFORMS_LINEARWEIGHTS_H

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "hfq/IO/Checkpoint.h"
#include "hfq/IO/Safetensors.h"
#include "hfq/Numerics/Affine.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Regex.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir::hfq::detail {

/// One storage part: its type and little-endian bytes.
struct Part {
  RankedTensorType type;
  std::vector<char> bytes;
};

/// A quantized weight: its encoding, its parts in the encoding's order, the
/// dequantized values (for the error report) and, for LLM.int8, the
/// threshold to put on the linear. Without an encoding the single part is
/// a new float weight (pruned, still dense).
struct Quantized {
  Attribute encoding;
  std::vector<Part> parts;
  std::vector<float> dequantized;
  std::optional<double> outlierThreshold;
};

template <typename T>
std::vector<char> bytesOf(llvm::ArrayRef<T> values) {
  std::vector<char> out(values.size() * sizeof(T));
  if (!values.empty())
    std::memcpy(out.data(), values.data(), out.size());
  return out;
}

/// [rows, cols] -> [cols, rows].
template <typename T>
std::vector<T> transposed(llvm::ArrayRef<T> m, int64_t rows, int64_t cols) {
  std::vector<T> out(m.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[c * rows + r] = m[r * cols + c];
  return out;
}

/// Codes packed into 8-bit containers, as an encoding's first part.
llvm::Expected<std::vector<char>> packedCodes(llvm::ArrayRef<uint8_t> codes,
                                              unsigned bits, bool msbFirst);

/// The parts of an affine encoding from a numerics result (scales/zeros
/// [rows, groups]; `gIdx` for act-order). With `transposeBack` the result
/// was computed on the transposed weight (groups along the output rows).
llvm::Expected<Quantized>
affineParts(AffineEncodingAttr enc, const numerics::AffineQuantized &q,
            const numerics::AffineScheme &scheme, bool transposeBack,
            llvm::ArrayRef<int32_t> gIdx = {},
            std::vector<float> dequantized = {});

/// Which linears a pass touches, by HF name (NameLoc): those matching an
/// include regex (all when there is none) and no exclude regex; names with
/// embed_tokens or lm_head only when an include pattern matches them.
class LinearSelection {
public:
  LogicalResult init(ModuleOp module, llvm::ArrayRef<std::string> include,
                     llvm::ArrayRef<std::string> exclude);
  bool selected(llvm::StringRef name) const;

private:
  std::vector<std::shared_ptr<llvm::Regex>> includes, excludes;
};

/// Whether `op` is the importer's f16/bf16 -> f32 widening of one tensor (a
/// linalg.generic whose body is a single arith.extf).
bool isFloatWidening(Operation *op);

/// The HF name a linear carries in its location ("" when none).
std::string linearName(LinearOp op);

/// Quantizes one weight: `values` is the [rows, cols] float weight.
using QuantizeWeightFn = llvm::function_ref<llvm::Expected<Quantized>(
    LinearOp op, llvm::ArrayRef<float> values, int64_t rows, int64_t cols)>;

/// Runs `quantize` on every selected linear with a float weight and rewrites
/// it; with `report`, one line per linear on stderr ("<verb> NAME ..."). Errors are emitted on
/// the linear; weights that are neither constants nor checkpoint tensors
/// are left in float with a warning.
LogicalResult rewriteLinearWeights(ModuleOp module,
                                   const LinearSelection &selection,
                                   llvm::StringRef method, bool report,
                                   QuantizeWeightFn quantize,
                                   llvm::StringRef verb = "quantized");

struct WeightSource;

/// Reads float tensors that are constants or checkpoint tensors (possibly
/// widened from f16/bf16): weights, biases, norm weights. The module's
/// checkpoint is opened once, on first need, so one reader should serve a
/// whole pass.
class FloatReader {
public:
  explicit FloatReader(ModuleOp module);
  ~FloatReader();
  llvm::Expected<std::vector<float>> read(Value value);
  /// The float weight of `op` ([out, in] row-major).
  llvm::Expected<std::vector<float>> read(LinearOp op) {
    return read(op.getWeight());
  }
  llvm::Expected<std::vector<float>> read(const WeightSource &source);

private:
  ModuleOp module;
  std::unique_ptr<io::Checkpoint> checkpoint;
};

/// Replaces every use of the float tensor `old` by an f32 constant holding
/// `values` (a dense_resource blob named `blobName`) and erases what became
/// dead behind `old`. With `tensorName` the constant carries
/// `hfq.tensor = tensorName`: the checkpoint tensor it stands for.
Value replaceWithFloatConstant(Value old, llvm::ArrayRef<float> values,
                               llvm::StringRef blobName,
                               llvm::StringRef tensorName = "");

/// H = 2 XᵀX / N of linear `name` from a statistics file written by
/// hfq calibrate (NAME.xtx F64 [in, in], NAME.tokens I64 [1]); errors say
/// when the file does not match the linear.
llvm::Expected<std::vector<double>> hessianOf(const io::SafetensorsFile &file,
                                              llvm::StringRef path,
                                              const std::string &name,
                                              int64_t cols);

} // namespace mlir::hfq::detail

#endif // HFQ_LIB_TRANSFORMS_LINEARWEIGHTS_H

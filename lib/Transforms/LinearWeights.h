//===- LinearWeights.h - rewriting linear weights into parts ----*- C++ -*-===//
//
// What every weight-quantization pass shares: finding the hfq.global behind
// a selected hfq.linear's weight, reading its float data (inline, or the
// checkpoint tensor of its #hfq.param through the scope bound on the
// dialect), and changing the global in place into the quantized tensor
// (type !hfq.qtensor, value its parts as dense_resource blobs, so the IR
// stays small to print). Internal to lib/Transforms.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_LIB_TRANSFORMS_LINEARWEIGHTS_H
#define HFQ_LIB_TRANSFORMS_LINEARWEIGHTS_H

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "hfq/Dialect/HFQ/IR/HFQWeights.h"
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
/// threshold to put on the linear.
struct Quantized {
  EncodingAttrInterface encoding;
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

/// Codes of rows of `cols` packed into 8-bit containers, as an encoding's
/// first part: one stream, or (LSB first) each row its own stream padded to
/// whole bytes when a row does not fill them (#hfq.affine's layout).
llvm::Expected<std::vector<char>> packedCodes(llvm::ArrayRef<uint8_t> codes,
                                              int64_t cols, unsigned bits,
                                              bool msbFirst);

/// The numerics scale type of a scale element type (f16, bf16, else f32).
numerics::ScaleType scaleTypeOf(Type type);

/// The `scale_type` an affine encoding of an f32 weight records for
/// `type` (none for f32, the weight's own type).
FloatType scaleStorageAttrType(MLIRContext *ctx, numerics::ScaleType type);

/// The parts of an affine encoding from a numerics result (scales/zeros
/// [rows, groups]; `gIdx` for act-order). With `transposeBack` the result
/// was computed on the transposed weight (groups along the output rows).
llvm::Expected<Quantized>
affineParts(AffineEncodingAttr enc, const numerics::AffineQuantized &q,
            const numerics::AffineScheme &scheme, bool transposeBack,
            llvm::ArrayRef<int32_t> gIdx = {},
            std::vector<float> dequantized = {});

/// Which linears a pass touches, by HF name (getLinearName): those matching an
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

/// Quantizes one weight: `values` is the [rows, cols] float weight.
using QuantizeWeightFn = llvm::function_ref<llvm::Expected<Quantized>(
    LinearOp op, llvm::ArrayRef<float> values, int64_t rows, int64_t cols)>;

/// Runs `quantize` on the weight global of every selected linear with a
/// float weight and rewrites the global; with `report`, one line per linear
/// on stderr ("<verb> NAME ..."). Errors are emitted on the linear; weights
/// that are not globals, or globals also read by other ops than linears,
/// are left in float with a warning.
LogicalResult rewriteLinearWeights(ModuleOp module,
                                   const LinearSelection &selection,
                                   llvm::StringRef method, bool report,
                                   QuantizeWeightFn quantize,
                                   llvm::StringRef verb = "quantized");

/// Reads float tensors as f32: globals (inline data, or the checkpoint
/// tensor of their #hfq.param, possibly f16/bf16) and float constants. Each
/// scope's checkpoint is opened once, on first need, so one reader should
/// serve a whole pass.
class FloatReader {
public:
  explicit FloatReader(ModuleOp module);
  ~FloatReader();
  llvm::Expected<std::vector<float>> read(GlobalOp global);
  /// A float constant, or a value loaded from a global (through the
  /// importer's widening).
  llvm::Expected<std::vector<float>> read(Value value);
  /// The float weight of `op` ([out, in] row-major).
  llvm::Expected<std::vector<float>> read(LinearOp op) {
    return read(op.getWeight());
  }

private:
  ModuleOp module;
  llvm::StringMap<std::unique_ptr<io::Checkpoint>> checkpoints;
};

/// Gives `global` the value `value` of type `type` (a float tensor or an
/// !hfq.qtensor) and makes each of its `loads` read the new type, dropping
/// the f16/bf16 widenings behind them. Without `loads`, every hfq.load of
/// the global (one walk of its symbol table).
void setGlobalValue(GlobalOp global, Type type, Attribute value,
                    std::optional<llvm::ArrayRef<LoadOp>> loads = std::nullopt);

/// Makes `global` an f32 tensor holding `values` (a dense_resource blob
/// named after the global).
void setGlobalFloats(GlobalOp global, llvm::ArrayRef<float> values);

} // namespace mlir::hfq::detail

#endif // HFQ_LIB_TRANSFORMS_LINEARWEIGHTS_H

//===- QuantizedModel.h - quantized model directories ----------*- C++ -*-===//
//
// The directory `hfq quantize` writes and every executor reads (format
// version 1):
//
//   config.json        the source config plus
//                      "quantization_config": {
//                        "quant_method": "hfq", "format_version": 1,
//                        "method": "rtn", ...settings...,
//                        "modules": { "<HF linear name>": {
//                            "encoding": "#hfq.affine<bits = 4, ...>",
//                            "outlier_threshold": 6.0 (LLM.int8 only) } } }
//   model.safetensors  the float tensors the model still reads, and for each
//                      quantized linear X its parts "X.weight.<part>" in the
//                      order and types the encoding names (codes U8 packed,
//                      scales/absmax F32, zeros I32 or F32, absmax codes U8)
//   tokenizer files    copied unchanged
//
// Encodings are spelled as hfq dialect attributes, so the directory states
// exactly how to dequantize every weight (see HFQAttrs.td).
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_IMPORT_QUANTIZEDMODEL_H
#define HFQ_IMPORT_QUANTIZEDMODEL_H

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "hfq/IO/Checkpoint.h"

#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <optional>
#include <string>

namespace mlir::hfq {

struct QuantizedLinear {
  EncodingAttrInterface encoding;
  std::optional<double> outlierThreshold;
};
/// Quantized linears by HF module name.
using QuantizedLinears = std::map<std::string, QuantizedLinear>;

/// The safetensors dtype a stored tensor of element type `type` is written
/// as (integer containers as U8/I32/I64; f32, f16, bf16 and the FP8 types
/// by name), or none for a type hfq does not store.
std::optional<io::DType> storageDType(Type type);

/// The quantized linears config.json declares (empty for a float model).
/// Errors name the module whose entry is malformed.
llvm::Expected<QuantizedLinears> readQuantizedLinears(MLIRContext &ctx,
                                                      llvm::StringRef modelDir);

struct QuantizedModelSummary {
  int64_t linears = 0;
  /// Weights of the quantized linears, and the bytes their parts take.
  int64_t quantizedWeights = 0;
  uint64_t quantizedBytes = 0;
  /// Linears with a sparse encoding (#hfq.bitmask, #hfq.sparse N:M), not
  /// counted above: their weights, zeros, and the bytes their parts take.
  int64_t sparseLinears = 0;
  int64_t sparseWeights = 0, sparseZeros = 0;
  uint64_t sparseBytes = 0;
  /// Linears whose float weight a pass rewrote (pruned, still dense), and
  /// how many of their weights are exactly zero.
  int64_t denseLinears = 0;
  int64_t denseWeights = 0, denseZeros = 0;
  /// Size of the written model.safetensors.
  uint64_t fileBytes = 0;
};

/// Writes the quantized model directory `outDir` for `module` (an imported
/// model after hfq-quantize-linears): every hfq.global is written, external
/// ones (#hfq.param of scope "model") copied from `source` under their key,
/// inline ones under their symbol; each quantized global NAME.weight becomes
/// a "modules" entry NAME with its parts NAME.weight.<part>. The directory
/// is built under a temporary name and renamed into place, so a failure
/// leaves nothing behind; `outDir` must not exist or be empty.
llvm::Expected<QuantizedModelSummary>
writeQuantizedModel(ModuleOp module, llvm::StringRef sourceDir,
                    const io::Checkpoint &source, llvm::StringRef outDir);

} // namespace mlir::hfq

#endif // HFQ_IMPORT_QUANTIZEDMODEL_H

//===- LlamaImporter.h - Llama-family checkpoints to MLIR -------*- C++ -*-===//
//
// Builds the IR of a Llama-family causal LM (llama, mistral, qwen2) from its
// config and checkpoint. Weights are `hfq.weight` references by checkpoint
// name; every projection is an `hfq.linear` whose location is its HF module
// name (e.g. "model.layers.3.mlp.down_proj"), so passes can select and
// report linears by name.
//
// Functions (S = max context, C = the KV cache type
// tensor<layers x kv_heads x S x head_dim x f32>):
//   @forward(tokens: tensor<?xi64>, pos: index, k: C, v: C)
//       -> (logits: tensor<?x vocab x f32>, C, C)
//     runs the tokens at positions pos.. pos+T-1, attending to the cache
//     entries 0 .. pos+T-1 (causal), and returns the updated caches;
//   @prefill(tokens) -> (logits, C, C)      forward at pos 0 on empty caches;
//   @decode(token: tensor<1xi64>, pos, k, v) -> (tensor<1 x vocab>, C, C).
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_IMPORT_LLAMAIMPORTER_H
#define HFQ_IMPORT_LLAMAIMPORTER_H

#include "hfq/IO/Checkpoint.h"
#include "hfq/IO/ModelConfig.h"
#include "hfq/Import/QuantizedModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::hfq {

struct ImportOptions {
  /// KV cache length; 0 uses max_position_embeddings.
  int64_t maxContext = 0;
  /// Recorded as the module attribute `hfq.checkpoint` when not empty, so
  /// executors can find the weights, config and tokenizer of an imported
  /// .mlir (hfq import stores the absolute model directory).
  std::string checkpointDir;
  /// Linears stored quantized (a directory written by `hfq quantize`):
  /// their weights become hfq.assemble of the parts' hfq.weight references.
  const QuantizedLinears *quantized = nullptr;
};

/// Checks every tensor the architecture needs against the checkpoint (name,
/// shape, float dtype) and builds the module. Errors name the tensor.
llvm::Expected<OwningOpRef<ModuleOp>>
importLlama(MLIRContext &ctx, const io::ModelConfig &config,
            const io::Checkpoint &checkpoint, const ImportOptions &options);

} // namespace mlir::hfq

#endif // HFQ_IMPORT_LLAMAIMPORTER_H

//===- LlamaImporter.h - Llama-family checkpoints to MLIR -------*- C++ -*-===//
//
// Builds the IR of a Llama-family causal LM (llama, mistral, qwen2) from its
// config and checkpoint. Every tensor of the model is an `hfq.global` named
// by its HF tensor name, whose value is the parameter `#hfq.param<"model",
// NAME>` (scope kModelScope, bound to the checkpoint directory by whoever
// runs the module; no path is stored in the IR). Every projection is an
// `hfq.linear` reading its weight through `hfq.load`, so a linear is known
// by its weight's symbol ("model.layers.3.mlp.down_proj.weight"); the LM
// head always reads `@lm_head.weight`, whose parameter is the embedding
// table when the embeddings are tied.
//
// Functions (S = max context, H = hidden size, C = the KV cache type
// tensor<layers x kv_heads x S x head_dim x f32>, Cl = one layer's
// tensor<kv_heads x S x head_dim x f32>):
//   @model.embed_tokens(tokens: tensor<?xi64>) -> tensor<?xHxf32>   private
//   @model.layers.N(h, pos: index, k: Cl, v: Cl) -> (h, Cl, Cl)      private
//     decoder layer N on the hidden states of the tokens at positions
//     pos .. pos+T-1, attending to its cache entries 0 .. pos+T-1 (causal);
//     it reads its own weights (hfq.load), so each layer is one function;
//   @head(h) -> logits: tensor<? x vocab x f32>                        private
//     the final norm and the LM head;
//   @forward(tokens, pos, k: C, v: C) -> (logits, C, C)
//     the composition: embedding, each layer on its slice of the caches,
//     head;
//   @prefill(tokens) -> (logits, C, C)      forward at pos 0 on empty caches;
//   @decode(token: tensor<1xi64>, pos, k, v) -> (tensor<1 x vocab>, C, C).
// The lowering pipeline inlines the private functions into @forward; a
// layer runner (hfq/Execution/LayerRunner.h) calls them one at a time.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_IMPORT_LLAMAIMPORTER_H
#define HFQ_IMPORT_LLAMAIMPORTER_H

#include "hfq/Dialect/HFQ/IR/HFQWeights.h"
#include "hfq/IO/Checkpoint.h"
#include "hfq/IO/ModelConfig.h"
#include "hfq/Import/QuantizedModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::hfq {

struct ImportOptions {
  /// KV cache length; 0 uses max_position_embeddings.
  int64_t maxContext = 0;
  /// Linears stored quantized (a directory written by `hfq quantize`):
  /// their weight globals are `!hfq.qtensor`s whose parameter names the
  /// parts `NAME.weight.<part>`.
  const QuantizedLinears *quantized = nullptr;
};

/// Checks every tensor the architecture needs against the checkpoint (name,
/// shape, float dtype) and builds the module. Errors name the tensor.
llvm::Expected<OwningOpRef<ModuleOp>>
importLlama(MLIRContext &ctx, const io::ModelConfig &config,
            const io::Checkpoint &checkpoint, const ImportOptions &options);

} // namespace mlir::hfq

#endif // HFQ_IMPORT_LLAMAIMPORTER_H

//===- DecoderLayers.h - a module's Llama layers as float data --*- C++ -*-===//
//
// What the passes that evaluate decoder layers outside the compiled model
// share (AWQ, coupled head pruning): the model config
// (config.json of the checkpoint bound to the parameter scope "model"), its
// linears by HF name and its float tensor globals by name (norm weights, the
// embedding table). Internal to lib/Transforms.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_LIB_TRANSFORMS_DECODERLAYERS_H
#define HFQ_LIB_TRANSFORMS_DECODERLAYERS_H

#include "LinearWeights.h"

#include "hfq/IO/ModelConfig.h"
#include "hfq/Numerics/Decoder.h"

#include "llvm/ADT/StringMap.h"

namespace mlir::hfq::detail {

/// How closely the C++ decoder layer must reproduce what the compiled model
/// recorded (relative RMS difference of activations or Hessians; float32
/// with different summation orders agrees to ~1e-6).
constexpr double kDecoderCheckTolerance = 1e-4;

struct DecoderLayers {
  io::ModelConfig config;
  numerics::AttentionShape attention;
  llvm::StringMap<LinearOp> linears;
  /// Tensor name -> its global.
  llvm::StringMap<GlobalOp> tensors;

  /// Reads the config of the checkpoint bound to scope "model" and indexes
  /// the module; `pass` names the caller in errors.
  static llvm::Expected<DecoderLayers> of(ModuleOp module,
                                          llvm::StringRef pass);

  /// The float weight (and bias) of linear `name`.
  llvm::Expected<numerics::DenseLinear> linear(FloatReader &reader,
                                               llvm::StringRef name) const;
  /// The float tensor `name`.
  llvm::Expected<std::vector<float>> tensor(FloatReader &reader,
                                            llvm::StringRef name) const;
  /// Makes the module read `values` for tensor `name` (setGlobalFloats).
  llvm::Error replaceTensor(llvm::StringRef name, llvm::ArrayRef<float> values);
};

} // namespace mlir::hfq::detail

#endif // HFQ_LIB_TRANSFORMS_DECODERLAYERS_H

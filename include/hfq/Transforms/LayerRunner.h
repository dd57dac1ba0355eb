//===- LayerRunner.h - the imported model, one layer at a time --*- C++ -*-===//
//
// The passes that calibrate layer by layer (sequential GPTQ, SpQR and
// SparseGPT; AWQ for its linears' inputs) run the imported module's own
// functions — @model.embed_tokens, @model.layers.N,
// @head (hfq/Import/LlamaImporter.h) — one at a time on host buffers,
// instead of a C++ copy of the architecture. A LayerRunner is that:
// the functions compiled once, every float linear weight held in a buffer
// the caller may overwrite between calls (to run a layer with its already
// quantized linears), and each distinct linear input reported to a
// recorder.
//
// The interface lives here so passes can use it; its implementation is the
// JIT's (hfq/Execution/JIT.h: registerJITLayerRunner), registered by the
// tools at startup. This library prepares the module it compiles
// (extractLayerModule).
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_TRANSFORMS_LAYERRUNNER_H
#define HFQ_TRANSFORMS_LAYERRUNNER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlir::hfq {

/// Receives the input of the linears of calibration group `group`: `rows`
/// x `cols` floats, rows `stride` apart (hfq-instrument-linears).
using CalibrationRecorder =
    std::function<void(int64_t group, const float *data, int64_t rows,
                       int64_t cols, int64_t stride)>;

/// The parameter scope the float linear weights of a layer module read:
/// key = the linear's weight symbol, data = the runner's buffer.
inline constexpr llvm::StringLiteral kLayerRunnerScope = "hfq.layer-runner";

/// What a layer runner compiles, cut from an imported module.
struct LayerModule {
  /// @model.embed_tokens, @model.layers.0..N-1 and @head, public and
  /// instrumented (hfq-instrument-linears); the other functions removed.
  /// Each float linear weight global reads #hfq.param<kLayerRunnerScope,
  /// its symbol> as f32.
  OwningOpRef<ModuleOp> module;
  int64_t numLayers = 0;
  /// The linears (HF names) of each calibration group.
  std::vector<std::vector<std::string>> groups;
  /// The groups read in layer N, in program order; and in the head.
  std::vector<std::vector<int64_t>> layerGroups;
  std::vector<int64_t> headGroups;
  /// The f32 initial value of each runner-scope weight, by symbol.
  llvm::StringMap<std::vector<float>> weights;
};

/// Clones `module` (imported by hfq import, float or partly quantized;
/// weights readable through the dialect's bound scopes) into a LayerModule.
/// Errors when the module has no layer functions.
llvm::Expected<LayerModule> extractLayerModule(ModuleOp module);

class LayerRunner {
public:
  virtual ~LayerRunner();

  virtual int64_t numLayers() const = 0;
  /// The linears of calibration group `g`, and the groups of layer N / of
  /// the head in program order (see LayerModule).
  virtual llvm::ArrayRef<std::string> groupLinears(int64_t g) const = 0;
  virtual llvm::ArrayRef<int64_t> layerGroups(int64_t layer) const = 0;
  virtual llvm::ArrayRef<int64_t> headGroups() const = 0;

  /// Hidden states [tokens, hidden] of `tokens` (row-major).
  virtual llvm::Expected<std::vector<float>>
  embed(llvm::ArrayRef<int64_t> tokens) = 0;
  /// Runs decoder layer `layer` in place on `h` [tokens, hidden]: the
  /// tokens are sequences of `seqLens` laid end to end, each run from
  /// position 0 on empty caches. `recorder`, when set, receives the
  /// linear inputs.
  virtual llvm::Error layer(int64_t layer, llvm::MutableArrayRef<float> h,
                            llvm::ArrayRef<int64_t> seqLens,
                            const CalibrationRecorder &recorder) = 0;
  /// Runs the head (final norm, LM head) on `h` for its recorder only.
  virtual llvm::Error head(llvm::ArrayRef<float> h,
                           llvm::ArrayRef<int64_t> seqLens,
                           const CalibrationRecorder &recorder) = 0;
  /// The f32 buffer [out * in] the compiled code reads as linear `name`'s
  /// weight; writes take effect on the next call.
  virtual llvm::Expected<llvm::MutableArrayRef<float>>
  weight(llvm::StringRef name) = 0;
};

using LayerRunnerFactory =
    std::function<llvm::Expected<std::unique_ptr<LayerRunner>>(ModuleOp)>;

/// Sets the factory createLayerRunner uses (the tools register the JIT's).
void registerLayerRunnerFactory(LayerRunnerFactory factory);

/// A runner for `module` from the registered factory; `pass` names the
/// caller in the error when none is registered.
llvm::Expected<std::unique_ptr<LayerRunner>>
createLayerRunner(ModuleOp module, llvm::StringRef pass);

} // namespace mlir::hfq

#endif // HFQ_TRANSFORMS_LAYERRUNNER_H

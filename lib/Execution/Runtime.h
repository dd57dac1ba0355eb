//===- Runtime.h - what compiled hfq modules call back into -----*- C++ -*-===//
//
// Shared by the model executor and the layer runner: the calibration
// recorder the instrumented code calls (it carries no context pointer, so
// the active recorder is thread-local), and 64-byte aligned parameter data.
// Internal to lib/Execution.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_LIB_EXECUTION_RUNTIME_H
#define HFQ_LIB_EXECUTION_RUNTIME_H

#include "hfq/Execution/JIT.h"
#include "hfq/IO/Checkpoint.h"
#include "hfq/Transforms/LayerRunner.h"

#include "llvm/ADT/StringMap.h"

#include <cstdlib>
#include <memory>
#include <vector>

namespace mlir::hfq::detail {

/// Makes `recorder` the one the instrumented code running on this thread
/// reports to, for the scope's lifetime (null or empty: nothing is
/// reported).
class RecordingScope {
public:
  explicit RecordingScope(const CalibrationRecorder *recorder);
  ~RecordingScope();
  RecordingScope(const RecordingScope &) = delete;
  RecordingScope &operator=(const RecordingScope &) = delete;

private:
  const CalibrationRecorder *previous;
};

/// Binds every recorder the module declares (hfq_calibration_record_<K>)
/// to the trampoline that forwards to the active RecordingScope.
void bindRecorders(ModuleOp module, JITOptions &options);

struct FreeDeleter {
  void operator()(void *p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<void, FreeDeleter>;

/// `bytes` rounded up to 64 and allocated 64-byte aligned, or null.
AlignedBuffer allocateAligned(size_t bytes);

/// The data of checkpoint tensor `key` at its element type's natural
/// alignment, all that generated code assumes (loads of the element type;
/// vector loads are unaligned): the mapped bytes in place, or, when the
/// file puts it off that alignment, a 64-byte aligned copy kept in
/// `copies` under `key` (made once, however many globals bind the tensor:
/// a tied head and its embedding share it; hfq's writer and the
/// safetensors library order tensors so that no copy is ever needed).
llvm::Expected<const void *>
alignedTensorData(const io::Checkpoint &checkpoint, llvm::StringRef key,
                  llvm::StringMap<AlignedBuffer> &copies);

} // namespace mlir::hfq::detail

#endif // HFQ_LIB_EXECUTION_RUNTIME_H

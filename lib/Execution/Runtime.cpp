//===- Runtime.cpp - what compiled hfq modules call back into -------------===//

#include "Runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/CRunnerUtils.h"

#include <cstring>

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;

namespace {
thread_local const CalibrationRecorder *activeRecorder = nullptr;

/// Entry point of `hfq_calibration_record_<K>` for every K.
void recordTrampoline(int64_t group, StridedMemRefType<float, 2> *x) {
  if (activeRecorder && *activeRecorder)
    (*activeRecorder)(group, x->data + x->offset, x->sizes[0], x->sizes[1],
                      x->strides[0]);
}
} // namespace

RecordingScope::RecordingScope(const CalibrationRecorder *recorder)
    : previous(activeRecorder) {
  activeRecorder = recorder;
}
RecordingScope::~RecordingScope() { activeRecorder = previous; }

void mlir::hfq::detail::bindRecorders(ModuleOp module, JITOptions &options) {
  module.walk([&](func::FuncOp f) {
    if (f.isExternal() && f.getName().starts_with("hfq_calibration_record_"))
      options.extraSymbols.emplace_back(
          ("_mlir_ciface_" + f.getName()).str(),
          reinterpret_cast<const void *>(&recordTrampoline));
  });
}

AlignedBuffer mlir::hfq::detail::allocateAligned(size_t bytes) {
  return AlignedBuffer(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
}

llvm::Expected<const void *>
mlir::hfq::detail::alignedTensorData(const io::Checkpoint &checkpoint,
                                     llvm::StringRef key,
                                     llvm::StringMap<AlignedBuffer> &copies) {
  const io::Checkpoint::Entry *e = checkpoint.find(key);
  if (!e)
    return llvm::createStringError("no checkpoint tensor '" + key + "'");
  if (auto it = copies.find(key); it != copies.end())
    return it->second.get();
  llvm::ArrayRef<uint8_t> bytes = e->file->bytes(*e->info);
  if (reinterpret_cast<uintptr_t>(bytes.data()) %
          io::dtypeSize(e->info->dtype) ==
      0)
    return bytes.data();
  AlignedBuffer copy = allocateAligned(bytes.size());
  if (!copy)
    return llvm::createStringError("out of memory copying '" + key + "'");
  std::memcpy(copy.get(), bytes.data(), bytes.size());
  return copies.try_emplace(key, std::move(copy)).first->second.get();
}

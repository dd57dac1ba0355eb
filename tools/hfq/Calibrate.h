//===- Calibrate.h - `hfq calibrate` ----------------------------*- C++ -*-===//

#ifndef HFQ_TOOLS_HFQ_CALIBRATE_H
#define HFQ_TOOLS_HFQ_CALIBRATE_H

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::hfq {

struct CalibrateOptions {
  std::string textPath;
  std::string outputPath;
  int64_t samples = 128;
  int64_t seqLen = 512;
  /// Also store every linear input (AWQ needs them; F32 [tokens, in]).
  bool keepInputs = false;
  bool quiet = false;
  /// The checkpoint of an .mlir model (see ModelOptions::checkpointDir).
  std::string checkpointDir;
};

/// Writes per-linear input statistics to options.outputPath (safetensors);
/// progress and a summary go to `log`.
llvm::Error runCalibrate(llvm::StringRef modelPath,
                         const CalibrateOptions &options,
                         llvm::raw_ostream &log);

} // namespace mlir::hfq

#endif // HFQ_TOOLS_HFQ_CALIBRATE_H

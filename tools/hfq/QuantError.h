//===- QuantError.h - `hfq quant-error` -------------------------*- C++ -*-===//
//
// Quantizes the linear weights of a checkpoint with the compiler's own
// hfq.quantize/hfq.dequantize (reference lowering, JIT) and reports the
// per-tensor error, cross-checked against the numerics library.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_TOOLS_HFQ_QUANTERROR_H
#define HFQ_TOOLS_HFQ_QUANTERROR_H

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::hfq {

struct QuantErrorOptions {
  std::string method = "rtn";
  unsigned bits = 4;
  int64_t groupSize = 32;
  bool symmetric = false;
  bool doubleQuant = false;
  std::string match;
  bool quiet = false;
};

llvm::Error runQuantErrorReport(llvm::StringRef modelPath,
                                const QuantErrorOptions &options,
                                llvm::raw_ostream &os);

} // namespace mlir::hfq

#endif // HFQ_TOOLS_HFQ_QUANTERROR_H

//===- Errors.h - error helper shared by the hfq subcommands ---*- C++ -*-===//

#ifndef HFQ_TOOLS_HFQ_ERRORS_H
#define HFQ_TOOLS_HFQ_ERRORS_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

namespace mlir::hfq {

/// An error carrying `message`, reported by main as "hfq: error: ...".
inline llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

} // namespace mlir::hfq

#endif // HFQ_TOOLS_HFQ_ERRORS_H

//===- Driver.h - what the hfq subcommands share ---------------*- C++ -*-===//
//
// Each subcommand lives in one file: its cl::SubCommand, its options (in
// the same file, so they are constructed after the subcommand they name)
// and a Subcommand registration pointing main at its entry point.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_TOOLS_HFQ_DRIVER_H
#define HFQ_TOOLS_HFQ_DRIVER_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

namespace mlir::hfq {

/// An error carrying `message`, reported by main as "hfq: error: ...".
inline llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

namespace driver {

/// The category of every hfq option (--help hides the others).
llvm::cl::OptionCategory &category();

/// --quiet: no progress output on stderr (every subcommand).
bool quiet();

/// --reference-lowering: models and layer runners compile every hfq op
/// through the reference lowering (every subcommand).
bool referenceLowering();

/// Registers `run` as the entry point of `command`; main runs the one the
/// command line names and reports the Error it returns.
struct Subcommand {
  Subcommand(llvm::cl::SubCommand &command, llvm::Error (*run)());
};

} // namespace driver
} // namespace mlir::hfq

#endif // HFQ_TOOLS_HFQ_DRIVER_H

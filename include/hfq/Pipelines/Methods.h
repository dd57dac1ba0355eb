//===- Methods.h - quantization and pruning methods as pipelines -*- C++
//-*-===//
//
// The one place that says what `hfq quantize --method M` and `hfq prune
// --method M` run: each method is a pass with the options the method fixes
// and the defaults it changes. The tool's flags are spellings of the pass's
// own options; buildMethodPipeline turns them into an hfq-opt pipeline, so
// the CLI and hfq-opt run the same passes with the same defaults, and a run
// can be repeated with `hfq-opt --pass-pipeline=...` or `hfq quantize
// --pipeline=...`.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_PIPELINES_METHODS_H
#define HFQ_PIPELINES_METHODS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir::hfq {

/// How one method maps onto a pass.
struct MethodRecipe {
  /// The tool that offers it: "quantize" or "prune".
  llvm::StringRef tool;
  /// The method's name on the command line.
  llvm::StringRef method;
  /// The pass's argument (hfq-opt spelling).
  llvm::StringRef pass;
  /// Options the method fixes ("method=nf4"); a user may not set them.
  llvm::StringRef fixed;
  /// Options whose default the method changes ("group-size=64"); a user
  /// option of the same name replaces them.
  llvm::StringRef defaults;
  /// The pass reads calibration statistics (its `stats` option).
  bool needsStatistics;
};

/// Every method, quantize's then prune's.
llvm::ArrayRef<MethodRecipe> methodRecipes();

/// The recipe of `method` for `tool`, or an error listing the methods.
llvm::Expected<const MethodRecipe &> findMethod(llvm::StringRef tool,
                                                llvm::StringRef method);

/// A pass option as a user gave it: its name and its value(s) as text (a
/// list option takes several).
struct MethodOption {
  std::string name;
  std::vector<std::string> values;
};

/// The hfq-opt pipeline `builtin.module(PASS{...})` running `recipe` with
/// its fixed options, its defaults and `options` (`stats` included where
/// the recipe needs statistics). Each user option is checked against the
/// pass: an option the pass does not have, one the method fixes, or a
/// value that cannot be written in a pipeline is an error naming it.
llvm::Expected<std::string>
buildMethodPipeline(const MethodRecipe &recipe,
                    llvm::ArrayRef<MethodOption> options);

} // namespace mlir::hfq

#endif // HFQ_PIPELINES_METHODS_H

//===- hfq.cpp - the practitioner's driver ---------------------*- C++ -*-===//
//
// `hfq SUBCOMMAND ...`: a thin command-line layer over the hfq libraries.
// The subcommands, each in its own file with its options:
//   Import.cpp     inspect, tokenize, import
//   Run.cpp        generate, logits
//   Evaluate.cpp   perplexity, kl
//   Calibrate.cpp  calibrate
//   Quantize.cpp   quantize, prune (methods from hfq/Pipelines/Methods.h)
//   QuantError.cpp quant-error
// Every subcommand accepts --quiet (no progress on stderr) and
// --reference-lowering (no generated kernels). Errors go to
// stderr as "hfq: error: ..." with exit status 1; a missing subcommand
// exits with 2.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "hfq/Execution/JIT.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <vector>

using namespace llvm;
using namespace mlir::hfq;

namespace {
struct Entry {
  cl::SubCommand *command;
  Error (*run)();
};

std::vector<Entry> &registry() {
  static std::vector<Entry> entries;
  return entries;
}

cl::opt<bool> quietFlag("quiet", cl::desc("no progress output on stderr"),
                        cl::sub(cl::SubCommand::getAll()),
                        cl::cat(driver::category()));
cl::opt<bool> referenceFlag(
    "reference-lowering",
    cl::desc("compile every hfq op through the reference lowering (the "
             "oracle) instead of the generated CPU kernels"),
    cl::sub(cl::SubCommand::getAll()), cl::cat(driver::category()));
} // namespace

cl::OptionCategory &driver::category() {
  static cl::OptionCategory category("hfq options");
  return category;
}

bool driver::quiet() { return quietFlag; }

bool driver::referenceLowering() { return referenceFlag; }

driver::Subcommand::Subcommand(cl::SubCommand &command, Error (*run)()) {
  registry().push_back({&command, run});
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(driver::category());
  llvm::sort(registry(), [](const Entry &a, const Entry &b) {
    return a.command->getName() < b.command->getName();
  });
  SmallVector<StringRef> names;
  for (const Entry &e : registry())
    names.push_back(e.command->getName());
  cl::ParseCommandLineOptions(
      argc, argv,
      "hfq: quantize, prune and run large language models\n\n"
      "  hfq import MODEL -o model.mlir\n"
      "  hfq calibrate MODEL --text FILE -o stats.safetensors\n"
      "  hfq quantize MODEL -o OUT --method rtn|nf4|fp4|int8|hqq|gptq|awq|spqr "
      "[--calib STATS|TEXT] [flags | --set OPTION=VALUE]\n"
      "  hfq quantize MODEL -o OUT --pipeline 'builtin.module(PASSES)'\n"
      "  hfq prune MODEL -o OUT --method magnitude|2:4|structured|sparsegpt\n"
      "  hfq generate MODEL --prompt TEXT\n"
      "  hfq perplexity MODEL --text FILE\n"
      "  hfq kl MODEL --reference REF_MODEL --text FILE\n\n"
      "`hfq SUBCOMMAND --help` lists a subcommand's options.\n");
  // Layer-by-layer passes (GPTQ, AWQ, ...) compile like the models do.
  JITOptions jit;
  jit.reference = referenceFlag;
  registerJITLayerRunner(jit);
  for (const Entry &e : registry()) {
    if (!*e.command)
      continue;
    if (Error error = e.run()) {
      WithColor::error(errs(), "hfq") << toString(std::move(error)) << "\n";
      return 1;
    }
    return 0;
  }
  errs() << "hfq: expected a subcommand (" << join(names, ", ")
         << "); see hfq --help\n";
  return 2;
}

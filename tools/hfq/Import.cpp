//===- Import.cpp - hfq inspect, tokenize and import -----------*- C++ -*-===//
//
// The subcommands that read a model directory without running it: list its
// tensors, run its tokenizer, import it as MLIR.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "hfq/IO/Checkpoint.h"
#include "hfq/IO/Tokenizer.h"
#include "hfq/Import/LlamaImporter.h"
#include "hfq/Import/QuantizedModel.h"
#include "hfq/Pipelines/Pipelines.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <chrono>

using namespace llvm;
using namespace mlir::hfq;

namespace {
cl::OptionCategory &cat = driver::category();

cl::SubCommand inspectCmd("inspect", "List the tensors of a checkpoint");
cl::opt<std::string> inspectModel(cl::Positional, cl::Required,
                                  cl::desc("<model dir or .safetensors>"),
                                  cl::sub(inspectCmd), cl::cat(cat));

Error runInspect() {
  auto ckpt = io::Checkpoint::open(inspectModel);
  if (!ckpt)
    return ckpt.takeError();
  int64_t total = 0;
  for (const io::Checkpoint::Entry &e : ckpt->tensors()) {
    outs() << e.info->name << "  " << io::dtypeName(e.info->dtype) << " [";
    for (size_t i = 0; i < e.info->shape.size(); ++i)
      outs() << (i ? ", " : "") << e.info->shape[i];
    outs() << "]\n";
    total += e.info->numElements();
  }
  outs() << ckpt->tensors().size() << " tensors, " << total << " elements\n";
  return Error::success();
}
driver::Subcommand inspect(inspectCmd, runInspect);

cl::SubCommand
    tokenizeCmd("tokenize",
                "Print the token ids of a text (or the text of token ids)");
cl::opt<std::string> tokModel(cl::Positional, cl::Required,
                              cl::desc("<model dir>"), cl::sub(tokenizeCmd),
                              cl::cat(cat));
cl::opt<std::string> tokText("text", cl::desc("text to encode"),
                             cl::sub(tokenizeCmd), cl::cat(cat));
cl::opt<std::string> tokFile("file", cl::desc("encode this file's contents"),
                             cl::sub(tokenizeCmd), cl::cat(cat));
cl::opt<std::string> tokDecode("decode",
                               cl::desc("space-separated ids to decode"),
                               cl::sub(tokenizeCmd), cl::cat(cat));
cl::opt<bool> tokLines("lines",
                       cl::desc("encode each non-empty line as its own "
                                "document; print one line of ids per line"),
                       cl::sub(tokenizeCmd), cl::cat(cat));
cl::opt<bool> tokNoSpecial("no-special",
                           cl::desc("do not add BOS/template tokens"),
                           cl::sub(tokenizeCmd), cl::cat(cat));

Error runTokenize() {
  auto tokenizer = io::Tokenizer::load(tokModel);
  if (!tokenizer)
    return tokenizer.takeError();
  if (!tokDecode.empty()) {
    std::vector<int64_t> ids;
    SmallVector<StringRef> fields;
    StringRef(tokDecode).split(fields, ' ', -1, /*KeepEmpty=*/false);
    for (StringRef f : fields) {
      int64_t id;
      if (f.getAsInteger(10, id))
        return fail("--decode: '" + f + "' is not a token id");
      ids.push_back(id);
    }
    auto text = tokenizer->decode(ids);
    if (!text)
      return text.takeError();
    outs() << *text << "\n";
    return Error::success();
  }
  std::string text = tokText;
  if (!tokFile.empty()) {
    auto buffer = MemoryBuffer::getFile(tokFile);
    if (!buffer)
      return fail(tokFile + ": cannot open: " + buffer.getError().message());
    text = (*buffer)->getBuffer().str();
  } else if (tokText.getNumOccurrences() == 0) {
    return fail("give --text, --file or --decode");
  }
  SmallVector<StringRef> documents;
  if (tokLines)
    StringRef(text).split(documents, '\n', -1, /*KeepEmpty=*/false);
  else
    documents.push_back(text);
  for (StringRef doc : documents) {
    auto ids = tokenizer->encode(doc, !tokNoSpecial);
    if (!ids)
      return ids.takeError();
    for (size_t i = 0; i < ids->size(); ++i)
      outs() << (i ? " " : "") << (*ids)[i];
    outs() << "\n";
  }
  return Error::success();
}
driver::Subcommand tokenize(tokenizeCmd, runTokenize);

cl::SubCommand importCmd("import",
                         "Import a checkpoint as an MLIR module (weights "
                         "referenced, not inlined)");
cl::opt<std::string> importModel(cl::Positional, cl::Required,
                                 cl::desc("<model dir>"), cl::sub(importCmd),
                                 cl::cat(cat));
cl::opt<std::string> importOutput("o", cl::Required,
                                  cl::desc("output .mlir file"),
                                  cl::value_desc("file"), cl::sub(importCmd),
                                  cl::cat(cat));
cl::opt<int64_t> importMaxContext("max-context",
                                  cl::desc("KV cache length (default: "
                                           "max_position_embeddings)"),
                                  cl::init(0), cl::sub(importCmd),
                                  cl::cat(cat));

Error runImport() {
  auto start = std::chrono::steady_clock::now();
  auto config = io::ModelConfig::load(importModel);
  if (!config)
    return config.takeError();
  auto ckpt = io::Checkpoint::open(importModel);
  if (!ckpt)
    return ckpt.takeError();
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  mlir::MLIRContext ctx(registry);
  auto quantized = readQuantizedLinears(ctx, importModel);
  if (!quantized)
    return quantized.takeError();
  ImportOptions options;
  options.maxContext = importMaxContext;
  options.quantized = &*quantized;
  auto module = importLlama(ctx, *config, *ckpt, options);
  if (!module)
    return module.takeError();
  if (Error e = writeToOutput(importOutput, [&](raw_ostream &os) -> Error {
        // Locations name each linear for diagnostics (its identity is its
        // weight's symbol, so a copy printed without them runs the same).
        (*module)->print(os, mlir::OpPrintingFlags().enableDebugInfo());
        return Error::success();
      }))
    return e;
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!driver::quiet())
    errs() << formatv("hfq import: {0} ({1}, {2} layers) -> {3} in {4:F2} s\n",
                      importModel, config->modelType, config->numLayers,
                      importOutput, secs);
  return Error::success();
}
driver::Subcommand import(importCmd, runImport);
} // namespace

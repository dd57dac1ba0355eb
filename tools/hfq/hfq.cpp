//===- hfq.cpp - the practitioner's driver ---------------------*- C++ -*-===//
//
// `hfq SUBCOMMAND ...`: a thin command-line layer over the hfq libraries.
// Subcommands so far:
//   inspect     list the tensors of a checkpoint
//   tokenize    encode text to token ids, or decode ids
//   quant-error quantize every linear weight through the compiler
//               (hfq.quantize -> hfq.dequantize, JIT-compiled) and report
//               the error per tensor
// Every subcommand accepts --quiet (no progress on stderr). Errors go to
// stderr with a non-zero exit status.
//
//===----------------------------------------------------------------------===//

#include "QuantError.h"

#include "hfq/IO/Checkpoint.h"
#include "hfq/IO/Tokenizer.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace mlir::hfq;

namespace {

cl::OptionCategory hfqCategory("hfq options");

cl::SubCommand inspectCmd("inspect", "List the tensors of a checkpoint");
cl::SubCommand tokenizeCmd(
    "tokenize", "Print the token ids of a text (or the text of token ids)");
cl::SubCommand quantErrorCmd(
    "quant-error",
    "Quantize each linear weight of a checkpoint through the compiler and "
    "report the error per tensor");

cl::opt<std::string> inspectModel(cl::Positional, cl::Required,
                                  cl::desc("<model dir or .safetensors>"),
                                  cl::sub(inspectCmd), cl::cat(hfqCategory));
cl::opt<std::string> tokModel(cl::Positional, cl::Required,
                              cl::desc("<model dir>"), cl::sub(tokenizeCmd),
                              cl::cat(hfqCategory));
cl::opt<std::string> tokText("text", cl::desc("text to encode"),
                             cl::sub(tokenizeCmd), cl::cat(hfqCategory));
cl::opt<std::string> tokFile("file", cl::desc("encode this file's contents"),
                             cl::sub(tokenizeCmd), cl::cat(hfqCategory));
cl::opt<std::string> tokDecode("decode",
                               cl::desc("space-separated ids to decode"),
                               cl::sub(tokenizeCmd), cl::cat(hfqCategory));
cl::opt<bool> tokLines("lines",
                       cl::desc("encode each non-empty line as its own "
                                "document; print one line of ids per line"),
                       cl::sub(tokenizeCmd), cl::cat(hfqCategory));
cl::opt<bool> tokNoSpecial("no-special",
                           cl::desc("do not add BOS/template tokens"),
                           cl::sub(tokenizeCmd), cl::cat(hfqCategory));
cl::opt<std::string> qeModel(cl::Positional, cl::Required,
                             cl::desc("<model dir or .safetensors>"),
                             cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<std::string> qeMethod("method",
                              cl::desc("rtn (integer), nf4 or fp4 (codebook)"),
                              cl::init("rtn"), cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<unsigned> qeBits("bits", cl::desc("code width for rtn (2-8)"),
                         cl::init(4), cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<int64_t> qeGroup("group-size",
                         cl::desc("rtn: input columns per group (0: one "
                                  "group per output channel); nf4/fp4: "
                                  "block size"),
                         cl::init(32), cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<bool> qeSym("sym", cl::desc("rtn: symmetric (no zero points)"),
                    cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<bool> qeDoubleQuant("double-quant",
                            cl::desc("nf4/fp4: quantize absmax (block 256)"),
                            cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<std::string> qeMatch("match",
                             cl::desc("only tensors whose name contains this"),
                             cl::init(""), cl::sub(quantErrorCmd), cl::cat(hfqCategory));
cl::opt<bool> quiet("quiet", cl::desc("no progress output on stderr"),
                    cl::sub(cl::SubCommand::getAll()), cl::cat(hfqCategory));

int reportError(Error error) {
  WithColor::error(errs(), "hfq") << toString(std::move(error)) << "\n";
  return 1;
}

int runInspect() {
  auto ckpt = io::Checkpoint::open(inspectModel);
  if (!ckpt)
    return reportError(ckpt.takeError());
  int64_t total = 0;
  for (const io::Checkpoint::Entry &e : ckpt->tensors()) {
    outs() << e.info->name << "  " << io::dtypeName(e.info->dtype) << " [";
    for (size_t i = 0; i < e.info->shape.size(); ++i)
      outs() << (i ? ", " : "") << e.info->shape[i];
    outs() << "]\n";
    total += e.info->numElements();
  }
  outs() << ckpt->tensors().size() << " tensors, " << total << " elements\n";
  return 0;
}

int runTokenize() {
  auto tokenizer = io::Tokenizer::load(tokModel);
  if (!tokenizer)
    return reportError(tokenizer.takeError());
  if (!tokDecode.empty()) {
    std::vector<int64_t> ids;
    SmallVector<StringRef> fields;
    StringRef(tokDecode).split(fields, ' ', -1, /*KeepEmpty=*/false);
    for (StringRef f : fields) {
      int64_t id;
      if (f.getAsInteger(10, id))
        return reportError(createStringError(inconvertibleErrorCode(),
                                             "--decode: '" + f +
                                                 "' is not a token id"));
      ids.push_back(id);
    }
    auto text = tokenizer->decode(ids);
    if (!text)
      return reportError(text.takeError());
    outs() << *text << "\n";
    return 0;
  }
  std::string text = tokText;
  if (!tokFile.empty()) {
    auto buffer = MemoryBuffer::getFile(tokFile);
    if (!buffer)
      return reportError(createStringError(
          inconvertibleErrorCode(),
          tokFile + ": cannot open: " + buffer.getError().message()));
    text = (*buffer)->getBuffer().str();
  } else if (tokText.getNumOccurrences() == 0) {
    return reportError(createStringError(inconvertibleErrorCode(),
                                         "give --text, --file or --decode"));
  }
  SmallVector<StringRef> documents;
  if (tokLines)
    StringRef(text).split(documents, '\n', -1, /*KeepEmpty=*/false);
  else
    documents.push_back(text);
  for (StringRef doc : documents) {
    auto ids = tokenizer->encode(doc, !tokNoSpecial);
    if (!ids)
      return reportError(ids.takeError());
    for (size_t i = 0; i < ids->size(); ++i)
      outs() << (i ? " " : "") << (*ids)[i];
    outs() << "\n";
  }
  return 0;
}

int runQuantError() {
  QuantErrorOptions options;
  options.method = qeMethod;
  options.bits = qeBits;
  options.groupSize = qeGroup;
  options.symmetric = qeSym;
  options.doubleQuant = qeDoubleQuant;
  options.match = qeMatch;
  options.quiet = quiet;
  if (Error e = runQuantErrorReport(qeModel, options, outs()))
    return reportError(std::move(e));
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(hfqCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "hfq: quantize large language models\n\n"
      "  hfq inspect MODEL\n"
      "  hfq tokenize MODEL --text TEXT | --file FILE | --decode \"IDS\"\n"
      "  hfq quant-error MODEL [--method rtn|nf4|fp4] [--bits B] "
      "[--group-size G] [--sym] [--double-quant]\n");
  if (inspectCmd)
    return runInspect();
  if (quantErrorCmd)
    return runQuantError();
  if (tokenizeCmd)
    return runTokenize();
  errs() << "hfq: expected a subcommand (inspect, tokenize, quant-error); see "
            "hfq --help\n";
  return 2;
}

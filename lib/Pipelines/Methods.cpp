//===- Methods.cpp - quantization and pruning methods as pipelines
//---------===//

#include "hfq/Pipelines/Methods.h"
#include "hfq/Pipelines/Pipelines.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::hfq;

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

// Decision: hqq's group of 64 is the method's default here, not the pass's,
// because hfq-quantize-linears' group-size default (0, per channel) is
// RTN's; HQQ's reference quantizer groups 64 weights. `2:4` is magnitude
// pruning with the pattern fixed, a shorthand the pruning literature uses.
const MethodRecipe recipes[] = {
    {"quantize", "rtn", "hfq-quantize-linears", "method=rtn", "", false},
    {"quantize", "nf4", "hfq-quantize-linears", "method=nf4", "", false},
    {"quantize", "fp4", "hfq-quantize-linears", "method=fp4", "", false},
    {"quantize", "int8", "hfq-quantize-linears", "method=int8", "", false},
    {"quantize", "hqq", "hfq-quantize-linears", "method=hqq", "group-size=64",
     false},
    {"quantize", "fp8", "hfq-quantize-linears", "method=fp8", "", false},
    {"quantize", "mxfp4", "hfq-quantize-linears", "method=mxfp4", "", false},
    {"quantize", "mxfp8", "hfq-quantize-linears", "method=mxfp8", "", false},
    {"quantize", "nvfp4", "hfq-quantize-linears", "method=nvfp4", "", false},
    {"quantize", "gptq", "hfq-gptq", "", "", true},
    {"quantize", "awq", "hfq-awq", "", "", true},
    {"quantize", "spqr", "hfq-spqr", "", "", true},
    {"prune", "magnitude", "hfq-prune", "method=magnitude", "", false},
    {"prune", "2:4", "hfq-prune", "method=magnitude pattern=2:4", "", false},
    {"prune", "structured", "hfq-prune", "method=structured", "", false},
    {"prune", "sparsegpt", "hfq-prune", "method=sparsegpt", "", true},
};

/// `name=value` pairs of a recipe's space-separated option string.
llvm::SmallVector<std::pair<llvm::StringRef, llvm::StringRef>>
splitOptions(llvm::StringRef options) {
  llvm::SmallVector<llvm::StringRef> fields;
  options.split(fields, ' ', -1, /*KeepEmpty=*/false);
  llvm::SmallVector<std::pair<llvm::StringRef, llvm::StringRef>> pairs;
  for (llvm::StringRef f : fields)
    pairs.push_back(f.split('='));
  return pairs;
}

/// A value as pipeline text: quoted when it holds a character the pass
/// option syntax gives a meaning (MLIR strips the quotes again).
llvm::Expected<std::string> quote(llvm::StringRef name, llvm::StringRef value) {
  if (value.contains('"'))
    return fail("the value of " + name + " ('" + value +
                "') contains a double quote, which a pipeline cannot carry");
  if (value.find_first_of(" ,{}'=()[]") == llvm::StringRef::npos)
    return value.str();
  return ("\"" + value + "\"").str();
}

/// `name=v1,v2` as pipeline text.
llvm::Expected<std::string> render(const MethodOption &option) {
  std::string text = option.name + "=";
  for (auto [i, v] : llvm::enumerate(option.values)) {
    auto quoted = quote(option.name, v);
    if (!quoted)
      return quoted.takeError();
    text += (i ? "," : "") + *quoted;
  }
  return text;
}

/// Whether `pass{options}` parses; the parser's message otherwise.
std::optional<std::string> checkPass(llvm::StringRef pass,
                                     llvm::StringRef options) {
  std::string message;
  llvm::raw_string_ostream errs(message);
  OpPassManager pm("builtin.module");
  if (succeeded(parsePassPipeline(
          ("builtin.module(" + pass + "{" + options + "})").str(), pm, errs)))
    return std::nullopt;
  return llvm::StringRef(message).trim().str();
}
} // namespace

llvm::ArrayRef<MethodRecipe> mlir::hfq::methodRecipes() { return recipes; }

llvm::Expected<const MethodRecipe &>
mlir::hfq::findMethod(llvm::StringRef tool, llvm::StringRef method) {
  std::string names;
  for (const MethodRecipe &r : recipes) {
    if (r.tool != tool)
      continue;
    if (r.method == method)
      return r;
    names += (names.empty() ? "" : ", ") + r.method.str();
  }
  return fail("unknown --method '" + method + "' (" + tool + " knows " + names +
              ")");
}

llvm::Expected<std::string>
mlir::hfq::buildMethodPipeline(const MethodRecipe &recipe,
                               llvm::ArrayRef<MethodOption> options) {
  registerAllPasses();

  auto fixed = splitOptions(recipe.fixed);
  std::vector<std::string> parts;
  for (auto [name, value] : fixed)
    parts.push_back((name + "=" + value).str());
  for (auto [name, value] : splitOptions(recipe.defaults))
    if (!llvm::any_of(options,
                      [&](const MethodOption &o) { return o.name == name; }))
      parts.push_back((name + "=" + value).str());
  bool hasStats = false;
  for (const MethodOption &option : options) {
    std::string flag = "--method " + recipe.method.str();
    if (llvm::any_of(fixed, [&](auto &f) { return f.first == option.name; }))
      return fail(flag + " fixes " + recipe.fixed + "; " + option.name +
                  " cannot be set");
    if (option.name == "stats") {
      if (!recipe.needsStatistics)
        return fail(flag + " takes no calibration statistics");
      hasStats = true;
    }
    auto text = render(option);
    if (!text)
      return text.takeError();
    if (auto message = checkPass(recipe.pass, *text)) {
      if (llvm::StringRef(*message).contains("no such option"))
        return fail(flag + " has no option " + option.name + " (pass " +
                    recipe.pass + ")");
      // A typed option's parser has printed why on stderr, and MLIR's own
      // message then only says the pass could not be added.
      llvm::StringRef why = *message;
      if (why.starts_with("failed to add"))
        why = "";
      return fail(flag + ": invalid value '" + llvm::join(option.values, ",") +
                  "' for option " + option.name + " of " + recipe.pass +
                  (why.empty() ? "" : ": " + why));
    }
    parts.push_back(std::move(*text));
  }
  if (recipe.needsStatistics && !hasStats)
    return fail("--method " + recipe.method +
                " needs calibration statistics (stats)");
  return ("builtin.module(" + recipe.pass + "{" + llvm::join(parts, " ") + "})")
      .str();
}

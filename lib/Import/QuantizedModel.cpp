//===- QuantizedModel.cpp - quantized model directories --------*- C++ -*-===//

#include "hfq/Import/QuantizedModel.h"
#include "hfq/Dialect/HFQ/IR/HFQWeights.h"
#include "hfq/IO/Safetensors.h"
#include "hfq/Import/LlamaImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/AsmParser/AsmParser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

using namespace mlir;
using namespace mlir::hfq;
using nlohmann::json;

namespace {

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Expected<json> readJson(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return fail(path + ": " + buffer.getError().message());
  json doc = json::parse((*buffer)->getBuffer().begin(),
                         (*buffer)->getBuffer().end(), nullptr,
                         /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(path + ": not a JSON object");
  return doc;
}

/// The bytes of a constant part (dense or dense_resource).
llvm::Expected<std::vector<uint8_t>> bytesOf(Attribute value) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return fail("a dense_resource part has no data");
    llvm::ArrayRef<char> data = blob->getData();
    return std::vector<uint8_t>(data.begin(), data.end());
  }
  auto dense = dyn_cast<DenseElementsAttr>(value);
  if (!dense)
    return fail("a part is neither dense nor dense_resource");
  llvm::ArrayRef<char> raw = dense.getRawData();
  std::vector<uint8_t> out(raw.begin(), raw.end());
  if (dense.isSplat()) {
    size_t elementBytes = raw.size();
    out.resize(elementBytes * dense.getNumElements());
    for (int64_t i = 1; i < dense.getNumElements(); ++i)
      std::memcpy(out.data() + i * elementBytes, raw.data(), elementBytes);
  }
  return out;
}

json settingsJson(DictionaryAttr settings) {
  json out = json::object();
  if (!settings)
    return out;
  for (NamedAttribute a : settings) {
    std::string key = a.getName().str();
    Attribute v = a.getValue();
    if (auto b = dyn_cast<BoolAttr>(v))
      out[key] = b.getValue();
    else if (auto i = dyn_cast<IntegerAttr>(v))
      out[key] = i.getInt();
    else if (auto f = dyn_cast<FloatAttr>(v))
      out[key] = f.getValueAsDouble();
    else if (auto s = dyn_cast<StringAttr>(v))
      out[key] = s.str();
  }
  return out;
}

} // namespace

llvm::Expected<QuantizedLinears>
mlir::hfq::readQuantizedLinears(MLIRContext &ctx, llvm::StringRef modelDir) {
  llvm::SmallString<256> path(modelDir);
  llvm::sys::path::append(path, "config.json");
  auto doc = readJson(path);
  if (!doc)
    return doc.takeError();
  QuantizedLinears out;
  auto qc = doc->find("quantization_config");
  if (qc == doc->end() || qc->is_null())
    return out;
  std::string where = (path + ": quantization_config").str();
  if (!qc->is_object())
    return fail(where + " must be an object");
  auto method = qc->find("quant_method");
  if (method == qc->end() || !method->is_string() ||
      method->get<std::string>() != "hfq")
    return fail(where + ".quant_method is " +
                (method == qc->end() ? std::string("missing")
                                     : "'" + method->dump() + "'") +
                "; hfq runs float checkpoints and its own quantized format "
                "(quant_method \"hfq\")");
  auto version = qc->find("format_version");
  if (version == qc->end() || !version->is_number_integer() ||
      version->get<int64_t>() != 1)
    return fail(where + ".format_version must be 1");
  auto modules = qc->find("modules");
  if (modules == qc->end() || !modules->is_object())
    return fail(where + ".modules must be an object");
  for (auto it = modules->begin(); it != modules->end(); ++it) {
    std::string entry = where + ".modules[\"" + it.key() + "\"]";
    if (!it->is_object())
      return fail(entry + " must be an object");
    auto enc = it->find("encoding");
    if (enc == it->end() || !enc->is_string())
      return fail(entry + ".encoding must be a string");
    std::string text = enc->get<std::string>();
    std::string messages;
    Attribute attr;
    {
      ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
        messages += d.str();
        return success();
      });
      attr = parseAttribute(text, &ctx);
    }
    auto encoding = dyn_cast_or_null<EncodingAttrInterface>(attr);
    if (!encoding)
      return fail(entry + ".encoding '" + text + "' is not an hfq encoding" +
                  (messages.empty() ? "" : ": " + messages));
    QuantizedLinear q{encoding, std::nullopt};
    auto threshold = it->find("outlier_threshold");
    if (threshold != it->end() && !threshold->is_null()) {
      if (!threshold->is_number() || !(threshold->get<double>() >= 0))
        return fail(entry + ".outlier_threshold must be a number >= 0");
      q.outlierThreshold = threshold->get<double>();
    }
    out.emplace(it.key(), q);
  }
  return out;
}

llvm::Expected<QuantizedModelSummary>
mlir::hfq::writeQuantizedModel(ModuleOp module, llvm::StringRef sourceDir,
                               const io::Checkpoint &source,
                               llvm::StringRef outDir) {
  namespace fs = llvm::sys::fs;
  if (fs::exists(outDir)) {
    std::error_code ec;
    fs::directory_iterator it(outDir, ec);
    if (ec || it != fs::directory_iterator())
      return fail(outDir + " exists and is not an empty directory");
  }

  QuantizedModelSummary summary;
  std::vector<io::TensorToWrite> tensors;
  json modules = json::object();
  std::set<std::string> written;
  auto add = [&](io::TensorToWrite t) {
    if (written.insert(t.name).second)
      tensors.push_back(std::move(t));
  };

  // Every global of the module is a tensor of the output: external ones
  // copied from the source checkpoint (deduplicated by key, so a tied head
  // stays tied), inline ones (quantized parts, rewritten floats) written
  // under the global's name.
  llvm::DenseMap<Operation *, SmallVector<LinearOp>> readers;
  module.walk([&](LinearOp op) {
    if (GlobalOp g = getWeightGlobal(op.getWeight()))
      readers[g].push_back(op);
  });
  for (GlobalOp global : module.getOps<GlobalOp>()) {
    std::string name = global.getSymName().str();
    auto qtype = dyn_cast<QTensorType>(global.getType());
    uint64_t bytes = 0;
    if (ParameterAttr param = global.getParameter()) {
      if (param.getScope().getValue() != kModelScope)
        return fail("@" + name + " reads parameter scope '" +
                    param.getScope().getValue() + "'; only '" + kModelScope +
                    "' (the source checkpoint) can be written");
      for (const auto &[suffix, type] : global.getStoredTensors()) {
        std::string key = param.getKey().str() + suffix;
        const io::Checkpoint::Entry *e = source.find(key);
        if (!e)
          return fail("no checkpoint tensor '" + key + "' in " + sourceDir);
        llvm::ArrayRef<uint8_t> data = e->file->bytes(*e->info);
        bytes += data.size();
        add({key, e->info->dtype, e->info->shape,
             std::vector<uint8_t>(data.begin(), data.end())});
      }
    } else {
      auto inlineParts = dyn_cast<ArrayAttr>(global.getValue());
      for (auto [i, stored] : llvm::enumerate(global.getStoredTensors())) {
        auto [suffix, type] = stored;
        Attribute value = inlineParts ? inlineParts[i] : global.getValue();
        std::optional<io::DType> dtype = storageDType(type.getElementType());
        if (!dtype)
          return fail("@" + name + suffix +
                      ": only i8, i32, i64, f16, bf16, f32 and FP8 tensors "
                      "can be written");
        auto data = bytesOf(value);
        if (!data)
          return fail("@" + name + suffix + ": " +
                      llvm::toString(data.takeError()));
        bytes += data->size();
        if (!qtype && readers.count(global)) {
          const float *values = reinterpret_cast<const float *>(data->data());
          int64_t count = int64_t(data->size() / sizeof(float));
          summary.denseLinears += 1;
          summary.denseWeights += count;
          summary.denseZeros += std::count(values, values + count, 0.0f);
        }
        add({name + suffix, *dtype,
             std::vector<int64_t>(type.getShape().begin(),
                                  type.getShape().end()),
             std::move(*data)});
      }
    }
    if (!qtype)
      continue;

    // A quantized linear: its entry in quantization_config.modules.
    llvm::StringRef module(name);
    if (!module.consume_back(".weight"))
      return fail("quantized global @" + name +
                  " is not named <module>.weight");
    std::string text;
    llvm::raw_string_ostream os(text);
    Attribute(qtype.getEncoding()).print(os);
    json entry = {{"encoding", text}};
    for (LinearOp op : readers.lookup(global))
      if (FloatAttr t = op.getOutlierThresholdAttr())
        entry["outlier_threshold"] = t.getValueAsDouble();
    modules[module.str()] = entry;
    int64_t numel = qtype.getNumElements();
    int64_t stored = qtype.getEncoding().getStoredElementCount(numel);
    if (stored == numel) {
      summary.linears += 1;
      summary.quantizedWeights += numel;
      summary.quantizedBytes += bytes;
      continue;
    }
    summary.sparseZeros += numel - stored;
    summary.sparseLinears += 1;
    summary.sparseWeights += numel;
    summary.sparseBytes += bytes;
  }

  // config.json with the quantization section.
  llvm::SmallString<256> configPath(sourceDir);
  llvm::sys::path::append(configPath, "config.json");
  auto config = readJson(configPath);
  if (!config)
    return config.takeError();
  json qc = settingsJson(module->getAttrOfType<DictionaryAttr>("hfq.quantization"));
  if (auto pruning = module->getAttrOfType<DictionaryAttr>("hfq.pruning"))
    qc["pruning"] = settingsJson(pruning);
  qc["quant_method"] = "hfq";
  qc["format_version"] = 1;
  qc["modules"] = modules;
  (*config)["quantization_config"] = qc;

  // Build everything in a sibling temporary directory, then rename.
  llvm::SmallString<256> tmp(outDir);
  while (tmp.size() > 1 && llvm::sys::path::is_separator(tmp.back()))
    tmp.pop_back();
  tmp += llvm::formatv(".tmp-{0}", llvm::sys::Process::getProcessId()).str();
  fs::remove_directories(tmp);
  if (std::error_code ec = fs::create_directories(tmp))
    return fail(tmp + ": " + ec.message());
  auto cleanup = [&](llvm::Error e) -> llvm::Error {
    fs::remove_directories(tmp);
    return e;
  };
  auto pathIn = [&](llvm::StringRef dir, llvm::StringRef file) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, file);
    return std::string(p);
  };
  if (llvm::Error e = io::writeSafetensors(
          pathIn(tmp, "model.safetensors"), std::move(tensors),
          {{"format", "pt"}, {"hfq.format_version", "1"}}))
    return cleanup(std::move(e));
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(pathIn(tmp, "config.json"), ec);
    if (ec)
      return cleanup(fail("config.json: " + ec.message()));
    os << config->dump(2) << "\n";
    if (os.has_error())
      return cleanup(fail("config.json: write failed"));
  }
  // Tokenizer and generation files, unchanged.
  std::error_code ec;
  for (fs::directory_iterator it(sourceDir, ec), end; it != end && !ec;
       it.increment(ec)) {
    llvm::StringRef file = llvm::sys::path::filename(it->path());
    if (it->type() != fs::file_type::regular_file || file == "config.json" ||
        file.ends_with(".safetensors") ||
        file.ends_with(".safetensors.index.json"))
      continue;
    if (std::error_code cec = fs::copy_file(it->path(), pathIn(tmp, file)))
      return cleanup(fail(it->path() + ": " + cec.message()));
  }
  if (ec)
    return cleanup(fail(sourceDir + ": " + ec.message()));
  uint64_t size = 0;
  fs::file_size(pathIn(tmp, "model.safetensors"), size);
  summary.fileBytes = size;
  if (fs::exists(outDir))
    fs::remove(outDir); // empty, checked above
  if (std::error_code rec = fs::rename(tmp, outDir))
    return cleanup(fail(outDir + ": " + rec.message()));
  return summary;
}

std::optional<io::DType> mlir::hfq::storageDType(Type t) {
  if (t.isF32())
    return io::DType::F32;
  if (t.isF16())
    return io::DType::F16;
  if (t.isBF16())
    return io::DType::BF16;
  if (isa<Float8E4M3FNType>(t))
    return io::DType::F8_E4M3;
  if (isa<Float8E5M2Type>(t))
    return io::DType::F8_E5M2;
  if (isa<Float8E8M0FNUType>(t))
    return io::DType::F8_E8M0;
  if (t.isInteger(8))
    return io::DType::U8;
  if (t.isInteger(32))
    return io::DType::I32;
  if (t.isInteger(64))
    return io::DType::I64;
  return std::nullopt;
}

//===- Checkpoint.cpp - Hugging Face checkpoint directories ----*- C++ -*-===//
//
// A sharded checkpoint's index maps tensor names to shard files; every shard
// named there is opened and validated, and every tensor the index promises
// must be found in the shard it names.
//
//===----------------------------------------------------------------------===//

#include "hfq/IO/Checkpoint.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

using namespace mlir::hfq::io;

static llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Expected<Checkpoint> Checkpoint::open(llvm::StringRef path) {
  Checkpoint ckpt;
  std::map<std::string, std::string> expectedShard; // tensor -> shard file
  std::vector<std::string> shardPaths;

  if (!llvm::sys::fs::is_directory(path)) {
    if (!llvm::sys::fs::exists(path))
      return fail(path + ": no such file or directory");
    shardPaths.push_back(path.str());
  } else {
    llvm::SmallString<256> single(path), index(path);
    llvm::sys::path::append(single, "model.safetensors");
    llvm::sys::path::append(index, "model.safetensors.index.json");
    if (llvm::sys::fs::exists(single)) {
      shardPaths.push_back(single.str().str());
    } else if (llvm::sys::fs::exists(index)) {
      auto buffer = llvm::MemoryBuffer::getFile(index);
      if (!buffer)
        return fail(index + ": cannot open: " + buffer.getError().message());
      llvm::StringRef text = (*buffer)->getBuffer();
      nlohmann::json json =
          nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
      if (json.is_discarded() || !json.is_object())
        return fail(index + ": not a valid JSON object");
      auto map = json.find("weight_map");
      if (map == json.end() || !map->is_object())
        return fail(index + ": missing object 'weight_map'");
      for (auto it = map->begin(); it != map->end(); ++it) {
        if (!it.value().is_string())
          return fail(index + ": weight_map entry '" + it.key() +
                      "' is not a file name");
        std::string shard = it.value().get<std::string>();
        if (shard.find('/') != std::string::npos || shard == "..")
          return fail(index + ": shard name '" + shard +
                      "' must be a file in the checkpoint directory");
        expectedShard[it.key()] = shard;
        if (std::find(shardPaths.begin(), shardPaths.end(), shard) ==
            shardPaths.end())
          shardPaths.push_back(shard);
      }
      for (std::string &shard : shardPaths) {
        llvm::SmallString<256> full(path);
        llvm::sys::path::append(full, shard);
        shard = full.str().str();
      }
    } else {
      return fail(path + ": neither model.safetensors nor "
                         "model.safetensors.index.json is there");
    }
  }

  for (const std::string &shardPath : shardPaths) {
    auto file = SafetensorsFile::open(shardPath);
    if (!file)
      return file.takeError();
    ckpt.files.push_back(std::move(*file));
  }
  for (const auto &file : ckpt.files)
    for (const TensorInfo &info : file->tensors())
      ckpt.entries.push_back({file.get(), &info});
  std::sort(ckpt.entries.begin(), ckpt.entries.end(),
            [](const Entry &a, const Entry &b) {
              return a.info->name < b.info->name;
            });
  for (size_t i = 1; i < ckpt.entries.size(); ++i)
    if (ckpt.entries[i].info->name == ckpt.entries[i - 1].info->name)
      return fail("tensor '" + ckpt.entries[i].info->name +
                  "' appears in more than one shard");
  for (const auto &[name, shard] : expectedShard) {
    const Entry *e = ckpt.find(name);
    if (!e)
      return fail("tensor '" + name + "' listed in the index is missing from " +
                  shard);
    if (llvm::sys::path::filename(e->file->path()) != shard)
      return fail("tensor '" + name + "' is in " + e->file->path() +
                  ", but the index says " + shard);
  }
  return ckpt;
}

const Checkpoint::Entry *Checkpoint::find(llvm::StringRef name) const {
  auto it = std::lower_bound(
      entries.begin(), entries.end(), name,
      [](const Entry &e, llvm::StringRef n) { return e.info->name < n; });
  if (it == entries.end() || it->info->name != name)
    return nullptr;
  return &*it;
}

//===- SafetensorsFile.cpp - one mapped .safetensors file -----------------===//

#include "frontends/safetensors/SafetensorsFile.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cstring>

using namespace azc::safetensors;

namespace {

struct DTypeInfo {
  const char *name;
  DType type;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {"F64", DType::F64, 8},   {"F32", DType::F32, 4}, {"F16", DType::F16, 2},
    {"BF16", DType::BF16, 2}, {"I64", DType::I64, 8}, {"I32", DType::I32, 4},
    {"I16", DType::I16, 2},   {"I8", DType::I8, 1},   {"U8", DType::U8, 1},
    {"BOOL", DType::BOOL, 1}};

/// Headers above this are refused: real ones are kilobytes to a few MiB.
constexpr uint64_t kMaxHeader = 100u << 20;

} // namespace

size_t azc::safetensors::dtypeSize(DType type) {
  for (const DTypeInfo &info : kDTypes)
    if (info.type == type)
      return info.size;
  return 0;
}

const char *azc::safetensors::dtypeName(DType type) {
  for (const DTypeInfo &info : kDTypes)
    if (info.type == type)
      return info.name;
  return "?";
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string &path,
                                                       std::string &error) {
  auto mapped = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!mapped) {
    error = path + ": cannot read: " + mapped.getError().message();
    return nullptr;
  }
  std::shared_ptr<llvm::MemoryBuffer> buffer = std::move(*mapped);
  return parse(buffer, buffer->getBufferStart(), buffer->getBufferSize(), path,
               error);
}

std::unique_ptr<SafetensorsFile>
SafetensorsFile::parse(std::shared_ptr<const void> owner, const char *bytes,
                       size_t size, const std::string &path,
                       std::string &error) {
  auto fail = [&](const std::string &why) {
    error = path + ": " + why;
    return nullptr;
  };
  if (size < 8)
    return fail("too short for a safetensors file (" + std::to_string(size) +
                " bytes)");
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = headerSize << 8 | uint8_t(bytes[i]);
  if (headerSize > kMaxHeader || headerSize > size - 8)
    return fail("header length " + std::to_string(headerSize) +
                " does not fit the file's " + std::to_string(size) +
                " bytes (truncated, or not a safetensors file)");
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse(llvm::StringRef(bytes + 8, headerSize));
  if (!json)
    return fail("the header is not valid JSON: " +
                llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  if (!root)
    return fail("the header is not a JSON object");
  const char *data = bytes + 8 + headerSize;
  const uint64_t dataSize = size - 8 - headerSize;

  auto file = std::unique_ptr<SafetensorsFile>(new SafetensorsFile());
  file->path_ = path;
  std::vector<std::pair<uint64_t, uint64_t>> extents;
  for (const auto &[key, value] : *root) {
    std::string name = key.str();
    if (name == "__metadata__")
      continue;
    const llvm::json::Object *entry = value.getAsObject();
    if (!entry)
      return fail("tensor '" + name + "' is not described by an object");
    std::optional<llvm::StringRef> dtypeText = entry->getString("dtype");
    const llvm::json::Array *shape = entry->getArray("shape");
    const llvm::json::Array *offsets = entry->getArray("data_offsets");
    if (!dtypeText || !shape || !offsets)
      return fail("tensor '" + name + "' lacks dtype, shape or data_offsets");
    const DTypeInfo *info = nullptr;
    for (const DTypeInfo &candidate : kDTypes)
      if (*dtypeText == candidate.name)
        info = &candidate;
    if (!info)
      return fail("tensor '" + name + "' has dtype '" + dtypeText->str() +
                  "', which azc does not read");
    TensorView view;
    view.dtype = info->type;
    uint64_t count = 1;
    for (const llvm::json::Value &dim : *shape) {
      std::optional<int64_t> d = dim.getAsInteger();
      if (!d || *d < 0 || (*d > 0 && count > (UINT64_MAX >> 8) / uint64_t(*d)))
        return fail("tensor '" + name + "' has a bad shape");
      view.shape.push_back(*d);
      count *= uint64_t(*d);
    }
    std::optional<int64_t> begin, end;
    if (offsets->size() == 2) {
      begin = (*offsets)[0].getAsInteger();
      end = (*offsets)[1].getAsInteger();
    }
    if (!begin || !end || *begin < 0 || *end < *begin ||
        uint64_t(*end) > dataSize)
      return fail("tensor '" + name +
                  "' has data_offsets outside the file's data (truncated?)");
    if (uint64_t(*end - *begin) != count * info->size)
      return fail("tensor '" + name + "' has " + std::to_string(*end - *begin) +
                  " bytes, but its shape and " + info->name + " need " +
                  std::to_string(count * info->size));
    view.data = data + *begin;
    view.size = size_t(*end - *begin);
    view.owner = owner;
    extents.push_back({uint64_t(*begin), uint64_t(*end)});
    file->tensors_.try_emplace(name, std::move(view));
  }
  // Tensors may not share bytes: a writer that overlapped them is broken.
  std::sort(extents.begin(), extents.end());
  for (size_t i = 1; i < extents.size(); ++i)
    if (extents[i].first < extents[i - 1].second &&
        extents[i].first != extents[i].second)
      return fail("two tensors' data_offsets overlap");
  return file;
}

const TensorView *SafetensorsFile::find(llvm::StringRef name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> list;
  for (const auto &entry : tensors_)
    list.push_back(entry.getKey().str());
  std::sort(list.begin(), list.end());
  return list;
}

//===- SampleSource.cpp - calibration and evaluation samples --------------===//

#include "compiler/SampleSource.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace azc;
using azr_tools::HostTensor;

namespace {

/// The folder form: azr_tools' listSamples and readSample.
class FolderSource : public SampleSource {
public:
  std::vector<std::string> samples, names;
  size_t size() const override { return samples.size(); }
  std::string name(size_t i) const override { return samples[i]; }
  bool read(size_t i, std::vector<HostTensor> &tensors,
            std::string &error) override {
    return azr_tools::readSample(samples[i], names, tensors, error);
  }
};

/// Arrays with samples along their first axis (.npz, .safetensors).
class ArraySource : public SampleSource {
public:
  std::string path;
  std::vector<SampleInput> inputs;
  std::vector<HostTensor> arrays; ///< one per input
  size_t count = 0;

  /// Checks the arrays against the inputs and counts the samples.
  bool check(std::string &error) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      const HostTensor &a = arrays[i];
      const int64_t rank = int64_t(a.dims.size());
      if (a.dtype != inputs[i].dtype || rank < 1 ||
          (rank != inputs[i].rank && rank != inputs[i].rank + 1)) {
        error = path + ": array '" + inputs[i].name + "' (" +
                std::to_string(rank) +
                "-D) must be of the input's dtype and "
                "of rank " +
                std::to_string(inputs[i].rank) + " or " +
                std::to_string(inputs[i].rank + 1) +
                ", samples along its first axis";
        return false;
      }
      if (i > 0 && size_t(a.dims[0]) != count) {
        error = path + ": array '" + inputs[i].name + "' holds " +
                std::to_string(a.dims[0]) + " samples, '" + inputs[0].name +
                "' " + std::to_string(count);
        return false;
      }
      count = size_t(a.dims[0]);
    }
    if (count == 0)
      error = path + ": no samples";
    return count > 0;
  }

  size_t size() const override { return count; }
  std::string name(size_t i) const override {
    return path + "[" + std::to_string(i) + "]";
  }
  bool read(size_t s, std::vector<HostTensor> &tensors,
            std::string &) override {
    tensors.assign(inputs.size(), HostTensor());
    for (size_t i = 0; i < inputs.size(); ++i) {
      const HostTensor &a = arrays[i];
      HostTensor &t = tensors[i];
      t.dtype = a.dtype;
      t.dims.assign(a.dims.begin() + 1, a.dims.end());
      if (int64_t(a.dims.size()) == inputs[i].rank)
        t.dims.insert(t.dims.begin(), 1);
      const size_t bytes = a.data.size() / count;
      t.data.assign(a.data.begin() + s * bytes,
                    a.data.begin() + (s + 1) * bytes);
    }
    return true;
  }
};

uint32_t le32(const std::string &b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
uint16_t le16(const std::string &b, size_t at) {
  uint16_t v;
  std::memcpy(&v, b.data() + at, 2);
  return v;
}
uint64_t le64(const std::string &b, size_t at) {
  uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}

/// The stored (uncompressed) members of the zip archive `bytes`, by name.
bool readZip(const std::string &path, const std::string &bytes,
             std::vector<std::pair<std::string, std::string>> &members,
             std::string &error) {
  // The end of central directory record: 22 bytes plus a comment.
  size_t end = std::string::npos;
  for (size_t i = bytes.size() >= 22 ? bytes.size() - 22 : 0;; --i) {
    if (bytes.size() >= 22 && le32(bytes, i) == 0x06054b50) {
      end = i;
      break;
    }
    if (i == 0 || bytes.size() - i > 22 + 65535)
      break;
  }
  if (end == std::string::npos) {
    error = path + ": not an .npz (zip) file";
    return false;
  }
  const size_t entries = le16(bytes, end + 10);
  size_t at = le32(bytes, end + 16);
  for (size_t e = 0; e < entries; ++e) {
    if (at + 46 > bytes.size() || le32(bytes, at) != 0x02014b50) {
      error = path + ": damaged zip directory";
      return false;
    }
    const uint16_t method = le16(bytes, at + 10);
    uint64_t size = le32(bytes, at + 24);
    const size_t nameLength = le16(bytes, at + 28);
    const size_t extraLength = le16(bytes, at + 30);
    const size_t commentLength = le16(bytes, at + 32);
    uint64_t local = le32(bytes, at + 42);
    if (at + 46 + nameLength + extraLength > bytes.size()) {
      error = path + ": damaged zip directory";
      return false;
    }
    std::string name = bytes.substr(at + 46, nameLength);
    // Zip64: sizes and offsets of 0xFFFFFFFF are in the extra field, in
    // the order uncompressed size, compressed size, offset.
    for (size_t x = at + 46 + nameLength;
         x + 4 <= at + 46 + nameLength + extraLength;) {
      const uint16_t id = le16(bytes, x), length = le16(bytes, x + 2);
      if (id == 1) {
        size_t field = x + 4;
        if (size == 0xFFFFFFFFu && field + 8 <= x + 4 + length) {
          size = le64(bytes, field);
          field += 16; // and the compressed size
        }
        if (local == 0xFFFFFFFFu && field + 8 <= x + 4 + length)
          local = le64(bytes, field);
      }
      x += 4 + length;
    }
    if (method != 0) {
      error = path + ": member '" + name +
              "' is compressed; write the file with numpy.savez, not "
              "savez_compressed";
      return false;
    }
    if (local + 30 > bytes.size() || le32(bytes, local) != 0x04034b50) {
      error = path + ": damaged zip member '" + name + "'";
      return false;
    }
    const uint64_t data =
        local + 30 + le16(bytes, local + 26) + le16(bytes, local + 28);
    if (data + size > bytes.size()) {
      error = path + ": zip member '" + name + "' runs past the file";
      return false;
    }
    members.push_back({name, bytes.substr(data, size)});
    at += 46 + nameLength + extraLength + commentLength;
  }
  return true;
}

/// A file name for input `name`, as readSample maps it.
std::string fileName(const std::string &name) {
  std::string out = name;
  for (char &c : out)
    if (c == '/' || c == ':')
      c = '_';
  return out;
}

std::unique_ptr<SampleSource> openNpz(const std::string &path,
                                      const std::string &bytes,
                                      const std::vector<SampleInput> &inputs,
                                      std::string &error) {
  std::vector<std::pair<std::string, std::string>> members;
  if (!readZip(path, bytes, members, error))
    return nullptr;
  auto source = std::make_unique<ArraySource>();
  source->path = path;
  source->inputs = inputs;
  for (const SampleInput &input : inputs) {
    auto it = std::find_if(members.begin(), members.end(), [&](auto &m) {
      return m.first == fileName(input.name) + ".npy";
    });
    if (it == members.end()) {
      error = path + ": no array '" + fileName(input.name) + "' for input '" +
              input.name + "'";
      return nullptr;
    }
    HostTensor array;
    if (!azr_tools::readNpy(path + ":" + it->first, it->second, array, error))
      return nullptr;
    source->arrays.push_back(std::move(array));
  }
  if (!source->check(error))
    return nullptr;
  return source;
}

std::unique_ptr<SampleSource>
openSafetensors(const std::string &path, const std::string &bytes,
                const std::vector<SampleInput> &inputs, std::string &error) {
  if (bytes.size() < 8 || le64(bytes, 0) > bytes.size() - 8) {
    error = path + ": not a safetensors file (header length)";
    return nullptr;
  }
  const size_t headerLength = size_t(le64(bytes, 0));
  llvm::Expected<llvm::json::Value> header =
      llvm::json::parse(llvm::StringRef(bytes.data() + 8, headerLength));
  if (!header || !header->getAsObject()) {
    error = path + ": bad safetensors header" +
            (header ? "" : ": " + llvm::toString(header.takeError()));
    return nullptr;
  }
  const size_t base = 8 + headerLength;
  auto source = std::make_unique<ArraySource>();
  source->path = path;
  source->inputs = inputs;
  for (const SampleInput &input : inputs) {
    const llvm::json::Object *entry =
        header->getAsObject()->getObject(input.name);
    if (!entry) {
      error = path + ": no tensor '" + input.name + "'";
      return nullptr;
    }
    static const std::pair<const char *, azr_dtype_t> kTypes[] = {
        {"F32", AZR_DTYPE_F32},   {"F16", AZR_DTYPE_F16},
        {"BF16", AZR_DTYPE_BF16}, {"F64", AZR_DTYPE_F64},
        {"I64", AZR_DTYPE_I64},   {"I32", AZR_DTYPE_I32},
        {"I16", AZR_DTYPE_I16},   {"I8", AZR_DTYPE_I8},
        {"U8", AZR_DTYPE_U8},     {"BOOL", AZR_DTYPE_BOOL}};
    std::optional<llvm::StringRef> dtype = entry->getString("dtype");
    const llvm::json::Array *shape = entry->getArray("shape");
    const llvm::json::Array *offsets = entry->getArray("data_offsets");
    HostTensor array;
    bool known = false;
    for (auto [text, type] : kTypes)
      if (dtype && *dtype == text) {
        array.dtype = type;
        known = true;
      }
    uint64_t count = 1;
    bool valid = known && shape && offsets && offsets->size() == 2;
    if (valid)
      for (const llvm::json::Value &d : *shape) {
        std::optional<int64_t> v = d.getAsInteger();
        valid = valid && v && *v >= 0 && *v < (int64_t(1) << 40);
        if (valid) {
          array.dims.push_back(*v);
          count *= uint64_t(*v);
          valid = count < (uint64_t(1) << 48);
        }
      }
    std::optional<int64_t> begin = valid ? (*offsets)[0].getAsInteger() : 0;
    std::optional<int64_t> end = valid ? (*offsets)[1].getAsInteger() : 0;
    valid = valid && begin && end && *begin >= 0 && *end >= *begin &&
            uint64_t(*end) <= bytes.size() - base &&
            uint64_t(*end - *begin) == count * azr_dtype_size(array.dtype);
    if (!valid) {
      error = path + ": tensor '" + input.name +
              "' has an unknown dtype, a bad shape or offsets outside the "
              "file";
      return nullptr;
    }
    array.data.assign(bytes.begin() + base + *begin,
                      bytes.begin() + base + *end);
    source->arrays.push_back(std::move(array));
  }
  if (!source->check(error))
    return nullptr;
  return source;
}

/// Token ids, one sample a line.
class TokenSource : public SampleSource {
public:
  std::string path;
  std::vector<SampleInput> inputs;
  std::vector<std::vector<int64_t>> lines;
  std::vector<size_t> lineNumbers;

  size_t size() const override { return lines.size(); }
  std::string name(size_t i) const override {
    return path + ":" + std::to_string(lineNumbers[i]);
  }
  bool read(size_t s, std::vector<HostTensor> &tensors,
            std::string &) override {
    tensors.assign(inputs.size(), HostTensor());
    const int64_t length = int64_t(lines[s].size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      HostTensor &t = tensors[i];
      t.dtype = AZR_DTYPE_I64;
      t.dims = {1, length};
      t.data.resize(size_t(length) * 8);
      if (inputs[i].name == "input_ids") {
        std::memcpy(t.data.data(), lines[s].data(), t.data.size());
      } else if (inputs[i].name == "position_ids") {
        for (int64_t k = 0; k < length; ++k)
          std::memcpy(t.data.data() + k * 8, &k, 8);
      } else {
        const int64_t one = 1;
        for (int64_t k = 0; k < length; ++k)
          std::memcpy(t.data.data() + k * 8, &one, 8);
      }
    }
    return true;
  }
};

std::unique_ptr<SampleSource> openJsonl(const std::string &path,
                                        const std::string &bytes,
                                        const std::vector<SampleInput> &inputs,
                                        std::string &error) {
  for (const SampleInput &input : inputs)
    if ((input.name != "input_ids" && input.name != "attention_mask" &&
         input.name != "position_ids") ||
        input.dtype != AZR_DTYPE_I64 || input.rank != 2) {
      error = path +
              ": token-id samples feed int64 [batch, sequence] "
              "input_ids (and attention_mask, position_ids); the model's "
              "input '" +
              input.name + "' is not one";
      return nullptr;
    }
  auto source = std::make_unique<TokenSource>();
  source->path = path;
  source->inputs = inputs;
  llvm::SmallVector<llvm::StringRef> lines;
  llvm::StringRef(bytes).split(lines, '\n');
  for (size_t n = 0; n < lines.size(); ++n) {
    llvm::StringRef line = lines[n].trim();
    if (line.empty())
      continue;
    const std::string where = path + ":" + std::to_string(n + 1);
    llvm::Expected<llvm::json::Value> value = llvm::json::parse(line);
    if (!value) {
      error = where + ": " + llvm::toString(value.takeError());
      return nullptr;
    }
    const llvm::json::Array *ids = value->getAsArray();
    if (!ids && value->getAsObject())
      ids = value->getAsObject()->getArray("input_ids");
    if (!ids || ids->empty()) {
      error = where + ": expected a non-empty array of token ids, or an "
                      "object with one as \"input_ids\"";
      return nullptr;
    }
    std::vector<int64_t> tokens;
    for (const llvm::json::Value &id : *ids) {
      std::optional<int64_t> v = id.getAsInteger();
      if (!v || *v < 0) {
        error = where + ": token ids must be integers >= 0";
        return nullptr;
      }
      tokens.push_back(*v);
    }
    if (!source->lines.empty() &&
        tokens.size() != source->lines.front().size()) {
      error = where + ": " + std::to_string(tokens.size()) + " tokens, line " +
              std::to_string(source->lineNumbers.front()) + " has " +
              std::to_string(source->lines.front().size()) +
              ": samples must be of one length";
      return nullptr;
    }
    source->lines.push_back(std::move(tokens));
    source->lineNumbers.push_back(n + 1);
  }
  if (source->lines.empty()) {
    error = path + ": no samples";
    return nullptr;
  }
  return source;
}

} // namespace

std::unique_ptr<SampleSource> SampleSource::parse(
    Format format, const std::string &path, const std::string &bytes,
    const std::vector<SampleInput> &inputs, std::string &error) {
  switch (format) {
  case Format::npz:
    return openNpz(path, bytes, inputs, error);
  case Format::safetensors:
    return openSafetensors(path, bytes, inputs, error);
  case Format::jsonl:
    return openJsonl(path, bytes, inputs, error);
  }
  return nullptr;
}

std::unique_ptr<SampleSource>
SampleSource::open(const std::string &path,
                   const std::vector<SampleInput> &inputs, std::string &error) {
  llvm::StringRef extension = llvm::sys::path::extension(path);
  std::optional<Format> format;
  if (extension.equals_insensitive(".npz"))
    format = Format::npz;
  else if (extension.equals_insensitive(".safetensors"))
    format = Format::safetensors;
  else if (extension.equals_insensitive(".jsonl"))
    format = Format::jsonl;
  if (format) {
    std::string bytes;
    if (!azr_tools::readFile(path, bytes, error))
      return nullptr;
    return parse(*format, path, bytes, inputs, error);
  }
  auto source = std::make_unique<FolderSource>();
  source->samples = azr_tools::listSamples(path, error);
  if (source->samples.empty())
    return nullptr;
  for (const SampleInput &input : inputs)
    source->names.push_back(input.name);
  return source;
}

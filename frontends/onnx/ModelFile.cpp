//===- ModelFile.cpp - map, parse and locate ONNX tensor bytes ------------===//

#include "frontends/onnx/ModelFile.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

using namespace azc::onnx_frontend;

namespace {

/// A minimal reader of the protobuf wire format, used only to find where
/// initializers' raw_data bytes sit in the file.
struct WireReader {
  const uint8_t *begin, *pos, *end;

  bool varint(uint64_t &value) {
    value = 0;
    for (int shift = 0; shift < 64 && pos < end; shift += 7) {
      uint8_t byte = *pos++;
      value |= uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80))
        return true;
    }
    return false;
  }

  /// Reads one field's key and, for length-delimited fields, its payload
  /// bounds; skips other payloads. False on malformed input.
  bool field(uint32_t &number, const uint8_t *&payload, size_t &length) {
    uint64_t key;
    if (!varint(key))
      return false;
    number = key >> 3;
    payload = nullptr;
    length = 0;
    switch (key & 7) {
    case 0: {
      uint64_t ignored;
      return varint(ignored);
    }
    case 1:
      if (end - pos < 8)
        return false;
      pos += 8;
      return true;
    case 5:
      if (end - pos < 4)
        return false;
      pos += 4;
      return true;
    case 2: {
      uint64_t size;
      if (!varint(size) || size > uint64_t(end - pos))
        return false;
      payload = pos;
      length = size;
      pos += size;
      return true;
    }
    default:
      return false; // Groups are not used by onnx.proto.
    }
  }
};

constexpr uint32_t kModelGraph = 7;
constexpr uint32_t kGraphInitializer = 5;
constexpr uint32_t kTensorName = 8;
constexpr uint32_t kTensorRawData = 9;

} // namespace

std::unique_ptr<ModelFile> ModelFile::load(const std::string &path,
                                           std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    error = path + ": cannot read: " + buffer.getError().message();
    return nullptr;
  }
  std::unique_ptr<ModelFile> file(new ModelFile());
  file->path_ = path;
  file->directory_ = llvm::sys::path::parent_path(path).str();
  file->buffer_ = std::move(*buffer);
  const llvm::MemoryBuffer &bytes = *file->buffer_;
  if (bytes.getBufferSize() == 0) {
    error = path + ": not an ONNX model: the file is empty";
    return nullptr;
  }
  if (bytes.getBufferSize() > size_t(INT32_MAX)) {
    error = path + ": the file is over 2 GB; ONNX models this large keep "
                   "their weights in external data files";
    return nullptr;
  }
  google::protobuf::io::ArrayInputStream stream(bytes.getBufferStart(),
                                                (int)bytes.getBufferSize());
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(INT32_MAX);
  if (!file->model_.ParseFromCodedStream(&coded) ||
      !coded.ConsumedEntireMessage()) {
    error = path + ": not a valid ONNX model: the protobuf does not parse "
                   "(truncated or not an ONNX file)";
    return nullptr;
  }
  if (!file->model_.has_graph() || file->model_.ir_version() <= 0) {
    error = path + ": not a valid ONNX model: " +
            (file->model_.has_graph() ? "no IR version" : "no graph");
    return nullptr;
  }
  file->locateInitializerBytes();
  return file;
}

void ModelFile::locateInitializerBytes() {
  auto *start = reinterpret_cast<const uint8_t *>(buffer_->getBufferStart());
  WireReader model{start, start, start + buffer_->getBufferSize()};
  uint32_t number;
  const uint8_t *payload;
  size_t length;
  while (model.pos < model.end && model.field(number, payload, length)) {
    if (number != kModelGraph || !payload)
      continue;
    WireReader graph{start, payload, payload + length};
    while (graph.pos < graph.end && graph.field(number, payload, length)) {
      if (number != kGraphInitializer || !payload)
        continue;
      WireReader tensor{start, payload, payload + length};
      std::string name;
      const uint8_t *raw = nullptr;
      size_t rawLength = 0;
      while (tensor.pos < tensor.end && tensor.field(number, payload, length)) {
        if (number == kTensorName && payload)
          name.assign(reinterpret_cast<const char *>(payload), length);
        else if (number == kTensorRawData && payload) {
          raw = payload;
          rawLength = length;
        }
      }
      if (raw && !name.empty())
        rawDataSpans_[name] = Span{size_t(raw - start), rawLength};
    }
  }
  // Drop the parsed copies of bytes found in the mapping, so the build keeps
  // one copy of the weights: the mapped file.
  for (onnx::TensorProto &tensor :
       *model_.mutable_graph()->mutable_initializer()) {
    auto it = rawDataSpans_.find(tensor.name());
    if (it == rawDataSpans_.end())
      continue;
    const std::string &raw = tensor.raw_data();
    if (raw.size() != it->second.size ||
        memcmp(buffer_->getBufferStart() + it->second.offset, raw.data(),
               raw.size()) != 0) {
      rawDataSpans_.erase(it); // Duplicate names: keep the parsed copy.
      continue;
    }
    std::string().swap(*tensor.mutable_raw_data());
  }
}

bool ModelFile::rawBytes(const onnx::TensorProto &tensor, TensorBytes &bytes,
                         std::string &error) {
  bytes = TensorBytes();
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL)
    return externalBytes(tensor, bytes, error);
  auto it = rawDataSpans_.find(tensor.name());
  if (it != rawDataSpans_.end() && tensor.raw_data().empty()) {
    bytes.data = buffer_->getBufferStart() + it->second.offset;
    bytes.size = it->second.size;
    bytes.owner = buffer_;
    return true;
  }
  if (tensor.has_raw_data()) {
    // Bytes that live only in the parsed message (Constant node values,
    // typically small): the blob may outlive the message, so copy them.
    auto copy = std::make_shared<std::string>(tensor.raw_data());
    bytes.data = copy->data();
    bytes.size = copy->size();
    bytes.owner = std::move(copy);
  }
  return true;
}

bool ModelFile::externalBytes(const onnx::TensorProto &tensor,
                              TensorBytes &bytes, std::string &error) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const onnx::StringStringEntryProto &entry : tensor.external_data()) {
    if (entry.key() == "location")
      location = entry.value();
    else if (entry.key() == "offset" || entry.key() == "length") {
      llvm::StringRef text(entry.value());
      int64_t value;
      if (text.getAsInteger(10, value) || value < 0) {
        error = "tensor '" + tensor.name() + "': bad external data " +
                entry.key() + " '" + entry.value() + "'";
        return false;
      }
      (entry.key() == "offset" ? offset : length) = value;
    }
  }
  // Locations are relative to the model's directory and may not leave it.
  if (location.empty() || llvm::sys::path::is_absolute(location) ||
      llvm::StringRef(location).contains("..")) {
    error = "tensor '" + tensor.name() + "': external data location '" +
            location + "' must be a relative path inside the model's folder";
    return false;
  }
  std::string full =
      directory_.empty() ? location : directory_ + "/" + location;
  auto &file = externalFiles_[location];
  if (!file) {
    auto mapped = llvm::MemoryBuffer::getFile(full, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!mapped) {
      error = "tensor '" + tensor.name() +
              "': cannot read external data file '" + full +
              "': " + mapped.getError().message();
      return false;
    }
    file = std::move(*mapped);
  }
  size_t fileSize = file->getBufferSize();
  if (length < 0)
    length = offset <= (int64_t)fileSize ? fileSize - offset : 0;
  // Both are non-negative: compare without the sum, which could overflow.
  if (offset > (int64_t)fileSize || length > (int64_t)fileSize - offset) {
    error = "tensor '" + tensor.name() + "': external data [" +
            std::to_string(offset) + ", " + std::to_string(offset) + " + " +
            std::to_string(length) + ") lies beyond the end of '" + full +
            "' (" + std::to_string(fileSize) + " bytes)";
    return false;
  }
  bytes.data = file->getBufferStart() + offset;
  bytes.size = length;
  bytes.owner = file;
  return true;
}

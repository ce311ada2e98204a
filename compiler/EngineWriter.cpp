//===- EngineWriter.cpp - serialize a plan into an engine file ------------===//
//
// Layout: a 64-byte header, the FlatBuffer metadata, then the constants
// section with every weight 64-byte aligned. Weights are streamed from their
// resource blobs (the mmapped model) into the file and hashed on the way, so
// writing never holds a second copy of the model. Nothing time- or
// address-dependent is written, so the output is deterministic.
//
//===----------------------------------------------------------------------===//

#include "compiler/EngineWriter.h"

#include "azr/engine_format.h"
#include "runtime/schema/engine_generated.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace azc;
using namespace azc::plan;
namespace fb = flatbuffers;
namespace schema = azr::schema;

namespace {

fb::Offset<schema::Engine> buildMetadata(fb::FlatBufferBuilder &b,
                                         const Plan &plan,
                                         const EngineInfo &info) {
  auto strings = [&](const std::vector<std::string> &list) {
    std::vector<fb::Offset<fb::String>> offsets;
    for (const std::string &s : list)
      offsets.push_back(b.CreateString(s));
    return b.CreateVector(offsets);
  };
  auto signatures = [&](const std::vector<Signature> &list) {
    std::vector<fb::Offset<schema::TensorSignature>> offsets;
    for (const Signature &sig : list) {
      std::vector<fb::Offset<schema::Dim>> dims;
      for (size_t d = 0; d < sig.dims.size(); ++d) {
        auto name =
            sig.dimNames[d].empty() ? 0 : b.CreateString(sig.dimNames[d]);
        dims.push_back(schema::CreateDim(b, sig.dims[d], name, sig.dimMin[d],
                                         sig.dimMax[d], sig.dimSymbols[d]));
      }
      auto name = b.CreateString(sig.name);
      auto fixed = sig.fixedValue.empty()
                       ? 0
                       : b.CreateVector(reinterpret_cast<const uint8_t *>(
                                            sig.fixedValue.data()),
                                        sig.fixedValue.size());
      offsets.push_back(schema::CreateTensorSignature(
          b, name, schema::DType(sig.dtype), b.CreateVector(dims), sig.value,
          fixed, sig.extentDim, sig.extentValue));
    }
    return b.CreateVector(offsets);
  };
  std::vector<fb::Offset<schema::BuildOption>> options;
  for (auto &[key, value] : info.buildOptions)
    options.push_back(schema::CreateBuildOption(b, b.CreateString(key),
                                                b.CreateString(value)));
  // Polynomials are stored back to back, 2^k coefficients each.
  auto coefficients = [&](const std::vector<Polynomial> &list) {
    if (list.empty())
      return fb::Offset<fb::Vector<int64_t>>();
    std::vector<int64_t> flat;
    for (const Polynomial &p : list)
      flat.insert(flat.end(), p.begin(), p.end());
    return b.CreateVector(flat);
  };
  std::vector<fb::Offset<schema::Value>> values;
  for (const Value &v : plan.values)
    values.push_back(schema::CreateValue(
        b, schema::DType(v.dtype), b.CreateVector(v.shape),
        schema::Storage(v.storage), v.offset, v.size, v.index,
        v.name.empty() ? 0 : b.CreateString(v.name),
        coefficients(v.dimPolynomials), coefficients(v.elementPolynomials)));
  std::vector<fb::Offset<schema::Step>> steps;
  for (const Step &s : plan.steps) {
    std::vector<fb::Offset<schema::Attribute>> attrs;
    for (const Attribute &a : s.attributes)
      attrs.push_back(schema::CreateAttribute(
          b, b.CreateString(a.name), schema::AttributeKind(a.kind), a.intValue,
          a.floatValue, a.kind == Attribute::Ints ? b.CreateVector(a.ints) : 0,
          a.kind == Attribute::String ? b.CreateString(a.stringValue) : 0,
          coefficients(a.intPolynomials)));
    steps.push_back(
        schema::CreateStep(b, b.CreateString(s.op), b.CreateString(s.location),
                           b.CreateVector(s.inputs), b.CreateVector(s.outputs),
                           b.CreateVector(attrs), s.flops));
  }
  auto producer = b.CreateString(info.producer);
  auto source = b.CreateString(info.sourceModel);
  auto target = b.CreateString(info.target);
  auto features = strings(info.cpuFeatures);
  auto optionVector = b.CreateVector(options);
  auto inputs = signatures(plan.inputs);
  auto outputs = signatures(plan.outputs);
  std::vector<fb::Offset<schema::Symbol>> symbols;
  for (const Symbol &symbol : plan.symbols)
    symbols.push_back(schema::CreateSymbol(b, b.CreateString(symbol.name),
                                           symbol.min, symbol.opt, symbol.max));
  auto symbolVector = symbols.empty() ? 0 : b.CreateVector(symbols);
  std::vector<fb::Offset<schema::Attachment>> attachments;
  for (auto &[name, bytes] : info.attachments)
    attachments.push_back(schema::CreateAttachment(
        b, b.CreateString(name),
        b.CreateVector(reinterpret_cast<const uint8_t *>(bytes.data()),
                       bytes.size())));
  auto attachmentVector = attachments.empty() ? 0 : b.CreateVector(attachments);
  fb::Offset<schema::KvCacheLayout> kvCache = 0;
  if (const KvCacheLayout &kv = info.kvCache; kv.layers > 0) {
    schema::KvDType dtype = llvm::StringSwitch<schema::KvDType>(kv.dtype)
                                .Case("fp16", schema::KvDType::f16)
                                .Case("bf16", schema::KvDType::bf16)
                                .Case("int8", schema::KvDType::i8)
                                .Case("fp8", schema::KvDType::fp8_e4m3)
                                .Default(schema::KvDType::f32);
    kvCache = schema::CreateKvCacheLayout(
        b, int32_t(kv.layers), int32_t(kv.kvHeads), int32_t(kv.headDim),
        int32_t(kv.tokensPerBlock), dtype, int32_t(kv.maxBlocksPerSequence),
        kv.defaultBlocks);
  }
  auto valueVector = b.CreateVector(values);
  auto stepVector = b.CreateVector(steps);
  return schema::CreateEngine(
      b, producer, source, target, features, optionVector, inputs, outputs,
      valueVector, stepVector, plan.arenaSize, plan.intermediateBytes,
      plan.parameterCount, plan.constantsSize, symbolVector, attachmentVector,
      kvCache, info.maxNumTokens);
}

/// Writes everything to `os` (positioned at 0), hashing as it goes.
bool writeSections(llvm::raw_pwrite_stream &os, const Plan &plan,
                   const fb::FlatBufferBuilder &metadata, std::string &error) {
  azr_engine_header_t header = {};
  memcpy(header.magic, AZR_ENGINE_MAGIC, sizeof(header.magic));
  // Shape ranges and fixed inputs are checks a version-1 reader would skip;
  // a version-2 reader would report a data-dependent output at its bound.
  bool needsVersion2 =
      !plan.symbols.empty() ||
      std::any_of(plan.inputs.begin(), plan.inputs.end(),
                  [](const Signature &sig) { return !sig.fixedValue.empty(); });
  bool needsVersion3 =
      std::any_of(plan.outputs.begin(), plan.outputs.end(),
                  [](const Signature &sig) { return sig.extentDim >= 0; });
  header.format_version = needsVersion3 ? AZR_ENGINE_FORMAT_VERSION
                          : needsVersion2
                              ? AZR_ENGINE_FORMAT_VERSION_SHAPE_RANGES
                              : AZR_ENGINE_FORMAT_VERSION_STATIC;
  header.header_size = sizeof(header);
  header.metadata_offset = sizeof(header);
  header.metadata_size = metadata.GetSize();
  header.constants_offset =
      (header.metadata_offset + header.metadata_size + 63) / 64 * 64;
  header.constants_size = plan.constantsSize;
  header.metadata_hash =
      azr_xxh64(metadata.GetBufferPointer(), metadata.GetSize(), 0);

  os.write(reinterpret_cast<const char *>(&header), sizeof(header));
  os.write(reinterpret_cast<const char *>(metadata.GetBufferPointer()),
           metadata.GetSize());
  static const char zeros[64] = {};
  os.write(zeros, header.constants_offset - header.metadata_offset -
                      header.metadata_size);

  azr_xxh64_state_t hash;
  azr_xxh64_init(&hash, 0);
  uint64_t written = 0;
  std::vector<char> scratch;
  for (const Value &v : plan.values) {
    if (v.storage != Storage::Constant || v.aliasOf >= 0)
      continue;
    llvm::ArrayRef<char> bytes = constantBytes(v, scratch);
    if (bytes.size() != v.size) {
      error = "weight '" + v.name + "' has " + std::to_string(bytes.size()) +
              " bytes of data, expected " + std::to_string(v.size);
      return false;
    }
    // Constants are laid out in value order at increasing offsets.
    size_t pad = v.offset - written;
    os.write(zeros, pad);
    azr_xxh64_update(&hash, zeros, pad);
    os.write(bytes.data(), bytes.size());
    azr_xxh64_update(&hash, bytes.data(), bytes.size());
    written = v.offset + v.size;
  }
  size_t tail = plan.constantsSize - written;
  std::vector<char> tailZeros(tail, 0);
  os.write(tailZeros.data(), tail);
  azr_xxh64_update(&hash, tailZeros.data(), tail);
  header.constants_hash = azr_xxh64_digest(&hash);
  os.pwrite(reinterpret_cast<const char *>(&header), sizeof(header), 0);
  return true;
}

} // namespace

bool azc::writeEngine(const Plan &plan, const EngineInfo &info,
                      const std::string &path, std::string &error) {
  fb::FlatBufferBuilder builder(1 << 16);
  builder.Finish(buildMetadata(builder, plan, info), "AZEN");

  llvm::SmallString<256> temporary;
  int fd;
  llvm::StringRef folder = llvm::sys::path::parent_path(path);
  std::string model = (folder.empty() ? std::string(".") : folder.str()) +
                      "/." + llvm::sys::path::filename(path).str() +
                      ".tmp-%%%%%%";
  if (std::error_code ec =
          llvm::sys::fs::createUniqueFile(model, fd, temporary)) {
    error = "cannot create a file next to '" + path + "': " + ec.message();
    return false;
  }
  bool ok;
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    ok = writeSections(os, plan, builder, error);
    os.close();
    if (ok && os.has_error()) {
      error = "cannot write '" + path + "': " + os.error().message();
      os.clear_error();
      ok = false;
    }
  }
  if (ok) {
    if (std::error_code ec = llvm::sys::fs::rename(temporary, path)) {
      error = "cannot write '" + path + "': " + ec.message();
      ok = false;
    }
  }
  if (!ok)
    llvm::sys::fs::remove(temporary);
  return ok;
}

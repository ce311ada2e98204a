//===- engine.cc - load and verify an engine file -------------------------===//
//
// Nothing in an engine file is trusted until checked: the header's magic,
// version and section bounds, both section checksums, the FlatBuffer's
// structure, and then what the executor relies on — every value inside its
// storage, every step's kernel present and its operands in range, no step
// writing into the read-only constants. Each refusal names the file and the
// reason; none crashes.
//
//===----------------------------------------------------------------------===//

#include "engine.h"

#include "azr/engine_format.h"
#include "cpu_features.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using azr::schema::Storage;

size_t azr::schemaDTypeSize(int dtype) {
  if (dtype < 0 || dtype > (int)azr::schema::DType::MAX)
    return 0;
  return azr::cpu::dtypeSize(azr::cpu::DType(dtype));
}

std::string azr::formatShape(const int64_t *dims, size_t rank) {
  std::string text = "[";
  for (size_t i = 0; i < rank; ++i)
    text += (i ? "," : "") + std::to_string(dims[i]);
  return text + "]";
}

size_t azr_dtype_size(azr_dtype_t dtype) { return azr::schemaDTypeSize(dtype); }

const char *azr_dtype_name(azr_dtype_t dtype) {
  if (!azr::schemaDTypeSize(dtype))
    return "unknown";
  return azr::cpu::dtypeName(azr::cpu::DType(dtype));
}

namespace {

#define REFUSE(code, ...) return azr_status_make(code, __VA_ARGS__)

/// Checks the symbols and polynomials of a dynamic engine: every count
/// matches its rank or element count, and every symbol is read from an
/// input dim. Their values are checked at run time, against the capacities.
azr_status_t verifySymbols(azr_engine_t *engine) {
  const char *path = engine->path.c_str();
  const azr::schema::Engine *meta = engine->meta;
  size_t k = meta->symbols() ? meta->symbols()->size() : 0;
  if (k > azr::kMaxSymbols)
    REFUSE(AZR_STATUS_DATA_LOSS, "%s: %zu symbols, more than %zu", path, k,
           azr::kMaxSymbols);
  engine->symbolCount = k;
  size_t terms = size_t(1) << k;
  for (size_t s = 0; s < k; ++s) {
    const azr::schema::Symbol *symbol = meta->symbols()->Get(s);
    if (symbol->min() < 0 || symbol->min() > symbol->opt() ||
        symbol->opt() > symbol->max())
      REFUSE(AZR_STATUS_DATA_LOSS, "%s: symbol '%s' has a bad range", path,
             symbol->name()->c_str());
  }
  for (uint32_t i = 0; i < meta->values()->size(); ++i) {
    const azr::schema::Value *v = meta->values()->Get(i);
    size_t rank = v->shape() ? v->shape()->size() : 0;
    if (v->dim_coefficients() && v->dim_coefficients()->size() != rank * terms)
      REFUSE(AZR_STATUS_DATA_LOSS, "%s: value %u has bad dim polynomials", path,
             i);
    if (const auto *elements = v->element_coefficients()) {
      size_t count = v->size() / azr::schemaDTypeSize(int(v->dtype()));
      bool integer = v->dtype() == azr::schema::DType::i64 ||
                     v->dtype() == azr::schema::DType::i32;
      if (!integer || v->storage() != Storage::Arena ||
          elements->size() != count * terms)
        REFUSE(AZR_STATUS_DATA_LOSS, "%s: value %u has bad element polynomials",
               path, i);
    }
  }
  for (const azr::schema::Step *step : *meta->steps()) {
    if (!step->attributes())
      continue;
    for (const azr::schema::Attribute *a : *step->attributes()) {
      const auto *coefficients = a->int_coefficients();
      if (!coefficients)
        continue;
      size_t count = a->kind() == azr::schema::AttributeKind::Int ? 1
                     : a->ints() ? a->ints()->size()
                                 : 0;
      if (a->kind() == azr::schema::AttributeKind::Float ||
          a->kind() == azr::schema::AttributeKind::String ||
          coefficients->size() != count * terms)
        REFUSE(AZR_STATUS_DATA_LOSS, "%s: attribute '%s' has bad polynomials",
               path, a->name()->c_str());
    }
  }
  engine->symbolSources.assign(k, {SIZE_MAX, 0});
  for (uint32_t i = 0; i < meta->inputs()->size(); ++i) {
    const azr::schema::TensorSignature *sig = meta->inputs()->Get(i);
    std::vector<azr_engine_s::DimRange> ranges;
    for (uint32_t d = 0; sig->dims() && d < sig->dims()->size(); ++d) {
      const azr::schema::Dim *dim = sig->dims()->Get(d);
      azr_engine_s::DimRange range;
      range.min = dim->min();
      range.max = dim->max();
      range.symbol = dim->symbol();
      range.name = dim->name() ? dim->name()->c_str() : nullptr;
      if (range.min < 0 || range.min > range.max || range.max != dim->size() ||
          range.symbol < -1 || range.symbol >= int(k) ||
          (k == 0 && range.min != range.max))
        REFUSE(AZR_STATUS_DATA_LOSS, "%s: input '%s' dim %u has a bad range",
               path, sig->name()->c_str(), d);
      if (range.symbol >= 0 &&
          engine->symbolSources[range.symbol].first == SIZE_MAX)
        engine->symbolSources[range.symbol] = {i, d};
      ranges.push_back(range);
    }
    engine->inputRanges.push_back(std::move(ranges));
  }
  for (size_t s = 0; s < k; ++s)
    if (engine->symbolSources[s].first == SIZE_MAX)
      REFUSE(AZR_STATUS_DATA_LOSS, "%s: no input dim gives symbol '%s'", path,
             meta->symbols()->Get(s)->name()->c_str());
  return nullptr;
}

/// The most tokens one run takes (azc build --max_num_tokens) bounds the
/// product of input_ids' dims, so the engine must have that input.
azr_status_t verifyTokenBudget(azr_engine_t *engine) {
  const int64_t budget = engine->meta->max_num_tokens();
  if (budget == 0)
    return nullptr;
  for (size_t i = 0; i < engine->inputs.size(); ++i)
    if (strcmp(engine->inputs[i].name, "input_ids") == 0 &&
        engine->inputs[i].rank == 2)
      engine->tokenInput = int(i);
  if (budget < 0 || engine->tokenInput < 0)
    REFUSE(AZR_STATUS_DATA_LOSS,
           "%s: max_num_tokens %lld needs a positive budget and an input "
           "input_ids [batch, sequence]",
           engine->path.c_str(), (long long)budget);
  engine->maxNumTokens = budget;
  return nullptr;
}

/// Checks the paged KV cache layout, if the engine has one, and the two
/// inputs through which a session hands it the batch's block tables and
/// past lengths (azr_session_set_kv_sequences).
azr_status_t verifyKvCache(azr_engine_t *engine) {
  const char *path = engine->path.c_str();
  const azr::schema::KvCacheLayout *kv = engine->meta->kv_cache();
  if (!kv)
    return nullptr;
  if (kv->layers() <= 0 || kv->kv_heads() <= 0 || kv->head_dim() <= 0 ||
      kv->tokens_per_block() <= 0 || kv->max_blocks_per_sequence() <= 0 ||
      kv->default_blocks() <= 0 || kv->default_blocks() > INT32_MAX ||
      kv->dtype() > azr::schema::KvDType::MAX)
    REFUSE(AZR_STATUS_DATA_LOSS,
           "%s: the paged KV cache layout is invalid (every size must be "
           "positive, the dtype known)",
           path);
  auto input = [&](const char *name, int rank) -> int {
    for (size_t i = 0; i < engine->inputs.size(); ++i)
      if (strcmp(engine->inputs[i].name, name) == 0)
        return engine->inputs[i].dtype == AZR_DTYPE_I32 &&
                       engine->inputs[i].rank == size_t(rank)
                   ? int(i)
                   : -2;
    return -1;
  };
  const int table = input("kv_block_table", 2);
  const int lengths = input("kv_past_lengths", 1);
  if (table < 0 || lengths < 0)
    REFUSE(AZR_STATUS_DATA_LOSS,
           "%s: an engine with a paged KV cache needs inputs kv_block_table "
           "(i32, rank 2) and kv_past_lengths (i32, rank 1)",
           path);
  const azr_engine_s::DimRange &blocks = engine->inputRanges[table][1];
  if (blocks.min != kv->max_blocks_per_sequence() ||
      blocks.max != kv->max_blocks_per_sequence())
    REFUSE(AZR_STATUS_DATA_LOSS,
           "%s: kv_block_table's second dim is not the cache layout's %d "
           "blocks per sequence",
           path, kv->max_blocks_per_sequence());
  azr::KvLayout &layout = engine->kvLayout;
  layout.dtype = azr::cpu::KvDType(kv->dtype());
  layout.layers = kv->layers();
  layout.kvHeads = kv->kv_heads();
  layout.headDim = kv->head_dim();
  layout.tokensPerBlock = kv->tokens_per_block();
  layout.maxBlocksPerSequence = kv->max_blocks_per_sequence();
  layout.defaultBlocks = kv->default_blocks();
  engine->hasKvCache = true;
  return nullptr;
}

/// Checks the outputs whose size depends on the input values: the dim is
/// one of the output's, and its extent is an i64 scalar in the arena (whose
/// bounds are verified) that some step writes, for the session to read
/// after the run. The size itself is checked at each run, against the
/// dim.
azr_status_t verifyOutputExtents(azr_engine_t *engine) {
  const azr::schema::Engine *meta = engine->meta;
  const uint32_t numValues = meta->values()->size();
  for (uint32_t i = 0; i < meta->outputs()->size(); ++i) {
    const azr::schema::TensorSignature *sig = meta->outputs()->Get(i);
    azr_engine_s::OutputExtent extent{sig->data_dependent_dim(),
                                      sig->extent_value()};
    if (extent.dim == -1 && extent.value == -1) {
      engine->outputExtents.push_back(extent);
      continue;
    }
    bool valid = extent.dim >= 0 &&
                 size_t(extent.dim) < engine->outputs[i].rank &&
                 extent.value >= 0 && uint32_t(extent.value) < numValues &&
                 extent.value != sig->value();
    if (valid) {
      const azr::schema::Value *v = meta->values()->Get(extent.value);
      valid = v->dtype() == azr::schema::DType::i64 && v->size() == 8 &&
              v->storage() == Storage::Arena;
    }
    bool written = false;
    for (uint32_t s = 0; valid && !written && s < meta->steps()->size(); ++s)
      for (int index : *meta->steps()->Get(s)->outputs())
        written |= index == extent.value;
    if (!valid || !written)
      REFUSE(AZR_STATUS_DATA_LOSS,
             "%s: output '%s' has a bad data-dependent dim (%d) or extent "
             "value (%d): the dim must be one of its dims and the value an "
             "i64 scalar that a step writes",
             engine->path.c_str(), sig->name()->c_str(), extent.dim,
             extent.value);
    // Unknown until a run, like a dim that varies.
    engine->outputs[i].dims[extent.dim] = -1;
    engine->outputExtents.push_back(extent);
  }
  return nullptr;
}

/// Checks the values and steps the executor will trust.
azr_status_t verifyProgram(azr_engine_t *engine) {
  const char *path = engine->path.c_str();
  const azr::schema::Engine *meta = engine->meta;
  if (!meta->values() || !meta->steps() || !meta->inputs() || !meta->outputs())
    REFUSE(AZR_STATUS_DATA_LOSS, "%s: the engine has no program", path);
  uint64_t constantsSize = meta->constants_size();
  uint32_t numValues = meta->values()->size();
  uint32_t numInputs = meta->inputs()->size();
  uint32_t numOutputs = meta->outputs()->size();
  for (uint32_t i = 0; i < numValues; ++i) {
    const azr::schema::Value *v = meta->values()->Get(i);
    size_t elementSize = azr::schemaDTypeSize((int)v->dtype());
    size_t rank = v->shape() ? v->shape()->size() : 0;
    if (!elementSize || rank > AZR_MAX_RANK)
      REFUSE(AZR_STATUS_DATA_LOSS, "%s: value %u has a bad dtype or rank", path,
             i);
    uint64_t count = 1;
    for (size_t d = 0; d < rank; ++d) {
      int64_t dim = v->shape()->Get(d);
      if (dim < 0 || (dim > 0 && count > (UINT64_MAX >> 8) / uint64_t(dim)))
        REFUSE(AZR_STATUS_DATA_LOSS, "%s: value %u has a bad shape", path, i);
      count *= uint64_t(dim);
    }
    if (v->size() != count * elementSize)
      REFUSE(AZR_STATUS_DATA_LOSS,
             "%s: value %u's size disagrees with its shape", path, i);
    uint64_t end = v->offset() + v->size();
    bool inside = end >= v->offset();
    switch (v->storage()) {
    case Storage::Arena:
      inside = inside && end <= meta->arena_size();
      break;
    case Storage::Constant:
      inside = inside && end <= constantsSize;
      break;
    case Storage::Input:
      inside = v->index() < numInputs;
      break;
    case Storage::Output:
      inside = v->index() < numOutputs;
      break;
    default:
      inside = false;
    }
    if (!inside)
      REFUSE(AZR_STATUS_DATA_LOSS, "%s: value %u lies outside its storage",
             path, i);
  }
  auto validValue = [&](int index) {
    return index >= 0 && uint32_t(index) < numValues;
  };
  for (uint32_t s = 0; s < meta->steps()->size(); ++s) {
    const azr::schema::Step *step = meta->steps()->Get(s);
    azr::cpu::KernelFn kernel = azr::cpu::findKernel(step->op()->string_view());
    if (!kernel)
      REFUSE(AZR_STATUS_UNIMPLEMENTED,
             "%s: step %u uses kernel '%s', which this runtime does not have",
             path, s, step->op()->c_str());
    if (step->inputs())
      for (int index : *step->inputs())
        if (index != -1 && !validValue(index))
          REFUSE(AZR_STATUS_DATA_LOSS,
                 "%s: step %u reads value %d, out of range", path, s, index);
    if (!step->outputs() || step->outputs()->size() == 0)
      REFUSE(AZR_STATUS_DATA_LOSS, "%s: step %u has no outputs", path, s);
    // All indices are checked before the overlap test below reads values.
    for (int index : *step->outputs())
      if (!validValue(index))
        REFUSE(AZR_STATUS_DATA_LOSS,
               "%s: step %u writes value %d, out of range", path, s, index);
    for (int index : *step->outputs()) {
      Storage storage = meta->values()->Get(index)->storage();
      if (storage == Storage::Constant || storage == Storage::Input)
        REFUSE(AZR_STATUS_DATA_LOSS,
               "%s: step %u writes into a constant or an input", path, s);
      // Kernels read operands while writing results: no result may share
      // bytes with an operand or another result (the planner never does).
      auto overlaps = [&](int other) {
        if (other < 0 || other == index)
          return false;
        const azr::schema::Value *a = meta->values()->Get(index);
        const azr::schema::Value *b = meta->values()->Get(other);
        if (a->storage() != b->storage() || a->size() == 0 || b->size() == 0)
          return false;
        if (a->storage() == Storage::Output)
          return a->index() == b->index();
        return a->offset() < b->offset() + b->size() &&
               b->offset() < a->offset() + a->size();
      };
      bool clash = false;
      if (step->inputs())
        for (int other : *step->inputs())
          clash |= overlaps(other);
      for (int other : *step->outputs())
        clash |= overlaps(other);
      if (clash)
        REFUSE(AZR_STATUS_DATA_LOSS, "%s: step %u writes over its own operands",
               path, s);
    }
    engine->kernels.push_back(kernel);
  }
  auto signatures =
      [&](const flatbuffers::Vector<
              flatbuffers::Offset<azr::schema::TensorSignature>> *list,
          Storage storage,
          std::vector<azr_tensor_info_t> &infos) -> azr_status_t {
    for (uint32_t i = 0; i < list->size(); ++i) {
      const azr::schema::TensorSignature *sig = list->Get(i);
      if (!validValue(sig->value()))
        REFUSE(AZR_STATUS_DATA_LOSS, "%s: signature '%s' has no value", path,
               sig->name()->c_str());
      const azr::schema::Value *v = meta->values()->Get(sig->value());
      size_t rank = v->shape() ? v->shape()->size() : 0;
      if (v->storage() != storage || v->index() != i ||
          v->dtype() != sig->dtype() || !sig->dims() ||
          sig->dims()->size() != rank)
        REFUSE(AZR_STATUS_DATA_LOSS,
               "%s: signature '%s' disagrees with its value", path,
               sig->name()->c_str());
      azr_tensor_info_t info = {};
      info.name = sig->name()->c_str();
      info.dtype = azr_dtype_t(sig->dtype());
      info.rank = rank;
      for (size_t d = 0; d < rank; ++d) {
        info.dims[d] = v->shape()->Get(d);
        if (sig->dims()->Get(d)->size() != info.dims[d])
          REFUSE(AZR_STATUS_DATA_LOSS,
                 "%s: signature '%s' disagrees with its value", path,
                 sig->name()->c_str());
      }
      infos.push_back(info);
    }
    return nullptr;
  };
  if (azr_status_t status =
          signatures(meta->inputs(), Storage::Input, engine->inputs))
    return status;
  if (azr_status_t status =
          signatures(meta->outputs(), Storage::Output, engine->outputs))
    return status;
  if (azr_status_t status = verifySymbols(engine))
    return status;
  if (azr_status_t status = verifyTokenBudget(engine))
    return status;
  if (azr_status_t status = verifyKvCache(engine))
    return status;
  if (azr_status_t status = verifyOutputExtents(engine))
    return status;
  // Sizes that vary are unknown until a run: the infos say -1.
  for (size_t i = 0; i < engine->inputs.size(); ++i)
    for (size_t d = 0; d < engine->inputs[i].rank; ++d)
      if (engine->inputRanges[i][d].min != engine->inputRanges[i][d].max)
        engine->inputs[i].dims[d] = -1;
  for (size_t i = 0; i < engine->outputs.size(); ++i) {
    const azr::schema::Value *v =
        meta->values()->Get(meta->outputs()->Get(i)->value());
    const auto *dims = meta->outputs()->Get(i)->dims();
    for (size_t d = 0; d < engine->outputs[i].rank; ++d)
      if (v->dim_coefficients() && dims->Get(d)->min() != dims->Get(d)->max())
        engine->outputs[i].dims[d] = -1;
  }
  return nullptr;
}

azr_status_t verifyEngine(azr_engine_t *engine) {
  const char *path = engine->path.c_str();
  const uint8_t *base = static_cast<const uint8_t *>(engine->mapping);
  size_t size = engine->mappingSize;
  if (size < sizeof(azr_engine_header_t))
    REFUSE(AZR_STATUS_DATA_LOSS,
           "%s: %zu bytes is too short for an engine (truncated?)", path, size);
  azr_engine_header_t header;
  memcpy(&header, base, sizeof(header));
  if (memcmp(header.magic, AZR_ENGINE_MAGIC, sizeof(header.magic)) != 0)
    REFUSE(AZR_STATUS_INVALID_ARGUMENT,
           "%s: not an azc engine file (bad magic)", path);
  if (header.format_version > AZR_ENGINE_FORMAT_VERSION)
    REFUSE(AZR_STATUS_UNIMPLEMENTED,
           "%s: engine format version %u is newer than this runtime's (%u); "
           "run it with a newer libazr or rebuild it with a matching azc",
           path, header.format_version, AZR_ENGINE_FORMAT_VERSION);
  if (header.format_version == 0 || header.header_size != sizeof(header))
    REFUSE(AZR_STATUS_DATA_LOSS, "%s: corrupted engine header", path);
  auto inFile = [&](uint64_t offset, uint64_t length) {
    return offset <= size && length <= size - offset;
  };
  if (!inFile(header.metadata_offset, header.metadata_size) ||
      !inFile(header.constants_offset, header.constants_size))
    REFUSE(AZR_STATUS_DATA_LOSS,
           "%s: truncated: its sections end past the file's %zu bytes", path,
           size);
  if (header.constants_offset % AZR_ENGINE_ALIGNMENT != 0)
    REFUSE(AZR_STATUS_DATA_LOSS, "%s: constants section is misaligned", path);
  const uint8_t *metadata = base + header.metadata_offset;
  if (azr_xxh64(metadata, header.metadata_size, 0) != header.metadata_hash)
    REFUSE(AZR_STATUS_DATA_LOSS,
           "%s: the metadata section is corrupted (checksum mismatch)", path);
  engine->constants = base + header.constants_offset;
  if (azr_xxh64(engine->constants, header.constants_size, 0) !=
      header.constants_hash)
    REFUSE(AZR_STATUS_DATA_LOSS,
           "%s: the constants section is corrupted (checksum mismatch)", path);
  flatbuffers::Verifier verifier(metadata, header.metadata_size);
  if (!azr::schema::VerifyEngineBuffer(verifier))
    REFUSE(AZR_STATUS_DATA_LOSS, "%s: the metadata section is malformed", path);
  engine->meta = azr::schema::GetEngine(metadata);
  if (engine->meta->constants_size() != header.constants_size)
    REFUSE(AZR_STATUS_DATA_LOSS, "%s: section sizes disagree", path);
  const flatbuffers::String *target = engine->meta->target();
  if (!target || target->string_view() != "cpu")
    REFUSE(AZR_STATUS_UNIMPLEMENTED,
           "%s: the engine targets '%s'; this runtime runs 'cpu' engines", path,
           target ? target->c_str() : "");
  if (const auto *features = engine->meta->cpu_features())
    for (const flatbuffers::String *feature : *features) {
      if (!azr::isKnownCpuFeature(feature->string_view()))
        REFUSE(AZR_STATUS_UNIMPLEMENTED,
               "%s: the engine needs CPU feature '%s', unknown to this runtime",
               path, feature->c_str());
      if (!azr::hasCpuFeature(feature->string_view()))
        REFUSE(AZR_STATUS_UNIMPLEMENTED,
               "%s: the engine needs CPU feature '%s', which this CPU lacks; "
               "rebuild it for this machine",
               path, feature->c_str());
    }
  return verifyProgram(engine);
}

} // namespace

bool azr::evaluatePolynomial(const int64_t *coefficients, size_t count,
                             const int64_t *monomials, int64_t &value) {
  int64_t sum = 0;
  for (size_t m = 0; m < count; ++m) {
    int64_t term;
    if (__builtin_mul_overflow(coefficients[m], monomials[m], &term) ||
        __builtin_add_overflow(sum, term, &sum))
      return false;
  }
  value = sum;
  return true;
}

azr_status_t azr_engine_load(const char *path, azr_engine_t **out) {
  if (!path || !out)
    REFUSE(AZR_STATUS_INVALID_ARGUMENT, "azr_engine_load: null argument");
  *out = nullptr;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    REFUSE(errno == ENOENT ? AZR_STATUS_NOT_FOUND : AZR_STATUS_INVALID_ARGUMENT,
           "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    REFUSE(AZR_STATUS_INVALID_ARGUMENT, "%s: not a regular file", path);
  }
  auto *engine = new (std::nothrow) azr_engine_s();
  if (!engine) {
    close(fd);
    REFUSE(AZR_STATUS_RESOURCE_EXHAUSTED, "%s: out of memory", path);
  }
  engine->path = path;
  engine->mappingSize = size_t(st.st_size);
  if (engine->mappingSize > 0) {
    void *mapping =
        mmap(nullptr, engine->mappingSize, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapping == MAP_FAILED) {
      int error = errno;
      close(fd);
      delete engine;
      REFUSE(AZR_STATUS_INVALID_ARGUMENT, "%s: cannot map: %s", path,
             strerror(error));
    }
    engine->mapping = mapping;
  }
  close(fd);
  if (azr_status_t status = verifyEngine(engine)) {
    azr_engine_release(engine);
    return status;
  }
  *out = engine;
  return nullptr;
}

void azr_engine_release(azr_engine_t *engine) {
  if (!engine)
    return;
  if (engine->mapping)
    munmap(engine->mapping, engine->mappingSize);
  delete engine;
}

size_t azr_engine_input_count(const azr_engine_t *engine) {
  return engine ? engine->inputs.size() : 0;
}

size_t azr_engine_output_count(const azr_engine_t *engine) {
  return engine ? engine->outputs.size() : 0;
}

static azr_status_t infoAt(const std::vector<azr_tensor_info_t> &infos,
                           size_t index, const char *what,
                           azr_tensor_info_t *info) {
  if (!info || index >= infos.size())
    REFUSE(AZR_STATUS_INVALID_ARGUMENT,
           "%s index %zu is out of range (%zu %ss)", what, index, infos.size(),
           what);
  *info = infos[index];
  return nullptr;
}

azr_status_t azr_engine_input_info(const azr_engine_t *engine, size_t index,
                                   azr_tensor_info_t *info) {
  if (!engine)
    REFUSE(AZR_STATUS_INVALID_ARGUMENT, "null engine");
  return infoAt(engine->inputs, index, "input", info);
}

azr_status_t azr_engine_output_info(const azr_engine_t *engine, size_t index,
                                    azr_tensor_info_t *info) {
  if (!engine)
    REFUSE(AZR_STATUS_INVALID_ARGUMENT, "null engine");
  return infoAt(engine->outputs, index, "output", info);
}

azr_status_t azr_engine_input_dim(const azr_engine_t *engine, size_t index,
                                  size_t dim, int64_t *min, int64_t *max,
                                  const char **name) {
  if (!engine)
    REFUSE(AZR_STATUS_INVALID_ARGUMENT, "null engine");
  if (index >= engine->inputRanges.size() ||
      dim >= engine->inputRanges[index].size())
    REFUSE(AZR_STATUS_INVALID_ARGUMENT, "input %zu dim %zu is out of range",
           index, dim);
  const azr_engine_s::DimRange &range = engine->inputRanges[index][dim];
  if (min)
    *min = range.min;
  if (max)
    *max = range.max;
  if (name)
    *name = range.name;
  return nullptr;
}

int64_t azr_engine_max_num_tokens(const azr_engine_t *engine) {
  return engine ? engine->maxNumTokens : 0;
}

azr_status_t azr_engine_attachment(const azr_engine_t *engine, const char *name,
                                   const void **data, size_t *size) {
  if (!engine || !name)
    REFUSE(AZR_STATUS_INVALID_ARGUMENT, "azr_engine_attachment: null argument");
  if (const auto *list = engine->meta->attachments())
    for (const azr::schema::Attachment *a : *list)
      if (a->name()->string_view() == name) {
        if (data)
          *data = a->data() ? a->data()->data() : nullptr;
        if (size)
          *size = a->data() ? a->data()->size() : 0;
        return nullptr;
      }
  REFUSE(AZR_STATUS_NOT_FOUND, "%s: the engine carries no '%s'",
         engine->path.c_str(), name);
}

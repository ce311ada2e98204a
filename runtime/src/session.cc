//===- session.cc - buffers and execution of one engine -------------------===//
//
// A session allocates the engine's arena and its input and output buffers
// once, at the largest sizes the engine accepts, precomputes each step's
// tensor views, and runs the steps in order: a loop of kernel calls with no
// allocation. In a dynamic engine, shapes, a few step attributes and small
// shape tensors are polynomials of the symbols (batch, sequence, ...); a run
// reads the symbols off the inputs' dims and, when they changed, evaluates
// them into the prepared views, checking every tensor against the bytes
// reserved for it.
//
//===----------------------------------------------------------------------===//

#include "engine.h"

#include "azr/engine_format.h"
#include "cpu/kernel_util.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>

using azr::schema::Storage;

namespace {

/// Attributes of one step, read from the FlatBuffer.
class StepAttrs final : public azr::cpu::Attrs {
public:
  /// `monomials` are the current symbols' products (see Value's polynomial
  /// comment in engine.fbs); they change between runs.
  StepAttrs(const azr::schema::Step *step,
            const std::vector<int64_t> *monomials)
      : step(step), monomials(monomials) {}

  const azr::schema::Attribute *find(std::string_view name) const {
    if (!step->attributes())
      return nullptr;
    for (const azr::schema::Attribute *a : *step->attributes())
      if (a->name()->string_view() == name)
        return a;
    return nullptr;
  }
  bool has(std::string_view name) const override { return find(name); }
  int64_t getInt(std::string_view name, int64_t otherwise) const override {
    const azr::schema::Attribute *a = find(name);
    if (!a || a->kind() != azr::schema::AttributeKind::Int)
      return otherwise;
    int64_t value = a->int_value();
    if (a->int_coefficients())
      evaluate(a->int_coefficients()->data(), value);
    return value;
  }
  double getFloat(std::string_view name, double otherwise) const override {
    const azr::schema::Attribute *a = find(name);
    return a && a->kind() == azr::schema::AttributeKind::Float
               ? a->float_value()
               : otherwise;
  }
  std::vector<int64_t> getInts(std::string_view name) const override {
    const azr::schema::Attribute *a = find(name);
    if (!a || !a->ints())
      return {};
    std::vector<int64_t> values(a->ints()->begin(), a->ints()->end());
    if (a->int_coefficients())
      for (size_t i = 0; i < values.size(); ++i)
        evaluate(a->int_coefficients()->data() + i * monomials->size(),
                 values[i]);
    return values;
  }
  std::string getString(std::string_view name,
                        std::string_view otherwise) const override {
    const azr::schema::Attribute *a = find(name);
    return a && a->string_value() ? a->string_value()->str()
                                  : std::string(otherwise);
  }

private:
  /// On overflow the value stays the static one, which a kernel checks as
  /// it checks any attribute.
  void evaluate(const int64_t *coefficients, int64_t &value) const {
    azr::evaluatePolynomial(coefficients, monomials->size(), monomials->data(),
                            value);
  }
  const azr::schema::Step *step;
  const std::vector<int64_t> *monomials;
};

struct PreparedStep {
  std::vector<azr::cpu::Tensor> inputs, outputs;
  std::vector<int> inputValues, outputValues; ///< value index, -1 if absent
  std::unique_ptr<StepAttrs> attrs;
};

} // namespace

struct azr_session_s {
  azr_engine_t *engine = nullptr;
  azr_allocator_t allocator = {};
  bool verbose = false;
  void *arena = nullptr;
  std::vector<void *> inputBuffers, outputBuffers;
  std::vector<bool> inputSet;
  std::vector<PreparedStep> steps;
  std::unique_ptr<azr::cpu::ThreadPool> pool;
  /// The paged KV cache bound by azr_session_set_kv_sequences; owned by
  /// the caller, who keeps it alive across the runs.
  const azr::cpu::KvCacheView *kvCache = nullptr;

  // Dynamic engines: the dims each input was given, the symbols of the
  // shapes now prepared (empty: none yet), their monomials, every value's
  // dims at those symbols, and the outputs' infos.
  std::vector<std::vector<int64_t>> inputDims;
  std::vector<int64_t> symbols;
  std::vector<int64_t> monomials = {1};
  std::vector<std::vector<int64_t>> valueDims;
  std::vector<azr_tensor_info_t> outputInfos;

  // With options.profile: seconds and calls per step, over all runs.
  bool profile = false;
  std::vector<double> stepSeconds;
  std::vector<int64_t> stepCalls;

  void *allocate(size_t size) {
    // Zero-byte tensors still get a distinct, valid pointer.
    return allocator.allocate(allocator.user, size ? size : 1,
                              AZR_ENGINE_ALIGNMENT);
  }
  ~azr_session_s() {
    auto release = [&](void *p) {
      if (p)
        allocator.release(allocator.user, p);
    };
    release(arena);
    for (void *p : inputBuffers)
      release(p);
    for (void *p : outputBuffers)
      release(p);
  }
};

static void *defaultAllocate(void *, size_t size, size_t alignment) {
  if (size > SIZE_MAX - alignment)
    return nullptr; // Rounding up would wrap around.
  size = (size + alignment - 1) / alignment * alignment;
  return aligned_alloc(alignment, size);
}
static void defaultRelease(void *, void *p) { free(p); }

azr_status_t azr_session_create(azr_engine_t *engine,
                                const azr_session_options_t *options,
                                azr_session_t **out) {
  if (!engine || !out)
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "azr_session_create: null argument");
  *out = nullptr;
  auto session = std::make_unique<azr_session_s>();
  session->engine = engine;
  session->allocator = {defaultAllocate, defaultRelease, nullptr};
  if (options && options->allocator) {
    if (!options->allocator->allocate || !options->allocator->release)
      return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                             "allocator hooks must both be set");
    session->allocator = *options->allocator;
  }
  session->verbose = options && options->verbose;
  session->profile = options && options->profile;
  if (session->verbose)
    fprintf(stderr, "azr: f32 GEMM path: %s\n", azr::cpu::gemmPath().name);
  int threads = options ? options->num_threads : 0;
  if (threads <= 0)
    threads = int(sysconf(_SC_NPROCESSORS_ONLN));
  session->pool = azr::cpu::makeThreadPool(threads > 0 ? threads : 1);

  const azr::schema::Engine *meta = engine->meta;
  session->arena = session->allocate(meta->arena_size());
  if (!session->arena)
    return azr_status_make(AZR_STATUS_RESOURCE_EXHAUSTED,
                           "cannot allocate the %llu-byte arena",
                           (unsigned long long)meta->arena_size());
  auto bufferFor = [&](const azr::schema::TensorSignature *sig) {
    return session->allocate(meta->values()->Get(sig->value())->size());
  };
  for (const auto *sig : *meta->inputs())
    session->inputBuffers.push_back(bufferFor(sig));
  for (const auto *sig : *meta->outputs())
    session->outputBuffers.push_back(bufferFor(sig));
  for (void *p : session->inputBuffers)
    if (!p)
      return azr_status_make(AZR_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  for (void *p : session->outputBuffers)
    if (!p)
      return azr_status_make(AZR_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  session->inputSet.assign(session->inputBuffers.size(), false);

  auto tensorFor = [&](int index) {
    azr::cpu::Tensor tensor;
    if (index < 0)
      return tensor; // Absent optional operand.
    const azr::schema::Value *v = meta->values()->Get(index);
    tensor.dtype = azr::cpu::DType(v->dtype());
    tensor.rank = v->shape() ? int(v->shape()->size()) : 0;
    for (int d = 0; d < tensor.rank; ++d)
      tensor.dims[d] = v->shape()->Get(d);
    uint8_t *base = nullptr;
    switch (v->storage()) {
    case Storage::Arena:
      base = static_cast<uint8_t *>(session->arena) + v->offset();
      break;
    case Storage::Constant:
      // Verified read-only: no step writes a constant.
      base = const_cast<uint8_t *>(engine->constants) + v->offset();
      break;
    case Storage::Input:
      base = static_cast<uint8_t *>(session->inputBuffers[v->index()]);
      break;
    case Storage::Output:
      base = static_cast<uint8_t *>(session->outputBuffers[v->index()]);
      break;
    }
    tensor.data = base;
    return tensor;
  };
  for (const azr::schema::Step *step : *meta->steps()) {
    PreparedStep prepared;
    if (step->inputs())
      for (int index : *step->inputs()) {
        prepared.inputs.push_back(tensorFor(index));
        prepared.inputValues.push_back(index);
      }
    for (int index : *step->outputs()) {
      prepared.outputs.push_back(tensorFor(index));
      prepared.outputValues.push_back(index);
    }
    prepared.attrs = std::make_unique<StepAttrs>(step, &session->monomials);
    session->steps.push_back(std::move(prepared));
  }
  for (const azr_tensor_info_t &info : engine->inputs)
    session->inputDims.emplace_back(info.dims, info.dims + info.rank);
  session->outputInfos = engine->outputs;
  *out = session.release();
  return nullptr;
}

void azr_session_release(azr_session_t *session) { delete session; }

const azr_engine_t *azr_session_engine(const azr_session_t *session) {
  return session ? session->engine : nullptr;
}

static int findByName(const std::vector<azr_tensor_info_t> &infos,
                      const char *name) {
  for (size_t i = 0; i < infos.size(); ++i)
    if (strcmp(infos[i].name, name) == 0)
      return int(i);
  return -1;
}

static std::string namesOf(const std::vector<azr_tensor_info_t> &infos) {
  std::string names;
  for (const azr_tensor_info_t &info : infos)
    names += (names.empty() ? "'" : ", '") + std::string(info.name) + "'";
  return names;
}

azr_status_t azr_session_set_input(azr_session_t *session, const char *name,
                                   azr_dtype_t dtype, const int64_t *dims,
                                   size_t rank, const void *data, size_t size) {
  if (!session || !name || (!dims && rank) || (!data && size))
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "azr_session_set_input: null argument");
  const auto &inputs = session->engine->inputs;
  int index = findByName(inputs, name);
  if (index < 0)
    return azr_status_make(
        AZR_STATUS_NOT_FOUND,
        "the engine has no input named '%s' (its inputs: %s)", name,
        namesOf(inputs).c_str());
  const azr_tensor_info_t &info = inputs[index];
  if (dtype != info.dtype)
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "input '%s' has dtype %s, got %s", name,
                           azr_dtype_name(info.dtype), azr_dtype_name(dtype));
  const auto &ranges = session->engine->inputRanges[index];
  if (rank != info.rank)
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "input '%s' has rank %zu, got a rank-%zu tensor %s",
                           name, info.rank, rank,
                           azr::formatShape(dims, rank).c_str());
  uint64_t expected = azr_dtype_size(dtype);
  for (size_t d = 0; d < rank; ++d) {
    if (dims[d] < ranges[d].min || dims[d] > ranges[d].max) {
      if (ranges[d].min == ranges[d].max)
        return azr_status_make(
            AZR_STATUS_INVALID_ARGUMENT,
            "input '%s' dim %zu is %lld, but the engine takes only %lld "
            "(got shape %s)",
            name, d, (long long)dims[d], (long long)ranges[d].min,
            azr::formatShape(dims, rank).c_str());
      return azr_status_make(
          AZR_STATUS_OUT_OF_RANGE,
          "input '%s' dim %zu%s%s%s is %lld, outside the engine's range "
          "%lld..%lld (rebuild with a larger --shape-range to run it)",
          name, d, ranges[d].name ? " ('" : "",
          ranges[d].name ? ranges[d].name : "", ranges[d].name ? "')" : "",
          (long long)dims[d], (long long)ranges[d].min,
          (long long)ranges[d].max);
    }
    expected *= uint64_t(dims[d]); // <= the verified capacity: no overflow
  }
  if (size != expected)
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "input '%s' of shape %s needs %llu bytes, got %zu",
                           name, azr::formatShape(dims, rank).c_str(),
                           (unsigned long long)expected, size);
  if (const auto *fixed =
          session->engine->meta->inputs()->Get(index)->fixed_value())
    if (fixed->size() != size || memcmp(fixed->data(), data, size) != 0)
      return azr_status_make(
          AZR_STATUS_INVALID_ARGUMENT,
          "input '%s' was fixed at build (azc build --input-value) and the "
          "engine's shapes were computed from it; this value differs: "
          "rebuild the engine for it",
          name);
  memcpy(session->inputBuffers[index], data, size);
  session->inputDims[index].assign(dims, dims + rank);
  session->inputSet[index] = true;
  return nullptr;
}

azr_status_t azr_session_set_kv_sequences(azr_session_t *session,
                                          azr_kv_cache_t *cache,
                                          const int64_t *ids, size_t count) {
  if (!session || !cache || (!ids && count))
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "azr_session_set_kv_sequences: null argument");
  const azr_engine_t *engine = session->engine;
  if (!engine->hasKvCache)
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "%s: the engine has no paged KV cache (build it "
                           "with --paged_kv_cache)",
                           engine->path.c_str());
  const azr::KvCache &kv = *cache->cache;
  if (!kv.layout().compatibleWith(engine->kvLayout))
    return azr_status_make(
        AZR_STATUS_INVALID_ARGUMENT,
        "the KV cache (%s) was not made for this engine (%s)",
        kv.layout().describe().c_str(), engine->kvLayout.describe().c_str());
  const int64_t maxBlocks = engine->kvLayout.maxBlocksPerSequence;
  std::vector<int32_t> table, lengths;
  try {
    table.assign(count * size_t(maxBlocks), -1);
    lengths.resize(count);
  } catch (const std::bad_alloc &) {
    return azr_status_make(AZR_STATUS_RESOURCE_EXHAUSTED,
                           "azr_session_set_kv_sequences: out of memory");
  }
  for (size_t row = 0; row < count; ++row) {
    const std::vector<int32_t> *blocks = kv.blocksOf(ids[row]);
    if (!blocks)
      return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                             "batch row %zu: the KV cache has no sequence "
                             "%lld",
                             row, (long long)ids[row]);
    const int64_t length = kv.length(ids[row]);
    if (length > INT32_MAX)
      return azr_status_make(AZR_STATUS_OUT_OF_RANGE,
                             "batch row %zu: sequence %lld's %lld tokens do "
                             "not fit kv_past_lengths (i32)",
                             row, (long long)ids[row], (long long)length);
    // reserve() never lets a sequence hold more than max_blocks_per_sequence
    // blocks: the row has room.
    std::copy(blocks->begin(), blocks->end(), table.begin() + row * maxBlocks);
    lengths[row] = int32_t(length);
  }
  const int64_t tableDims[2] = {int64_t(count), maxBlocks};
  const int64_t lengthDims[1] = {int64_t(count)};
  if (azr_status_t status = azr_session_set_input(
          session, "kv_block_table", AZR_DTYPE_I32, tableDims, 2, table.data(),
          table.size() * sizeof(int32_t)))
    return status;
  if (azr_status_t status = azr_session_set_input(
          session, "kv_past_lengths", AZR_DTYPE_I32, lengthDims, 1,
          lengths.data(), lengths.size() * sizeof(int32_t)))
    return status;
  session->kvCache = &kv.view();
  return nullptr;
}

namespace {

/// Reads the symbols off the inputs and, when they changed since the last
/// run, evaluates every value's dims, checks each against its reserved bytes
/// and the inputs' dims against their polynomials, and updates the prepared
/// views. Then writes the shape tensors the session computes.
azr_status_t prepareShapes(azr_session_t *session) {
  const azr_engine_t *engine = session->engine;
  const azr::schema::Engine *meta = engine->meta;
  size_t k = engine->symbolCount;
  if (k == 0)
    return nullptr;
  std::vector<int64_t> symbols(k);
  for (size_t s = 0; s < k; ++s) {
    auto [input, dim] = engine->symbolSources[s];
    symbols[s] = session->inputDims[input][dim];
  }
  auto symbolText = [&] {
    std::string text;
    for (size_t s = 0; s < k; ++s)
      text += (s ? ", " : "") + meta->symbols()->Get(s)->name()->str() + "=" +
              std::to_string(symbols[s]);
    return text;
  };
  if (symbols != session->symbols) {
    session->symbols.clear(); // Invalid until every check passed.
    std::vector<int64_t> &monomials = session->monomials;
    monomials.assign(size_t(1) << k, 1);
    for (size_t m = 0; m < monomials.size(); ++m)
      for (size_t s = 0; s < k; ++s)
        if ((m & (size_t(1) << s)) &&
            __builtin_mul_overflow(monomials[m], symbols[s], &monomials[m]))
          return azr_status_make(AZR_STATUS_OUT_OF_RANGE,
                                 "sizes overflow at %s", symbolText().c_str());
    session->valueDims.resize(meta->values()->size());
    for (uint32_t i = 0; i < meta->values()->size(); ++i) {
      const azr::schema::Value *v = meta->values()->Get(i);
      std::vector<int64_t> &dims = session->valueDims[i];
      dims.assign(v->shape()->begin(), v->shape()->end());
      if (!v->dim_coefficients())
        continue;
      uint64_t bytes = azr::schemaDTypeSize(int(v->dtype()));
      for (size_t d = 0; d < dims.size(); ++d) {
        bool ok = azr::evaluatePolynomial(
            v->dim_coefficients()->data() + d * monomials.size(),
            monomials.size(), monomials.data(), dims[d]);
        if (!ok || dims[d] < 0 ||
            (dims[d] > 0 && bytes > v->size() / uint64_t(dims[d])))
          return azr_status_make(
              AZR_STATUS_OUT_OF_RANGE,
              "at %s, value %u ('%s') would need more than the %llu bytes "
              "the engine reserves for it",
              symbolText().c_str(), i, v->name() ? v->name()->c_str() : "",
              (unsigned long long)v->size());
        bytes *= uint64_t(dims[d]);
      }
    }
    // Dims that are sums of symbols ("past + 1") must agree with them.
    for (size_t i = 0; i < engine->inputs.size(); ++i) {
      const std::vector<int64_t> &expected =
          session->valueDims[meta->inputs()->Get(i)->value()];
      if (expected != session->inputDims[i])
        return azr_status_make(
            AZR_STATUS_INVALID_ARGUMENT,
            "input '%s' has shape %s, but the other inputs' dims (%s) make "
            "it %s",
            engine->inputs[i].name,
            azr::formatShape(session->inputDims[i].data(),
                             session->inputDims[i].size())
                .c_str(),
            symbolText().c_str(),
            azr::formatShape(expected.data(), expected.size()).c_str());
    }
    auto update = [&](std::vector<azr::cpu::Tensor> &tensors,
                      const std::vector<int> &values) {
      for (size_t t = 0; t < tensors.size(); ++t)
        if (values[t] >= 0)
          std::copy(session->valueDims[values[t]].begin(),
                    session->valueDims[values[t]].end(), tensors[t].dims);
    };
    for (PreparedStep &step : session->steps) {
      update(step.inputs, step.inputValues);
      update(step.outputs, step.outputValues);
    }
    for (size_t o = 0; o < session->outputInfos.size(); ++o) {
      const std::vector<int64_t> &dims =
          session->valueDims[meta->outputs()->Get(o)->value()];
      std::copy(dims.begin(), dims.end(), session->outputInfos[o].dims);
    }
    session->symbols = symbols;
  }
  // Computed shape tensors live in the arena from the first step on, so
  // they are written on every run.
  const std::vector<int64_t> &monomials = session->monomials;
  for (uint32_t i = 0; i < meta->values()->size(); ++i) {
    const azr::schema::Value *v = meta->values()->Get(i);
    if (!v->element_coefficients())
      continue;
    uint8_t *base = static_cast<uint8_t *>(session->arena) + v->offset();
    size_t count = v->element_coefficients()->size() / monomials.size();
    for (size_t e = 0; e < count; ++e) {
      int64_t value = 0;
      azr::evaluatePolynomial(v->element_coefficients()->data() +
                                  e * monomials.size(),
                              monomials.size(), monomials.data(), value);
      if (v->dtype() == azr::schema::DType::i64)
        memcpy(base + e * 8, &value, 8);
      else {
        int32_t narrow = int32_t(value);
        memcpy(base + e * 4, &narrow, 4);
      }
    }
  }
  return nullptr;
}

/// After a run: the actual size of each output whose size the data decides,
/// read from the extent its step wrote, into the output's info. An extent
/// outside [0, the dim's upper bound] is a kernel's error, reported.
azr_status_t readOutputExtents(azr_session_t *session) {
  const azr_engine_t *engine = session->engine;
  const azr::schema::Engine *meta = engine->meta;
  for (size_t o = 0; o < engine->outputExtents.size(); ++o) {
    auto [dim, value] = engine->outputExtents[o];
    if (dim < 0)
      continue;
    // Verified: an i64 scalar inside the arena.
    int64_t extent;
    memcpy(&extent,
           static_cast<const uint8_t *>(session->arena) +
               meta->values()->Get(value)->offset(),
           sizeof(extent));
    const uint32_t output = meta->outputs()->Get(o)->value();
    const int64_t bound = engine->symbolCount
                              ? session->valueDims[output][dim]
                              : meta->values()->Get(output)->shape()->Get(dim);
    if (extent < 0 || extent > bound)
      return azr_status_make(AZR_STATUS_INTERNAL,
                             "output '%s' dim %d: the run gave size %lld, "
                             "outside 0..%lld, the bound it was built for",
                             engine->outputs[o].name, dim, (long long)extent,
                             (long long)bound);
    session->outputInfos[o].dims[dim] = extent;
  }
  return nullptr;
}

} // namespace

azr_status_t azr_session_run(azr_session_t *session) {
  if (!session)
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT, "null session");
  const auto &inputs = session->engine->inputs;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!session->inputSet[i])
      return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                             "input '%s' was not set", inputs[i].name);
  if (const int tokenInput = session->engine->tokenInput; tokenInput >= 0) {
    const std::vector<int64_t> &dims = session->inputDims[size_t(tokenInput)];
    const int64_t tokens = dims[0] * dims[1];
    if (tokens > session->engine->maxNumTokens)
      return azr_status_make(
          AZR_STATUS_OUT_OF_RANGE,
          "input_ids %s holds %lld tokens; the engine takes at most %lld a "
          "run (azc build --max_num_tokens)",
          azr::formatShape(dims.data(), dims.size()).c_str(), (long long)tokens,
          (long long)session->engine->maxNumTokens);
  }
  if (azr_status_t status = prepareShapes(session))
    return status;
  const azr::schema::Engine *meta = session->engine->meta;
  for (size_t s = 0; s < session->steps.size(); ++s) {
    PreparedStep &step = session->steps[s];
    const azr::schema::Step *source = meta->steps()->Get(s);
    auto start = session->profile ? std::chrono::steady_clock::now()
                                  : std::chrono::steady_clock::time_point();
    azr::cpu::KernelContext context;
    context.inputs = step.inputs.data();
    context.numInputs = int(step.inputs.size());
    context.outputs = step.outputs.data();
    context.numOutputs = int(step.outputs.size());
    context.attrs = step.attrs.get();
    context.pool = session->pool.get();
    context.kvCache = session->kvCache;
    context.describePath = session->verbose;
    azr_status_t status = session->engine->kernels[s](context);
    const auto end = session->profile ? std::chrono::steady_clock::now()
                                      : std::chrono::steady_clock::time_point();
    if (session->verbose)
      fprintf(stderr, "azr: step %zu: %s (%s) on %d thread(s)%s%s\n", s,
              source->op()->c_str(),
              source->location() ? source->location()->c_str() : "",
              session->pool->numThreads(), context.path[0] ? ": " : "",
              context.path);
    if (status) {
      azr_status_t wrapped = azr_status_make(
          azr_status_code(status), "step %zu (%s at %s): %s", s,
          source->op()->c_str(),
          source->location() ? source->location()->c_str() : "?",
          azr_status_message(status));
      azr_status_free(status);
      return wrapped;
    }
    if (session->profile) {
      session->stepSeconds.resize(session->steps.size());
      session->stepCalls.resize(session->steps.size());
      session->stepSeconds[s] +=
          std::chrono::duration<double>(end - start).count();
      ++session->stepCalls[s];
    }
  }
  return readOutputExtents(session);
}

size_t azr_session_profile(const azr_session_t *session, char *text,
                           size_t capacity) {
  if (!session || !session->profile)
    return 0;
  // Per kernel name: calls and seconds.
  std::map<std::string, std::pair<int64_t, double>> perKernel;
  double total = 0;
  const azr::schema::Engine *meta = session->engine->meta;
  for (size_t s = 0; s < session->stepSeconds.size(); ++s) {
    auto &entry = perKernel[meta->steps()->Get(s)->op()->str()];
    entry.first += session->stepCalls[s];
    entry.second += session->stepSeconds[s];
    total += session->stepSeconds[s];
  }
  std::vector<std::pair<std::string, std::pair<int64_t, double>>> rows(
      perKernel.begin(), perKernel.end());
  std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
    return a.second.second > b.second.second;
  });
  std::string report;
  char line[256];
  for (const auto &[name, entry] : rows) {
    snprintf(line, sizeof(line), "%-20s %8lld %10.3f %5.1f%%\n", name.c_str(),
             (long long)entry.first, entry.second * 1e3,
             total > 0 ? 100.0 * entry.second / total : 0.0);
    report += line;
  }
  if (text && capacity) {
    size_t n = std::min(capacity - 1, report.size());
    memcpy(text, report.data(), n);
    text[n] = '\0';
  }
  return report.size() + 1;
}

azr_status_t azr_session_get_output(azr_session_t *session, const char *name,
                                    azr_tensor_info_t *info,
                                    const void **data) {
  if (!session || !name)
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "azr_session_get_output: null argument");
  const auto &outputs = session->engine->outputs;
  int index = findByName(outputs, name);
  if (index < 0)
    return azr_status_make(
        AZR_STATUS_NOT_FOUND,
        "the engine has no output named '%s' (its outputs: %s)", name,
        namesOf(outputs).c_str());
  if (info)
    *info = session->outputInfos[index];
  if (data)
    *data = session->outputBuffers[index];
  return nullptr;
}

//===- session.cc - buffers and execution of one engine -------------------===//
//
// A session allocates the engine's arena and its input and output buffers
// once, precomputes each step's tensor views, and runs the steps in order.
// All shapes are static, so running is a loop of kernel calls with no
// allocation.
//
//===----------------------------------------------------------------------===//

#include "engine.h"

#include "azr/engine_format.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

using azr::schema::Storage;

namespace {

/// Attributes of one step, read from the FlatBuffer.
class StepAttrs final : public azr::cpu::Attrs {
public:
  explicit StepAttrs(const azr::schema::Step *step) : step(step) {}

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
    return a && a->kind() == azr::schema::AttributeKind::Int ? a->int_value()
                                                             : otherwise;
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
    return std::vector<int64_t>(a->ints()->begin(), a->ints()->end());
  }
  std::string getString(std::string_view name,
                        std::string_view otherwise) const override {
    const azr::schema::Attribute *a = find(name);
    return a && a->string_value() ? a->string_value()->str()
                                  : std::string(otherwise);
  }

private:
  const azr::schema::Step *step;
};

struct PreparedStep {
  std::vector<azr::cpu::Tensor> inputs, outputs;
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
      for (int index : *step->inputs())
        prepared.inputs.push_back(tensorFor(index));
    for (int index : *step->outputs())
      prepared.outputs.push_back(tensorFor(index));
    prepared.attrs = std::make_unique<StepAttrs>(step);
    session->steps.push_back(std::move(prepared));
  }
  *out = session.release();
  return nullptr;
}

void azr_session_release(azr_session_t *session) { delete session; }

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
  bool sameShape = rank == info.rank;
  for (size_t i = 0; sameShape && i < rank; ++i)
    sameShape = dims[i] == info.dims[i];
  if (!sameShape)
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "input '%s' has shape %s, got %s", name,
                           azr::formatShape(info.dims, info.rank).c_str(),
                           azr::formatShape(dims, rank).c_str());
  size_t expected =
      session->engine->meta->values()
          ->Get(session->engine->meta->inputs()->Get(index)->value())
          ->size();
  if (size != expected)
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "input '%s' needs %zu bytes, got %zu", name,
                           expected, size);
  memcpy(session->inputBuffers[index], data, size);
  session->inputSet[index] = true;
  return nullptr;
}

azr_status_t azr_session_run(azr_session_t *session) {
  if (!session)
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT, "null session");
  const auto &inputs = session->engine->inputs;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!session->inputSet[i])
      return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                             "input '%s' was not set", inputs[i].name);
  const azr::schema::Engine *meta = session->engine->meta;
  for (size_t s = 0; s < session->steps.size(); ++s) {
    PreparedStep &step = session->steps[s];
    const azr::schema::Step *source = meta->steps()->Get(s);
    if (session->verbose)
      fprintf(stderr, "azr: step %zu: %s (%s) on %d thread(s)\n", s,
              source->op()->c_str(),
              source->location() ? source->location()->c_str() : "",
              session->pool->numThreads());
    azr::cpu::KernelContext context;
    context.inputs = step.inputs.data();
    context.numInputs = int(step.inputs.size());
    context.outputs = step.outputs.data();
    context.numOutputs = int(step.outputs.size());
    context.attrs = step.attrs.get();
    context.pool = session->pool.get();
    if (azr_status_t status = session->engine->kernels[s](context)) {
      azr_status_t wrapped = azr_status_make(
          azr_status_code(status), "step %zu (%s at %s): %s", s,
          source->op()->c_str(),
          source->location() ? source->location()->c_str() : "?",
          azr_status_message(status));
      azr_status_free(status);
      return wrapped;
    }
  }
  return nullptr;
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
    *info = outputs[index];
  if (data)
    *data = session->outputBuffers[index];
  return nullptr;
}

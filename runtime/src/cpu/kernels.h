//===- kernels.h - the CPU executor's kernel interface ----------*- C++ -*-===//
//
// One kernel per azg op, named after the op without its dialect prefix
// ("matmul", "conv", "add", ...), with the op's semantics (the azg op
// reference is the specification). The executor gives a kernel its operand
// tensors in ODS operand order — an absent optional operand is a Tensor with
// data == nullptr — and its result tensors, already allocated with their
// final static shapes. Attributes are read by their ODS names.
//
// An op whose result size depends on the input values (nonzero, compress,
// unique, non_max_suppression) gets its results at the upper bound the
// compiler computed; the kernel writes the data densely at the actual size
// (a prefix of the buffer) and that size into its last result, an i64
// scalar.
//
// Kernels never throw and never abort on bad data: they return a status.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_KERNELS_H
#define AZR_CPU_KERNELS_H

#include "azr/azr.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace azr::cpu {

/// Element types; the values are the engine schema's DType values. i1
/// (bool) is stored one byte per element, 0 or 1.
enum class DType : uint8_t {
  f32 = 0,
  f16 = 1,
  bf16 = 2,
  f64 = 3,
  i1 = 4,
  i8 = 5,
  i16 = 6,
  i32 = 7,
  i64 = 8,
  u8 = 9,
  u16 = 10,
  u32 = 11,
  u64 = 12,
  f8e4m3fn = 13, ///< FP8 codes: read and written by casts only
  f8e4m3fnuz = 14,
  f8e5m2 = 15,
  f8e5m2fnuz = 16,
  i4 = 17, ///< one byte an element, sign-extended; casts only
  u4 = 18,
  i2 = 19,
  u2 = 20,
  f4e2m1fn = 21,  ///< FP4 code in a byte's low 4 bits; casts only
  f8e8m0fnu = 22, ///< a power of two 2^(code - 127); casts only
};
size_t dtypeSize(DType type);
const char *dtypeName(DType type);

constexpr int kMaxRank = 8;

/// A dense row-major tensor the kernel reads or writes; not owning.
struct Tensor {
  void *data = nullptr;
  DType dtype = DType::f32;
  int rank = 0;
  int64_t dims[kMaxRank] = {};

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i)
      n *= dims[i];
    return n;
  }
  size_t bytes() const { return size_t(numel()) * dtypeSize(dtype); }
  bool present() const { return data != nullptr; }
  template <typename T> T *as() const { return static_cast<T *>(data); }
};

/// Read access to a step's attributes. Missing attributes yield the given
/// default; `has` tells whether one is present.
class Attrs {
public:
  virtual ~Attrs() = default;
  virtual bool has(std::string_view name) const = 0;
  virtual int64_t getInt(std::string_view name, int64_t otherwise) const = 0;
  virtual double getFloat(std::string_view name, double otherwise) const = 0;
  virtual std::vector<int64_t> getInts(std::string_view name) const = 0;
  virtual std::string getString(std::string_view name,
                                std::string_view otherwise) const = 0;
};

/// Attributes held in maps: for tests and for steps built in memory.
class MapAttrs : public Attrs {
public:
  std::map<std::string, int64_t, std::less<>> ints;
  std::map<std::string, double, std::less<>> floats;
  std::map<std::string, std::vector<int64_t>, std::less<>> intLists;
  std::map<std::string, std::string, std::less<>> strings;

  bool has(std::string_view name) const override;
  int64_t getInt(std::string_view name, int64_t otherwise) const override;
  double getFloat(std::string_view name, double otherwise) const override;
  std::vector<int64_t> getInts(std::string_view name) const override;
  std::string getString(std::string_view name,
                        std::string_view otherwise) const override;
};

/// Runs `body(begin, end)` over [0, n) split into contiguous chunks, on the
/// pool's threads and the calling one; returns when all are done.
class ThreadPool {
public:
  virtual ~ThreadPool() = default;
  virtual int numThreads() const = 0;
  virtual void
  parallelFor(int64_t n, int64_t minChunk,
              const std::function<void(int64_t, int64_t)> &body) = 0;
};

/// A pool of `threads` threads (1: run everything on the caller).
std::unique_ptr<ThreadPool> makeThreadPool(int threads);

/// Storage of a paged KV cache's keys and values; the values are the engine
/// schema's KvDType values.
enum class KvDType : uint8_t {
  f32 = 0,
  f16 = 1,
  bf16 = 2,
  i8 = 3,
  fp8_e4m3 = 4
};
/// Bytes per stored element of `type`, 0 for an unknown value.
size_t kvDtypeSize(KvDType type);
const char *kvDtypeName(KvDType type);
/// Whether `type` keeps a scale per (token, kv head) beside its elements.
inline bool kvDtypeIsScaled(KvDType type) {
  return type == KvDType::i8 || type == KvDType::fp8_e4m3;
}

/// The pools of a paged KV cache bound to the session (see kv_cache.h).
/// The cache owns them; paged_attention writes the new tokens' keys and
/// values into them and reads every visible position back.
struct KvCacheView {
  KvDType dtype = KvDType::f32;
  int64_t layers = 0, kvHeads = 0, headDim = 0, tokensPerBlock = 0,
          numBlocks = 0;
  /// [layers]: [numBlocks, kvHeads, tokensPerBlock, headDim] elements.
  void *const *keys = nullptr;
  void *const *values = nullptr;
  /// [layers]: [numBlocks, kvHeads, tokensPerBlock] dequantization scales;
  /// nullptr unless kvDtypeIsScaled(dtype).
  float *const *keyScales = nullptr;
  float *const *valueScales = nullptr;
};

struct KernelContext {
  const Tensor *inputs = nullptr;
  int numInputs = 0;
  Tensor *outputs = nullptr;
  int numOutputs = 0;
  const Attrs *attrs = nullptr;
  ThreadPool *pool = nullptr; ///< never null while running
  /// The session's paged KV cache, or nullptr when none is bound.
  const KvCacheView *kvCache = nullptr;
  /// Set when the session reports each step (azr-run --verbose): a kernel
  /// with several implementations then names the one this call took in
  /// `path`, through notePath.
  bool describePath = false;
  mutable char path[64] = {};

  const Tensor &input(int i) const { return inputs[i]; }
  /// Optional operand `i`, or null when it is absent (past the operands
  /// given, or given with no storage).
  const Tensor *optionalInput(int i) const {
    return i < numInputs && inputs[i].present() ? &inputs[i] : nullptr;
  }
  Tensor &output(int i) const { return outputs[i]; }
  /// path = "<isa> <how>" (e.g. "avx512_vnni panels"), when asked for.
  void notePath(const char *isa, const char *how) const;
};

/// A kernel: NULL on success, else an error naming the problem.
using KernelFn = azr_status_t (*)(const KernelContext &context);

/// The kernel for an op name ("matmul"), or nullptr.
KernelFn findKernel(std::string_view opName);

/// Every op name with a kernel.
std::vector<std::string> kernelNames();

} // namespace azr::cpu

#endif // AZR_CPU_KERNELS_H

// Helpers shared by the CPU kernel tests (kernels_test.cpp,
// kernels_math_test.cpp, kernels_reduce_test.cpp, kernels_index_test.cpp):
// tensor views over std::vectors, running a kernel
// by name, random data and row-major coordinate arithmetic.

#ifndef AZR_TEST_KERNEL_TEST_UTIL_H
#define AZR_TEST_KERNEL_TEST_UTIL_H

#include "cpu/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace azr_test {

using azr::cpu::DType;
using azr::cpu::MapAttrs;
using azr::cpu::Tensor;
using azr::cpu::ThreadPool;
using Dims = std::vector<int64_t>;

inline int64_t numel(const Dims &dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

template <class T> Tensor view(std::vector<T> &data, DType type, Dims dims) {
  Tensor t;
  t.data = data.empty() ? nullptr : data.data();
  t.dtype = type;
  t.rank = int(dims.size());
  std::copy(dims.begin(), dims.end(), t.dims);
  return t;
}
inline Tensor f32(std::vector<float> &data, Dims dims) {
  return view(data, DType::f32, std::move(dims));
}
inline Tensor f64(std::vector<double> &data, Dims dims) {
  return view(data, DType::f64, std::move(dims));
}

inline ThreadPool &testPool() {
  // Three threads on any machine: exercises the partitioning code paths.
  static std::unique_ptr<ThreadPool> pool = azr::cpu::makeThreadPool(3);
  return *pool;
}

/// Runs kernel `op`; returns "" on success, else "CODE: message".
inline std::string run(const char *op, std::vector<Tensor> inputs,
                       std::vector<Tensor> outputs, const MapAttrs &attrs = {},
                       ThreadPool *pool = nullptr,
                       const azr::cpu::KvCacheView *kvCache = nullptr) {
  azr::cpu::KernelFn fn = azr::cpu::findKernel(op);
  if (!fn)
    return std::string("no kernel ") + op;
  azr::cpu::KernelContext context;
  context.inputs = inputs.data();
  context.numInputs = int(inputs.size());
  context.outputs = outputs.data();
  context.numOutputs = int(outputs.size());
  context.attrs = &attrs;
  context.pool = pool ? pool : &testPool();
  context.kvCache = kvCache;
  azr_status_t status = fn(context);
  if (!status)
    return "";
  std::string text =
      std::string(azr_status_code_name(azr_status_code(status))) + ": " +
      azr_status_message(status);
  azr_status_free(status);
  return text;
}

/// n values of `dist` from a generator seeded with `seed`, converted to T.
template <class T, class Dist>
std::vector<T> randomFrom(int64_t n, unsigned seed, Dist dist) {
  std::mt19937 rng(seed);
  std::vector<T> v(static_cast<size_t>(n));
  for (T &x : v)
    x = T(dist(rng));
  return v;
}

/// Uniform in [lo, hi), drawn in double.
template <class T = float>
std::vector<T> randomValues(int64_t n, unsigned seed, double lo = -1.0,
                            double hi = 1.0) {
  return randomFrom<T>(n, seed, std::uniform_real_distribution<double>(lo, hi));
}

/// Uniform in [lo, hi), drawn in float: a different sequence from
/// randomValues<float> for the same seed (kernels_test.cpp's data).
inline std::vector<float> randomFloats(int64_t n, unsigned seed,
                                       float lo = -1.0f, float hi = 1.0f) {
  return randomFrom<float>(n, seed,
                           std::uniform_real_distribution<float>(lo, hi));
}

/// Uniform integers in [lo, hi].
template <class T>
std::vector<T> randomInts(int64_t n, unsigned seed, int lo, int hi) {
  return randomFrom<T>(n, seed, std::uniform_int_distribution<int>(lo, hi));
}

inline Dims stridesOf(const Dims &dims) {
  Dims s(dims.size());
  int64_t stride = 1;
  for (size_t d = dims.size(); d-- > 0;) {
    s[d] = stride;
    stride *= dims[d];
  }
  return s;
}
inline Dims unflatten(int64_t flat, const Dims &dims) {
  Dims c(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    c[d] = flat % dims[d];
    flat /= dims[d];
  }
  return c;
}
inline int64_t flatten(const Dims &c, const Dims &dims) {
  int64_t flat = 0;
  for (size_t d = 0; d < dims.size(); ++d)
    flat = flat * dims[d] + c[d];
  return flat;
}
/// Offset of output coordinate `c` in an operand of shape `dims` broadcast
/// (NumPy rules) to the output.
inline int64_t broadcastOffset(const Dims &c, const Dims &dims) {
  const Dims s = stridesOf(dims);
  int64_t offset = 0;
  const size_t shift = c.size() - dims.size();
  for (size_t d = 0; d < dims.size(); ++d)
    offset += (dims[d] == 1 ? 0 : c[d + shift]) * s[d];
  return offset;
}

inline bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

} // namespace azr_test

#define EXPECT_OK(expr) EXPECT_EQ((expr), "")
#define ASSERT_OK(expr) ASSERT_EQ((expr), "")

#endif // AZR_TEST_KERNEL_TEST_UTIL_H

//===- kernel_util.h - helpers shared by the CPU kernels --------*- C++ -*-===//
//
// Internal to runtime/src/cpu: status helpers, dtype dispatch, NumPy
// broadcasting plans, the fused epilogue activations and the kernel table
// each source file contributes to.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_KERNEL_UTIL_H
#define AZR_CPU_KERNEL_UTIL_H

#include "cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace azr::cpu {

//===----------------------------------------------------------------------===//
// Status and the kernel table
//===----------------------------------------------------------------------===//

#define AZR_INVALID(...)                                                       \
  azr_status_make(AZR_STATUS_INVALID_ARGUMENT, __VA_ARGS__)
#define AZR_RETURN_IF_ERROR(expr)                                              \
  do {                                                                         \
    if (azr_status_t status_ = (expr))                                         \
      return status_;                                                          \
  } while (0)

/// Kernels may allocate scratch memory; a std::bad_alloc (or anything else
/// thrown) must become a status instead of crossing the C boundary.
template <KernelFn F> azr_status_t guarded(const KernelContext &context) {
  try {
    return F(context);
  } catch (const std::bad_alloc &) {
    return azr_status_make(AZR_STATUS_RESOURCE_EXHAUSTED,
                           "out of memory in a CPU kernel");
  } catch (...) {
    return azr_status_make(AZR_STATUS_INTERNAL,
                           "unexpected exception in a CPU kernel");
  }
}

struct KernelEntry {
  const char *name;
  KernelFn fn;
};
using KernelTable = std::vector<KernelEntry>;

void addGemmKernels(KernelTable &table);
void addConvPoolKernels(KernelTable &table);
void addElementwiseKernels(KernelTable &table);
void addReduceNormKernels(KernelTable &table);
void addDataMovementKernels(KernelTable &table);
void addCastKernels(KernelTable &table);
void addElementwiseMathKernels(KernelTable &table);
void addReduceMathKernels(KernelTable &table);
void addIndexKernels(KernelTable &table);
void addRotaryKernels(KernelTable &table);
void addMatMulNBitsKernels(KernelTable &table);
void addMatMulHalfKernels(KernelTable &table);
void addMatMulNBitsPackedKernels(KernelTable &table);
void addScatterGatherKernels(KernelTable &table);
void addGridSampleKernels(KernelTable &table);
void addIntegerKernels(KernelTable &table);
void addResizeKernels(KernelTable &table);
void addAttentionKernels(KernelTable &table);
void addLinearAttentionKernels(KernelTable &table);
void addTfIdfVectorizerKernels(KernelTable &table);
void addDeformConvKernels(KernelTable &table);
void addTreeEnsembleKernels(KernelTable &table);
void addSelectionKernels(KernelTable &table);
void addNonMaxSuppressionKernels(KernelTable &table);

/// Checks operand/result counts and that required tensors have storage
/// (an empty tensor may have none).
azr_status_t checkArity(const KernelContext &context, const char *op,
                        int minInputs, int maxInputs, int numOutputs);

std::string shapeString(const Tensor &tensor);

/// `op: <what> has dtype X, expected Y` as UNIMPLEMENTED.
azr_status_t unsupportedDtype(const char *op, DType type);

/// Normalizes a possibly negative axis into [0, rank); false if outside.
inline bool normalizeAxis(int64_t &axis, int rank) {
  if (axis < 0)
    axis += rank;
  return axis >= 0 && axis < rank;
}

//===----------------------------------------------------------------------===//
// Dtype dispatch: `f` is called with a value of the C++ element type.
//===----------------------------------------------------------------------===//

template <class F>
azr_status_t dispatchFloat(DType type, const char *op, F &&f) {
  switch (type) {
  case DType::f32:
    return f(float());
  case DType::f64:
    return f(double());
  default:
    return unsupportedDtype(op, type);
  }
}

/// Every type with arithmetic: floats and integers, not i1 or f16/bf16.
template <class F>
azr_status_t dispatchArith(DType type, const char *op, F &&f) {
  switch (type) {
  case DType::f32:
    return f(float());
  case DType::f64:
    return f(double());
  case DType::i8:
    return f(int8_t());
  case DType::i16:
    return f(int16_t());
  case DType::i32:
    return f(int32_t());
  case DType::i64:
    return f(int64_t());
  case DType::u8:
    return f(uint8_t());
  case DType::u16:
    return f(uint16_t());
  case DType::u32:
    return f(uint32_t());
  case DType::u64:
    return f(uint64_t());
  default:
    return unsupportedDtype(op, type);
  }
}

/// Element types without C++ arithmetic, as dispatch tags of their storage.
struct Half {
  uint16_t bits;
};
struct BFloat {
  uint16_t bits;
};
struct Bool {
  uint8_t value;
};

/// Every dtype: dispatchArith's types, plus f16/bf16 as Half/BFloat and i1
/// as Bool.
template <class F> azr_status_t dispatchAll(DType type, const char *op, F &&f) {
  switch (type) {
  case DType::f16:
    return f(Half());
  case DType::bf16:
    return f(BFloat());
  case DType::i1:
    return f(Bool());
  default:
    return dispatchArith(type, op, f);
  }
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// Input dims split into kept and reduced ones (size-1 dims dropped,
/// neighbours of the same kind merged), each with its input stride. The
/// result is dense over the kept dims in order, keepdims or not.
struct ReductionShape {
  int numKept = 0, numReduced = 0;
  int64_t kept[kMaxRank], keptStride[kMaxRank];
  int64_t reduced[kMaxRank], reducedStride[kMaxRank];
  int64_t outputs = 1, count = 1;

  /// Reducing `in` over the `axes` attribute (every dim when empty) into
  /// `out`; fails (naming `op`) on a bad axis, a dtype change or a result
  /// with the wrong element count.
  azr_status_t init(const char *op, const Tensor &in, const Tensor &out,
                    const Attrs &attrs);

  /// Input offset of the first element reduced into output `o`.
  int64_t baseOffset(int64_t o) const {
    int64_t base = 0;
    for (int d = numKept - 1; d >= 0; --d) {
      base += (o % kept[d]) * keptStride[d];
      o /= kept[d];
    }
    return base;
  }

  /// Calls f(offset) for every element reduced into the output at `base`,
  /// in increasing input order.
  template <class F> void forEach(int64_t base, F &&f) const {
    const int last = numReduced - 1;
    const int64_t innerLen = last >= 0 ? reduced[last] : 1;
    const int64_t innerStride = last >= 0 ? reducedStride[last] : 0;
    int64_t coord[kMaxRank] = {};
    // Odometer over the outer reduced dims, a loop over the last one.
    for (int64_t done = 0; done < count && innerLen > 0; done += innerLen) {
      int64_t offset = base;
      for (int d = 0; d < last; ++d)
        offset += coord[d] * reducedStride[d];
      for (int64_t i = 0; i < innerLen; ++i)
        f(offset + i * innerStride);
      for (int d = last - 1; d >= 0; --d) {
        if (++coord[d] < reduced[d])
          break;
        coord[d] = 0;
      }
    }
  }

private:
  void add(bool isReduced, bool extendsLast, int64_t size, int64_t stride);
};

/// Work along one axis of a tensor viewed as [outer, n, inner], in units of
/// (outer index, block of up to kLanes adjacent inner positions) so that
/// loops along the axis read rows of contiguous lanes. Calls
/// f(first, lanes, outerInner) in parallel, where `first` is the flat index
/// of the block's element 0 along the axis (element k is at first + k *
/// inner) and `outerInner` is o * inner + i0, the block's index with the axis
/// removed.
constexpr int64_t kLanes = 256;

template <class F>
void forEachLaneBlock(ThreadPool &pool, int64_t outer, int64_t n, int64_t inner,
                      F &&f) {
  const int64_t blocks = (inner + kLanes - 1) / kLanes;
  const int64_t work = n * std::min(inner, kLanes);
  pool.parallelFor(
      outer * blocks, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, work)),
      [&](int64_t begin, int64_t end) {
        for (int64_t u = begin; u < end; ++u) {
          const int64_t o = u / blocks, i0 = (u % blocks) * kLanes;
          f(o * n * inner + i0, std::min(kLanes, inner - i0), o * inner + i0);
        }
      });
}

//===----------------------------------------------------------------------===//
// Broadcasting
//===----------------------------------------------------------------------===//

/// Strides (in elements) of `input` read as if broadcast to `outRank` /
/// `outDims`, NumPy style: 0 along broadcast dims. False when `input` does
/// not broadcast to that shape.
bool broadcastStrides(const Tensor &input, int outRank, const int64_t *outDims,
                      int64_t *strides);

/// An iteration over an output shape and up to kMaxOperands inputs that
/// broadcast to it, with adjacent dims merged where every operand allows, so
/// the innermost run is as long as possible.
struct BroadcastPlan {
  static constexpr int kMaxOperands = 3;
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int numInputs = 0;
  int64_t strides[kMaxOperands][kMaxRank] = {};

  /// Fails (with a message naming `op`) if an input does not broadcast.
  azr_status_t init(const char *op, const Tensor &output,
                    const Tensor *const *inputs, int numInputs);

  int64_t innerSize() const { return rank ? dims[rank - 1] : 1; }
  int64_t outerSize() const {
    int64_t n = 1;
    for (int d = 0; d + 1 < rank; ++d)
      n *= dims[d];
    return n;
  }

  /// Calls `row(outOffset, inOffsets, innerStrides, innerSize)` for every
  /// innermost run, in parallel over runs.
  template <class RowFn> void forEachRow(ThreadPool &pool, RowFn &&row) const;
};

/// The start of a two-input elementwise kernel: two inputs of one dtype and
/// one output of that dtype (bool when `boolResult`), broadcast into `plan`.
azr_status_t planBinary(const char *op, const KernelContext &context,
                        bool boolResult, BroadcastPlan &plan);

template <class RowFn>
void BroadcastPlan::forEachRow(ThreadPool &pool, RowFn &&row) const {
  const int64_t inner = innerSize();
  const int64_t outer = outerSize();
  if (inner == 0 || outer == 0)
    return;
  int64_t innerStrides[kMaxOperands] = {};
  for (int i = 0; i < numInputs; ++i)
    innerStrides[i] = rank ? strides[i][rank - 1] : 0;
  // Few long rows (equal shapes merge into one) are cut into segments so
  // that every thread gets work.
  constexpr int64_t kSegment = 16384;
  if (outer < 4 * pool.numThreads() && inner > 2 * kSegment) {
    const int64_t segments = (inner + kSegment - 1) / kSegment;
    pool.parallelFor(outer * segments, 1, [&](int64_t begin, int64_t end) {
      int64_t offsets[kMaxOperands];
      for (int64_t u = begin; u < end; ++u) {
        const int64_t r = u / segments, first = (u % segments) * kSegment;
        int64_t rest = r;
        for (int i = 0; i < numInputs; ++i)
          offsets[i] = first * innerStrides[i];
        for (int d = rank - 2; d >= 0; --d) {
          const int64_t coord = rest % dims[d];
          rest /= dims[d];
          for (int i = 0; i < numInputs; ++i)
            offsets[i] += coord * strides[i][d];
        }
        row(r * inner + first, offsets, innerStrides,
            std::min(kSegment, inner - first));
      }
    });
    return;
  }
  const int64_t minRows = std::max<int64_t>(1, kSegment / inner);
  pool.parallelFor(outer, minRows, [&](int64_t begin, int64_t end) {
    // Decompose the first row index once, then step an odometer.
    int64_t coord[kMaxRank] = {};
    int64_t offsets[kMaxOperands] = {};
    int64_t rest = begin;
    for (int d = rank - 2; d >= 0; --d) {
      coord[d] = rest % dims[d];
      rest /= dims[d];
      for (int i = 0; i < numInputs; ++i)
        offsets[i] += coord[d] * strides[i][d];
    }
    for (int64_t r = begin; r < end; ++r) {
      row(r * inner, offsets, innerStrides, inner);
      for (int d = rank - 2; d >= 0; --d) {
        for (int i = 0; i < numInputs; ++i)
          offsets[i] += strides[i][d];
        if (++coord[d] < dims[d])
          break;
        for (int i = 0; i < numInputs; ++i)
          offsets[i] -= coord[d] * strides[i][d];
        coord[d] = 0;
      }
    }
  });
}

/// Copies a strided view of `src` (element strides, possibly negative or 0)
/// into the dense `dst` with `rank`/`dims`, for any element size.
void copyStrided(void *dst, const void *src, int rank, const int64_t *dims,
                 const int64_t *srcStrides, size_t elemSize, ThreadPool &pool);

//===----------------------------------------------------------------------===//
// The fused epilogue of matmul, gemm and conv
//===----------------------------------------------------------------------===//

enum class Activation { none, relu, gelu, geluTanh, silu, sigmoid, tanh, clip };

struct ActivationSpec {
  Activation kind = Activation::none;
  float lo = -INFINITY, hi = INFINITY; // clip bounds
};

/// Reads `activation`, `clip_min`, `clip_max`.
azr_status_t parseActivation(const char *op, const Attrs &attrs,
                             ActivationSpec &spec);

inline float geluExact(float x) {
  return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
}
inline float geluTanh(float x) {
  const float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
  return 0.5f * x * (1.0f + std::tanh(inner));
}
inline float sigmoidf(float x) { return 1.0f / (1.0f + std::exp(-x)); }

/// Applies `spec` to n contiguous floats in place.
void applyActivation(const ActivationSpec &spec, float *data, int64_t n);

/// Vectorizable float math (fast_math.h), one table per ISA, chosen once
/// from cpuid like the GEMM path: activations in place, and exp(x - shift)
/// with its sum for softmax.
struct VectorMath {
  const char *name;
  void (*gelu)(float *x, int64_t n);
  void (*geluTanh)(float *x, int64_t n);
  void (*silu)(float *x, int64_t n);
  void (*sigmoid)(float *x, int64_t n);
  void (*tanh)(float *x, int64_t n);
  float (*expShiftSum)(const float *x, float shift, float *y, int64_t n);
};
const VectorMath &vectorMath();
#if defined(__x86_64__)
VectorMath vectorMathAvx2();
VectorMath vectorMathAvx512();
#endif

/// A float tensor read as broadcast to an output shape, added (times a
/// scale) to contiguous ranges of that output given by flat index.
struct Addend {
  const float *data = nullptr;
  float scale = 1.0f;
  int rank = 0;
  int64_t dims[kMaxRank] = {};    // the output's dims
  int64_t strides[kMaxRank] = {}; // the addend's strides in those dims

  void addRange(float *out, int64_t flatBegin, int64_t n) const;
};

/// Builds an addend broadcasting `t` (NumPy rules) to `output`.
azr_status_t makeAddend(const char *op, const char *what, const Tensor &t,
                        const Tensor &output, float scale, Addend &addend);

/// act(alpha * acc + sum(addends)), applied to finished output ranges.
struct Epilogue {
  float alpha = 1.0f;
  Addend addends[2];
  int numAddends = 0;
  ActivationSpec activation;

  void apply(float *out, int64_t flatBegin, int64_t n) const {
    if (alpha != 1.0f)
      for (int64_t i = 0; i < n; ++i)
        out[i] *= alpha;
    for (int a = 0; a < numAddends; ++a)
      addends[a].addRange(out, flatBegin, n);
    applyActivation(activation, out, n);
  }
};

/// The result and epilogue of a product by a stored weight (matmul_half,
/// matmul_nbits, matmul_nbits_packed): `out` must be f32 with `input`'s
/// shape but for its last dim N, `bias` (when present) f32 with N elements
/// and `residual` (when present) f32 broadcasting to `out`; `epilogue` then
/// holds the activation attribute, the bias and the residual.
azr_status_t weightProductEpilogue(const char *op, const Attrs &attrs,
                                   const Tensor &input, int64_t N,
                                   const Tensor &bias, const Tensor &residual,
                                   const Tensor &out, Epilogue &epilogue);

/// Single-precision C[M,N] = A[M,K] * B[K,N] (A with row stride `lda` and
/// column stride `acs`, B dense rows of stride `ldb`), for rows
/// [rowBegin, rowEnd) and columns [colBegin, colEnd); overwrites C. Each
/// element sums k in increasing order whatever the range, so partitioning
/// never changes results. One implementation per ISA; gemmTile is the
/// portable reference.
using GemmTileFn = void (*)(int64_t K, const float *A, int64_t lda, int64_t acs,
                            const float *B, int64_t ldb, float *C, int64_t ldc,
                            int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
                            int64_t colEnd);
void gemmTile(int64_t K, const float *A, int64_t lda, int64_t acs,
              const float *B, int64_t ldb, float *C, int64_t ldc,
              int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
              int64_t colEnd);
/// The same for a weight packed at build (matmul_packed): `packed` holds
/// column panels of 32 floats (gemm_simd.h, panelOffset); colBegin is a
/// multiple of 32.
using GemmPrepackedTileFn = void (*)(int64_t K, const float *A, int64_t lda,
                                     int64_t acs, const float *packed, float *C,
                                     int64_t ldc, int64_t rowBegin,
                                     int64_t rowEnd, int64_t colBegin,
                                     int64_t colEnd);
void gemmTilePrepacked(int64_t K, const float *A, int64_t lda, int64_t acs,
                       const float *packed, float *C, int64_t ldc,
                       int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
                       int64_t colEnd);
/// The same for panels of halves (f16, or bfloat16 with `bf16`), each
/// widened exactly as it is read.
using GemmPrepackedHalfTileFn = void (*)(int64_t K, const float *A, int64_t lda,
                                         int64_t acs, const uint16_t *packed,
                                         bool bf16, float *C, int64_t ldc,
                                         int64_t rowBegin, int64_t rowEnd,
                                         int64_t colBegin, int64_t colEnd);
void gemmTilePrepackedHalf(int64_t K, const float *A, int64_t lda, int64_t acs,
                           const uint16_t *packed, bool bf16, float *C,
                           int64_t ldc, int64_t rowBegin, int64_t rowEnd,
                           int64_t colBegin, int64_t colEnd);
#if defined(__x86_64__)
void gemmTilePrepackedHalfAvx2(int64_t K, const float *A, int64_t lda,
                               int64_t acs, const uint16_t *packed, bool bf16,
                               float *C, int64_t ldc, int64_t rowBegin,
                               int64_t rowEnd, int64_t colBegin,
                               int64_t colEnd);
void gemmTilePrepackedHalfAvx512(int64_t K, const float *A, int64_t lda,
                                 int64_t acs, const uint16_t *packed, bool bf16,
                                 float *C, int64_t ldc, int64_t rowBegin,
                                 int64_t rowEnd, int64_t colBegin,
                                 int64_t colEnd);
void gemmTilePrepackedAvx2(int64_t K, const float *A, int64_t lda, int64_t acs,
                           const float *packed, float *C, int64_t ldc,
                           int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
                           int64_t colEnd);
void gemmTilePrepackedAvx512(int64_t K, const float *A, int64_t lda,
                             int64_t acs, const float *packed, float *C,
                             int64_t ldc, int64_t rowBegin, int64_t rowEnd,
                             int64_t colBegin, int64_t colEnd);
void gemmTileAvx2(int64_t K, const float *A, int64_t lda, int64_t acs,
                  const float *B, int64_t ldb, float *C, int64_t ldc,
                  int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
                  int64_t colEnd);
void gemmTileAvx512(int64_t K, const float *A, int64_t lda, int64_t acs,
                    const float *B, int64_t ldb, float *C, int64_t ldc,
                    int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
                    int64_t colEnd);
#endif

/// The GEMM tile for this CPU, chosen once from cpuid: "avx512", "avx2" or
/// "portable". AZR_CPU_DISABLE=avx512f (or avx2) forces a narrower one.
struct GemmPath {
  const char *name;
  GemmTileFn tile;
  GemmPrepackedTileFn prepackedTile;
  GemmPrepackedHalfTileFn prepackedHalfTile;
};
const GemmPath &gemmPath();

/// One product of a batched GEMM. C(i, j) is element
/// flatBase + i * flatRowStride + j of the output the epilogue sees.
struct GemmBatch {
  const float *A;
  int64_t lda, acs;
  const float *B;
  int64_t ldb;
  float *C;
  int64_t ldc;
  int64_t flatBase, flatRowStride;
  /// B is packed at build in 32-column panels (ldb unused).
  bool prepacked = false;
  /// Those panels hold halves here instead of B's floats (f16, or bfloat16
  /// with bf16).
  const uint16_t *halfB = nullptr;
  bool bf16 = false;
};

/// Runs every batch's M x N x K product on the pool, tiles split over rows
/// and columns, each tile finished by `epilogue` (may be null).
void parallelGemm(ThreadPool &pool, int64_t M, int64_t N, int64_t K,
                  const std::vector<GemmBatch> &batches,
                  const Epilogue *epilogue);

/// Tiling of the GEMM output used to split work across threads; ranges start
/// on multiples of these so results do not depend on the thread count.
constexpr int64_t kGemmRowBlock = 4;
constexpr int64_t kGemmRowPanel = 72;
constexpr int64_t kGemmColBlock = 256;
/// Columns per panel of a weight matmul_packed reads (packed at build).
constexpr int64_t kPrepackedPanelWidth = 32;

} // namespace azr::cpu

#endif // AZR_CPU_KERNEL_UTIL_H

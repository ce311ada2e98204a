//===- matmul_half.cc - the f16/bf16-weight matmul kernel -----------------===//
//
// Checks the operands of matmul_half, chooses the ISA path and splits the
// work over the pool as matmul_nbits does (weight_streaming.h): up to
// kDecodeMaxRows rows over columns, more over tiles. The portable path is
// here too.
//
//===----------------------------------------------------------------------===//

#include "cpu/matmul_half.h"
#include "cpu/weight_streaming.h"

#include "cpu/cast.h"
#include "cpu/kernel_util.h"
#include "cpu_features.h"

#include <algorithm>
#include <vector>

namespace azr::cpu {

namespace {

constexpr int64_t kDecodeMaxRows = 32; ///< above: the tiles
constexpr int64_t kPortableCols = 64;  ///< portable tile: columns at a time

float widen(const HalfWeights &w, uint16_t x) {
  return w.bf16 ? bf16ToFloat(x) : halfToFloat(x);
}

void halfDecodePortable(const HalfWeights &w, const float *A, int64_t lda,
                        int rows, float *C, int64_t ldc, int64_t n0,
                        int64_t n1) {
  thread_local std::vector<float> column;
  column.resize(size_t(w.K));
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t k = 0; k < w.K; ++k)
      column[size_t(k)] = widen(w, w.W[n * w.K + k]);
    for (int r = 0; r < rows; ++r)
      C[r * ldc + n] = dotInFixedOrder(A + r * lda, column.data(), w.K);
  }
}

void halfTilePortable(const HalfWeights &w, const float *A, int64_t lda,
                      float *C, int64_t ldc, int64_t rowBegin, int64_t rowEnd,
                      int64_t n0, int64_t n1) {
  thread_local std::vector<float> block;
  block.resize(size_t(w.K * kPortableCols));
  for (int64_t j0 = n0; j0 < n1; j0 += kPortableCols) {
    const int64_t cols = std::min(kPortableCols, n1 - j0);
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t k = 0; k < w.K; ++k)
        block[size_t(k * cols + c)] = widen(w, w.W[(j0 + c) * w.K + k]);
    gemmTile(w.K, A, lda, 1, block.data(), cols, C + j0, ldc, rowBegin, rowEnd,
             0, cols);
  }
}

azr_status_t matmulHalfKernel(const KernelContext &context) {
  const char *op = "matmul_half";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 4, 1));
  const Tensor &a = context.input(0), &w = context.input(1);
  const Tensor none;
  const Tensor &bias = context.numInputs > 2 ? context.input(2) : none;
  const Tensor &residual = context.numInputs > 3 ? context.input(3) : none;
  Tensor &out = context.output(0);
  if (a.dtype != DType::f32 || a.rank < 1)
    return AZR_INVALID("%s: input must be f32 of rank >= 1, got %s %s", op,
                       dtypeName(a.dtype), shapeString(a).c_str());
  if ((w.dtype != DType::f16 && w.dtype != DType::bf16) || w.rank != 2)
    return AZR_INVALID("%s: weight must be f16 or bf16 [N, K], got %s %s", op,
                       dtypeName(w.dtype), shapeString(w).c_str());
  const int64_t N = w.dims[0], K = w.dims[1];
  if (a.dims[a.rank - 1] != K)
    return AZR_INVALID("%s: input %s does not end in K=%lld (weight %s)", op,
                       shapeString(a).c_str(), (long long)K,
                       shapeString(w).c_str());
  Epilogue epilogue;
  AZR_RETURN_IF_ERROR(weightProductEpilogue(op, *context.attrs, a, N, bias,
                                            residual, out, epilogue));
  // The rows of the result (K may be 0: then every element is 0).
  const int64_t M = N > 0 ? out.numel() / N : 0;
  if (M == 0)
    return nullptr;
  float *C = out.as<float>();
  const HalfWeights weights = {w.as<const uint16_t>(), w.dtype == DType::bf16,
                               N, K};
  const HalfPath &path = halfPath();
  const float *A = a.as<const float>();
  context.notePath(path.name, M <= kDecodeMaxRows ? "decode" : "tiles");
  if (M <= kDecodeMaxRows)
    streamColumns(
        *context.pool, M, N, 2 * K,
        [&](int64_t i, int rows, int64_t n0, int64_t n1) {
          path.decode(weights, A + i * K, K, rows, C + i * N, N, n0, n1);
        },
        epilogue, C);
  else
    streamTiles(
        *context.pool, M, N,
        [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
          path.tile(weights, A, K, C, N, i0, i1, n0, n1);
        },
        epilogue, C);
  return nullptr;
}

} // namespace

const HalfPath &halfPath() {
  static const HalfPath portable = {"portable", halfDecodePortable,
                                    halfTilePortable};
#if defined(__x86_64__)
  static const HalfPath avx512 = {"avx512", halfDecodeAvx512, halfTileAvx512};
  static const HalfPath avx2 = {"avx2", halfDecodeAvx2, halfTileAvx2};
  static const bool base = hasCpuFeature("fma") && hasCpuFeature("f16c");
  static const bool has512 = base && hasCpuFeature("avx512f");
  static const bool has2 = base && hasCpuFeature("avx2");
  if (has512)
    return avx512;
  if (has2)
    return avx2;
#endif
  return portable;
}

void addMatMulHalfKernels(KernelTable &table) {
  table.push_back({"matmul_half", guarded<matmulHalfKernel>});
}

} // namespace azr::cpu

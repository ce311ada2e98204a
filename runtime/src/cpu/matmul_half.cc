//===- matmul_half.cc - the f16/bf16-weight matmul kernel -----------------===//
//
// Checks the operands of matmul_half, chooses the ISA path and splits the
// work over the pool like matmul_nbits: up to kDecodeMaxRows rows, over
// columns, each thread streaming its share of W once while groups of 4
// rows take turns on spans that stay in L2; more rows, over tiles. The
// portable path is here too.
//
//===----------------------------------------------------------------------===//

#include "cpu/matmul_half.h"

#include "cpu/cast.h"
#include "cpu/kernel_util.h"
#include "cpu_features.h"

#include <algorithm>
#include <vector>

namespace azr::cpu {

namespace {

constexpr int kDecodeRows = 4;
constexpr int64_t kDecodeMaxRows = 32;        ///< above: the tiles
constexpr int64_t kDecodeL2Bytes = 256 << 10; ///< weights a span reuses
constexpr int64_t kDecodeColUnit = 16;
constexpr int64_t kTileRows = 256, kTileCols = 256, kPortableCols = 64;

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
    for (int r = 0; r < rows; ++r) {
      float acc[8] = {};
      const float *a = A + r * lda;
      int64_t k = 0;
      for (; k + 8 <= w.K; k += 8)
        for (int j = 0; j < 8; ++j)
          acc[j] += a[k + j] * column[size_t(k + j)];
      for (; k < w.K; ++k)
        acc[k % 8] += a[k] * column[size_t(k)];
      C[r * ldc + n] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                       ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
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
  bool sameShape = out.dtype == DType::f32 && out.rank == a.rank &&
                   out.dims[out.rank - 1] == N;
  for (int d = 0; sameShape && d + 1 < a.rank; ++d)
    sameShape = out.dims[d] == a.dims[d];
  if (!sameShape)
    return AZR_INVALID("%s: result must be f32 %s with last dim N=%lld, got "
                       "%s %s",
                       op, shapeString(a).c_str(), (long long)N,
                       dtypeName(out.dtype), shapeString(out).c_str());
  if (bias.present() && (bias.dtype != DType::f32 || bias.numel() != N))
    return AZR_INVALID("%s: bias must be f32 with N=%lld elements, got %s %s",
                       op, (long long)N, dtypeName(bias.dtype),
                       shapeString(bias).c_str());
  if (residual.present() && residual.dtype != DType::f32)
    return AZR_INVALID("%s: residual must be f32, got %s", op,
                       dtypeName(residual.dtype));
  Epilogue epilogue;
  AZR_RETURN_IF_ERROR(parseActivation(op, *context.attrs, epilogue.activation));
  if (bias.present())
    AZR_RETURN_IF_ERROR(makeAddend(op, "bias", bias, out, 1.0f,
                                   epilogue.addends[epilogue.numAddends++]));
  if (residual.present())
    AZR_RETURN_IF_ERROR(makeAddend(op, "residual", residual, out, 1.0f,
                                   epilogue.addends[epilogue.numAddends++]));
  const int64_t M = a.numel() / std::max<int64_t>(K, 1);
  if (M == 0 || N == 0)
    return nullptr;
  float *C = out.as<float>();
  if (K == 0) {
    std::fill(C, C + M * N, 0.0f);
  }
  const HalfWeights weights = {w.as<const uint16_t>(), w.dtype == DType::bf16,
                               N, K};
  const HalfPath &path = halfPath();
  const float *A = a.as<const float>();
  const bool hasEpilogue =
      epilogue.numAddends > 0 || epilogue.activation.kind != Activation::none;
  auto finish = [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
    if (hasEpilogue)
      for (int64_t i = i0; i < i1; ++i)
        epilogue.apply(C + i * N + n0, i * N + n0, n1 - n0);
  };
  if (K > 0 && M <= kDecodeMaxRows) {
    const int64_t columnBytes = 2 * K;
    const int64_t units = (N + kDecodeColUnit - 1) / kDecodeColUnit;
    const int64_t minUnits = std::max<int64_t>(
        1, (int64_t(1) << 16) / (kDecodeColUnit * columnBytes));
    const int64_t span =
        kDecodeColUnit *
        std::max<int64_t>(1, kDecodeL2Bytes / (kDecodeColUnit * columnBytes));
    context.pool->parallelFor(units, minUnits, [&](int64_t u0, int64_t u1) {
      const int64_t n0 = u0 * kDecodeColUnit;
      const int64_t n1 = std::min(N, u1 * kDecodeColUnit);
      for (int64_t j0 = n0; j0 < n1; j0 += span)
        for (int64_t i = 0; i < M; i += kDecodeRows)
          path.decode(weights, A + i * K, K,
                      int(std::min<int64_t>(kDecodeRows, M - i)), C + i * N, N,
                      j0, std::min(n1, j0 + span));
      finish(0, M, n0, n1);
    });
    return nullptr;
  }
  const int64_t panels = (M + kTileRows - 1) / kTileRows;
  const int64_t colBlocks = (N + kTileCols - 1) / kTileCols;
  context.pool->parallelFor(panels * colBlocks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i0 = (t / colBlocks) * kTileRows;
      const int64_t i1 = std::min(M, i0 + kTileRows);
      const int64_t n0 = (t % colBlocks) * kTileCols;
      const int64_t n1 = std::min(N, n0 + kTileCols);
      if (K > 0)
        path.tile(weights, A, K, C, N, i0, i1, n0, n1);
      finish(i0, i1, n0, n1);
    }
  });
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

//===- gemm.cc - the f32 GEMM core and the matmul and gemm kernels --------===//

#include "cpu/cast.h"
#include "cpu/kernel_util.h"

#include "cpu_features.h"

namespace azr::cpu {

// A K block of B (kKBlock x kGemmColBlock floats, 128 KiB) stays in L2 while
// a row panel streams over it; the four C rows being updated stay in L1.
constexpr int64_t kKBlock = 128;

// Rows i..i+R-1 of C[:, j0:j0+n] += A[rows, k0:k1] * B[k0:k1, j0:j0+n].
// k is unrolled by two without reassociating: c = (c + a_k b_k) + a_k+1 b_k+1
// is the same sum order as the plain loop.
template <int R>
static void microKernel(int64_t k0, int64_t k1, const float *A, int64_t lda,
                        int64_t acs, const float *B, int64_t ldb, float *C,
                        int64_t ldc, int64_t n) {
  float *__restrict c[R];
  for (int r = 0; r < R; ++r)
    c[r] = C + r * ldc;
  int64_t k = k0;
  for (; k + 1 < k1; k += 2) {
    const float *__restrict b0 = B + k * ldb;
    const float *__restrict b1 = b0 + ldb;
    float a0[R], a1[R];
    for (int r = 0; r < R; ++r) {
      a0[r] = A[r * lda + k * acs];
      a1[r] = A[r * lda + (k + 1) * acs];
    }
    for (int r = 0; r < R; ++r) {
      float *__restrict cr = c[r];
      const float x = a0[r], y = a1[r];
      for (int64_t j = 0; j < n; ++j)
        cr[j] = (cr[j] + x * b0[j]) + y * b1[j];
    }
  }
  if (k < k1) {
    const float *__restrict b0 = B + k * ldb;
    for (int r = 0; r < R; ++r) {
      float *__restrict cr = c[r];
      const float x = A[r * lda + k * acs];
      for (int64_t j = 0; j < n; ++j)
        cr[j] += x * b0[j];
    }
  }
}

void gemmTile(int64_t K, const float *A, int64_t lda, int64_t acs,
              const float *B, int64_t ldb, float *C, int64_t ldc,
              int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
              int64_t colEnd) {
  for (int64_t j0 = colBegin; j0 < colEnd; j0 += kGemmColBlock) {
    const int64_t n = std::min(kGemmColBlock, colEnd - j0);
    for (int64_t i = rowBegin; i < rowEnd; ++i)
      std::fill(C + i * ldc + j0, C + i * ldc + j0 + n, 0.0f);
    for (int64_t k0 = 0; k0 < K; k0 += kKBlock) {
      const int64_t k1 = std::min(K, k0 + kKBlock);
      int64_t i = rowBegin;
      for (; i + kGemmRowBlock <= rowEnd; i += kGemmRowBlock)
        microKernel<kGemmRowBlock>(k0, k1, A + i * lda, lda, acs, B + j0, ldb,
                                   C + i * ldc + j0, ldc, n);
      for (; i < rowEnd; ++i)
        microKernel<1>(k0, k1, A + i * lda, lda, acs, B + j0, ldb,
                       C + i * ldc + j0, ldc, n);
    }
  }
}

/// The portable tile on panels packed at build, whose elements `widen`
/// turns into floats.
template <class E, class Widen>
static void prepackedPortable(int64_t K, const float *A, int64_t lda,
                              int64_t acs, const E *packed, const Widen &widen,
                              float *C, int64_t ldc, int64_t rowBegin,
                              int64_t rowEnd, int64_t colBegin,
                              int64_t colEnd) {
  constexpr int64_t P = kPrepackedPanelWidth;
  for (int64_t j0 = colBegin; j0 < colEnd; j0 += P) {
    const int64_t n = std::min(P, colEnd - j0);
    const E *panel = packed + (j0 / P) * K * P;
    for (int64_t i = rowBegin; i < rowEnd; ++i) {
      float acc[P] = {};
      for (int64_t k = 0; k < K; ++k) {
        const float a = A[i * lda + k * acs];
        for (int64_t c = 0; c < P; ++c)
          acc[c] += a * widen(panel[k * P + c]);
      }
      std::copy(acc, acc + n, C + i * ldc + j0);
    }
  }
}

void gemmTilePrepacked(int64_t K, const float *A, int64_t lda, int64_t acs,
                       const float *packed, float *C, int64_t ldc,
                       int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
                       int64_t colEnd) {
  prepackedPortable(
      K, A, lda, acs, packed, [](float x) { return x; }, C, ldc, rowBegin,
      rowEnd, colBegin, colEnd);
}

void gemmTilePrepackedHalf(int64_t K, const float *A, int64_t lda, int64_t acs,
                           const uint16_t *packed, bool bf16, float *C,
                           int64_t ldc, int64_t rowBegin, int64_t rowEnd,
                           int64_t colBegin, int64_t colEnd) {
  if (bf16)
    prepackedPortable(K, A, lda, acs, packed, bf16ToFloat, C, ldc, rowBegin,
                      rowEnd, colBegin, colEnd);
  else
    prepackedPortable(K, A, lda, acs, packed, halfToFloat, C, ldc, rowBegin,
                      rowEnd, colBegin, colEnd);
}

const GemmPath &gemmPath() {
  static const GemmPath path = []() -> GemmPath {
#if defined(__x86_64__)
    if (hasCpuFeature("avx512f") && hasCpuFeature("fma") &&
        hasCpuFeature("f16c"))
      return {"avx512", gemmTileAvx512, gemmTilePrepackedAvx512,
              gemmTilePrepackedHalfAvx512};
    if (hasCpuFeature("avx2") && hasCpuFeature("fma") && hasCpuFeature("f16c"))
      return {"avx2", gemmTileAvx2, gemmTilePrepackedAvx2,
              gemmTilePrepackedHalfAvx2};
#endif
    return {"portable", gemmTile, gemmTilePrepacked, gemmTilePrepackedHalf};
  }();
  return path;
}

void parallelGemm(ThreadPool &pool, int64_t M, int64_t N, int64_t K,
                  const std::vector<GemmBatch> &batches,
                  const Epilogue *epilogue) {
  if (M == 0 || N == 0 || batches.empty())
    return;
  // Tasks are (batch, row panel, column block). A tile packs its block of B
  // once for all of its rows, so when there are enough column blocks to
  // keep every thread busy, a task takes all rows (up to 288) and B is
  // packed once per GEMM; narrower column blocks make more of them when N is
  // small. Every panel holds more than kGemmRowBlock rows (the tiles' few-
  // row path) unless M itself does, so every row takes the same code path
  // at any thread count.
  const int64_t threads = pool.numThreads();
  const int64_t batchCount = int64_t(batches.size());
  int64_t colWidth = kGemmColBlock;
  if (batchCount * ((N + colWidth - 1) / colWidth) < 2 * threads && N > 128)
    colWidth = 128;
  // Each column block packs its rows of A again: a single product of more
  // than a few rows takes as few blocks as keep every thread busy, at most
  // 512 columns wide (a 256-row block of B is then 512 KiB, within L2).
  // At BERT-base's shapes this took a tenth off the run.
  if (batchCount == 1 && M > 4) {
    int64_t blocks = (N + 511) / 512;
    blocks = (blocks + threads - 1) / threads * threads;
    colWidth = ((N + blocks - 1) / blocks + 31) / 32 * 32;
  }
  const int64_t colBlocks = (N + colWidth - 1) / colWidth;
  int64_t panelRows = kGemmRowPanel;
  if (batchCount * colBlocks >= 2 * threads)
    panelRows =
        std::min<int64_t>(4 * kGemmRowPanel, (M + kGemmRowPanel - 1) /
                                                 kGemmRowPanel * kGemmRowPanel);
  int64_t panels = (M + panelRows - 1) / panelRows;
  // A last panel of at most kGemmRowBlock rows would take the tiles'
  // few-row path, whose sums round differently: it joins the one before,
  // so that no row's result depends on the split (or the thread count).
  if (panels > 1 && M - (panels - 1) * panelRows <= kGemmRowBlock)
    --panels;
  const int64_t tasks = batchCount * panels * colBlocks;
  const int64_t flopsPerTask =
      std::max<int64_t>(1, std::min(M, panelRows) * std::min(N, colWidth) *
                               std::max<int64_t>(K, 1));
  const int64_t minTasks = std::max<int64_t>(1, (1 << 18) / flopsPerTask);
  const GemmTileFn tile = gemmPath().tile;
  const GemmPrepackedTileFn prepackedTile = gemmPath().prepackedTile;
  const GemmPrepackedHalfTileFn prepackedHalfTile =
      gemmPath().prepackedHalfTile;
  pool.parallelFor(tasks, minTasks, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t colBlock = t % colBlocks;
      const int64_t panel = (t / colBlocks) % panels;
      const GemmBatch &b = batches[size_t(t / (colBlocks * panels))];
      const int64_t i0 = panel * panelRows;
      const int64_t i1 = panel + 1 == panels ? M : i0 + panelRows;
      const int64_t j0 = colBlock * colWidth;
      const int64_t j1 = std::min(N, j0 + colWidth);
      if (b.prepacked && b.halfB)
        prepackedHalfTile(K, b.A, b.lda, b.acs, b.halfB, b.bf16, b.C, b.ldc, i0,
                          i1, j0, j1);
      else if (b.prepacked)
        prepackedTile(K, b.A, b.lda, b.acs, b.B, b.C, b.ldc, i0, i1, j0, j1);
      else
        tile(K, b.A, b.lda, b.acs, b.B, b.ldb, b.C, b.ldc, i0, i1, j0, j1);
      if (epilogue)
        for (int64_t i = i0; i < i1; ++i)
          epilogue->apply(b.C + i * b.ldc + j0,
                          b.flatBase + i * b.flatRowStride + j0, j1 - j0);
    }
  });
}

namespace {

/// Every operand and the result f32, but for input `halfInput` (if any),
/// which may also be f16 or bf16.
azr_status_t checkF32(const char *op, const KernelContext &context,
                      int halfInput = -1) {
  for (int i = 0; i < context.numInputs; ++i) {
    const DType t = context.input(i).dtype;
    if (context.input(i).present() && t != DType::f32 &&
        !(i == halfInput && (t == DType::f16 || t == DType::bf16)))
      return unsupportedDtype(op, t);
  }
  if (context.output(0).dtype != DType::f32)
    return unsupportedDtype(op, context.output(0).dtype);
  return nullptr;
}

azr_status_t addEpilogueOperand(const char *op, const char *what,
                                const Tensor &t, const Tensor &output,
                                float scale, Epilogue &epilogue) {
  if (!t.present())
    return nullptr;
  return makeAddend(op, what, t, output, scale,
                    epilogue.addends[epilogue.numAddends++]);
}

/// The epilogue of matmul and its variants: the activation attribute, then
/// operands 2 (bias) and 3 (residual) when present.
azr_status_t matmulEpilogue(const char *op, const KernelContext &context,
                            const Tensor &out, Epilogue &epilogue) {
  AZR_RETURN_IF_ERROR(parseActivation(op, *context.attrs, epilogue.activation));
  if (context.numInputs > 2)
    AZR_RETURN_IF_ERROR(
        addEpilogueOperand(op, "bias", context.input(2), out, 1.0f, epilogue));
  if (context.numInputs > 3)
    AZR_RETURN_IF_ERROR(addEpilogueOperand(op, "residual", context.input(3),
                                           out, 1.0f, epilogue));
  return nullptr;
}

/// An f64 product, for models that compute in double (reference-style
/// exports, scientific code): accumulated in double, one row of the result
/// per task. There is no epilogue: the compiler fuses into f32 products only.
void matmulF64(ThreadPool &pool, int64_t M, int64_t N, int64_t K,
               const double *lhs, const double *rhs, double *out) {
  pool.parallelFor(M, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      double *row = out + i * N;
      std::fill(row, row + N, 0.0);
      for (int64_t k = 0; k < K; ++k) {
        const double a = lhs[i * K + k];
        const double *b = rhs + k * N;
        for (int64_t j = 0; j < N; ++j)
          row[j] += a * b[j];
      }
    }
  });
}

azr_status_t matmulKernel(const KernelContext &context) {
  const char *op = "matmul";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 4, 1));
  const bool f64 = context.input(0).dtype == DType::f64 &&
                   context.input(1).dtype == DType::f64 &&
                   context.output(0).dtype == DType::f64;
  if (f64)
    for (int i = 2; i < context.numInputs; ++i)
      if (context.input(i).present())
        return AZR_INVALID("matmul: an f64 product takes no bias or residual");
  if (!f64)
    AZR_RETURN_IF_ERROR(checkF32(op, context));
  const Tensor &lhs = context.input(0), &rhs = context.input(1);
  Tensor &out = context.output(0);
  if (lhs.rank < 1 || rhs.rank < 1)
    return AZR_INVALID("matmul: operands must have rank >= 1, got %s and %s",
                       shapeString(lhs).c_str(), shapeString(rhs).c_str());
  // ONNX MatMul: a 1-D lhs is a row, a 1-D rhs a column; their unit dims do
  // not appear in the result.
  const int64_t M = lhs.rank == 1 ? 1 : lhs.dims[lhs.rank - 2];
  const int64_t K = lhs.dims[lhs.rank - 1];
  const int64_t K2 = rhs.rank == 1 ? rhs.dims[0] : rhs.dims[rhs.rank - 2];
  const int64_t N = rhs.rank == 1 ? 1 : rhs.dims[rhs.rank - 1];
  if (K != K2)
    return AZR_INVALID("matmul: contraction dims differ: %s @ %s",
                       shapeString(lhs).c_str(), shapeString(rhs).c_str());
  const int lhsBatchRank = std::max(0, lhs.rank - 2);
  const int rhsBatchRank = std::max(0, rhs.rank - 2);
  const int batchRank = std::max(lhsBatchRank, rhsBatchRank);
  Tensor lhsBatch, rhsBatch, batch;
  lhsBatch.rank = lhsBatchRank;
  rhsBatch.rank = rhsBatchRank;
  batch.rank = batchRank;
  std::copy(lhs.dims, lhs.dims + lhsBatchRank, lhsBatch.dims);
  std::copy(rhs.dims, rhs.dims + rhsBatchRank, rhsBatch.dims);
  for (int d = 0; d < batchRank; ++d) {
    const int dl = d - (batchRank - lhsBatchRank);
    const int dr = d - (batchRank - rhsBatchRank);
    const int64_t a = dl >= 0 ? lhsBatch.dims[dl] : 1;
    const int64_t b = dr >= 0 ? rhsBatch.dims[dr] : 1;
    if (a != b && a != 1 && b != 1)
      return AZR_INVALID("matmul: batch dims do not broadcast: %s @ %s",
                         shapeString(lhs).c_str(), shapeString(rhs).c_str());
    batch.dims[d] = a == 1 ? b : a;
  }
  // The result must be exactly batch + [M] + [N] less the promoted dims.
  int64_t expected[kMaxRank + 2];
  int expectedRank = 0;
  for (int d = 0; d < batchRank; ++d)
    expected[expectedRank++] = batch.dims[d];
  if (lhs.rank > 1)
    expected[expectedRank++] = M;
  if (rhs.rank > 1)
    expected[expectedRank++] = N;
  bool same = expectedRank == out.rank;
  for (int d = 0; same && d < expectedRank; ++d)
    same = expected[d] == out.dims[d];
  if (!same)
    return AZR_INVALID("matmul: result shape %s does not match %s @ %s",
                       shapeString(out).c_str(), shapeString(lhs).c_str(),
                       shapeString(rhs).c_str());

  Epilogue epilogue;
  AZR_RETURN_IF_ERROR(matmulEpilogue(op, context, out, epilogue));
  if (f64 && epilogue.activation.kind != Activation::none)
    return AZR_INVALID("matmul: an f64 product takes no activation");

  int64_t lhsStrides[kMaxRank], rhsStrides[kMaxRank];
  broadcastStrides(lhsBatch, batchRank, batch.dims, lhsStrides);
  broadcastStrides(rhsBatch, batchRank, batch.dims, rhsStrides);
  const int64_t batches = batch.numel();
  // The lhs and rhs matrices that product `b` of the batch reads.
  auto operandsOf = [&](int64_t b, int64_t &lhsIndex, int64_t &rhsIndex) {
    lhsIndex = rhsIndex = 0;
    for (int d = batchRank - 1; d >= 0; --d) {
      const int64_t coord = b % batch.dims[d];
      b /= batch.dims[d];
      lhsIndex += coord * lhsStrides[d];
      rhsIndex += coord * rhsStrides[d];
    }
  };
  if (f64) {
    for (int64_t b = 0; b < batches; ++b) {
      int64_t lhsIndex, rhsIndex;
      operandsOf(b, lhsIndex, rhsIndex);
      matmulF64(*context.pool, M, N, K,
                lhs.as<const double>() + lhsIndex * M * K,
                rhs.as<const double>() + rhsIndex * K * N,
                out.as<double>() + b * M * N);
    }
    context.notePath("f64", "rows");
    return nullptr;
  }
  std::vector<GemmBatch> products(static_cast<size_t>(batches));
  for (int64_t b = 0; b < batches; ++b) {
    int64_t lhsIndex, rhsIndex;
    operandsOf(b, lhsIndex, rhsIndex);
    products[size_t(b)] = {lhs.as<const float>() + lhsIndex * M * K,
                           K,
                           1,
                           rhs.as<const float>() + rhsIndex * K * N,
                           N,
                           out.as<float>() + b * M * N,
                           N,
                           b * M * N,
                           N};
  }
  context.notePath(gemmPath().name, "tiles");
  parallelGemm(*context.pool, M, N, K, products, &epilogue);
  return nullptr;
}

/// matmul_packed: input [..., K] times a weight packed at build into
/// [ceil(N / 32), K, 32] column panels of f32, f16 or bf16, with matmul's
/// epilogue.
azr_status_t matmulPackedKernel(const KernelContext &context) {
  const char *op = "matmul_packed";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 4, 1));
  AZR_RETURN_IF_ERROR(checkF32(op, context, /*halfInput=*/1));
  const Tensor &input = context.input(0), &weight = context.input(1);
  const bool half = weight.dtype == DType::f16 || weight.dtype == DType::bf16;
  Tensor &out = context.output(0);
  const int64_t K = weight.rank == 3 ? weight.dims[1] : -1;
  const int64_t N = context.attrs->getInt("N", -1);
  constexpr int64_t P = kPrepackedPanelWidth;
  if (input.rank < 1 || input.dims[input.rank - 1] != K || weight.rank != 3 ||
      weight.dims[0] != (N + P - 1) / P || weight.dims[1] != K ||
      weight.dims[2] != P || out.rank != input.rank ||
      out.dims[out.rank - 1] != N)
    return AZR_INVALID("matmul_packed: input %s, weight %s and result %s do "
                       "not fit K = %lld, N = %lld in panels of %lld",
                       shapeString(input).c_str(), shapeString(weight).c_str(),
                       shapeString(out).c_str(), (long long)K, (long long)N,
                       (long long)P);
  const int64_t M =
      K > 0 ? input.numel() / K : out.numel() / std::max<int64_t>(N, 1);
  Epilogue epilogue;
  AZR_RETURN_IF_ERROR(matmulEpilogue(op, context, out, epilogue));
  GemmBatch product = {input.as<const float>(),
                       K,
                       1,
                       weight.as<const float>(),
                       0,
                       out.as<float>(),
                       N,
                       0,
                       N,
                       /*prepacked=*/true};
  if (half) {
    product.B = nullptr;
    product.halfB = weight.as<const uint16_t>();
    product.bf16 = weight.dtype == DType::bf16;
  }
  context.notePath(gemmPath().name, half
                                        ? "tiles on half panels packed at build"
                                        : "tiles on panels packed at build");
  parallelGemm(*context.pool, M, N, K, {product}, &epilogue);
  return nullptr;
}

azr_status_t gemmKernel(const KernelContext &context) {
  const char *op = "gemm";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 3, 1));
  AZR_RETURN_IF_ERROR(checkF32(op, context));
  const Tensor &a = context.input(0), &b = context.input(1);
  Tensor &out = context.output(0);
  if (a.rank != 2 || b.rank != 2 || out.rank != 2)
    return AZR_INVALID("gemm: operands and result must be 2-D, got %s, %s -> "
                       "%s",
                       shapeString(a).c_str(), shapeString(b).c_str(),
                       shapeString(out).c_str());
  const bool transA = context.attrs->getInt("trans_a", 0) != 0;
  const bool transB = context.attrs->getInt("trans_b", 0) != 0;
  const int64_t M = transA ? a.dims[1] : a.dims[0];
  const int64_t K = transA ? a.dims[0] : a.dims[1];
  const int64_t K2 = transB ? b.dims[1] : b.dims[0];
  const int64_t N = transB ? b.dims[0] : b.dims[1];
  if (K != K2 || out.dims[0] != M || out.dims[1] != N)
    return AZR_INVALID("gemm: shapes do not match: op(%s) @ op(%s) -> %s",
                       shapeString(a).c_str(), shapeString(b).c_str(),
                       shapeString(out).c_str());
  Epilogue epilogue;
  epilogue.alpha = float(context.attrs->getFloat("alpha", 1.0));
  AZR_RETURN_IF_ERROR(parseActivation(op, *context.attrs, epilogue.activation));
  if (context.numInputs > 2)
    AZR_RETURN_IF_ERROR(addEpilogueOperand(
        op, "c", context.input(2), out,
        float(context.attrs->getFloat("beta", 1.0)), epilogue));

  // The core wants B with contiguous rows; a transposed A is read with
  // strides instead.
  const float *B = b.as<const float>();
  std::vector<float> packed;
  if (transB) {
    packed.resize(size_t(K * N));
    int64_t dims[2] = {K, N}, strides[2] = {1, K};
    copyStrided(packed.data(), B, 2, dims, strides, sizeof(float),
                *context.pool);
    B = packed.data();
  }
  GemmBatch product = {a.as<const float>(),
                       transA ? 1 : K,
                       transA ? M : 1,
                       B,
                       N,
                       out.as<float>(),
                       N,
                       0,
                       N};
  context.notePath(gemmPath().name, "tiles");
  parallelGemm(*context.pool, M, N, K, {product}, &epilogue);
  return nullptr;
}

} // namespace

void addGemmKernels(KernelTable &table) {
  table.push_back({"matmul", guarded<matmulKernel>});
  table.push_back({"matmul_packed", guarded<matmulPackedKernel>});
  table.push_back({"gemm", guarded<gemmKernel>});
}

} // namespace azr::cpu

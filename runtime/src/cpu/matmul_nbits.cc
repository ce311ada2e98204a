//===- matmul_nbits.cc - the block-quantized weight matmul kernel ---------===//
//
// Checks the operands of matmul_nbits, chooses the ISA path and splits the
// work over the pool. Up to nbitsDecodeMaxRows rows, over columns: each
// thread streams its own contiguous share of B once, groups of up to 4 rows
// taking turns on spans of columns that stay in L2, dequantizing in
// registers. More rows, over tiles of rows and columns, each dequantizing
// its columns of B into the f32 GEMM's packed panels once per K block and
// row panel. The portable reference path is here too.
//
// Weights hold integer codes with zero points, or codebook codes (NF4,
// FP8 E4M3) whose scales may themselves be quantized (NF4's double
// quantization). Activations may be quantized statically, with a scale
// calibration chose: to int8, through the int8 path where the CPU has one
// (else rounded to the int8 grid and multiplied in f32: the same products),
// or to E4M3, emulated by rounding to its grid.
//===----------------------------------------------------------------------===//

#include "cpu/matmul_nbits.h"
#include "cpu/weight_streaming.h"

#include "cpu/cast.h"
#include "cpu/kernel_util.h"
#include "cpu_features.h"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace azr::cpu {

namespace {

constexpr int64_t kPortableCols = 64; ///< portable tile: columns at a time

/// Column n of dequant(B): d[k * stride] = float(code - zero point) * scale
/// (or codebook[code] * scale) for k < K.
void dequantColumn(const NBitsWeights &w, int64_t n, float *d, int64_t stride) {
  for (int64_t b = 0; b < w.kBlocks; ++b) {
    const float s = w.scale(n * w.kBlocks + b);
    const int zp = w.codebook ? 0 : w.zeroPoint(n, b);
    auto value = [&](int code) {
      return w.codebook ? w.codebook[code] * s : float(code - zp) * s;
    };
    const int64_t k0 = b * w.blockSize;
    const int64_t k1 = std::min(w.K, k0 + w.blockSize);
    const uint8_t *blob = w.B + (n * w.kBlocks + b) * w.blobSize;
    if (w.bits == 8) {
      for (int64_t k = k0; k < k1; ++k)
        d[k * stride] = value(blob[k - k0]);
    } else {
      // Block starts are even: byte i holds elements 2i (low nibble) and
      // 2i + 1.
      for (int64_t k = k0; k < k1; k += 2) {
        const uint8_t byte = blob[(k - k0) / 2];
        d[k * stride] = value(byte & 0xF);
        if (k + 1 < k1)
          d[(k + 1) * stride] = value(byte >> 4);
      }
    }
  }
}

} // namespace

const float kNf4Values[16] = {-1.0f,
                              -0.6961928009986877f,
                              -0.5250730514526367f,
                              -0.39491748809814453f,
                              -0.28444138169288635f,
                              -0.18477343022823334f,
                              -0.09105003625154495f,
                              0.0f,
                              0.07958029955625534f,
                              0.16093020141124725f,
                              0.24611230194568634f,
                              0.33791524171829224f,
                              0.44070982933044434f,
                              0.5626170039176941f,
                              0.7229568362236023f,
                              1.0f};

float roundToE4M3(float x) {
  if (std::isnan(x))
    return x;
  const float a = std::fabs(x);
  float r;
  if (a >= 448.0f) {
    r = 448.0f;
  } else if (a < 0.015625f) {
    // Subnormals (and zero) are multiples of 2^-9: adding 2^14, whose ulp
    // is 2^-9, rounds to one, ties to even, in the float unit.
    volatile float shifted = a + 16384.0f;
    r = shifted - 16384.0f;
  } else {
    // 3 mantissa bits: round the float's 23 to 3, ties to even, on the
    // bits. A carry into the exponent lands on the next power of two,
    // itself representable.
    uint32_t bits;
    std::memcpy(&bits, &a, 4);
    bits += 0x7FFFFu + ((bits >> 20) & 1u);
    bits &= ~0xFFFFFu;
    std::memcpy(&r, &bits, 4);
    r = std::min(r, 448.0f);
  }
  return std::copysign(r, x);
}

float NBitsWeights::scale(int64_t i) const {
  switch (scaleKind) {
  case kScalesF16:
    return halfToFloat(static_cast<const uint16_t *>(scales)[i]);
  case kScalesI8: {
    const float *g = scaleSteps + 2 * (i / kNBitsScaleGroup);
    return float(static_cast<const int8_t *>(scales)[i]) * g[0] + g[1];
  }
  default:
    return static_cast<const float *>(scales)[i];
  }
}

void prepareNBitsRows(const NBitsWeights &w, const float *A, int64_t lda,
                      int rows, int group, float *dst) {
  const int64_t Kp = w.kBlocks * w.blockSize;
  for (int r = 0; r < rows; ++r) {
    const float *src = A + r * lda;
    float *d = dst + r * Kp;
    auto at = [&](int64_t k) { return k < w.K ? src[k] : 0.0f; };
    if (w.bits == 4 && group > 0) {
      const int half = group / 2;
      for (int64_t g0 = 0; g0 < Kp; g0 += group)
        for (int i = 0; i < half; ++i) {
          d[g0 + i] = at(g0 + 2 * i);
          d[g0 + half + i] = at(g0 + 2 * i + 1);
        }
    } else {
      std::copy(src, src + w.K, d);
      std::fill(d + w.K, d + Kp, 0.0f);
    }
  }
}

void nbitsDecodePortable(const NBitsWeights &w, const float *prepared, int rows,
                         float *C, int64_t ldc, int64_t n0, int64_t n1) {
  const int64_t Kp = w.kBlocks * w.blockSize;
  thread_local std::vector<float> column;
  column.resize(size_t(w.K));
  for (int64_t n = n0; n < n1; ++n) {
    dequantColumn(w, n, column.data(), 1);
    for (int r = 0; r < rows; ++r)
      C[r * ldc + n] = dotInFixedOrder(prepared + r * Kp, column.data(), w.K);
  }
}

void nbitsTilePortable(const NBitsWeights &w, const float *A, int64_t lda,
                       float *C, int64_t ldc, int64_t rowBegin, int64_t rowEnd,
                       int64_t n0, int64_t n1) {
  // Columns are dequantized a few at a time into a dense K x cols block for
  // the portable f32 GEMM tile.
  thread_local std::vector<float> block;
  block.resize(size_t(w.K * kPortableCols));
  for (int64_t j0 = n0; j0 < n1; j0 += kPortableCols) {
    const int64_t cols = std::min(kPortableCols, n1 - j0);
    for (int64_t c = 0; c < cols; ++c)
      dequantColumn(w, j0 + c, block.data() + c, cols);
    gemmTile(w.K, A, lda, 1, block.data(), cols, C + j0, ldc, rowBegin, rowEnd,
             0, cols);
  }
}

NBitsInt8RowsStorage::NBitsInt8RowsStorage(int64_t K, int64_t blockSize,
                                           int bits, const float *A,
                                           int64_t lda, int64_t rows,
                                           float staticScale,
                                           bool decodeLayout) {
  const int64_t kBlocks = (K + blockSize - 1) / blockSize;
  const int64_t columnBytes = kBlocks * blockSize * bits / 8;
  const int64_t perByte = 8 / bits, chunks = (columnBytes + 63) / 64;
  const int64_t padded = chunks * 64 * perByte, lanes = chunks * 16;
  const int64_t perLane = 4 * perByte, perChunk = 64 * perByte;
  q.assign(size_t(rows * padded), 0);
  scale.assign(size_t(rows * kBlocks), 0.0f);
  blockSum.assign(size_t(rows * kBlocks), 0);
  if (decodeLayout) {
    chunked.assign(size_t(rows * padded), 0);
    laneSum.assign(size_t(rows * lanes), 0);
    laneScale.assign(size_t(rows * lanes), 0.0f);
  }
  for (int64_t r = 0; r < rows; ++r) {
    int8_t *qr = q.data() + r * padded;
#if defined(__x86_64__) // only built where the int8 path is
    nbitsQuantizeRowVnni(K, blockSize, A + r * lda, staticScale, qr,
                         scale.data() + r * kBlocks,
                         blockSum.data() + r * kBlocks);
#else
    (void)A, (void)lda, (void)staticScale;
#endif
    if (!decodeLayout)
      continue;
    int8_t *cr = chunked.data() + r * padded;
    for (int64_t c = 0; c < chunks; ++c)
      for (int64_t j = 0; j < perChunk; ++j)
        cr[c * perChunk + j] = bits == 8 ? qr[c * perChunk + j]
                               : j < 64  ? qr[c * perChunk + 2 * j]
                                         : qr[c * perChunk + 2 * (j - 64) + 1];
    for (int64_t l = 0; l < lanes; ++l) {
      int32_t sum = 0;
      for (int64_t e = 0; e < perLane; ++e)
        sum += qr[l * perLane + e];
      laneSum[size_t(r * lanes + l)] = sum;
      const int64_t b = l * perLane / blockSize;
      laneScale[size_t(r * lanes + l)] =
          b < kBlocks ? scale[size_t(r * kBlocks + b)] : 0.0f;
    }
  }
  view = {padded,         lanes,          q.data(),         scale.data(),
          chunked.data(), laneSum.data(), laneScale.data(), blockSum.data()};
}

NBitsInt8Fn nbitsInt8Path() {
#if defined(__x86_64__)
  static const bool hasVnni =
      hasCpuFeature("avx512f") && hasCpuFeature("avx512bw") &&
      hasCpuFeature("avx512vl") && hasCpuFeature("avx512_vnni") &&
      hasCpuFeature("fma") && hasCpuFeature("f16c");
  if (hasVnni)
    return nbitsInt8Vnni;
#endif
  return nullptr;
}

NBitsInt8TileFn nbitsInt8TilePath() {
#if defined(__x86_64__)
  if (nbitsInt8Path() == nbitsInt8Vnni)
    return nbitsInt8TileVnni;
#endif
  return nullptr;
}

NBitsPanelsTileFn nbitsPanelsTilePath() {
#if defined(__x86_64__)
  if (nbitsInt8Path() == nbitsInt8Vnni)
    return nbitsPanelsTileVnni;
#endif
  return nullptr;
}

azr_status_t parseNBitsAttrs(const char *op, const Attrs &attrs,
                             int64_t maxBlock, bool fp8Inputs,
                             NBitsAttrs &out) {
  for (const char *name : {"K", "N", "bits", "block_size"})
    if (!attrs.has(name))
      return AZR_INVALID("%s: missing attribute %s", op, name);
  out.K = attrs.getInt("K", 0);
  out.N = attrs.getInt("N", 0);
  out.bits = attrs.getInt("bits", 0);
  out.blockSize = attrs.getInt("block_size", 0);
  constexpr int64_t kLimit = int64_t(1) << 48;
  if (out.K < 1 || out.K > kLimit || out.N < 1 || out.N > kLimit)
    return AZR_INVALID("%s: K and N must be in [1, 2^48], got K=%lld N=%lld",
                       op, (long long)out.K, (long long)out.N);
  if (out.bits != 4 && out.bits != 8)
    return AZR_INVALID("%s: bits must be 4 or 8, got %lld", op,
                       (long long)out.bits);
  if (out.blockSize < 16 || out.blockSize > maxBlock ||
      (out.blockSize & (out.blockSize - 1)))
    return AZR_INVALID("%s: block_size must be a power of two in [16, %lld], "
                       "got %lld",
                       op, (long long)maxBlock, (long long)out.blockSize);
  out.inputFormat = attrs.getString("input_format", "");
  const double scale = attrs.getFloat("input_scale", 0.0);
  if (!out.inputFormat.empty() && out.inputFormat != "int8" &&
      !(fp8Inputs && out.inputFormat == "fp8_e4m3"))
    return AZR_INVALID("%s: input_format must be int8%s, got '%s'", op,
                       fp8Inputs ? " or fp8_e4m3" : "",
                       out.inputFormat.c_str());
  if (!out.inputFormat.empty() &&
      !(scale > 0.0 && scale < 3.0e38 && std::isfinite(scale)))
    return AZR_INVALID("%s: input_format %s needs a positive finite "
                       "input_scale, got %g",
                       op, out.inputFormat.c_str(), scale);
  out.inputScale = out.inputFormat.empty() ? 0.0f : float(scale);
  return nullptr;
}

const NBitsPath &nbitsPath(int64_t blockSize) {
  static const NBitsPath portable = {"portable", 0, nbitsDecodePortable,
                                     nbitsTilePortable};
#if defined(__x86_64__)
  static const NBitsPath avx512 = {"avx512", 32, nbitsDecodeAvx512,
                                   nbitsTileAvx512};
  static const NBitsPath avx2 = {"avx2", 16, nbitsDecodeAvx2, nbitsTileAvx2};
  static const bool base = hasCpuFeature("fma") && hasCpuFeature("f16c");
  static const bool has512 = base && hasCpuFeature("avx512f");
  static const bool has2 = base && hasCpuFeature("avx2");
  if (has512 && blockSize >= avx512.group)
    return avx512;
  if (has2 && blockSize >= avx2.group)
    return avx2;
#else
  (void)blockSize;
#endif
  return portable;
}

namespace {

azr_status_t matmulNBitsKernel(const KernelContext &context) {
  const char *op = "matmul_nbits";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 3, 7, 1));
  const Attrs &attrs = *context.attrs;
  NBitsAttrs shape;
  AZR_RETURN_IF_ERROR(parseNBitsAttrs(op, attrs, int64_t(1) << 48,
                                      /*fp8Inputs=*/true, shape));
  const int64_t K = shape.K, N = shape.N, bits = shape.bits;
  const int64_t blockSize = shape.blockSize;
  const int64_t accuracyLevel = attrs.getInt("accuracy_level", 0);
  if (accuracyLevel < 0 || accuracyLevel > 4)
    return AZR_INVALID("%s: accuracy_level must be in [0, 4], got %lld", op,
                       (long long)accuracyLevel);
  const std::string weightFormat = attrs.getString("weight_format", "int");
  const float *codebook = nullptr;
  if (weightFormat == "nf4")
    codebook = kNf4Values;
  else if (weightFormat == "fp8_e4m3")
    codebook = e4m3Values();
  else if (weightFormat != "int")
    return AZR_INVALID("%s: weight_format must be int, nf4 or fp8_e4m3, got "
                       "'%s'",
                       op, weightFormat.c_str());
  if (codebook && bits != (weightFormat == "nf4" ? 4 : 8))
    return AZR_INVALID("%s: weight_format %s needs bits %d, got %lld", op,
                       weightFormat.c_str(), weightFormat == "nf4" ? 4 : 8,
                       (long long)bits);
  const std::string &inputFormat = shape.inputFormat;
  const float inputScale = shape.inputScale;
  const int64_t kBlocks = (K + blockSize - 1) / blockSize;
  const int64_t blobSize = blockSize / 8 * bits;
  const int64_t zpStride = (kBlocks * bits + 7) / 8;

  const Tensor &a = context.input(0), &b = context.input(1);
  const Tensor &scales = context.input(2);
  const Tensor none;
  const Tensor &zeroPoints = context.numInputs > 3 ? context.input(3) : none;
  const Tensor &bias = context.numInputs > 4 ? context.input(4) : none;
  const Tensor &residual = context.numInputs > 5 ? context.input(5) : none;
  const Tensor &scaleSteps = context.numInputs > 6 ? context.input(6) : none;
  Tensor &out = context.output(0);

  if (a.dtype != DType::f32)
    return AZR_INVALID("%s: a must be f32, got %s", op, dtypeName(a.dtype));
  if (a.rank < 1 || a.dims[a.rank - 1] != K)
    return AZR_INVALID("%s: a %s does not end in K=%lld", op,
                       shapeString(a).c_str(), (long long)K);
  if (b.dtype != DType::u8 || b.rank != 3 || b.dims[0] != N ||
      b.dims[1] != kBlocks || b.dims[2] != blobSize)
    return AZR_INVALID("%s: b must be u8 [%lld, %lld, %lld] (N, k blocks, "
                       "blob size), got %s %s",
                       op, (long long)N, (long long)kBlocks,
                       (long long)blobSize, dtypeName(b.dtype),
                       shapeString(b).c_str());
  if ((scales.dtype != DType::f32 && scales.dtype != DType::f16 &&
       scales.dtype != DType::i8) ||
      scales.numel() != N * kBlocks)
    return AZR_INVALID("%s: scales must be f32, f16 or i8 with N * k blocks = "
                       "%lld elements, got %s %s",
                       op, (long long)(N * kBlocks), dtypeName(scales.dtype),
                       shapeString(scales).c_str());
  const int64_t scaleGroups =
      (N * kBlocks + kNBitsScaleGroup - 1) / kNBitsScaleGroup;
  if ((scales.dtype == DType::i8) != scaleSteps.present() ||
      (scaleSteps.present() && (scaleSteps.dtype != DType::f32 ||
                                scaleSteps.numel() != 2 * scaleGroups)))
    return AZR_INVALID("%s: i8 scales need scale_steps, f32 [%lld, 2] (a "
                       "step and an offset per %lld scales), and only they "
                       "do; got %s scales and %s",
                       op, (long long)scaleGroups, (long long)kNBitsScaleGroup,
                       dtypeName(scales.dtype),
                       scaleSteps.present() ? dtypeName(scaleSteps.dtype)
                                            : "none");
  if (scales.dtype == DType::i8 && !codebook)
    return AZR_INVALID("%s: i8 (double-quantized) scales need a codebook "
                       "weight_format",
                       op);
  if (codebook && zeroPoints.present())
    return AZR_INVALID("%s: weight_format %s takes no zero points", op,
                       weightFormat.c_str());
  if (zeroPoints.present() &&
      (zeroPoints.dtype != DType::u8 || zeroPoints.numel() != N * zpStride))
    return AZR_INVALID("%s: zero_points must be packed u8 with N * %lld = "
                       "%lld elements, got %s %s",
                       op, (long long)zpStride, (long long)(N * zpStride),
                       dtypeName(zeroPoints.dtype),
                       shapeString(zeroPoints).c_str());
  Epilogue epilogue;
  AZR_RETURN_IF_ERROR(
      weightProductEpilogue(op, attrs, a, N, bias, residual, out, epilogue));

  const int64_t M = a.numel() / K;
  if (M == 0)
    return nullptr;
  NBitsWeights w;
  w.B = b.as<const uint8_t>();
  w.scales = scales.data;
  w.halfScales = scales.dtype == DType::f16;
  w.zeroPoints =
      zeroPoints.present() ? zeroPoints.as<const uint8_t>() : nullptr;
  w.N = N;
  w.K = K;
  w.kBlocks = kBlocks;
  w.blockSize = blockSize;
  w.blobSize = blobSize;
  w.zpStride = zpStride;
  w.bits = int(bits);
  w.scaleKind = scales.dtype == DType::f16  ? kScalesF16
                : scales.dtype == DType::i8 ? kScalesI8
                                            : kScalesF32;
  w.scaleSteps = scaleSteps.present() ? scaleSteps.as<const float>() : nullptr;
  w.codebook = codebook;
  const NBitsPath &path = nbitsPath(blockSize);
  const float *A = a.as<const float>();
  float *C = out.as<float>();
  ThreadPool &pool = *context.pool;
  const int64_t columnBytes = kBlocks * blobSize;
  auto overColumns = [&](const auto &group) {
    streamColumns(pool, M, N, columnBytes, group, epilogue, C);
  };

  const NBitsInt8Fn int8 = nbitsInt8Path();
  const NBitsInt8TileFn int8Tile = nbitsInt8TilePath();
  const bool int8Weights = !codebook && blockSize <= kNBitsInt8MaxBlock;
  const bool staticInt8 = inputFormat == "int8";
  // Few rows: groups of up to 4 stream B once; more: tiles of a row range
  // by panels of 32 columns, B's codes unpacked once a tile.
  auto int8Product = [&](const NBitsInt8Rows &rows) {
    context.notePath("avx512_vnni",
                     M <= kNBitsInt8DecodeMaxRows
                         ? "int8 decode"
                         : "int8 tiles (panels packed per call)");
    if (M <= kNBitsInt8DecodeMaxRows) {
      overColumns([&](int64_t i, int count, int64_t j0, int64_t j1) {
        int8(w, rows, i, count, C + i * N, N, j0, j1);
      });
      return;
    }
    streamTiles(
        pool, M, N,
        [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
          int8Tile(w, rows, i0, i1, C, N, n0, n1);
        },
        epilogue, C, /*tileRows=*/256, kNBitsInt8TileCols);
  };
  if (staticInt8 && int8 && int8Weights) {
    const NBitsInt8RowsStorage rows(K, blockSize, int(bits), A, K, M,
                                    inputScale, M <= kNBitsInt8DecodeMaxRows);
    int8Product(rows.view);
    return nullptr;
  }
  // Statically quantized activations without the int8 path: A rounded to
  // the grid, then multiplied in f32.
  std::vector<float> roundedA;
  if (!inputFormat.empty()) {
    roundedA.resize(size_t(M * K));
    for (int64_t i = 0; i < M * K; ++i)
      roundedA[size_t(i)] = staticInt8
                                ? roundToInt8Grid(A[i], inputScale)
                                : roundToE4M3(A[i] / inputScale) * inputScale;
    A = roundedA.data();
  }
  if (inputFormat.empty() && accuracyLevel == 4 && int8Weights && int8) {
    const NBitsInt8RowsStorage rows(K, blockSize, int(bits), A, K, M, 0.0f,
                                    M <= kNBitsInt8DecodeMaxRows);
    int8Product(rows.view);
    return nullptr;
  }

  const bool decode = M <= nbitsDecodeMaxRows(int(bits), codebook != nullptr);
  context.notePath(path.name, decode ? "decode" : "tiles");
  if (decode) {
    const int64_t Kp = kBlocks * blockSize;
    std::vector<float> prepared(size_t(M * Kp));
    prepareNBitsRows(w, A, K, int(M), path.group, prepared.data());
    overColumns([&](int64_t i, int count, int64_t j0, int64_t j1) {
      path.decode(w, prepared.data() + i * Kp, count, C + i * N, N, j0, j1);
    });
    return nullptr;
  }

  streamTiles(
      pool, M, N,
      [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
        path.tile(w, A, K, C, N, i0, i1, n0, n1);
      },
      epilogue, C);
  return nullptr;
}

} // namespace

void addMatMulNBitsKernels(KernelTable &table) {
  table.push_back({"matmul_nbits", guarded<matmulNBitsKernel>});
}

} // namespace azr::cpu

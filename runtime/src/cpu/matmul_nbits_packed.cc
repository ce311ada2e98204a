//===- matmul_nbits_packed.cc - int8 products of weights packed at build --===//
//
// matmul_nbits_packed: matmul_nbits with int8 activations (dynamic per
// block, or a static input_scale), its weight stored at build in the
// panels the VNNI tiles read (NBitsPanels), so that no product unpacks or
// transposes codes at run time, and decode and prefill share one kernel.
// Without an int8 path the panels are dequantized one at a time into the
// f32 GEMM tile, in f32 as matmul_nbits computes there (a level 4 is a
// minimum accuracy; static input scales still round the input to their
// grid).
//
//===----------------------------------------------------------------------===//

#include "cpu/cast.h"
#include "cpu/kernel_util.h"
#include "cpu/matmul_nbits.h"
#include "cpu/weight_streaming.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace azr::cpu {

int64_t NBitsPanels::panelCodeBytes() const {
  return kBlocks * blockSize * bits / 8 * kNBitsPanelWidth;
}

namespace {

/// Element (k, n) of the panels' weight, (code - zero point) * scale: the
/// path without int8 products dequantizes panels with it.
float nbitsPanelWeight(const NBitsPanels &w, int64_t k, int64_t n) {
  const int64_t panel = n / kNBitsPanelWidth, c = n % kNBitsPanelWidth;
  const int64_t b = k / w.blockSize;
  const uint8_t *codes = w.codes + panel * w.panelCodeBytes();
  int code;
  if (w.bits == 8) {
    code = codes[(k / 4) * kNBitsPanelWidth * 4 + c * 4 + k % 4];
  } else {
    const int64_t j = k % 8;
    const uint8_t byte = codes[(k / 8) * kNBitsPanelWidth * 4 + c * 4 + j % 4];
    code = j < 4 ? byte & 0xF : byte >> 4;
  }
  const int64_t i =
      panel * w.kBlocks * kNBitsPanelWidth + b * kNBitsPanelWidth + c;
  const int zp = w.zeroPoints ? w.zeroPoints[i] : 1 << (w.bits - 1);
  const float scale =
      w.halfScales ? halfToFloat(static_cast<const uint16_t *>(w.scales)[i])
                   : static_cast<const float *>(w.scales)[i];
  return float(code - zp) * scale;
}

azr_status_t matmulNBitsPackedKernel(const KernelContext &context) {
  const char *op = "matmul_nbits_packed";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 3, 6, 1));
  const Attrs &attrs = *context.attrs;
  NBitsAttrs shape;
  AZR_RETURN_IF_ERROR(parseNBitsAttrs(op, attrs, kNBitsInt8MaxBlock,
                                      /*fp8Inputs=*/false, shape));
  const int64_t K = shape.K, N = shape.N, bits = shape.bits;
  const int64_t blockSize = shape.blockSize;

  const Tensor none;
  const Tensor &a = context.input(0), &codes = context.input(1);
  const Tensor &scales = context.input(2);
  const Tensor &zeroPoints = context.numInputs > 3 ? context.input(3) : none;
  const Tensor &bias = context.numInputs > 4 ? context.input(4) : none;
  const Tensor &residual = context.numInputs > 5 ? context.input(5) : none;
  Tensor &out = context.output(0);
  const int64_t kBlocks = shape.kBlocks();
  const int64_t panels = (N + kNBitsPanelWidth - 1) / kNBitsPanelWidth;
  const int64_t steps = kBlocks * blockSize / (bits == 4 ? 8 : 4);
  if (a.dtype != DType::f32 || a.rank < 1 || a.dims[a.rank - 1] != K)
    return AZR_INVALID("%s: input must be f32 [..., K=%lld], got %s %s", op,
                       (long long)K, dtypeName(a.dtype),
                       shapeString(a).c_str());
  if (codes.dtype != DType::u8 || codes.rank != 4 || codes.dims[0] != panels ||
      codes.dims[1] != steps || codes.dims[2] != kNBitsPanelWidth ||
      codes.dims[3] != 4)
    return AZR_INVALID("%s: weight must be u8 [%lld, %lld, 32, 4] (panels, "
                       "steps), got %s %s",
                       op, (long long)panels, (long long)steps,
                       dtypeName(codes.dtype), shapeString(codes).c_str());
  auto isPanelArray = [&](const Tensor &t) {
    return t.rank == 3 && t.dims[0] == panels && t.dims[1] == kBlocks &&
           t.dims[2] == kNBitsPanelWidth;
  };
  if ((scales.dtype != DType::f32 && scales.dtype != DType::f16) ||
      !isPanelArray(scales))
    return AZR_INVALID("%s: scales must be f32 or f16 [%lld, %lld, 32], got "
                       "%s %s",
                       op, (long long)panels, (long long)kBlocks,
                       dtypeName(scales.dtype), shapeString(scales).c_str());
  if (zeroPoints.present() &&
      (zeroPoints.dtype != DType::u8 || !isPanelArray(zeroPoints)))
    return AZR_INVALID("%s: zero_points must be u8 [%lld, %lld, 32], got %s "
                       "%s",
                       op, (long long)panels, (long long)kBlocks,
                       dtypeName(zeroPoints.dtype),
                       shapeString(zeroPoints).c_str());
  Epilogue epilogue;
  AZR_RETURN_IF_ERROR(
      weightProductEpilogue(op, attrs, a, N, bias, residual, out, epilogue));
  const int64_t M = out.numel() / N;
  if (M == 0)
    return nullptr;

  const NBitsPanels w = {codes.as<const uint8_t>(),
                         scales.data,
                         scales.dtype == DType::f16,
                         zeroPoints.present() ? zeroPoints.as<const uint8_t>()
                                              : nullptr,
                         N,
                         K,
                         kBlocks,
                         blockSize,
                         int(bits)};
  const float *A = a.as<const float>();
  float *C = out.as<float>();
  ThreadPool &pool = *context.pool;
  const float staticScale = shape.inputScale; // 0: per block, at run time
  if (const NBitsPanelsTileFn int8Tile = nbitsPanelsTilePath()) {
    context.notePath("avx512_vnni", "int8 panels");
    const NBitsInt8RowsStorage rows(K, blockSize, int(bits), A, K, M,
                                    staticScale, /*decodeLayout=*/false);
    streamTiles(
        pool, M, N,
        [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
          int8Tile(w, rows.view, i0, i1, C, N, n0, n1);
        },
        epilogue, C, 256, kNBitsInt8TileCols);
    return nullptr;
  }
  // f32: the input rounded to its static grid, if any, and each panel
  // dequantized into the f32 tile's B.
  std::vector<float> rounded;
  if (staticScale > 0.0f) {
    rounded.resize(size_t(M * K));
    for (int64_t i = 0; i < M * K; ++i)
      rounded[size_t(i)] = roundToInt8Grid(A[i], staticScale);
    A = rounded.data();
  }
  const GemmTileFn tile = gemmPath().tile;
  context.notePath(gemmPath().name, "f32 tiles of dequantized panels");
  streamTiles(
      pool, M, N,
      [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
        thread_local std::vector<float> panel;
        panel.resize(size_t(K * kNBitsPanelWidth));
        for (int64_t j = n0; j < n1; j += kNBitsPanelWidth) {
          const int64_t cols = std::min(kNBitsPanelWidth, n1 - j);
          for (int64_t k = 0; k < K; ++k)
            for (int64_t c = 0; c < cols; ++c)
              panel[size_t(k * kNBitsPanelWidth + c)] =
                  nbitsPanelWeight(w, k, j + c);
          tile(K, A, K, 1, panel.data(), kNBitsPanelWidth, C + j, N, i0, i1, 0,
               cols);
        }
      },
      epilogue, C, 256, kNBitsInt8TileCols);
  return nullptr;
}

} // namespace

void addMatMulNBitsPackedKernels(KernelTable &table) {
  table.push_back({"matmul_nbits_packed", guarded<matmulNBitsPackedKernel>});
}

} // namespace azr::cpu

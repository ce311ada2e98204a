//===- weight_streaming.cc - scheduling of weight-bound products ----------===//

#include "cpu/weight_streaming.h"

#include <algorithm>

namespace azr::cpu {

namespace {

constexpr int64_t kL2Bytes = 256 << 10;    ///< weights a span reuses
constexpr int64_t kColumnUnit = 16;        ///< columns are split in these
constexpr int64_t kMinTaskBytes = 1 << 16; ///< weights a task streams at least

void finish(const Epilogue &epilogue, float *C, int64_t N, int64_t i0,
            int64_t i1, int64_t n0, int64_t n1) {
  if (epilogue.numAddends == 0 && epilogue.activation.kind == Activation::none)
    return;
  for (int64_t i = i0; i < i1; ++i)
    epilogue.apply(C + i * N + n0, i * N + n0, n1 - n0);
}

} // namespace

void streamColumns(
    ThreadPool &pool, int64_t M, int64_t N, int64_t columnBytes,
    const std::function<void(int64_t, int, int64_t, int64_t)> &group,
    const Epilogue &epilogue, float *C) {
  const int64_t unitBytes = std::max<int64_t>(1, kColumnUnit * columnBytes);
  const int64_t units = (N + kColumnUnit - 1) / kColumnUnit;
  const int64_t minUnits = std::max<int64_t>(1, kMinTaskBytes / unitBytes);
  // Groups of rows take turns on columns whose weights fit in L2, so that
  // the weights come from memory once.
  const int64_t span = kColumnUnit * std::max<int64_t>(1, kL2Bytes / unitBytes);
  pool.parallelFor(units, minUnits, [&](int64_t u0, int64_t u1) {
    const int64_t n0 = u0 * kColumnUnit;
    const int64_t n1 = std::min(N, u1 * kColumnUnit);
    for (int64_t j0 = n0; j0 < n1; j0 += span)
      for (int64_t i = 0; i < M; i += kStreamRows)
        group(i, int(std::min<int64_t>(kStreamRows, M - i)), j0,
              std::min(n1, j0 + span));
    finish(epilogue, C, N, 0, M, n0, n1);
  });
}

void streamTiles(
    ThreadPool &pool, int64_t M, int64_t N,
    const std::function<void(int64_t, int64_t, int64_t, int64_t)> &tile,
    const Epilogue &epilogue, float *C, int64_t tileRows, int64_t tileCols) {
  const int64_t panels = (M + tileRows - 1) / tileRows;
  const int64_t colBlocks = (N + tileCols - 1) / tileCols;
  pool.parallelFor(panels * colBlocks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i0 = (t / colBlocks) * tileRows;
      const int64_t i1 = std::min(M, i0 + tileRows);
      const int64_t n0 = (t % colBlocks) * tileCols;
      const int64_t n1 = std::min(N, n0 + tileCols);
      tile(i0, i1, n0, n1);
      finish(epilogue, C, N, i0, i1, n0, n1);
    }
  });
}

float dotInFixedOrder(const float *a, const float *b, int64_t K) {
  float acc[8] = {};
  int64_t k = 0;
  for (; k + 8 <= K; k += 8)
    for (int j = 0; j < 8; ++j)
      acc[j] += a[k + j] * b[k + j];
  for (; k < K; ++k)
    acc[k % 8] += a[k] * b[k];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
         ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

} // namespace azr::cpu

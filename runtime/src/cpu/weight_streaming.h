//===- weight_streaming.h - scheduling of weight-bound products -*- C++ -*-===//
//
// The products whose weights are stored narrow (matmul_nbits, matmul_half)
// share one schedule. Up to a few dozen rows, over columns: each thread
// streams its contiguous share of the weights once, groups of up to
// kStreamRows rows taking turns on spans of columns that stay in L2. More
// rows, over tiles of rows and columns. Both then apply matmul's epilogue
// to what they wrote.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_WEIGHT_STREAMING_H
#define AZR_CPU_WEIGHT_STREAMING_H

#include "cpu/kernel_util.h"

#include <functional>

namespace azr::cpu {

constexpr int kStreamRows = 4; ///< rows a decode call takes at most

/// group(row, rows, n0, n1) computes C[row:row+rows, n0:n1] for rows <=
/// kStreamRows; every row and column of the M x N result is covered once,
/// then `epilogue` applied to it. `columnBytes` is one column's weight
/// bytes (it sizes the spans).
void streamColumns(
    ThreadPool &pool, int64_t M, int64_t N, int64_t columnBytes,
    const std::function<void(int64_t, int, int64_t, int64_t)> &group,
    const Epilogue &epilogue, float *C);

/// tile(i0, i1, n0, n1) computes C[i0:i1, n0:n1]; tiles of tileRows x
/// tileCols run on the pool, each followed by `epilogue` on what it wrote.
void streamTiles(
    ThreadPool &pool, int64_t M, int64_t N,
    const std::function<void(int64_t, int64_t, int64_t, int64_t)> &tile,
    const Epilogue &epilogue, float *C, int64_t tileRows = 256,
    int64_t tileCols = 256);

/// sum_k a[k] * b[k] with eight interleaved partial sums (independent
/// chains the compiler can keep in vector lanes), in a fixed order: the
/// portable decode paths' dot product.
float dotInFixedOrder(const float *a, const float *b, int64_t K);

} // namespace azr::cpu

#endif // AZR_CPU_WEIGHT_STREAMING_H

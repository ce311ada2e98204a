//===- integer_ops.cc - matmul_integer ------------------------------------===//
//
// ONNX MatMulInteger: 8-bit operands less their zero points, multiplied
// and summed exactly in int32, with MatMul's batching and 1-D promotion.
// A zero point is a scalar, or one per row of lhs / column of rhs.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

namespace azr::cpu {
namespace {

int32_t at8(const Tensor &t, int64_t i) {
  return t.dtype == DType::i8 ? int32_t(t.as<const int8_t>()[i])
                              : int32_t(t.as<const uint8_t>()[i]);
}

azr_status_t matmulIntegerKernel(const KernelContext &context) {
  const char *op = "matmul_integer";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 4, 1));
  const Tensor &lhs = context.input(0), &rhs = context.input(1);
  const Tensor &out = context.output(0);
  auto is8 = [](DType t) { return t == DType::i8 || t == DType::u8; };
  if (!is8(lhs.dtype) || !is8(rhs.dtype) || out.dtype != DType::i32)
    return AZR_INVALID("%s: dtypes %s @ %s -> %s, expected 8-bit operands "
                       "and an i32 result",
                       op, dtypeName(lhs.dtype), dtypeName(rhs.dtype),
                       dtypeName(out.dtype));
  if (lhs.rank < 1 || rhs.rank < 1)
    return AZR_INVALID("%s: operands must have rank >= 1", op);
  const int64_t M = lhs.rank == 1 ? 1 : lhs.dims[lhs.rank - 2];
  const int64_t K = lhs.dims[lhs.rank - 1];
  const int64_t K2 = rhs.rank == 1 ? rhs.dims[0] : rhs.dims[rhs.rank - 2];
  const int64_t N = rhs.rank == 1 ? 1 : rhs.dims[rhs.rank - 1];
  if (K != K2)
    return AZR_INVALID("%s: contraction dims differ: %s @ %s", op,
                       shapeString(lhs).c_str(), shapeString(rhs).c_str());
  // Batch dims: the result's leading dims, each operand's broadcast to them.
  const int batchRank =
      out.rank - (lhs.rank > 1 ? 1 : 0) - (rhs.rank > 1 ? 1 : 0);
  Tensor lhsBatch, rhsBatch;
  lhsBatch.rank = std::max(0, lhs.rank - 2);
  rhsBatch.rank = std::max(0, rhs.rank - 2);
  std::copy(lhs.dims, lhs.dims + lhsBatch.rank, lhsBatch.dims);
  std::copy(rhs.dims, rhs.dims + rhsBatch.rank, rhsBatch.dims);
  int64_t lhsStrides[kMaxRank] = {}, rhsStrides[kMaxRank] = {};
  bool ok = batchRank >= 0 && batchRank >= lhsBatch.rank &&
            batchRank >= rhsBatch.rank &&
            (lhs.rank == 1 || out.dims[batchRank] == M) &&
            (rhs.rank == 1 || out.dims[out.rank - 1] == N) &&
            broadcastStrides(lhsBatch, batchRank, out.dims, lhsStrides) &&
            broadcastStrides(rhsBatch, batchRank, out.dims, rhsStrides);
  for (int d = 0; ok && d < batchRank; ++d) {
    const int dl = d - (batchRank - lhsBatch.rank);
    const int dr = d - (batchRank - rhsBatch.rank);
    const int64_t a = dl >= 0 ? lhsBatch.dims[dl] : 1;
    const int64_t b = dr >= 0 ? rhsBatch.dims[dr] : 1;
    ok = out.dims[d] == std::max(a, b) && (a == b || a == 1 || b == 1);
  }
  if (!ok)
    return AZR_INVALID("%s: result shape %s does not match %s @ %s", op,
                       shapeString(out).c_str(), shapeString(lhs).c_str(),
                       shapeString(rhs).c_str());
  // Zero points: scalar, or per row (lhs) / per column (rhs).
  const Tensor *zps[2] = {nullptr, nullptr};
  for (int i = 0; i < 2; ++i) {
    if (context.numInputs <= 2 + i || !context.input(2 + i).present())
      continue;
    const Tensor &zp = context.input(2 + i);
    const Tensor &operand = i == 0 ? lhs : rhs;
    const int64_t n = zp.numel();
    if (zp.dtype != operand.dtype || (n != 1 && n != (i == 0 ? M : N)))
      return AZR_INVALID("%s: zero point %s does not fit operand %s", op,
                         shapeString(zp).c_str(), shapeString(operand).c_str());
    zps[i] = &zp;
  }
  auto zeroPoint = [&](int i, int64_t index) -> int32_t {
    if (!zps[i])
      return 0;
    return at8(*zps[i], zps[i]->numel() == 1 ? 0 : index);
  };
  int64_t batches = 1;
  for (int d = 0; d < batchRank; ++d)
    batches *= out.dims[d];
  int32_t *dst = out.as<int32_t>();
  context.pool->parallelFor(
      batches * M, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, K * N)),
      [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
          const int64_t b = row / M, m = row % M;
          int64_t lhsIndex = 0, rhsIndex = 0, rest = b;
          for (int d = batchRank - 1; d >= 0; --d) {
            const int64_t coord = rest % out.dims[d];
            rest /= out.dims[d];
            lhsIndex += coord * lhsStrides[d];
            rhsIndex += coord * rhsStrides[d];
          }
          const int64_t a0 = (lhsIndex * M + m) * K, b0 = rhsIndex * K * N;
          const int32_t za = zeroPoint(0, m);
          for (int64_t n = 0; n < N; ++n) {
            const int32_t zb = zeroPoint(1, n);
            int32_t sum = 0;
            for (int64_t k = 0; k < K; ++k)
              sum += (at8(lhs, a0 + k) - za) * (at8(rhs, b0 + k * N + n) - zb);
            dst[row * N + n] = sum;
          }
        }
      });
  return nullptr;
}

} // namespace

void addIntegerKernels(KernelTable &table) {
  table.push_back({"matmul_integer", guarded<matmulIntegerKernel>});
}

} // namespace azr::cpu

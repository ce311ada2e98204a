//===- integer_ops.cc - integer products and dequantization ---------------===//
//
// ONNX MatMulInteger and ConvInteger: 8-bit operands less their zero
// points, multiplied and summed exactly in int32. matmul_integer batches
// and promotes 1-D operands as MatMul does; a zero point is a scalar, or
// one per row of lhs / column of rhs. conv_integer has Conv's layout and
// windows; padding contributes nothing; the weight zero point may be one
// per output channel. dequantize is DequantizeLinear: per tensor, per
// axis or per block.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

#include <type_traits>

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

azr_status_t convIntegerKernel(const KernelContext &context) {
  const char *op = "conv_integer";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 4, 1));
  const Tensor &input = context.input(0), &weight = context.input(1);
  const Tensor &out = context.output(0);
  auto is8 = [](DType t) { return t == DType::i8 || t == DType::u8; };
  if (!is8(input.dtype) || !is8(weight.dtype) || out.dtype != DType::i32)
    return AZR_INVALID("%s: dtypes %s, %s -> %s, expected 8-bit operands and "
                       "an i32 result",
                       op, dtypeName(input.dtype), dtypeName(weight.dtype),
                       dtypeName(out.dtype));
  const int spatial = input.rank - 2;
  if (spatial < 1 || weight.rank != input.rank || out.rank != input.rank)
    return AZR_INVALID("%s: input %s, weight %s and result %s differ in rank "
                       "or have rank < 3",
                       op, shapeString(input).c_str(),
                       shapeString(weight).c_str(), shapeString(out).c_str());
  const size_t n = size_t(spatial);
  const std::vector<int64_t> strides = context.attrs->getInts("strides");
  const std::vector<int64_t> pads = context.attrs->getInts("pads");
  const std::vector<int64_t> dilations = context.attrs->getInts("dilations");
  if (strides.size() != n || pads.size() != 2 * n || dilations.size() != n)
    return AZR_INVALID("%s: strides/pads/dilations do not match %d spatial "
                       "dims",
                       op, spatial);
  const int64_t group = context.attrs->getInt("group", 1);
  const int64_t batch = input.dims[0], C = input.dims[1], M = weight.dims[0];
  if (group < 1 || C % group || M % group || weight.dims[1] != C / group ||
      out.dims[0] != batch || out.dims[1] != M)
    return AZR_INVALID("%s: input %s, weight %s, group %lld and result %s do "
                       "not agree",
                       op, shapeString(input).c_str(),
                       shapeString(weight).c_str(), (long long)group,
                       shapeString(out).c_str());
  int64_t inSize = 1, outSize = 1, kSize = 1;
  for (int d = 0; d < spatial; ++d) {
    const int64_t in = input.dims[d + 2], k = weight.dims[d + 2];
    if (strides[size_t(d)] < 1 || dilations[size_t(d)] < 1 ||
        pads[size_t(d)] < 0 || pads[n + size_t(d)] < 0)
      return AZR_INVALID("%s: invalid window in spatial dim %d", op, d);
    const int64_t span = dilations[size_t(d)] * (k - 1) + 1;
    const int64_t padded = in + pads[size_t(d)] + pads[n + size_t(d)];
    const int64_t expected =
        padded < span ? 0 : (padded - span) / strides[size_t(d)] + 1;
    if (out.dims[d + 2] != expected)
      return AZR_INVALID("%s: result dim %d is %lld, expected %lld", op, d + 2,
                         (long long)out.dims[d + 2], (long long)expected);
    inSize *= in;
    outSize *= out.dims[d + 2];
    kSize *= k;
  }
  int32_t inputZero = 0;
  if (context.numInputs > 2 && context.input(2).present()) {
    const Tensor &zp = context.input(2);
    if (zp.dtype != input.dtype || zp.numel() != 1)
      return AZR_INVALID("%s: input zero point %s must be one %s", op,
                         shapeString(zp).c_str(), dtypeName(input.dtype));
    inputZero = at8(zp, 0);
  }
  const Tensor *weightZero = nullptr;
  if (context.numInputs > 3 && context.input(3).present()) {
    weightZero = &context.input(3);
    if (weightZero->dtype != weight.dtype ||
        (weightZero->numel() != 1 && weightZero->numel() != M))
      return AZR_INVALID("%s: weight zero point %s must have 1 or %lld "
                         "elements",
                         op, shapeString(*weightZero).c_str(), (long long)M);
  }
  const int64_t Cg = C / group, Mg = M / group;
  int32_t *dst = out.as<int32_t>();
  context.pool->parallelFor(batch * M, 1, [&](int64_t begin, int64_t end) {
    int64_t pos[kMaxRank], tap[kMaxRank];
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t b = plane / M, m = plane % M, g = m / Mg;
      const int32_t wz =
          weightZero ? at8(*weightZero, weightZero->numel() == 1 ? 0 : m) : 0;
      for (int64_t o = 0; o < outSize; ++o) {
        int64_t rest = o;
        for (int d = spatial - 1; d >= 0; --d) {
          pos[d] = rest % out.dims[d + 2];
          rest /= out.dims[d + 2];
        }
        int32_t sum = 0;
        for (int64_t t = 0; t < kSize; ++t) {
          rest = t;
          for (int d = spatial - 1; d >= 0; --d) {
            tap[d] = rest % weight.dims[d + 2];
            rest /= weight.dims[d + 2];
          }
          int64_t offset = 0;
          bool inside = true;
          for (int d = 0; d < spatial; ++d) {
            const int64_t x = pos[d] * strides[size_t(d)] - pads[size_t(d)] +
                              tap[d] * dilations[size_t(d)];
            inside = inside && x >= 0 && x < input.dims[d + 2];
            offset = offset * input.dims[d + 2] + x;
          }
          if (!inside)
            continue;
          for (int64_t c = 0; c < Cg; ++c) {
            const int64_t ci = g * Cg + c;
            sum += (at8(input, (b * C + ci) * inSize + offset) - inputZero) *
                   (at8(weight, (m * Cg + c) * kSize + t) - wz);
          }
        }
        dst[plane * outSize + o] = sum;
      }
    }
  });
  return nullptr;
}

/// dequantize (ONNX DequantizeLinear, f32 scales): float(x - zp) * scale,
/// the difference exact in integers. The scale is one value (per tensor),
/// one per slice along `axis` (block_size 0), or one per block of
/// block_size elements along `axis` (the input's rank, that dim counting
/// blocks).
azr_status_t dequantizeKernel(const KernelContext &context) {
  const char *op = "dequantize";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 3, 1));
  const Tensor &input = context.input(0), &scale = context.input(1);
  const Tensor &out = context.output(0);
  const Tensor *zp = context.numInputs > 2 && context.input(2).present()
                         ? &context.input(2)
                         : nullptr;
  if (scale.dtype != DType::f32 || out.dtype != DType::f32)
    return AZR_INVALID("%s: scale and result must be f32, got %s and %s", op,
                       dtypeName(scale.dtype), dtypeName(out.dtype));
  if (zp && (zp->dtype != input.dtype || zp->numel() != scale.numel()))
    return AZR_INVALID("%s: zero point %s %s does not fit input %s and "
                       "scale %s",
                       op, dtypeName(zp->dtype), shapeString(*zp).c_str(),
                       dtypeName(input.dtype), shapeString(scale).c_str());
  if (out.numel() != input.numel())
    return AZR_INVALID("%s: result %s does not match input %s", op,
                       shapeString(out).c_str(), shapeString(input).c_str());
  int64_t axis = context.attrs->getInt("axis", 0);
  const int64_t block = context.attrs->getInt("block_size", 0);
  // The input as [outer, dim, inner] around the axis. Element (o, d, i)
  // uses scale d (per axis), or (o * groups + d / block) * inner + i
  // (blocked); per tensor, the whole input is one row of scale 0.
  int64_t outer = 1, dim = 1, inner = input.numel();
  int64_t groups = 1, step = 1;
  bool perElementOfInner = false, perOuter = false;
  if (scale.numel() != 1 || block != 0) {
    inner = 1;
    if (!normalizeAxis(axis, input.rank))
      return AZR_INVALID("%s: axis %lld is out of range for %s", op,
                         (long long)axis, shapeString(input).c_str());
    for (int d = 0; d < axis; ++d)
      outer *= input.dims[d];
    dim = input.dims[axis];
    for (int d = int(axis) + 1; d < input.rank; ++d)
      inner *= input.dims[d];
    if (block == 0) {
      if (scale.numel() != dim)
        return AZR_INVALID("%s: %lld scales for dim %lld of size %lld", op,
                           (long long)scale.numel(), (long long)axis,
                           (long long)dim);
      groups = dim;
    } else {
      if (block < 0)
        return AZR_INVALID("%s: block_size %lld", op, (long long)block);
      groups = (dim + block - 1) / block;
      step = block;
      bool fits = scale.rank == input.rank;
      for (int d = 0; fits && d < input.rank; ++d)
        fits = scale.dims[d] == (d == axis ? groups : input.dims[d]);
      if (!fits)
        return AZR_INVALID("%s: scale %s does not block input %s along axis "
                           "%lld by %lld",
                           op, shapeString(scale).c_str(),
                           shapeString(input).c_str(), (long long)axis,
                           (long long)block);
      perElementOfInner = perOuter = true;
    }
  }
  const float *scales = scale.as<const float>();
  float *dst = out.as<float>();
  return dispatchArith(input.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T> || sizeof(T) > 4 ||
                  std::is_same_v<T, uint32_t>) {
      return unsupportedDtype(op, input.dtype);
    } else {
      const T *src = input.as<const T>();
      const T *zeros = zp ? zp->as<const T>() : nullptr;
      context.pool->parallelFor(
          outer * dim,
          std::max<int64_t>(1, 16384 / std::max<int64_t>(1, inner)),
          [&](int64_t begin, int64_t end) {
            for (int64_t row = begin; row < end; ++row) {
              const int64_t o = row / dim, d = row % dim;
              const int64_t g = (perOuter ? o * groups : 0) + d / step;
              const int64_t base = perElementOfInner ? g * inner : g;
              const T *x = src + row * inner;
              float *y = dst + row * inner;
              for (int64_t i = 0; i < inner; ++i) {
                const int64_t s = perElementOfInner ? base + i : base;
                const int64_t z = zeros ? int64_t(zeros[s]) : 0;
                y[i] = float(int64_t(x[i]) - z) * scales[s];
              }
            }
          });
      return nullptr;
    }
  });
}

} // namespace

void addIntegerKernels(KernelTable &table) {
  table.push_back({"matmul_integer", guarded<matmulIntegerKernel>});
  table.push_back({"conv_integer", guarded<convIntegerKernel>});
  table.push_back({"dequantize", guarded<dequantizeKernel>});
}

} // namespace azr::cpu

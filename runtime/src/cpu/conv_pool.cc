//===- conv_pool.cc - convolution (im2col + GEMM) and pooling -------------===//

#include "cpu/kernel_util.h"

#include <cmath>
#include <limits>

namespace azr::cpu {
namespace {

/// Spatial geometry shared by conv and the pools: input N x C x D..., output
/// N x M x O..., a window of k... with strides, dilations and begin pads.
struct Window {
  int spatial = 0;
  int64_t in[kMaxRank] = {}, out[kMaxRank] = {}, kernel[kMaxRank] = {};
  int64_t stride[kMaxRank] = {}, dilation[kMaxRank] = {};
  int64_t padBegin[kMaxRank] = {}, padEnd[kMaxRank] = {};

  int64_t inSize() const { return product(in); }
  int64_t outSize() const { return product(out); }
  int64_t kernelSize() const { return product(kernel); }
  int64_t product(const int64_t *dims) const {
    int64_t n = 1;
    for (int d = 0; d < spatial; ++d)
      n *= dims[d];
    return n;
  }
};

// Reads strides/pads/dilations (defaults 1/0/1 when empty) and checks them.
azr_status_t readWindow(const char *op, const Attrs &attrs, const Tensor &input,
                        const Tensor &output, const int64_t *kernel,
                        bool hasDilations, Window &w) {
  if (input.rank < 3 || output.rank != input.rank)
    return AZR_INVALID("%s: expected N x C x D... input and result of equal "
                       "rank, got %s -> %s",
                       op, shapeString(input).c_str(),
                       shapeString(output).c_str());
  w.spatial = input.rank - 2;
  const size_t n = size_t(w.spatial);
  std::vector<int64_t> strides = attrs.getInts("strides");
  std::vector<int64_t> pads = attrs.getInts("pads");
  std::vector<int64_t> dilations =
      hasDilations ? attrs.getInts("dilations") : std::vector<int64_t>();
  if ((!strides.empty() && strides.size() != n) ||
      (!pads.empty() && pads.size() != 2 * n) ||
      (!dilations.empty() && dilations.size() != n))
    return AZR_INVALID("%s: strides/pads/dilations do not match %d spatial "
                       "dims",
                       op, w.spatial);
  for (int d = 0; d < w.spatial; ++d) {
    w.in[d] = input.dims[d + 2];
    w.out[d] = output.dims[d + 2];
    w.kernel[d] = kernel[d];
    w.stride[d] = strides.empty() ? 1 : strides[size_t(d)];
    w.dilation[d] = dilations.empty() ? 1 : dilations[size_t(d)];
    w.padBegin[d] = pads.empty() ? 0 : pads[size_t(d)];
    w.padEnd[d] = pads.empty() ? 0 : pads[n + size_t(d)];
    // Sizes beyond 2^40 cannot describe a real window and would overflow
    // the arithmetic below.
    constexpr int64_t kLimit = int64_t(1) << 40;
    bool sane = w.stride[d] >= 1 && w.dilation[d] >= 1 && w.kernel[d] >= 1 &&
                w.padBegin[d] >= 0 && w.padEnd[d] >= 0 &&
                w.stride[d] < kLimit && w.dilation[d] < kLimit &&
                w.kernel[d] < kLimit && w.padBegin[d] < kLimit &&
                w.padEnd[d] < kLimit;
    // The result must be the window count the attributes give (floor, or
    // one more in ceil mode): a window that does not fit the padded input,
    // or pads far beyond the result, would mean work the result cannot
    // bound.
    if (sane) {
      const int64_t extent = w.dilation[d] * (w.kernel[d] - 1) + 1;
      const int64_t span = w.in[d] + w.padBegin[d] + w.padEnd[d];
      const int64_t windows =
          span >= extent ? (span - extent) / w.stride[d] + 1 : 0;
      sane = extent < kLimit && windows > 0 &&
             (w.out[d] == windows || w.out[d] == windows + 1);
    }
    if (!sane)
      return AZR_INVALID("%s: the window in spatial dim %d (kernel %lld, "
                         "stride %lld, dilation %lld, pads %lld/%lld) does "
                         "not give %s from %s",
                         op, d, (long long)w.kernel[d], (long long)w.stride[d],
                         (long long)w.dilation[d], (long long)w.padBegin[d],
                         (long long)w.padEnd[d], shapeString(output).c_str(),
                         shapeString(input).c_str());
  }
  return nullptr;
}

// A pool's window: kernel_shape, then readWindow; the result keeps the
// input's batch and channel dims.
azr_status_t readPoolWindow(const char *op, const KernelContext &context,
                            bool hasDilations, Window &w) {
  const Tensor &input = context.input(0), &out = context.output(0);
  const std::vector<int64_t> kernel = context.attrs->getInts("kernel_shape");
  if (input.rank < 3 || kernel.size() != size_t(input.rank - 2))
    return AZR_INVALID("%s: kernel_shape has %zu dims for input %s", op,
                       kernel.size(), shapeString(input).c_str());
  AZR_RETURN_IF_ERROR(readWindow(op, *context.attrs, input, out, kernel.data(),
                                 hasDilations, w));
  if (out.dims[0] != input.dims[0] || out.dims[1] != input.dims[1])
    return AZR_INVALID("%s: result %s does not match input %s", op,
                       shapeString(out).c_str(), shapeString(input).c_str());
  return nullptr;
}

// Unpacks a flat index into coordinates over `dims`.
void unflatten(int64_t flat, int rank, const int64_t *dims, int64_t *coord) {
  for (int d = rank - 1; d >= 0; --d) {
    coord[d] = flat % dims[d];
    flat /= dims[d];
  }
}

// col[(c * kernelSize + kIndex) * outSize + outIndex] = the input element
// under kernel tap kIndex at output position outIndex, 0 in the padding.
void im2col(const float *input, int64_t channels, const Window &w, float *col,
            ThreadPool &pool) {
  const int64_t kSize = w.kernelSize(), outSize = w.outSize();
  const int64_t inSize = w.inSize();
  const int last = w.spatial - 1;
  const int64_t outLast = w.out[last];
  pool.parallelFor(channels * kSize, 4, [&](int64_t begin, int64_t end) {
    int64_t tap[kMaxRank], pos[kMaxRank];
    for (int64_t row = begin; row < end; ++row) {
      const float *plane = input + (row / kSize) * inSize;
      unflatten(row % kSize, w.spatial, w.kernel, tap);
      float *dst = col + row * outSize;
      // One run per output row along the last spatial dim.
      for (int64_t o = 0; o < outSize; o += outLast) {
        unflatten(o, w.spatial, w.out, pos);
        int64_t base = 0;
        bool inside = true;
        for (int d = 0; d < last; ++d) {
          const int64_t x =
              pos[d] * w.stride[d] - w.padBegin[d] + tap[d] * w.dilation[d];
          inside = inside && x >= 0 && x < w.in[d];
          base = base * w.in[d] + x;
        }
        float *run = dst + o;
        if (!inside) {
          std::fill(run, run + outLast, 0.0f);
          continue;
        }
        const int64_t shift = tap[last] * w.dilation[last] - w.padBegin[last];
        const int64_t s = w.stride[last], width = w.in[last];
        const float *src = plane + base * width;
        for (int64_t x = 0; x < outLast; ++x) {
          const int64_t ix = x * s + shift;
          run[x] = ix >= 0 && ix < width ? src[ix] : 0.0f;
        }
      }
    }
  });
}

azr_status_t convKernel(const KernelContext &context) {
  const char *op = "conv";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 4, 1));
  const Tensor &input = context.input(0), &weight = context.input(1);
  const Tensor &out = context.output(0);
  for (const Tensor *t : {&input, &weight, &out})
    if (t->dtype != DType::f32)
      return unsupportedDtype(op, t->dtype);
  if (weight.rank != input.rank)
    return AZR_INVALID("conv: weight %s and input %s differ in rank",
                       shapeString(weight).c_str(), shapeString(input).c_str());
  Window w;
  AZR_RETURN_IF_ERROR(
      readWindow(op, *context.attrs, input, out, weight.dims + 2, true, w));
  const int64_t group = context.attrs->getInt("group", 1);
  const int64_t batch = input.dims[0], C = input.dims[1], M = weight.dims[0];
  if (group < 1 || C % group || M % group || weight.dims[1] != C / group ||
      out.dims[0] != batch || out.dims[1] != M)
    return AZR_INVALID("conv: input %s, weight %s, group %lld and result %s "
                       "do not agree",
                       shapeString(input).c_str(), shapeString(weight).c_str(),
                       (long long)group, shapeString(out).c_str());
  for (int d = 0; d < w.spatial; ++d) {
    const int64_t span = w.dilation[d] * (w.kernel[d] - 1) + 1;
    const int64_t padded = w.in[d] + w.padBegin[d] + w.padEnd[d];
    const int64_t expected =
        padded < span ? 0 : (padded - span) / w.stride[d] + 1;
    if (w.out[d] != expected)
      return AZR_INVALID("conv: result dim %d is %lld, expected %lld", d + 2,
                         (long long)w.out[d], (long long)expected);
  }
  Epilogue epilogue;
  AZR_RETURN_IF_ERROR(parseActivation(op, *context.attrs, epilogue.activation));
  if (context.numInputs > 2 && context.input(2).present()) {
    const Tensor &bias = context.input(2);
    if (bias.dtype != DType::f32)
      return unsupportedDtype(op, bias.dtype);
    if (bias.numel() != M)
      return AZR_INVALID("conv: bias %s must have %lld elements",
                         shapeString(bias).c_str(), (long long)M);
    // The bias runs along the channel dim: stride 1 there, 0 elsewhere.
    Addend &a = epilogue.addends[epilogue.numAddends++];
    a.data = bias.as<const float>();
    a.rank = out.rank;
    std::copy(out.dims, out.dims + out.rank, a.dims);
    a.strides[1] = 1;
  }
  if (context.numInputs > 3 && context.input(3).present())
    AZR_RETURN_IF_ERROR(makeAddend(op, "residual", context.input(3), out, 1.0f,
                                   epilogue.addends[epilogue.numAddends++]));

  const int64_t Cg = C / group, Mg = M / group;
  const int64_t kSize = w.kernelSize(), inSize = w.inSize(),
                outSize = w.outSize();
  const int64_t K = Cg * kSize;
  const float *in = input.as<const float>();
  const float *wt = weight.as<const float>();
  float *dst = out.as<float>();
  if (out.numel() == 0)
    return nullptr;
  bool pointwise = true;
  for (int d = 0; d < w.spatial; ++d)
    pointwise = pointwise && w.kernel[d] == 1 && w.stride[d] == 1 &&
                w.padBegin[d] == 0 && w.padEnd[d] == 0;
  // A 1x1 convolution reads the input planes directly as the GEMM's B.
  std::vector<float> col;
  if (!pointwise)
    col.resize(size_t(C * kSize * outSize));
  for (int64_t n = 0; n < batch; ++n) {
    const float *image = in + n * C * inSize;
    if (!pointwise)
      im2col(image, C, w, col.data(), *context.pool);
    std::vector<GemmBatch> products;
    for (int64_t g = 0; g < group; ++g) {
      const float *B =
          pointwise ? image + g * Cg * inSize : col.data() + g * K * outSize;
      const int64_t firstRow = (n * M + g * Mg) * outSize;
      products.push_back({wt + g * Mg * K, K, 1, B, outSize, dst + firstRow,
                          outSize, firstRow, outSize});
    }
    parallelGemm(*context.pool, Mg, outSize, K, products, &epilogue);
  }
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Transposed convolution
//===----------------------------------------------------------------------===//

// Each output plane (n, m) is computed by one task: it starts from the bias
// and gathers, for every input channel of m's group, input * weight at the
// output positions the taps land on. Pads may be negative (the output is
// then larger than the natural one); taps landing outside are dropped.
azr_status_t convTransposeKernel(const KernelContext &context) {
  const char *op = "conv_transpose";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 3, 1));
  const Tensor &input = context.input(0), &weight = context.input(1);
  const Tensor &out = context.output(0);
  const bool hasBias = context.numInputs > 2 && context.input(2).present();
  if (input.dtype != weight.dtype || out.dtype != input.dtype ||
      (hasBias && context.input(2).dtype != input.dtype))
    return AZR_INVALID("%s: operands and result differ in dtype", op);
  if (input.rank < 3 || weight.rank != input.rank || out.rank != input.rank)
    return AZR_INVALID("%s: input %s, weight %s and result %s differ in rank "
                       "or have rank < 3",
                       op, shapeString(input).c_str(),
                       shapeString(weight).c_str(), shapeString(out).c_str());
  const int spatial = input.rank - 2;
  const size_t n = size_t(spatial);
  const std::vector<int64_t> strides = context.attrs->getInts("strides");
  const std::vector<int64_t> pads = context.attrs->getInts("pads");
  const std::vector<int64_t> dilations = context.attrs->getInts("dilations");
  const std::vector<int64_t> outputPadding =
      context.attrs->getInts("output_padding");
  if (strides.size() != n || pads.size() != 2 * n || dilations.size() != n ||
      outputPadding.size() != n)
    return AZR_INVALID("%s: strides/pads/dilations/output_padding do not "
                       "match %d spatial dims",
                       op, spatial);
  const int64_t group = context.attrs->getInt("group", 1);
  const int64_t batch = input.dims[0], C = input.dims[1];
  const int64_t Mg = weight.dims[1];
  if (group < 1 || C % group || weight.dims[0] != C || out.dims[0] != batch ||
      out.dims[1] != Mg * group)
    return AZR_INVALID("%s: input %s, weight %s, group %lld and result %s do "
                       "not agree",
                       op, shapeString(input).c_str(),
                       shapeString(weight).c_str(), (long long)group,
                       shapeString(out).c_str());
  Window w;
  w.spatial = spatial;
  for (int d = 0; d < spatial; ++d) {
    w.in[d] = input.dims[d + 2];
    w.out[d] = out.dims[d + 2];
    w.kernel[d] = weight.dims[d + 2];
    w.stride[d] = strides[size_t(d)];
    w.dilation[d] = dilations[size_t(d)];
    w.padBegin[d] = pads[size_t(d)];
    w.padEnd[d] = pads[n + size_t(d)];
    const int64_t expected =
        w.stride[d] * (w.in[d] - 1) + outputPadding[size_t(d)] +
        w.dilation[d] * (w.kernel[d] - 1) + 1 - w.padBegin[d] - w.padEnd[d];
    if (w.stride[d] < 1 || w.dilation[d] < 1 || w.out[d] != expected)
      return AZR_INVALID("%s: result dim %d is %lld, expected %lld (or a "
                         "stride or dilation is not positive)",
                         op, d + 2, (long long)w.out[d], (long long)expected);
  }
  const int64_t M = Mg * group, Cg = C / group;
  const int64_t inSize = w.inSize(), outSize = w.outSize(),
                kSize = w.kernelSize();
  if (out.numel() == 0)
    return nullptr;
  // For every (input position, tap): the output position, or -1 outside.
  std::vector<int64_t> target(size_t(inSize * kSize));
  for (int64_t i = 0; i < inSize; ++i) {
    int64_t pos[kMaxRank], tap[kMaxRank];
    unflatten(i, spatial, w.in, pos);
    for (int64_t t = 0; t < kSize; ++t) {
      unflatten(t, spatial, w.kernel, tap);
      int64_t flat = 0;
      bool inside = true;
      for (int d = 0; d < spatial; ++d) {
        const int64_t o =
            pos[d] * w.stride[d] + tap[d] * w.dilation[d] - w.padBegin[d];
        inside = inside && o >= 0 && o < w.out[d];
        flat = flat * w.out[d] + o;
      }
      target[size_t(i * kSize + t)] = inside ? flat : -1;
    }
  }
  return dispatchFloat(input.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *x = input.as<const T>(), *wt = weight.as<const T>();
    const T *bias = hasBias ? context.input(2).as<const T>() : nullptr;
    if (hasBias && context.input(2).numel() != M)
      return AZR_INVALID("%s: bias %s must have %lld elements", op,
                         shapeString(context.input(2)).c_str(), (long long)M);
    T *y = out.as<T>();
    context.pool->parallelFor(batch * M, 1, [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const int64_t b = plane / M, m = plane % M;
        const int64_t g = m / Mg, local = m % Mg;
        T *dst = y + plane * outSize;
        std::fill(dst, dst + outSize, bias ? bias[m] : T(0));
        for (int64_t c = g * Cg; c < (g + 1) * Cg; ++c) {
          const T *src = x + (b * C + c) * inSize;
          const T *taps = wt + (c * Mg + local) * kSize;
          for (int64_t i = 0; i < inSize; ++i) {
            const int64_t *to = target.data() + i * kSize;
            const T v = src[i];
            for (int64_t t = 0; t < kSize; ++t)
              if (to[t] >= 0)
                dst[to[t]] += v * taps[t];
          }
        }
      }
    });
    return nullptr;
  });
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

// Calls `visit(inputIndex)` for every window tap of output position `pos`
// that lies inside the input, and returns the number of taps in the window
// clipped to the padded input (the count_include_pad divisor).
template <class Visit>
int64_t forEachTap(const Window &w, const int64_t *pos, Visit &&visit) {
  int64_t first[kMaxRank], count[kMaxRank], padded = 1;
  for (int d = 0; d < w.spatial; ++d) {
    first[d] = pos[d] * w.stride[d] - w.padBegin[d];
    // Windows past the padded end (ceil mode) are clipped there.
    const int64_t limit = w.in[d] + w.padEnd[d];
    int64_t taps = 0;
    while (taps < w.kernel[d] && first[d] + taps * w.dilation[d] < limit)
      ++taps;
    count[d] = taps;
    padded *= taps;
  }
  int64_t tap[kMaxRank] = {};
  if (padded == 0)
    return 0;
  for (;;) {
    int64_t index = 0;
    bool inside = true;
    for (int d = 0; d < w.spatial; ++d) {
      const int64_t x = first[d] + tap[d] * w.dilation[d];
      inside = inside && x >= 0 && x < w.in[d];
      index = index * w.in[d] + x;
    }
    if (inside)
      visit(index);
    int d = w.spatial - 1;
    for (; d >= 0; --d) {
      if (++tap[d] < count[d])
        break;
      tap[d] = 0;
    }
    if (d < 0)
      return padded;
  }
}

template <bool IsMax> azr_status_t poolKernel(const KernelContext &context) {
  const char *op = IsMax ? "max_pool" : "avg_pool";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 1, 1, 1));
  const Tensor &input = context.input(0);
  Tensor &out = context.output(0);
  if (input.dtype != DType::f32 || out.dtype != DType::f32)
    return unsupportedDtype(op, input.dtype);
  Window w;
  AZR_RETURN_IF_ERROR(readPoolWindow(op, context, true, w));
  const bool includePad = context.attrs->getInt("count_include_pad", 0) != 0;
  const int64_t planes = input.dims[0] * input.dims[1];
  const int64_t inSize = w.inSize(), outSize = w.outSize();
  const float *in = input.as<const float>();
  float *dst = out.as<float>();
  const int64_t work = std::max<int64_t>(1, outSize * w.kernelSize());
  context.pool->parallelFor(
      planes * outSize, std::max<int64_t>(1, 32768 / work),
      [&](int64_t begin, int64_t end) {
        int64_t pos[kMaxRank];
        for (int64_t i = begin; i < end; ++i) {
          const float *plane = in + (i / outSize) * inSize;
          unflatten(i % outSize, w.spatial, w.out, pos);
          if (IsMax) {
            // Padding never wins: a window entirely in padding yields -inf.
            float best = -std::numeric_limits<float>::infinity();
            forEachTap(w, pos, [&](int64_t x) {
              best = plane[x] > best || std::isnan(plane[x]) ? plane[x] : best;
            });
            dst[i] = best;
          } else {
            float sum = 0.0f;
            int64_t valid = 0;
            const int64_t padded = forEachTap(w, pos, [&](int64_t x) {
              sum += plane[x];
              ++valid;
            });
            const int64_t divisor = includePad ? padded : valid;
            dst[i] = divisor ? sum / float(divisor) : 0.0f;
          }
        }
      });
  return nullptr;
}

// The flat input index of each max_pool window's first maximum: row-major
// over N x C x D..., or with the spatial dims column-major (storage_order).
azr_status_t maxPoolIndicesKernel(const KernelContext &context) {
  const char *op = "max_pool_indices";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 1, 1, 1));
  const Tensor &input = context.input(0);
  Tensor &out = context.output(0);
  if (input.dtype != DType::f32 || out.dtype != DType::i64)
    return AZR_INVALID("%s: dtypes %s -> %s, expected f32 -> i64", op,
                       dtypeName(input.dtype), dtypeName(out.dtype));
  Window w;
  AZR_RETURN_IF_ERROR(readPoolWindow(op, context, true, w));
  const bool columnMajor = context.attrs->getInt("storage_order", 0) != 0;
  const int64_t planes = input.dims[0] * input.dims[1];
  const int64_t inSize = w.inSize(), outSize = w.outSize();
  const float *in = input.as<const float>();
  int64_t *dst = out.as<int64_t>();
  context.pool->parallelFor(
      planes * outSize, 64, [&](int64_t begin, int64_t end) {
        int64_t pos[kMaxRank], coord[kMaxRank];
        for (int64_t i = begin; i < end; ++i) {
          const int64_t plane = i / outSize;
          const float *values = in + plane * inSize;
          unflatten(i % outSize, w.spatial, w.out, pos);
          float best = -std::numeric_limits<float>::infinity();
          int64_t at = -1;
          forEachTap(w, pos, [&](int64_t x) {
            if (at < 0 || values[x] > best ||
                (std::isnan(values[x]) && !std::isnan(best))) {
              best = values[x];
              at = x;
            }
          });
          if (at < 0) {
            dst[i] = -1; // a window entirely in padding
            continue;
          }
          int64_t local = at;
          if (columnMajor) {
            unflatten(at, w.spatial, w.in, coord);
            local = 0;
            for (int d = w.spatial - 1; d >= 0; --d)
              local = local * w.in[d] + coord[d];
          }
          dst[i] = plane * inSize + local;
        }
      });
  return nullptr;
}

} // namespace

void addConvPoolKernels(KernelTable &table) {
  table.push_back({"conv", guarded<convKernel>});
  table.push_back({"conv_transpose", guarded<convTransposeKernel>});
  table.push_back({"max_pool", guarded<poolKernel<true>>});
  table.push_back({"max_pool_indices", guarded<maxPoolIndicesKernel>});
  table.push_back({"avg_pool", guarded<poolKernel<false>>});
}

} // namespace azr::cpu

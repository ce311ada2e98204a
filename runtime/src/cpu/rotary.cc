//===- rotary.cc - rotary position embedding ------------------------------===//

#include "cpu/cast.h"
#include "cpu/kernel_util.h"

namespace azr::cpu {
namespace {

/// Reads and writes one element type as float.
template <class T> struct FloatIO {
  static float load(const T *p, int64_t i) { return float(p[i]); }
  static void store(T *p, int64_t i, float v) { p[i] = T(v); }
};
template <> struct FloatIO<uint16_t> {
  static float load(const uint16_t *p, int64_t i) { return halfToFloat(p[i]); }
  static void store(uint16_t *p, int64_t i, float v) { p[i] = floatToHalf(v); }
};

template <class T>
void rotate(const Tensor &in, const Tensor &cosT, const Tensor &sinT,
            Tensor &out, bool interleaved, bool headsFirst, ThreadPool &pool) {
  using IO = FloatIO<T>;
  const int64_t batch = in.dims[0], heads = in.dims[headsFirst ? 1 : 2],
                seq = in.dims[headsFirst ? 2 : 1], head = in.dims[3];
  const int64_t half = cosT.dims[2], rotated = 2 * half;
  const int64_t cosBatch = cosT.dims[0];
  // Element strides of the [b, s, n] head vectors in either layout.
  const int64_t seqStride = headsFirst ? head : heads * head;
  const int64_t headStride = headsFirst ? seq * head : head;
  const int64_t batchStride = seq * heads * head;
  const T *x = in.as<const T>();
  const T *cosData = cosT.as<const T>(), *sinData = sinT.as<const T>();
  T *y = out.as<T>();
  pool.parallelFor(batch * seq * heads,
                   std::max<int64_t>(1, 4096 / std::max<int64_t>(1, head)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t u = begin; u < end; ++u) {
                       const int64_t b = u / (seq * heads),
                                     s = (u / heads) % seq, n = u % heads;
                       const int64_t offset =
                           b * batchStride + s * seqStride + n * headStride;
                       const T *src = x + offset;
                       T *dst = y + offset;
                       const int64_t angle =
                           ((cosBatch == 1 ? 0 : b) * seq + s) * half;
                       for (int64_t i = 0; i < half; ++i) {
                         const int64_t i1 = interleaved ? 2 * i : i;
                         const int64_t i2 = interleaved ? 2 * i + 1 : i + half;
                         const float c = IO::load(cosData, angle + i);
                         const float sn = IO::load(sinData, angle + i);
                         const float x1 = IO::load(src, i1),
                                     x2 = IO::load(src, i2);
                         IO::store(dst, i1, x1 * c - x2 * sn);
                         IO::store(dst, i2, x2 * c + x1 * sn);
                       }
                       for (int64_t i = rotated; i < head; ++i)
                         dst[i] = src[i];
                     }
                   });
}

azr_status_t rotaryEmbeddingKernel(const KernelContext &context) {
  const char *op = "rotary_embedding";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 3, 3, 1));
  const Tensor &in = context.input(0), &cosT = context.input(1),
               &sinT = context.input(2);
  Tensor &out = context.output(0);
  const bool interleaved = context.attrs->getInt("interleaved", 0) != 0;
  const bool headsFirst = context.attrs->getInt("heads_first", 0) != 0;
  if (in.rank != 4 || cosT.rank != 3 || sinT.rank != 3)
    return AZR_INVALID("%s: needs a 4-D input and 3-D cos and sin, got %s, "
                       "%s, %s",
                       op, shapeString(in).c_str(), shapeString(cosT).c_str(),
                       shapeString(sinT).c_str());
  if (out.dtype != in.dtype || out.rank != 4 ||
      !std::equal(in.dims, in.dims + 4, out.dims))
    return AZR_INVALID("%s: result %s does not match %s", op,
                       shapeString(out).c_str(), shapeString(in).c_str());
  if (cosT.dtype != in.dtype || sinT.dtype != in.dtype)
    return AZR_INVALID("%s: cos and sin must have dtype %s", op,
                       dtypeName(in.dtype));
  const int64_t seq = in.dims[headsFirst ? 2 : 1];
  if (!std::equal(cosT.dims, cosT.dims + 3, sinT.dims) ||
      (cosT.dims[0] != 1 && cosT.dims[0] != in.dims[0]) ||
      cosT.dims[1] != seq || 2 * cosT.dims[2] > in.dims[3])
    return AZR_INVALID("%s: cos %s and sin %s must be [1 or B, S, R/2] with "
                       "R <= head size for input %s",
                       op, shapeString(cosT).c_str(), shapeString(sinT).c_str(),
                       shapeString(in).c_str());
  switch (in.dtype) {
  case DType::f32:
    rotate<float>(in, cosT, sinT, out, interleaved, headsFirst, *context.pool);
    return nullptr;
  case DType::f64:
    rotate<double>(in, cosT, sinT, out, interleaved, headsFirst, *context.pool);
    return nullptr;
  case DType::f16:
    rotate<uint16_t>(in, cosT, sinT, out, interleaved, headsFirst,
                     *context.pool);
    return nullptr;
  default:
    return unsupportedDtype(op, in.dtype);
  }
}

} // namespace

void addRotaryKernels(KernelTable &table) {
  table.push_back({"rotary_embedding", guarded<rotaryEmbeddingKernel>});
}

} // namespace azr::cpu

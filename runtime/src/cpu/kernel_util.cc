//===- kernel_util.cc - helpers shared by the CPU kernels -----------------===//

#include "cpu/kernel_util.h"

#include "cpu/fast_math.h"
#include "cpu_features.h"

#include <cstdio>

namespace azr::cpu {

std::string shapeString(const Tensor &tensor) {
  std::string text = "[";
  for (int d = 0; d < tensor.rank && d < kMaxRank; ++d) {
    if (d)
      text += "x";
    text += std::to_string(tensor.dims[d]);
  }
  return text + "]" + dtypeName(tensor.dtype);
}

azr_status_t unsupportedDtype(const char *op, DType type) {
  return azr_status_make(AZR_STATUS_UNIMPLEMENTED,
                         "%s: no CPU kernel for dtype %s", op, dtypeName(type));
}

static azr_status_t checkTensor(const char *op, const char *role, int index,
                                const Tensor &t, bool required) {
  if (t.rank < 0 || t.rank > kMaxRank)
    return AZR_INVALID("%s: %s %d has rank %d (at most %d)", op, role, index,
                       t.rank, kMaxRank);
  for (int d = 0; d < t.rank; ++d)
    if (t.dims[d] < 0)
      return AZR_INVALID("%s: %s %d has a negative dim", op, role, index);
  if (dtypeSize(t.dtype) == 0)
    return AZR_INVALID("%s: %s %d has an invalid dtype %d", op, role, index,
                       int(t.dtype));
  if (required && !t.data && t.numel() != 0)
    return AZR_INVALID("%s: %s %d has no data", op, role, index);
  return nullptr;
}

azr_status_t checkArity(const KernelContext &context, const char *op,
                        int minInputs, int maxInputs, int numOutputs) {
  if (context.numInputs < minInputs || context.numInputs > maxInputs ||
      (context.numInputs > 0 && !context.inputs))
    return AZR_INVALID("%s: got %d operands, expected %d to %d", op,
                       context.numInputs, minInputs, maxInputs);
  const bool anyOutputs = numOutputs < 0;
  if ((anyOutputs ? context.numOutputs < 1
                  : context.numOutputs != numOutputs) ||
      !context.outputs)
    return AZR_INVALID("%s: got %d results, expected %d", op,
                       context.numOutputs, numOutputs);
  if (!context.pool)
    return AZR_INVALID("%s: no thread pool", op);
  for (int i = 0; i < context.numInputs; ++i) {
    const Tensor &t = context.inputs[i];
    // Optional operands past minInputs may be absent (data == nullptr).
    if (i >= minInputs && !t.data)
      continue;
    AZR_RETURN_IF_ERROR(checkTensor(op, "operand", i, t, true));
  }
  for (int i = 0; i < context.numOutputs; ++i)
    AZR_RETURN_IF_ERROR(checkTensor(op, "result", i, context.outputs[i], true));
  return nullptr;
}

void ReductionShape::add(bool isReduced, bool extendsLast, int64_t size,
                         int64_t stride) {
  int &num = isReduced ? numReduced : numKept;
  int64_t *dims = isReduced ? reduced : kept;
  int64_t *strides = isReduced ? reducedStride : keptStride;
  if (extendsLast && num > 0) {
    dims[num - 1] *= size;
    strides[num - 1] = stride;
  } else {
    dims[num] = size;
    strides[num++] = stride;
  }
}

azr_status_t ReductionShape::init(const char *op, const Tensor &in,
                                  const Tensor &out, const Attrs &attrs) {
  if (in.dtype != out.dtype)
    return AZR_INVALID("%s: dtype %s -> %s", op, dtypeName(in.dtype),
                       dtypeName(out.dtype));
  bool isReduced[kMaxRank] = {};
  const std::vector<int64_t> axes = attrs.getInts("axes");
  for (int64_t axis : axes) {
    const int64_t given = axis;
    if (!normalizeAxis(axis, in.rank))
      return AZR_INVALID("%s: axis %lld is out of range for rank %d", op,
                         (long long)given, in.rank);
    isReduced[axis] = true;
  }
  int64_t strides[kMaxRank], stride = in.numel() ? 1 : 0;
  for (int d = in.rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= in.dims[d];
  }
  numKept = numReduced = 0;
  outputs = count = 1;
  bool lastWasReduced = false, any = false;
  for (int d = 0; d < in.rank; ++d) {
    const bool r = axes.empty() || isReduced[d];
    (r ? count : outputs) *= in.dims[d];
    if (in.dims[d] == 1)
      continue;
    add(r, any && lastWasReduced == r, in.dims[d], strides[d]);
    lastWasReduced = r;
    any = true;
  }
  if (out.numel() != outputs)
    return AZR_INVALID("%s: result %s does not match reducing %s", op,
                       shapeString(out).c_str(), shapeString(in).c_str());
  return nullptr;
}

bool broadcastStrides(const Tensor &input, int outRank, const int64_t *outDims,
                      int64_t *strides) {
  if (input.rank > outRank)
    return false;
  int64_t stride = 1;
  for (int d = outRank - 1; d >= 0; --d) {
    const int inDim = d - (outRank - input.rank);
    if (inDim < 0) {
      strides[d] = 0;
      continue;
    }
    const int64_t size = input.dims[inDim];
    if (size == outDims[d])
      strides[d] = size == 1 ? 0 : stride;
    else if (size == 1)
      strides[d] = 0;
    else
      return false;
    stride *= size;
  }
  return true;
}

azr_status_t planBinary(const char *op, const KernelContext &context,
                        bool boolResult, BroadcastPlan &plan) {
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 2, 1));
  const Tensor &lhs = context.input(0), &rhs = context.input(1);
  const Tensor &out = context.output(0);
  if (lhs.dtype != rhs.dtype ||
      out.dtype != (boolResult ? DType::i1 : lhs.dtype))
    return AZR_INVALID("%s: mismatched dtypes %s, %s -> %s", op,
                       dtypeName(lhs.dtype), dtypeName(rhs.dtype),
                       dtypeName(out.dtype));
  const Tensor *inputs[] = {&lhs, &rhs};
  return plan.init(op, out, inputs, 2);
}

azr_status_t BroadcastPlan::init(const char *op, const Tensor &output,
                                 const Tensor *const *inputs, int count) {
  numInputs = count;
  rank = 0;
  int64_t fullStrides[kMaxOperands][kMaxRank];
  for (int i = 0; i < count; ++i)
    if (!broadcastStrides(*inputs[i], output.rank, output.dims, fullStrides[i]))
      return AZR_INVALID("%s: operand %d of shape %s does not broadcast to "
                         "the result shape %s",
                         op, i, shapeString(*inputs[i]).c_str(),
                         shapeString(output).c_str());
  // Size-1 dims contribute nothing; a dim merges into the next one when
  // every operand steps through both as one.
  for (int d = 0; d < output.rank; ++d) {
    if (output.dims[d] == 1)
      continue;
    bool merge = rank > 0;
    for (int i = 0; i < count && merge; ++i)
      merge = strides[i][rank - 1] == fullStrides[i][d] * output.dims[d];
    if (merge) {
      dims[rank - 1] *= output.dims[d];
      for (int i = 0; i < count; ++i)
        strides[i][rank - 1] = fullStrides[i][d];
    } else {
      dims[rank] = output.dims[d];
      for (int i = 0; i < count; ++i)
        strides[i][rank] = fullStrides[i][d];
      ++rank;
    }
  }
  return nullptr;
}

template <class T>
static void copyRow(char *dst, const char *src, int64_t stride, int64_t n) {
  T *out = reinterpret_cast<T *>(dst);
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(out + i, src + i * stride * int64_t(sizeof(T)), sizeof(T));
}

void copyStrided(void *dst, const void *src, int rank, const int64_t *dims,
                 const int64_t *srcStrides, size_t elemSize, ThreadPool &pool) {
  // Merge dims like BroadcastPlan::init does, for a single operand.
  BroadcastPlan plan;
  plan.numInputs = 1;
  for (int d = 0; d < rank; ++d) {
    if (dims[d] == 0)
      return;
    if (dims[d] == 1)
      continue;
    if (plan.rank > 0 &&
        plan.strides[0][plan.rank - 1] == srcStrides[d] * dims[d]) {
      plan.dims[plan.rank - 1] *= dims[d];
      plan.strides[0][plan.rank - 1] = srcStrides[d];
    } else {
      plan.dims[plan.rank] = dims[d];
      plan.strides[0][plan.rank] = srcStrides[d];
      ++plan.rank;
    }
  }
  char *out = static_cast<char *>(dst);
  const char *in = static_cast<const char *>(src);
  const int64_t size = int64_t(elemSize);
  plan.forEachRow(pool, [&](int64_t outOffset, const int64_t *inOffsets,
                            const int64_t *innerStrides, int64_t n) {
    char *o = out + outOffset * size;
    const char *i = in + inOffsets[0] * size;
    const int64_t stride = innerStrides[0];
    if (stride == 1) {
      std::memcpy(o, i, size_t(n * size));
      return;
    }
    switch (elemSize) {
    case 1:
      return copyRow<uint8_t>(o, i, stride, n);
    case 2:
      return copyRow<uint16_t>(o, i, stride, n);
    case 4:
      return copyRow<uint32_t>(o, i, stride, n);
    case 8:
      return copyRow<uint64_t>(o, i, stride, n);
    default:
      for (int64_t k = 0; k < n; ++k)
        std::memcpy(o + k * size, i + k * stride * size, elemSize);
    }
  });
}

azr_status_t parseActivation(const char *op, const Attrs &attrs,
                             ActivationSpec &spec) {
  const std::string name = attrs.getString("activation", "none");
  static const struct {
    const char *name;
    Activation kind;
  } kinds[] = {{"none", Activation::none}, {"relu", Activation::relu},
               {"gelu", Activation::gelu}, {"gelu_tanh", Activation::geluTanh},
               {"silu", Activation::silu}, {"sigmoid", Activation::sigmoid},
               {"tanh", Activation::tanh}, {"clip", Activation::clip}};
  for (const auto &k : kinds) {
    if (name == k.name) {
      spec.kind = k.kind;
      spec.lo = attrs.has("clip_min") ? float(attrs.getFloat("clip_min", 0))
                                      : -INFINITY;
      spec.hi = attrs.has("clip_max") ? float(attrs.getFloat("clip_max", 0))
                                      : INFINITY;
      return nullptr;
    }
  }
  return AZR_INVALID("%s: unknown activation '%s'", op, name.c_str());
}

const VectorMath &vectorMath() {
  static const VectorMath math = []() -> VectorMath {
#if defined(__x86_64__)
    if (hasCpuFeature("avx512f") && hasCpuFeature("fma"))
      return vectorMathAvx512();
    if (hasCpuFeature("avx2") && hasCpuFeature("fma"))
      return vectorMathAvx2();
#endif
    return {"portable",           fastmath::geluLoop,    fastmath::geluTanhLoop,
            fastmath::siluLoop,   fastmath::sigmoidLoop, fastmath::tanhLoop,
            fastmath::expShiftSum};
  }();
  return math;
}

void applyActivation(const ActivationSpec &spec, float *x, int64_t n) {
  switch (spec.kind) {
  case Activation::none:
    return;
  case Activation::relu:
    for (int64_t i = 0; i < n; ++i)
      x[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return;
  case Activation::gelu:
    vectorMath().gelu(x, n);
    return;
  case Activation::geluTanh:
    vectorMath().geluTanh(x, n);
    return;
  case Activation::silu:
    vectorMath().silu(x, n);
    return;
  case Activation::sigmoid:
    vectorMath().sigmoid(x, n);
    return;
  case Activation::tanh:
    vectorMath().tanh(x, n);
    return;
  case Activation::clip:
    for (int64_t i = 0; i < n; ++i)
      x[i] = std::min(std::max(x[i], spec.lo), spec.hi);
    return;
  }
}

void Addend::addRange(float *out, int64_t flatBegin, int64_t n) const {
  if (rank == 0) {
    for (int64_t i = 0; i < n; ++i)
      out[i] += scale * data[0];
    return;
  }
  int64_t coord[kMaxRank] = {};
  int64_t offset = 0;
  int64_t rest = flatBegin;
  for (int d = rank - 1; d >= 0; --d) {
    coord[d] = rest % dims[d];
    rest /= dims[d];
    offset += coord[d] * strides[d];
  }
  const int last = rank - 1;
  const int64_t step = strides[last];
  while (n > 0) {
    const int64_t run = std::min(n, dims[last] - coord[last]);
    const float *src = data + offset;
    if (step == 0)
      for (int64_t i = 0; i < run; ++i)
        out[i] += scale * src[0];
    else
      for (int64_t i = 0; i < run; ++i)
        out[i] += scale * src[i];
    out += run;
    n -= run;
    offset += run * step;
    coord[last] += run;
    // Carry into the outer dims.
    for (int d = last; d > 0 && coord[d] == dims[d]; --d) {
      offset -= coord[d] * strides[d];
      coord[d] = 0;
      offset += strides[d - 1];
      ++coord[d - 1];
    }
  }
}

azr_status_t makeAddend(const char *op, const char *what, const Tensor &t,
                        const Tensor &output, float scale, Addend &addend) {
  if (t.dtype != DType::f32)
    return unsupportedDtype(op, t.dtype);
  if (!broadcastStrides(t, output.rank, output.dims, addend.strides))
    return AZR_INVALID("%s: %s of shape %s does not broadcast to the result "
                       "shape %s",
                       op, what, shapeString(t).c_str(),
                       shapeString(output).c_str());
  addend.data = t.as<const float>();
  addend.scale = scale;
  addend.rank = output.rank;
  for (int d = 0; d < output.rank; ++d)
    addend.dims[d] = output.dims[d];
  return nullptr;
}

azr_status_t weightProductEpilogue(const char *op, const Attrs &attrs,
                                   const Tensor &input, int64_t N,
                                   const Tensor &bias, const Tensor &residual,
                                   const Tensor &out, Epilogue &epilogue) {
  bool sameShape = out.dtype == DType::f32 && out.rank == input.rank &&
                   out.rank > 0 && out.dims[out.rank - 1] == N;
  for (int d = 0; sameShape && d + 1 < input.rank; ++d)
    sameShape = out.dims[d] == input.dims[d];
  if (!sameShape)
    return AZR_INVALID("%s: result must be f32 %s with last dim N=%lld, got "
                       "%s %s",
                       op, shapeString(input).c_str(), (long long)N,
                       dtypeName(out.dtype), shapeString(out).c_str());
  if (bias.present() && (bias.dtype != DType::f32 || bias.numel() != N))
    return AZR_INVALID("%s: bias must be f32 with N=%lld elements, got %s %s",
                       op, (long long)N, dtypeName(bias.dtype),
                       shapeString(bias).c_str());
  if (residual.present() && residual.dtype != DType::f32)
    return AZR_INVALID("%s: residual must be f32, got %s", op,
                       dtypeName(residual.dtype));
  AZR_RETURN_IF_ERROR(parseActivation(op, attrs, epilogue.activation));
  if (bias.present())
    AZR_RETURN_IF_ERROR(makeAddend(op, "bias", bias, out, 1.0f,
                                   epilogue.addends[epilogue.numAddends++]));
  if (residual.present())
    AZR_RETURN_IF_ERROR(makeAddend(op, "residual", residual, out, 1.0f,
                                   epilogue.addends[epilogue.numAddends++]));
  return nullptr;
}

} // namespace azr::cpu

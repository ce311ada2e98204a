//===- deform_conv.cc - 2-D deformable convolution ------------------------===//
//
// ONNX DeformConv as the convolution kernel does it: the columns of an
// im2col, then one GEMM per group. Here each column entry is the input
// sampled bilinearly at the tap's moved position (zero outside the image)
// and scaled by the mask, so the GEMM and its bias epilogue are shared.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

namespace azr::cpu {
namespace {

/// `plane` ([height, width]) at the real position (y, x): bilinear between
/// the four pixels around it, a pixel outside the image counting as zero.
float sampleBilinear(const float *plane, int64_t height, int64_t width, float y,
                     float x) {
  const float y0f = std::floor(y), x0f = std::floor(x);
  const int64_t y0 = int64_t(y0f), x0 = int64_t(x0f);
  const float dy = y - y0f, dx = x - x0f;
  auto at = [&](int64_t r, int64_t c) {
    return r >= 0 && r < height && c >= 0 && c < width ? plane[r * width + c]
                                                       : 0.0f;
  };
  return (1 - dy) * ((1 - dx) * at(y0, x0) + dx * at(y0, x0 + 1)) +
         dy * ((1 - dx) * at(y0 + 1, x0) + dx * at(y0 + 1, x0 + 1));
}

azr_status_t deformConvKernel(const KernelContext &context) {
  const char *op = "deform_conv";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 3, 5, 1));
  const Tensor &input = context.input(0), &weight = context.input(1),
               &offset = context.input(2), &out = context.output(0);
  const Tensor *bias = context.optionalInput(3),
               *mask = context.optionalInput(4);
  for (const Tensor *t : {&input, &weight, &offset, bias, mask, &out})
    if (t && t->dtype != DType::f32)
      return unsupportedDtype(op, t->dtype);
  const Attrs &attrs = *context.attrs;
  const std::vector<int64_t> strides = attrs.getInts("strides"),
                             pads = attrs.getInts("pads"),
                             dilations = attrs.getInts("dilations");
  const int64_t group = attrs.getInt("group", 1);
  const int64_t offsetGroup = attrs.getInt("offset_group", 1);
  if (input.rank != 4 || weight.rank != 4 || offset.rank != 4 ||
      out.rank != 4 || strides.size() != 2 || pads.size() != 4 ||
      dilations.size() != 2 || group < 1 || offsetGroup < 1)
    return AZR_INVALID("deform_conv: expected 4-D tensors, 2 strides, 4 pads "
                       "and 2 dilations");
  const int64_t batch = input.dims[0], C = input.dims[1];
  const int64_t H = input.dims[2], W = input.dims[3];
  const int64_t M = weight.dims[0], kH = weight.dims[2], kW = weight.dims[3];
  const int64_t oH = out.dims[2], oW = out.dims[3];
  const int64_t kSize = kH * kW, outSize = oH * oW;
  if (C % group || M % group || weight.dims[1] != C / group ||
      C % offsetGroup || out.dims[0] != batch || out.dims[1] != M ||
      offset.dims[0] != batch || offset.dims[1] != offsetGroup * kSize * 2 ||
      offset.dims[2] != oH || offset.dims[3] != oW ||
      (mask && mask->numel() != batch * offsetGroup * kSize * outSize) ||
      (bias && bias->numel() != M))
    return AZR_INVALID("deform_conv: input %s, weight %s, offset %s and "
                       "result %s do not agree",
                       shapeString(input).c_str(), shapeString(weight).c_str(),
                       shapeString(offset).c_str(), shapeString(out).c_str());
  Epilogue epilogue;
  if (bias) {
    // The bias runs along the channel dim: stride 1 there, 0 elsewhere.
    Addend &a = epilogue.addends[epilogue.numAddends++];
    a.data = bias->as<const float>();
    a.rank = out.rank;
    std::copy(out.dims, out.dims + out.rank, a.dims);
    a.strides[1] = 1;
  }
  if (out.numel() == 0)
    return nullptr;

  const int64_t Cg = C / group, Mg = M / group, K = Cg * kSize;
  const int64_t channelsPerOffset = C / offsetGroup;
  std::vector<float> col(size_t(C * kSize * outSize));
  for (int64_t n = 0; n < batch; ++n) {
    const float *image = input.as<const float>() + n * C * H * W;
    const float *offsets =
        offset.as<const float>() + n * offsetGroup * kSize * 2 * outSize;
    const float *masks =
        mask ? mask->as<const float>() + n * offsetGroup * kSize * outSize
             : nullptr;
    // Row (c, tap) of the columns: channel c sampled at that tap's moved
    // position for every output position.
    context.pool->parallelFor(C * kSize, 1, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t c = row / kSize, tap = row % kSize;
        const int64_t og = c / channelsPerOffset;
        const int64_t ky = tap / kW, kx = tap % kW;
        const float *dyPlane = offsets + ((og * kSize + tap) * 2) * outSize;
        const float *dxPlane = dyPlane + outSize;
        const float *maskPlane =
            masks ? masks + (og * kSize + tap) * outSize : nullptr;
        float *dst = col.data() + row * outSize;
        for (int64_t i = 0; i < oH; ++i)
          for (int64_t j = 0; j < oW; ++j) {
            const int64_t o = i * oW + j;
            const float y =
                float(i * strides[0] - pads[0] + ky * dilations[0]) +
                dyPlane[o];
            const float x =
                float(j * strides[1] - pads[1] + kx * dilations[1]) +
                dxPlane[o];
            float v = sampleBilinear(image + c * H * W, H, W, y, x);
            dst[o] = maskPlane ? v * maskPlane[o] : v;
          }
      }
    });
    std::vector<GemmBatch> products;
    for (int64_t g = 0; g < group; ++g) {
      const int64_t firstRow = (n * M + g * Mg) * outSize;
      products.push_back({weight.as<const float>() + g * Mg * K, K, 1,
                          col.data() + g * K * outSize, outSize,
                          out.as<float>() + firstRow, outSize, firstRow,
                          outSize});
    }
    parallelGemm(*context.pool, Mg, outSize, K, products, &epilogue);
  }
  return nullptr;
}

} // namespace

void addDeformConvKernels(KernelTable &table) {
  table.push_back({"deform_conv", guarded<deformConvKernel>});
}

} // namespace azr::cpu

// Tests of the CPU kernels (runtime/src/cpu) against naive reference loops
// written here, on awkward shapes: sizes 1, primes, sizes that are not
// multiples of any block size, broadcasting.
//
// Tolerances: data movement, integer arithmetic, comparisons and casts are
// exact. Float results are compared against references computed in double;
// each test states its bound next to the comparison.

#include "kernel_test_util.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <numeric>

using namespace azr::cpu;
using namespace azr_test;

namespace {

Tensor absent() { return Tensor(); }

//===----------------------------------------------------------------------===//
// Registry, dtypes and the thread pool
//===----------------------------------------------------------------------===//

TEST(CpuRegistry, EveryOpHasAKernel) {
  const char *ops[] = {
      "matmul", "gemm", "conv", "max_pool", "avg_pool", "add", "sub", "mul",
      "div", "pow", "max", "min", "equal", "less", "less_equal", "greater",
      "greater_equal", "and", "or", "neg", "abs", "not", "exp", "log", "sqrt",
      "reciprocal", "erf", "tanh", "sigmoid", "relu", "silu", "floor", "ceil",
      "gelu", "clip", "where", "cast", "reduce_sum", "reduce_mean",
      "reduce_max", "reduce_min", "reduce_prod", "softmax", "layer_norm",
      "rms_norm", "shape_of", "reshape", "expand", "transpose", "concat",
      "slice", "gather", "split", "squeeze", "unsqueeze", "range",
      // elementwise_math.cc, reduce_math.cc, index_ops.cc
      "acos", "asin", "atan", "cos", "sin", "tan", "cosh", "sinh", "acosh",
      "asinh", "atanh", "softplus", "softsign", "hard_swish", "round",
      "leaky_relu", "elu", "selu", "hard_sigmoid", "thresholded_relu", "celu",
      "sign", "isnan", "isinf", "prelu", "mod", "xor", "reduce_l1", "reduce_l2",
      "reduce_log_sum", "reduce_log_sum_exp", "reduce_sum_square",
      "log_softmax", "hardmax", "argmax", "argmin", "trilu", "gather_elements",
      "cumsum", "pad", "lrn", "conv_transpose", "bit_shift", "bitwise_and",
      "bitwise_or", "bitwise_xor", "bitwise_not", "cumprod", "bitcast",
      // scatter_gather.cc, grid_sample.cc, integer_ops.cc
      "gather_nd", "scatter_nd", "scatter_elements", "grid_sample",
      "matmul_integer", "conv_integer", "dequantize", "det", "resize",
      "roi_align", "max_pool_indices", "top_k",
      // rotary.cc
      "rotary_embedding",
      // matmul_nbits.cc, matmul_nbits_packed.cc, matmul_half.cc, gemm.cc
      "matmul_nbits", "matmul_nbits_packed", "matmul_half", "matmul_packed",
      // attention.cc
      "attention", "paged_attention", "linear_attention", "tfidf_vectorizer",
      "deform_conv", "tree_ensemble",
      // selection.cc, non_max_suppression.cc
      "nonzero", "compress", "unique", "non_max_suppression"};
  std::vector<std::string> names = kernelNames();
  for (const char *op : ops) {
    EXPECT_NE(findKernel(op), nullptr) << op;
    EXPECT_NE(std::find(names.begin(), names.end(), op), names.end()) << op;
  }
  EXPECT_EQ(names.size(), std::size(ops));
  EXPECT_EQ(findKernel("constant"), nullptr);
  EXPECT_EQ(findKernel("nope"), nullptr);
  EXPECT_EQ(dtypeSize(DType::bf16), 2u);
  EXPECT_EQ(dtypeSize(DType::i1), 1u);
  EXPECT_EQ(dtypeSize(DType::u64), 8u);
  EXPECT_STREQ(dtypeName(DType::i64), "i64");
}

TEST(CpuThreadPool, CoversRangeInContiguousChunks) {
  for (int threads : {1, 2, 4}) {
    auto pool = makeThreadPool(threads);
    EXPECT_EQ(pool->numThreads(), threads);
    for (int64_t n : {0, 1, 7, 1000}) {
      std::vector<int> hits(static_cast<size_t>(n), 0);
      std::vector<std::pair<int64_t, int64_t>> chunks;
      std::mutex m;
      pool->parallelFor(n, 3, [&](int64_t b, int64_t e) {
        std::lock_guard<std::mutex> lock(m);
        chunks.push_back({b, e});
        for (int64_t i = b; i < e; ++i)
          ++hits[size_t(i)];
      });
      for (int h : hits)
        EXPECT_EQ(h, 1);
      for (auto [b, e] : chunks)
        EXPECT_TRUE(e - b >= 3 || (b == 0 && e == n)) << b << ".." << e;
    }
    // Nested calls run inline rather than deadlocking.
    std::atomic<int64_t> total{0};
    pool->parallelFor(8, 1, [&](int64_t b, int64_t e) {
      pool->parallelFor(
          10, 1, [&](int64_t b2, int64_t e2) { total += (e - b) * (e2 - b2); });
    });
    EXPECT_EQ(total.load(), 80);
  }
}

//===----------------------------------------------------------------------===//
// matmul and gemm
//===----------------------------------------------------------------------===//

// Reference batched matmul in double; also returns sum |a*b| per element,
// the scale of fp32 rounding error in the kernel's sum.
void referenceMatmul(const std::vector<float> &a, const Dims &aDims,
                     const std::vector<float> &b, const Dims &bDims,
                     const Dims &outDims, std::vector<double> &out,
                     std::vector<double> &magnitude) {
  Dims A = aDims, B = bDims, O = outDims;
  if (A.size() == 1)
    A.insert(A.begin(), 1);
  if (B.size() == 1)
    B.push_back(1);
  const int64_t M = A[A.size() - 2], K = A.back(), N = B.back();
  Dims batch(O.begin(),
             O.begin() + (O.size() - (aDims.size() > 1) - (bDims.size() > 1)));
  Dims aBatch(A.begin(), A.end() - 2), bBatch(B.begin(), B.end() - 2);
  const int64_t batches = numel(batch);
  out.assign(size_t(batches * M * N), 0.0);
  magnitude.assign(out.size(), 0.0);
  for (int64_t t = 0; t < batches; ++t) {
    Dims c = unflatten(t, batch);
    const int64_t ao = broadcastOffset(c, aBatch) * M * K;
    const int64_t bo = broadcastOffset(c, bBatch) * K * N;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0, m = 0;
        for (int64_t k = 0; k < K; ++k) {
          const double p = double(a[size_t(ao + i * K + k)]) *
                           double(b[size_t(bo + k * N + j)]);
          s += p;
          m += std::fabs(p);
        }
        out[size_t((t * M + i) * N + j)] = s;
        magnitude[size_t((t * M + i) * N + j)] = m;
      }
  }
}

void checkMatmul(const Dims &aDims, const Dims &bDims, const Dims &outDims) {
  SCOPED_TRACE(::testing::Message()
               << "lhs rank " << aDims.size() << " rhs " << bDims.size()
               << " out " << numel(outDims));
  auto a = randomFloats(numel(aDims), 1), b = randomFloats(numel(bDims), 2);
  std::vector<float> out(static_cast<size_t>(numel(outDims)), NAN);
  ASSERT_OK(run("matmul", {f32(a, aDims), f32(b, bDims)}, {f32(out, outDims)}));
  std::vector<double> ref, mag;
  referenceMatmul(a, aDims, b, bDims, outDims, ref, mag);
  ASSERT_EQ(ref.size(), out.size());
  // An fp32 sum of K products has error <= ~K * 2^-24 * sum|a*b|; the
  // kernel's sequential order stays far below 1e-5 relative to sum|a*b| for
  // K <= 255 (K * 6e-8 = 1.5e-5 is the worst case, typical is sqrt(K)).
  for (size_t i = 0; i < out.size(); ++i)
    ASSERT_NEAR(out[i], ref[i], 1e-5 * mag[i] + 1e-30) << "element " << i;
}

TEST(CpuMatMul, LargeOddShape) {
  checkMatmul({67, 255}, {255, 129}, {67, 129});
}

TEST(CpuMatMul, BatchBroadcastAndPromotion) {
  checkMatmul({2, 1, 5, 7}, {3, 7, 13}, {2, 3, 5, 13});
  checkMatmul({1, 1}, {1, 1}, {1, 1});
  checkMatmul({7}, {2, 7, 13}, {2, 13}); // 1-D lhs: a row, dim dropped
  checkMatmul({3, 5, 7}, {7}, {3, 5});   // 1-D rhs: a column, dim dropped
  checkMatmul({13}, {13}, {});           // dot product: a scalar
  checkMatmul({4, 300}, {300, 520}, {4, 520});
}

TEST(CpuMatMul, EpilogueBiasResidualActivation) {
  const Dims aDims = {2, 5, 7}, bDims = {7, 13}, outDims = {2, 5, 13};
  auto a = randomFloats(70, 3), b = randomFloats(91, 4);
  auto bias = randomFloats(13, 5), residual = randomFloats(5, 6);
  std::vector<double> ref, mag;
  referenceMatmul(a, aDims, b, bDims, outDims, ref, mag);
  struct Case {
    const char *act;
    double (*fn)(double);
  } cases[] = {
      {"none", [](double x) { return x; }},
      {"relu", [](double x) { return std::max(x, 0.0); }},
      {"gelu",
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {"gelu_tanh",
       [](double x) {
         return 0.5 * x *
                (1 +
                 std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
       }},
      {"silu", [](double x) { return x / (1 + std::exp(-x)); }},
      {"sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }},
      {"tanh", [](double x) { return std::tanh(x); }},
      {"clip", [](double x) { return std::min(std::max(x, -0.5), 0.25); }},
  };
  for (const Case &c : cases) {
    MapAttrs attrs;
    attrs.strings["activation"] = c.act;
    attrs.floats["clip_min"] = -0.5;
    attrs.floats["clip_max"] = 0.25;
    std::vector<float> out(130);
    // Residual [5, 1] broadcasts to [2, 5, 13].
    ASSERT_OK(run(
        "matmul",
        {f32(a, aDims), f32(b, bDims), f32(bias, {13}), f32(residual, {5, 1})},
        {f32(out, outDims)}, attrs));
    for (int64_t i = 0; i < 130; ++i) {
      const Dims co = unflatten(i, outDims);
      const double x =
          ref[size_t(i)] + bias[size_t(co[2])] + residual[size_t(co[1])];
      // Activations have slope <= 1.13 (gelu); 1e-5 covers the GEMM error
      // plus float libm error on |x| < 4.
      EXPECT_NEAR(out[size_t(i)], c.fn(x), 1e-5) << c.act << " element " << i;
    }
  }
  // Bias alone, no residual (the optional operand absent).
  std::vector<float> out(130);
  ASSERT_OK(run("matmul",
                {f32(a, aDims), f32(b, bDims), f32(bias, {13}), absent()},
                {f32(out, outDims)}));
  EXPECT_NEAR(out[17], ref[17] + bias[4], 1e-5);
}

// matmul_packed reads its weight in 32-column panels packed at build; it
// must give matmul's result bit for bit (the same tiles and k order on the
// AVX-512 path; the other paths copy panels into their own), epilogue
// included, for decode-like (1 and 3 rows) and prefill-like shapes.
TEST(CpuMatMul, PackedWeightsEqualMatmul) {
  for (Dims dims : {Dims{1, 64, 1000}, Dims{3, 255, 33}, Dims{67, 300, 520},
                    Dims{130, 7, 32}}) {
    const int64_t M = dims[0], K = dims[1], N = dims[2], P = 32;
    auto a = randomFloats(size_t(M * K), 8), b = randomFloats(size_t(K * N), 9);
    auto bias = randomFloats(size_t(N), 10);
    const int64_t panels = (N + P - 1) / P;
    std::vector<float> packed(size_t(panels * K * P), 0.0f);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j)
        packed[size_t((j / P) * K * P + k * P + j % P)] = b[size_t(k * N + j)];
    MapAttrs attrs;
    attrs.strings["activation"] = "gelu";
    std::vector<float> want(size_t(M * N)), got(size_t(M * N));
    ASSERT_OK(run("matmul",
                  {f32(a, {M, K}), f32(b, {K, N}), f32(bias, {N}), absent()},
                  {f32(want, {M, N})}, attrs));
    attrs.ints["N"] = N;
    ASSERT_OK(run(
        "matmul_packed",
        {f32(a, {M, K}), f32(packed, {panels, K, P}), f32(bias, {N}), absent()},
        {f32(got, {M, N})}, attrs));
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], want[i])
          << "M=" << M << " K=" << K << " N=" << N << " element " << i;
  }
  // A weight that does not fit K and N is refused, not read out of bounds.
  MapAttrs attrs;
  attrs.ints["N"] = 40;
  std::vector<float> x(8), w(32 * 4), y(80);
  EXPECT_TRUE(
      contains(run("matmul_packed", {f32(x, {2, 4}), f32(w, {1, 4, 32})},
                   {f32(y, {2, 40})}, attrs),
               "do not fit K = 4, N = 40"));
}

TEST(CpuMatMul, ThreadCountDoesNotChangeResults) {
  auto one = makeThreadPool(1), four = makeThreadPool(4);
  // 74 rows: with more threads a 72-row panel would leave 2 rows alone.
  for (Dims dims : {Dims{67, 255, 129}, Dims{130, 300, 520}, Dims{1, 64, 1000},
                    Dims{74, 300, 520}}) {
    const int64_t M = dims[0], K = dims[1], N = dims[2];
    auto a = randomFloats(M * K, 7), b = randomFloats(K * N, 8);
    auto bias = randomFloats(N, 9);
    std::vector<float> serial(static_cast<size_t>(M * N)),
        parallel(size_t(M * N));
    MapAttrs attrs;
    attrs.strings["activation"] = "gelu";
    ASSERT_OK(run("matmul", {f32(a, {M, K}), f32(b, {K, N}), f32(bias, {N})},
                  {f32(serial, {M, N})}, attrs, one.get()));
    ASSERT_OK(run("matmul", {f32(a, {M, K}), f32(b, {K, N}), f32(bias, {N})},
                  {f32(parallel, {M, N})}, attrs, four.get()));
    // Bitwise: partitioning over rows/columns must not change sum order.
    EXPECT_EQ(std::memcmp(serial.data(), parallel.data(),
                          serial.size() * sizeof(float)),
              0);
  }
}

TEST(CpuMatMul, DoublePrecisionWithBatchBroadcast) {
  // [2, 1, 3, 5] @ [4, 5, 6] -> [2, 4, 3, 6], against a double sum over
  // the same values: both add K = 5 double products, so they differ by a
  // few ulps of sum|a*b| at most (1e-15 relative).
  const Dims aDims = {2, 1, 3, 5}, bDims = {4, 5, 6}, outDims = {2, 4, 3, 6};
  auto af = randomFloats(numel(aDims), 21), bf = randomFloats(numel(bDims), 22);
  std::vector<double> a(af.begin(), af.end()), b(bf.begin(), bf.end());
  // Low bits a float cannot hold: the product must not pass through f32.
  for (double &x : a)
    x += 1e-12;
  std::vector<double> out(size_t(numel(outDims)), NAN);
  ASSERT_OK(run("matmul", {f64(a, aDims), f64(b, bDims)}, {f64(out, outDims)}));
  for (int64_t t = 0; t < 8; ++t)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 6; ++j) {
        const int64_t lhsBatch = t / 4;
        double want = 0, magnitude = 0;
        for (int64_t k = 0; k < 5; ++k) {
          const double p = a[size_t((lhsBatch * 3 + i) * 5 + k)] *
                           b[size_t(((t % 4) * 5 + k) * 6 + j)];
          want += p;
          magnitude += std::fabs(p);
        }
        ASSERT_NEAR(out[size_t((t * 3 + i) * 6 + j)], want,
                    1e-15 * magnitude + 1e-300)
            << "batch " << t << " row " << i << " column " << j;
      }
  // An f64 product takes no epilogue: the compiler fuses into f32 only.
  MapAttrs relu;
  relu.strings["activation"] = "relu";
  EXPECT_NE(
      run("matmul", {f64(a, aDims), f64(b, bDims)}, {f64(out, outDims)}, relu),
      "");
}

TEST(CpuMatMul, Errors) {
  std::vector<float> a(6), b(6), out(4);
  EXPECT_NE(run("matmul", {f32(a, {2, 3}), f32(b, {2, 3})}, {f32(out, {2, 2})})
                .find("INVALID_ARGUMENT"),
            std::string::npos);
  std::vector<int32_t> ai(6), bi(6), oi(4);
  const std::string r = run(
      "matmul", {view(ai, DType::i32, {2, 3}), view(bi, DType::i32, {3, 2})},
      {view(oi, DType::i32, {2, 2})});
  EXPECT_NE(r.find("UNIMPLEMENTED"), std::string::npos) << r;
  EXPECT_NE(r.find("i32"), std::string::npos) << r;
  MapAttrs attrs;
  attrs.strings["activation"] = "swish";
  std::vector<float> b2(6);
  EXPECT_NE(run("matmul", {f32(a, {2, 3}), f32(b2, {3, 2})}, {f32(out, {2, 2})},
                attrs),
            "");
}

TEST(CpuGemm, TransposesAlphaBetaAndBroadcastC) {
  const int64_t M = 13, K = 29, N = 7;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (Dims cDims : {Dims{N}, Dims{M, 1}, Dims{}, Dims{M, N}}) {
        auto a = randomFloats(M * K, 10 + ta), b = randomFloats(K * N, 12 + tb);
        auto c = randomFloats(numel(cDims), 14);
        MapAttrs attrs;
        attrs.ints["trans_a"] = ta;
        attrs.ints["trans_b"] = tb;
        attrs.floats["alpha"] = 0.5;
        attrs.floats["beta"] = -2.0;
        attrs.strings["activation"] = "relu";
        std::vector<float> out(static_cast<size_t>(M * N));
        ASSERT_OK(run("gemm",
                      {f32(a, ta ? Dims{K, M} : Dims{M, K}),
                       f32(b, tb ? Dims{N, K} : Dims{K, N}), f32(c, cDims)},
                      {f32(out, {M, N})}, attrs));
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            double s = 0, mag = 0;
            for (int64_t k = 0; k < K; ++k) {
              const double p = double(a[size_t(ta ? k * M + i : i * K + k)]) *
                               double(b[size_t(tb ? j * K + k : k * N + j)]);
              s += p;
              mag += std::fabs(p);
            }
            const double cv = c[size_t(broadcastOffset({i, j}, cDims))];
            const double expected = std::max(0.5 * s - 2.0 * cv, 0.0);
            // K = 29: fp32 error well under 1e-5 * sum|a*b|, plus c's term.
            ASSERT_NEAR(out[size_t(i * N + j)], expected, 1e-5 * mag + 1e-6)
                << ta << tb << " " << i << "," << j;
          }
      }
}

//===----------------------------------------------------------------------===//
// conv
//===----------------------------------------------------------------------===//

struct ConvCase {
  Dims input, weight; // N x C x spatial..., M x C/g x kernel...
  Dims strides, pads, dilations;
  int64_t group;
};

// Output spatial dims by the ONNX formula.
Dims convOutDims(const ConvCase &c) {
  const size_t n = c.input.size() - 2;
  Dims out = {c.input[0], c.weight[0]};
  for (size_t d = 0; d < n; ++d) {
    const int64_t span = c.dilations[d] * (c.weight[d + 2] - 1) + 1;
    out.push_back(
        (c.input[d + 2] + c.pads[d] + c.pads[n + d] - span) / c.strides[d] + 1);
  }
  return out;
}

// Naive N-d grouped convolution in double.
std::vector<double> referenceConv(const ConvCase &c,
                                  const std::vector<float> &x,
                                  const std::vector<float> &w,
                                  const Dims &outDims) {
  const size_t n = c.input.size() - 2;
  const int64_t Cg = c.weight[1], Mg = c.weight[0] / c.group;
  Dims kernel(c.weight.begin() + 2, c.weight.end());
  std::vector<double> out(static_cast<size_t>(numel(outDims)));
  for (int64_t o = 0; o < numel(outDims); ++o) {
    Dims co = unflatten(o, outDims);
    const int64_t b = co[0], m = co[1], g = m / Mg;
    double s = 0;
    for (int64_t ci = 0; ci < Cg; ++ci)
      for (int64_t t = 0; t < numel(kernel); ++t) {
        Dims tap = unflatten(t, kernel);
        int64_t xOffset = b * c.input[1] + g * Cg + ci;
        bool inside = true;
        for (size_t d = 0; d < n; ++d) {
          const int64_t p =
              co[d + 2] * c.strides[d] - c.pads[d] + tap[d] * c.dilations[d];
          inside = inside && p >= 0 && p < c.input[d + 2];
          xOffset = xOffset * c.input[d + 2] + p;
        }
        if (inside)
          s += double(x[size_t(xOffset)]) *
               double(w[size_t((m * Cg + ci) * numel(kernel) + t)]);
      }
    out[size_t(o)] = s;
  }
  return out;
}

TEST(CpuConv, MatchesReferenceOnAwkwardGeometries) {
  const ConvCase cases[] = {
      // groups, dilation, stride, asymmetric pads
      {{2, 4, 11, 13}, {6, 2, 3, 2}, {2, 1}, {1, 0, 2, 1}, {2, 1}, 2},
      // depthwise 3x3, pad 1
      {{1, 5, 7, 9}, {5, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 5},
      // depthwise multiplier 2, stride 2
      {{1, 3, 8, 8}, {6, 1, 3, 3}, {2, 2}, {0, 1, 0, 1}, {1, 1}, 3},
      // pointwise 1x1 (reads the input directly)
      {{2, 7, 5, 3}, {13, 7, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
      // 1-D and 3-D
      {{3, 2, 17}, {4, 2, 5}, {3}, {2, 1}, {2}, 1},
      {{1, 2, 5, 6, 7},
       {3, 2, 2, 3, 2},
       {1, 2, 1},
       {1, 0, 1, 0, 1, 1},
       {2, 1, 1},
       1},
      // kernel larger than the input with padding
      {{1, 1, 2, 2}, {1, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
  };
  for (const ConvCase &c : cases) {
    const Dims outDims = convOutDims(c);
    auto x = randomFloats(numel(c.input), 20),
         w = randomFloats(numel(c.weight), 21);
    MapAttrs attrs;
    attrs.intLists["strides"] = c.strides;
    attrs.intLists["pads"] = c.pads;
    attrs.intLists["dilations"] = c.dilations;
    attrs.ints["group"] = c.group;
    std::vector<float> out(static_cast<size_t>(numel(outDims)));
    ASSERT_OK(run("conv", {f32(x, c.input), f32(w, c.weight)},
                  {f32(out, outDims)}, attrs));
    const auto ref = referenceConv(c, x, w, outDims);
    // At most 3*3*7 = 63 products of values in [-1, 1]: 1e-5 absolute.
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], ref[i], 1e-5) << "element " << i;
  }
}

TEST(CpuConv, BiasResidualRelu) {
  const ConvCase c = {{2, 3, 6, 5}, {4, 3, 3, 3}, {1, 1},
                      {1, 1, 1, 1}, {1, 1},       1};
  const Dims outDims = convOutDims(c);
  auto x = randomFloats(numel(c.input), 22),
       w = randomFloats(numel(c.weight), 23);
  auto bias = randomFloats(4, 24), residual = randomFloats(numel(outDims), 25);
  MapAttrs attrs;
  attrs.intLists["strides"] = c.strides;
  attrs.intLists["pads"] = c.pads;
  attrs.intLists["dilations"] = c.dilations;
  attrs.strings["activation"] = "relu";
  std::vector<float> out(static_cast<size_t>(numel(outDims)));
  ASSERT_OK(run("conv",
                {f32(x, c.input), f32(w, c.weight), f32(bias, {4}),
                 f32(residual, outDims)},
                {f32(out, outDims)}, attrs));
  const auto ref = referenceConv(c, x, w, outDims);
  for (int64_t i = 0; i < numel(outDims); ++i) {
    const int64_t m = unflatten(i, outDims)[1];
    const double expected =
        std::max(0.0, ref[size_t(i)] + bias[size_t(m)] + residual[size_t(i)]);
    ASSERT_NEAR(out[size_t(i)], expected, 1e-5) << i;
  }
}

TEST(CpuConv, RejectsMismatchedShapes) {
  std::vector<float> x(50), w(18), out(100);
  MapAttrs attrs;
  attrs.ints["group"] = 2; // C = 2 but weight says C/group = 2
  EXPECT_NE(run("conv", {f32(x, {1, 2, 5, 5}), f32(w, {2, 2, 3, 3})},
                {f32(out, {1, 2, 3, 3})}, attrs),
            "");
  MapAttrs plain;
  EXPECT_NE(run("conv", {f32(x, {1, 2, 5, 5}), f32(w, {1, 2, 3, 3})},
                {f32(out, {1, 1, 4, 4})}, plain),
            "");
}

//===----------------------------------------------------------------------===//
// conv_transpose
//===----------------------------------------------------------------------===//

struct ConvTransposeCase {
  Dims input, weight; // N x C x spatial..., C x M/g x kernel...
  Dims strides, pads, dilations, outputPadding;
  int64_t group;
};

// Output dims by the ONNX formula.
Dims convTransposeOutDims(const ConvTransposeCase &c) {
  const size_t n = c.input.size() - 2;
  Dims out = {c.input[0], c.weight[1] * c.group};
  for (size_t d = 0; d < n; ++d)
    out.push_back(c.strides[d] * (c.input[d + 2] - 1) + c.outputPadding[d] +
                  c.dilations[d] * (c.weight[d + 2] - 1) + 1 - c.pads[d] -
                  c.pads[n + d]);
  return out;
}

// Naive transposed convolution in double, gathering per output element:
// input position i contributes through tap t when o = i * s + t * d - pad.
std::vector<double> referenceConvTranspose(const ConvTransposeCase &c,
                                           const std::vector<float> &x,
                                           const std::vector<float> &w,
                                           const std::vector<float> &bias,
                                           const Dims &outDims) {
  const size_t n = c.input.size() - 2;
  const int64_t C = c.input[1], Mg = c.weight[1], Cg = C / c.group;
  Dims kernel(c.weight.begin() + 2, c.weight.end());
  std::vector<double> out(static_cast<size_t>(numel(outDims)));
  for (int64_t o = 0; o < numel(outDims); ++o) {
    Dims co = unflatten(o, outDims);
    const int64_t b = co[0], m = co[1], g = m / Mg;
    double s = bias.empty() ? 0.0 : bias[size_t(m)];
    for (int64_t ci = g * Cg; ci < (g + 1) * Cg; ++ci)
      for (int64_t t = 0; t < numel(kernel); ++t) {
        Dims tap = unflatten(t, kernel);
        int64_t xOffset = b * C + ci;
        bool inside = true;
        for (size_t d = 0; d < n; ++d) {
          const int64_t shifted =
              co[d + 2] + c.pads[d] - tap[d] * c.dilations[d];
          const int64_t i = shifted / c.strides[d];
          inside = inside && shifted >= 0 && shifted % c.strides[d] == 0 &&
                   i < c.input[d + 2];
          xOffset = xOffset * c.input[d + 2] + i;
        }
        if (inside)
          s += double(x[size_t(xOffset)]) *
               double(w[size_t((ci * Mg + m % Mg) * numel(kernel) + t)]);
      }
    out[size_t(o)] = s;
  }
  return out;
}

TEST(CpuConvTranspose, MatchesReference) {
  const ConvTransposeCase cases[] = {
      // ONNX's basic example geometry
      {{1, 1, 3, 3}, {1, 2, 3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, {0, 0}, 1},
      // strides, asymmetric pads, output padding
      {{2, 3, 4, 5}, {3, 2, 3, 2}, {3, 2}, {1, 0, 2, 1}, {1, 1}, {1, 1}, 1},
      // groups and dilation
      {{1, 4, 5, 3}, {4, 3, 2, 3}, {2, 1}, {0, 1, 1, 0}, {2, 2}, {0, 0}, 2},
      // negative pads: an output larger than the natural one
      {{1, 1, 3, 3}, {1, 2, 3, 3}, {3, 2}, {0, 0, -1, -1}, {1, 1}, {0, 0}, 1},
      // 1-D and 3-D
      {{2, 2, 7}, {2, 3, 4}, {2}, {1, 2}, {1}, {1}, 1},
      {{1, 1, 3, 4, 2},
       {1, 2, 3, 2, 2},
       {1, 2, 2},
       {1, 0, 0, 0, 1, 0},
       {1, 1, 2},
       {0, 1, 0},
       1},
  };
  for (const ConvTransposeCase &c : cases) {
    const Dims outDims = convTransposeOutDims(c);
    auto x = randomFloats(numel(c.input), 30),
         w = randomFloats(numel(c.weight), 31),
         bias = randomFloats(outDims[1], 32);
    MapAttrs attrs;
    attrs.intLists["strides"] = c.strides;
    attrs.intLists["pads"] = c.pads;
    attrs.intLists["dilations"] = c.dilations;
    attrs.intLists["output_padding"] = c.outputPadding;
    attrs.ints["group"] = c.group;
    std::vector<float> out(static_cast<size_t>(numel(outDims)));
    ASSERT_OK(run("conv_transpose", {f32(x, c.input), f32(w, c.weight)},
                  {f32(out, outDims)}, attrs));
    const auto ref = referenceConvTranspose(c, x, w, {}, outDims);
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], ref[i], 1e-5) << "element " << i;
    ASSERT_OK(run("conv_transpose",
                  {f32(x, c.input), f32(w, c.weight), f32(bias, {outDims[1]})},
                  {f32(out, outDims)}, attrs));
    const auto biased = referenceConvTranspose(c, x, w, bias, outDims);
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], biased[i], 1e-5) << "element " << i;
  }
}

TEST(CpuConvTranspose, RejectsMismatchedShapes) {
  std::vector<float> x(9), w(18), out(50);
  MapAttrs attrs;
  attrs.intLists["strides"] = {1, 1};
  attrs.intLists["pads"] = {0, 0, 0, 0};
  attrs.intLists["dilations"] = {1, 1};
  attrs.intLists["output_padding"] = {0, 0};
  // The natural output is 5 x 5, not 4 x 4.
  EXPECT_NE(run("conv_transpose", {f32(x, {1, 1, 3, 3}), f32(w, {1, 2, 3, 3})},
                {f32(out, {1, 2, 4, 4})}, attrs),
            "");
  // Weight's first dim must be the input's channels.
  EXPECT_NE(run("conv_transpose", {f32(x, {1, 1, 3, 3}), f32(w, {2, 1, 3, 3})},
                {f32(out, {1, 1, 5, 5})}, attrs),
            "");
  MapAttrs missing;
  EXPECT_NE(run("conv_transpose", {f32(x, {1, 1, 3, 3}), f32(w, {1, 2, 3, 3})},
                {f32(out, {1, 2, 5, 5})}, missing),
            "");
}

//===----------------------------------------------------------------------===//
// Pools
//===----------------------------------------------------------------------===//

std::vector<float> iota(int64_t n, float start = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

TEST(CpuPool, OnnxCeilModeExamples) {
  // ONNX docs, maxpool_2d_ceil / averagepool_2d_ceil: 4x4 input 1..16,
  // kernel 3x3, strides 2, ceil_mode -> 2x2.
  auto x = iota(16);
  MapAttrs attrs;
  attrs.intLists["kernel_shape"] = {3, 3};
  attrs.intLists["strides"] = {2, 2};
  attrs.ints["ceil_mode"] = 1;
  std::vector<float> out(4);
  ASSERT_OK(
      run("max_pool", {f32(x, {1, 1, 4, 4})}, {f32(out, {1, 1, 2, 2})}, attrs));
  EXPECT_EQ(out, (std::vector<float>{11, 12, 15, 16}));
  ASSERT_OK(
      run("avg_pool", {f32(x, {1, 1, 4, 4})}, {f32(out, {1, 1, 2, 2})}, attrs));
  EXPECT_EQ(out, (std::vector<float>{6, 7.5, 12, 13.5}));
}

TEST(CpuPool, AvgCountIncludePadBothWays) {
  // 4x4 input 1..16, kernel 3x3, strides 2, pads 1, ceil_mode -> 3x3. The
  // last window (rows/cols 3..5) is clipped at the padded end (index 4).
  auto x = iota(16);
  MapAttrs attrs;
  attrs.intLists["kernel_shape"] = {3, 3};
  attrs.intLists["strides"] = {2, 2};
  attrs.intLists["pads"] = {1, 1, 1, 1};
  attrs.ints["ceil_mode"] = 1;
  std::vector<float> out(9);
  ASSERT_OK(
      run("avg_pool", {f32(x, {1, 1, 4, 4})}, {f32(out, {1, 1, 3, 3})}, attrs));
  // Exclude pad: (1+2+5+6)/4, ..., the corner window holds only 16.
  EXPECT_FLOAT_EQ(out[0], 14.0f / 4);
  EXPECT_FLOAT_EQ(out[1], (2 + 3 + 4 + 6 + 7 + 8) / 6.0f);
  EXPECT_FLOAT_EQ(out[8], 16.0f);
  attrs.ints["count_include_pad"] = 1;
  ASSERT_OK(
      run("avg_pool", {f32(x, {1, 1, 4, 4})}, {f32(out, {1, 1, 3, 3})}, attrs));
  EXPECT_FLOAT_EQ(out[0], 14.0f / 9);
  EXPECT_FLOAT_EQ(out[1], (2 + 3 + 4 + 6 + 7 + 8) / 9.0f);
  EXPECT_FLOAT_EQ(out[2], (4 + 8) / 6.0f); // clipped window: 3 x 2 taps
  EXPECT_FLOAT_EQ(out[8], 16.0f / 4);
}

TEST(CpuPool, AvgDilations) {
  // 4x4 input 1..16, kernel 2x2, dilations 2: each window reads x[i][j],
  // x[i][j+2], x[i+2][j], x[i+2][j+2]; exact in f32 (small integer sums
  // divided by 4).
  auto x = iota(16);
  MapAttrs attrs;
  attrs.intLists["kernel_shape"] = {2, 2};
  attrs.intLists["dilations"] = {2, 2};
  std::vector<float> out(4);
  ASSERT_OK(
      run("avg_pool", {f32(x, {1, 1, 4, 4})}, {f32(out, {1, 1, 2, 2})}, attrs));
  EXPECT_EQ(out, (std::vector<float>{
                     (1 + 3 + 9 + 11) / 4.0f, (2 + 4 + 10 + 12) / 4.0f,
                     (5 + 7 + 13 + 15) / 4.0f, (6 + 8 + 14 + 16) / 4.0f}));
  // Pads 1 at the front, excluded from the divisor: the first window's taps
  // (-1,-1), (-1,1), (1,-1), (1,1) hold only x[1][1] = 6.
  attrs.intLists["pads"] = {1, 1, 0, 0};
  std::vector<float> padded(9);
  ASSERT_OK(run("avg_pool", {f32(x, {1, 1, 4, 4})}, {f32(padded, {1, 1, 3, 3})},
                attrs));
  EXPECT_EQ(padded[0], 6.0f);
  attrs.ints["count_include_pad"] = 1;
  ASSERT_OK(run("avg_pool", {f32(x, {1, 1, 4, 4})}, {f32(padded, {1, 1, 3, 3})},
                attrs));
  EXPECT_EQ(padded[0], 6.0f / 4);
}

TEST(CpuPool, OnnxPadsCountIncludePadExample) {
  // ONNX averagepool_2d_pads_count_include_pad: 5x5 input 1..25, kernel 3,
  // pads 2 -> 7x7; the corner sees only x[0][0] = 1.
  auto x = iota(25);
  MapAttrs attrs;
  attrs.intLists["kernel_shape"] = {3, 3};
  attrs.intLists["pads"] = {2, 2, 2, 2};
  attrs.ints["count_include_pad"] = 1;
  std::vector<float> out(49);
  ASSERT_OK(
      run("avg_pool", {f32(x, {1, 1, 5, 5})}, {f32(out, {1, 1, 7, 7})}, attrs));
  EXPECT_FLOAT_EQ(out[0], 1.0f / 9);
  EXPECT_FLOAT_EQ(out[1], 3.0f / 9); // 1 + 2
  EXPECT_FLOAT_EQ(out[24], (7 + 8 + 9 + 12 + 13 + 14 + 17 + 18 + 19) / 9.0f);
  attrs.ints["count_include_pad"] = 0;
  ASSERT_OK(
      run("avg_pool", {f32(x, {1, 1, 5, 5})}, {f32(out, {1, 1, 7, 7})}, attrs));
  EXPECT_FLOAT_EQ(out[0], 1.0f);
  EXPECT_FLOAT_EQ(out[1], 1.5f);
}

TEST(CpuPool, MaxIndicesOnnxExamplesAndReference) {
  // ONNX's maxpool_with_argmax examples on x = 1..25 (5 x 5).
  auto x = iota(25);
  MapAttrs strided;
  strided.intLists["kernel_shape"] = {2, 2};
  strided.intLists["strides"] = {2, 2};
  strided.intLists["pads"] = {0, 0, 0, 0};
  strided.intLists["dilations"] = {1, 1};
  std::vector<int64_t> z(4);
  ASSERT_OK(run("max_pool_indices", {f32(x, {1, 1, 5, 5})},
                {view(z, DType::i64, {1, 1, 2, 2})}, strided));
  EXPECT_EQ(z, (std::vector<int64_t>{6, 8, 16, 18}));
  strided.ints["storage_order"] = 1; // column-major
  ASSERT_OK(run("max_pool_indices", {f32(x, {1, 1, 5, 5})},
                {view(z, DType::i64, {1, 1, 2, 2})}, strided));
  EXPECT_EQ(z, (std::vector<int64_t>{6, 16, 8, 18}));

  // Against a naive search on random data with pads and dilation, over
  // two batches and channels (the flat index counts them too).
  const Dims in = {2, 3, 7, 6};
  auto r = randomFloats(numel(in), 77);
  MapAttrs attrs;
  attrs.intLists["kernel_shape"] = {3, 2};
  attrs.intLists["strides"] = {2, 1};
  attrs.intLists["pads"] = {1, 0, 1, 1};
  attrs.intLists["dilations"] = {1, 2};
  const Dims outDims = {2, 3, 4, 5}; // (7+2-3)/2+1, (6+1-3)/1+1
  std::vector<int64_t> idx(size_t(numel(outDims)));
  ASSERT_OK(run("max_pool_indices", {f32(r, in)},
                {view(idx, DType::i64, outDims)}, attrs));
  for (int64_t o = 0; o < numel(outDims); ++o) {
    const Dims c = unflatten(o, outDims);
    int64_t best = -1;
    for (int64_t kh = 0; kh < 3; ++kh)
      for (int64_t kw = 0; kw < 2; ++kw) {
        const int64_t h = c[2] * 2 - 1 + kh, w = c[3] + 2 * kw;
        if (h < 0 || h >= 7 || w < 0 || w >= 6)
          continue;
        const int64_t at = flatten({c[0], c[1], h, w}, in);
        if (best < 0 || r[size_t(at)] > r[size_t(best)])
          best = at;
      }
    ASSERT_EQ(idx[size_t(o)], best) << o;
  }
}

TEST(CpuPool, MaxWithPadsDilationMatchesReference) {
  // Negative inputs: the padding (never a candidate) must not win with 0.
  const Dims in = {2, 3, 7, 11};
  auto x = randomFloats(numel(in), 30, -5.0f, -1.0f);
  const int64_t k[2] = {3, 2}, s[2] = {2, 3}, dl[2] = {2, 1};
  const int64_t pb[2] = {2, 1}, pe[2] = {1, 2};
  Dims out = {2, 3};
  for (int d = 0; d < 2; ++d) // ceil mode
    out.push_back(
        (in[d + 2] + pb[d] + pe[d] - dl[d] * (k[d] - 1) - 1 + s[d] - 1) / s[d] +
        1);
  MapAttrs attrs;
  attrs.intLists["kernel_shape"] = {k[0], k[1]};
  attrs.intLists["strides"] = {s[0], s[1]};
  attrs.intLists["dilations"] = {dl[0], dl[1]};
  attrs.intLists["pads"] = {pb[0], pb[1], pe[0], pe[1]};
  attrs.ints["ceil_mode"] = 1;
  std::vector<float> y(static_cast<size_t>(numel(out)));
  ASSERT_OK(run("max_pool", {f32(x, in)}, {f32(y, out)}, attrs));
  for (int64_t o = 0; o < numel(out); ++o) {
    Dims c = unflatten(o, out);
    float best = -INFINITY;
    for (int64_t i = 0; i < k[0]; ++i)
      for (int64_t j = 0; j < k[1]; ++j) {
        const int64_t r = c[2] * s[0] - pb[0] + i * dl[0];
        const int64_t q = c[3] * s[1] - pb[1] + j * dl[1];
        if (r >= 0 && r < in[2] && q >= 0 && q < in[3])
          best = std::max(
              best, x[size_t(((c[0] * 3 + c[1]) * in[2] + r) * in[3] + q)]);
      }
    ASSERT_EQ(y[size_t(o)], best) << o; // exact: max selects an input
  }
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

template <class T, class Ref>
void checkBinary(const char *op, DType type, const Dims &aDims,
                 const Dims &bDims, const Dims &outDims, Ref ref,
                 double tolerance) {
  SCOPED_TRACE(op);
  std::mt19937 rng(40);
  std::vector<T> a(static_cast<size_t>(numel(aDims))), b(size_t(numel(bDims)));
  for (T &v : a)
    v = T(int(rng() % 19) - 9) / T(std::is_integral_v<T> ? 1 : 4);
  const bool isPow = std::string(op) == "pow";
  for (T &v : b) {
    // Nonzero divisors; small whole exponents for pow (negative bases).
    v = isPow ? T(rng() % 4)
              : T(int(rng() % 9) + 1) / T(std::is_integral_v<T> ? 1 : 4);
    if (rng() % 2 && !isPow)
      v = -v;
  }
  std::vector<T> out(static_cast<size_t>(numel(outDims)));
  ASSERT_OK(run(op, {view(a, type, aDims), view(b, type, bDims)},
                {view(out, type, outDims)}));
  for (int64_t i = 0; i < numel(outDims); ++i) {
    Dims c = unflatten(i, outDims);
    const T x = a[size_t(broadcastOffset(c, aDims))];
    const T y = b[size_t(broadcastOffset(c, bDims))];
    const T expected = ref(x, y);
    if (tolerance == 0)
      ASSERT_EQ(out[size_t(i)], expected) << i;
    else
      ASSERT_NEAR(double(out[size_t(i)]), double(expected),
                  tolerance * std::max(1.0, std::fabs(double(expected))))
          << i;
  }
}

template <class T> void checkArithmetic(DType type) {
  const Dims shapes[][3] = {{{2, 1, 7}, {3, 1}, {2, 3, 7}},
                            {{13}, {}, {13}},
                            {{}, {1, 13}, {1, 13}},
                            {{5, 7}, {5, 7}, {5, 7}},
                            {{1, 70001}, {70001}, {1, 70001}}}; // segmented
  for (const auto &s : shapes) {
    // Float results of + - * are exact on these quarter-integers; div, pow
    // go through libm or rounding: 1e-6 relative (1e-15 for f64 would do).
    checkBinary<T>(
        "add", type, s[0], s[1], s[2], [](T x, T y) { return T(x + y); }, 0);
    checkBinary<T>(
        "sub", type, s[0], s[1], s[2], [](T x, T y) { return T(x - y); }, 0);
    checkBinary<T>(
        "mul", type, s[0], s[1], s[2], [](T x, T y) { return T(x * y); }, 0);
    checkBinary<T>(
        "div", type, s[0], s[1], s[2], [](T x, T y) { return T(x / y); },
        std::is_integral_v<T> ? 0 : 1e-6);
    checkBinary<T>(
        "max", type, s[0], s[1], s[2], [](T x, T y) { return std::max(x, y); },
        0);
    checkBinary<T>(
        "min", type, s[0], s[1], s[2], [](T x, T y) { return std::min(x, y); },
        0);
  }
  checkBinary<T>(
      "pow", type, {4, 3}, {3}, {4, 3},
      [](T x, T y) { return T(std::pow(double(x), double(y))); },
      std::is_integral_v<T> ? 0 : 1e-6);
}

TEST(CpuElementwise, ArithmeticAllTypes) {
  checkArithmetic<float>(DType::f32);
  checkArithmetic<double>(DType::f64);
  checkArithmetic<int32_t>(DType::i32);
  checkArithmetic<int64_t>(DType::i64);
}

TEST(CpuElementwise, IntegerDivisionTruncatesAndRejectsZero) {
  std::vector<int32_t> a = {-7, 7, -7, std::numeric_limits<int32_t>::min()};
  std::vector<int32_t> b = {2, -2, -2, -1}, out(4);
  ASSERT_OK(run("div", {view(a, DType::i32, {4}), view(b, DType::i32, {4})},
                {view(out, DType::i32, {4})}));
  // INT_MIN / -1 overflows; the kernel wraps instead of trapping.
  EXPECT_EQ(out, (std::vector<int32_t>{-3, -3, 3,
                                       std::numeric_limits<int32_t>::min()}));
  std::vector<int64_t> x = {1, 2, 3}, zero = {1, 0, 1}, y(3);
  const std::string r =
      run("div", {view(x, DType::i64, {3}), view(zero, DType::i64, {3})},
          {view(y, DType::i64, {3})});
  EXPECT_NE(r.find("INVALID_ARGUMENT"), std::string::npos) << r;
  EXPECT_NE(r.find("division by zero"), std::string::npos) << r;
  // Float division by zero is IEEE, not an error.
  std::vector<float> f = {1, -1}, fz = {0, 0}, fo(2);
  ASSERT_OK(run("div", {f32(f, {2}), f32(fz, {2})}, {f32(fo, {2})}));
  EXPECT_EQ(fo[0], INFINITY);
  EXPECT_EQ(fo[1], -INFINITY);
}

TEST(CpuElementwise, ComparisonsAndLogic) {
  std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {3, 2, 1};
  struct {
    const char *op;
    bool (*fn)(float, float);
  } ops[] = {{"equal", [](float x, float y) { return x == y; }},
             {"less", [](float x, float y) { return x < y; }},
             {"less_equal", [](float x, float y) { return x <= y; }},
             {"greater", [](float x, float y) { return x > y; }},
             {"greater_equal", [](float x, float y) { return x >= y; }}};
  for (auto &o : ops) {
    std::vector<uint8_t> out(6, 7);
    ASSERT_OK(run(o.op, {f32(a, {2, 3}), f32(b, {3})},
                  {view(out, DType::i1, {2, 3})}));
    for (int i = 0; i < 6; ++i)
      EXPECT_EQ(out[size_t(i)], o.fn(a[size_t(i)], b[size_t(i % 3)]) ? 1 : 0)
          << o.op << i;
  }
  std::vector<int64_t> ia = {5, -3}, ib = {-3};
  std::vector<uint8_t> lt(2);
  ASSERT_OK(run("less", {view(ia, DType::i64, {2}), view(ib, DType::i64, {1})},
                {view(lt, DType::i1, {2})}));
  EXPECT_EQ(lt, (std::vector<uint8_t>{0, 0}));
  std::vector<uint8_t> p = {0, 1, 0, 1}, q = {0, 0, 1, 1}, r(4);
  ASSERT_OK(run("and", {view(p, DType::i1, {4}), view(q, DType::i1, {4})},
                {view(r, DType::i1, {4})}));
  EXPECT_EQ(r, (std::vector<uint8_t>{0, 0, 0, 1}));
  ASSERT_OK(run("or", {view(p, DType::i1, {4}), view(q, DType::i1, {4})},
                {view(r, DType::i1, {4})}));
  EXPECT_EQ(r, (std::vector<uint8_t>{0, 1, 1, 1}));
  ASSERT_OK(run("not", {view(p, DType::i1, {4})}, {view(r, DType::i1, {4})}));
  EXPECT_EQ(r, (std::vector<uint8_t>{1, 0, 1, 0}));
  // Mismatched dtypes are rejected, not reinterpreted.
  EXPECT_NE(run("add", {view(ia, DType::i64, {2}), f32(a, {6})},
                {view(ia, DType::i64, {2})}),
            "");
  // Shapes that do not broadcast.
  std::vector<float> c(4), o(6);
  EXPECT_NE(run("add", {f32(a, {2, 3}), f32(c, {4})}, {f32(o, {2, 3})}), "");
}

TEST(CpuElementwise, UnaryFloat) {
  auto x = randomFloats(1001, 50, -4.0f, 4.0f);
  auto positive = randomFloats(1001, 51, 0.01f, 9.0f);
  struct {
    const char *op;
    double (*fn)(double);
    bool positiveOnly;
  } ops[] = {
      {"neg", [](double v) { return -v; }, false},
      {"abs", [](double v) { return std::fabs(v); }, false},
      {"relu", [](double v) { return std::max(v, 0.0); }, false},
      {"exp", [](double v) { return std::exp(v); }, false},
      {"log", [](double v) { return std::log(v); }, true},
      {"sqrt", [](double v) { return std::sqrt(v); }, true},
      {"reciprocal", [](double v) { return 1 / v; }, true},
      {"erf", [](double v) { return std::erf(v); }, false},
      {"tanh", [](double v) { return std::tanh(v); }, false},
      {"sigmoid", [](double v) { return 1 / (1 + std::exp(-v)); }, false},
      {"silu", [](double v) { return v / (1 + std::exp(-v)); }, false},
      {"floor", [](double v) { return std::floor(v); }, false},
      {"ceil", [](double v) { return std::ceil(v); }, false},
  };
  for (auto &o : ops) {
    auto &in = o.positiveOnly ? positive : x;
    std::vector<float> out(in.size());
    ASSERT_OK(run(o.op, {f32(in, {7, 11, 13})}, {f32(out, {7, 11, 13})}));
    for (size_t i = 0; i < in.size(); ++i) {
      const double e = o.fn(in[i]);
      // float libm: a few ulps; 4e-7 relative (~3 ulp) plus 1e-7 absolute.
      ASSERT_NEAR(out[i], e, 4e-7 * std::fabs(e) + 1e-7)
          << o.op << " " << in[i];
    }
    std::vector<double> d(in.begin(), in.end()), dout(in.size());
    ASSERT_OK(run(o.op, {view(d, DType::f64, {1001})},
                  {view(dout, DType::f64, {1001})}));
    EXPECT_NEAR(dout[5], o.fn(d[5]), 1e-14 * std::fabs(o.fn(d[5])) + 1e-15);
  }
  std::vector<int32_t> ints = {-5, 0, 7, std::numeric_limits<int32_t>::min()},
                       iout(4);
  ASSERT_OK(
      run("abs", {view(ints, DType::i32, {4})}, {view(iout, DType::i32, {4})}));
  EXPECT_EQ(iout, (std::vector<int32_t>{5, 0, 7,
                                        std::numeric_limits<int32_t>::min()}));
  ASSERT_OK(run("relu", {view(ints, DType::i32, {4})},
                {view(iout, DType::i32, {4})}));
  EXPECT_EQ(iout, (std::vector<int32_t>{0, 0, 7, 0}));
  // Float-only ops reject integers with UNIMPLEMENTED naming the dtype.
  const std::string r =
      run("exp", {view(ints, DType::i32, {4})}, {view(iout, DType::i32, {4})});
  EXPECT_NE(r.find("UNIMPLEMENTED"), std::string::npos) << r;
  EXPECT_NE(r.find("i32"), std::string::npos) << r;
}

TEST(CpuElementwise, GeluBothForms) {
  auto x = randomFloats(257, 52, -6.0f, 6.0f);
  std::vector<float> out(257);
  ASSERT_OK(run("gelu", {f32(x, {257})}, {f32(out, {257})}));
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    // 1e-6 absolute + 4e-7 relative: float erf/tanh error on |x| <= 6.
    ASSERT_NEAR(out[i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))),
                1e-6 + 4e-7 * std::fabs(v));
  }
  MapAttrs attrs;
  attrs.ints["tanh_approximation"] = 1; // a UnitAttr: presence is what counts
  ASSERT_OK(run("gelu", {f32(x, {257})}, {f32(out, {257})}, attrs));
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double t =
        0.5 * v *
        (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    ASSERT_NEAR(out[i], t, 1e-6 + 4e-7 * std::fabs(v));
  }
}

TEST(CpuElementwise, Clip) {
  std::vector<float> x = {-3, -0.5f, 0, 0.5f, 3, NAN}, out(6);
  MapAttrs both;
  both.floats["min"] = -1;
  both.floats["max"] = 1;
  ASSERT_OK(run("clip", {f32(x, {6})}, {f32(out, {6})}, both));
  EXPECT_EQ(std::vector<float>(out.begin(), out.end() - 1),
            (std::vector<float>{-1, -0.5f, 0, 0.5f, 1}));
  MapAttrs minOnly;
  minOnly.floats["min"] = 0;
  ASSERT_OK(run("clip", {f32(x, {6})}, {f32(out, {6})}, minOnly));
  EXPECT_EQ(std::vector<float>(out.begin(), out.end() - 1),
            (std::vector<float>{0, 0, 0, 0.5f, 3}));
  std::vector<int64_t> ix = {-10, 0, 10}, iout(3);
  MapAttrs maxOnly;
  maxOnly.floats["max"] = 2.5; // integers round the bound inward: 2
  ASSERT_OK(run("clip", {view(ix, DType::i64, {3})},
                {view(iout, DType::i64, {3})}, maxOnly));
  EXPECT_EQ(iout, (std::vector<int64_t>{-10, 0, 2}));
}

TEST(CpuElementwise, WhereBroadcastsThreeWaysForAnyDtype) {
  std::vector<uint8_t> cond = {1, 0, 1};             // [3]
  std::vector<int64_t> t = {10, 20};                 // [2, 1]
  std::vector<int64_t> f = {-1, -2, -3, -4, -5, -6}; // [2, 3]
  std::vector<int64_t> out(6);
  ASSERT_OK(run("where",
                {view(cond, DType::i1, {3}), view(t, DType::i64, {2, 1}),
                 view(f, DType::i64, {2, 3})},
                {view(out, DType::i64, {2, 3})}));
  EXPECT_EQ(out, (std::vector<int64_t>{10, -2, 10, 20, -5, 20}));
  std::vector<uint16_t> ht = {0x3C00}, hf = {0x4000, 0x4200, 0x4400}, hout(3);
  ASSERT_OK(run("where",
                {view(cond, DType::i1, {3}), view(ht, DType::f16, {}),
                 view(hf, DType::f16, {3})},
                {view(hout, DType::f16, {3})}));
  EXPECT_EQ(hout, (std::vector<uint16_t>{0x3C00, 0x4200, 0x3C00}));
}

//===----------------------------------------------------------------------===//
// cast
//===----------------------------------------------------------------------===//

uint16_t castToHalf(float v, DType type = DType::f16) {
  std::vector<float> in = {v};
  std::vector<uint16_t> out(1);
  EXPECT_OK(run("cast", {f32(in, {1})}, {view(out, type, {1})}));
  return out[0];
}
uint16_t castDoubleToHalf(double v) {
  std::vector<double> in = {v};
  std::vector<uint16_t> out(1);
  EXPECT_OK(
      run("cast", {view(in, DType::f64, {1})}, {view(out, DType::f16, {1})}));
  return out[0];
}

TEST(CpuCast, HalfKnownBitPatternsRoundToNearestEven) {
  EXPECT_EQ(castToHalf(1.0f), 0x3C00);
  EXPECT_EQ(castToHalf(-2.0f), 0xC000);
  EXPECT_EQ(castToHalf(0.0f), 0x0000);
  EXPECT_EQ(castToHalf(-0.0f), 0x8000);
  EXPECT_EQ(castToHalf(1.0f + 0x1p-11f), 0x3C00);            // tie -> even
  EXPECT_EQ(castToHalf(1.0f + 3 * 0x1p-11f), 0x3C02);        // tie -> even (up)
  EXPECT_EQ(castToHalf(1.0f + 0x1p-11f + 0x1p-20f), 0x3C01); // above tie
  EXPECT_EQ(castToHalf(65504.0f), 0x7BFF);                   // max half
  EXPECT_EQ(castToHalf(65519.0f), 0x7BFF);
  EXPECT_EQ(castToHalf(65520.0f), 0x7C00); // rounds to infinity
  EXPECT_EQ(castToHalf(INFINITY), 0x7C00);
  EXPECT_EQ(castToHalf(-INFINITY), 0xFC00);
  EXPECT_EQ(castToHalf(0x1p-14f), 0x0400);            // smallest normal
  EXPECT_EQ(castToHalf(0x1p-24f), 0x0001);            // smallest subnormal
  EXPECT_EQ(castToHalf(0x1p-25f), 0x0000);            // tie -> even (0)
  EXPECT_EQ(castToHalf(3 * 0x1p-26f), 0x0001);        // above tie
  EXPECT_EQ(castToHalf(3 * 0x1p-25f), 0x0002);        // 1.5 units: tie -> 2
  EXPECT_EQ(castToHalf(0x1p-14f - 0x1p-25f), 0x0400); // rounds up to normal
  const uint16_t nan = castToHalf(NAN);
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
  // f64 -> f16 rounds once: 1 + 2^-11 + 2^-40 is above the tie, although
  // rounding to float first would make it an exact tie (-> 0x3C00).
  EXPECT_EQ(castDoubleToHalf(1.0 + 0x1p-11 + 0x1p-40), 0x3C01);
  EXPECT_EQ(castDoubleToHalf(1.0 + 0x1p-11), 0x3C00);
}

TEST(CpuCast, BFloatKnownBitPatterns) {
  EXPECT_EQ(castToHalf(1.0f, DType::bf16), 0x3F80);
  EXPECT_EQ(castToHalf(-1.0f, DType::bf16), 0xBF80);
  EXPECT_EQ(castToHalf(1.0f + 0x1p-8f, DType::bf16), 0x3F80);     // tie -> even
  EXPECT_EQ(castToHalf(1.0f + 3 * 0x1p-8f, DType::bf16), 0x3F82); // tie -> even
  EXPECT_EQ(castToHalf(1.0f + 0x1p-8f + 0x1p-20f, DType::bf16), 0x3F81);
  EXPECT_EQ(castToHalf(std::numeric_limits<float>::max(), DType::bf16), 0x7F80);
  const uint16_t nan = castToHalf(NAN, DType::bf16);
  EXPECT_EQ(nan & 0x7F80, 0x7F80);
  EXPECT_NE(nan & 0x007F, 0);
}

TEST(CpuCast, EveryHalfAndBFloatRoundTrips) {
  std::vector<uint16_t> bits(65536);
  std::iota(bits.begin(), bits.end(), 0);
  for (DType type : {DType::f16, DType::bf16}) {
    std::vector<float> wide(65536);
    std::vector<uint16_t> back(65536);
    ASSERT_OK(run("cast", {view(bits, type, {65536})}, {f32(wide, {65536})}));
    ASSERT_OK(run("cast", {f32(wide, {65536})}, {view(back, type, {65536})}));
    for (uint32_t i = 0; i < 65536; ++i) {
      if (std::isnan(wide[i]))
        continue;
      ASSERT_EQ(back[i], bits[i]) << dtypeName(type) << " " << i;
    }
  }
  // Spot values: f16 0x3555 = 0.333251953125, bf16 0x4049 = 3.140625.
  std::vector<uint16_t> h = {0x3555, 0x0001, 0xFBFF};
  std::vector<double> d(3);
  ASSERT_OK(
      run("cast", {view(h, DType::f16, {3})}, {view(d, DType::f64, {3})}));
  EXPECT_EQ(d, (std::vector<double>{0.333251953125, 0x1p-24, -65504.0}));
  std::vector<uint16_t> b = {0x4049};
  std::vector<float> f(1);
  ASSERT_OK(run("cast", {view(b, DType::bf16, {1})}, {f32(f, {1})}));
  EXPECT_EQ(f[0], 3.140625f);
}

TEST(CpuCast, IntegersBoolsAndTruncation) {
  std::vector<float> f = {-2.7f, 2.7f, 0.0f, -0.0f, 1e20f, -1e20f, NAN, 300.5f};
  std::vector<int32_t> i(8);
  ASSERT_OK(run("cast", {f32(f, {8})}, {view(i, DType::i32, {8})}));
  EXPECT_EQ(i[0], -2);
  EXPECT_EQ(i[1], 2);
  EXPECT_EQ(i[2], 0);
  // Out of range saturates (any value would do; it must not crash or trap).
  EXPECT_EQ(i[4], std::numeric_limits<int32_t>::max());
  EXPECT_EQ(i[5], std::numeric_limits<int32_t>::min());
  EXPECT_EQ(i[7], 300);
  std::vector<uint8_t> u(8);
  ASSERT_OK(run("cast", {f32(f, {8})}, {view(u, DType::u8, {8})}));
  EXPECT_EQ(u[1], 2);
  EXPECT_EQ(u[7], 255);
  std::vector<uint8_t> bools(8);
  ASSERT_OK(run("cast", {f32(f, {8})}, {view(bools, DType::i1, {8})}));
  EXPECT_EQ(bools, (std::vector<uint8_t>{1, 1, 0, 0, 1, 1, 1, 1}));
  std::vector<float> back(8);
  ASSERT_OK(run("cast", {view(bools, DType::i1, {8})}, {f32(back, {8})}));
  EXPECT_EQ(back[2], 0.0f);
  EXPECT_EQ(back[0], 1.0f);
  std::vector<int64_t> big = {(int64_t(1) << 32) + 5, -1,
                              (int64_t(1) << 53) + 1};
  std::vector<int32_t> narrow(3);
  ASSERT_OK(run("cast", {view(big, DType::i64, {3})},
                {view(narrow, DType::i32, {3})}));
  EXPECT_EQ(narrow, (std::vector<int32_t>{5, -1, 1})); // wraps modulo 2^32
  std::vector<double> d(3);
  ASSERT_OK(
      run("cast", {view(big, DType::i64, {3})}, {view(d, DType::f64, {3})}));
  EXPECT_EQ(d[1], -1.0);
  std::vector<uint64_t> u64(3);
  ASSERT_OK(
      run("cast", {view(big, DType::i64, {3})}, {view(u64, DType::u64, {3})}));
  EXPECT_EQ(u64[1], std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(u64[2], (uint64_t(1) << 53) + 1); // integer paths are exact
  std::vector<uint16_t> h(3);
  ASSERT_OK(
      run("cast", {view(big, DType::i64, {3})}, {view(h, DType::f16, {3})}));
  EXPECT_EQ(h[0], 0x7C00); // too large for f16: infinity
  // i64 -> bf16 rounds once: 2^62 + 2^54 is a tie (-> even), one more is
  // above it although rounding to double first would drop the 1.
  std::vector<int64_t> ties = {(int64_t(1) << 62) + (int64_t(1) << 54),
                               (int64_t(1) << 62) + (int64_t(1) << 54) + 1,
                               -((int64_t(1) << 62) + (int64_t(1) << 54) + 1)};
  std::vector<uint16_t> bf(3);
  ASSERT_OK(
      run("cast", {view(ties, DType::i64, {3})}, {view(bf, DType::bf16, {3})}));
  EXPECT_EQ(bf, (std::vector<uint16_t>{0x5E80, 0x5E81, 0xDE81}));
  EXPECT_EQ(h[1], 0xBC00);
}

//===----------------------------------------------------------------------===//
// Reductions, softmax, norms
//===----------------------------------------------------------------------===//

TEST(CpuReduce, AllOpsAxesAndKeepdims) {
  const Dims in = {3, 5, 7};
  auto x = randomFloats(105, 60, 0.5f, 1.5f);
  const std::vector<Dims> axesList = {{1}, {0, 2}, {}, {-1}, {0, 1, 2}, {0}};
  const char *ops[] = {"reduce_sum", "reduce_mean", "reduce_max", "reduce_min",
                       "reduce_prod"};
  for (const Dims &axes : axesList)
    for (const char *op : ops)
      for (int keep = 0; keep < 2; ++keep) {
        SCOPED_TRACE(::testing::Message()
                     << op << " axes " << axes.size() << " keep " << keep);
        bool reduced[3] = {axes.empty(), axes.empty(), axes.empty()};
        for (int64_t a : axes)
          reduced[(a + 3) % 3] = true;
        Dims outDims, keptDims;
        for (int d = 0; d < 3; ++d) {
          if (!reduced[d])
            keptDims.push_back(in[size_t(d)]);
          if (!reduced[d] || keep)
            outDims.push_back(reduced[d] ? 1 : in[size_t(d)]);
        }
        std::vector<double> sum(static_cast<size_t>(numel(keptDims)), 0.0),
            prod(sum.size(), 1.0), mx(sum.size(), -1e30), mn(sum.size(), 1e30);
        std::vector<int> count(sum.size(), 0);
        for (int64_t i = 0; i < 105; ++i) {
          Dims c = unflatten(i, in);
          int64_t o = 0;
          for (int d = 0; d < 3; ++d)
            if (!reduced[d])
              o = o * in[size_t(d)] + c[size_t(d)];
          const double v = x[size_t(i)];
          sum[size_t(o)] += v;
          prod[size_t(o)] *= v;
          mx[size_t(o)] = std::max(mx[size_t(o)], v);
          mn[size_t(o)] = std::min(mn[size_t(o)], v);
          ++count[size_t(o)];
        }
        MapAttrs attrs;
        attrs.intLists["axes"] = axes;
        attrs.ints["keepdims"] = keep;
        std::vector<float> out(sum.size());
        ASSERT_OK(run(op, {f32(x, in)}, {f32(out, outDims)}, attrs));
        for (size_t o = 0; o < out.size(); ++o) {
          const std::string name = op;
          const double e = name == "reduce_sum"    ? sum[o]
                           : name == "reduce_mean" ? sum[o] / count[o]
                           : name == "reduce_max"  ? mx[o]
                           : name == "reduce_min"  ? mn[o]
                                                   : prod[o];
          // Accumulated in double, rounded once to float: 1 ulp.
          ASSERT_NEAR(out[o], e, 1.2e-7 * std::fabs(e)) << o;
        }
      }
}

TEST(CpuReduce, IntegersAndErrors) {
  std::vector<int32_t> x = {1, -2, 3, -4, 5, -6}, out(2);
  MapAttrs attrs;
  attrs.intLists["axes"] = {1};
  attrs.ints["keepdims"] = 0;
  ASSERT_OK(run("reduce_sum", {view(x, DType::i32, {2, 3})},
                {view(out, DType::i32, {2})}, attrs));
  EXPECT_EQ(out, (std::vector<int32_t>{2, -5}));
  ASSERT_OK(run("reduce_mean", {view(x, DType::i32, {2, 3})},
                {view(out, DType::i32, {2})}, attrs));
  EXPECT_EQ(out, (std::vector<int32_t>{0, -1})); // 2/3 and -5/3 truncate
  ASSERT_OK(run("reduce_prod", {view(x, DType::i32, {2, 3})},
                {view(out, DType::i32, {2})}, attrs));
  EXPECT_EQ(out, (std::vector<int32_t>{-6, 120}));
  attrs.intLists["axes"] = {3};
  EXPECT_NE(run("reduce_sum", {view(x, DType::i32, {2, 3})},
                {view(out, DType::i32, {2})}, attrs),
            "");
}

TEST(CpuSoftmax, LargeValuesAndInnerAxis) {
  std::vector<float> x = {1000, 1001, 1002, -1000, -1001, -1002}, out(6);
  ASSERT_OK(run("softmax", {f32(x, {2, 3})}, {f32(out, {2, 3})}));
  const double e[3] = {std::exp(-2.0), std::exp(-1.0), 1.0};
  const double s = e[0] + e[1] + e[2];
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(out[size_t(i)], e[i] / s, 1e-7); // float exp: ~1 ulp
    EXPECT_NEAR(out[size_t(5 - i)], e[i] / s, 1e-7);
  }
  // axis 1 of [3, 5, 300]: strided lanes, inner size not a block multiple.
  const Dims dims = {3, 5, 300};
  auto y = randomFloats(numel(dims), 61, -20.0f, 20.0f);
  std::vector<float> z(y.size());
  MapAttrs attrs;
  attrs.ints["axis"] = 1;
  ASSERT_OK(run("softmax", {f32(y, dims)}, {f32(z, dims)}, attrs));
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t i = 0; i < 300; ++i) {
      double m = -1e30, sum = 0;
      for (int64_t k = 0; k < 5; ++k)
        m = std::max(m, double(y[size_t((o * 5 + k) * 300 + i)]));
      for (int64_t k = 0; k < 5; ++k)
        sum += std::exp(y[size_t((o * 5 + k) * 300 + i)] - m);
      for (int64_t k = 0; k < 5; ++k) {
        const size_t at = size_t((o * 5 + k) * 300 + i);
        // float exp of a value rounded to float: 1e-6 relative.
        ASSERT_NEAR(z[at], std::exp(y[at] - m) / sum,
                    1e-6 * (std::exp(y[at] - m) / sum) + 1e-12);
      }
    }
}

TEST(CpuNorm, LayerNormAndRmsNorm) {
  // axis 1 of [2, 3, 5]: normalize over 15 elements; scale [3, 5] and bias
  // [5] broadcast to [3, 5].
  const Dims dims = {2, 3, 5};
  auto x = randomFloats(30, 70, -3.0f, 5.0f);
  auto scale = randomFloats(15, 71), bias = randomFloats(5, 72);
  MapAttrs attrs;
  attrs.ints["axis"] = 1;
  attrs.floats["epsilon"] = 1e-3;
  std::vector<float> out(30);
  ASSERT_OK(run("layer_norm",
                {f32(x, dims), f32(scale, {3, 5}), f32(bias, {5})},
                {f32(out, dims)}, attrs));
  std::vector<float> rms(30);
  ASSERT_OK(run("rms_norm", {f32(x, dims), f32(scale, {3, 5})},
                {f32(rms, dims)}, attrs));
  for (int r = 0; r < 2; ++r) {
    double mean = 0, var = 0, sq = 0;
    for (int i = 0; i < 15; ++i)
      mean += x[size_t(r * 15 + i)] / 15.0;
    for (int i = 0; i < 15; ++i) {
      const double v = x[size_t(r * 15 + i)];
      var += (v - mean) * (v - mean) / 15.0;
      sq += v * v / 15.0;
    }
    for (int i = 0; i < 15; ++i) {
      const double v = x[size_t(r * 15 + i)];
      const double ln = (v - mean) / std::sqrt(var + 1e-3) * scale[size_t(i)] +
                        bias[size_t(i % 5)];
      const double rn = v / std::sqrt(sq + 1e-3) * scale[size_t(i)];
      // Normalized values are O(1); float arithmetic after double stats: 1e-6.
      EXPECT_NEAR(out[size_t(r * 15 + i)], ln, 1e-6);
      EXPECT_NEAR(rms[size_t(r * 15 + i)], rn, 1e-6);
    }
  }
  // Default axis -1, no bias, a large offset that E[x^2]-E[x]^2 would lose.
  std::vector<float> y = {10000.5f, 10001.5f, 10002.5f, 10003.5f}, one(4, 1.0f);
  std::vector<float> z(4);
  ASSERT_OK(run("layer_norm", {f32(y, {1, 4}), f32(one, {4}), absent()},
                {f32(z, {1, 4})}));
  const double sd = std::sqrt(1.25 + 1e-5);
  EXPECT_NEAR(z[0], -1.5 / sd, 1e-6);
  EXPECT_NEAR(z[3], 1.5 / sd, 1e-6);
  // A scale that does not broadcast to the normalized dims.
  std::vector<float> bad(3);
  EXPECT_NE(run("rms_norm", {f32(y, {1, 4}), f32(bad, {3})}, {f32(z, {1, 4})}),
            "");
}

// ONNX LRN written as the ONNX reference (onnx/backend/test/case/node/lrn.py)
// does, in double: the window is [c - floor((size - 1) / 2),
// c + ceil((size - 1) / 2)] clipped to the channels.
std::vector<double> referenceLrn(const std::vector<float> &x, const Dims &dims,
                                 int64_t size, double alpha, double beta,
                                 double bias) {
  const int64_t channels = dims[1];
  const int64_t inner = numel(Dims(dims.begin() + 2, dims.end()));
  std::vector<double> y(x.size());
  for (int64_t i = 0; i < numel(dims); ++i) {
    const int64_t c = (i / inner) % channels;
    const int64_t lo =
        std::max<int64_t>(0, c - int64_t(std::floor(double(size - 1) / 2)));
    const int64_t hi = std::min<int64_t>(
        channels - 1, c + int64_t(std::ceil(double(size - 1) / 2)));
    double sum = 0;
    for (int64_t k = lo; k <= hi; ++k) {
      const double v = x[size_t(i + (k - c) * inner)];
      sum += v * v;
    }
    y[size_t(i)] =
        x[size_t(i)] / std::pow(bias + alpha / double(size) * sum, beta);
  }
  return y;
}

TEST(CpuLrn, MatchesOnnxReference) {
  struct Case {
    Dims dims;
    int64_t size;
  };
  const Case cases[] = {
      {{2, 7, 3, 5}, 3}, // odd size
      {{2, 7, 3, 5}, 4}, // even size: one more channel after than before
      {{2, 7, 3, 5}, 1}, // only the channel itself
      {{1, 6, 5}, 2},    {{3, 1, 4}, 3},    // C = 1
      {{3, 1, 4}, 2},    {{2, 3, 2, 3}, 7}, // C smaller than size
      {{2, 3, 6}, 8},    {{4, 5}, 5},       // no spatial dims
      {{1, 4, 300}, 3},                     // inner longer than one lane block
      {{2, 5, 0, 3}, 3}, {{0, 5, 2}, 3},    // empty
  };
  unsigned seed = 80;
  for (const Case &c : cases)
    for (int attrsKind = 0; attrsKind < 2; ++attrsKind) {
      SCOPED_TRACE(::testing::Message()
                   << "dims " << c.dims.size() << " C " << c.dims[1] << " size "
                   << c.size << " attrs " << attrsKind);
      auto x = randomFloats(numel(c.dims), seed++, -3.0f, 3.0f);
      std::vector<float> y(x.size());
      MapAttrs attrs;
      attrs.ints["size"] = c.size;
      double alpha = 1e-4, beta = 0.75, bias = 1.0; // ONNX's defaults
      if (attrsKind) {
        alpha = attrs.floats["alpha"] = 0.7;
        beta = attrs.floats["beta"] = 0.5;
        bias = attrs.floats["bias"] = 2.0;
      }
      ASSERT_OK(run("lrn", {f32(x, c.dims)}, {f32(y, c.dims)}, attrs));
      const std::vector<double> e =
          referenceLrn(x, c.dims, c.size, alpha, beta, bias);
      for (size_t i = 0; i < y.size(); ++i)
        // The kernel sums the same terms in the same order in double and
        // takes the power in double, so the only error of note is the final
        // rounding to float: half an ulp, within 2^-24 relative. 2^-23
        // leaves room for pow's last-bit differences.
        ASSERT_NEAR(y[i], e[i], 0x1p-23 * std::fabs(e[i])) << i;
    }
}

TEST(CpuLrn, OnnxFormulaByHand) {
  // x = [1, 2, 3] over 3 channels, alpha / size = 1, beta = 1, bias = 1:
  // y = x / (1 + window sum of squares).
  std::vector<float> x = {1, 2, 3}, y(3);
  MapAttrs attrs;
  attrs.floats["beta"] = 1.0;
  attrs.floats["bias"] = 1.0;
  // size 3: windows {0,1}, {0,1,2}, {1,2}.
  attrs.ints["size"] = 3;
  attrs.floats["alpha"] = 3.0;
  ASSERT_OK(run("lrn", {f32(x, {1, 3, 1})}, {f32(y, {1, 3, 1})}, attrs));
  EXPECT_FLOAT_EQ(y[0], 1.0f / 6.0f);
  EXPECT_FLOAT_EQ(y[1], 2.0f / 15.0f);
  EXPECT_FLOAT_EQ(y[2], 3.0f / 14.0f);
  // size 2: floor(1/2) = 0 before, ceil(1/2) = 1 after: {0,1}, {1,2}, {2}.
  attrs.ints["size"] = 2;
  attrs.floats["alpha"] = 2.0;
  ASSERT_OK(run("lrn", {f32(x, {1, 3, 1})}, {f32(y, {1, 3, 1})}, attrs));
  EXPECT_FLOAT_EQ(y[0], 1.0f / 6.0f);
  EXPECT_FLOAT_EQ(y[1], 2.0f / 14.0f);
  EXPECT_FLOAT_EQ(y[2], 3.0f / 10.0f);
  // Defaults (alpha 1e-4, beta 0.75, bias 1) with C = 1, size 5:
  // y = 2 / (1 + 1e-4 / 5 * 4)^0.75.
  std::vector<float> one = {2}, out(1);
  MapAttrs defaults;
  defaults.ints["size"] = 5;
  ASSERT_OK(
      run("lrn", {f32(one, {1, 1, 1, 1})}, {f32(out, {1, 1, 1, 1})}, defaults));
  EXPECT_FLOAT_EQ(out[0], float(2.0 / std::pow(1.0 + 1e-4 / 5 * 4, 0.75)));
}

TEST(CpuLrn, InPlaceAndThreadCountGiveTheSameResult) {
  const Dims dims = {3, 9, 7, 41};
  auto x = randomFloats(numel(dims), 90, -2.0f, 2.0f);
  MapAttrs attrs;
  attrs.ints["size"] = 5;
  attrs.floats["alpha"] = 0.3;
  std::vector<float> y(x.size()), single(x.size());
  ASSERT_OK(run("lrn", {f32(x, dims)}, {f32(y, dims)}, attrs));
  auto pool = makeThreadPool(1);
  ASSERT_OK(run("lrn", {f32(x, dims)}, {f32(single, dims)}, attrs, pool.get()));
  EXPECT_EQ(single, y);
  std::vector<float> inPlace = x;
  ASSERT_OK(run("lrn", {f32(inPlace, dims)}, {f32(inPlace, dims)}, attrs));
  EXPECT_EQ(inPlace, y);
}

TEST(CpuLrn, Errors) {
  std::vector<float> x(12), y(12);
  MapAttrs attrs;
  EXPECT_TRUE(
      contains(run("lrn", {f32(x, {1, 3, 4})}, {f32(y, {1, 3, 4})}), "size"));
  for (int64_t size : {0, -1}) {
    attrs.ints["size"] = size;
    EXPECT_TRUE(contains(
        run("lrn", {f32(x, {1, 3, 4})}, {f32(y, {1, 3, 4})}, attrs), "size"))
        << size;
  }
  attrs.ints["size"] = 3;
  EXPECT_NE(run("lrn", {f32(x, {12})}, {f32(y, {12})}, attrs), ""); // no C
  EXPECT_NE(run("lrn", {f32(x, {1, 3, 4})}, {f32(y, {1, 4, 3})}, attrs), "");
  EXPECT_NE(run("lrn", {f32(x, {1, 3, 4}), f32(x, {1, 3, 4})},
                {f32(y, {1, 3, 4})}, attrs),
            "");
  std::vector<double> d(12), e(12);
  EXPECT_TRUE(contains(run("lrn", {view(d, DType::f64, {1, 3, 4})},
                           {view(e, DType::f64, {1, 3, 4})}, attrs),
                       "UNIMPLEMENTED"));
}

//===----------------------------------------------------------------------===//
// Data movement (exact)
//===----------------------------------------------------------------------===//

TEST(CpuDataMovement, ShapeReshapeSqueezeUnsqueeze) {
  std::vector<int8_t> x(30);
  std::iota(x.begin(), x.end(), 0);
  std::vector<int64_t> shape(3);
  ASSERT_OK(run("shape_of", {view(x, DType::i8, {2, 3, 5})},
                {view(shape, DType::i64, {3})}));
  EXPECT_EQ(shape, (std::vector<int64_t>{2, 3, 5}));
  std::vector<int64_t> target = {5, 6};
  for (const char *op : {"reshape", "squeeze", "unsqueeze"}) {
    std::vector<int8_t> y(30);
    std::vector<Tensor> ins = {view(x, DType::i8, {2, 3, 5})};
    if (std::string(op) == "reshape")
      ins.push_back(view(target, DType::i64, {2}));
    ASSERT_OK(run(op, ins, {view(y, DType::i8, {5, 6})}));
    EXPECT_EQ(y, x) << op;
  }
  std::vector<int8_t> small(7);
  EXPECT_NE(run("reshape",
                {view(x, DType::i8, {30}), view(target, DType::i64, {2})},
                {view(small, DType::i8, {7})}),
            "");
}

TEST(CpuDataMovement, ExpandAndTranspose) {
  std::vector<uint16_t> x = {1, 2, 3};
  std::vector<int64_t> shape = {2, 2, 3};
  std::vector<uint16_t> y(12);
  ASSERT_OK(run("expand",
                {view(x, DType::bf16, {3, 1}), view(shape, DType::i64, {3})},
                {view(y, DType::bf16, {2, 3, 2})}));
  EXPECT_EQ(y, (std::vector<uint16_t>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
  const Dims dims = {3, 5, 7, 2};
  for (DType type : {DType::f32, DType::i8, DType::f64}) {
    const size_t elem = dtypeSize(type);
    std::vector<uint8_t> in(static_cast<size_t>(numel(dims)) * elem),
        out(in.size());
    for (size_t i = 0; i < in.size(); ++i)
      in[i] = uint8_t(i * 7 + 3);
    MapAttrs attrs;
    attrs.intLists["perm"] = {2, 0, 3, 1};
    const Dims outDims = {7, 3, 2, 5};
    ASSERT_OK(run("transpose", {view(in, type, dims)},
                  {view(out, type, outDims)}, attrs));
    const Dims s = stridesOf(dims);
    for (int64_t o = 0; o < numel(outDims); ++o) {
      Dims c = unflatten(o, outDims);
      const int64_t i = c[1] * s[0] + c[3] * s[1] + c[0] * s[2] + c[2] * s[3];
      ASSERT_EQ(
          std::memcmp(&out[size_t(o) * elem], &in[size_t(i) * elem], elem), 0);
    }
  }
  MapAttrs bad;
  bad.intLists["perm"] = {0, 0, 1, 2};
  std::vector<float> a(210), b(210);
  EXPECT_NE(run("transpose", {f32(a, dims)}, {f32(b, dims)}, bad), "");
}

TEST(CpuDataMovement, ConcatAndSplit) {
  std::vector<int32_t> a = {1, 2, 3, 4}, b = {5, 6}, c = {7, 8, 9, 10, 11, 12};
  std::vector<int32_t> out(12);
  MapAttrs attrs;
  attrs.ints["axis"] = -1;
  ASSERT_OK(run("concat",
                {view(a, DType::i32, {2, 2}), view(b, DType::i32, {2, 1}),
                 view(c, DType::i32, {2, 3})},
                {view(out, DType::i32, {2, 6})}, attrs));
  EXPECT_EQ(out, (std::vector<int32_t>{1, 2, 5, 7, 8, 9, 3, 4, 6, 10, 11, 12}));
  std::vector<int32_t> p(4), q(2), r(6);
  attrs.intLists["sizes"] = {2, 1, 3};
  ASSERT_OK(run("split", {view(out, DType::i32, {2, 6})},
                {view(p, DType::i32, {2, 2}), view(q, DType::i32, {2, 1}),
                 view(r, DType::i32, {2, 3})},
                attrs));
  EXPECT_EQ(p, a);
  EXPECT_EQ(q, b);
  EXPECT_EQ(r, c);
  attrs.intLists["sizes"] = {2, 1, 2};
  EXPECT_NE(run("split", {view(out, DType::i32, {2, 6})},
                {view(p, DType::i32, {2, 2}), view(q, DType::i32, {2, 1}),
                 view(r, DType::i32, {2, 2})},
                attrs),
            "");
}

template <class I>
std::string slice(std::vector<float> &x, const Dims &dims,
                  std::vector<I> starts, std::vector<I> ends,
                  std::vector<I> axes, std::vector<I> steps,
                  std::vector<float> &out, const Dims &outDims) {
  const DType t = sizeof(I) == 4 ? DType::i32 : DType::i64;
  const int64_t n = int64_t(starts.size());
  out.assign(size_t(numel(outDims)), -1);
  return run("slice",
             {f32(x, dims), view(starts, t, {n}), view(ends, t, {n}),
              view(axes, t, {n}), view(steps, t, {n})},
             {f32(out, outDims)});
}

TEST(CpuDataMovement, SliceClampsAndStepsBackwards) {
  auto x = iota(35, 0); // [5, 7]
  std::vector<float> out;
  // Negative start, end beyond the dim (clamped), step 2 on axis 1.
  ASSERT_OK(slice<int64_t>(x, {5, 7}, {-6, 1}, {1000, 3}, {1, 0}, {2, 1}, out,
                           {2, 3}));
  EXPECT_EQ(out, (std::vector<float>{8, 10, 12, 15, 17, 19}));
  // Backwards: from the last row to the first, step -2; i32 index tensors.
  ASSERT_OK(slice<int32_t>(x, {5, 7}, {-1, 6},
                           {std::numeric_limits<int32_t>::min(), -8}, {0, 1},
                           {-2, -3}, out, {3, 3}));
  EXPECT_EQ(out, (std::vector<float>{34, 31, 28, 20, 17, 14, 6, 3, 0}));
  // Empty result when start is past end.
  ASSERT_OK(slice<int64_t>(x, {5, 7}, {4}, {2}, {0}, {1}, out, {0, 7}));
  // Zero step and a result shape that disagrees are errors.
  EXPECT_NE(slice<int64_t>(x, {5, 7}, {0}, {2}, {0}, {0}, out, {2, 7}), "");
  EXPECT_NE(slice<int64_t>(x, {5, 7}, {0}, {2}, {0}, {1}, out, {3, 7}), "");
}

TEST(CpuDataMovement, GatherNegativeAndOutOfRange) {
  auto x = iota(12, 0); // [3, 4]
  std::vector<int64_t> idx = {-1, 0, 2, -4};
  std::vector<float> out(12);
  MapAttrs attrs;
  attrs.ints["axis"] = 1;
  ASSERT_OK(run("gather", {f32(x, {3, 4}), view(idx, DType::i64, {2, 2})},
                {f32(out, {3, 2, 2})}, attrs));
  EXPECT_EQ(out, (std::vector<float>{3, 0, 2, 0, 7, 4, 6, 4, 11, 8, 10, 8}));
  std::vector<int32_t> rows = {2, -3};
  std::vector<float> picked(8);
  ASSERT_OK(run("gather", {f32(x, {3, 4}), view(rows, DType::i32, {2})},
                {f32(picked, {2, 4})}));
  EXPECT_EQ(picked, (std::vector<float>{8, 9, 10, 11, 0, 1, 2, 3}));
  for (int32_t bad : {3, -4}) {
    std::vector<int32_t> b = {0, bad};
    const std::string r =
        run("gather", {f32(x, {3, 4}), view(b, DType::i32, {2})},
            {f32(picked, {2, 4})});
    EXPECT_NE(r.find("INVALID_ARGUMENT"), std::string::npos) << r;
    EXPECT_NE(r.find(std::to_string(bad)), std::string::npos) << r;
    EXPECT_NE(r.find("[-3, 3)"), std::string::npos) << r;
  }
}

TEST(CpuDataMovement, Range) {
  std::vector<int64_t> s = {10}, l = {-2}, d = {-3}, out(4);
  ASSERT_OK(run("range",
                {view(s, DType::i64, {}), view(l, DType::i64, {}),
                 view(d, DType::i64, {})},
                {view(out, DType::i64, {4})}));
  EXPECT_EQ(out, (std::vector<int64_t>{10, 7, 4, 1}));
  std::vector<float> fs = {0.5f}, fl = {2.0f}, fd = {0.5f}, fo(3);
  ASSERT_OK(
      run("range", {f32(fs, {}), f32(fl, {}), f32(fd, {})}, {f32(fo, {3})}));
  EXPECT_EQ(fo, (std::vector<float>{0.5f, 1.0f, 1.5f}));
  std::vector<float> zero = {0.0f};
  EXPECT_NE(
      run("range", {f32(fs, {}), f32(fl, {}), f32(zero, {})}, {f32(fo, {3})}),
      "");
}

TEST(CpuKernels, ArityAndMissingOperandsAreErrors) {
  std::vector<float> x(4), y(4);
  EXPECT_NE(run("add", {f32(x, {4})}, {f32(y, {4})}), "");
  EXPECT_NE(run("add", {f32(x, {4}), absent()}, {f32(y, {4})}), "");
  EXPECT_NE(run("relu", {f32(x, {4})}, {}), "");
}

// Random operand counts, shapes, dtypes, contents and attributes for every
// kernel, drawn near a common shape so that many calls get past validation:
// none may crash or touch memory outside its tensors (run under
// AddressSanitizer to check the latter). Returns how many calls succeeded.
int fuzzKernel(const std::string &name, std::mt19937 &rng, int trials) {
  auto pick = [&](int n) { return int(rng() % unsigned(n)); };
  int succeeded = 0;
  for (int trial = 0; trial < trials; ++trial) {
    Tensor base;
    base.rank = pick(5);
    for (int d = 0; d < base.rank; ++d)
      base.dims[d] = 1 + pick(4);
    const DType common = pick(2)   ? DType::f32
                         : pick(2) ? DType::i64
                                   : DType(pick(13));
    std::vector<std::vector<uint8_t>> storage;
    auto makeTensor = [&]() {
      Tensor t = base;
      switch (pick(4)) {
      case 0:
        break;
      case 1: // some dims 1: broadcasts
        for (int d = 0; d < t.rank; ++d)
          if (pick(2))
            t.dims[d] = 1;
        break;
      case 2: // a suffix of the shape
        t.rank = pick(base.rank + 1);
        std::copy(base.dims + base.rank - t.rank, base.dims + base.rank,
                  t.dims);
        break;
      default:
        t.rank = pick(5);
        for (int d = 0; d < t.rank; ++d)
          t.dims[d] = pick(5);
      }
      t.dtype = pick(4) ? common : DType(pick(13));
      storage.emplace_back(t.bytes());
      for (uint8_t &byte : storage.back())
        byte = uint8_t(pick(4) == 0 ? rng() : pick(3));
      t.data = storage.back().empty() ? nullptr : storage.back().data();
      return t;
    };
    std::vector<Tensor> inputs, outputs;
    const int numInputs = 1 + pick(4), numOutputs = pick(4) ? 1 : 1 + pick(3);
    for (int i = 0; i < numInputs; ++i) {
      inputs.push_back(makeTensor());
      if (i >= 2 && pick(3) == 0)
        inputs.back().data = nullptr; // an absent optional operand
    }
    for (int i = 0; i < numOutputs; ++i)
      outputs.push_back(makeTensor());
    MapAttrs attrs;
    const int spatial = std::max(1, base.rank - 2);
    for (const char *list : {"strides", "pads", "dilations", "kernel_shape",
                             "axes", "perm", "sizes"}) {
      if (!pick(3))
        continue;
      const int n = pick(3)                       ? pick(7)
                    : std::string(list) == "pads" ? 2 * spatial
                                                  : spatial;
      std::vector<int64_t> v(static_cast<size_t>(n));
      for (int64_t &x : v)
        x = pick(5) - 1;
      attrs.intLists[list] = v;
    }
    for (const char *key : {"axis", "group", "keepdims", "ceil_mode",
                            "count_include_pad", "trans_a", "trans_b"})
      if (pick(2))
        attrs.ints[key] = pick(5) - 2;
    if (run(name.c_str(), inputs, outputs, attrs).empty())
      ++succeeded;
  }
  return succeeded;
}

TEST(CpuKernels, GarbageInputsNeverCrash) {
  std::mt19937 rng(99);
  int total = 0;
  for (const std::string &name : kernelNames())
    total += fuzzKernel(name, rng, 400);
  // Sanity check that the fuzzing reaches the kernels' bodies at all.
  EXPECT_GT(total, 500);
}

} // namespace

TEST(CpuDeformConv, ZeroOffsetsAreAConvolutionAndHalfStepsAverage) {
  // 1 image, 4 channels in 2 groups, 5x6, a 3x3 kernel with pads 1,
  // stride 1: 5x6 results. With every offset 0 (and no mask) the taps sit
  // where a convolution's do, so the conv kernel is the reference; its
  // sums differ only by float rounding order (none here: same GEMM).
  const int64_t C = 4, M = 2, H = 5, W = 6, G = 2;
  std::vector<float> x = randomValues<float>(C * H * W, 21);
  std::vector<float> w = randomValues<float>(M * (C / G) * 9, 22);
  std::vector<float> bias = {0.5f, -1.0f};
  std::vector<float> offsets(2 * 9 * H * W, 0.0f), none;
  std::vector<float> deformed(M * H * W), convolved(M * H * W);
  MapAttrs attrs;
  attrs.intLists["strides"] = {1, 1};
  attrs.intLists["pads"] = {1, 1, 1, 1};
  attrs.intLists["dilations"] = {1, 1};
  attrs.ints["group"] = G;
  ASSERT_OK(run("deform_conv",
                {f32(x, {1, C, H, W}), f32(w, {M, C / G, 3, 3}),
                 f32(offsets, {1, 18, H, W}), f32(bias, {M}), f32(none, {0})},
                {f32(deformed, {1, M, H, W})}, attrs));
  MapAttrs convAttrs = attrs;
  convAttrs.intLists["kernel_shape"] = {3, 3};
  ASSERT_OK(run(
      "conv", {f32(x, {1, C, H, W}), f32(w, {M, C / G, 3, 3}), f32(bias, {M})},
      {f32(convolved, {1, M, H, W})}, convAttrs));
  for (size_t i = 0; i < deformed.size(); ++i)
    ASSERT_NEAR(deformed[i], convolved[i], 1e-6) << i;

  // One channel, a 1x1 kernel of weight 1: each result is the input at
  // the moved tap. dx = 0.5 averages two neighbours; dy = -1 on the top
  // row reads above the image (zero); the mask scales.
  std::vector<float> image = {1, 2, 3, 4, 5, 6}; // 2x3
  std::vector<float> one = {1.0f}, moved(6);
  std::vector<float> shift = {-1,   0,    0, 0, 0, 0,  // dy
                              0.5f, 0.5f, 0, 0, 0, 0}; // dx
  std::vector<float> mask = {1, 1, 1, 2, 1, 1};
  MapAttrs plain;
  plain.intLists["strides"] = {1, 1};
  plain.intLists["pads"] = {0, 0, 0, 0};
  plain.intLists["dilations"] = {1, 1};
  ASSERT_OK(
      run("deform_conv",
          {f32(image, {1, 1, 2, 3}), f32(one, {1, 1, 1, 1}),
           f32(shift, {1, 2, 2, 3}), f32(none, {0}), f32(mask, {1, 1, 2, 3})},
          {f32(moved, {1, 1, 2, 3})}, plain));
  // (0,0): y -1, x 0.5: above the image, 0. (0,1): x 1.5: (2 + 3) / 2.
  // (1,0): 4 times mask 2.
  EXPECT_EQ(moved, (std::vector<float>{0, 2.5f, 3, 8, 5, 6}));
}

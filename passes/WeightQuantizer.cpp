//===- WeightQuantizer.cpp - block quantization of weight matrices --------===//

#include "passes/WeightQuantizer.h"

#include "llvm/ADT/APFloat.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <thread>

using namespace azc::quant;

namespace {

void storeCode(BlockQuantized &q, int64_t n, int64_t k, unsigned code) {
  uint8_t *column = q.codes.data() + n * q.blocks * q.blobSize;
  if (q.bits == 8) {
    column[k] = uint8_t(code);
    return;
  }
  uint8_t &byte = column[k / 2];
  byte = (k & 1) ? uint8_t((byte & 0x0F) | (code << 4))
                 : uint8_t((byte & 0xF0) | code);
}

unsigned loadCode(const BlockQuantized &q, int64_t n, int64_t k) {
  const uint8_t *column = q.codes.data() + n * q.blocks * q.blobSize;
  if (q.bits == 8)
    return column[k];
  return (k & 1) ? column[k / 2] >> 4 : column[k / 2] & 0x0F;
}

unsigned zeroPoint(const BlockQuantized &q, int64_t n, int64_t block) {
  if (q.zeroPoints.empty())
    return 1u << (q.bits - 1);
  const uint8_t *row = q.zeroPoints.data() + n * q.zpStride;
  if (q.bits == 8)
    return row[block];
  return (block & 1) ? row[block / 2] >> 4 : row[block / 2] & 0x0F;
}

void storeZeroPoint(BlockQuantized &q, int64_t n, int64_t block, unsigned zp) {
  uint8_t *row = q.zeroPoints.data() + n * q.zpStride;
  if (q.bits == 8) {
    row[block] = uint8_t(zp);
    return;
  }
  uint8_t &byte = row[block / 2];
  byte = (block & 1) ? uint8_t((byte & 0x0F) | (zp << 4))
                     : uint8_t((byte & 0xF0) | zp);
}

/// An empty BlockQuantized of `format` for w: zeroed codes and scales in
/// blocks of `blockSize` along K.
BlockQuantized blockLayout(const WeightView &w, int bits, int64_t blockSize,
                           CodeFormat format) {
  BlockQuantized q;
  q.N = w.N;
  q.K = w.K;
  q.bits = bits;
  q.blockSize = blockSize;
  q.blocks = (w.K + blockSize - 1) / blockSize;
  q.blobSize = blockSize * bits / 8;
  q.zpStride = (q.blocks * bits + 7) / 8;
  q.format = format;
  q.codes.assign(size_t(q.N * q.blocks * q.blobSize), 0);
  q.scales.assign(size_t(q.N * q.blocks), 0.0f);
  return q;
}

} // namespace

BlockQuantized azc::quant::quantizeRoundToNearest(const WeightView &w, int bits,
                                                  int64_t blockSize,
                                                  bool symmetric) {
  BlockQuantized q = blockLayout(w, bits, blockSize, CodeFormat::integer);
  if (!symmetric)
    q.zeroPoints.assign(size_t(q.N * q.zpStride), 0);

  const float maxCode = float((1 << bits) - 1);
  const int half = 1 << (bits - 1);
  for (int64_t n = 0; n < w.N; ++n)
    for (int64_t b = 0; b < q.blocks; ++b) {
      const int64_t k0 = b * blockSize, k1 = std::min(w.K, k0 + blockSize);
      float scale, zp;
      if (symmetric) {
        float extreme = 0.0f;
        for (int64_t k = k0; k < k1; ++k) {
          const float x = w.at(k, n);
          if (std::fabs(x) > std::fabs(extreme))
            extreme = x;
        }
        scale = extreme / float(-half);
        zp = float(half);
      } else {
        float lo = 0.0f, hi = 0.0f;
        for (int64_t k = k0; k < k1; ++k) {
          lo = std::min(lo, w.at(k, n));
          hi = std::max(hi, w.at(k, n));
        }
        scale = (hi - lo) / maxCode;
        zp = scale != 0.0f ? std::clamp(std::round(-lo / scale), 0.0f, maxCode)
                           : 0.0f;
        storeZeroPoint(q, n, b, unsigned(zp));
      }
      q.scales[size_t(n * q.blocks + b)] = scale;
      const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
      for (int64_t k = k0; k < k0 + blockSize; ++k) {
        const float x = k < k1 ? w.at(k, n) : 0.0f;
        const float code =
            std::clamp(std::round(x * inverse + zp), 0.0f, maxCode);
        storeCode(q, n, k, unsigned(code));
      }
    }
  return q;
}

namespace {

/// In-place lower Cholesky factor of the symmetric positive definite
/// `a` (n x n, row-major): a = L L^T, L in the lower triangle. False when
/// `a` is not positive definite.
bool choleskyLower(std::vector<double> &a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int64_t k = 0; k < j; ++k)
      d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0))
      return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (int64_t i = j + 1; i < n; ++i) {
      double v = a[i * n + j];
      for (int64_t k = 0; k < j; ++k)
        v -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = v / d;
    }
    for (int64_t k = j + 1; k < n; ++k)
      a[j * n + k] = 0;
  }
  return true;
}

/// The upper Cholesky factor U of H^-1 (H^-1 = U^T U) for the symmetric
/// positive definite H: row i of U holds, from its diagonal on, how an
/// error in row i of the weight moves the rows after it.
bool inverseCholeskyUpper(std::vector<double> h, int64_t n,
                          std::vector<double> &u) {
  if (!choleskyLower(h, n))
    return false;
  // L^-1 by forward substitution, then H^-1 = L^-T L^-1. L^-1 is kept
  // transposed (column j of L^-1 is row j here) so that both inner loops
  // run along contiguous memory.
  std::vector<double> invT(size_t(n * n), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    double *column = invT.data() + j * n;
    column[j] = 1.0 / h[j * n + j];
    for (int64_t i = j + 1; i < n; ++i) {
      const double *rowL = h.data() + i * n;
      double v = 0;
      for (int64_t k = j; k < i; ++k)
        v -= rowL[k] * column[k];
      column[i] = v / rowL[i];
    }
  }
  std::vector<double> hinv(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      const double *a = invT.data() + i * n, *b = invT.data() + j * n;
      double v = 0;
      for (int64_t k = i; k < n; ++k)
        v += a[k] * b[k];
      hinv[i * n + j] = hinv[j * n + i] = v;
    }
  if (!choleskyLower(hinv, n))
    return false;
  u.assign(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j)
      u[i * n + j] = hinv[j * n + i];
  return true;
}

} // namespace

BlockQuantized azc::quant::quantizeGptq(const WeightView &w,
                                        const std::vector<double> &hessian,
                                        int bits, int64_t blockSize,
                                        bool symmetric,
                                        const GptqOptions &options) {
  // Static groups: the scales and zero points of the original weight.
  BlockQuantized q = quantizeRoundToNearest(w, bits, blockSize, symmetric);
  const int64_t K = w.K, N = w.N;
  std::vector<double> h = hessian;
  std::vector<double> rows(size_t(K * N));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      rows[k * N + n] = w.at(k, n);
  double meanDiagonal = 0;
  for (int64_t k = 0; k < K; ++k)
    meanDiagonal += h[k * K + k];
  meanDiagonal /= double(K);
  for (int64_t k = 0; k < K; ++k) {
    if (h[k * K + k] == 0) {
      // Never excited: its error costs nothing and moves nothing.
      h[k * K + k] = 1;
      for (int64_t j = 0; j < K; ++j)
        if (j != k)
          h[k * K + j] = h[j * K + k] = 0;
    }
    h[k * K + k] += options.damp * (meanDiagonal > 0 ? meanDiagonal : 1.0);
  }
  std::vector<int64_t> order(static_cast<size_t>(K));
  std::iota(order.begin(), order.end(), 0);
  if (options.actOrder)
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      const double ha = hessian[a * K + a], hb = hessian[b * K + b];
      return ha > hb || (ha == hb && a < b);
    });
  std::vector<double> permuted(size_t(K * K));
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = 0; j < K; ++j)
      permuted[i * K + j] = h[order[i] * K + order[j]];
  std::vector<double> u;
  if (!inverseCholeskyUpper(permuted, K, u))
    return q; // Not positive definite even damped: round to nearest.

  // Columns are independent given H: each thread takes a span of them
  // through all K rows (so the result does not depend on the thread
  // count), writing only its own columns' codes.
  const float maxCode = float((1 << bits) - 1);
  auto quantizeColumns = [&](int64_t n0, int64_t n1) {
    std::vector<double> error(static_cast<size_t>(n1 - n0));
    for (int64_t i = 0; i < K; ++i) {
      const int64_t k = order[i], block = k / blockSize;
      double *row = rows.data() + k * N;
      for (int64_t n = n0; n < n1; ++n) {
        const float scale = q.scales[size_t(n * q.blocks + block)];
        const float zp = float(zeroPoint(q, n, block));
        const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
        const float code =
            std::clamp(std::round(float(row[n]) * inverse + zp), 0.0f, maxCode);
        storeCode(q, n, k, unsigned(code));
        error[n - n0] = (row[n] - double((code - zp) * scale)) / u[i * K + i];
      }
      for (int64_t j = i + 1; j < K; ++j) {
        const double factor = u[i * K + j];
        if (factor == 0)
          continue;
        double *later = rows.data() + order[j] * N;
        for (int64_t n = n0; n < n1; ++n)
          later[n] -= factor * error[n - n0];
      }
    }
  };
  const int64_t threads =
      std::clamp<int64_t>(int64_t(std::thread::hardware_concurrency()), 1,
                          std::max<int64_t>(1, N / 64));
  std::vector<std::thread> workers;
  for (int64_t t = 1; t < threads; ++t)
    workers.emplace_back(quantizeColumns, N * t / threads,
                         N * (t + 1) / threads);
  quantizeColumns(0, N / threads);
  for (std::thread &worker : workers)
    worker.join();
  return q;
}

namespace {

/// e^T H e for the K x K row-major H.
double quadraticForm(const std::vector<double> &h, const double *e, int64_t K) {
  double total = 0;
  for (int64_t i = 0; i < K; ++i) {
    if (e[i] == 0)
      continue;
    const double *row = h.data() + i * K;
    double dot = 0;
    for (int64_t j = 0; j < K; ++j)
      dot += row[j] * e[j];
    total += e[i] * dot;
  }
  return total;
}

/// Every column, or an even subsample, so that K^2 N stays within 2^26
/// (the error estimate then rests on at least 2^26 / K^2 columns, plenty
/// to rank AWQ's candidates and to report a sensitivity).
int64_t columnStride(int64_t K, int64_t N) {
  return std::max<int64_t>(1, K * K * N / (int64_t(1) << 26));
}

} // namespace

QuantizationError azc::quant::measureError(const WeightView &w,
                                           const BlockQuantized &q,
                                           const std::vector<float> &inputScale,
                                           const InputStatistics *stats) {
  const int64_t K = w.K, N = w.N;
  QuantizationError result;
  double errorSquares = 0, weightSquares = 0;
  for (int64_t k = 0; k < K; ++k) {
    const double scale = inputScale.empty() ? 1.0 : double(inputScale[k]);
    for (int64_t n = 0; n < N; ++n) {
      const double e = double(dequantized(q, k, n)) * scale - w.at(k, n);
      errorSquares += e * e;
      weightSquares += double(w.at(k, n)) * w.at(k, n);
    }
  }
  result.weight = weightSquares > 0 ? std::sqrt(errorSquares / weightSquares)
                                    : std::sqrt(errorSquares);
  if (!stats)
    return result;
  std::vector<double> e(static_cast<size_t>(K)), x(static_cast<size_t>(K));
  double errorForm = 0, weightForm = 0;
  for (int64_t n = 0; n < N; n += columnStride(K, N)) {
    for (int64_t k = 0; k < K; ++k) {
      const double scale = inputScale.empty() ? 1.0 : double(inputScale[k]);
      x[k] = w.at(k, n);
      e[k] = double(dequantized(q, k, n)) * scale - x[k];
    }
    errorForm += quadraticForm(stats->hessian, e.data(), K);
    weightForm += quadraticForm(stats->hessian, x.data(), K);
  }
  result.output = weightForm > 0 ? std::sqrt(errorForm / weightForm) : 0.0;
  return result;
}

AwqResult azc::quant::quantizeAwq(const std::vector<WeightView> &group,
                                  const InputStatistics &stats, int bits,
                                  int64_t blockSize, bool symmetric,
                                  int gridSteps) {
  const int64_t K = stats.K;
  const double rows = double(std::max<int64_t>(stats.rows, 1));
  std::vector<double> meanAbs(static_cast<size_t>(K));
  double smallest = INFINITY;
  for (int64_t k = 0; k < K; ++k) {
    meanAbs[k] = stats.absSum[k] / rows;
    if (meanAbs[k] > 0)
      smallest = std::min(smallest, meanAbs[k]);
  }
  // Inputs never seen take the smallest seen magnitude, not 0 (whose power
  // would zero the row).
  for (double &m : meanAbs)
    if (!(m > 0))
      m = std::isfinite(smallest) ? smallest : 1.0;

  // The summed output error of the group's weights, over all columns or an
  // even subsample of each.
  std::vector<double> error(static_cast<size_t>(K));
  auto outputError = [&](const std::vector<BlockQuantized> &qs,
                         const std::vector<double> &scale) {
    double total = 0;
    for (size_t g = 0; g < group.size(); ++g) {
      const WeightView &w = group[g];
      for (int64_t n = 0; n < w.N; n += columnStride(K, w.N)) {
        for (int64_t k = 0; k < K; ++k)
          error[k] = double(dequantized(qs[g], k, n)) / scale[k] - w.at(k, n);
        total += quadraticForm(stats.hessian, error.data(), K);
      }
    }
    return total;
  };

  std::vector<float> scaled;
  std::vector<double> scale(static_cast<size_t>(K));
  AwqResult best;
  double bestError = INFINITY;
  for (int step = 0; step <= gridSteps; ++step) {
    const double alpha = double(step) / double(gridSteps);
    double lo = INFINITY, hi = 0;
    for (int64_t k = 0; k < K; ++k) {
      scale[k] = std::pow(meanAbs[k], alpha);
      lo = std::min(lo, scale[k]);
      hi = std::max(hi, scale[k]);
    }
    const double norm = std::sqrt(lo * hi);
    for (double &v : scale)
      v /= norm;
    std::vector<BlockQuantized> qs;
    for (const WeightView &w : group) {
      scaled.resize(static_cast<size_t>(K * w.N));
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < w.N; ++n)
          scaled[k * w.N + n] = float(double(w.at(k, n)) * scale[k]);
      qs.push_back(quantizeRoundToNearest({scaled.data(), K, w.N, w.N, 1}, bits,
                                          blockSize, symmetric));
    }
    const double e = outputError(qs, scale);
    if (e < bestError) {
      bestError = e;
      best.quantized = std::move(qs);
      best.alpha = alpha;
      best.inputScale.resize(static_cast<size_t>(K));
      for (int64_t k = 0; k < K; ++k)
        best.inputScale[k] = float(1.0 / scale[k]);
    }
  }
  return best;
}

float azc::quant::dequantized(const BlockQuantized &q, int64_t k, int64_t n) {
  const int64_t block = k / q.blockSize;
  const float scale = q.scales[size_t(n * q.blocks + block)];
  if (q.format != CodeFormat::integer)
    return codebookValues(q.format)[loadCode(q, n, k)] * scale;
  return (float(loadCode(q, n, k)) - float(zeroPoint(q, n, block))) * scale;
}

namespace {

/// The E4M3 value nearest x (saturating at +-448), ties to even, and its
/// code.
uint8_t encodeE4M3(float x) {
  x = std::clamp(x, -448.0f, 448.0f);
  llvm::APFloat value(x);
  bool lost;
  value.convert(llvm::APFloat::Float8E4M3FN(),
                llvm::APFloat::rmNearestTiesToEven, &lost);
  return uint8_t(value.bitcastToAPInt().getZExtValue());
}

/// The largest |w| of each block, [N, blocks].
std::vector<float> blockAbsMax(const WeightView &w, int64_t blockSize,
                               int64_t blocks) {
  std::vector<float> amax(size_t(w.N * blocks), 0.0f);
  for (int64_t n = 0; n < w.N; ++n)
    for (int64_t k = 0; k < w.K; ++k) {
      float &m = amax[size_t(n * blocks + k / blockSize)];
      m = std::max(m, std::fabs(w.at(k, n)));
    }
  return amax;
}

} // namespace

const float *azc::quant::codebookValues(CodeFormat format) {
  static const float nf4[16] = {-1.0f,
                                -0.6961928009986877f,
                                -0.5250730514526367f,
                                -0.39491748809814453f,
                                -0.28444138169288635f,
                                -0.18477343022823334f,
                                -0.09105003625154495f,
                                0.0f,
                                0.07958029955625534f,
                                0.16093020141124725f,
                                0.24611230194568634f,
                                0.33791524171829224f,
                                0.44070982933044434f,
                                0.5626170039176941f,
                                0.7229568362236023f,
                                1.0f};
  static const std::vector<float> e4m3 = [] {
    std::vector<float> v(256);
    for (unsigned code = 0; code < 256; ++code) {
      llvm::APFloat value(llvm::APFloat::Float8E4M3FN(), llvm::APInt(8, code));
      bool lost;
      value.convert(llvm::APFloat::IEEEsingle(),
                    llvm::APFloat::rmNearestTiesToEven, &lost);
      v[code] = value.convertToFloat();
    }
    return v;
  }();
  return format == CodeFormat::nf4 ? nf4 : e4m3.data();
}

BlockQuantized azc::quant::quantizeNf4(const WeightView &w, int64_t blockSize,
                                       bool doubleQuant) {
  BlockQuantized q = blockLayout(w, 4, blockSize, CodeFormat::nf4);
  q.scales = blockAbsMax(w, blockSize, q.blocks);
  if (doubleQuant) {
    const int64_t count = int64_t(q.scales.size());
    const int64_t groups = (count + 255) / 256;
    q.scaleCodes.assign(size_t(count), 0);
    q.scaleSteps.assign(size_t(2 * groups), 0.0f);
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t i0 = g * 256, i1 = std::min(count, i0 + 256);
      double mean = 0;
      for (int64_t i = i0; i < i1; ++i)
        mean += q.scales[size_t(i)];
      const float offset = float(mean / double(i1 - i0));
      float spread = 0;
      for (int64_t i = i0; i < i1; ++i)
        spread = std::max(spread, std::fabs(q.scales[size_t(i)] - offset));
      const float step = spread / 127.0f;
      q.scaleSteps[size_t(2 * g)] = step;
      q.scaleSteps[size_t(2 * g + 1)] = offset;
      for (int64_t i = i0; i < i1; ++i) {
        const float c =
            step > 0 ? std::nearbyint((q.scales[size_t(i)] - offset) / step)
                     : 0.0f;
        q.scaleCodes[size_t(i)] = int8_t(std::clamp(c, -127.0f, 127.0f));
        // The scale as the kernel will compute it.
        q.scales[size_t(i)] = float(q.scaleCodes[size_t(i)]) * step + offset;
      }
    }
  }
  // Nearest value: between neighbours the midpoint decides.
  const float *values = codebookValues(CodeFormat::nf4);
  for (int64_t n = 0; n < w.N; ++n)
    for (int64_t k = 0; k < w.K; ++k) {
      const float scale = q.scales[size_t(n * q.blocks + k / blockSize)];
      const float x = scale > 0 ? w.at(k, n) / scale : 0.0f;
      unsigned code = 0;
      while (code < 15 && x > 0.5f * (values[code] + values[code + 1]))
        ++code;
      storeCode(q, n, k, code);
    }
  // Padding past K: code 7 is NF4's exact zero.
  for (int64_t n = 0; n < w.N; ++n)
    for (int64_t k = w.K; k < q.blocks * blockSize; ++k)
      storeCode(q, n, k, 7);
  return q;
}

BlockQuantized azc::quant::quantizeFp8(const WeightView &w, int64_t blockSize) {
  BlockQuantized q = blockLayout(w, 8, blockSize, CodeFormat::fp8e4m3);
  q.scales = blockAbsMax(w, blockSize, q.blocks);
  for (float &s : q.scales)
    s /= 448.0f;
  for (int64_t n = 0; n < w.N; ++n)
    for (int64_t k = 0; k < w.K; ++k) {
      const float scale = q.scales[size_t(n * q.blocks + k / blockSize)];
      storeCode(q, n, k, encodeE4M3(scale > 0 ? w.at(k, n) / scale : 0.0f));
    }
  return q; // padding codes stay 0, E4M3's +0
}

//===- WeightQuantizer.cpp - block quantization of weight matrices --------===//

#include "passes/WeightQuantizer.h"

#include <algorithm>
#include <cmath>

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

} // namespace

BlockQuantized azc::quant::quantizeRoundToNearest(const WeightView &w, int bits,
                                                  int64_t blockSize,
                                                  bool symmetric) {
  BlockQuantized q;
  q.N = w.N;
  q.K = w.K;
  q.bits = bits;
  q.blockSize = blockSize;
  q.blocks = (w.K + blockSize - 1) / blockSize;
  q.blobSize = blockSize * bits / 8;
  q.zpStride = (q.blocks * bits + 7) / 8;
  q.codes.assign(size_t(q.N * q.blocks * q.blobSize), 0);
  q.scales.assign(size_t(q.N * q.blocks), 0.0f);
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

float azc::quant::dequantized(const BlockQuantized &q, int64_t k, int64_t n) {
  const int64_t block = k / q.blockSize;
  return (float(loadCode(q, n, k)) - float(zeroPoint(q, n, block))) *
         q.scales[size_t(n * q.blocks + block)];
}

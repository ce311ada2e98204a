/* xxhash64.c - XXH64, Yann Collet's public 64-bit hash algorithm, written
 * here from its specification (github.com/Cyan4973/xxHash, doc/xxhash_spec.md).
 * Engine files carry one per section so the runtime can refuse a corrupted
 * file before using it. */

#include "azr/engine_format.h"

#include <string.h>

static const uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
static const uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
static const uint64_t kPrime3 = 0x165667B19E3779F9ULL;
static const uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
static const uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t read64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8); /* engine files and hosts are little-endian */
  return v;
}

static uint32_t read32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static uint64_t round64(uint64_t acc, uint64_t input) {
  acc += input * kPrime2;
  acc = rotl64(acc, 31);
  return acc * kPrime1;
}

static uint64_t merge_round(uint64_t acc, uint64_t value) {
  acc ^= round64(0, value);
  return acc * kPrime1 + kPrime4;
}

static void consume_stripe(azr_xxh64_state_t *s, const uint8_t *p) {
  s->v[0] = round64(s->v[0], read64(p));
  s->v[1] = round64(s->v[1], read64(p + 8));
  s->v[2] = round64(s->v[2], read64(p + 16));
  s->v[3] = round64(s->v[3], read64(p + 24));
}

void azr_xxh64_init(azr_xxh64_state_t *s, uint64_t seed) {
  memset(s, 0, sizeof(*s));
  s->seed = seed;
  s->v[0] = seed + kPrime1 + kPrime2;
  s->v[1] = seed + kPrime2;
  s->v[2] = seed;
  s->v[3] = seed - kPrime1;
}

void azr_xxh64_update(azr_xxh64_state_t *s, const void *data, size_t size) {
  const uint8_t *p = (const uint8_t *)data;
  s->total_length += size;
  if (s->buffered + size < 32) {
    memcpy(s->buffer + s->buffered, p, size);
    s->buffered += (uint32_t)size;
    return;
  }
  if (s->buffered) {
    size_t fill = 32 - s->buffered;
    memcpy(s->buffer + s->buffered, p, fill);
    consume_stripe(s, s->buffer);
    p += fill;
    size -= fill;
    s->buffered = 0;
  }
  while (size >= 32) {
    consume_stripe(s, p);
    p += 32;
    size -= 32;
  }
  memcpy(s->buffer, p, size);
  s->buffered = (uint32_t)size;
}

uint64_t azr_xxh64_digest(const azr_xxh64_state_t *s) {
  uint64_t h;
  if (s->total_length >= 32) {
    h = rotl64(s->v[0], 1) + rotl64(s->v[1], 7) + rotl64(s->v[2], 12) +
        rotl64(s->v[3], 18);
    for (int i = 0; i < 4; ++i)
      h = merge_round(h, s->v[i]);
  } else {
    h = s->seed + kPrime5;
  }
  h += s->total_length;
  const uint8_t *p = s->buffer;
  uint32_t left = s->buffered;
  for (; left >= 8; left -= 8, p += 8) {
    h ^= round64(0, read64(p));
    h = rotl64(h, 27) * kPrime1 + kPrime4;
  }
  if (left >= 4) {
    h ^= (uint64_t)read32(p) * kPrime1;
    h = rotl64(h, 23) * kPrime2 + kPrime3;
    p += 4;
    left -= 4;
  }
  for (; left > 0; --left, ++p) {
    h ^= (*p) * kPrime5;
    h = rotl64(h, 11) * kPrime1;
  }
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

uint64_t azr_xxh64(const void *data, size_t size, uint64_t seed) {
  azr_xxh64_state_t state;
  azr_xxh64_init(&state, seed);
  azr_xxh64_update(&state, data, size);
  return azr_xxh64_digest(&state);
}

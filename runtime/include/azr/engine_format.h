/* engine_format.h - the fixed header of an azc engine file.
 *
 * File layout (all integers little-endian):
 *   [0, 64)                      azr_engine_header_t
 *   [metadata_offset, +size)     FlatBuffer, schema runtime/schema/engine.fbs
 *   [constants_offset, +size)    weights, each 64-byte aligned; the section
 *                                itself starts at a 64-byte aligned offset
 * Each section has an xxHash64 (seed 0) in the header. The compiler writes
 * this header; the runtime checks it before reading anything else.
 */
#ifndef AZR_ENGINE_FORMAT_H
#define AZR_ENGINE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AZR_ENGINE_MAGIC "AZCENGN" /* 8 bytes with the terminating NUL */
/* The newest format this runtime reads. 2 added run-time shape ranges
 * (symbols and polynomials) and inputs fixed at build; 3 added outputs whose
 * size depends on the input values (an older runtime would report their
 * upper bound as their size). An engine is written with the oldest version
 * that reads it, so older runtimes still run what they can. */
#define AZR_ENGINE_FORMAT_VERSION 3u
#define AZR_ENGINE_FORMAT_VERSION_SHAPE_RANGES 2u
#define AZR_ENGINE_FORMAT_VERSION_STATIC 1u
#define AZR_ENGINE_ALIGNMENT 64u

typedef struct azr_engine_header_s {
  char magic[8];           /* AZR_ENGINE_MAGIC */
  uint32_t format_version; /* the oldest format that can read the file */
  uint32_t header_size;    /* sizeof(azr_engine_header_t) */
  uint64_t metadata_offset;
  uint64_t metadata_size;
  uint64_t constants_offset; /* multiple of AZR_ENGINE_ALIGNMENT */
  uint64_t constants_size;
  uint64_t metadata_hash;  /* xxHash64 of the metadata section */
  uint64_t constants_hash; /* xxHash64 of the constants section */
} azr_engine_header_t;

#ifdef __cplusplus
static_assert(sizeof(azr_engine_header_t) == 64, "header is 64 bytes");
#else
_Static_assert(sizeof(azr_engine_header_t) == 64, "header is 64 bytes");
#endif

/* Incremental xxHash64 (the public XXH64 algorithm), for sections too large
 * to hash in one piece. */
typedef struct azr_xxh64_state_s {
  uint64_t total_length;
  uint64_t v[4];
  uint8_t buffer[32];
  uint32_t buffered;
  uint64_t seed;
} azr_xxh64_state_t;

void azr_xxh64_init(azr_xxh64_state_t *state, uint64_t seed);
void azr_xxh64_update(azr_xxh64_state_t *state, const void *data, size_t size);
uint64_t azr_xxh64_digest(const azr_xxh64_state_t *state);
uint64_t azr_xxh64(const void *data, size_t size, uint64_t seed);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AZR_ENGINE_FORMAT_H */

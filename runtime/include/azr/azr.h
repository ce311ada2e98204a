/* azr.h - the C API of azc's runtime, libazr.
 *
 * libazr loads engine files written by `azc build` and runs them. It has no
 * compiler inside: no MLIR, LLVM or protobuf. Conventions, as in IREE's and
 * ggml's runtime headers:
 *   - every fallible call returns an azr_status_t; NULL means success;
 *   - a non-NULL status owns a message and must be freed with
 *     azr_status_free();
 *   - no exception ever crosses this API.
 */
#ifndef AZR_AZR_H
#define AZR_AZR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error categories. */
typedef enum azr_status_code_e {
  AZR_STATUS_OK = 0,
  AZR_STATUS_INVALID_ARGUMENT = 1, /* a bad name, shape, dtype or value */
  AZR_STATUS_NOT_FOUND = 2,        /* a file or named input that is absent */
  AZR_STATUS_DATA_LOSS = 3,        /* a truncated or corrupted file */
  AZR_STATUS_UNIMPLEMENTED = 4,    /* a format version or target not handled */
  AZR_STATUS_RESOURCE_EXHAUSTED = 5, /* out of memory or cache blocks */
  AZR_STATUS_INTERNAL = 6,
} azr_status_code_t;

/* An error: a code and a message. NULL is success. */
typedef struct azr_status_s *azr_status_t;

/* Creates an error with a printf-style message. Returns NULL when `code` is
 * AZR_STATUS_OK. Never fails: out of memory yields a static status. */
azr_status_t azr_status_make(azr_status_code_t code, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The code of `status` (AZR_STATUS_OK for NULL). */
azr_status_code_t azr_status_code(azr_status_t status);

/* The message of `status` ("" for NULL). Owned by the status. */
const char *azr_status_message(azr_status_t status);

/* The name of a code, such as "INVALID_ARGUMENT". */
const char *azr_status_code_name(azr_status_code_t code);

/* Releases `status`; NULL is allowed. */
void azr_status_free(azr_status_t status);

/* The runtime's version as "MAJOR.MINOR.PATCH". */
const char *azr_version(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AZR_AZR_H */

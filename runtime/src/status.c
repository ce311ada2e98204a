/* status.c - azr_status_t: an error code with an owned message. */

#include "azr/azr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct azr_status_s {
  azr_status_code_t code;
  int is_static; /* the out-of-memory fallback is never freed */
  char message[];
};

static struct azr_status_s out_of_memory_status = {
    AZR_STATUS_RESOURCE_EXHAUSTED, 1, {0}};

azr_status_t azr_status_make(azr_status_code_t code, const char *format, ...) {
  if (code == AZR_STATUS_OK)
    return NULL;
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  int length = vsnprintf(NULL, 0, format, copy);
  va_end(copy);
  if (length < 0)
    length = 0;
  struct azr_status_s *status = malloc(sizeof(*status) + (size_t)length + 1);
  if (!status) {
    va_end(args);
    return &out_of_memory_status;
  }
  status->code = code;
  status->is_static = 0;
  vsnprintf(status->message, (size_t)length + 1, format, args);
  va_end(args);
  return status;
}

azr_status_code_t azr_status_code(azr_status_t status) {
  return status ? status->code : AZR_STATUS_OK;
}

const char *azr_status_message(azr_status_t status) {
  if (!status)
    return "";
  if (status->is_static)
    return "out of memory while reporting an error";
  return status->message;
}

const char *azr_status_code_name(azr_status_code_t code) {
  switch (code) {
  case AZR_STATUS_OK:
    return "OK";
  case AZR_STATUS_INVALID_ARGUMENT:
    return "INVALID_ARGUMENT";
  case AZR_STATUS_NOT_FOUND:
    return "NOT_FOUND";
  case AZR_STATUS_DATA_LOSS:
    return "DATA_LOSS";
  case AZR_STATUS_UNIMPLEMENTED:
    return "UNIMPLEMENTED";
  case AZR_STATUS_RESOURCE_EXHAUSTED:
    return "RESOURCE_EXHAUSTED";
  case AZR_STATUS_INTERNAL:
    return "INTERNAL";
  case AZR_STATUS_OUT_OF_RANGE:
    return "OUT_OF_RANGE";
  }
  return "UNKNOWN";
}

void azr_status_free(azr_status_t status) {
  if (status && !status->is_static)
    free(status);
}

const char *azr_version(void) { return AZR_VERSION_STRING; }

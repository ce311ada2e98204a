/* Links against libazr alone, as an embedding C program would. Exits
 * non-zero if the API misbehaves. */
#include "azr/azr.h"

#include <stdio.h>
#include <string.h>

int main(void) {
  azr_status_t status = azr_status_make(AZR_STATUS_DATA_LOSS,
                                        "engine '%s' is truncated", "m.azeng");
  int ok =
      status != NULL && azr_status_code(status) == AZR_STATUS_DATA_LOSS &&
      strcmp(azr_status_message(status), "engine 'm.azeng' is truncated") == 0;
  azr_status_free(status);
  if (!ok) {
    fprintf(stderr, "azr status API misbehaved\n");
    return 1;
  }
  /* The paged KV cache API links from C and tolerates NULL handles. */
  if (azr_kv_cache_length(NULL, 0) != -1 ||
      azr_kv_cache_free_block_count(NULL) != 0) {
    fprintf(stderr, "azr KV cache API misbehaved\n");
    return 1;
  }
  azr_kv_cache_release(NULL);
  printf("libazr %s: C API ok\n", azr_version());
  return 0;
}

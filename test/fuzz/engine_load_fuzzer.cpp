// libFuzzer target: arbitrary bytes as an engine's metadata section, wrapped
// in a header with correct checksums so that the fuzzer gets past them and
// exercises the FlatBuffers verifier and the loader's program checks. An
// engine the loader accepts is then run on zeroed inputs: kernels must
// refuse inconsistent steps with a status, never read or write out of
// bounds.

#include "azr/azr.h"
#include "azr/engine_format.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

// Sessions get at most 1 MiB per buffer: every tensor then has at most 256K
// elements, which bounds a kernel's work and keeps each run fast.
void *smallAllocate(void *, size_t size, size_t alignment) {
  if (size > (1u << 20))
    return nullptr;
  return aligned_alloc(alignment,
                       (size + alignment - 1) / alignment * alignment);
}
void release(void *, void *pointer) { free(pointer); }
const azr_allocator_t kSmallAllocator = {smallAllocate, release, nullptr};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static std::string path = [] {
    char name[] = "/tmp/azc-engine-fuzz-XXXXXX";
    int fd = mkstemp(name);
    close(fd);
    return std::string(name);
  }();
  // The first 8 bytes choose the constants section size (<= 4 KiB).
  uint64_t constantsSize = 0;
  if (size >= 8) {
    memcpy(&constantsSize, data, 8);
    constantsSize %= 4096;
    data += 8;
    size -= 8;
  }
  azr_engine_header_t header = {};
  memcpy(header.magic, AZR_ENGINE_MAGIC, sizeof(header.magic));
  header.format_version = AZR_ENGINE_FORMAT_VERSION;
  header.header_size = sizeof(header);
  header.metadata_offset = sizeof(header);
  header.metadata_size = size;
  header.constants_offset = (sizeof(header) + size + 63) / 64 * 64;
  header.constants_size = constantsSize;
  header.metadata_hash = azr_xxh64(data, size, 0);
  std::vector<uint8_t> constants(constantsSize, 0x3c);
  header.constants_hash = azr_xxh64(constants.data(), constants.size(), 0);
  FILE *file = fopen(path.c_str(), "wb");
  if (!file)
    return 0;
  fwrite(&header, sizeof(header), 1, file);
  fwrite(data, 1, size, file);
  std::vector<uint8_t> pad(header.constants_offset - sizeof(header) - size, 0);
  fwrite(pad.data(), 1, pad.size(), file);
  fwrite(constants.data(), 1, constants.size(), file);
  fclose(file);

  azr_engine_t *engine = nullptr;
  azr_status_t status = azr_engine_load(path.c_str(), &engine);
  if (status) {
    azr_status_free(status);
    return 0;
  }
  azr_session_options_t options = {};
  options.num_threads = 1;
  options.allocator = &kSmallAllocator;
  azr_session_t *session = nullptr;
  status = azr_session_create(engine, &options, &session);
  if (!status) {
    for (size_t i = 0; i < azr_engine_input_count(engine); ++i) {
      azr_tensor_info_t info;
      azr_status_free(azr_engine_input_info(engine, i, &info));
      // Dims that vary (-1) take their max, or their min for odd inputs, so
      // that symbols disagreeing between inputs are exercised too.
      size_t bytes = azr_dtype_size(info.dtype);
      for (size_t d = 0; d < info.rank; ++d) {
        int64_t min = 0, max = 0;
        azr_status_free(azr_engine_input_dim(engine, i, d, &min, &max, nullptr));
        if (info.dims[d] < 0)
          info.dims[d] = i % 2 ? min : max;
        bytes *= size_t(info.dims[d]);
      }
      std::vector<uint8_t> zeros(bytes, 0);
      azr_status_free(azr_session_set_input(session, info.name, info.dtype,
                                            info.dims, info.rank, zeros.data(),
                                            zeros.size()));
    }
    azr_status_free(azr_session_run(session));
    azr_session_release(session);
  } else {
    azr_status_free(status);
  }
  azr_engine_release(engine);
  return 0;
}

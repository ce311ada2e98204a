// libFuzzer target: arbitrary bytes as a .safetensors file. The parser must
// accept a well-formed file or refuse with a message, never crash, read out
// of bounds or hand out a tensor view outside the bytes.

#include "frontends/safetensors/SafetensorsFile.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  std::unique_ptr<azc::safetensors::SafetensorsFile> file =
      azc::safetensors::SafetensorsFile::parse(
          nullptr, reinterpret_cast<const char *>(data), size, "fuzz", error);
  if (!file) {
    if (error.empty())
      abort(); // A refusal must say why.
    return 0;
  }
  const char *begin = reinterpret_cast<const char *>(data);
  for (const std::string &name : file->names()) {
    const azc::safetensors::TensorView *view = file->find(name);
    if (!view || view->data < begin || view->data + view->size > begin + size)
      abort();
  }
  return 0;
}

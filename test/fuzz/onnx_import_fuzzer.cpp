// libFuzzer target: arbitrary bytes as an ONNX model file. The importer must
// return a module or an error message, never crash, hang or leak.

#include "frontends/onnx/OnnxImporter.h"

#include "mlir/IR/MLIRContext.h"

#include <cstdio>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static std::string path = [] {
    char name[] = "/tmp/azc-onnx-fuzz-XXXXXX";
    int fd = mkstemp(name);
    close(fd);
    return std::string(name);
  }();
  FILE *file = fopen(path.c_str(), "wb");
  if (!file)
    return 0;
  fwrite(data, 1, size, file);
  fclose(file);
  mlir::MLIRContext context;
  context.disableMultithreading();
  std::string error;
  (void)azc::onnx_frontend::importOnnxFile(context, path, {}, error);
  return 0;
}

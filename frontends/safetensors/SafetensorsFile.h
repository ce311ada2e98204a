//===- SafetensorsFile.h - one mapped .safetensors file ---------*- C++ -*-===//
//
// The format: an 8-byte little-endian header length N, N bytes of JSON
// mapping each tensor name to {dtype, shape, data_offsets: [begin, end]}
// (offsets relative to the end of the header) plus an optional
// "__metadata__" object, then the tensor bytes. The file is mapped, never
// read whole; a tensor is a view into the mapping, which its owner keeps
// alive. Every field is checked before use: a bad header is an error naming
// the file and what is wrong, never a crash.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_FRONTENDS_SAFETENSORS_SAFETENSORSFILE_H
#define AZC_FRONTENDS_SAFETENSORS_SAFETENSORSFILE_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace azc::safetensors {

/// A tensor's element types as the format spells them.
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

/// Bytes per element.
size_t dtypeSize(DType type);
const char *dtypeName(DType type);

struct TensorView {
  DType dtype;
  std::vector<int64_t> shape;
  const char *data = nullptr;        ///< inside the mapping
  size_t size = 0;                   ///< bytes
  std::shared_ptr<const void> owner; ///< keeps the mapping alive
};

class SafetensorsFile {
public:
  /// Maps and validates `path`; null with `error` on failure.
  static std::unique_ptr<SafetensorsFile> open(const std::string &path,
                                               std::string &error);
  /// Validates a header and data section held in memory (as `open` does
  /// after mapping); for the fuzzer and tests.
  static std::unique_ptr<SafetensorsFile>
  parse(std::shared_ptr<const void> owner, const char *bytes, size_t size,
        const std::string &path, std::string &error);

  const std::string &path() const { return path_; }
  /// The tensor named `name`, or null.
  const TensorView *find(llvm::StringRef name) const;
  /// Every tensor name, sorted.
  std::vector<std::string> names() const;

private:
  std::string path_;
  llvm::StringMap<TensorView> tensors_;
};

} // namespace azc::safetensors

#endif // AZC_FRONTENDS_SAFETENSORS_SAFETENSORSFILE_H

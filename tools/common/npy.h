//===- npy.h - NumPy .npy files for the command-line tools ------*- C++ -*-===//
//
// azr-run and `azc eval` read inputs and write outputs as .npy (format
// versions 1 to 3, C order, the dtypes the runtime has). Not part of the
// runtime library: deployments feed tensors through the C API.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_TOOLS_NPY_H
#define AZR_TOOLS_NPY_H

#include "azr/azr.h"

#include <cstdint>
#include <string>
#include <vector>

namespace azr_tools {

/// A tensor in host memory, as read from a file.
struct HostTensor {
  azr_dtype_t dtype = AZR_DTYPE_F32;
  std::vector<int64_t> dims;
  std::vector<char> data;
};

/// The whole file at `path`; false with `error` naming it.
bool readFile(const std::string &path, std::string &bytes, std::string &error);

/// Parses .npy `bytes` read from `path` (named in errors).
bool readNpy(const std::string &path, const std::string &bytes,
             HostTensor &tensor, std::string &error);
bool readNpyFile(const std::string &path, HostTensor &tensor,
                 std::string &error);

/// Writes `size` bytes of `data` as a .npy of `dtype` and `dims`, its data
/// 64-byte aligned. bf16, which NumPy lacks, is written as its bit
/// patterns, '<u2' (view them as ml_dtypes.bfloat16).
bool writeNpy(const std::string &path, azr_dtype_t dtype, const int64_t *dims,
              size_t rank, const void *data, size_t size, std::string &error);

/// The samples under `dir` for azc eval and calibration: its subfolders in
/// name order, or `dir` itself when it holds .npy files directly. Empty
/// with `error` set when `dir` cannot be read or holds neither.
std::vector<std::string> listSamples(const std::string &dir,
                                     std::string &error);

/// Reads `dir`/NAME.npy for each name ('/' and ':' in a name read as '_').
bool readSample(const std::string &dir, const std::vector<std::string> &names,
                std::vector<HostTensor> &tensors, std::string &error);

} // namespace azr_tools

#endif // AZR_TOOLS_NPY_H

//===- SampleSource.h - calibration and evaluation samples ------*- C++ -*-===//
//
// Samples for calibration (`azc build --calib-data`) and `azc eval --data`
// come in the forms models' users already have:
//  - a folder of samples, each a folder of INPUT.npy files (or the folder
//    itself, for one sample);
//  - an .npz (numpy.savez) or .safetensors file holding one array per
//    input, named like it, samples along the first axis: an array one rank
//    above the input gives samples without that axis, one of the input's
//    rank gives samples of size 1 along it (batches of 1);
//  - a .jsonl file of token ids for language models, one sample a line:
//    an array of integers, or an object whose "input_ids" is one. The
//    sample is input_ids [1, L] (int64), and attention_mask [1, L] of ones
//    if the model has one.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_COMPILER_SAMPLESOURCE_H
#define AZC_COMPILER_SAMPLESOURCE_H

#include "tools/common/npy.h"

#include <memory>
#include <string>
#include <vector>

namespace azc {

/// A model input as samples must provide it.
struct SampleInput {
  std::string name;
  int64_t rank = 0;
  azr_dtype_t dtype = AZR_DTYPE_F32;
};

class SampleSource {
public:
  virtual ~SampleSource() = default;

  /// Opens `path` for a model with `inputs`; null with `error` naming the
  /// file and the problem.
  static std::unique_ptr<SampleSource>
  open(const std::string &path, const std::vector<SampleInput> &inputs,
       std::string &error);

  /// The file forms, parsed from `bytes` (read from `path`, named in
  /// errors): what open() does after reading a file, and what the fuzzer
  /// drives.
  enum class Format { npz, safetensors, jsonl };
  static std::unique_ptr<SampleSource>
  parse(Format format, const std::string &path, const std::string &bytes,
        const std::vector<SampleInput> &inputs, std::string &error);

  virtual size_t size() const = 0;
  /// Where sample i comes from, for messages ("DIR/003", "FILE.npz[3]",
  /// "FILE.jsonl:4").
  virtual std::string name(size_t i) const = 0;
  /// Sample i's tensors, one per input in order.
  virtual bool read(size_t i, std::vector<azr_tools::HostTensor> &tensors,
                    std::string &error) = 0;
};

} // namespace azc

#endif // AZC_COMPILER_SAMPLESOURCE_H

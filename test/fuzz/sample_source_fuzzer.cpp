// libFuzzer target: arbitrary bytes as calibration samples. The first byte
// picks the form (.npz, .safetensors, .jsonl), the rest is the file. A
// parse must succeed or say why, never crash or read out of bounds, and
// every sample it gives must hold exactly the bytes its dims call for.

#include "compiler/SampleSource.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  using Format = azc::SampleSource::Format;
  const Format format = data[0] % 3 == 0   ? Format::npz
                        : data[0] % 3 == 1 ? Format::safetensors
                                           : Format::jsonl;
  const std::vector<azc::SampleInput> inputs =
      format == Format::jsonl
          ? std::vector<azc::SampleInput>{{"input_ids", 2, AZR_DTYPE_I64},
                                          {"attention_mask", 2, AZR_DTYPE_I64}}
          : std::vector<azc::SampleInput>{{"x", 2, AZR_DTYPE_F32},
                                          {"input_ids", 2, AZR_DTYPE_I64}};
  const std::string bytes(reinterpret_cast<const char *>(data) + 1, size - 1);
  std::string error;
  std::unique_ptr<azc::SampleSource> source =
      azc::SampleSource::parse(format, "fuzz", bytes, inputs, error);
  if (!source) {
    if (error.empty())
      abort(); // A refusal must say why.
    return 0;
  }
  for (size_t i = 0; i < source->size() && i < 64; ++i) {
    std::vector<azr_tools::HostTensor> tensors;
    if (!source->read(i, tensors, error) || tensors.size() != inputs.size())
      abort();
    for (const azr_tools::HostTensor &t : tensors) {
      size_t count = 1;
      for (int64_t d : t.dims)
        count *= size_t(d);
      if (t.data.size() != count * azr_dtype_size(t.dtype))
        abort();
    }
  }
  return 0;
}

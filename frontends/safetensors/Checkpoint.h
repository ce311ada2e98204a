//===- Checkpoint.h - a Hugging Face-style checkpoint folder ----*- C++ -*-===//
//
// A folder with config.json and either model.safetensors or shards listed
// by model.safetensors.index.json. The config is read into DecoderConfig
// for the decoder families azc builds (Llama, Mistral, Qwen2, GPT-2); every
// tensor is looked up by name and checked against the shape the config
// implies, so a checkpoint that disagrees with its config is refused with
// the tensor, both shapes and the file.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_FRONTENDS_SAFETENSORS_CHECKPOINT_H
#define AZC_FRONTENDS_SAFETENSORS_CHECKPOINT_H

#include "frontends/safetensors/SafetensorsFile.h"

#include <map>
#include <optional>

namespace azc::safetensors {

/// Rotary position embedding: inverse frequencies theta^(-2i/d) for the
/// first `dim` dims of each head, rescaled as the config's rope_scaling
/// says ("linear", "dynamic" at build-time length, "llama3", "yarn" is
/// refused).
struct RopeConfig {
  double theta = 10000.0;
  int64_t dim = 0;     ///< rotated dims per head (head_dim * partial factor)
  std::string scaling; ///< "" (none), "linear", "llama3"
  double factor = 1.0;
  double lowFreqFactor = 1.0, highFreqFactor = 4.0;
  int64_t originalMaxPositions = 8192;
};

struct DecoderConfig {
  std::string family; ///< "llama" (also mistral, qwen2) or "gpt2"
  std::string modelType;
  int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, kvHeads = 0;
  int64_t headDim = 0, intermediate = 0, maxPositions = 0;
  double normEpsilon = 1e-6;
  bool tiedEmbeddings = false;
  bool attentionBias = false; ///< q/k/v projections carry biases (Qwen2)
  std::string activation;     ///< "silu", "gelu_new", ...
  RopeConfig rope;
};

class Checkpoint {
public:
  /// Reads `folder`; null with `error` on failure.
  static std::unique_ptr<Checkpoint> open(const std::string &folder,
                                          std::string &error);

  const DecoderConfig &config() const { return config_; }
  const std::string &folder() const { return folder_; }

  /// The tensor `name` with exactly `shape`; null with `error` (naming the
  /// tensor, the file and both shapes) otherwise.
  const TensorView *tensor(const std::string &name,
                           const std::vector<int64_t> &shape,
                           std::string &error) const;
  bool has(const std::string &name) const;

private:
  std::string folder_;
  DecoderConfig config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsFile *> where_;
};

} // namespace azc::safetensors

#endif // AZC_FRONTENDS_SAFETENSORS_CHECKPOINT_H

//===- Checkpoint.cpp - a Hugging Face-style checkpoint folder ------------===//

#include "frontends/safetensors/Checkpoint.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace azc::safetensors;

namespace {

std::optional<llvm::json::Value> readJson(const std::string &path,
                                          std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    error = path + ": cannot read: " + buffer.getError().message();
    return std::nullopt;
  }
  llvm::Expected<llvm::json::Value> value =
      llvm::json::parse((*buffer)->getBuffer());
  if (!value) {
    error = path + ": not valid JSON: " + llvm::toString(value.takeError());
    return std::nullopt;
  }
  return std::move(*value);
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// Reads config.json into `config`; false with `error` naming the key.
bool readConfig(const llvm::json::Object &json, const std::string &path,
                DecoderConfig &config, std::string &error) {
  auto integer = [&](llvm::StringRef key, int64_t &out,
                     std::optional<int64_t> otherwise = std::nullopt) {
    if (std::optional<int64_t> v = json.getInteger(key)) {
      out = *v;
    } else if (otherwise) {
      out = *otherwise;
    } else {
      error = path + ": '" + key.str() + "' is missing or not an integer";
      return false;
    }
    if (out < 0) {
      error = path + ": '" + key.str() + "' is negative";
      return false;
    }
    return true;
  };
  auto number = [&](llvm::StringRef key, double &out, double otherwise) {
    out = json.getNumber(key).value_or(otherwise);
  };
  config.modelType = json.getString("model_type").value_or("").str();
  const std::string &type = config.modelType;
  if (type == "llama" || type == "mistral" || type == "qwen2") {
    config.family = "llama";
    if (!integer("vocab_size", config.vocab) ||
        !integer("hidden_size", config.hidden) ||
        !integer("num_hidden_layers", config.layers) ||
        !integer("num_attention_heads", config.heads) ||
        !integer("num_key_value_heads", config.kvHeads, config.heads) ||
        !integer("intermediate_size", config.intermediate) ||
        !integer("max_position_embeddings", config.maxPositions, 2048))
      return false;
    if (config.heads == 0 || config.hidden % config.heads != 0) {
      error = path + ": hidden_size is not a multiple of num_attention_heads";
      return false;
    }
    if (!integer("head_dim", config.headDim, config.hidden / config.heads))
      return false;
    number("rms_norm_eps", config.normEpsilon, 1e-6);
    config.tiedEmbeddings = json.getBoolean("tie_word_embeddings")
                                .value_or(type == "qwen2" ? false : false);
    config.attentionBias =
        type == "qwen2" || json.getBoolean("attention_bias").value_or(false);
    config.activation = json.getString("hidden_act").value_or("silu").str();
    number("rope_theta", config.rope.theta, 10000.0);
    config.rope.dim = config.headDim;
    if (const llvm::json::Object *scaling = json.getObject("rope_scaling")) {
      std::string kind = scaling->getString("rope_type")
                             .value_or(scaling->getString("type").value_or(""))
                             .str();
      config.rope.factor = scaling->getNumber("factor").value_or(1.0);
      if (kind == "linear" || kind == "llama3") {
        config.rope.scaling = kind;
        config.rope.lowFreqFactor =
            scaling->getNumber("low_freq_factor").value_or(1.0);
        config.rope.highFreqFactor =
            scaling->getNumber("high_freq_factor").value_or(4.0);
        config.rope.originalMaxPositions =
            scaling->getInteger("original_max_position_embeddings")
                .value_or(8192);
      } else if (kind != "default" && !kind.empty()) {
        error = path + ": rope_scaling type '" + kind +
                "' is not supported (linear and llama3 are)";
        return false;
      }
    }
    if (std::optional<int64_t> window = json.getInteger("sliding_window"))
      if (json.getBoolean("use_sliding_window").value_or(type == "mistral") &&
          *window < config.maxPositions) {
        error = path + ": a sliding attention window (" +
                std::to_string(*window) +
                " tokens) is not supported yet; the engine would attend to "
                "the whole context";
        return false;
      }
  } else if (type == "gpt2") {
    config.family = "gpt2";
    if (!integer("vocab_size", config.vocab) ||
        !integer("n_embd", config.hidden) ||
        !integer("n_layer", config.layers) ||
        !integer("n_head", config.heads) ||
        !integer("n_positions", config.maxPositions, 1024))
      return false;
    if (config.heads == 0 || config.hidden % config.heads != 0) {
      error = path + ": n_embd is not a multiple of n_head";
      return false;
    }
    config.kvHeads = config.heads;
    config.headDim = config.hidden / config.heads;
    int64_t inner = 0;
    if (!integer("n_inner", inner, 4 * config.hidden))
      return false;
    config.intermediate = inner ? inner : 4 * config.hidden;
    number("layer_norm_epsilon", config.normEpsilon, 1e-5);
    config.tiedEmbeddings = true;
    config.activation =
        json.getString("activation_function").value_or("gelu_new").str();
  } else {
    error = path + ": model_type '" + type +
            "' is not supported (llama, mistral, qwen2 and gpt2 are)";
    return false;
  }
  if (config.kvHeads == 0 || config.heads % config.kvHeads != 0) {
    error = path + ": num_attention_heads is not a multiple of "
                   "num_key_value_heads";
    return false;
  }
  return true;
}

} // namespace

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string &folder,
                                             std::string &error) {
  auto checkpoint = std::unique_ptr<Checkpoint>(new Checkpoint());
  checkpoint->folder_ = folder;
  auto join = [&](llvm::StringRef name) {
    llvm::SmallString<256> path(folder);
    llvm::sys::path::append(path, name);
    return path.str().str();
  };
  std::string configPath = join("config.json");
  std::optional<llvm::json::Value> config = readJson(configPath, error);
  if (!config)
    return nullptr;
  if (!config->getAsObject()) {
    error = configPath + ": not a JSON object";
    return nullptr;
  }
  if (!readConfig(*config->getAsObject(), configPath, checkpoint->config_,
                  error))
    return nullptr;

  std::vector<std::string> shards;
  std::string index = join("model.safetensors.index.json");
  if (llvm::sys::fs::exists(index)) {
    std::optional<llvm::json::Value> json = readJson(index, error);
    if (!json)
      return nullptr;
    const llvm::json::Object *map =
        json->getAsObject() ? json->getAsObject()->getObject("weight_map")
                            : nullptr;
    if (!map) {
      error = index + ": no weight_map object";
      return nullptr;
    }
    for (const auto &[name, file] : *map) {
      std::optional<llvm::StringRef> shard = file.getAsString();
      if (!shard || shard->contains('/') || shard->contains("..")) {
        error = index + ": tensor '" + name.str() +
                "' maps to a bad file name (shards must lie in the folder)";
        return nullptr;
      }
      if (std::find(shards.begin(), shards.end(), shard->str()) == shards.end())
        shards.push_back(shard->str());
    }
    std::sort(shards.begin(), shards.end());
  } else {
    shards.push_back("model.safetensors");
  }
  for (const std::string &shard : shards) {
    std::unique_ptr<SafetensorsFile> file =
        SafetensorsFile::open(join(shard), error);
    if (!file)
      return nullptr;
    for (const std::string &name : file->names())
      if (!checkpoint->where_.emplace(name, file.get()).second) {
        error =
            join(shard) + ": tensor '" + name + "' is also in another shard";
        return nullptr;
      }
    checkpoint->files_.push_back(std::move(file));
  }
  return checkpoint;
}

bool Checkpoint::has(const std::string &name) const {
  return where_.count(name) != 0;
}

const TensorView *Checkpoint::tensor(const std::string &name,
                                     const std::vector<int64_t> &shape,
                                     std::string &error) const {
  auto it = where_.find(name);
  if (it == where_.end()) {
    error = folder_ + ": the checkpoint has no tensor '" + name +
            "', which a " + config_.modelType +
            " model with this config.json " + "needs";
    return nullptr;
  }
  const TensorView *view = it->second->find(name);
  if (view->shape != shape) {
    error = it->second->path() + ": tensor '" + name + "' has shape " +
            shapeText(view->shape) + ", but config.json implies " +
            shapeText(shape);
    return nullptr;
  }
  return view;
}

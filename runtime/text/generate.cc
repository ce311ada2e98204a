//===- generate.cc - the C API of libazr_text: tokenizers, generation -----===//
//
// Generation drives an engine with the KV-cache interface: each run takes
// input_ids and the cache (past_*) and gives logits and the grown cache
// (present_*), which the next run takes as its past. The first run is the
// prompt with an empty cache (prefill), then one token per run (decode).
// Engines exported with other conventions are matched by name:
// past_key_values.N.key -> present.N.key, and attention_mask and
// position_ids inputs are filled in as the cache grows. Engines built with
// --paged_kv_cache (inputs kv_block_table and kv_past_lengths) keep the
// cache in the runtime instead: one sequence of a cache sized for the
// prompt and the new tokens, reserved before each run and committed after,
// so nothing is copied between runs.
//
//===----------------------------------------------------------------------===//

#include "azr/azr_text.h"
#include "text/tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

struct azr_tokenizer_s {
  std::unique_ptr<azr::text::Tokenizer> tokenizer;
  std::vector<int64_t> eos; ///< from generation_config.json, or guessed
};

namespace {

azr_status_t refuse(azr_status_code_t code, const std::string &message) {
  return azr_status_make(code, "%s", message.c_str());
}

/// The EOS ids a generation_config.json names (an id or a list).
std::vector<int64_t> eosFromConfig(const std::string &text) {
  std::vector<int64_t> ids;
  nlohmann::json config = nlohmann::json::parse(text, nullptr, false);
  if (!config.is_object() || !config.contains("eos_token_id"))
    return ids;
  const nlohmann::json &eos = config["eos_token_id"];
  if (eos.is_number_integer())
    ids.push_back(eos.get<int64_t>());
  else if (eos.is_array())
    for (const nlohmann::json &id : eos)
      if (id.is_number_integer())
        ids.push_back(id.get<int64_t>());
  return ids;
}

/// splitmix64: a fixed generator, so a seed means the same tokens on every
/// platform and library.
struct Random {
  uint64_t state;
  double uniform() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return double(z >> 11) * (1.0 / 9007199254740992.0);
  }
};

int64_t chooseToken(std::vector<float> logits, const azr_sampling_t &sampling,
                    const std::vector<int64_t> &seen, Random &random) {
  if (sampling.repetition_penalty > 0 && sampling.repetition_penalty != 1.0f)
    for (int64_t id : seen)
      if (id >= 0 && size_t(id) < logits.size()) {
        float &l = logits[size_t(id)];
        l = l > 0 ? l / sampling.repetition_penalty
                  : l * sampling.repetition_penalty;
      }
  if (sampling.temperature <= 0)
    return int64_t(std::max_element(logits.begin(), logits.end()) -
                   logits.begin());
  std::vector<int64_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  size_t keep = order.size();
  if (sampling.top_k > 0)
    keep = std::min(keep, size_t(sampling.top_k));
  std::partial_sort(order.begin(), order.begin() + long(keep), order.end(),
                    [&](int64_t a, int64_t b) {
                      return logits[size_t(a)] > logits[size_t(b)];
                    });
  order.resize(keep);
  std::vector<double> p(keep);
  double top = logits[size_t(order[0])], sum = 0;
  for (size_t i = 0; i < keep; ++i)
    sum += p[i] = std::exp((logits[size_t(order[i])] - top) /
                           double(sampling.temperature));
  // Nucleus: the smallest prefix whose probability reaches top_p.
  double cumulative = 0;
  size_t nucleus = keep;
  if (sampling.top_p > 0 && sampling.top_p < 1)
    for (size_t i = 0; i < keep; ++i) {
      cumulative += p[i] / sum;
      if (cumulative >= sampling.top_p) {
        nucleus = i + 1;
        break;
      }
    }
  double mass = std::accumulate(p.begin(), p.begin() + long(nucleus), 0.0);
  double r = random.uniform() * mass;
  for (size_t i = 0; i < nucleus; ++i) {
    r -= p[i];
    if (r <= 0)
      return order[i];
  }
  return order[nucleus - 1];
}

/// Length of the longest prefix of `text` that ends on a whole UTF-8
/// character.
size_t completeUtf8(const std::string &text) {
  size_t n = text.size(), i = n;
  while (i > 0 && i > n - 4 && (uint8_t(text[i - 1]) & 0xC0) == 0x80)
    --i;
  if (i == 0)
    return n;
  uint8_t lead = uint8_t(text[i - 1]);
  size_t need = lead < 0x80         ? 1
                : (lead >> 5) == 6  ? 2
                : (lead >> 4) == 14 ? 3
                : (lead >> 3) == 30 ? 4
                                    : 1;
  return n - (i - 1) >= need ? n : i - 1;
}

struct CacheSlot {
  std::string past, present;
  int64_t dims[AZR_MAX_RANK];
  size_t rank;
  size_t growAxis; ///< the dim that grows by the chunk length each run
};

} // namespace

extern "C" {

azr_status_t azr_tokenizer_create(const char *json, size_t length,
                                  const char *origin, azr_tokenizer_t **out) {
  if (!json || !out)
    return refuse(AZR_STATUS_INVALID_ARGUMENT,
                  "azr_tokenizer_create: null argument");
  *out = nullptr;
  std::string error;
  auto tokenizer = azr::text::Tokenizer::create(
      std::string(json, length), origin ? origin : "tokenizer.json", error);
  if (!tokenizer)
    return refuse(AZR_STATUS_INVALID_ARGUMENT, error);
  auto *result = new azr_tokenizer_s();
  result->tokenizer = std::move(tokenizer);
  for (const char *name : {"<|endoftext|>", "</s>", "<|end_of_text|>",
                           "<|im_end|>", "<|eot_id|>"}) {
    int64_t id = result->tokenizer->tokenId(name);
    if (id >= 0)
      result->eos.push_back(id);
  }
  *out = result;
  return nullptr;
}

azr_status_t azr_tokenizer_from_engine(const azr_engine_t *engine,
                                       azr_tokenizer_t **out) {
  const void *data;
  size_t size;
  if (azr_status_t status =
          azr_engine_attachment(engine, "tokenizer.json", &data, &size))
    return status;
  if (azr_status_t status =
          azr_tokenizer_create(static_cast<const char *>(data), size,
                               "the engine's tokenizer.json", out))
    return status;
  if (!azr_engine_attachment(engine, "generation_config.json", &data, &size)) {
    std::vector<int64_t> eos =
        eosFromConfig(std::string(static_cast<const char *>(data), size));
    if (!eos.empty())
      (*out)->eos = eos;
  }
  return nullptr;
}

void azr_tokenizer_release(azr_tokenizer_t *tokenizer) { delete tokenizer; }

azr_status_t azr_tokenizer_encode(const azr_tokenizer_t *tokenizer,
                                  const char *text, size_t length,
                                  int add_special, int64_t *ids,
                                  size_t capacity, size_t *count) {
  if (!tokenizer || (!text && length) || (!ids && capacity))
    return refuse(AZR_STATUS_INVALID_ARGUMENT,
                  "azr_tokenizer_encode: null argument");
  std::vector<int64_t> all = tokenizer->tokenizer->encode(
      std::string(text ? text : "", length), add_special != 0);
  std::copy_n(all.begin(), std::min(capacity, all.size()), ids);
  if (count)
    *count = all.size();
  return nullptr;
}

azr_status_t azr_tokenizer_decode(const azr_tokenizer_t *tokenizer,
                                  const int64_t *ids, size_t count,
                                  int skip_special, char *text, size_t capacity,
                                  size_t *length) {
  if (!tokenizer || (!ids && count) || (!text && capacity))
    return refuse(AZR_STATUS_INVALID_ARGUMENT,
                  "azr_tokenizer_decode: null argument");
  std::string all = tokenizer->tokenizer->decode(
      std::vector<int64_t>(ids, ids + count), skip_special != 0);
  if (capacity) {
    size_t n = std::min(capacity - 1, all.size());
    memcpy(text, all.data(), n);
    text[n] = '\0';
  }
  if (length)
    *length = all.size();
  return nullptr;
}

int64_t azr_tokenizer_token_id(const azr_tokenizer_t *tokenizer,
                               const char *token) {
  return tokenizer && token ? tokenizer->tokenizer->tokenId(token) : -1;
}

azr_status_t azr_generate(azr_session_t *session,
                          const azr_tokenizer_t *tokenizer,
                          const int64_t *prompt, size_t prompt_length,
                          const azr_generate_options_t *options, int64_t *out,
                          size_t capacity, size_t *generated,
                          azr_generate_stats_t *stats) {
  if (!session || !prompt || !options || (!out && capacity))
    return refuse(AZR_STATUS_INVALID_ARGUMENT, "azr_generate: null argument");
  if (prompt_length == 0)
    return refuse(AZR_STATUS_INVALID_ARGUMENT,
                  "azr_generate: the prompt is empty");
  const azr_engine_t *engine = azr_session_engine(session);

  // The engine's interface: input_ids, the cache, optional mask/positions.
  bool hasIds = false, hasMask = false, hasPositions = false, paged = false;
  int64_t maxBlocks = 0;
  std::vector<CacheSlot> cache;
  std::vector<std::string> outputs;
  for (size_t i = 0; i < azr_engine_output_count(engine); ++i) {
    azr_tensor_info_t info;
    azr_engine_output_info(engine, i, &info);
    outputs.push_back(info.name);
  }
  for (size_t i = 0; i < azr_engine_input_count(engine); ++i) {
    azr_tensor_info_t info;
    azr_engine_input_info(engine, i, &info);
    std::string name = info.name;
    if (name == "input_ids") {
      hasIds = true;
    } else if (name == "attention_mask") {
      hasMask = true;
    } else if (name == "position_ids") {
      hasPositions = true;
    } else if (name == "kv_block_table" && info.rank == 2) {
      paged = true;
      maxBlocks = info.dims[1];
    } else if (name == "kv_past_lengths") {
      // Filled by azr_session_set_kv_sequences with the block table.
    } else if (name.find("past") != std::string::npos) {
      CacheSlot slot;
      slot.past = name;
      for (auto [from, to] :
           {std::pair<std::string, std::string>{"past_key_values", "present"},
            {"past", "present"}}) {
        std::string candidate = name;
        size_t at = candidate.find(from);
        if (at == std::string::npos)
          continue;
        candidate.replace(at, from.size(), to);
        if (std::find(outputs.begin(), outputs.end(), candidate) !=
            outputs.end()) {
          slot.present = candidate;
          break;
        }
      }
      if (slot.present.empty())
        return refuse(AZR_STATUS_INVALID_ARGUMENT,
                      "azr_generate: the engine has no output for cache "
                      "input '" +
                          name + "' (expected present...)");
      slot.rank = info.rank;
      std::copy(info.dims, info.dims + info.rank, slot.dims);
      // Batch is dim 0 (one sequence); the growing dim is the one that
      // varies and is not the batch.
      slot.growAxis = info.rank;
      for (size_t d = 0; d < info.rank; ++d)
        if (info.dims[d] < 0) {
          slot.dims[d] = d == 0 ? 1 : 0;
          if (d != 0)
            slot.growAxis = d;
        }
      if (slot.growAxis == info.rank)
        return refuse(AZR_STATUS_INVALID_ARGUMENT,
                      "azr_generate: cache input '" + name +
                          "' has no dim that varies (build the engine with a "
                          "range for the cache length)");
      cache.push_back(slot);
    } else {
      return refuse(AZR_STATUS_INVALID_ARGUMENT,
                    "azr_generate: the engine's input '" + name +
                        "' is not one generation knows how to fill");
    }
  }
  if (!hasIds ||
      std::find(outputs.begin(), outputs.end(), "logits") == outputs.end())
    return refuse(AZR_STATUS_INVALID_ARGUMENT,
                  "azr_generate: the engine needs an input 'input_ids' and an "
                  "output 'logits'");

  std::vector<int64_t> ids(prompt, prompt + prompt_length), produced;
  std::vector<int64_t> stops(options->stop_tokens,
                             options->stop_tokens + options->stop_token_count);
  if (tokenizer)
    stops.insert(stops.end(), tokenizer->eos.begin(), tokenizer->eos.end());
  Random random{options->sampling.seed};
  std::string text;
  size_t emitted = 0;
  int64_t past = 0;
  azr_generate_stats_t timing = {};
  timing.prompt_tokens = prompt_length;
  std::vector<int64_t> seen(prompt, prompt + prompt_length);
  azr_status_t status = nullptr;

  // Paged: a cache holding this one sequence, at most as long as the
  // engine's block table allows (a longer request is refused by reserve).
  azr_kv_cache_t *kv = nullptr;
  int64_t sequence = -1;
  if (paged) {
    status = azr_kv_cache_create(engine, size_t(maxBlocks), nullptr, &kv);
    if (!status)
      status = azr_kv_cache_add_sequence(kv, &sequence);
    if (status) {
      azr_kv_cache_release(kv);
      return status;
    }
  }

  for (size_t step = 0; step < options->max_new_tokens; ++step) {
    const int64_t chunk = int64_t(ids.size());
    int64_t idDims[2] = {1, chunk};
    status = azr_session_set_input(session, "input_ids", AZR_DTYPE_I64, idDims,
                                   2, ids.data(), ids.size() * 8);
    if (!status && hasMask) {
      std::vector<int64_t> mask(size_t(past + chunk), 1);
      int64_t dims[2] = {1, past + chunk};
      status = azr_session_set_input(session, "attention_mask", AZR_DTYPE_I64,
                                     dims, 2, mask.data(), mask.size() * 8);
    }
    if (!status && hasPositions) {
      std::vector<int64_t> positions(static_cast<size_t>(chunk));
      std::iota(positions.begin(), positions.end(), past);
      status =
          azr_session_set_input(session, "position_ids", AZR_DTYPE_I64, idDims,
                                2, positions.data(), positions.size() * 8);
    }
    if (!status && kv) {
      status = azr_kv_cache_reserve(kv, sequence, size_t(chunk));
      if (!status)
        status = azr_session_set_kv_sequences(session, kv, &sequence, 1);
    }
    for (CacheSlot &slot : cache) {
      if (status)
        break;
      if (step == 0) {
        slot.dims[slot.growAxis] = 0;
        status =
            azr_session_set_input(session, slot.past.c_str(), AZR_DTYPE_F32,
                                  slot.dims, slot.rank, nullptr, 0);
        continue;
      }
      azr_tensor_info_t info;
      const void *data;
      status =
          azr_session_get_output(session, slot.present.c_str(), &info, &data);
      if (status)
        break;
      size_t bytes = 4;
      for (size_t d = 0; d < info.rank; ++d)
        bytes *= size_t(info.dims[d]);
      // The present buffer is rewritten by the next run: copy it in first.
      status = azr_session_set_input(session, slot.past.c_str(), info.dtype,
                                     info.dims, info.rank, data, bytes);
    }
    if (status)
      break;
    auto start = std::chrono::steady_clock::now();
    status = azr_session_run(session);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    (step == 0 ? timing.prefill_seconds : timing.decode_seconds) += seconds;
    if (!status && kv)
      status = azr_kv_cache_commit(kv, sequence, size_t(chunk));
    if (status)
      break;
    azr_tensor_info_t info;
    const void *data;
    status = azr_session_get_output(session, "logits", &info, &data);
    if (status)
      break;
    const int64_t vocab = info.dims[info.rank - 1];
    const float *row = static_cast<const float *>(data) + (chunk - 1) * vocab;
    int64_t token = chooseToken(std::vector<float>(row, row + vocab),
                                options->sampling, seen, random);
    past += chunk;
    ids = {token};
    seen.push_back(token);
    produced.push_back(token);
    ++timing.new_tokens;

    bool stop = std::find(stops.begin(), stops.end(), token) != stops.end();
    std::string piece;
    if (tokenizer) {
      // Pieces end on whole characters: bytes of one still incomplete wait.
      text = tokenizer->tokenizer->decodeBytes(produced, /*skipSpecial=*/true);
      size_t ready = completeUtf8(text);
      if (ready > emitted) {
        piece = azr::text::validUtf8(text.substr(emitted, ready - emitted));
        emitted = ready;
      }
      for (size_t s = 0; s < options->stop_sequence_count; ++s) {
        const char *sequence = options->stop_sequences[s];
        if (sequence && *sequence && text.find(sequence) != std::string::npos)
          stop = true;
      }
    }
    if (options->callback &&
        options->callback(options->user, token, piece.c_str()))
      stop = true;
    if (stop)
      break;
  }
  if (tokenizer && options->callback && emitted < text.size())
    options->callback(options->user, -1,
                      azr::text::validUtf8(text.substr(emitted)).c_str());
  azr_kv_cache_release(kv);
  std::copy_n(produced.begin(), std::min(capacity, produced.size()), out);
  if (generated)
    *generated = produced.size();
  if (stats)
    *stats = timing;
  return status;
}

} // extern "C"

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

/// How a language-model engine takes its inputs, read from their names.
struct DecoderInterface {
  bool hasMask = false, hasPositions = false, paged = false;
  int64_t maxBlocks = 0;        ///< paged: the block table's width
  std::vector<CacheSlot> cache; ///< copied caches: past_* <- present_*
};

azr_status_t readInterface(const azr_engine_t *engine, const char *caller,
                           DecoderInterface &decoder) {
  bool hasIds = false;
  std::vector<std::string> outputs;
  for (size_t i = 0; i < azr_engine_output_count(engine); ++i) {
    azr_tensor_info_t info;
    azr_engine_output_info(engine, i, &info);
    outputs.push_back(info.name);
  }
  const std::string who = caller;
  for (size_t i = 0; i < azr_engine_input_count(engine); ++i) {
    azr_tensor_info_t info;
    azr_engine_input_info(engine, i, &info);
    std::string name = info.name;
    if (name == "input_ids") {
      hasIds = true;
    } else if (name == "attention_mask") {
      decoder.hasMask = true;
    } else if (name == "position_ids") {
      decoder.hasPositions = true;
    } else if (name == "kv_block_table" && info.rank == 2) {
      decoder.paged = true;
      decoder.maxBlocks = info.dims[1];
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
                      who + ": the engine has no output for cache input '" +
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
                      who + ": cache input '" + name +
                          "' has no dim that varies (build the engine with a "
                          "range for the cache length)");
      decoder.cache.push_back(slot);
    } else {
      return refuse(AZR_STATUS_INVALID_ARGUMENT,
                    who + ": the engine's input '" + name +
                        "' is not one generation knows how to fill");
    }
  }
  if (!hasIds ||
      std::find(outputs.begin(), outputs.end(), "logits") == outputs.end())
    return refuse(AZR_STATUS_INVALID_ARGUMENT,
                  who + ": the engine needs an input 'input_ids' and an "
                        "output 'logits'");
  return nullptr;
}

/// One sequence run chunk by chunk: the first run starts from an empty
/// cache, each later one continues from what the earlier runs cached. A
/// paged engine gets a cache of its own, sized for one sequence.
class SequenceRunner {
public:
  SequenceRunner(azr_session_t *session, const DecoderInterface &decoder)
      : session(session), decoder(decoder) {}
  SequenceRunner(const SequenceRunner &) = delete;
  SequenceRunner &operator=(const SequenceRunner &) = delete;
  ~SequenceRunner() { azr_kv_cache_release(kv); }

  /// Runs `chunk` ids after the cached ones; `seconds` gets the run's time.
  azr_status_t run(const int64_t *ids, int64_t chunk, double &seconds) {
    if (decoder.paged && !kv) {
      if (azr_status_t status =
              azr_kv_cache_create(azr_session_engine(session),
                                  size_t(decoder.maxBlocks), nullptr, &kv))
        return status;
      if (azr_status_t status = azr_kv_cache_add_sequence(kv, &sequence))
        return status;
    }
    int64_t idDims[2] = {1, chunk};
    azr_status_t status = azr_session_set_input(
        session, "input_ids", AZR_DTYPE_I64, idDims, 2, ids, size_t(chunk) * 8);
    if (!status && decoder.hasMask) {
      std::vector<int64_t> mask(size_t(past + chunk), 1);
      int64_t dims[2] = {1, past + chunk};
      status = azr_session_set_input(session, "attention_mask", AZR_DTYPE_I64,
                                     dims, 2, mask.data(), mask.size() * 8);
    }
    if (!status && decoder.hasPositions) {
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
    for (const CacheSlot &slot : decoder.cache) {
      if (status)
        break;
      if (past == 0) {
        int64_t dims[AZR_MAX_RANK];
        std::copy(slot.dims, slot.dims + slot.rank, dims);
        dims[slot.growAxis] = 0;
        status =
            azr_session_set_input(session, slot.past.c_str(), AZR_DTYPE_F32,
                                  dims, slot.rank, nullptr, 0);
        continue;
      }
      azr_tensor_info_t info;
      const void *data;
      status =
          azr_session_get_output(session, slot.present.c_str(), &info, &data);
      if (status)
        break;
      size_t bytes = azr_dtype_size(info.dtype);
      for (size_t d = 0; d < info.rank; ++d)
        bytes *= size_t(info.dims[d]);
      // The present buffer is rewritten by the next run: copy it in first.
      status = azr_session_set_input(session, slot.past.c_str(), info.dtype,
                                     info.dims, info.rank, data, bytes);
    }
    if (status)
      return status;
    auto start = std::chrono::steady_clock::now();
    status = azr_session_run(session);
    seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (!status && kv)
      status = azr_kv_cache_commit(kv, sequence, size_t(chunk));
    if (!status)
      past += chunk;
    return status;
  }

  /// The logits of the last run: [chunk, vocab] rows.
  azr_status_t logits(const float *&rows, int64_t &vocab) {
    azr_tensor_info_t info;
    const void *data;
    if (azr_status_t status =
            azr_session_get_output(session, "logits", &info, &data))
      return status;
    if (info.dtype != AZR_DTYPE_F32 || info.rank < 1)
      return refuse(AZR_STATUS_INVALID_ARGUMENT,
                    "the engine's logits must be f32 [..., vocab]");
    vocab = info.dims[info.rank - 1];
    rows = static_cast<const float *>(data);
    return nullptr;
  }

private:
  azr_session_t *session;
  const DecoderInterface &decoder;
  azr_kv_cache_t *kv = nullptr;
  int64_t sequence = -1;
  int64_t past = 0;
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
  DecoderInterface decoder;
  if (azr_status_t status =
          readInterface(azr_session_engine(session), "azr_generate", decoder))
    return status;

  std::vector<int64_t> ids(prompt, prompt + prompt_length), produced;
  std::vector<int64_t> stops(options->stop_tokens,
                             options->stop_tokens + options->stop_token_count);
  if (tokenizer)
    stops.insert(stops.end(), tokenizer->eos.begin(), tokenizer->eos.end());
  Random random{options->sampling.seed};
  std::string text;
  size_t emitted = 0;
  azr_generate_stats_t timing = {};
  timing.prompt_tokens = prompt_length;
  std::vector<int64_t> seen(prompt, prompt + prompt_length);
  azr_status_t status = nullptr;

  SequenceRunner runner(session, decoder);

  for (size_t step = 0; step < options->max_new_tokens; ++step) {
    const int64_t chunk = int64_t(ids.size());
    double seconds = 0;
    status = runner.run(ids.data(), chunk, seconds);
    (step == 0 ? timing.prefill_seconds : timing.decode_seconds) += seconds;
    if (status)
      break;
    const float *rows;
    int64_t vocab;
    status = runner.logits(rows, vocab);
    if (status)
      break;
    const float *row = rows + (chunk - 1) * vocab;
    int64_t token = chooseToken(std::vector<float>(row, row + vocab),
                                options->sampling, seen, random);
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
  std::copy_n(produced.begin(), std::min(capacity, produced.size()), out);
  if (generated)
    *generated = produced.size();
  if (stats)
    *stats = timing;
  return status;
}

azr_status_t azr_score(azr_session_t *session, const int64_t *ids, size_t count,
                       size_t first_scored, double *log_likelihood,
                       size_t *scored) {
  if (!session || !ids || !log_likelihood)
    return refuse(AZR_STATUS_INVALID_ARGUMENT, "azr_score: null argument");
  if (first_scored < 1 || first_scored > count)
    return refuse(AZR_STATUS_INVALID_ARGUMENT,
                  "azr_score: first_scored " + std::to_string(first_scored) +
                      " must be in 1.." + std::to_string(count) +
                      " (the first id has no prediction)");
  DecoderInterface decoder;
  if (azr_status_t status =
          readInterface(azr_session_engine(session), "azr_score", decoder))
    return status;
  SequenceRunner runner(session, decoder);
  double seconds;
  if (azr_status_t status = runner.run(ids, int64_t(count), seconds))
    return status;
  const float *rows;
  int64_t vocab;
  if (azr_status_t status = runner.logits(rows, vocab))
    return status;
  double sum = 0;
  for (size_t t = first_scored; t < count; ++t) {
    if (ids[t] < 0 || ids[t] >= vocab)
      return refuse(AZR_STATUS_INVALID_ARGUMENT,
                    "azr_score: id " + std::to_string(ids[t]) +
                        " is outside the vocabulary of " +
                        std::to_string(vocab));
    const float *row = rows + int64_t(t - 1) * vocab;
    double peak = -INFINITY;
    for (int64_t v = 0; v < vocab; ++v)
      peak = std::max(peak, double(row[v]));
    double total = 0;
    for (int64_t v = 0; v < vocab; ++v)
      total += std::exp(double(row[v]) - peak);
    sum += double(row[ids[t]]) - peak - std::log(total);
  }
  *log_likelihood = sum;
  if (scored)
    *scored = count - first_scored;
  return nullptr;
}

azr_status_t
azr_generate_batch(azr_session_t *session, const azr_tokenizer_t *tokenizer,
                   const int64_t *const *prompts, const size_t *prompt_lengths,
                   size_t count, const azr_generate_options_t *options,
                   int64_t *const *outs, size_t capacity, size_t *generated,
                   azr_generate_batch_stats_t *stats) {
  if (!session || !prompts || !prompt_lengths || !options || !generated ||
      (!outs && capacity) || count == 0)
    return refuse(AZR_STATUS_INVALID_ARGUMENT,
                  "azr_generate_batch: null argument or no prompts");
  for (size_t i = 0; i < count; ++i)
    if (!prompts[i] || prompt_lengths[i] == 0 || (capacity && !outs[i]))
      return refuse(AZR_STATUS_INVALID_ARGUMENT,
                    "azr_generate_batch: prompt " + std::to_string(i) +
                        " is empty or has no output buffer");
  const azr_engine_t *engine = azr_session_engine(session);
  DecoderInterface decoder;
  if (azr_status_t status =
          readInterface(engine, "azr_generate_batch", decoder))
    return status;
  if (!decoder.paged)
    return refuse(AZR_STATUS_INVALID_ARGUMENT,
                  "azr_generate_batch: sequences of different lengths share "
                  "a run only with a paged KV cache (azc build "
                  "--paged_kv_cache); call azr_generate per prompt");
  // The rows and tokens one run takes.
  int64_t maxRows = 0, maxChunk = 0;
  for (size_t i = 0; i < azr_engine_input_count(engine); ++i) {
    azr_tensor_info_t info;
    azr_engine_input_info(engine, i, &info);
    if (std::string(info.name) == "input_ids") {
      azr_engine_input_dim(engine, i, 0, nullptr, &maxRows, nullptr);
      azr_engine_input_dim(engine, i, 1, nullptr, &maxChunk, nullptr);
    }
  }

  struct Sequence {
    int64_t id = -1;
    size_t prompt = 0; ///< index into prompts
    std::vector<int64_t> seen, produced;
    Random random{0};
    std::string text;
    bool done = false;
  };
  std::vector<Sequence> sequences(count);
  // Identical prompts are prefilled once: the others fork the first one's
  // blocks, so the prompt is stored once however many samples share it.
  std::vector<size_t> owner(count);
  for (size_t i = 0; i < count; ++i) {
    owner[i] = i;
    for (size_t j = 0; j < i; ++j)
      if (owner[j] == j && prompt_lengths[j] == prompt_lengths[i] &&
          std::equal(prompts[i], prompts[i] + prompt_lengths[i], prompts[j])) {
        owner[i] = j;
        break;
      }
    if (int64_t(prompt_lengths[i]) > maxChunk)
      return refuse(AZR_STATUS_OUT_OF_RANGE,
                    "azr_generate_batch: prompt " + std::to_string(i) +
                        " has " + std::to_string(prompt_lengths[i]) +
                        " tokens; the engine takes at most " +
                        std::to_string(maxChunk) + " per run");
  }

  azr_kv_cache_t *kv = nullptr;
  struct CacheGuard {
    azr_kv_cache_t *&cache;
    ~CacheGuard() { azr_kv_cache_release(cache); }
  } guard{kv};
  if (azr_status_t status = azr_kv_cache_create(
          engine, count * size_t(decoder.maxBlocks), nullptr, &kv))
    return status;
  azr_generate_batch_stats_t timing = {};
  auto noteBlocks = [&] {
    timing.kv_blocks_peak =
        std::max(timing.kv_blocks_peak, azr_kv_cache_block_count(kv) -
                                            azr_kv_cache_free_block_count(kv));
  };
  std::vector<int64_t> stops(options->stop_tokens,
                             options->stop_tokens + options->stop_token_count);
  if (tokenizer)
    stops.insert(stops.end(), tokenizer->eos.begin(), tokenizer->eos.end());

  // One run over `rows` (sequence indices), each with its own tokens
  // padded to the longest; the logits of each row's last real token are
  // handed to `take`.
  std::vector<int64_t> ids, positions, kvIds;
  auto runRows = [&](const std::vector<size_t> &rows,
                     const std::vector<std::vector<int64_t>> &chunks,
                     double &seconds, auto take) -> azr_status_t {
    size_t width = 0;
    for (const auto &chunk : chunks)
      width = std::max(width, chunk.size());
    ids.assign(rows.size() * width, 0);
    positions.assign(ids.size(), 0);
    kvIds.clear();
    for (size_t r = 0; r < rows.size(); ++r) {
      const Sequence &sequence = sequences[rows[r]];
      const int64_t past = azr_kv_cache_length(kv, sequence.id);
      for (size_t t = 0; t < width; ++t) {
        // Padding repeats the last token; its keys land past the committed
        // length, where the next run overwrites them unseen.
        ids[r * width + t] = chunks[r][std::min(t, chunks[r].size() - 1)];
        positions[r * width + t] = past + int64_t(t);
      }
      if (azr_status_t status = azr_kv_cache_reserve(kv, sequence.id, width))
        return status;
      kvIds.push_back(sequence.id);
    }
    noteBlocks();
    int64_t dims[2] = {int64_t(rows.size()), int64_t(width)};
    azr_status_t status =
        azr_session_set_kv_sequences(session, kv, kvIds.data(), kvIds.size());
    if (!status)
      status = azr_session_set_input(session, "input_ids", AZR_DTYPE_I64, dims,
                                     2, ids.data(), ids.size() * 8);
    if (!status && decoder.hasPositions)
      status =
          azr_session_set_input(session, "position_ids", AZR_DTYPE_I64, dims, 2,
                                positions.data(), positions.size() * 8);
    if (status)
      return status;
    auto start = std::chrono::steady_clock::now();
    status = azr_session_run(session);
    seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    azr_tensor_info_t info;
    const void *data = nullptr;
    if (!status)
      status = azr_session_get_output(session, "logits", &info, &data);
    if (status)
      return status;
    const int64_t vocab = info.dims[info.rank - 1];
    for (size_t r = 0; r < rows.size(); ++r) {
      if (azr_status_t status =
              azr_kv_cache_commit(kv, sequences[rows[r]].id, chunks[r].size()))
        return status;
      const float *row = static_cast<const float *>(data) +
                         (int64_t(r * width + chunks[r].size()) - 1) * vocab;
      take(rows[r], std::vector<float>(row, row + vocab));
    }
    return nullptr;
  };
  // Samples a sequence's next token and decides whether it is done.
  auto advance = [&](size_t i, const std::vector<float> &logits) {
    Sequence &sequence = sequences[i];
    const int64_t token =
        chooseToken(logits, options->sampling, sequence.seen, sequence.random);
    sequence.seen.push_back(token);
    sequence.produced.push_back(token);
    bool stop = std::find(stops.begin(), stops.end(), token) != stops.end() ||
                sequence.produced.size() >= options->max_new_tokens;
    if (tokenizer && options->stop_sequence_count) {
      sequence.text =
          tokenizer->tokenizer->decodeBytes(sequence.produced, true);
      for (size_t s = 0; s < options->stop_sequence_count; ++s) {
        const char *text = options->stop_sequences[s];
        if (text && *text && sequence.text.find(text) != std::string::npos)
          stop = true;
      }
    }
    sequence.done = stop;
  };

  azr_status_t status = nullptr;
  for (size_t i = 0; i < count; ++i) {
    sequences[i].prompt = i;
    sequences[i].seen.assign(prompts[i], prompts[i] + prompt_lengths[i]);
    sequences[i].random.state = options->sampling.seed + i;
    if (owner[i] == i)
      timing.prompt_tokens += prompt_lengths[i];
  }
  // Prefill the distinct prompts, maxRows at a time, then fork the rest.
  std::vector<size_t> owners;
  for (size_t i = 0; i < count; ++i)
    if (owner[i] == i) {
      status = azr_kv_cache_add_sequence(kv, &sequences[i].id);
      if (status)
        return status;
      owners.push_back(i);
    }
  std::vector<std::vector<float>> promptLogits(count);
  // A prefill run takes as many prompts as the batch range and the token
  // budget (rows x the longest prompt, azc build --max_num_tokens) allow.
  const int64_t budget = azr_engine_max_num_tokens(engine);
  for (size_t first = 0; first < owners.size() && options->max_new_tokens;) {
    std::vector<size_t> rows;
    size_t width = 0;
    for (size_t k = first; k < owners.size() && rows.size() < size_t(maxRows);
         ++k) {
      const size_t wider = std::max(width, prompt_lengths[owners[k]]);
      if (budget > 0 && !rows.empty() &&
          int64_t((rows.size() + 1) * wider) > budget)
        break;
      rows.push_back(owners[k]);
      width = wider;
    }
    first += rows.size();
    std::vector<std::vector<int64_t>> chunks;
    for (size_t i : rows)
      chunks.emplace_back(prompts[i], prompts[i] + prompt_lengths[i]);
    status = runRows(rows, chunks, timing.prefill_seconds,
                     [&](size_t i, std::vector<float> logits) {
                       promptLogits[i] = std::move(logits);
                     });
    if (status)
      return status;
  }
  for (size_t i = 0; i < count && options->max_new_tokens; ++i) {
    if (owner[i] != i && (status = azr_kv_cache_fork(kv, sequences[owner[i]].id,
                                                     &sequences[i].id)))
      return status;
    advance(i, promptLogits[owner[i]]);
  }
  for (std::vector<float> &logits : promptLogits)
    std::vector<float>().swap(logits);

  // Decode: every live sequence one token per run, maxRows rows a run
  // (within the token budget too).
  if (budget > 0 && budget < maxRows)
    maxRows = budget;
  while (options->max_new_tokens) {
    std::vector<size_t> live;
    for (size_t i = 0; i < count; ++i)
      if (!sequences[i].done)
        live.push_back(i);
    if (live.empty())
      break;
    for (size_t first = 0; first < live.size(); first += size_t(maxRows)) {
      std::vector<size_t> rows(
          live.begin() + long(first),
          live.begin() + long(std::min(live.size(), first + size_t(maxRows))));
      std::vector<std::vector<int64_t>> chunks;
      for (size_t i : rows)
        chunks.push_back({sequences[i].produced.back()});
      status = runRows(rows, chunks, timing.decode_seconds,
                       [&](size_t i, const std::vector<float> &logits) {
                         advance(i, logits);
                       });
      if (status)
        return status;
      ++timing.decode_runs;
    }
  }
  for (size_t i = 0; i < count; ++i) {
    const std::vector<int64_t> &produced = sequences[i].produced;
    std::copy_n(produced.begin(), std::min(capacity, produced.size()),
                outs ? outs[i] : nullptr);
    generated[i] = produced.size();
    timing.new_tokens += produced.size();
  }
  if (stats)
    *stats = timing;
  return nullptr;
}

} // extern "C"

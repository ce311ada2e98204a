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
#include "text/decoder_runner.h"
#include "text/tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

using namespace azr::text;

namespace {

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

} // extern "C"

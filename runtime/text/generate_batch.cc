//===- generate_batch.cc - many sequences over one paged KV cache ---------===//
//
// azr_generate_batch: sequences of different lengths share each run of an
// engine with a paged KV cache, which keeps every sequence's own length.
// Identical prompts are prefilled once and forked, so samples of a prompt
// share its blocks until one writes into a shared block.
//
//===----------------------------------------------------------------------===//

#include "text/decoder_runner.h"
#include "text/tokenizer.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace azr::text;

extern "C" {

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
    std::vector<int64_t> seen, produced;
    Random random{0};
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
      const std::string text =
          tokenizer->tokenizer->decodeBytes(sequence.produced, true);
      for (size_t s = 0; s < options->stop_sequence_count; ++s) {
        const char *stopText = options->stop_sequences[s];
        if (stopText && *stopText && text.find(stopText) != std::string::npos)
          stop = true;
      }
    }
    sequence.done = stop;
  };

  azr_status_t status = nullptr;
  for (size_t i = 0; i < count; ++i) {
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

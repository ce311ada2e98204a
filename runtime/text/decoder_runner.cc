//===- decoder_runner.cc - how generation feeds a language-model engine ---===//

#include "text/decoder_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

namespace azr::text {

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

azr_status_t SequenceRunner::run(const int64_t *ids, int64_t chunk,
                                 double &seconds) {
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
        azr_session_set_input(session, "position_ids", AZR_DTYPE_I64, idDims, 2,
                              positions.data(), positions.size() * 8);
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
      status = azr_session_set_input(session, slot.past.c_str(), AZR_DTYPE_F32,
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

azr_status_t SequenceRunner::logits(const float *&rows, int64_t &vocab) {
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

} // namespace azr::text

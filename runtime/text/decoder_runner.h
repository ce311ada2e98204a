//===- decoder_runner.h - feeding a language-model engine ------*- C++ -*-===//
//
// What azr_generate, azr_score and azr_generate_batch share: reading an
// engine's decoder interface from its input and output names (a copied
// past/present cache, or a paged one), running one sequence chunk by chunk
// over it, and choosing a token from logits.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_TEXT_DECODER_RUNNER_H
#define AZR_TEXT_DECODER_RUNNER_H

#include "azr/azr_text.h"

#include <cstdint>
#include <string>
#include <vector>

namespace azr::text {

inline azr_status_t refuse(azr_status_code_t code, const std::string &message) {
  return azr_status_make(code, "%s", message.c_str());
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

/// The next token: greedy, or sampled as `sampling` says (azr_text.h), with
/// CTRL's repetition penalty over `seen`.
int64_t chooseToken(std::vector<float> logits, const azr_sampling_t &sampling,
                    const std::vector<int64_t> &seen, Random &random);

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

/// Reads `engine`'s decoder interface; `caller` names the API in messages.
azr_status_t readInterface(const azr_engine_t *engine, const char *caller,
                           DecoderInterface &decoder);

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
  azr_status_t run(const int64_t *ids, int64_t chunk, double &seconds);

  /// The logits of the last run: [chunk, vocab] rows.
  azr_status_t logits(const float *&rows, int64_t &vocab);

private:
  azr_session_t *session;
  const DecoderInterface &decoder;
  azr_kv_cache_t *kv = nullptr;
  int64_t sequence = -1;
  int64_t past = 0;
};

} // namespace azr::text

#endif // AZR_TEXT_DECODER_RUNNER_H

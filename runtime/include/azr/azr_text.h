/*===- azr_text.h - tokenizer and text generation over libazr ----*- C -*-===*
 *
 * libazr_text: the text side of running a language-model engine, kept out of
 * libazr so the core runtime needs nothing but a C++ standard library. A
 * tokenizer is read from a Hugging Face tokenizer.json (byte-level BPE as in
 * GPT-2, Llama 3 and Qwen2, and SentencePiece-style BPE with byte fallback
 * as in Llama 2 and Mistral); generation drives an engine with the KV-cache
 * interface (input_ids, past_key_L/past_value_L -> logits, present_*), or
 * with a paged KV cache the runtime owns (engines built with
 * --paged_kv_cache: input_ids, position_ids and the block table -> logits).
 * Same conventions as azr.h: status codes with messages, explicit
 * ownership, no exceptions across the API.
 *
 *===----------------------------------------------------------------------===*/

#ifndef AZR_AZR_TEXT_H
#define AZR_AZR_TEXT_H

#include "azr/azr.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct azr_tokenizer_s azr_tokenizer_t;

/* Reads a tokenizer from tokenizer.json text (`json`, `length` bytes).
 * `origin` names it in messages. Unsupported normalizers, pre-tokenizers,
 * models or decoders are refused naming the part. */
azr_status_t azr_tokenizer_create(const char *json, size_t length,
                                  const char *origin, azr_tokenizer_t **out);
/* The tokenizer an engine carries (built from a checkpoint folder with a
 * tokenizer.json); NOT_FOUND if it has none. */
azr_status_t azr_tokenizer_from_engine(const azr_engine_t *engine,
                                       azr_tokenizer_t **out);
void azr_tokenizer_release(azr_tokenizer_t *tokenizer);

/* Token ids of `text` (UTF-8, `length` bytes). With `add_special`, the
 * post-processor's special tokens (a BOS) are added. Writes at most
 * `capacity` ids; `*count` gets the number the text needs. */
azr_status_t azr_tokenizer_encode(const azr_tokenizer_t *tokenizer,
                                  const char *text, size_t length,
                                  int add_special, int64_t *ids,
                                  size_t capacity, size_t *count);
/* The text of `ids`; special tokens are left out when `skip_special`.
 * Writes at most `capacity` bytes, NUL-terminated when there is room;
 * `*length` gets the byte count of the whole text. */
azr_status_t azr_tokenizer_decode(const azr_tokenizer_t *tokenizer,
                                  const int64_t *ids, size_t count,
                                  int skip_special, char *text, size_t capacity,
                                  size_t *length);
/* The id of token `token` ("<|endoftext|>"), or -1. */
int64_t azr_tokenizer_token_id(const azr_tokenizer_t *tokenizer,
                               const char *token);

/* How the next token is chosen. temperature <= 0 is greedy (argmax);
 * otherwise logits are divided by it, limited to the top_k (0: all) most
 * likely tokens and to the smallest set whose probability reaches top_p
 * (1: all), and sampled with a generator seeded by `seed`.
 * repetition_penalty > 1 divides positive (multiplies negative) logits of
 * tokens already in the prompt or output, as in CTRL. */
typedef struct azr_sampling_s {
  float temperature;
  int top_k;
  float top_p;
  float repetition_penalty;
  uint64_t seed;
} azr_sampling_t;

/* Called with each new token and its text piece (NUL-terminated, valid
 * UTF-8; empty while a multi-byte character is incomplete). A last call
 * with token -1 carries bytes still held back when generation ends.
 * Return nonzero to stop. */
typedef int (*azr_token_callback_t)(void *user, int64_t token,
                                    const char *piece);

typedef struct azr_generate_options_s {
  size_t max_new_tokens;
  azr_sampling_t sampling;
  const int64_t *stop_tokens; /* also stops at the tokenizer's EOS, if any */
  size_t stop_token_count;
  const char *const *stop_sequences; /* text that ends generation */
  size_t stop_sequence_count;
  azr_token_callback_t callback; /* may be NULL */
  void *user;
} azr_generate_options_t;

typedef struct azr_generate_stats_s {
  size_t prompt_tokens, new_tokens;
  double prefill_seconds, decode_seconds;
} azr_generate_stats_t;

/* Generates from `prompt` (token ids) with `session`'s engine: one prefill
 * run over the prompt with an empty cache, then one run per token. A paged
 * engine gets a cache of its own for the call (azr_kv_cache_create). Writes
 * the new tokens to `out` (at most `capacity`), their number to
 * `*generated`, and timings to `stats` (may be NULL). The tokenizer (may be
 * NULL) gives the callback's text pieces, the EOS token and stop
 * sequences. A prompt or cache beyond the engine's ranges is an
 * OUT_OF_RANGE status naming the input. */
azr_status_t azr_generate(azr_session_t *session,
                          const azr_tokenizer_t *tokenizer,
                          const int64_t *prompt, size_t prompt_length,
                          const azr_generate_options_t *options, int64_t *out,
                          size_t capacity, size_t *generated,
                          azr_generate_stats_t *stats);

typedef struct azr_generate_batch_stats_s {
  size_t prompt_tokens;  /* prefilled: identical prompts count once */
  size_t new_tokens;     /* over all sequences */
  size_t decode_runs;    /* runs after the prefill */
  size_t kv_blocks_peak; /* cache blocks in use at most */
  double prefill_seconds, decode_seconds;
} azr_generate_batch_stats_t;

/* Generates for `count` prompts together with a paged-KV-cache engine
 * (azc build --paged_kv_cache), whose cache keeps each sequence's own
 * length, so sequences of different lengths share every run: prompts are
 * prefilled together (padded to the longest), then each run takes one
 * token of every sequence still going, as many rows as the engine's batch
 * range allows. Identical prompts are prefilled once and forked: their
 * cache blocks are shared, not copied, until a sequence writes into a
 * shared block. Sequence i samples with seed options->sampling.seed + i
 * and stops on its own (max_new_tokens, stop tokens, EOS, stop
 * sequences); the callback is not called. `outs[i]` gets up to `capacity`
 * tokens, `generated[i]` their number. Other engines are refused. */
azr_status_t
azr_generate_batch(azr_session_t *session, const azr_tokenizer_t *tokenizer,
                   const int64_t *const *prompts, const size_t *prompt_lengths,
                   size_t count, const azr_generate_options_t *options,
                   int64_t *const *outs, size_t capacity, size_t *generated,
                   azr_generate_batch_stats_t *stats);

/* The log-likelihood of `ids` under `session`'s engine, as a language
 * model scores text: one run over the `count` ids from an empty cache, and
 * the sum in double of log softmax(logits[t - 1])[ids[t]] for t from
 * `first_scored` (>= 1: the ids before it are context only) to count - 1;
 * `*scored` (may be NULL) gets the number of terms. Perplexity is
 * exp(-sum / scored). The run must fit the engine's sequence range. */
azr_status_t azr_score(azr_session_t *session, const int64_t *ids, size_t count,
                       size_t first_scored, double *log_likelihood,
                       size_t *scored);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AZR_AZR_TEXT_H */

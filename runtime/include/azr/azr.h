/* azr.h - the C API of azc's runtime, libazr.
 *
 * libazr loads engine files written by `azc build` and runs them. It has no
 * compiler inside: no MLIR, LLVM or protobuf. Conventions, as in IREE's and
 * ggml's runtime headers:
 *   - every fallible call returns an azr_status_t; NULL means success;
 *   - a non-NULL status owns a message and must be freed with
 *     azr_status_free();
 *   - no exception ever crosses this API.
 */
#ifndef AZR_AZR_H
#define AZR_AZR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error categories. */
typedef enum azr_status_code_e {
  AZR_STATUS_OK = 0,
  AZR_STATUS_INVALID_ARGUMENT = 1, /* a bad name, shape, dtype or value */
  AZR_STATUS_NOT_FOUND = 2,        /* a file or named input that is absent */
  AZR_STATUS_DATA_LOSS = 3,        /* a truncated or corrupted file */
  AZR_STATUS_UNIMPLEMENTED = 4,    /* a format version or target not handled */
  AZR_STATUS_RESOURCE_EXHAUSTED = 5, /* out of memory or cache blocks */
  AZR_STATUS_INTERNAL = 6,
  AZR_STATUS_OUT_OF_RANGE = 7, /* a size outside the engine's shape range */
} azr_status_code_t;

/* An error: a code and a message. NULL is success. */
typedef struct azr_status_s *azr_status_t;

/* Creates an error with a printf-style message. Returns NULL when `code` is
 * AZR_STATUS_OK. Never fails: out of memory yields a static status. */
azr_status_t azr_status_make(azr_status_code_t code, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The code of `status` (AZR_STATUS_OK for NULL). */
azr_status_code_t azr_status_code(azr_status_t status);

/* The message of `status` ("" for NULL). Owned by the status. */
const char *azr_status_message(azr_status_t status);

/* The name of a code, such as "INVALID_ARGUMENT". */
const char *azr_status_code_name(azr_status_code_t code);

/* Releases `status`; NULL is allowed. */
void azr_status_free(azr_status_t status);

/*===------------------------------------------------------------------===*
 * Tensors
 *===------------------------------------------------------------------===*/

/* Element types; the values are the engine format's. */
typedef enum azr_dtype_e {
  AZR_DTYPE_F32 = 0,
  AZR_DTYPE_F16 = 1,
  AZR_DTYPE_BF16 = 2,
  AZR_DTYPE_F64 = 3,
  AZR_DTYPE_BOOL = 4,
  AZR_DTYPE_I8 = 5,
  AZR_DTYPE_I16 = 6,
  AZR_DTYPE_I32 = 7,
  AZR_DTYPE_I64 = 8,
  AZR_DTYPE_U8 = 9,
  AZR_DTYPE_U16 = 10,
  AZR_DTYPE_U32 = 11,
  AZR_DTYPE_U64 = 12,
  AZR_DTYPE_F8E4M3FN = 13, /* FP8 codes, one byte an element */
  AZR_DTYPE_F8E4M3FNUZ = 14,
  AZR_DTYPE_F8E5M2 = 15,
  AZR_DTYPE_F8E5M2FNUZ = 16,
  AZR_DTYPE_I4 = 17, /* one byte an element, sign-extended */
  AZR_DTYPE_U4 = 18,
  AZR_DTYPE_I2 = 19,
  AZR_DTYPE_U2 = 20,
  AZR_DTYPE_F4E2M1FN = 21, /* FP4 code, one a byte */
  AZR_DTYPE_F8E8M0FNU = 22,
} azr_dtype_t;

#define AZR_MAX_RANK 8

/* The name, type and shape of an engine input or output. `name` is owned by
 * the engine and valid while it lives. */
typedef struct azr_tensor_info_s {
  const char *name;
  azr_dtype_t dtype;
  size_t rank;
  int64_t dims[AZR_MAX_RANK];
} azr_tensor_info_t;

/* Bytes per element of `dtype` (1 for bool), 0 for an unknown value. */
size_t azr_dtype_size(azr_dtype_t dtype);
/* "f32", "i64", ... */
const char *azr_dtype_name(azr_dtype_t dtype);

/*===------------------------------------------------------------------===*
 * Engines
 *===------------------------------------------------------------------===*/

/* Optional memory hooks for the session's arena and buffers. `alignment` is
 * a power of two; the hook must return memory aligned to it, or NULL. */
typedef struct azr_allocator_s {
  void *(*allocate)(void *user, size_t size, size_t alignment);
  void (*release)(void *user, void *pointer);
  void *user;
} azr_allocator_t;

/* A loaded engine: the mapped file, verified. Immutable; any number of
 * sessions may share it, from any threads. */
typedef struct azr_engine_s azr_engine_t;

/* Maps and verifies the engine file at `path`: header, checksums,
 * FlatBuffers structure, format version, target and the CPU features it
 * needs. Every refusal is a status naming the file and the reason. */
azr_status_t azr_engine_load(const char *path, azr_engine_t **out_engine);

/* Releases an engine; sessions created from it must be released first. */
void azr_engine_release(azr_engine_t *engine);

size_t azr_engine_input_count(const azr_engine_t *engine);
size_t azr_engine_output_count(const azr_engine_t *engine);
/* Fills `info` for input/output `index`; INVALID_ARGUMENT if out of range.
 * A dim that varies at run time (a dynamic engine's batch or sequence, or
 * an output dim whose size depends on the input values, as NonZero's) is
 * -1; azr_engine_input_dim gives an input dim's range. */
azr_status_t azr_engine_input_info(const azr_engine_t *engine, size_t index,
                                   azr_tensor_info_t *info);
azr_status_t azr_engine_output_info(const azr_engine_t *engine, size_t index,
                                    azr_tensor_info_t *info);
/* The sizes dim `dim` of input `index` accepts, [*min, *max] (equal for a
 * fixed dim), and the dim's symbolic name ("batch") or NULL. Any of the
 * out-pointers may be NULL. */
azr_status_t azr_engine_input_dim(const azr_engine_t *engine, size_t index,
                                  size_t dim, int64_t *min, int64_t *max,
                                  const char **name);

/* The most tokens (input_ids' batch x sequence) one run of the engine
 * takes (azc build --max_num_tokens); 0 when only the ranges bound it. A
 * larger run is an OUT_OF_RANGE status. */
int64_t azr_engine_max_num_tokens(const azr_engine_t *engine);

/* The bytes of the file `name` the engine carries ("tokenizer.json"), owned
 * by the engine; NOT_FOUND if it carries none of that name. */
azr_status_t azr_engine_attachment(const azr_engine_t *engine, const char *name,
                                   const void **data, size_t *size);

/*===------------------------------------------------------------------===*
 * Sessions
 *===------------------------------------------------------------------===*/

typedef struct azr_session_options_s {
  int num_threads;                  /* <= 0: one per available core */
  const azr_allocator_t *allocator; /* NULL: aligned malloc */
  int verbose;                      /* nonzero: print each step's kernel */
  int profile; /* nonzero: time each step (see azr_session_profile) */
} azr_session_options_t;

/* A session owns the arena and the input/output buffers of one engine. Use
 * a session from one thread at a time. */
typedef struct azr_session_s azr_session_t;

/* `options` may be NULL for the defaults. */
azr_status_t azr_session_create(azr_engine_t *engine,
                                const azr_session_options_t *options,
                                azr_session_t **out_session);
void azr_session_release(azr_session_t *session);
/* The engine a session runs. */
const azr_engine_t *azr_session_engine(const azr_session_t *session);

/* Copies `data` into input `name`. The dtype must be the input's, and each
 * dim inside its range (see azr_engine_input_dim); `size` is the byte count
 * of `data`. Dims that share a name must agree, which the run checks. */
azr_status_t azr_session_set_input(azr_session_t *session, const char *name,
                                   azr_dtype_t dtype, const int64_t *dims,
                                   size_t rank, const void *data, size_t size);

/* Runs the engine. Every input must have been set. */
azr_status_t azr_session_run(azr_session_t *session);

/* Output `name` of the last run: its info (with the dims of that run, also
 * those that the input values decide) and a pointer to its data, dense at
 * those dims, owned by the session and valid until the next run or
 * release. */
azr_status_t azr_session_get_output(azr_session_t *session, const char *name,
                                    azr_tensor_info_t *info, const void **data);

/* With options.profile set: writes into `text` (up to `capacity` bytes,
 * NUL-terminated) the time spent per kernel over all runs so far, slowest
 * first, as lines "KERNEL CALLS TOTAL_MS SHARE%". Returns the length the
 * whole report needs, or 0 when the session does not profile. */
size_t azr_session_profile(const azr_session_t *session, char *text,
                           size_t capacity);

/*===------------------------------------------------------------------===*
 * Paged KV cache
 *
 * An engine built with --paged_kv_cache keeps the attention keys and values
 * of every layer in a cache the application owns: pools of fixed-size
 * blocks of tokens, lent to sequences as they grow. A step of a batch:
 * reserve room for each sequence's new tokens, bind the sequences to the
 * session (azr_session_set_kv_sequences), set the other inputs, run, then
 * commit the tokens. Blocks are reference counted, so forked sequences
 * share their common prefix; a shared block is copied only when one of its
 * sequences is about to write into it.
 *===------------------------------------------------------------------===*/

typedef struct azr_kv_cache_s azr_kv_cache_t;

/* A cache for `engine`'s paged attention (an engine built with
 * --paged_kv_cache): `num_blocks` blocks (0: the engine's default, enough
 * for its largest batch of full-length sequences), the pools allocated with
 * `allocator` (NULL: aligned malloc). INVALID_ARGUMENT if the engine has no
 * paged KV cache; RESOURCE_EXHAUSTED if allocation fails. The cache may
 * outlive the engine; a session using it may not outlive the cache. */
azr_status_t azr_kv_cache_create(const azr_engine_t *engine, size_t num_blocks,
                                 const azr_allocator_t *allocator,
                                 azr_kv_cache_t **out_cache);
/* Releases the cache and its pools; NULL is allowed. */
void azr_kv_cache_release(azr_kv_cache_t *cache);

/* Blocks in all, blocks on the free list, and tokens one block holds. */
size_t azr_kv_cache_block_count(const azr_kv_cache_t *cache);
size_t azr_kv_cache_free_block_count(const azr_kv_cache_t *cache);
size_t azr_kv_cache_tokens_per_block(const azr_kv_cache_t *cache);

/* A new empty sequence; its id in *out_id. Ids are never reused. */
azr_status_t azr_kv_cache_add_sequence(azr_kv_cache_t *cache, int64_t *out_id);
/* A new sequence sharing the blocks that hold `parent`'s committed tokens
 * (reference counts, no copy): a prompt shared by several continuations is
 * stored once. Both sequences then grow independently. */
azr_status_t azr_kv_cache_fork(azr_kv_cache_t *cache, int64_t parent,
                               int64_t *out_id);
/* Releases the sequence's references; blocks no other sequence holds return
 * to the free list. */
azr_status_t azr_kv_cache_remove_sequence(azr_kv_cache_t *cache, int64_t id);
/* Committed tokens of a sequence; -1 for an unknown id. */
int64_t azr_kv_cache_length(const azr_kv_cache_t *cache, int64_t id);

/* Makes room for `tokens` more tokens after the committed ones: takes
 * blocks from the free list, and copies each block the new tokens would be
 * written into that another sequence shares (copy on write). All or
 * nothing: RESOURCE_EXHAUSTED, naming the blocks needed and free, when the
 * free list is short, OUT_OF_RANGE beyond the engine's blocks per sequence;
 * either way the cache is unchanged, and the caller may free sequences and
 * retry. */
azr_status_t azr_kv_cache_reserve(azr_kv_cache_t *cache, int64_t id,
                                  size_t tokens);
/* Adds `tokens` to the committed length once a run has written them; at
 * most what was reserved (INVALID_ARGUMENT beyond). */
azr_status_t azr_kv_cache_commit(azr_kv_cache_t *cache, int64_t id,
                                 size_t tokens);

/* Binds `cache` to `session` and sets the engine's inputs kv_block_table
 * (i32 [count, max_blocks_per_sequence], unused entries -1) and
 * kv_past_lengths (i32 [count], the committed lengths) for a batch whose
 * row i is sequence ids[i], through azr_session_set_input (so `count` must
 * be inside the engine's batch range). The cache must have been created
 * for an engine of the same layout and must outlive the session's runs.
 * Call it again after every reserve or commit: the inputs are copies. */
azr_status_t azr_session_set_kv_sequences(azr_session_t *session,
                                          azr_kv_cache_t *cache,
                                          const int64_t *ids, size_t count);

/* The runtime's version as "MAJOR.MINOR.PATCH". */
const char *azr_version(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AZR_AZR_H */

//===- azr-run.cpp - run an engine on NumPy or ONNX tensor files ----------===//
//
//   azr-run ENGINE --input NAME=FILE ... [--output-dir DIR] [--iterations N]
//                  [--threads N] [--verbose] [--profile]
//   azr-run ENGINE --prompt TEXT [--max-new-tokens N] [sampling flags]
//   azr-run ENGINE --prompt-ids ID,ID,... [--prompt-ids ...] [--samples N]
//                  [--max-new-tokens N] [...]
//
// FILE is a NumPy .npy file, or an ONNX TensorProto .pb (as in the ONNX
// test suites). Each output is written to DIR/<name>.npy. Latency over the
// iterations is printed as min and median. With --prompt, a language-model
// engine generates text with the tokenizer it carries, streamed as it
// comes, then prefill and decode tokens/s; --prompt-ids does the same from
// token ids and prints the new ids (for engines without a tokenizer); with
// several prompts or --samples, a paged-KV-cache engine generates them as
// one batch, identical prompts sharing their cache blocks. An
// engine with a paged KV cache run on --input files gets a fresh cache with
// one sequence per batch row, so its outputs are those of a prefill. Links
// the runtime only: no
// compiler, no protobuf (TensorProto is read with a small wire-format
// reader).
// Errors: one message on stderr, exit 1; usage errors exit 2.
//
//===----------------------------------------------------------------------===//

#include "azr/azr.h"
#include "azr/azr_text.h"
#include "tools/common/npy.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

using azr_tools::HostTensor;
using azr_tools::readFile;
using azr_tools::readNpy;
using azr_tools::writeNpy;

int fail(const std::string &message) {
  fprintf(stderr, "azr-run: %s\n", message.c_str());
  return 1;
}

//===----------------------------------------------------------------------===//
// ONNX TensorProto .pb, read from the protobuf wire format
//===----------------------------------------------------------------------===//

bool varint(const std::string &b, size_t &pos, uint64_t &value) {
  value = 0;
  for (int shift = 0; shift < 64 && pos < b.size(); shift += 7) {
    uint8_t byte = b[pos++];
    value |= uint64_t(byte & 0x7f) << shift;
    if (!(byte & 0x80))
      return true;
  }
  return false;
}

/// ONNX TensorProto.DataType -> azr dtype.
bool onnxDType(uint64_t onnx, azr_dtype_t &dtype) {
  switch (onnx) {
  case 1:
    dtype = AZR_DTYPE_F32;
    return true;
  case 2:
    dtype = AZR_DTYPE_U8;
    return true;
  case 3:
    dtype = AZR_DTYPE_I8;
    return true;
  case 4:
    dtype = AZR_DTYPE_U16;
    return true;
  case 5:
    dtype = AZR_DTYPE_I16;
    return true;
  case 6:
    dtype = AZR_DTYPE_I32;
    return true;
  case 7:
    dtype = AZR_DTYPE_I64;
    return true;
  case 9:
    dtype = AZR_DTYPE_BOOL;
    return true;
  case 10:
    dtype = AZR_DTYPE_F16;
    return true;
  case 11:
    dtype = AZR_DTYPE_F64;
    return true;
  case 12:
    dtype = AZR_DTYPE_U32;
    return true;
  case 13:
    dtype = AZR_DTYPE_U64;
    return true;
  case 16:
    dtype = AZR_DTYPE_BF16;
    return true;
  case 17:
    dtype = AZR_DTYPE_F8E4M3FN;
    return true;
  case 18:
    dtype = AZR_DTYPE_F8E4M3FNUZ;
    return true;
  case 19:
    dtype = AZR_DTYPE_F8E5M2;
    return true;
  case 20:
    dtype = AZR_DTYPE_F8E5M2FNUZ;
    return true;
  case 21:
    dtype = AZR_DTYPE_U4;
    return true;
  case 22:
    dtype = AZR_DTYPE_I4;
    return true;
  case 23:
    dtype = AZR_DTYPE_F4E2M1FN;
    return true;
  case 24:
    dtype = AZR_DTYPE_F8E8M0FNU;
    return true;
  case 25:
    dtype = AZR_DTYPE_U2;
    return true;
  case 26:
    dtype = AZR_DTYPE_I2;
    return true;
  default:
    return false;
  }
}

bool readTensorProto(const std::string &path, const std::string &b,
                     HostTensor &tensor, std::string &error) {
  auto bad = [&](const std::string &why) {
    error = path + ": not a readable ONNX TensorProto: " + why;
    return false;
  };
  uint64_t dataType = 0;
  std::vector<uint64_t> varints; // int32_data / int64_data / uint64_data
  std::vector<char> fixed;       // float_data / double_data
  bool haveRaw = false;
  size_t pos = 0;
  tensor.dims.clear();
  while (pos < b.size()) {
    uint64_t key;
    if (!varint(b, pos, key))
      return bad("malformed field key");
    uint32_t field = key >> 3, wire = key & 7;
    if (wire == 0) {
      uint64_t value;
      if (!varint(b, pos, value))
        return bad("malformed varint");
      if (field == 1)
        tensor.dims.push_back(int64_t(value));
      else if (field == 2)
        dataType = value;
      else if (field == 5 || field == 7 || field == 11)
        varints.push_back(value);
    } else if (wire == 2) {
      uint64_t length;
      if (!varint(b, pos, length) || length > b.size() - pos)
        return bad("truncated");
      std::string payload = b.substr(pos, length);
      pos += length;
      size_t p = 0;
      if (field == 1) { // packed dims
        while (p < payload.size()) {
          uint64_t value;
          if (!varint(payload, p, value))
            return bad("malformed dims");
          tensor.dims.push_back(int64_t(value));
        }
      } else if (field == 9) {
        tensor.data.assign(payload.begin(), payload.end());
        haveRaw = true;
      } else if (field == 4 || field == 10) {
        fixed.insert(fixed.end(), payload.begin(), payload.end());
      } else if (field == 5 || field == 7 || field == 11) {
        while (p < payload.size()) {
          uint64_t value;
          if (!varint(payload, p, value))
            return bad("malformed packed data");
          varints.push_back(value);
        }
      }
    } else if (wire == 5 || wire == 1) {
      size_t width = wire == 5 ? 4 : 8;
      if (b.size() - pos < width)
        return bad("truncated");
      if (field == 4 || field == 10)
        fixed.insert(fixed.end(), b.begin() + pos, b.begin() + pos + width);
      pos += width;
    } else {
      return bad("unexpected wire type");
    }
  }
  if (!onnxDType(dataType, tensor.dtype))
    return bad("unsupported data type " + std::to_string(dataType));
  size_t width = azr_dtype_size(tensor.dtype);
  size_t count = 1;
  for (int64_t d : tensor.dims)
    count *= size_t(d);
  if (!haveRaw) {
    if (!fixed.empty()) {
      tensor.data = fixed;
    } else {
      tensor.data.resize(varints.size() * width);
      for (size_t i = 0; i < varints.size(); ++i)
        memcpy(tensor.data.data() + i * width, &varints[i], width);
    }
  }
  // 4- and 2-bit codes (FP4 too) come packed, low bits first, in raw_data and
  // in int32_data alike; the engine holds one a byte, sign-extended.
  int bits = 0;
  bool isSigned = tensor.dtype == AZR_DTYPE_I4 || tensor.dtype == AZR_DTYPE_I2;
  if (tensor.dtype == AZR_DTYPE_I4 || tensor.dtype == AZR_DTYPE_U4 ||
      tensor.dtype == AZR_DTYPE_F4E2M1FN)
    bits = 4;
  else if (tensor.dtype == AZR_DTYPE_I2 || tensor.dtype == AZR_DTYPE_U2)
    bits = 2;
  if (bits) {
    const size_t perByte = 8 / size_t(bits);
    const size_t packed = (count + perByte - 1) / perByte;
    if (tensor.data.size() != packed)
      return bad("holds " + std::to_string(tensor.data.size()) + " bytes of " +
                 std::to_string(bits) + "-bit codes, its shape needs " +
                 std::to_string(packed));
    std::vector<char> codes(count);
    for (size_t i = 0; i < count; ++i) {
      int code = (uint8_t(tensor.data[i / perByte]) >> (bits * (i % perByte))) &
                 ((1 << bits) - 1);
      if (isSigned && code >= (1 << (bits - 1)))
        code -= 1 << bits;
      codes[i] = char(code);
    }
    tensor.data = std::move(codes);
  }
  if (tensor.data.size() != count * width)
    return bad("holds " + std::to_string(tensor.data.size()) +
               " bytes, its shape needs " + std::to_string(count * width));
  return true;
}

/// The dtype of the engine input `name`, or -1 when there is none.
int inputDtype(const azr_engine_t *engine, const std::string &name) {
  for (size_t i = 0; i < azr_engine_input_count(engine); ++i) {
    azr_tensor_info_t info;
    if (!azr_engine_input_info(engine, i, &info) && name == info.name)
      return info.dtype;
  }
  return -1;
}

std::string shapeText(const std::vector<int64_t> &dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? "," : "") + std::to_string(dims[i]);
  return text + "]";
}

int usage() {
  fprintf(stderr,
          "usage: azr-run ENGINE --input NAME=FILE ... [--output-dir DIR]\n"
          "               [--iterations N] [--threads N] [--verbose] "
          "[--profile]\n"
          "       azr-run ENGINE (--prompt TEXT | --prompt-ids ID,ID,... "
          "[--prompt-ids ...] [--samples N])\n"
          "               [--max-new-tokens N]"
          "               [--temperature T]"
          "               [--top-k K] [--top-p P] [--repetition-penalty R] "
          "[--seed S]\n"
          "FILE: .npy, or an ONNX TensorProto .pb\n");
  return 2;
}

/// Prints a failed status and frees it.
int failStatus(azr_status_t status) {
  int code = fail(azr_status_message(status));
  azr_status_free(status);
  return code;
}

struct GenerateFlags {
  std::string prompt;
  /// --prompt-ids (repeatable): no tokenizer needed; more than one, or
  /// --samples above 1, generates them as one batch.
  std::vector<std::vector<int64_t>> promptIds;
  size_t samples = 1;
  bool active = false;
  azr_generate_options_t options = {};
};

int streamPiece(void *, int64_t, const char *piece) {
  fputs(piece, stdout);
  fflush(stdout);
  return 0;
}

/// With --profile: the session's time per kernel, over all runs.
void printProfile(const azr_session_t *session) {
  size_t length = azr_session_profile(session, nullptr, 0);
  if (length == 0)
    return;
  std::string report(length, '\0');
  azr_session_profile(session, report.data(), report.size());
  printf("time per kernel (calls, total ms, share):\n%s", report.c_str());
}

/// Several --prompt-ids, or --samples copies of each, as one batch over a
/// paged KV cache: prints each sequence's new ids, then the speeds and the
/// cache blocks the batch held at most.
int runBatchGeneration(azr_session_t *session, GenerateFlags &flags) {
  std::vector<const int64_t *> prompts;
  std::vector<size_t> lengths;
  for (const std::vector<int64_t> &ids : flags.promptIds)
    for (size_t s = 0; s < flags.samples; ++s) {
      prompts.push_back(ids.data());
      lengths.push_back(ids.size());
    }
  if (prompts.empty())
    return fail("--samples needs --prompt-ids");
  const size_t capacity = flags.options.max_new_tokens;
  std::vector<std::vector<int64_t>> tokens(prompts.size(),
                                           std::vector<int64_t>(capacity));
  std::vector<int64_t *> outs;
  for (std::vector<int64_t> &out : tokens)
    outs.push_back(out.data());
  std::vector<size_t> generated(prompts.size());
  azr_generate_batch_stats_t stats;
  if (azr_status_t status = azr_generate_batch(
          session, nullptr, prompts.data(), lengths.data(), prompts.size(),
          &flags.options, outs.data(), capacity, generated.data(), &stats))
    return failStatus(status);
  for (size_t i = 0; i < prompts.size(); ++i) {
    printf("tokens[%zu]:", i);
    for (size_t t = 0; t < generated[i]; ++t)
      printf(" %lld", static_cast<long long>(tokens[i][t]));
    printf("\n");
  }
  printf("prefill: %zu tokens in %.1f ms (%.1f tokens/s)\n",
         stats.prompt_tokens, stats.prefill_seconds * 1e3,
         stats.prefill_seconds > 0 ? stats.prompt_tokens / stats.prefill_seconds
                                   : 0.0);
  size_t decoded =
      stats.new_tokens - std::min(stats.new_tokens, prompts.size());
  printf("decode: %zu tokens in %zu runs, %.1f ms (%.1f tokens/s)\n", decoded,
         stats.decode_runs, stats.decode_seconds * 1e3,
         stats.decode_seconds > 0 ? decoded / stats.decode_seconds : 0.0);
  printf("kv cache: %zu blocks in use at most\n", stats.kv_blocks_peak);
  printProfile(session);
  return 0;
}

/// --prompt: tokenizes with the engine's tokenizer, streams the generated
/// text, then reports prefill and decode speed separately.
int runGeneration(azr_engine_t *engine, azr_session_t *session,
                  GenerateFlags &flags) {
  azr_tokenizer_t *tokenizer = nullptr;
  if (flags.promptIds.size() > 1 || flags.samples > 1)
    return runBatchGeneration(session, flags);
  bool byIds = !flags.promptIds.empty();
  std::vector<int64_t> prompt =
      byIds ? flags.promptIds[0] : std::vector<int64_t>();
  if (!byIds) {
    if (azr_status_t status = azr_tokenizer_from_engine(engine, &tokenizer))
      return failStatus(status);
    size_t count = 0;
    azr_tokenizer_encode(tokenizer, flags.prompt.data(), flags.prompt.size(), 1,
                         nullptr, 0, &count);
    prompt.resize(count);
    azr_tokenizer_encode(tokenizer, flags.prompt.data(), flags.prompt.size(), 1,
                         prompt.data(), prompt.size(), &count);
    flags.options.callback = streamPiece;
    printf("%s", flags.prompt.c_str());
  }
  std::vector<int64_t> tokens(flags.options.max_new_tokens);
  size_t generated = 0;
  azr_generate_stats_t stats;
  azr_status_t status = azr_generate(
      session, tokenizer, prompt.data(), prompt.size(), &flags.options,
      tokens.data(), tokens.size(), &generated, &stats);
  if (byIds) {
    printf("tokens:");
    for (size_t i = 0; i < generated; ++i)
      printf(" %lld", static_cast<long long>(tokens[i]));
  }
  printf("\n");
  azr_tokenizer_release(tokenizer);
  if (status)
    return failStatus(status);
  size_t decoded = stats.new_tokens > 0 ? stats.new_tokens - 1 : 0;
  printf("prefill: %zu tokens in %.1f ms (%.1f tokens/s)\n",
         stats.prompt_tokens, stats.prefill_seconds * 1e3,
         stats.prefill_seconds > 0 ? stats.prompt_tokens / stats.prefill_seconds
                                   : 0.0);
  printf("decode: %zu tokens in %.1f ms (%.1f tokens/s)\n", decoded,
         stats.decode_seconds * 1e3,
         stats.decode_seconds > 0 ? decoded / stats.decode_seconds : 0.0);
  printProfile(session);
  return 0;
}

/// An engine with a paged KV cache, run on files: one empty sequence per
/// row of input_ids, reserved for its length, so the run is a prefill (and
/// repeated --iterations rewrite the same positions).
/// `idDims` are the dims input_ids was given (empty if it was not).
int bindFreshKvCache(
    azr_engine_t *engine, azr_session_t *session,
    const std::vector<std::pair<std::string, std::string>> &inputs,
    const std::vector<int64_t> &idDims, azr_kv_cache_t *&kv) {
  bool paged = false;
  for (size_t i = 0; i < azr_engine_input_count(engine); ++i) {
    azr_tensor_info_t info;
    azr_engine_input_info(engine, i, &info);
    paged |= strcmp(info.name, "kv_block_table") == 0;
  }
  for (auto &input : inputs)
    if (input.first == "kv_block_table" || input.first == "kv_past_lengths")
      return fail("--input " + input.first +
                  ": the paged KV cache's inputs are filled by azr-run");
  if (!paged)
    return 0;
  if (idDims.size() != 2)
    return fail("a paged KV-cache engine needs --input input_ids=FILE of "
                "shape [batch, sequence]");
  std::vector<int64_t> sequences(static_cast<size_t>(idDims[0]));
  azr_status_t status = azr_kv_cache_create(engine, 0, nullptr, &kv);
  for (int64_t &sequence : sequences) {
    if (!status)
      status = azr_kv_cache_add_sequence(kv, &sequence);
    if (!status)
      status = azr_kv_cache_reserve(kv, sequence, size_t(idDims[1]));
  }
  if (!status)
    status = azr_session_set_kv_sequences(session, kv, sequences.data(),
                                          sequences.size());
  return status ? failStatus(status) : 0;
}

} // namespace

int main(int argc, char **argv) {
  GenerateFlags generate;
  generate.options.max_new_tokens = 32;
  generate.options.sampling.top_p = 1.0f;
  generate.options.sampling.repetition_penalty = 1.0f;
  std::string enginePath, outputDir;
  std::vector<std::pair<std::string, std::string>> inputs;
  int iterations = 1, threads = 0;
  bool verbose = false, profile = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char * {
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    if (arg == "--input") {
      const char *v = value();
      const char *eq = v ? strchr(v, '=') : nullptr;
      if (!eq)
        return usage();
      inputs.push_back({std::string(v, eq), std::string(eq + 1)});
    } else if (arg == "--output-dir") {
      const char *v = value();
      if (!v)
        return usage();
      outputDir = v;
    } else if (arg == "--iterations" || arg == "--threads") {
      const char *v = value();
      char *end;
      long n = v ? strtol(v, &end, 10) : 0;
      if (!v || *end || n < (arg == "--threads" ? 0 : 1))
        return usage();
      (arg == "--iterations" ? iterations : threads) = int(n);
    } else if (arg == "--prompt") {
      const char *v = value();
      if (!v)
        return usage();
      generate.prompt = v;
      generate.active = true;
    } else if (arg == "--prompt-ids") {
      const char *v = value();
      if (!v)
        return usage();
      std::vector<int64_t> ids;
      for (const char *p = v; *p;) {
        char *end;
        long long id = strtoll(p, &end, 10);
        if (end == p || id < 0 || (*end && *end != ','))
          return usage();
        ids.push_back(id);
        p = *end ? end + 1 : end;
      }
      if (ids.empty())
        return usage();
      generate.promptIds.push_back(ids);
      generate.active = true;
    } else if (arg == "--samples") {
      const char *v = value();
      char *end;
      long long n = v ? strtoll(v, &end, 10) : 0;
      if (!v || *end || n < 1)
        return usage();
      generate.samples = size_t(n);
    } else if (arg == "--max-new-tokens" || arg == "--top-k" ||
               arg == "--seed") {
      const char *v = value();
      char *end;
      long long n = v ? strtoll(v, &end, 10) : 0;
      if (!v || *end || n < 0)
        return usage();
      if (arg == "--max-new-tokens")
        generate.options.max_new_tokens = size_t(n);
      else if (arg == "--top-k")
        generate.options.sampling.top_k = int(n);
      else
        generate.options.sampling.seed = uint64_t(n);
    } else if (arg == "--temperature" || arg == "--top-p" ||
               arg == "--repetition-penalty") {
      const char *v = value();
      char *end;
      double x = v ? strtod(v, &end) : 0;
      if (!v || *end || x < 0)
        return usage();
      (arg == "--temperature" ? generate.options.sampling.temperature
       : arg == "--top-p"     ? generate.options.sampling.top_p
                              : generate.options.sampling.repetition_penalty) =
          float(x);
    } else if (arg == "--verbose") {
      verbose = true;
    } else if (arg == "--profile") {
      profile = true;
    } else if (arg == "-h" || arg == "--help") {
      usage();
      return 0;
    } else if (!arg.empty() && arg[0] != '-' && enginePath.empty()) {
      enginePath = arg;
    } else {
      return usage();
    }
  }
  if (enginePath.empty())
    return usage();

  azr_engine_t *engine = nullptr;
  if (azr_status_t status = azr_engine_load(enginePath.c_str(), &engine))
    return failStatus(status);
  azr_session_options_t options = {};
  options.num_threads = threads;
  options.verbose = verbose;
  options.profile = profile;
  azr_session_t *session = nullptr;
  int code = 0;
  if (azr_status_t status = azr_session_create(engine, &options, &session)) {
    azr_engine_release(engine);
    return failStatus(status);
  }
  if (generate.active) {
    int result = runGeneration(engine, session, generate);
    azr_session_release(session);
    azr_engine_release(engine);
    return result;
  }
  std::vector<int64_t> idDims;
  for (auto &[name, path] : inputs) {
    std::string bytes, error;
    HostTensor tensor;
    bool isNpy =
        path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
    if (!readFile(path, bytes, error) ||
        !(isNpy ? readNpy(path, bytes, tensor, error)
                : readTensorProto(path, bytes, tensor, error))) {
      code = fail(error);
      break;
    }
    // bfloat16 has no NumPy type, and ONNX test data before onnx 1.13
    // wrote it as UINT16: 16-bit words for a bf16 input are its bits.
    if (tensor.dtype == AZR_DTYPE_U16 &&
        inputDtype(engine, name) == AZR_DTYPE_BF16)
      tensor.dtype = AZR_DTYPE_BF16;
    if (azr_status_t status = azr_session_set_input(
            session, name.c_str(), tensor.dtype, tensor.dims.data(),
            tensor.dims.size(), tensor.data.data(), tensor.data.size())) {
      code = fail(path + ": " + azr_status_message(status));
      azr_status_free(status);
      break;
    }
    if (name == "input_ids")
      idDims = tensor.dims;
  }
  azr_kv_cache_t *kv = nullptr;
  if (code == 0)
    code = bindFreshKvCache(engine, session, inputs, idDims, kv);
  std::vector<double> latencies;
  for (int i = 0; code == 0 && i < iterations; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (azr_status_t status = azr_session_run(session)) {
      code = failStatus(status);
      break;
    }
    latencies.push_back(std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() - start)
                            .count());
  }
  for (size_t i = 0; code == 0 && i < azr_engine_output_count(engine); ++i) {
    azr_tensor_info_t info;
    const void *data;
    azr_status_t status = azr_engine_output_info(engine, i, &info);
    if (!status)
      status = azr_session_get_output(session, info.name, &info, &data);
    if (status) {
      code = failStatus(status);
      break;
    }
    std::vector<int64_t> dims(info.dims, info.dims + info.rank);
    size_t size = azr_dtype_size(info.dtype);
    for (int64_t d : dims)
      size *= size_t(d);
    printf("output %s: %s %s\n", info.name, azr_dtype_name(info.dtype),
           shapeText(dims).c_str());
    if (!outputDir.empty()) {
      std::string error;
      // Output names may hold '/' or ':' (as exporters write them).
      std::string file = info.name;
      std::replace(file.begin(), file.end(), '/', '_');
      std::replace(file.begin(), file.end(), ':', '_');
      if (!writeNpy(outputDir + "/" + file + ".npy", info.dtype, info.dims,
                    info.rank, data, size, error))
        code = fail(error);
    }
  }
  if (code == 0 && !latencies.empty()) {
    std::vector<double> sorted = latencies;
    std::sort(sorted.begin(), sorted.end());
    printf("latency over %zu iteration(s): min %.3f ms, median %.3f ms\n",
           sorted.size(), sorted.front(), sorted[sorted.size() / 2]);
  }
  if (code == 0)
    printProfile(session);
  azr_session_release(session);
  azr_kv_cache_release(kv);
  azr_engine_release(engine);
  return code;
}

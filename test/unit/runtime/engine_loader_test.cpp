// The engine loader and session API on engines written here with the
// FlatBuffers builder (no compiler needed): a valid engine runs, and every
// kind of bad file or bad call is refused with a status that says why.

#include "azr/azr.h"
#include "azr/engine_format.h"
#include "runtime/schema/engine_generated.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace fb = flatbuffers;
namespace schema = azr::schema;

namespace {

/// An engine computing y = relu(x + c) for x: f32[2,3], c a constant [3].
/// With `dynamicBatch`, dim 0 is the symbol "batch" in 1..2: x, x + c and y
/// have dims (batch, 3), as the polynomials 0 + 1*batch and 3 + 0*batch.
struct EngineSpec {
  bool dynamicBatch = false;
  bool badPolynomial = false;  // x's polynomials one coefficient short
  bool batchUnsourced = false; // no input dim gives the symbol
  uint32_t formatVersion = AZR_ENGINE_FORMAT_VERSION;
  std::string target = "cpu";
  std::vector<std::string> cpuFeatures;
  std::string kernel = "add";
  int addOutputStorage = 0;       // 0: arena; 1: the constant (must be refused)
  bool overlapReluOutput = false; // relu writes over the bytes it reads
};

/// The file bytes of a finished engine FlatBuffer: header, metadata and
/// `constants`, with their checksums.
std::vector<uint8_t> packEngine(const fb::FlatBufferBuilder &b,
                                uint32_t formatVersion, const void *constants,
                                size_t constantsSize) {
  azr_engine_header_t header = {};
  memcpy(header.magic, AZR_ENGINE_MAGIC, 8);
  header.format_version = formatVersion;
  header.header_size = 64;
  header.metadata_offset = 64;
  header.metadata_size = b.GetSize();
  header.constants_offset = (64 + b.GetSize() + 63) / 64 * 64;
  header.constants_size = constantsSize;
  header.metadata_hash = azr_xxh64(b.GetBufferPointer(), b.GetSize(), 0);
  header.constants_hash = azr_xxh64(constants, constantsSize, 0);
  std::vector<uint8_t> file(header.constants_offset + constantsSize, 0);
  memcpy(file.data(), &header, 64);
  memcpy(file.data() + 64, b.GetBufferPointer(), b.GetSize());
  memcpy(file.data() + header.constants_offset, constants, constantsSize);
  return file;
}

std::vector<uint8_t> buildEngine(const EngineSpec &spec) {
  fb::FlatBufferBuilder b;
  std::vector<int64_t> shape = {2, 3}, rowShape = {3};
  std::vector<int64_t> batchBy3 = {0, 1, 3, 0};
  auto dims = [&](bool input = false) {
    if (!spec.dynamicBatch)
      return fb::Offset<fb::Vector<int64_t>>();
    if (input && spec.badPolynomial)
      return b.CreateVector(batchBy3.data(), 3);
    return b.CreateVector(batchBy3);
  };
  std::vector<fb::Offset<schema::Value>> values = {
      schema::CreateValue(b, schema::DType::f32, b.CreateVector(shape),
                          schema::Storage::Input, 0, 24, 0, 0, dims(true)),
      schema::CreateValue(b, schema::DType::f32, b.CreateVector(rowShape),
                          schema::Storage::Constant, 0, 12, 0),
      schema::CreateValue(b, schema::DType::f32, b.CreateVector(shape),
                          spec.addOutputStorage ? schema::Storage::Constant
                                                : schema::Storage::Arena,
                          0, 24, 0, 0, dims()),
      spec.overlapReluOutput
          ? schema::CreateValue(b, schema::DType::f32, b.CreateVector(shape),
                                schema::Storage::Arena, 8, 24, 0)
          : schema::CreateValue(b, schema::DType::f32, b.CreateVector(shape),
                                schema::Storage::Output, 0, 24, 0, 0, dims()),
  };
  std::vector<int> addIn = {0, 1}, addOut = {2}, reluIn = {2}, reluOut = {3};
  std::vector<fb::Offset<schema::Step>> steps = {
      schema::CreateStep(b, b.CreateString(spec.kernel), b.CreateString("add0"),
                         b.CreateVector(addIn), b.CreateVector(addOut)),
      schema::CreateStep(b, b.CreateString("relu"), b.CreateString("relu0"),
                         b.CreateVector(reluIn), b.CreateVector(reluOut)),
  };
  auto signature = [&](const char *name, int value) {
    bool symbolic = spec.dynamicBatch && !spec.batchUnsourced;
    std::vector<fb::Offset<schema::Dim>> dims = {
        schema::CreateDim(b, 2, b.CreateString("batch"),
                          spec.dynamicBatch ? 1 : 2, 2, symbolic ? 0 : -1),
        schema::CreateDim(b, 3, 0, 3, 3)};
    return schema::CreateTensorSignature(b, b.CreateString(name),
                                         schema::DType::f32,
                                         b.CreateVector(dims), value);
  };
  std::vector<fb::Offset<schema::TensorSignature>> inputs = {signature("x", 0)};
  std::vector<fb::Offset<schema::TensorSignature>> outputs = {
      signature("y", 3)};
  std::vector<fb::Offset<fb::String>> features;
  for (const std::string &f : spec.cpuFeatures)
    features.push_back(b.CreateString(f));
  std::vector<fb::Offset<schema::Symbol>> symbols;
  if (spec.dynamicBatch)
    symbols.push_back(
        schema::CreateSymbol(b, b.CreateString("batch"), 1, 2, 2));
  auto engine = schema::CreateEngine(
      b, b.CreateString("test"), b.CreateString("test.onnx"),
      b.CreateString(spec.target), b.CreateVector(features), 0,
      b.CreateVector(inputs), b.CreateVector(outputs), b.CreateVector(values),
      b.CreateVector(steps), /*arena_size=*/64, /*intermediate_bytes=*/24,
      /*parameter_count=*/3, /*constants_size=*/64,
      spec.dynamicBatch ? b.CreateVector(symbols) : 0);
  b.Finish(engine, "AZEN");
  float constants[16] = {-1.0f, 0.0f, 1.0f};
  return packEngine(b, spec.formatVersion, constants, sizeof(constants));
}

/// An engine of one paged_attention step over a cache of 1 layer, 1 kv
/// head of 4, 2 tokens per block, 4 blocks per sequence: inputs q
/// [1, 2, 1, 4], k and v [1, 1, 1, 4], kv_block_table [1, tableBlocks],
/// kv_past_lengths [1]; output y like q.
std::vector<uint8_t> buildPagedEngine(int64_t tableBlocks = 4,
                                      bool withLengths = true) {
  fb::FlatBufferBuilder b;
  const std::vector<std::vector<int64_t>> shapes = {
      {1, 2, 1, 4}, {1, 1, 1, 4}, {1, 1, 1, 4}, {1, tableBlocks}, {1}};
  const std::vector<const char *> names = {"q", "k", "v", "kv_block_table",
                                           withLengths ? "kv_past_lengths"
                                                       : "past"};
  std::vector<fb::Offset<schema::Value>> values;
  std::vector<fb::Offset<schema::TensorSignature>> inputs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const schema::DType dtype = i < 3 ? schema::DType::f32 : schema::DType::i32;
    uint64_t bytes = 4;
    std::vector<fb::Offset<schema::Dim>> dims;
    for (int64_t d : shapes[i]) {
      bytes *= uint64_t(d);
      dims.push_back(schema::CreateDim(b, d, 0, d, d));
    }
    values.push_back(schema::CreateValue(b, dtype, b.CreateVector(shapes[i]),
                                         schema::Storage::Input, 0, bytes,
                                         uint32_t(i)));
    inputs.push_back(schema::CreateTensorSignature(
        b, b.CreateString(names[i]), dtype, b.CreateVector(dims), int(i)));
  }
  std::vector<fb::Offset<schema::Dim>> outDims;
  for (int64_t d : shapes[0])
    outDims.push_back(schema::CreateDim(b, d, 0, d, d));
  values.push_back(schema::CreateValue(b, schema::DType::f32,
                                       b.CreateVector(shapes[0]),
                                       schema::Storage::Output, 0, 32, 0));
  std::vector<fb::Offset<schema::TensorSignature>> outputs = {
      schema::CreateTensorSignature(b, b.CreateString("y"), schema::DType::f32,
                                    b.CreateVector(outDims), 5)};
  std::vector<fb::Offset<schema::Attribute>> attributes = {
      schema::CreateAttribute(b, b.CreateString("layer"),
                              schema::AttributeKind::Int, 0),
      schema::CreateAttribute(b, b.CreateString("scale"),
                              schema::AttributeKind::Float, 0, 0.5)};
  std::vector<int> stepIn = {0, 1, 2, 3, 4}, stepOut = {5};
  std::vector<fb::Offset<schema::Step>> steps = {
      schema::CreateStep(b, b.CreateString("paged_attention"),
                         b.CreateString("attn0"), b.CreateVector(stepIn),
                         b.CreateVector(stepOut), b.CreateVector(attributes))};
  auto kv = schema::CreateKvCacheLayout(b, /*layers=*/1, /*kv_heads=*/1,
                                        /*head_dim=*/4, /*tokens_per_block=*/2,
                                        schema::KvDType::f32,
                                        /*max_blocks_per_sequence=*/4,
                                        /*default_blocks=*/8);
  auto producer = b.CreateString("test"), source = b.CreateString("test.onnx"),
       target = b.CreateString("cpu");
  auto inputVector = b.CreateVector(inputs);
  auto outputVector = b.CreateVector(outputs);
  auto valueVector = b.CreateVector(values);
  auto stepVector = b.CreateVector(steps);
  schema::EngineBuilder engine(b);
  engine.add_producer(producer);
  engine.add_source_model(source);
  engine.add_target(target);
  engine.add_inputs(inputVector);
  engine.add_outputs(outputVector);
  engine.add_values(valueVector);
  engine.add_steps(stepVector);
  engine.add_arena_size(64);
  engine.add_constants_size(64);
  engine.add_kv_cache(kv);
  b.Finish(engine.Finish(), "AZEN");
  const uint8_t constants[64] = {};
  return packEngine(b, AZR_ENGINE_FORMAT_VERSION, constants, sizeof(constants));
}

class EngineLoader : public ::testing::Test {
protected:
  void SetUp() override {
    char name[] = "/tmp/azr-engine-test-XXXXXX";
    int fd = mkstemp(name);
    close(fd);
    path = name;
  }
  void TearDown() override {
    unlink(path.c_str());
    unsetenv("AZR_CPU_DISABLE");
  }

  void write(const std::vector<uint8_t> &bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  }

  /// Loads `bytes`; returns the refusal message ("" if it loaded).
  std::string refusal(const std::vector<uint8_t> &bytes,
                      azr_status_code_t expectedCode) {
    write(bytes);
    azr_engine_t *engine = nullptr;
    azr_status_t status = azr_engine_load(path.c_str(), &engine);
    if (!status) {
      azr_engine_release(engine);
      return "";
    }
    EXPECT_EQ(azr_status_code(status), expectedCode)
        << azr_status_message(status);
    EXPECT_EQ(engine, nullptr);
    std::string message = azr_status_message(status);
    azr_status_free(status);
    EXPECT_EQ(message.rfind(path, 0), 0u) << "must name the file: " << message;
    return message;
  }

  std::string path;
};

TEST_F(EngineLoader, RunsAValidEngine) {
  write(buildEngine({}));
  azr_engine_t *engine = nullptr;
  ASSERT_EQ(azr_engine_load(path.c_str(), &engine), nullptr);
  ASSERT_EQ(azr_engine_input_count(engine), 1u);
  azr_tensor_info_t info;
  ASSERT_EQ(azr_engine_input_info(engine, 0, &info), nullptr);
  EXPECT_STREQ(info.name, "x");
  EXPECT_EQ(info.rank, 2u);
  azr_session_t *session = nullptr;
  ASSERT_EQ(azr_session_create(engine, nullptr, &session), nullptr);
  float x[6] = {1, 2, 3, -4, -5, 6};
  int64_t dims[2] = {2, 3};
  ASSERT_EQ(
      azr_session_set_input(session, "x", AZR_DTYPE_F32, dims, 2, x, sizeof(x)),
      nullptr);
  ASSERT_EQ(azr_session_run(session), nullptr);
  const void *data;
  ASSERT_EQ(azr_session_get_output(session, "y", &info, &data), nullptr);
  const float *y = static_cast<const float *>(data);
  // relu(x + [-1, 0, 1]), computed by hand.
  float expected[6] = {0, 2, 4, 0, 0, 7};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(y[i], expected[i]) << i;
  azr_session_release(session);
  azr_engine_release(engine);
}

TEST_F(EngineLoader, RefusesEmptyAndTruncatedFiles) {
  EXPECT_NE(refusal({}, AZR_STATUS_DATA_LOSS).find("too short"),
            std::string::npos);
  std::vector<uint8_t> bytes = buildEngine({});
  for (size_t keep :
       {size_t(10), size_t(64), bytes.size() / 2, bytes.size() - 1}) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + keep);
    EXPECT_NE(refusal(cut, AZR_STATUS_DATA_LOSS), "") << keep;
  }
}

TEST_F(EngineLoader, RefusesOtherFiles) {
  std::vector<uint8_t> text(100, 'a');
  EXPECT_NE(
      refusal(text, AZR_STATUS_INVALID_ARGUMENT).find("not an azc engine"),
      std::string::npos);
}

TEST_F(EngineLoader, RefusesNewerFormats) {
  EngineSpec spec;
  spec.formatVersion = AZR_ENGINE_FORMAT_VERSION + 1;
  std::string message = refusal(buildEngine(spec), AZR_STATUS_UNIMPLEMENTED);
  std::string expected = "format version " +
                         std::to_string(AZR_ENGINE_FORMAT_VERSION + 1) +
                         " is newer";
  EXPECT_NE(message.find(expected), std::string::npos) << message;
}

TEST_F(EngineLoader, DetectsCorruptionInEachSection) {
  std::vector<uint8_t> bytes = buildEngine({});
  azr_engine_header_t header;
  memcpy(&header, bytes.data(), 64);
  std::vector<uint8_t> metadata = bytes;
  metadata[header.metadata_offset + header.metadata_size / 2] ^= 0x40;
  EXPECT_NE(refusal(metadata, AZR_STATUS_DATA_LOSS)
                .find("metadata section is corrupted"),
            std::string::npos);
  std::vector<uint8_t> constants = bytes;
  constants[header.constants_offset + 1] ^= 0x01;
  EXPECT_NE(refusal(constants, AZR_STATUS_DATA_LOSS)
                .find("constants section is corrupted"),
            std::string::npos);
}

TEST_F(EngineLoader, RefusesOtherTargets) {
  EngineSpec spec;
  spec.target = "sm_90";
  EXPECT_NE(refusal(buildEngine(spec), AZR_STATUS_UNIMPLEMENTED)
                .find("targets 'sm_90'"),
            std::string::npos);
}

TEST_F(EngineLoader, RefusesMissingCpuFeatures) {
  EngineSpec spec;
  spec.cpuFeatures = {"sse4.2"};
  setenv("AZR_CPU_DISABLE", "avx2,sse4.2", 1);
  EXPECT_NE(refusal(buildEngine(spec), AZR_STATUS_UNIMPLEMENTED)
                .find("needs CPU feature 'sse4.2', which this CPU lacks"),
            std::string::npos);
  spec.cpuFeatures = {"quantum_tile"};
  EXPECT_NE(refusal(buildEngine(spec), AZR_STATUS_UNIMPLEMENTED)
                .find("'quantum_tile', unknown to this runtime"),
            std::string::npos);
}

TEST_F(EngineLoader, RefusesUnknownKernelsAndWritesToConstants) {
  EngineSpec spec;
  spec.kernel = "teleport";
  EXPECT_NE(refusal(buildEngine(spec), AZR_STATUS_UNIMPLEMENTED)
                .find("kernel 'teleport'"),
            std::string::npos);
  EngineSpec constantWrite;
  constantWrite.addOutputStorage = 1;
  EXPECT_NE(refusal(buildEngine(constantWrite), AZR_STATUS_DATA_LOSS)
                .find("writes into a constant"),
            std::string::npos);
}

TEST_F(EngineLoader, RefusesStepsWritingOverTheirOperands) {
  EngineSpec spec;
  spec.overlapReluOutput = true;
  EXPECT_NE(refusal(buildEngine(spec), AZR_STATUS_DATA_LOSS)
                .find("step 1 writes over its own operands"),
            std::string::npos);
}

TEST_F(EngineLoader, RefusesBadInputs) {
  write(buildEngine({}));
  azr_engine_t *engine = nullptr;
  ASSERT_EQ(azr_engine_load(path.c_str(), &engine), nullptr);
  azr_session_t *session = nullptr;
  ASSERT_EQ(azr_session_create(engine, nullptr, &session), nullptr);
  float x[6] = {};
  int64_t dims[2] = {2, 3}, wrongDims[2] = {3, 2};
  auto expectRefusal = [](azr_status_t status, azr_status_code_t code,
                          const char *text) {
    ASSERT_NE(status, nullptr);
    EXPECT_EQ(azr_status_code(status), code);
    EXPECT_NE(std::string(azr_status_message(status)).find(text),
              std::string::npos)
        << azr_status_message(status);
    azr_status_free(status);
  };
  expectRefusal(azr_session_run(session), AZR_STATUS_INVALID_ARGUMENT,
                "input 'x' was not set");
  expectRefusal(
      azr_session_set_input(session, "z", AZR_DTYPE_F32, dims, 2, x, sizeof(x)),
      AZR_STATUS_NOT_FOUND, "no input named 'z' (its inputs: 'x')");
  expectRefusal(
      azr_session_set_input(session, "x", AZR_DTYPE_I32, dims, 2, x, sizeof(x)),
      AZR_STATUS_INVALID_ARGUMENT, "has dtype f32, got i32");
  expectRefusal(azr_session_set_input(session, "x", AZR_DTYPE_F32, wrongDims, 2,
                                      x, sizeof(x)),
                AZR_STATUS_INVALID_ARGUMENT,
                "dim 0 is 3, but the engine takes only 2");
  expectRefusal(azr_session_set_input(session, "x", AZR_DTYPE_F32, dims, 2, x,
                                      sizeof(x) - 4),
                AZR_STATUS_INVALID_ARGUMENT,
                "of shape [2,3] needs 24 bytes, got 20");
  azr_session_release(session);
  azr_engine_release(engine);
}

TEST_F(EngineLoader, RunsADynamicEngineAtEverySizeOfItsRange) {
  EngineSpec spec;
  spec.dynamicBatch = true;
  write(buildEngine(spec));
  azr_engine_t *engine = nullptr;
  ASSERT_EQ(azr_engine_load(path.c_str(), &engine), nullptr);
  azr_tensor_info_t info;
  ASSERT_EQ(azr_engine_input_info(engine, 0, &info), nullptr);
  EXPECT_EQ(info.dims[0], -1); // varies
  EXPECT_EQ(info.dims[1], 3);
  int64_t min = 0, max = 0;
  const char *name = nullptr;
  ASSERT_EQ(azr_engine_input_dim(engine, 0, 0, &min, &max, &name), nullptr);
  EXPECT_EQ(min, 1);
  EXPECT_EQ(max, 2);
  EXPECT_STREQ(name, "batch");
  azr_session_t *session = nullptr;
  ASSERT_EQ(azr_session_create(engine, nullptr, &session), nullptr);
  float x[6] = {1, 2, 3, -4, -5, 6};
  // relu(x + [-1, 0, 1]), computed by hand, for 2 rows, 1 row, 2 again.
  float expected[6] = {0, 2, 4, 0, 0, 7};
  for (int64_t batch : {2, 1, 2}) {
    int64_t dims[2] = {batch, 3};
    ASSERT_EQ(azr_session_set_input(session, "x", AZR_DTYPE_F32, dims, 2, x,
                                    batch * 3 * sizeof(float)),
              nullptr);
    ASSERT_EQ(azr_session_run(session), nullptr);
    const void *data;
    ASSERT_EQ(azr_session_get_output(session, "y", &info, &data), nullptr);
    EXPECT_EQ(info.dims[0], batch);
    EXPECT_EQ(info.dims[1], 3);
    for (int i = 0; i < batch * 3; ++i)
      EXPECT_EQ(static_cast<const float *>(data)[i], expected[i]) << i;
  }
  int64_t tooMany[2] = {3, 3};
  azr_status_t status = azr_session_set_input(session, "x", AZR_DTYPE_F32,
                                              tooMany, 2, x, sizeof(x));
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(azr_status_code(status), AZR_STATUS_OUT_OF_RANGE);
  EXPECT_NE(std::string(azr_status_message(status))
                .find("dim 0 ('batch') is 3, outside the engine's range 1..2"),
            std::string::npos)
      << azr_status_message(status);
  azr_status_free(status);
  azr_session_release(session);
  azr_engine_release(engine);
}

TEST_F(EngineLoader, RefusesBadPolynomialsAndUnsourcedSymbols) {
  EngineSpec spec;
  spec.dynamicBatch = true;
  spec.badPolynomial = true;
  EXPECT_NE(refusal(buildEngine(spec), AZR_STATUS_DATA_LOSS)
                .find("value 0 has bad dim polynomials"),
            std::string::npos);
  spec.badPolynomial = false;
  spec.batchUnsourced = true;
  EXPECT_NE(refusal(buildEngine(spec), AZR_STATUS_DATA_LOSS)
                .find("no input dim gives symbol 'batch'"),
            std::string::npos);
}

/// Softmax(0.5 q k^T) v in double over one kv head's history of 4-element
/// rows.
std::vector<double> attendHistory(const float *q,
                                  const std::vector<float> &keys,
                                  const std::vector<float> &values) {
  const size_t t = keys.size() / 4;
  std::vector<double> out(4, 0.0), weights(t);
  double top = -1e300, total = 0;
  for (size_t j = 0; j < t; ++j) {
    double dot = 0;
    for (int e = 0; e < 4; ++e)
      dot += double(q[e]) * keys[j * 4 + e];
    weights[j] = 0.5 * dot;
    top = std::max(top, weights[j]);
  }
  for (double &w : weights)
    total += (w = std::exp(w - top));
  for (size_t j = 0; j < t; ++j)
    for (int e = 0; e < 4; ++e)
      out[size_t(e)] += weights[j] / total * values[j * 4 + e];
  return out;
}

TEST_F(EngineLoader, RunsPagedAttentionThroughTheKvCacheApi) {
  write(buildPagedEngine());
  azr_engine_t *engine = nullptr;
  ASSERT_EQ(azr_engine_load(path.c_str(), &engine), nullptr);
  azr_kv_cache_t *cache = nullptr;
  ASSERT_EQ(azr_kv_cache_create(engine, 0, nullptr, &cache), nullptr);
  EXPECT_EQ(azr_kv_cache_block_count(cache), 8u);
  EXPECT_EQ(azr_kv_cache_tokens_per_block(cache), 2u);
  azr_session_t *session = nullptr;
  ASSERT_EQ(azr_session_create(engine, nullptr, &session), nullptr);

  // Runs one token of sequence `id`, whose history so far is `keys` and
  // `values`, and checks the output against attention over it.
  unsigned seed = 1;
  auto step = [&](int64_t id, std::vector<float> &keys,
                  std::vector<float> &values) {
    auto next = [&] { return float((seed++ * 37) % 19) / 9.0f - 1.0f; };
    float q[8], k[4], v[4];
    for (float &x : q)
      x = next();
    for (int e = 0; e < 4; ++e) {
      k[e] = next();
      v[e] = next();
    }
    ASSERT_EQ(azr_kv_cache_reserve(cache, id, 1), nullptr);
    ASSERT_EQ(azr_session_set_kv_sequences(session, cache, &id, 1), nullptr);
    const int64_t qDims[4] = {1, 2, 1, 4}, kvDims[4] = {1, 1, 1, 4};
    ASSERT_EQ(azr_session_set_input(session, "q", AZR_DTYPE_F32, qDims, 4, q,
                                    sizeof(q)),
              nullptr);
    ASSERT_EQ(azr_session_set_input(session, "k", AZR_DTYPE_F32, kvDims, 4, k,
                                    sizeof(k)),
              nullptr);
    ASSERT_EQ(azr_session_set_input(session, "v", AZR_DTYPE_F32, kvDims, 4, v,
                                    sizeof(v)),
              nullptr);
    ASSERT_EQ(azr_session_run(session), nullptr);
    ASSERT_EQ(azr_kv_cache_commit(cache, id, 1), nullptr);
    keys.insert(keys.end(), k, k + 4);
    values.insert(values.end(), v, v + 4);
    const void *data;
    ASSERT_EQ(azr_session_get_output(session, "y", nullptr, &data), nullptr);
    for (int h = 0; h < 2; ++h) {
      const std::vector<double> want = attendHistory(q + 4 * h, keys, values);
      for (int e = 0; e < 4; ++e)
        EXPECT_NEAR(static_cast<const float *>(data)[4 * h + e],
                    want[size_t(e)], 1e-5);
    }
  };

  int64_t parent = -1;
  ASSERT_EQ(azr_kv_cache_add_sequence(cache, &parent), nullptr);
  std::vector<float> parentKeys, parentValues;
  for (int i = 0; i < 3; ++i) {
    step(parent, parentKeys, parentValues);
    ASSERT_FALSE(HasFatalFailure());
  }
  EXPECT_EQ(azr_kv_cache_length(cache, parent), 3);
  EXPECT_EQ(azr_kv_cache_free_block_count(cache), 6u);
  // The child shares both blocks; its first token lands in the half-full
  // one, which is copied; the parent then still reads its own history.
  int64_t child = -1;
  ASSERT_EQ(azr_kv_cache_fork(cache, parent, &child), nullptr);
  EXPECT_EQ(azr_kv_cache_free_block_count(cache), 6u);
  std::vector<float> childKeys = parentKeys, childValues = parentValues;
  step(child, childKeys, childValues);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(azr_kv_cache_free_block_count(cache), 5u);
  for (int i = 0; i < 3; ++i) {
    step(parent, parentKeys, parentValues);
    ASSERT_FALSE(HasFatalFailure());
    step(child, childKeys, childValues);
    ASSERT_FALSE(HasFatalFailure());
  }
  ASSERT_EQ(azr_kv_cache_remove_sequence(cache, parent), nullptr);
  ASSERT_EQ(azr_kv_cache_remove_sequence(cache, child), nullptr);
  EXPECT_EQ(azr_kv_cache_free_block_count(cache), 8u);

  int64_t unknown = 42;
  azr_status_t status =
      azr_session_set_kv_sequences(session, cache, &unknown, 1);
  EXPECT_EQ(azr_status_code(status), AZR_STATUS_INVALID_ARGUMENT);
  azr_status_free(status);
  azr_session_release(session);
  azr_kv_cache_release(cache);
  azr_engine_release(engine);
}

TEST_F(EngineLoader, PagedAttentionWithoutABoundCacheIsAStatus) {
  write(buildPagedEngine());
  azr_engine_t *engine = nullptr;
  ASSERT_EQ(azr_engine_load(path.c_str(), &engine), nullptr);
  azr_session_t *session = nullptr;
  ASSERT_EQ(azr_session_create(engine, nullptr, &session), nullptr);
  float zeros[8] = {};
  const int32_t table[4] = {0, -1, -1, -1}, past[1] = {0};
  const int64_t qDims[4] = {1, 2, 1, 4}, kvDims[4] = {1, 1, 1, 4},
                tableDims[2] = {1, 4}, pastDims[1] = {1};
  ASSERT_EQ(
      azr_session_set_input(session, "q", AZR_DTYPE_F32, qDims, 4, zeros, 32),
      nullptr);
  ASSERT_EQ(
      azr_session_set_input(session, "k", AZR_DTYPE_F32, kvDims, 4, zeros, 16),
      nullptr);
  ASSERT_EQ(
      azr_session_set_input(session, "v", AZR_DTYPE_F32, kvDims, 4, zeros, 16),
      nullptr);
  ASSERT_EQ(azr_session_set_input(session, "kv_block_table", AZR_DTYPE_I32,
                                  tableDims, 2, table, sizeof(table)),
            nullptr);
  ASSERT_EQ(azr_session_set_input(session, "kv_past_lengths", AZR_DTYPE_I32,
                                  pastDims, 1, past, sizeof(past)),
            nullptr);
  azr_status_t status = azr_session_run(session);
  EXPECT_EQ(azr_status_code(status), AZR_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(azr_status_message(status))
                .find("azr_session_set_kv_sequences"),
            std::string::npos)
      << azr_status_message(status);
  azr_status_free(status);
  azr_session_release(session);
  azr_engine_release(engine);
}

TEST_F(EngineLoader, RefusesBadKvCacheLayouts) {
  EXPECT_NE(refusal(buildPagedEngine(5), AZR_STATUS_DATA_LOSS)
                .find("kv_block_table's second dim"),
            std::string::npos);
  EXPECT_NE(refusal(buildPagedEngine(4, false), AZR_STATUS_DATA_LOSS)
                .find("needs inputs kv_block_table"),
            std::string::npos);
  // An engine without a cache layout has no cache to create.
  write(buildEngine({}));
  azr_engine_t *engine = nullptr;
  ASSERT_EQ(azr_engine_load(path.c_str(), &engine), nullptr);
  azr_kv_cache_t *cache = nullptr;
  azr_status_t status = azr_kv_cache_create(engine, 0, nullptr, &cache);
  EXPECT_EQ(azr_status_code(status), AZR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(cache, nullptr);
  azr_status_free(status);
  azr_engine_release(engine);
}

TEST(XxHash64, KnownValues) {
  // Reference values from the xxhash Python package (the C reference).
  EXPECT_EQ(azr_xxh64("", 0, 0), 0xef46db3751d8e999ULL);
  EXPECT_EQ(azr_xxh64("a", 1, 0), 0xd24ec4f1a98c6e5bULL);
  EXPECT_EQ(azr_xxh64("abc", 3, 0), 0x44bc2cf5ad770999ULL);
  std::vector<uint8_t> bytes;
  for (int r = 0; r < 5; ++r)
    for (int i = 0; i < 256; ++i)
      bytes.push_back(uint8_t(i));
  EXPECT_EQ(azr_xxh64(bytes.data(), bytes.size(), 0), 0xafc184ad7938a354ULL);
  // Fed in uneven pieces, the incremental form gives the same digest.
  azr_xxh64_state_t state;
  azr_xxh64_init(&state, 0);
  size_t pos = 0;
  for (size_t piece : {1, 7, 31, 32, 33, 100, 1000})
    if (pos < bytes.size()) {
      size_t n = std::min(piece, bytes.size() - pos);
      azr_xxh64_update(&state, bytes.data() + pos, n);
      pos += n;
    }
  azr_xxh64_update(&state, bytes.data() + pos, bytes.size() - pos);
  EXPECT_EQ(azr_xxh64_digest(&state), 0xafc184ad7938a354ULL);
}

} // namespace

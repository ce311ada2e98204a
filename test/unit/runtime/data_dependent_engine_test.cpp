// Engines with an output whose size depends on the input values, written
// here with the FlatBuffers builder: the session reports the dims each run
// produced, and the loader refuses a data-dependent dim or extent value
// that does not make sense.

#include "azr/azr.h"
#include "azr/engine_format.h"
#include "runtime/schema/engine_generated.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace fb = flatbuffers;
namespace schema = azr::schema;

namespace {

/// y = nonzero(x) for x: f32[4], so y is i64 [1, 4] at most; its dim 1 is
/// the count the nonzero step writes into value 2. With `extentFromInput`,
/// a second step copies the i64 scalar input "n" (value 3) into value 4,
/// which can then serve as the extent, so a test can make it wrong.
struct Spec {
  int dataDependentDim = 1;
  int extentValue = 2;
  bool extentFromInput = false;
};

std::vector<uint8_t> buildEngine(const Spec &spec) {
  fb::FlatBufferBuilder b;
  std::vector<int64_t> xShape = {4}, yShape = {1, 4}, scalar = {};
  std::vector<fb::Offset<schema::Value>> values = {
      schema::CreateValue(b, schema::DType::f32, b.CreateVector(xShape),
                          schema::Storage::Input, 0, 16, 0),
      schema::CreateValue(b, schema::DType::i64, b.CreateVector(yShape),
                          schema::Storage::Output, 0, 32, 0),
      schema::CreateValue(b, schema::DType::i64, b.CreateVector(scalar),
                          schema::Storage::Arena, 0, 8, 0),
      schema::CreateValue(b, schema::DType::i64, b.CreateVector(scalar),
                          schema::Storage::Input, 0, 8, 1),
      schema::CreateValue(b, schema::DType::i64, b.CreateVector(scalar),
                          schema::Storage::Arena, 64, 8, 0),
  };
  std::vector<int> nonzeroIn = {0}, nonzeroOut = {1, 2};
  std::vector<int> copyIn = {3, -1}, copyOut = {4};
  std::vector<fb::Offset<schema::Step>> steps = {schema::CreateStep(
      b, b.CreateString("nonzero"), b.CreateString("NonZero"),
      b.CreateVector(nonzeroIn), b.CreateVector(nonzeroOut))};
  if (spec.extentFromInput)
    steps.push_back(
        schema::CreateStep(b, b.CreateString("reshape"), b.CreateString("n"),
                           b.CreateVector(copyIn), b.CreateVector(copyOut)));
  auto dims = [&](std::vector<int64_t> sizes) {
    std::vector<fb::Offset<schema::Dim>> list;
    for (int64_t size : sizes)
      list.push_back(schema::CreateDim(b, size, 0, size, size));
    return b.CreateVector(list);
  };
  std::vector<fb::Offset<schema::TensorSignature>> inputs = {
      schema::CreateTensorSignature(b, b.CreateString("x"), schema::DType::f32,
                                    dims(xShape), 0)};
  inputs.push_back(schema::CreateTensorSignature(
      b, b.CreateString("n"), schema::DType::i64, dims(scalar), 3));
  std::vector<fb::Offset<schema::TensorSignature>> outputs = {
      schema::CreateTensorSignature(b, b.CreateString("y"), schema::DType::i64,
                                    dims(yShape), 1, 0, spec.dataDependentDim,
                                    spec.extentValue)};
  auto engine = schema::CreateEngine(
      b, b.CreateString("test"), b.CreateString("test.onnx"),
      b.CreateString("cpu"), 0, 0, b.CreateVector(inputs),
      b.CreateVector(outputs), b.CreateVector(values), b.CreateVector(steps),
      /*arena_size=*/128, /*intermediate_bytes=*/16, /*parameter_count=*/0,
      /*constants_size=*/0);
  b.Finish(engine, "AZEN");

  azr_engine_header_t header = {};
  memcpy(header.magic, AZR_ENGINE_MAGIC, 8);
  header.format_version = AZR_ENGINE_FORMAT_VERSION;
  header.header_size = 64;
  header.metadata_offset = 64;
  header.metadata_size = b.GetSize();
  header.constants_offset = (64 + b.GetSize() + 63) / 64 * 64;
  header.metadata_hash = azr_xxh64(b.GetBufferPointer(), b.GetSize(), 0);
  const uint8_t none[1] = {};
  header.constants_hash = azr_xxh64(none, 0, 0);
  std::vector<uint8_t> file(header.constants_offset, 0);
  memcpy(file.data(), &header, 64);
  memcpy(file.data() + 64, b.GetBufferPointer(), b.GetSize());
  return file;
}

class DataDependentEngine : public ::testing::Test {
protected:
  void SetUp() override {
    char name[] = "/tmp/azr-data-dependent-XXXXXX";
    close(mkstemp(name));
    path = name;
  }
  void TearDown() override {
    if (session)
      azr_session_release(session);
    if (engine)
      azr_engine_release(engine);
    unlink(path.c_str());
  }

  /// Loads `bytes`; returns the refusal message, or "" with `engine` set.
  std::string load(const std::vector<uint8_t> &bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
    azr_status_t status = azr_engine_load(path.c_str(), &engine);
    if (!status)
      return "";
    EXPECT_EQ(azr_status_code(status), AZR_STATUS_DATA_LOSS);
    std::string message = azr_status_message(status);
    azr_status_free(status);
    return message;
  }

  /// Runs on `x` and `n`; returns the status message ("" on success).
  std::string run(std::vector<float> x, int64_t n = 0) {
    if (!session && azr_session_create(engine, nullptr, &session))
      return "no session";
    int64_t xDims[1] = {4};
    EXPECT_EQ(azr_session_set_input(session, "x", AZR_DTYPE_F32, xDims, 1,
                                    x.data(), 16),
              nullptr);
    EXPECT_EQ(
        azr_session_set_input(session, "n", AZR_DTYPE_I64, nullptr, 0, &n, 8),
        nullptr);
    azr_status_t status = azr_session_run(session);
    std::string message = status ? azr_status_message(status) : "";
    azr_status_free(status);
    return message;
  }

  std::string path;
  azr_engine_t *engine = nullptr;
  azr_session_t *session = nullptr;
};

TEST_F(DataDependentEngine, ReportsTheDimsOfEachRun) {
  ASSERT_EQ(load(buildEngine({})), "");
  azr_tensor_info_t info;
  ASSERT_EQ(azr_engine_output_info(engine, 0, &info), nullptr);
  ASSERT_EQ(info.rank, 2u);
  EXPECT_EQ(info.dims[0], 1);
  EXPECT_EQ(info.dims[1], -1); // Known only after a run.

  const void *data = nullptr;
  ASSERT_EQ(run({1, 0, 2, 0}), "");
  ASSERT_EQ(azr_session_get_output(session, "y", &info, &data), nullptr);
  EXPECT_EQ(info.dims[0], 1);
  EXPECT_EQ(info.dims[1], 2);
  EXPECT_EQ(static_cast<const int64_t *>(data)[0], 0);
  EXPECT_EQ(static_cast<const int64_t *>(data)[1], 2);

  ASSERT_EQ(run({0, 0, 0, 5}), "");
  ASSERT_EQ(azr_session_get_output(session, "y", &info, &data), nullptr);
  EXPECT_EQ(info.dims[1], 1);
  EXPECT_EQ(static_cast<const int64_t *>(data)[0], 3);

  ASSERT_EQ(run({0, 0, 0, 0}), "");
  ASSERT_EQ(azr_session_get_output(session, "y", &info, &data), nullptr);
  EXPECT_EQ(info.dims[1], 0);
}

TEST_F(DataDependentEngine, RefusesBadDimsAndExtentValues) {
  // The dim must be one of the output's; the extent an i64 scalar value
  // that a step writes, other than the output itself.
  for (Spec spec : {Spec{2, 2}, Spec{-2, 2}, Spec{1, 99}, Spec{1, -1},
                    Spec{-1, 2}, Spec{1, 0}, Spec{1, 1}, Spec{1, 4}}) {
    std::string message = load(buildEngine(spec));
    EXPECT_NE(message.find("output 'y' has a bad data-dependent dim"),
              std::string::npos)
        << spec.dataDependentDim << " " << spec.extentValue << ": " << message;
    EXPECT_EQ(message.rfind(path, 0), 0u) << message;
  }
}

TEST_F(DataDependentEngine, RefusesAnExtentPastTheBound) {
  Spec spec;
  spec.extentFromInput = true;
  spec.extentValue = 4;
  ASSERT_EQ(load(buildEngine(spec)), "");
  ASSERT_EQ(run({1, 1, 1, 1}, 3), "");
  azr_tensor_info_t info;
  ASSERT_EQ(azr_session_get_output(session, "y", &info, nullptr), nullptr);
  EXPECT_EQ(info.dims[1], 3);
  std::string message = run({1, 1, 1, 1}, 5);
  EXPECT_NE(message.find("output 'y' dim 1: the run gave size 5, outside "
                         "0..4"),
            std::string::npos)
      << message;
  EXPECT_NE(run({1, 1, 1, 1}, -1), "");
}

} // namespace

// ONNX importer tests on models built here with ONNX's generated classes:
// weight handling (in-place, typed fields, external data) and the errors a
// bad model must produce (one message naming the file, node or tensor).

#include "dialects/azg/AzgDialect.h"
#include "frontends/onnx/ImporterContext.h"
#include "frontends/onnx/OnnxImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace mlir;
using namespace azc;

namespace {

class OnnxImporter : public ::testing::Test {
protected:
  void SetUp() override {
    llvm::SmallString<128> dir;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("azc-onnx-test", dir));
    directory = dir.str().str();
    model.set_ir_version(8);
    model.add_opset_import()->set_version(17);
    model.mutable_graph()->set_name("test");
  }
  void TearDown() override { llvm::sys::fs::remove_directories(directory); }

  onnx::ValueInfoProto *addInput(const std::string &name,
                                 std::vector<int64_t> shape,
                                 int type = onnx::TensorProto::FLOAT) {
    onnx::ValueInfoProto *input = model.mutable_graph()->add_input();
    input->set_name(name);
    auto *tensor = input->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(type);
    auto *dims = tensor->mutable_shape();
    for (int64_t d : shape)
      dims->add_dim()->set_dim_value(d);
    return input;
  }
  void addOutput(const std::string &name) {
    model.mutable_graph()->add_output()->set_name(name);
  }
  onnx::NodeProto *addNode(const std::string &op, const std::string &name,
                           std::vector<std::string> inputs,
                           std::vector<std::string> outputs) {
    onnx::NodeProto *node = model.mutable_graph()->add_node();
    node->set_op_type(op);
    node->set_name(name);
    for (auto &i : inputs)
      node->add_input(i);
    for (auto &o : outputs)
      node->add_output(o);
    return node;
  }
  onnx::TensorProto *addWeight(const std::string &name,
                               std::vector<int64_t> shape,
                               const std::vector<float> &values) {
    onnx::TensorProto *t = model.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
      t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char *>(values.data()),
                                values.size() * sizeof(float)));
    return t;
  }

  /// An initializer stored in an external data file; offset and length
  /// entries are written only when given (>= 0).
  onnx::TensorProto *addExternalWeight(const std::string &name,
                                       std::vector<int64_t> shape,
                                       const std::string &location,
                                       int64_t offset = -1,
                                       int64_t length = -1) {
    onnx::TensorProto *t = model.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : shape)
      t->add_dims(d);
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto entry = [&](const char *key, const std::string &value) {
      auto *e = t->add_external_data();
      e->set_key(key);
      e->set_value(value);
    };
    entry("location", location);
    if (offset >= 0)
      entry("offset", std::to_string(offset));
    if (length >= 0)
      entry("length", std::to_string(length));
    return t;
  }

  /// Writes the model and imports it; returns the module or null with
  /// `error` set.
  OwningOpRef<ModuleOp> import() {
    path = directory + "/model.onnx";
    std::ofstream out(path, std::ios::binary);
    model.SerializeToOstream(&out);
    out.close();
    error.clear();
    return onnx_frontend::importOnnxFile(context, path, {}, error);
  }

  std::vector<float> iota(size_t n) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i)
      v[i] = 0.25f * i - 3.0f;
    return v;
  }

  /// The float values of the weight op named `name`.
  std::vector<float> weightValues(ModuleOp module, StringRef name) {
    std::vector<float> values;
    module.walk([&](azg::WeightOp op) {
      if (op.getName() != name)
        return;
      auto resource = cast<DenseResourceElementsAttr>(op.getValue());
      AsmResourceBlob *blob = resource.getRawHandle().getBlob();
      ArrayRef<char> data = blob->getData();
      values.resize(data.size() / sizeof(float));
      memcpy(values.data(), data.data(), data.size());
    });
    return values;
  }

  MLIRContext context;
  onnx::ModelProto model;
  std::string directory, path, error;
};

TEST_F(OnnxImporter, LargeInitializersBecomeResourceBlobs) {
  addInput("x", {2, 16});
  std::vector<float> w = iota(16 * 8);
  addWeight("w", {16, 8}, w);
  addNode("MatMul", "mm", {"x", "w"}, {"y"});
  addOutput("y");
  OwningOpRef<ModuleOp> module = import();
  ASSERT_TRUE(module) << error;
  EXPECT_EQ(weightValues(*module, "w"), w);
  auto func = cast<func::FuncOp>(module->getBody()->front());
  EXPECT_EQ(func.getFunctionType().getResult(0),
            RankedTensorType::get({2, 8}, Float32Type::get(&context)));
}

TEST_F(OnnxImporter, TypedFieldInitializers) {
  addInput("x", {2, 100});
  onnx::TensorProto *t = model.mutable_graph()->add_initializer();
  t->set_name("b");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(100);
  std::vector<float> b = iota(100);
  for (float v : b)
    t->add_float_data(v);
  addNode("Add", "add", {"x", "b"}, {"y"});
  addOutput("y");
  OwningOpRef<ModuleOp> module = import();
  ASSERT_TRUE(module) << error;
  EXPECT_EQ(weightValues(*module, "b"), b);
}

TEST_F(OnnxImporter, ExternalData) {
  addInput("x", {1, 128});
  addExternalWeight("w", {128, 4}, "weights.bin", 64, 128 * 4 * 4);
  std::vector<float> w = iota(128 * 4);
  {
    std::ofstream bin(directory + "/weights.bin", std::ios::binary);
    std::string pad(64, '\0');
    bin.write(pad.data(), pad.size());
    bin.write(reinterpret_cast<const char *>(w.data()), w.size() * 4);
  }
  addNode("MatMul", "mm", {"x", "w"}, {"y"});
  addOutput("y");
  OwningOpRef<ModuleOp> module = import();
  ASSERT_TRUE(module) << error;
  EXPECT_EQ(weightValues(*module, "w"), w);
}

TEST_F(OnnxImporter, ExternalDataMayNotLeaveTheModelFolder) {
  addInput("x", {1, 4});
  addExternalWeight("w", {4}, "../../etc/passwd");
  addNode("Add", "add", {"x", "w"}, {"y"});
  addOutput("y");
  EXPECT_FALSE(import());
  EXPECT_NE(error.find("tensor 'w'"), std::string::npos) << error;
  EXPECT_NE(error.find("relative path inside the model's folder"),
            std::string::npos)
      << error;
}

TEST_F(OnnxImporter, ExternalDataBeyondTheFileEnd) {
  addInput("x", {1, 4});
  addExternalWeight("w", {4}, "short.bin");
  std::ofstream(directory + "/short.bin") << "abc";
  addNode("Add", "add", {"x", "w"}, {"y"});
  addOutput("y");
  EXPECT_FALSE(import());
  EXPECT_NE(error.find("bytes of data, but its shape and type need 16"),
            std::string::npos)
      << error;
}

TEST_F(OnnxImporter, InitializerSizeMismatchNamesTheTensor) {
  addInput("x", {2, 4});
  onnx::TensorProto *t = addWeight("bias", {4}, {1, 2, 3});
  (void)t;
  addNode("Add", "add", {"x", "bias"}, {"y"});
  addOutput("y");
  EXPECT_FALSE(import());
  EXPECT_NE(error.find("tensor 'bias' has 12 bytes of data"), std::string::npos)
      << error;
  EXPECT_EQ(error.rfind(path, 0), 0u)
      << "message must start with the file: " << error;
}

TEST_F(OnnxImporter, ShapeErrorsNameTheNodeAndDoNotCrash) {
  addInput("a", {2, 3});
  addInput("b", {4, 5});
  addNode("MatMul", "bad_matmul", {"a", "b"}, {"y"});
  addOutput("y");
  EXPECT_FALSE(import());
  EXPECT_NE(error.find("node 'bad_matmul' (MatMul)"), std::string::npos)
      << error;
  EXPECT_NE(error.find("contraction dims differ: 3 vs 4"), std::string::npos)
      << error;
}

TEST_F(OnnxImporter, UndefinedInputNamesNodeAndInput) {
  addInput("x", {2});
  addNode("Add", "add0", {"x", "ghost"}, {"y"});
  addOutput("y");
  EXPECT_FALSE(import());
  EXPECT_NE(error.find("node 'add0' (Add): input 'ghost'"), std::string::npos)
      << error;
}

TEST_F(OnnxImporter, UnknownDomainIsUnsupported) {
  addInput("x", {2});
  onnx::NodeProto *node = addNode("FancyOp", "f0", {"x"}, {"y"});
  node->set_domain("com.example");
  addOutput("y");
  EXPECT_FALSE(import());
  EXPECT_NE(
      error.find("FancyOp (com.example opset not imported by the model): f0"),
      std::string::npos)
      << error;
}

TEST_F(OnnxImporter, InputWithoutShapeIsRefused) {
  onnx::ValueInfoProto *input = model.mutable_graph()->add_input();
  input->set_name("x");
  input->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::FLOAT);
  addNode("Relu", "r", {"x"}, {"y"});
  addOutput("y");
  EXPECT_FALSE(import());
  EXPECT_NE(error.find("graph input 'x' has no shape"), std::string::npos)
      << error;
}

TEST_F(OnnxImporter, UnusedOptionalOutputsAreFineUsedOnesAreNot) {
  addInput("x", {1, 2, 4, 4});
  for (const char *name : {"scale", "bias", "mean", "var"})
    addInput(name, {2});
  addNode("BatchNormalization", "bn", {"x", "scale", "bias", "mean", "var"},
          {"y", "running_mean"});
  addOutput("y");
  ASSERT_TRUE(import()) << error;
  addOutput("running_mean");
  EXPECT_FALSE(import());
  EXPECT_NE(error.find("running mean and variance outputs need training"),
            std::string::npos)
      << error;
}

TEST(OnnxOpRegistry, OpsResolveByOpset) {
  using onnx_frontend::findOpImporter;
  EXPECT_NE(findOpImporter("", "Conv", 17), nullptr);
  EXPECT_NE(findOpImporter("ai.onnx", "Conv", 11), nullptr);
  // Gelu joined the default domain at opset 20.
  EXPECT_EQ(findOpImporter("", "Gelu", 17), nullptr);
  EXPECT_NE(findOpImporter("", "Gelu", 20), nullptr);
  // Squeeze's axes moved from an attribute to an input at opset 13.
  EXPECT_EQ(findOpImporter("", "Squeeze", 11)->sinceVersion, 1);
  EXPECT_EQ(findOpImporter("", "Squeeze", 13)->sinceVersion, 13);
  EXPECT_EQ(findOpImporter("", "Bernoulli", 17), nullptr);
  EXPECT_EQ(findOpImporter("", "Det", 10), nullptr);
  EXPECT_NE(findOpImporter("", "Det", 11), nullptr);
}

} // namespace

// The quantized-tensor encoding's verifiers: what each granularity needs.

#include "dialects/azg/AzgDialect.h"

#include "mlir/IR/Diagnostics.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace azc::azg;

namespace {

class QuantEncoding : public ::testing::Test {
protected:
  QuantEncoding()
      : handler(&context, [this](Diagnostic &d) {
          messages += d.str() + "\n";
          return success();
        }) {
    context.loadDialect<AzgDialect>();
  }

  ElementsAttr scales(int64_t count) {
    auto type = RankedTensorType::get({count}, Float16Type::get(&context));
    return DenseElementsAttr::get(type, APFloat(APFloat::IEEEhalf(), "0.5"));
  }

  /// The encoded tensor type, or null with `messages` set.
  RankedTensorType encoded(ArrayRef<int64_t> shape, QuantStorage storage,
                           QuantGranularity granularity, int64_t axis,
                           int64_t group, ElementsAttr s,
                           ElementsAttr zeroPoints = nullptr) {
    auto emit = [&] { return emitError(UnknownLoc::get(&context)); };
    auto encoding =
        QuantEncodingAttr::getChecked(emit, &context, storage, granularity,
                                      axis, group, s, zeroPoints, false);
    if (!encoding)
      return nullptr;
    return RankedTensorType::getChecked(
        emit, shape, IntegerType::get(&context, 8), encoding);
  }

  MLIRContext context;
  std::string messages;
  ScopedDiagnosticHandler handler;
};

TEST_F(QuantEncoding, PerGroupInt4) {
  // 4096 x 4096 weights in groups of 128 along dim 1: 4096 x 32 scales.
  EXPECT_TRUE(encoded({4096, 4096}, QuantStorage::int4,
                      QuantGranularity::per_group, 1, 128, scales(4096 * 32)));
  EXPECT_TRUE(messages.empty()) << messages;
}

TEST_F(QuantEncoding, PerGroupScaleCountMustMatch) {
  EXPECT_FALSE(encoded({64, 256}, QuantStorage::int4,
                       QuantGranularity::per_group, 1, 128, scales(64)));
  EXPECT_NE(messages.find("needs 128 scales, got 64"), std::string::npos)
      << messages;
}

TEST_F(QuantEncoding, GroupSizeMustDivideTheAxis) {
  EXPECT_FALSE(encoded({64, 100}, QuantStorage::int4,
                       QuantGranularity::per_group, 1, 32, scales(64 * 3)));
  EXPECT_NE(messages.find("not a multiple of group_size 32"), std::string::npos)
      << messages;
}

TEST_F(QuantEncoding, GroupSizeMustBeAPowerOfTwo) {
  EXPECT_FALSE(encoded({64, 96}, QuantStorage::int4,
                       QuantGranularity::per_group, 1, 48, scales(128)));
  EXPECT_NE(messages.find("positive power of two"), std::string::npos)
      << messages;
}

TEST_F(QuantEncoding, PerChannelNeedsOneScalePerIndex) {
  EXPECT_TRUE(encoded({16, 8}, QuantStorage::int8,
                      QuantGranularity::per_channel, 0, 0, scales(16)));
  EXPECT_FALSE(encoded({16, 8}, QuantStorage::int8,
                       QuantGranularity::per_channel, 0, 0, scales(8)));
  EXPECT_NE(messages.find("needs 16 scales, got 8"), std::string::npos)
      << messages;
}

TEST_F(QuantEncoding, AxisOutOfRange) {
  EXPECT_FALSE(encoded({16, 8}, QuantStorage::int8,
                       QuantGranularity::per_channel, 2, 0, scales(8)));
  EXPECT_NE(messages.find("axis 2 is out of range"), std::string::npos)
      << messages;
}

TEST_F(QuantEncoding, SymmetricStoragesTakeNoZeroPoints) {
  auto zeroType = RankedTensorType::get({1}, IntegerType::get(&context, 8));
  auto zeros = DenseElementsAttr::get(zeroType, APInt(8, 0));
  EXPECT_FALSE(encoded({4, 4}, QuantStorage::fp8_e4m3,
                       QuantGranularity::per_tensor, 0, 0, scales(1), zeros));
  EXPECT_NE(messages.find("fp8_e4m3 is symmetric"), std::string::npos)
      << messages;
}

TEST_F(QuantEncoding, PerTensorNeedsOneScale) {
  EXPECT_FALSE(encoded({4, 4}, QuantStorage::int8, QuantGranularity::per_tensor,
                       0, 0, scales(4)));
  EXPECT_NE(messages.find("exactly one scale"), std::string::npos) << messages;
}

} // namespace

// Unit tests of the shape helpers every azg op's inference is built on.

#include "dialects/azg/AzgDialect.h"

#include <gtest/gtest.h>

using namespace azc::azg;
using llvm::SmallVector;
constexpr int64_t kDyn = mlir::ShapedType::kDynamic;

static SmallVector<int64_t> broadcast(llvm::ArrayRef<int64_t> a,
                                      llvm::ArrayRef<int64_t> b) {
  auto result = broadcastShapes(a, b);
  EXPECT_TRUE(mlir::succeeded(result));
  return mlir::succeeded(result) ? *result : SmallVector<int64_t>();
}

TEST(BroadcastShapes, NumpyRules) {
  // Cases from NumPy's broadcasting documentation.
  EXPECT_EQ(broadcast({256, 256, 3}, {3}), (SmallVector<int64_t>{256, 256, 3}));
  EXPECT_EQ(broadcast({8, 1, 6, 1}, {7, 1, 5}),
            (SmallVector<int64_t>{8, 7, 6, 5}));
  EXPECT_EQ(broadcast({5, 4}, {1}), (SmallVector<int64_t>{5, 4}));
  EXPECT_EQ(broadcast({}, {2, 3}), (SmallVector<int64_t>{2, 3}));
  EXPECT_TRUE(mlir::failed(broadcastShapes({3}, {4})));
  EXPECT_TRUE(mlir::failed(broadcastShapes({2, 1}, {8, 4, 3})));
}

TEST(BroadcastShapes, DynamicDims) {
  // A dynamic dim against a static one other than 1 must equal it.
  EXPECT_EQ(broadcast({kDyn, 4}, {3, 4}), (SmallVector<int64_t>{3, 4}));
  // Against 1 it stays unknown: it may be 1 or anything.
  EXPECT_EQ(broadcast({kDyn, 4}, {1, 4}), (SmallVector<int64_t>{kDyn, 4}));
  EXPECT_EQ(broadcast({kDyn}, {kDyn}), (SmallVector<int64_t>{kDyn}));
}

TEST(NormalizeAxis, Ranges) {
  EXPECT_EQ(*normalizeAxis(-1, 4), 3);
  EXPECT_EQ(*normalizeAxis(0, 4), 0);
  EXPECT_EQ(*normalizeAxis(-4, 4), 0);
  EXPECT_TRUE(mlir::failed(normalizeAxis(4, 4)));
  EXPECT_TRUE(mlir::failed(normalizeAxis(-5, 4)));
}

TEST(CompatibleResultTypes, StaticRefinesDynamic) {
  mlir::MLIRContext context;
  auto f32 = mlir::Float32Type::get(&context);
  auto dyn = mlir::RankedTensorType::get({kDyn, 4}, f32);
  auto fixed = mlir::RankedTensorType::get({2, 4}, f32);
  auto other = mlir::RankedTensorType::get({2, 5}, f32);
  auto ints =
      mlir::RankedTensorType::get({2, 4}, mlir::IntegerType::get(&context, 32));
  EXPECT_TRUE(
      areCompatibleResultTypes(mlir::TypeRange{dyn}, mlir::TypeRange{fixed}));
  EXPECT_FALSE(
      areCompatibleResultTypes(mlir::TypeRange{fixed}, mlir::TypeRange{other}));
  EXPECT_FALSE(
      areCompatibleResultTypes(mlir::TypeRange{fixed}, mlir::TypeRange{ints}));
}

// Plan fitting on hand-made plans whose sizes are known functions of two
// symbols, b and s: the fit recovers exactly those polynomials, checks them
// at another point, and refuses sizes no polynomial gives and plans that are
// not one program.

#include "compiler/PlanFitting.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace azc::plan;

namespace {

class PlanFitting : public ::testing::Test {
protected:
  /// The plan "lowered" at (b, s): x [b, s, 8] is reshaped to [b*s, 8] by
  /// a shape tensor {b, 4s, 2} and a step attribute starts = {0, s - 1};
  /// a second step writes y [b, last(s)], last defaulting to 2s + 3.
  Plan planAt(int64_t b, int64_t s,
              const std::function<int64_t(int64_t)> &last = {}) {
    Plan plan;
    auto value = [](std::vector<int64_t> shape, Storage storage) {
      Value v;
      v.shape = std::move(shape);
      v.storage = storage;
      v.size = 4;
      for (int64_t d : v.shape)
        v.size *= d;
      return v;
    };
    plan.values.push_back(value({b, s, 8}, Storage::Input));
    plan.values.push_back(value({b * s, 8}, Storage::Arena));
    Value shape = value({3}, Storage::Constant);
    shape.dtype = DType::i64;
    shape.size = 24;
    auto type =
        mlir::RankedTensorType::get({3}, mlir::IntegerType::get(&context, 64));
    shape.constant = mlir::DenseIntElementsAttr::get(
        type, llvm::ArrayRef<int64_t>{b, 4 * s, 2});
    plan.values.push_back(shape);
    plan.values.push_back(
        value({b, last ? last(s) : 2 * s + 3}, Storage::Output));
    Step reshape;
    reshape.op = "reshape";
    reshape.inputs = {0, 2};
    reshape.outputs = {1};
    Attribute starts{Attribute::Ints, "starts"};
    starts.ints = {0, s - 1};
    Attribute axis{Attribute::Int, "axis"};
    axis.intValue = 1;
    reshape.attributes = {starts, axis};
    Step tail;
    tail.op = "tail";
    tail.inputs = {1};
    tail.outputs = {3};
    plan.steps = {reshape, tail};
    return plan;
  }

  std::vector<Plan> grid(const std::function<int64_t(int64_t)> &last = {}) {
    std::vector<Plan> plans;
    for (unsigned corner = 0; corner < 4; ++corner) {
      std::vector<int64_t> point = gridPoint(symbols, corner);
      plans.push_back(planAt(point[0], point[1], last));
    }
    return plans;
  }

  PlanFitting() { chooseGrid(symbols); }

  mlir::MLIRContext context;
  std::vector<Symbol> symbols = {{"b", 1, 4, 4}, {"s", 1, 8, 16}};
};

TEST_F(PlanFitting, GridSizesAreAdjacentAndNeverShared) {
  // Two symbols with the same range must not sample the same sizes: equal
  // dims at a corner could be merged and change the program there.
  std::vector<Symbol> same = {{"a", 1, 4, 4}, {"b", 1, 4, 4}, {"c", 0, 9, 9}};
  chooseGrid(same);
  EXPECT_EQ(same[0].gridLow, 3);
  EXPECT_EQ(same[1].gridLow, 1);
  EXPECT_EQ(same[2].gridLow, 8);
  std::optional<std::vector<int64_t>> point = checkPoint(same);
  ASSERT_TRUE(point);
  // 1..4 is all on the grid, so a and b are checked there; c takes the free
  // size nearest its middle (9, clamped; 8 and 9 are its grid sizes).
  EXPECT_EQ(*point, (std::vector<int64_t>{3, 1, 7}));
}

// Monomial m multiplies the symbols whose bit is set: 1, b, s, b*s.
TEST_F(PlanFitting, RecoversTheSizesAsPolynomials) {
  EXPECT_EQ(gridPoint(symbols, 0), (std::vector<int64_t>{3, 15}));
  EXPECT_EQ(gridPoint(symbols, 3), (std::vector<int64_t>{4, 16}));
  Plan fitted;
  std::string error;
  ASSERT_TRUE(fitPlans(grid(), symbols, fitted, error)) << error;
  EXPECT_TRUE(
      fitted.values[0].dimPolynomials ==
      (std::vector<Polynomial>{{0, 1, 0, 0}, {0, 0, 1, 0}, {8, 0, 0, 0}}));
  EXPECT_TRUE(fitted.values[1].dimPolynomials ==
              (std::vector<Polynomial>{{0, 0, 0, 1}, {8, 0, 0, 0}}));
  EXPECT_EQ(formatPolynomial(fitted.values[3].dimPolynomials[1], symbols),
            "2*s + 3");
  EXPECT_EQ(formatPolynomial(fitted.values[1].dimPolynomials[0], symbols),
            "b*s");
  // The shape tensor became one the session computes.
  EXPECT_EQ(fitted.values[2].storage, Storage::Arena);
  EXPECT_TRUE(
      fitted.values[2].elementPolynomials ==
      (std::vector<Polynomial>{{0, 1, 0, 0}, {0, 0, 4, 0}, {2, 0, 0, 0}}));
  const Attribute &starts = fitted.steps[0].attributes[0];
  ASSERT_EQ(starts.intPolynomials.size(), 2u);
  EXPECT_EQ(formatPolynomial(starts.intPolynomials[1], symbols), "s - 1");
  EXPECT_TRUE(fitted.steps[0].attributes[1].intPolynomials.empty());
  // Sizes are the largest over the ranges (b = 4, s = 16), the capacity
  // reserved.
  EXPECT_EQ(fitted.values[1].size, 4u * 16 * 8 * 4);
  EXPECT_EQ(fitted.values[3].shape, (std::vector<int64_t>{4, 35}));

  std::optional<std::vector<int64_t>> point = checkPoint(symbols);
  ASSERT_TRUE(point);
  EXPECT_EQ(*point, (std::vector<int64_t>{2, 9})); // no size shared
  EXPECT_TRUE(checkFit(fitted, planAt(2, 9), *point, error)) << error;
  EXPECT_EQ(evaluate(fitted.values[1].dimPolynomials[0], {2, 9}), 18);
}

TEST_F(PlanFitting, RefusesSizesNoPolynomialGives) {
  // A stride-2 window: (s - 1) / 2 + 1 is 8 at both s = 15 and s = 16.
  auto strided = [](int64_t s) { return (s - 1) / 2 + 1; };
  Plan fitted;
  std::string error;
  ASSERT_TRUE(fitPlans(grid(strided), symbols, fitted, error)) << error;
  EXPECT_FALSE(checkFit(fitted, planAt(2, 9, strided), {2, 9}, error));
  EXPECT_NE(error.find("value 3 dim 1 is 5 at b=2, s=9, but 8 by the form "
                       "fitted at the range ends"),
            std::string::npos)
      << error;
}

TEST_F(PlanFitting, RefusesPlansThatAreNotOneProgram) {
  std::vector<Plan> plans = grid();
  plans[1].steps[1].op = "other";
  Plan fitted;
  std::string error;
  EXPECT_FALSE(fitPlans(plans, symbols, fitted, error));
  EXPECT_NE(error.find("not one program over the shape ranges: step 1"),
            std::string::npos)
      << error;
}

TEST_F(PlanFitting, ReservesTheLargestSizeOverTheRanges) {
  // 20 - s shrinks as s grows: the capacity is its size at s = 1, not at the
  // grid's top corner.
  auto shrinking = [](int64_t s) { return 20 - s; };
  Plan fitted;
  std::string error;
  ASSERT_TRUE(fitPlans(grid(shrinking), symbols, fitted, error)) << error;
  EXPECT_EQ(fitted.values[3].shape, (std::vector<int64_t>{4, 19}));
  EXPECT_EQ(fitted.values[3].size, 4u * 19 * 4);
  EXPECT_TRUE(checkFit(fitted, planAt(2, 9, shrinking), {2, 9}, error))
      << error;
}

} // namespace

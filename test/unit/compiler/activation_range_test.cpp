// Calibration ranges (passes/ActivationRange.h) on data whose best range is
// known: the histogram keeps counts exact through its doublings, max and
// percentile land where the data says, and entropy and mse clip a lone
// outlier that max would size the grid for.

#include "passes/ActivationRange.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace azc::quant;

namespace {

TEST(ActivationRange, HistogramMergesWithoutLosingCounts) {
  AbsHistogram h;
  std::vector<float> small(1000, 0.001f), large = {-64.0f, 3.0f};
  h.add(small.data(), int64_t(small.size()));
  const double firstWidth = h.width;
  h.add(large.data(), int64_t(large.size()));
  EXPECT_GT(h.width, firstWidth);
  EXPECT_GE(h.width * AbsHistogram::kBins, 64.0);
  double total = 0;
  for (double c : h.counts)
    total += c;
  EXPECT_EQ(total, 1002);
  EXPECT_EQ(h.total, 1002);
  EXPECT_EQ(h.max, 64.0);
  // Widths are powers of two.
  EXPECT_EQ(std::exp2(std::round(std::log2(h.width))), h.width);
}

TEST(ActivationRange, MaxAndPercentile) {
  // 0.01, 0.02, ..., 100.00: the 99th percentile is 99.
  std::vector<float> x;
  for (int i = 1; i <= 10000; ++i)
    x.push_back(float(i) / 100.0f * (i % 2 ? 1.0f : -1.0f));
  AbsHistogram h;
  h.add(x.data(), int64_t(x.size()));
  CalibrationMethod method;
  EXPECT_EQ(chooseRange(h, method), 100.0);
  std::string error;
  ASSERT_TRUE(CalibrationMethod::parse("percentile:99", method, error));
  // The top of the bin holding the 9900th value: within one bin of 99.
  EXPECT_NEAR(chooseRange(h, method), 99.0, h.width);
  EXPECT_EQ(method.str(), "percentile:99");
}

TEST(ActivationRange, EntropyAndMseClipALoneOutlier) {
  // 2^20 standard normal values and one at 1000. The bins are 0.5 wide
  // (2048 of them hold 1000), so the normal values fill the first ten.
  std::mt19937 gen(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(1 << 20);
  for (float &v : x)
    v = normal(gen);
  x[12345] = 1000.0f;
  AbsHistogram h;
  h.add(x.data(), int64_t(x.size()));
  ASSERT_EQ(h.width, 0.5);
  std::string error;
  CalibrationMethod method;
  // Entropy tries as many bins as the grid has levels (127) and up: the
  // fewest, 63.5, fit the normal values best.
  ASSERT_TRUE(CalibrationMethod::parse("entropy", method, error));
  EXPECT_EQ(chooseRange(h, method), 63.5);
  // MSE balances the outlier's clipping error (1000 - a)^2 against the
  // rounding error of the rest, about 2^20 (a / 127)^2 / 12 = 5.42 a^2:
  // least at a = 1000 / 6.42 = 156, within a bin.
  ASSERT_TRUE(CalibrationMethod::parse("mse", method, error));
  EXPECT_NEAR(chooseRange(h, method), 1000.0 / (1.0 + 1048576.0 / 12 / 16129),
              1.0);
}

TEST(ActivationRange, ParsesAndRefusesMethods) {
  CalibrationMethod method;
  std::string error;
  EXPECT_TRUE(CalibrationMethod::parse("percentile", method, error));
  EXPECT_EQ(method.percent, 99.99);
  EXPECT_FALSE(CalibrationMethod::parse("percentile:0", method, error));
  EXPECT_NE(error.find("0 < P <= 100"), std::string::npos) << error;
  EXPECT_FALSE(CalibrationMethod::parse("percentile:x", method, error));
  EXPECT_FALSE(CalibrationMethod::parse("kl", method, error));
  EXPECT_NE(error.find("max, percentile:P, entropy or mse"), std::string::npos);
}

TEST(ActivationRange, AllZeroIsZero) {
  std::vector<float> zeros(64, 0.0f);
  AbsHistogram h;
  h.add(zeros.data(), 64);
  EXPECT_EQ(chooseRange(h, CalibrationMethod()), 0.0);
}

} // namespace

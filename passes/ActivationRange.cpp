//===- ActivationRange.cpp - calibration of activation ranges -------------===//

#include "passes/ActivationRange.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

using namespace azc::quant;

void AbsHistogram::add(const float *x, int64_t n) {
  float batchMax = 0;
  for (int64_t i = 0; i < n; ++i)
    batchMax = std::max(batchMax, std::fabs(x[i]));
  max = std::max(max, double(batchMax));
  total += double(n);
  if (batchMax > 0 && width == 0) {
    // The smallest power of two that holds the batch in the bins.
    width =
        std::ldexp(1.0, int(std::ceil(std::log2(double(batchMax) / kBins))));
    while (width * kBins < batchMax)
      width *= 2;
  }
  while (width > 0 && width * kBins < batchMax) {
    for (int i = 0; i < kBins / 2; ++i)
      counts[size_t(i)] = counts[size_t(2 * i)] + counts[size_t(2 * i + 1)];
    std::fill(counts.begin() + kBins / 2, counts.end(), 0.0);
    width *= 2;
  }
  for (int64_t i = 0; i < n; ++i) {
    const double a = std::fabs(double(x[i]));
    const int bin = width > 0 ? int(std::min<double>(kBins - 1, a / width)) : 0;
    counts[size_t(bin)] += 1;
  }
}

bool CalibrationMethod::parse(const std::string &text,
                              CalibrationMethod &method, std::string &error) {
  method = CalibrationMethod();
  if (text == "max" || text.empty()) {
    method.kind = max;
  } else if (text == "entropy") {
    method.kind = entropy;
  } else if (text == "mse") {
    method.kind = mse;
  } else if (text.rfind("percentile", 0) == 0) {
    method.kind = percentile;
    if (text.size() > 10) {
      char *end = nullptr;
      const std::string number = text.substr(11);
      method.percent = std::strtod(number.c_str(), &end);
      if (text[10] != ':' || number.empty() || *end != '\0' ||
          !(method.percent > 0 && method.percent <= 100)) {
        error = "bad calibration method '" + text +
                "': percentile:P needs 0 < P <= 100";
        return false;
      }
    }
  } else {
    error = "unknown calibration method '" + text +
            "' (max, percentile:P, entropy or mse)";
    return false;
  }
  return true;
}

std::string CalibrationMethod::str() const {
  switch (kind) {
  case max:
    return "max";
  case entropy:
    return "entropy";
  case mse:
    return "mse";
  case percentile: {
    char text[64];
    std::snprintf(text, sizeof text, "percentile:%g", percent);
    return text;
  }
  }
  return "max";
}

namespace {

/// KL(P || Q) of the first `bins` bins, TensorRT's way: P is the histogram
/// with everything past `bins` added to its last bin; Q merges P's bins
/// (without that tail) into `levels` groups and spreads each group's count
/// evenly over the group's non-empty bins.
double clippedDivergence(const std::vector<double> &counts, int bins,
                         int levels) {
  std::vector<double> p(counts.begin(), counts.begin() + bins);
  double tail = 0;
  for (size_t i = size_t(bins); i < counts.size(); ++i)
    tail += counts[i];
  p.back() += tail;
  std::vector<double> q(size_t(bins), 0.0);
  for (int g = 0; g < levels; ++g) {
    // Group g spans bins [g * bins / levels, (g + 1) * bins / levels).
    const int b0 = int(int64_t(g) * bins / levels);
    const int b1 = int(int64_t(g + 1) * bins / levels);
    double sum = 0;
    int nonEmpty = 0;
    for (int b = b0; b < b1; ++b) {
      sum += counts[size_t(b)];
      nonEmpty += counts[size_t(b)] > 0;
    }
    for (int b = b0; b < b1; ++b)
      if (counts[size_t(b)] > 0)
        q[size_t(b)] = sum / nonEmpty;
  }
  double pTotal = 0, qTotal = 0;
  for (int b = 0; b < bins; ++b) {
    pTotal += p[size_t(b)];
    qTotal += q[size_t(b)];
  }
  if (pTotal == 0 || qTotal == 0)
    return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (int b = 0; b < bins; ++b) {
    if (p[size_t(b)] == 0)
      continue;
    const double pb = p[size_t(b)] / pTotal;
    // The tail bin can be non-empty in P and empty in Q: a small floor
    // keeps the divergence finite and large.
    const double qb = std::max(q[size_t(b)] / qTotal, 1e-12);
    kl += pb * std::log(pb / qb);
  }
  return kl;
}

} // namespace

double azc::quant::chooseRange(const AbsHistogram &h,
                               const CalibrationMethod &method, int levels) {
  if (h.max == 0 || h.width == 0)
    return 0;
  const int bins = AbsHistogram::kBins;
  // Bins past the largest value are empty: candidates stop there.
  int used = bins;
  while (used > 1 && h.counts[size_t(used - 1)] == 0)
    --used;
  double amax = h.max;
  switch (method.kind) {
  case CalibrationMethod::max:
    break;
  case CalibrationMethod::percentile: {
    const double want = h.total * method.percent / 100.0;
    double cumulative = 0;
    for (int b = 0; b < used; ++b) {
      cumulative += h.counts[size_t(b)];
      if (cumulative >= want) {
        amax = (b + 1) * h.width;
        break;
      }
    }
    break;
  }
  case CalibrationMethod::entropy: {
    double best = std::numeric_limits<double>::infinity();
    for (int b = std::min(levels, used); b <= used; ++b) {
      const double kl = clippedDivergence(h.counts, b, levels);
      if (kl < best) {
        best = kl;
        amax = b * h.width;
      }
    }
    break;
  }
  case CalibrationMethod::mse: {
    double best = std::numeric_limits<double>::infinity();
    for (int b = 1; b <= used; ++b) {
      const double threshold = b * h.width;
      const double step = threshold / levels;
      double error = 0;
      for (int j = 0; j < used; ++j) {
        const double center = (j + 0.5) * h.width;
        const double e = center <= threshold
                             ? step * step / 12
                             : (center - threshold) * (center - threshold);
        error += h.counts[size_t(j)] * e;
      }
      if (error < best) {
        best = error;
        amax = threshold;
      }
    }
    break;
  }
  }
  return std::min(amax, h.max);
}

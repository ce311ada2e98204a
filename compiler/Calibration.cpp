//===- Calibration.cpp - statistics of a model's activations on samples ---===//
//
// Quantizers that adapt to data (GPTQ now; static int8, SmoothQuant and AWQ
// later) need to know what the activations look like. Calibration compiles
// the imported model once more, in f32, with the input of every
// quantizable product as an extra output, writes it to a temporary engine,
// and runs it with the runtime on each sample, accumulating what the
// quantizers read. The model that is built afterwards is not changed.
//
//===----------------------------------------------------------------------===//

#include "compiler/Calibration.h"
#include "compiler/EngineRunner.h"
#include "compiler/EngineWriter.h"
#include "compiler/Plan.h"
#include "compiler/SampleSource.h"
#include "tools/common/npy.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>

using namespace azc;

namespace {

constexpr const char *kObserverPrefix = "azc.calibration.";

/// Adds each row x (K values) of `rows` to `stats`: |x| to the channel sums
/// and maxima and, when `stats.hessian` is kept, x x^T to its upper
/// triangle.
void accumulateRows(const float *rows, int64_t count,
                    quant::InputStatistics &stats) {
  const int64_t K = stats.K;
  for (int64_t r = 0; r < count; ++r)
    for (int64_t k = 0; k < K; ++k) {
      const double a = std::fabs(double(rows[r * K + k]));
      stats.absSum[k] += a;
      stats.absMax[k] = std::max(stats.absMax[k], a);
    }
  stats.rows += count;
  if (stats.hessian.empty())
    return; // Second moments not asked for.
  // Rows i of H in spans of equal work (row i has K - i entries), one
  // span a thread; each element sums the rows in order whatever the split.
  auto accumulate = [&](int64_t i0, int64_t i1) {
    for (int64_t r = 0; r < count; ++r) {
      const float *x = rows + r * K;
      for (int64_t i = i0; i < i1; ++i) {
        const double xi = x[i];
        if (xi == 0)
          continue;
        double *row = stats.hessian.data() + i * K;
        for (int64_t j = i; j < K; ++j)
          row[j] += xi * double(x[j]);
      }
    }
  };
  const int64_t threads =
      std::clamp<int64_t>(int64_t(std::thread::hardware_concurrency()), 1,
                          std::max<int64_t>(1, K * count / 4096));
  // Span t ends where the triangle's remaining area is (1 - (t+1)/threads).
  auto spanEnd = [&](int64_t t) {
    if (t == threads)
      return K;
    return int64_t(double(K) *
                   (1.0 - std::sqrt(1.0 - double(t) / double(threads))));
  };
  std::vector<std::thread> workers;
  for (int64_t t = 1; t < threads; ++t)
    workers.emplace_back(accumulate, spanEnd(t), spanEnd(t + 1));
  accumulate(0, spanEnd(1));
  for (std::thread &worker : workers)
    worker.join();
}

} // namespace

bool azc::collectInputStatistics(mlir::ModuleOp module,
                                 const CalibrationOptions &options,
                                 std::vector<quant::InputStatistics> &stats,
                                 std::string &error) {
  // The observer module: the products' inputs become extra results.
  mlir::OwningOpRef<mlir::ModuleOp> observer = module.clone();
  auto main = observer->lookupSymbol<mlir::func::FuncOp>("main");
  if (!main) {
    error = "the model has no @main";
    return false;
  }
  std::vector<QuantizableProduct> products = findQuantizableProducts(main);
  stats.assign(products.size(), quant::InputStatistics());
  if (products.empty())
    return true;
  auto ret =
      llvm::cast<mlir::func::ReturnOp>(main.getBody().front().getTerminator());
  mlir::Builder b(module.getContext());
  for (auto [i, product] : llvm::enumerate(products)) {
    unsigned index = main.getNumResults();
    main.insertResult(
        index, product.input.getType(),
        b.getDictionaryAttr(b.getNamedAttr(
            "azg.name", b.getStringAttr(kObserverPrefix + std::to_string(i)))));
    ret->insertOperands(ret->getNumOperands(), product.input);
    stats[i].K = product.K;
    if (options.secondMoments)
      stats[i].hessian.assign(size_t(product.K * product.K), 0.0);
    stats[i].absSum.assign(size_t(product.K), 0.0);
    stats[i].absMax.assign(size_t(product.K), 0.0);
  }
  std::vector<quant::AbsHistogram> histograms(products.size());

  // Shapes come from the first sample.
  std::vector<std::string> names;
  std::vector<SampleInput> specs;
  for (unsigned i = 0; i < main.getNumArguments(); ++i) {
    auto name = main.getArgAttrOfType<mlir::StringAttr>(i, "azg.name");
    names.push_back(name ? name.str() : "input" + std::to_string(i));
    auto type = llvm::cast<mlir::RankedTensorType>(main.getArgumentTypes()[i]);
    std::optional<plan::DType> dtype = plan::dtypeOf(type.getElementType());
    // plan::DType numbers the dtypes as the runtime's azr_dtype_t does.
    specs.push_back(
        {names.back(), type.getRank(), azr_dtype_t(dtype ? int(*dtype) : 0)});
  }
  std::unique_ptr<SampleSource> samples =
      SampleSource::open(options.data, specs, error);
  if (!samples)
    return false;
  const size_t count =
      options.maxSamples > 0
          ? std::min(samples->size(), size_t(options.maxSamples))
          : samples->size();
  std::vector<azr_tools::HostTensor> inputs;
  if (!samples->read(0, inputs, error))
    return false;
  ShapeProfile profile;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string shape;
    for (int64_t d : inputs[i].dims)
      shape += (shape.empty() ? "" : "x") + std::to_string(d);
    if (!shape.empty())
      profile.inputShapes.push_back(names[i] + ":" + shape);
  }
  plan::Plan plan;
  if (!optimize(*observer, profile, error) ||
      !plan::lowerToPlan(*observer, plan, error)) {
    error = "calibration: " + error;
    return false;
  }
  // One fixed shape: no dim varies.
  for (auto *signatures : {&plan.inputs, &plan.outputs})
    for (plan::Signature &sig : *signatures) {
      sig.dimSymbols.assign(sig.dims.size(), -1);
      sig.dimMin = sig.dims;
      sig.dimMax = sig.dims;
    }
  plan::planMemory(plan);
  TemporaryEngine engineFile;
  if (!engineFile.create("azc-calibration", error))
    return false;
  EngineInfo info;
  info.producer = "azc calibration";
  if (!writeEngine(plan, info, engineFile.path, error))
    return false;

  EngineRunner run;
  if (!run.load(engineFile.path, options.threads, error)) {
    error = "calibration: " + error;
    return false;
  }

  for (size_t s = 0; s < count; ++s) {
    if (s > 0 && !samples->read(s, inputs, error))
      return false;
    for (size_t i = 0; i < names.size(); ++i) {
      const azr_tools::HostTensor &t = inputs[i];
      // A NaN or Inf would poison every statistic: refuse it by name.
      if (t.dtype != AZR_DTYPE_F32)
        continue;
      const auto *v = reinterpret_cast<const float *>(t.data.data());
      for (size_t e = 0; e < t.data.size() / 4; ++e)
        if (!std::isfinite(v[e])) {
          error = samples->name(s) + ": input '" + names[i] +
                  "' holds NaN or Inf at element " + std::to_string(e);
          return false;
        }
    }
    if (!run.run(names, inputs, error)) {
      error = samples->name(s) + ": " + error;
      return false;
    }
    for (size_t i = 0; i < products.size(); ++i) {
      std::vector<int64_t> dims;
      const float *values;
      if (!run.output(kObserverPrefix + std::to_string(i), dims, values, error))
        return false;
      int64_t count = 1;
      for (int64_t d : dims)
        count *= d;
      for (int64_t e = 0; e < count; ++e)
        if (!std::isfinite(values[e])) {
          error = samples->name(s) +
                  ": the input of the product with weight '" +
                  products[i].weightName + "' holds NaN or Inf";
          return false;
        }
      accumulateRows(values, count / stats[i].K, stats[i]);
      histograms[i].add(values, count);
    }
    // A progress line on a terminal; one line at the end in a log.
    if (options.progress && llvm::errs().is_displayed())
      llvm::errs() << "\rcalibration: " << s + 1 << "/" << count << " samples"
                   << (s + 1 == count ? "\n" : "");
    else if (options.progress && s + 1 == count)
      llvm::errs() << "calibration: " << count << " samples\n";
  }
  for (size_t i = 0; i < products.size(); ++i)
    stats[i].amax =
        quant::chooseRange(histograms[i], options.method, options.levels);
  // The upper triangle mirrored: H is symmetric.
  for (quant::InputStatistics &st : stats)
    for (int64_t i = 0; i < st.K && !st.hessian.empty(); ++i)
      for (int64_t j = 0; j < i; ++j)
        st.hessian[i * st.K + j] = st.hessian[j * st.K + i];
  return true;
}

bool azc::readCalibrationTable(const std::string &path, CalibrationTable &table,
                               std::string &error) {
  std::string bytes;
  if (!azr_tools::readFile(path, bytes, error))
    return false;
  auto fail = [&](const std::string &why) {
    error = path + ": not an azc calibration table: " + why;
    return false;
  };
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(bytes);
  if (!json)
    return fail(llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  if (!root || root->getString("format") != "azc-calibration-1")
    return fail("no \"format\": \"azc-calibration-1\"");
  std::optional<llvm::StringRef> method = root->getString("method");
  const llvm::json::Array *products = root->getArray("products");
  if (!method || !products)
    return fail("it needs \"method\" and \"products\"");
  table.method = method->str();
  for (const llvm::json::Value &entry : *products) {
    const llvm::json::Object *p = entry.getAsObject();
    std::optional<llvm::StringRef> weight =
        p ? p->getString("weight") : std::nullopt;
    std::optional<int64_t> K = p ? p->getInteger("K") : std::nullopt;
    std::optional<double> range =
        p ? p->getNumber("input_range") : std::nullopt;
    const llvm::json::Array *channels =
        p ? p->getArray("channel_max") : nullptr;
    if (!weight || !K || !range || !channels || *K < 1 ||
        int64_t(channels->size()) != *K || !(*range >= 0))
      return fail("each product needs weight, K >= 1, input_range >= 0 and "
                  "K channel_max values");
    quant::InputStatistics stats;
    stats.K = *K;
    stats.amax = *range;
    for (const llvm::json::Value &v : *channels) {
      std::optional<double> m = v.getAsNumber();
      if (!m || !(*m >= 0))
        return fail("channel_max values must be numbers >= 0");
      stats.absMax.push_back(*m);
    }
    table.weights.push_back(weight->str());
    table.inputs.push_back(std::move(stats));
  }
  if (const llvm::json::Object *smoothed = root->getObject("smoothquant")) {
    std::optional<double> alpha = smoothed->getNumber("alpha");
    const llvm::json::Array *ranges = smoothed->getArray("input_ranges");
    const llvm::json::Array *exclude = smoothed->getArray("exclude");
    if (!alpha || !ranges || !exclude || ranges->size() != table.inputs.size())
      return fail("\"smoothquant\" needs alpha, exclude and one input range "
                  "per product");
    table.smoothquantAlpha = *alpha;
    for (const llvm::json::Value &v : *ranges) {
      std::optional<double> r = v.getAsNumber();
      if (!r || !(*r >= 0))
        return fail("smoothed input ranges must be numbers >= 0");
      table.smoothedRanges.push_back(*r);
    }
    for (const llvm::json::Value &v : *exclude)
      if (std::optional<llvm::StringRef> glob = v.getAsString())
        table.smoothedExclude.push_back(glob->str());
  }
  return true;
}

bool azc::writeCalibrationTable(const std::string &path,
                                const CalibrationTable &table,
                                std::string &error) {
  llvm::json::Array products;
  for (size_t i = 0; i < table.inputs.size(); ++i) {
    const quant::InputStatistics &stats = table.inputs[i];
    products.push_back(
        llvm::json::Object{{"weight", table.weights[i]},
                           {"K", stats.K},
                           {"input_range", stats.amax},
                           {"channel_max", llvm::json::Array(stats.absMax)}});
  }
  llvm::json::Object root{{"format", "azc-calibration-1"},
                          {"method", table.method},
                          {"products", std::move(products)}};
  if (table.smoothquantAlpha >= 0)
    root["smoothquant"] = llvm::json::Object{
        {"alpha", table.smoothquantAlpha},
        {"exclude", llvm::json::Array(table.smoothedExclude)},
        {"input_ranges", llvm::json::Array(table.smoothedRanges)}};
  const std::string temporary = path + ".tmp";
  {
    std::error_code ec;
    llvm::raw_fd_ostream out(temporary, ec);
    if (ec) {
      error = "cannot write " + temporary + ": " + ec.message();
      return false;
    }
    out << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
    if (out.has_error()) {
      error = "cannot write " + temporary;
      out.clear_error();
      llvm::sys::fs::remove(temporary);
      return false;
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(temporary, path)) {
    llvm::sys::fs::remove(temporary);
    error = "cannot write " + path + ": " + ec.message();
    return false;
  }
  return true;
}

//===- PlanFitting.cpp - one plan for a range of shapes -------------------===//

#include "compiler/PlanFitting.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <algorithm>
#include <set>

using namespace azc::plan;

int64_t azc::plan::evaluate(const Polynomial &polynomial,
                            const std::vector<int64_t> &symbols) {
  int64_t sum = 0;
  for (size_t m = 0; m < polynomial.size(); ++m) {
    if (!polynomial[m])
      continue;
    int64_t term = polynomial[m];
    for (size_t s = 0; s < symbols.size(); ++s)
      if (m & (size_t(1) << s))
        term *= symbols[s];
    sum += term;
  }
  return sum;
}

std::string azc::plan::formatPolynomial(const Polynomial &polynomial,
                                        const std::vector<Symbol> &symbols) {
  std::string text;
  for (size_t m = polynomial.size(); m-- > 0;) {
    int64_t c = polynomial[m];
    if (!c)
      continue;
    std::string factors;
    for (size_t s = 0; s < symbols.size(); ++s)
      if (m & (size_t(1) << s))
        factors += (factors.empty() ? "" : "*") + symbols[s].name;
    std::string magnitude = std::to_string(c < 0 ? -c : c);
    std::string term = factors.empty()       ? magnitude
                       : (c == 1 || c == -1) ? factors
                                             : magnitude + "*" + factors;
    if (text.empty())
      text = (c < 0 ? "-" : "") + term;
    else
      text += (c < 0 ? " - " : " + ") + term;
  }
  return text.empty() ? "0" : text;
}

std::string azc::plan::formatPoint(const std::vector<Symbol> &symbols,
                                   const std::vector<int64_t> &point) {
  std::string text;
  for (size_t s = 0; s < symbols.size(); ++s)
    text += (s ? ", " : "") + symbols[s].name + "=" + std::to_string(point[s]);
  return text;
}

void azc::plan::chooseGrid(std::vector<Symbol> &symbols) {
  // Narrow ranges choose first: they have the fewest sizes to pick from.
  std::vector<size_t> order(symbols.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return symbols[a].max - symbols[a].min < symbols[b].max - symbols[b].min;
  });
  std::set<int64_t> used;
  for (size_t i : order) {
    Symbol &s = symbols[i];
    s.gridLow = s.max - 1;
    for (int64_t low = s.max - 1; low >= s.min; --low)
      if (!used.count(low) && !used.count(low + 1)) {
        s.gridLow = low;
        break;
      }
    used.insert(s.gridLow);
    used.insert(s.gridLow + 1);
  }
}

std::vector<int64_t> azc::plan::boxCorner(const std::vector<Symbol> &symbols,
                                          unsigned corner) {
  std::vector<int64_t> point;
  for (size_t s = 0; s < symbols.size(); ++s)
    point.push_back(corner & (1u << s) ? symbols[s].max : symbols[s].min);
  return point;
}

std::vector<int64_t> azc::plan::gridPoint(const std::vector<Symbol> &symbols,
                                          unsigned corner) {
  std::vector<int64_t> point;
  for (size_t s = 0; s < symbols.size(); ++s)
    point.push_back(symbols[s].gridLow + (corner & (1u << s) ? 1 : 0));
  return point;
}

std::optional<std::vector<int64_t>>
azc::plan::checkPoint(const std::vector<Symbol> &symbols) {
  std::set<int64_t> taken;
  for (const Symbol &s : symbols) {
    taken.insert(s.gridLow);
    taken.insert(s.gridLow + 1);
  }
  std::vector<int64_t> point;
  bool offGrid = false;
  for (const Symbol &s : symbols) {
    // Inside the range, past the small sizes where folders may treat a
    // tensor differently (a dim of 1 broadcasts; tiny tensors fold), and at
    // a size nothing else takes: searching outward from the middle.
    int64_t middle = std::clamp<int64_t>(
        std::max<int64_t>(s.min + (s.max - s.min) / 2, 9), s.min, s.max);
    std::optional<int64_t> chosen;
    for (int64_t d = 0; !chosen && d <= s.max - s.min; ++d)
      for (int64_t v : {middle - d, middle + d})
        if (!chosen && v >= s.min && v <= s.max && !taken.count(v))
          chosen = v;
    if (!chosen) {
      point.push_back(s.gridLow);
      continue;
    }
    point.push_back(*chosen);
    taken.insert(*chosen);
    offGrid = true;
  }
  if (!offGrid)
    return std::nullopt;
  return point;
}

namespace {

/// The multilinear polynomial through `values`, the quantity at the grid
/// corners: along each symbol's axis, (value at gridLow, value at
/// gridLow + 1) becomes (constant, slope), which stay integers because the
/// two sizes are adjacent.
Polynomial fitCorners(std::vector<int64_t> values,
                      const std::vector<Symbol> &symbols) {
  for (size_t s = 0; s < symbols.size(); ++s) {
    size_t bit = size_t(1) << s;
    for (size_t m = 0; m < values.size(); ++m) {
      if (m & bit)
        continue;
      int64_t low = values[m], high = values[m | bit];
      int64_t slope = high - low;
      values[m] = low - slope * symbols[s].gridLow;
      values[m | bit] = slope;
    }
  }
  return values;
}

bool isConstantPolynomial(const Polynomial &p) {
  return std::all_of(p.begin() + 1, p.end(), [](int64_t c) { return !c; });
}

std::string describeValue(const Plan &plan, int id) {
  const Value &v = plan.values[id];
  return "value " + std::to_string(id) +
         (v.name.empty() ? "" : " ('" + v.name + "')");
}

std::string describeStep(const Plan &plan, size_t s) {
  return "step " + std::to_string(s) + " (" + plan.steps[s].op + " at " +
         plan.steps[s].location + ")";
}

/// The first way `b` is a different program from `a`, or "".
std::string structureDifference(const Plan &a, const Plan &b) {
  if (a.values.size() != b.values.size() || a.steps.size() != b.steps.size())
    return "the model lowers to " + std::to_string(a.steps.size()) +
           " steps over " + std::to_string(a.values.size()) +
           " tensors at one size and " + std::to_string(b.steps.size()) +
           " steps over " + std::to_string(b.values.size()) + " at another";
  for (size_t i = 0; i < a.values.size(); ++i) {
    const Value &x = a.values[i], &y = b.values[i];
    if (x.dtype != y.dtype || x.shape.size() != y.shape.size() ||
        x.storage != y.storage || x.aliasOf != y.aliasOf ||
        x.index != y.index || x.name != y.name)
      return describeValue(a, i) + " differs in type or storage";
  }
  for (size_t s = 0; s < a.steps.size(); ++s) {
    const Step &x = a.steps[s], &y = b.steps[s];
    bool same = x.op == y.op && x.inputs == y.inputs &&
                x.outputs == y.outputs &&
                x.attributes.size() == y.attributes.size();
    for (size_t i = 0; same && i < x.attributes.size(); ++i) {
      const Attribute &p = x.attributes[i], &q = y.attributes[i];
      same = p.name == q.name && p.kind == q.kind &&
             p.ints.size() == q.ints.size();
      if (same && (p.kind == Attribute::Float || p.kind == Attribute::String))
        same = p.floatValue == q.floatValue && p.stringValue == q.stringValue;
    }
    if (!same)
      return describeStep(a, s) + " differs";
  }
  return "";
}

/// The elements of an integer constant, or nullopt.
std::optional<std::vector<int64_t>> integerElements(mlir::ElementsAttr attr) {
  auto dense = mlir::dyn_cast_or_null<mlir::DenseIntElementsAttr>(attr);
  if (!dense || dense.getElementType().isInteger(1))
    return std::nullopt;
  std::vector<int64_t> values;
  for (const llvm::APInt &v : dense.getValues<llvm::APInt>())
    values.push_back(v.getSExtValue());
  return values;
}

uint64_t bytesAt(const Value &v, const std::vector<int64_t> &point) {
  uint64_t count = 1;
  for (size_t d = 0; d < v.shape.size(); ++d)
    count *= v.dimPolynomials.empty() ? v.shape[d]
                                      : evaluate(v.dimPolynomials[d], point);
  return count * dtypeSize(v.dtype);
}

} // namespace

bool azc::plan::fitPlans(const std::vector<Plan> &grid,
                         const std::vector<Symbol> &symbols, Plan &fitted,
                         std::string &error) {
  const Plan &top = grid.back();
  for (size_t c = 0; c + 1 < grid.size(); ++c) {
    std::string difference = structureDifference(top, grid[c]);
    if (!difference.empty()) {
      error =
          "the model is not one program over the shape ranges: " + difference +
          " between " +
          formatPoint(symbols, gridPoint(symbols, grid.size() - 1)) + " and " +
          formatPoint(symbols, gridPoint(symbols, c));
      return false;
    }
  }
  fitted = top;
  fitted.symbols = symbols;
  auto fit = [&](auto quantity) {
    std::vector<int64_t> corners;
    for (const Plan &plan : grid)
      corners.push_back(quantity(plan));
    return fitCorners(std::move(corners), symbols);
  };

  for (size_t i = 0; i < fitted.values.size(); ++i) {
    Value &v = fitted.values[i];
    std::vector<Polynomial> dims;
    bool varies = false;
    for (size_t d = 0; d < v.shape.size(); ++d) {
      dims.push_back(fit([&](const Plan &p) { return p.values[i].shape[d]; }));
      varies |= !isConstantPolynomial(dims.back());
    }
    if (varies)
      v.dimPolynomials = std::move(dims);
    if (v.storage != Storage::Constant || v.aliasOf >= 0)
      continue;
    bool same = std::all_of(grid.begin(), grid.end(), [&](const Plan &p) {
      return p.values[i].constant == v.constant;
    });
    if (same)
      continue;
    // A shape tensor (a reshape target, a slice bound) folded from the
    // sizes: the session computes it before each run.
    std::vector<std::vector<int64_t>> elements;
    for (const Plan &p : grid) {
      std::optional<std::vector<int64_t>> e =
          integerElements(p.values[i].constant);
      if (!e || varies) {
        error = "constant " + describeValue(fitted, i) +
                " holds data that depends on the varying dims; only "
                "integer shape tensors of fixed shape can";
        return false;
      }
      elements.push_back(std::move(*e));
    }
    for (size_t e = 0; e < elements.back().size(); ++e)
      v.elementPolynomials.push_back(
          fit([&](const Plan &p) { return elements[&p - grid.data()][e]; }));
    v.storage = Storage::Arena;
    v.constant = {};
  }

  for (size_t s = 0; s < fitted.steps.size(); ++s) {
    for (size_t a = 0; a < fitted.steps[s].attributes.size(); ++a) {
      Attribute &attr = fitted.steps[s].attributes[a];
      std::vector<Polynomial> polynomials;
      bool varies = false;
      if (attr.kind == Attribute::Int) {
        polynomials.push_back(fit(
            [&](const Plan &p) { return p.steps[s].attributes[a].intValue; }));
        varies = !isConstantPolynomial(polynomials.back());
      } else if (attr.kind == Attribute::Ints) {
        for (size_t e = 0; e < attr.ints.size(); ++e) {
          polynomials.push_back(fit(
              [&](const Plan &p) { return p.steps[s].attributes[a].ints[e]; }));
          varies |= !isConstantPolynomial(polynomials.back());
        }
      }
      if (varies)
        attr.intPolynomials = std::move(polynomials);
    }
  }
  // Capacities: each tensor's largest size over the ranges. A multilinear
  // dim is extreme at the box's corners, and so is a product of them.
  for (Value &v : fitted.values) {
    if (v.dimPolynomials.empty())
      continue;
    uint64_t largest = 0;
    std::vector<int64_t> largestShape = v.shape;
    for (unsigned corner = 0; corner < (1u << symbols.size()); ++corner) {
      std::vector<int64_t> point = boxCorner(symbols, corner);
      if (bytesAt(v, point) < largest)
        continue;
      largest = bytesAt(v, point);
      for (size_t d = 0; d < v.shape.size(); ++d)
        largestShape[d] = evaluate(v.dimPolynomials[d], point);
    }
    v.size = largest;
    v.shape = largestShape;
  }
  for (auto *list : {&fitted.inputs, &fitted.outputs})
    for (Signature &sig : *list)
      sig.dims = fitted.values[size_t(sig.value)].shape;
  for (size_t c = 0; c < grid.size(); ++c)
    if (!checkFit(fitted, grid[c], gridPoint(symbols, c), error))
      return false;
  return true;
}

bool azc::plan::checkFit(const Plan &fitted, const Plan &sample,
                         const std::vector<int64_t> &point,
                         std::string &error) {
  const std::vector<Symbol> &symbols = fitted.symbols;
  std::string difference = structureDifference(fitted, sample);
  // Values that became computed tensors changed storage on purpose.
  if (!difference.empty() &&
      difference.find("type or storage") != std::string::npos) {
    difference.clear();
    for (size_t i = 0; i < fitted.values.size() && difference.empty(); ++i) {
      const Value &x = fitted.values[i], &y = sample.values[i];
      bool computed = !x.elementPolynomials.empty();
      if (x.dtype != y.dtype || x.shape.size() != y.shape.size() ||
          (x.storage != y.storage && !computed) || x.aliasOf != y.aliasOf ||
          x.index != y.index || x.name != y.name)
        difference = describeValue(fitted, i) + " differs in type or storage";
    }
  }
  auto refuse = [&](const std::string &what, int64_t actual,
                    int64_t predicted) {
    error = what + " is " + std::to_string(actual) + " at " +
            formatPoint(symbols, point) + ", but " + std::to_string(predicted) +
            " by the form fitted at the range ends: it is not a sum of "
            "products of the varying dims (a strided window or a clamp "
            "over one?); fix that dim with --dims or narrow its range";
    return false;
  };
  if (!difference.empty()) {
    error =
        "the model is not one program over the shape ranges: " + difference +
        " at " + formatPoint(symbols, point);
    return false;
  }
  for (size_t i = 0; i < fitted.values.size(); ++i) {
    const Value &v = fitted.values[i], &s = sample.values[i];
    for (size_t d = 0; d < v.shape.size(); ++d) {
      int64_t predicted = v.dimPolynomials.empty()
                              ? v.shape[d]
                              : evaluate(v.dimPolynomials[d], point);
      if (predicted != s.shape[d])
        return refuse(describeValue(fitted, i) + " dim " + std::to_string(d),
                      s.shape[d], predicted);
    }
    if (bytesAt(v, point) > v.size) {
      error = describeValue(fitted, i) + " needs " +
              std::to_string(bytesAt(v, point)) + " bytes at " +
              formatPoint(symbols, point) + ", more than the " +
              std::to_string(v.size) +
              " it needs at the ranges' max; azc sizes buffers at the max";
      return false;
    }
    if (v.elementPolynomials.empty()) {
      if (v.storage == Storage::Constant && v.aliasOf < 0 &&
          v.constant != s.constant) {
        error = "constant " + describeValue(fitted, i) + " has other data at " +
                formatPoint(symbols, point) + " than at the range ends";
        return false;
      }
      continue;
    }
    std::optional<std::vector<int64_t>> elements = integerElements(s.constant);
    if (!elements || elements->size() != v.elementPolynomials.size()) {
      error = "constant " + describeValue(fitted, i) + " changes form at " +
              formatPoint(symbols, point);
      return false;
    }
    for (size_t e = 0; e < elements->size(); ++e) {
      int64_t predicted = evaluate(v.elementPolynomials[e], point);
      if (predicted != (*elements)[e])
        return refuse("element " + std::to_string(e) + " of constant " +
                          describeValue(fitted, i),
                      (*elements)[e], predicted);
    }
  }
  for (size_t s = 0; s < fitted.steps.size(); ++s)
    for (size_t a = 0; a < fitted.steps[s].attributes.size(); ++a) {
      const Attribute &attr = fitted.steps[s].attributes[a];
      const Attribute &actual = sample.steps[s].attributes[a];
      std::vector<int64_t> values = attr.kind == Attribute::Int
                                        ? std::vector<int64_t>{actual.intValue}
                                        : actual.ints;
      std::vector<int64_t> expected = attr.kind == Attribute::Int
                                          ? std::vector<int64_t>{attr.intValue}
                                          : attr.ints;
      for (size_t e = 0; e < values.size(); ++e) {
        int64_t predicted = attr.intPolynomials.empty()
                                ? expected[e]
                                : evaluate(attr.intPolynomials[e], point);
        if (predicted != values[e])
          return refuse("attribute '" + attr.name + "' of " +
                            describeStep(fitted, s),
                        values[e], predicted);
      }
    }
  return true;
}

//===- BuildProfile.cpp - the run-time shape ranges of a build ------------===//

#include "compiler/BuildProfile.h"

#include "dialects/azg/AzgDialect.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <map>

using namespace azc;
using namespace mlir;

namespace {

struct Range {
  int64_t min = -1, opt = -1, max = -1;
  bool set() const { return max >= 0; }
};

/// "N", "MIN..MAX" or "MIN..OPT..MAX" with 0 <= MIN <= OPT <= MAX.
std::optional<Range> parseRange(StringRef text) {
  SmallVector<StringRef> parts;
  text.split(parts, "..");
  Range range;
  SmallVector<int64_t> sizes;
  for (StringRef part : parts) {
    int64_t size;
    if (part.trim().getAsInteger(10, size) || size < 0)
      return std::nullopt;
    sizes.push_back(size);
  }
  if (sizes.size() == 1)
    range = {sizes[0], sizes[0], sizes[0]};
  else if (sizes.size() == 2)
    range = {sizes[0], sizes[1], sizes[1]};
  else if (sizes.size() == 3)
    range = {sizes[0], sizes[1], sizes[2]};
  else
    return std::nullopt;
  if (range.min > range.opt || range.opt > range.max)
    return std::nullopt;
  return range;
}

/// A dim name that is a sum of other dims ("past_sequence + 1",
/// "past + sequence"): its terms, or nullopt for a plain name.
struct Term {
  int64_t sign;
  std::string name; ///< empty: a number
  int64_t number = 0;
};
std::optional<std::vector<Term>> parseSum(StringRef text) {
  if (!text.contains('+') && !text.contains('-'))
    return std::nullopt;
  std::vector<Term> terms;
  int64_t sign = 1;
  StringRef rest = text.trim();
  while (!rest.empty()) {
    size_t end = rest.find_first_of("+-");
    StringRef token = rest.substr(0, end).trim();
    if (token.empty())
      return std::nullopt;
    Term term{sign, "", 0};
    if (token.getAsInteger(10, term.number)) {
      bool identifier = llvm::all_of(token, [](char c) {
        return llvm::isAlnum(c) || c == '_' || c == '.';
      });
      if (!identifier)
        return std::nullopt;
      term.name = token.str();
    }
    terms.push_back(term);
    if (end == StringRef::npos)
      break;
    sign = rest[end] == '+' ? 1 : -1;
    rest = rest.substr(end + 1);
  }
  return terms;
}

std::string describe(const std::string &input, size_t dim,
                     const std::string &name) {
  return "input '" + input + "' dim " + std::to_string(dim) +
         (name.empty() ? "" : " ('" + name + "')");
}

} // namespace

std::vector<std::string>
ResolvedProfile::inputShapesAt(const std::vector<int64_t> &values) const {
  std::vector<std::string> shapes;
  for (size_t i = 0; i < inputNames.size(); ++i) {
    std::vector<std::string> sizes;
    for (const InputDim &dim : inputDims[i]) {
      int64_t size = dim.constant;
      for (size_t s = 0; s < dim.coefficients.size(); ++s)
        size += dim.coefficients[s] * values[s];
      sizes.push_back(std::to_string(size));
    }
    shapes.push_back(inputNames[i] + ":" + llvm::join(sizes, "x"));
  }
  return shapes;
}

bool azc::resolveProfile(func::FuncOp main, const ShapeProfile &profile,
                         ResolvedProfile &resolved, std::string &error) {
  // Each dynamic dim is keyed by its name (dims of one name are one size),
  // by "INPUT:DIM" when unnamed, or is a sum of other keys.
  struct DimRef {
    size_t input, dim;
  };
  /// Keys in order of first use, so symbols are numbered predictably.
  struct Keys {
    std::vector<std::pair<std::string, Range>> list;
    std::map<std::string, size_t> index;
    void insert(const std::string &key) {
      if (index.emplace(key, list.size()).second)
        list.push_back({key, Range()});
    }
    size_t count(const std::string &key) const { return index.count(key); }
    Range &operator[](const std::string &key) {
      return list[index.at(key)].second;
    }
    auto begin() { return list.begin(); }
    auto end() { return list.end(); }
  } keys;
  llvm::StringMap<DimRef> firstUse;
  std::vector<std::vector<std::optional<std::string>>> dimKeys;
  for (BlockArgument arg : main.getArguments()) {
    unsigned n = arg.getArgNumber();
    auto nameAttr = main.getArgAttrOfType<StringAttr>(n, azg::kNameAttr);
    std::string name = nameAttr ? nameAttr.str() : "input" + std::to_string(n);
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type) {
      error = "input '" + name + "' has no ranked tensor type";
      return false;
    }
    auto dimNamesAttr = main.getArgAttrOfType<ArrayAttr>(n, azg::kDimNamesAttr);
    std::vector<std::string> names(type.getRank());
    if (dimNamesAttr)
      for (auto [i, attr] : llvm::enumerate(dimNamesAttr))
        if (i < names.size())
          names[i] = cast<StringAttr>(attr).str();
    resolved.inputNames.push_back(name);
    resolved.dimNames.push_back(names);
  }
  // A name is a sum when it parses as one and every name in it is some
  // other dim's plain name; else it is a plain name itself.
  llvm::StringSet<> plainNames;
  for (auto [i, names] : llvm::enumerate(resolved.dimNames)) {
    auto type = cast<RankedTensorType>(main.getArgument(i).getType());
    for (auto [d, name] : llvm::enumerate(names))
      if (type.isDynamicDim(d) && !name.empty() && !parseSum(name))
        plainNames.insert(name);
  }
  auto isSum = [&](const std::string &name) {
    std::optional<std::vector<Term>> terms = parseSum(name);
    return terms && llvm::all_of(*terms, [&](const Term &term) {
             return term.name.empty() || plainNames.contains(term.name);
           });
  };
  for (BlockArgument arg : main.getArguments()) {
    unsigned n = arg.getArgNumber();
    const std::string &name = resolved.inputNames[n];
    const std::vector<std::string> &names = resolved.dimNames[n];
    auto type = cast<RankedTensorType>(arg.getType());
    dimKeys.emplace_back(type.getRank());
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (!type.isDynamicDim(d) || isSum(names[d]))
        continue;
      std::string key =
          names[d].empty() ? name + ":" + std::to_string(d) : names[d];
      dimKeys.back()[d] = key;
      keys.insert(key);
      firstUse.try_emplace(key, DimRef{n, size_t(d)});
    }
  }
  auto inputIndex = [&](StringRef name) -> std::optional<size_t> {
    for (size_t i = 0; i < resolved.inputNames.size(); ++i)
      if (resolved.inputNames[i] == name)
        return i;
    return std::nullopt;
  };
  auto setKey = [&](const std::string &key, Range range,
                    const std::string &flag) {
    Range &slot = keys[key];
    if (slot.set() && (slot.min != range.min || slot.max != range.max)) {
      error = flag + " sizes dim '" + key + "' to " +
              std::to_string(range.min) + ".." + std::to_string(range.max) +
              ", but another flag already sized it " +
              std::to_string(slot.min) + ".." + std::to_string(slot.max);
      return false;
    }
    slot = range;
    return true;
  };

  // Explicit sizes first: --input-shape, --dims, --shape-range.
  for (const std::string &entry : profile.inputShapes) {
    auto [name, spec] = StringRef(entry).rsplit(':');
    std::optional<size_t> input = inputIndex(name);
    if (!input) {
      error = "--input-shape " + entry + ": the model has no input '" +
              name.str() + "'";
      return false;
    }
    SmallVector<StringRef> parts;
    if (!spec.empty())
      spec.split(parts, 'x');
    auto type = cast<RankedTensorType>(main.getArgument(*input).getType());
    if ((int64_t)parts.size() != type.getRank()) {
      error = "--input-shape " + entry + ": input '" + name.str() +
              "' has rank " + std::to_string(type.getRank());
      return false;
    }
    for (auto [d, part] : llvm::enumerate(parts)) {
      int64_t size;
      if (part.getAsInteger(10, size) || size < 0) {
        error = "--input-shape " + entry + ": expected NAME:D0xD1x...";
        return false;
      }
      if (!type.isDynamicDim(d)) {
        if (type.getDimSize(d) != size) {
          error = "--input-shape " + entry + ": " +
                  describe(name.str(), d, "") + " is " +
                  std::to_string(type.getDimSize(d));
          return false;
        }
        continue;
      }
      if (!dimKeys[*input][d]) {
        error = "--input-shape " + entry + ": " +
                describe(name.str(), d, resolved.dimNames[*input][d]) +
                " is a sum of other dims; size those instead";
        return false;
      }
      if (!setKey(*dimKeys[*input][d], {size, size, size}, "--input-shape"))
        return false;
    }
  }
  for (const std::string &entry : profile.dims) {
    auto [key, value] = StringRef(entry).rsplit('=');
    std::optional<Range> range = parseRange(value);
    if (key.empty() || !range || range->min != range->max) {
      error = "bad --dims '" + entry + "': expected NAME=SIZE";
      return false;
    }
    if (!keys.count(key.str())) {
      error = "--dims " + entry + ": no input has a dynamic dim named '" +
              key.str() + "'";
      return false;
    }
    if (!setKey(key.str(), *range, "--dims"))
      return false;
  }
  for (const std::string &entry : profile.shapeRanges) {
    auto [key, value] = StringRef(entry).rsplit('=');
    std::optional<Range> range = parseRange(value);
    if (key.empty() || !range) {
      error = "bad --shape-range '" + entry +
              "': expected NAME=MIN..OPT..MAX or INPUT:DIM=MIN..OPT..MAX, "
              "MIN <= OPT <= MAX";
      return false;
    }
    std::string target = key.str();
    if (!keys.count(target)) {
      auto [inputName, dimText] = key.rsplit(':');
      std::optional<size_t> input = inputIndex(inputName);
      unsigned dim;
      if (!input || dimText.getAsInteger(10, dim) ||
          dim >= dimKeys[*input].size()) {
        error = "--shape-range " + entry +
                ": no input has a dynamic dim named '" + target +
                "' and it is not INPUT:DIM of an input";
        return false;
      }
      if (!dimKeys[*input][dim]) {
        error = "--shape-range " + entry + ": " +
                describe(inputName.str(), dim, resolved.dimNames[*input][dim]) +
                " is " +
                (resolved.dimNames[*input][dim].empty()
                     ? "static"
                     : "a sum of other dims; size those instead");
        return false;
      }
      target = *dimKeys[*input][dim];
    }
    if (!setKey(target, *range, "--shape-range"))
      return false;
  }
  // Then the LLM-style defaults for whatever is still unsized.
  for (size_t i = 0; i < dimKeys.size(); ++i) {
    auto type = cast<RankedTensorType>(main.getArgument(i).getType());
    bool tokenIds = type.getRank() == 2 && type.getElementType().isInteger();
    for (size_t d = 0; d < dimKeys[i].size(); ++d) {
      if (!dimKeys[i][d] || keys[*dimKeys[i][d]].set())
        continue;
      if (d == 0 && profile.maxBatchSize > 0)
        keys[*dimKeys[i][d]] = {1, profile.maxBatchSize, profile.maxBatchSize};
      else if (d == 1 && tokenIds && profile.maxInputLen > 0)
        keys[*dimKeys[i][d]] = {1, profile.maxInputLen, profile.maxInputLen};
    }
  }
  for (auto &[key, range] : keys) {
    if (range.set())
      continue;
    DimRef where = firstUse.lookup(key);
    const std::string &name = resolved.dimNames[where.input][where.dim];
    error = describe(resolved.inputNames[where.input], where.dim, name) +
            " has no size: give --shape-range " +
            (name.empty() ? resolved.inputNames[where.input] + ":" +
                                std::to_string(where.dim)
                          : name) +
            "=MIN..OPT..MAX, --dims " + (name.empty() ? "NAME" : name) +
            "=N, --input-shape or --max_batch_size";
    return false;
  }

  // Keys with more than one size are the symbols.
  llvm::StringMap<int> symbolOf;
  for (auto &[key, range] : keys)
    if (range.min != range.max) {
      symbolOf[key] = resolved.symbols.size();
      resolved.symbols.push_back({key, range.min, range.opt, range.max});
    }
  if (resolved.symbols.size() > kMaxSymbols) {
    error = std::to_string(resolved.symbols.size()) +
            " dims vary at run time; an engine takes at most " +
            std::to_string(kMaxSymbols) + ": fix some with --dims NAME=N";
    return false;
  }
  size_t k = resolved.symbols.size();
  for (size_t i = 0; i < dimKeys.size(); ++i) {
    auto type = cast<RankedTensorType>(main.getArgument(i).getType());
    std::vector<InputDim> dims;
    for (size_t d = 0; d < dimKeys[i].size(); ++d) {
      InputDim dim;
      dim.coefficients.assign(k, 0);
      auto add = [&](const std::string &key, int64_t sign) {
        auto symbol = symbolOf.find(key);
        if (symbol != symbolOf.end())
          dim.coefficients[symbol->second] += sign;
        else
          dim.constant += sign * keys[key].min;
      };
      if (!type.isDynamicDim(d)) {
        dim.constant = type.getDimSize(d);
      } else if (dimKeys[i][d]) {
        add(*dimKeys[i][d], 1);
        auto symbol = symbolOf.find(*dimKeys[i][d]);
        if (symbol != symbolOf.end())
          dim.symbol = symbol->second;
      } else {
        const std::string &name = resolved.dimNames[i][d];
        std::vector<Term> terms = *parseSum(name);
        for (const Term &term : terms) {
          if (term.name.empty()) {
            dim.constant += term.sign * term.number;
          } else {
            add(term.name, term.sign);
          }
        }
      }
      dims.push_back(dim);
    }
    resolved.inputDims.push_back(std::move(dims));
  }
  return true;
}

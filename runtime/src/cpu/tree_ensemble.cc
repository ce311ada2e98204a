//===- tree_ensemble.cc - decision-tree ensembles -------------------------===//
//
// ONNX TreeEnsemble (ai.onnx.ml 5): every row walks every tree from its
// root to a leaf, and the leaves' weights are aggregated per target. Rows
// are independent and run in parallel. A walk longer than the node count
// means a cycle in the (engine-supplied) tree, which is refused rather
// than looped on.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

#include <atomic>
#include <limits>

namespace azr::cpu {
namespace {

enum Mode { LEQ, LT, GTE, GT, EQ, NEQ, MEMBER };

struct Trees {
  std::vector<int64_t> feature, mode, trueId, falseId, trueLeaf, falseLeaf,
      missingTrue, leafTarget, roots;
  /// For each MEMBER node, its set: the next NaN-terminated run of the
  /// membership values, in node order.
  std::vector<std::vector<double>> members;
};

template <class T>
azr_status_t evaluate(const KernelContext &context, const Trees &trees,
                      const Tensor &input, const Tensor &splits,
                      const Tensor &leafWeights, const Tensor &out,
                      int64_t aggregate) {
  const int64_t rows = input.dims[0], features = input.dims[1];
  const int64_t targets = out.dims[1];
  const int64_t nodes = int64_t(trees.feature.size());
  const T *x = input.as<const T>(), *split = splits.as<const T>(),
          *weight = leafWeights.as<const T>();
  T *y = out.as<T>();
  for (int64_t f : trees.feature)
    if (f < 0 || f >= features)
      return AZR_INVALID("tree_ensemble: feature %lld is outside the %lld "
                         "input columns",
                         (long long)f, (long long)features);
  std::atomic<bool> cycle{false};
  context.pool->parallelFor(rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T *row = x + r * features;
      T *result = y + r * targets;
      const T initial = aggregate == 2   ? std::numeric_limits<T>::max()
                        : aggregate == 3 ? std::numeric_limits<T>::lowest()
                                         : T(0);
      std::fill(result, result + targets, initial);
      for (int64_t root : trees.roots) {
        // A root whose both children are the same leaf is that leaf.
        int64_t at = root;
        bool leaf = trees.trueLeaf[root] && trees.falseLeaf[root] &&
                    trees.trueId[root] == trees.falseId[root];
        for (int64_t steps = 0; !leaf; ++steps) {
          if (steps > nodes) {
            cycle = true;
            return;
          }
          const double v = double(row[trees.feature[at]]);
          const double s = double(split[at]);
          bool yes = false;
          switch (trees.mode[at]) {
          case LEQ:
            yes = v <= s;
            break;
          case LT:
            yes = v < s;
            break;
          case GTE:
            yes = v >= s;
            break;
          case GT:
            yes = v > s;
            break;
          case EQ:
            yes = v == s;
            break;
          case NEQ:
            yes = v != s;
            break;
          case MEMBER:
            for (double m : trees.members[size_t(at)])
              yes = yes || v == m;
            break;
          }
          if (std::isnan(v) && !trees.missingTrue.empty() &&
              trees.missingTrue[at])
            yes = true;
          leaf = yes ? trees.trueLeaf[at] : trees.falseLeaf[at];
          at = yes ? trees.trueId[at] : trees.falseId[at];
        }
        const T w = weight[at];
        T &slot = result[trees.leafTarget[at]];
        if (aggregate == 2)
          slot = std::min(slot, w);
        else if (aggregate == 3)
          slot = std::max(slot, w);
        else
          slot += aggregate == 0 ? w / T(trees.roots.size()) : w;
      }
    }
  });
  if (cycle)
    return AZR_INVALID("tree_ensemble: a tree walk does not reach a leaf "
                       "(its nodes form a cycle)");
  return nullptr;
}

azr_status_t treeEnsembleKernel(const KernelContext &context) {
  const char *op = "tree_ensemble";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 3, 4, 1));
  const Tensor &input = context.input(0), &splits = context.input(1),
               &leafWeights = context.input(2), &out = context.output(0);
  const Attrs &attrs = *context.attrs;
  Trees trees{attrs.getInts("nodes_featureids"),
              attrs.getInts("nodes_modes"),
              attrs.getInts("nodes_truenodeids"),
              attrs.getInts("nodes_falsenodeids"),
              attrs.getInts("nodes_trueleafs"),
              attrs.getInts("nodes_falseleafs"),
              attrs.getInts("nodes_missing_value_tracks_true"),
              attrs.getInts("leaf_targetids"),
              attrs.getInts("tree_roots"),
              {}};
  const size_t nodes = trees.feature.size();
  const int64_t leaves = leafWeights.numel();
  const int64_t aggregate = attrs.getInt("aggregate_function", 1);
  if (input.rank != 2 || out.rank != 2 || out.dims[0] != input.dims[0] ||
      input.dtype != out.dtype || splits.dtype != out.dtype ||
      leafWeights.dtype != out.dtype || splits.numel() != int64_t(nodes) ||
      int64_t(trees.leafTarget.size()) != leaves || aggregate < 0 ||
      aggregate > 3)
    return AZR_INVALID("tree_ensemble: input %s, splits %s, leaf weights %s "
                       "and result %s do not agree",
                       shapeString(input).c_str(), shapeString(splits).c_str(),
                       shapeString(leafWeights).c_str(),
                       shapeString(out).c_str());
  for (const std::vector<int64_t> *list :
       {&trees.mode, &trees.trueId, &trees.falseId, &trees.trueLeaf,
        &trees.falseLeaf})
    if (list->size() != nodes)
      return AZR_INVALID("tree_ensemble: a nodes_* list is not %zu long",
                         nodes);
  if (!trees.missingTrue.empty() && trees.missingTrue.size() != nodes)
    return AZR_INVALID("tree_ensemble: nodes_missing_value_tracks_true");
  for (size_t i = 0; i < nodes; ++i) {
    const int64_t trueLimit = trees.trueLeaf[i] ? leaves : int64_t(nodes);
    const int64_t falseLimit = trees.falseLeaf[i] ? leaves : int64_t(nodes);
    if (trees.mode[i] < LEQ || trees.mode[i] > MEMBER || trees.trueId[i] < 0 ||
        trees.trueId[i] >= trueLimit || trees.falseId[i] < 0 ||
        trees.falseId[i] >= falseLimit)
      return AZR_INVALID("tree_ensemble: node %zu is malformed", i);
  }
  for (int64_t root : trees.roots)
    if (root < 0 || root >= int64_t(nodes))
      return AZR_INVALID("tree_ensemble: tree root %lld is not a node",
                         (long long)root);
  for (int64_t target : trees.leafTarget)
    if (target < 0 || target >= out.dims[1])
      return AZR_INVALID("tree_ensemble: leaf target %lld is outside %lld",
                         (long long)target, (long long)out.dims[1]);
  // The membership sets, one NaN-terminated run per MEMBER node.
  trees.members.resize(nodes);
  if (const Tensor *given = context.optionalInput(3)) {
    const Tensor &members = *given;
    if (members.dtype != out.dtype)
      return unsupportedDtype(op, members.dtype);
    int64_t next = 0;
    for (size_t i = 0; i < nodes; ++i) {
      if (trees.mode[i] != MEMBER)
        continue;
      for (; next < members.numel(); ++next) {
        const double m = members.dtype == DType::f32
                             ? double(members.as<const float>()[next])
                             : members.as<const double>()[next];
        if (std::isnan(m))
          break;
        trees.members[i].push_back(m);
      }
      ++next; // past the NaN
    }
  }
  return dispatchFloat(out.dtype, op, [&](auto tag) {
    return evaluate<decltype(tag)>(context, trees, input, splits, leafWeights,
                                   out, aggregate);
  });
}

} // namespace

void addTreeEnsembleKernels(KernelTable &table) {
  table.push_back({"tree_ensemble", guarded<treeEnsembleKernel>});
}

} // namespace azr::cpu

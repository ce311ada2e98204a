//===- MemoryPlanner.cpp - liveness-based arena layout --------------------===//
//
// Every intermediate tensor lives from the step that writes it to the last
// step that reads it (or reads a view of it). Tensors whose lifetimes do not
// overlap may share bytes. Placement is greedy best-fit by decreasing size:
// each tensor goes to the lowest 64-byte aligned offset where it overlaps no
// already placed tensor that is alive at the same time. This is the classic
// heuristic (as in TFLite's arena planner); it is within a few percent of
// optimal on the graphs azc targets and runs in O(n^2) for n tensors. A
// dynamic plan is laid out at its sizes' max: at smaller sizes every tensor
// keeps its offset and uses a prefix of its bytes.
//
//===----------------------------------------------------------------------===//

#include "compiler/Plan.h"

#include <algorithm>

using namespace azc::plan;

namespace {

struct Interval {
  int first = -1, last = -1; ///< steps
};

uint64_t alignTo(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

} // namespace

void azc::plan::planMemory(Plan &plan) {
  std::vector<Interval> life(plan.values.size());
  auto root = [&](int id) {
    return plan.values[id].aliasOf >= 0 ? plan.values[id].aliasOf : id;
  };
  for (int s = 0; s < (int)plan.steps.size(); ++s) {
    for (int id : plan.steps[s].outputs) {
      Interval &l = life[root(id)];
      if (l.first < 0)
        l.first = s;
      l.last = std::max(l.last, s);
    }
    for (int id : plan.steps[s].inputs)
      if (id >= 0)
        life[root(id)].last = std::max(life[root(id)].last, s);
  }

  // The sizes of outputs that the data decides are read after the last
  // step.
  for (const Signature &output : plan.outputs)
    if (output.extentValue >= 0)
      life[root(output.extentValue)].last = int(plan.steps.size());

  // Shape tensors the session computes are written before the first step.
  for (int id = 0; id < (int)plan.values.size(); ++id)
    if (!plan.values[id].elementPolynomials.empty() && life[id].last >= 0)
      life[id].first = 0;

  std::vector<int> order;
  plan.intermediateBytes = 0;
  for (int id = 0; id < (int)plan.values.size(); ++id) {
    const Value &v = plan.values[id];
    if (v.storage != Storage::Arena || v.aliasOf >= 0 || life[id].first < 0)
      continue;
    order.push_back(id);
    plan.intermediateBytes += v.size;
  }
  // Largest first; ties by first use keep the result deterministic.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (plan.values[a].size != plan.values[b].size)
      return plan.values[a].size > plan.values[b].size;
    return life[a].first < life[b].first;
  });

  std::vector<int> placed;
  plan.arenaSize = 0;
  for (int id : order) {
    Value &v = plan.values[id];
    std::vector<std::pair<uint64_t, uint64_t>> busy; // [begin, end)
    for (int other : placed) {
      const Interval &a = life[id], &b = life[other];
      if (a.first <= b.last && b.first <= a.last)
        busy.push_back({plan.values[other].offset,
                        plan.values[other].offset + plan.values[other].size});
    }
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0;
    for (auto [begin, end] : busy) {
      if (offset + v.size <= begin)
        break;
      offset = std::max(offset, alignTo(end, 64));
    }
    v.offset = offset;
    plan.arenaSize = std::max(plan.arenaSize, alignTo(offset + v.size, 64));
    placed.push_back(id);
  }
  // A view reads its root's bytes wherever they ended up: the arena, the
  // constants, an input or (when the root became a graph output) an output.
  for (Value &v : plan.values)
    if (v.aliasOf >= 0) {
      const Value &root = plan.values[v.aliasOf];
      v.storage = root.storage;
      v.index = root.index;
      v.offset = root.offset;
    }
}

//===- ResolveShapes.cpp - fix symbolic dims from the build profile -------===//
//
// An engine is built for a shape profile. This pass writes the profile's
// sizes into the function's input types — by symbolic dim name (the names
// frontends record in `azg.dim_names`) or per input name — and then
// propagates them: every op re-infers its result types from its operands,
// and the shape-arithmetic folders run so that reshape targets computed at
// run time become constants. The two steps alternate until the types stop
// changing, because each fold can make more types static and each static
// type can make more folds possible.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

namespace azc {
#define GEN_PASS_DEF_RESOLVESHAPES
#include "passes/Passes.h.inc"
} // namespace azc

using namespace mlir;
using namespace azc::azg;

namespace {

/// Parses "D0xD1x..." into sizes; nullopt on a malformed spec.
std::optional<SmallVector<int64_t>> parseShape(StringRef spec) {
  SmallVector<int64_t> shape;
  if (spec.empty())
    return shape; // A scalar.
  SmallVector<StringRef> parts;
  spec.split(parts, 'x');
  for (StringRef part : parts) {
    int64_t size;
    if (part.getAsInteger(10, size) || size < 0)
      return std::nullopt;
    shape.push_back(size);
  }
  return shape;
}

struct ResolveShapesPass : azc::impl::ResolveShapesBase<ResolveShapesPass> {
  using ResolveShapesBase::ResolveShapesBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (failed(applyProfile(func)) || failed(propagate(func)))
      return signalPassFailure();
  }

  /// Rewrites the argument types from the profile.
  LogicalResult applyProfile(func::FuncOp func) {
    llvm::StringMap<int64_t> dimSizes;
    for (const std::string &entry : dims) {
      auto [name, value] = StringRef(entry).split('=');
      int64_t size;
      if (name.empty() || value.getAsInteger(10, size) || size < 0)
        return func.emitError("bad dim size '")
               << entry << "': expected NAME=SIZE with SIZE >= 0";
      dimSizes[name] = size;
    }
    llvm::StringMap<SmallVector<int64_t>> shapes;
    for (const std::string &entry : inputShapes) {
      auto [name, spec] = StringRef(entry).rsplit(':');
      std::optional<SmallVector<int64_t>> shape = parseShape(spec);
      if (name.empty() || !shape)
        return func.emitError("bad input shape '")
               << entry << "': expected NAME:D0xD1x...";
      shapes[name] = *shape;
    }

    llvm::StringSet<> usedDims, usedInputs;
    SmallVector<Type> argTypes;
    for (BlockArgument arg : func.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      auto nameAttr =
          func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), kNameAttr);
      std::string name =
          nameAttr ? nameAttr.str() : "#" + std::to_string(arg.getArgNumber());
      if (!type) {
        argTypes.push_back(arg.getType());
        continue;
      }
      SmallVector<int64_t> shape(type.getShape());
      auto dimNames =
          func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), kDimNamesAttr);
      if (dimNames) {
        for (auto [i, attr] : llvm::enumerate(dimNames)) {
          StringRef dimName = cast<StringAttr>(attr).getValue();
          auto it = dimSizes.find(dimName);
          if (dimName.empty() || it == dimSizes.end() || i >= shape.size())
            continue;
          usedDims.insert(dimName);
          if (!ShapedType::isDynamic(shape[i]) && shape[i] != it->second)
            return func.emitError("input '")
                   << name << "' dim " << i << " is " << shape[i]
                   << ", but the profile sets " << dimName << "=" << it->second;
          shape[i] = it->second;
        }
      }
      if (maxBatchSize > 0 && !shape.empty() && ShapedType::isDynamic(shape[0]))
        shape[0] = maxBatchSize;
      auto given = shapes.find(name);
      if (given != shapes.end()) {
        usedInputs.insert(name);
        if (given->second.size() != shape.size())
          return func.emitError("input '")
                 << name << "' has rank " << shape.size()
                 << ", but the profile gives a rank-" << given->second.size()
                 << " shape";
        for (auto [i, size] : llvm::enumerate(given->second)) {
          if (!ShapedType::isDynamic(shape[i]) && shape[i] != size)
            return func.emitError("input '")
                   << name << "' dim " << i << " is " << shape[i]
                   << ", but the profile sets it to " << size;
          shape[i] = size;
        }
      }
      Type newType = type.clone(shape);
      arg.setType(newType);
      argTypes.push_back(newType);
    }
    for (auto &entry : dimSizes)
      if (!usedDims.contains(entry.getKey()))
        return func.emitError("the profile sets dim '")
               << entry.getKey() << "', but no input has a dim of that name";
    for (auto &entry : shapes)
      if (!usedInputs.contains(entry.getKey()))
        return func.emitError("the profile gives a shape for input '")
               << entry.getKey() << "', but the model has no such input";
    func.setFunctionType(FunctionType::get(
        &getContext(), argTypes, func.getFunctionType().getResults()));
    return success();
  }

  /// Re-infers every result type in program order. Sets `changed` when a
  /// type was refined.
  LogicalResult reinfer(func::FuncOp func, bool &changed) {
    WalkResult result = func.walk([&](InferTypeOpInterface op) {
      SmallVector<Type> inferred;
      Operation *operation = op.getOperation();
      if (failed(op.inferReturnTypes(&getContext(), operation->getLoc(),
                                     operation->getOperands(),
                                     operation->getRawDictionaryAttrs(),
                                     operation->getPropertiesStorage(),
                                     operation->getRegions(), inferred)))
        return WalkResult::interrupt();
      for (auto [value, type] : llvm::zip(operation->getResults(), inferred)) {
        if (value.getType() == type)
          continue;
        if (!areCompatibleResultTypes(value.getType(), type)) {
          operation->emitOpError("result type ")
              << value.getType() << " contradicts the inferred " << type;
          return WalkResult::interrupt();
        }
        value.setType(type);
        changed = true;
      }
      return WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }

  LogicalResult propagate(func::FuncOp func) {
    RewritePatternSet patternList(&getContext());
    azc::populateShapeFoldingPatterns(patternList);
    FrozenRewritePatternSet patterns(std::move(patternList));
    // Each round refines at least one type, and types only get more static,
    // so this ends; the bound guards against a folder that oscillates.
    for (int round = 0; round < 64; ++round) {
      bool changed = false;
      if (failed(reinfer(func, changed)))
        return failure();
      bool folded = false;
      (void)applyPatternsAndFoldGreedily(func, patterns, GreedyRewriteConfig(),
                                         &folded);
      if (!changed && !folded)
        break;
    }
    Operation *terminator = func.getBody().front().getTerminator();
    func.setFunctionType(FunctionType::get(
        &getContext(), func.getArgumentTypes(), terminator->getOperandTypes()));
    return success();
  }
};

} // namespace

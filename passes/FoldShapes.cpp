//===- FoldShapes.cpp - fold shape arithmetic -----------------------------===//
//
// Runs the azg folders to a fixed point. Exporters compute reshape targets
// with Shape/Gather/Unsqueeze/Concat chains; once the input shapes are known
// those chains fold to constants and reshapes get static result types. The
// folders themselves (dialects/azg/AzgFolds.cpp) refuse weights and large
// tensors, so this pass never materializes model data in the IR.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace azc {
#define GEN_PASS_DEF_FOLDSHAPES
#include "passes/Passes.h.inc"
} // namespace azc

using namespace mlir;

namespace {

struct FoldShapesPass : azc::impl::FoldShapesBase<FoldShapesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    azc::populateShapeFoldingPatterns(patterns);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void azc::populateShapeFoldingPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  for (RegisteredOperationName name : context->getRegisteredOperations())
    if (name.getDialectNamespace() == "azg")
      name.getCanonicalizationPatterns(patterns, context);
}

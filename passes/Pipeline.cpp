//===- Pipeline.cpp - the one place that orders azc's passes --------------===//
//
// Shapes first (everything after benefits from static types), then the
// elementwise recognitions that expose activations, then epilogue fusion,
// then cleanup. Later issues insert calibration, quantization, pruning and
// KV-cache layout here, in that order.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

void azc::buildOptimizationPipeline(mlir::OpPassManager &pm,
                                    const ShapeProfile &profile) {
  mlir::OpPassManager &func = pm.nest<mlir::func::FuncOp>();
  ResolveShapesOptions shapes;
  shapes.dims = profile.dims;
  shapes.inputShapes = profile.inputShapes;
  shapes.maxBatchSize = profile.maxBatchSize;
  func.addPass(createResolveShapes(shapes));
  func.addPass(createFoldShapes());
  func.addPass(createFuseElementwise());
  func.addPass(createFuseEpilogues());
  func.addPass(mlir::createCSEPass());
  func.addPass(mlir::createCanonicalizerPass());
}

namespace {
struct PipelineOptions : mlir::PassPipelineOptions<PipelineOptions> {
  ListOption<std::string> dims{*this, "dims",
                               llvm::cl::desc("dim sizes as NAME=SIZE")};
  ListOption<std::string> inputShapes{
      *this, "input-shapes", llvm::cl::desc("input shapes as NAME:D0xD1x...")};
};
} // namespace

void azc::registerAllPasses() {
  registerAzcPasses();
  mlir::PassPipelineRegistration<PipelineOptions>(
      "azc-optimize", "azc's optimization pipeline, in build order",
      [](mlir::OpPassManager &pm, const PipelineOptions &options) {
        ShapeProfile profile;
        profile.dims.assign(options.dims.begin(), options.dims.end());
        profile.inputShapes.assign(options.inputShapes.begin(),
                                   options.inputShapes.end());
        buildOptimizationPipeline(pm, profile);
      });
}

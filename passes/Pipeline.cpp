//===- Pipeline.cpp - the one place that orders azc's passes --------------===//
//
// Shapes first (everything after benefits from static types), then the
// products of dequantized weights (QDQ models) become quantized-weight
// products, then the elementwise recognitions that expose activations,
// then epilogue fusion, then the packing of constant matmul weights into
// the GEMM's panels (after fusion, whose epilogues it carries), then
// cleanup. Weight quantization comes before all
// of it, once per build: it reads only weights, so the shapes of a dynamic
// build's grid points do not change it. The KV-cache layout also runs once
// per build, after quantization and before shapes are fixed: it changes
// the function's inputs, which the build profile's ranges are read from.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

void azc::buildQuantizationPipeline(
    mlir::OpPassManager &pm, const QuantizeWeightsOptions &options,
    std::shared_ptr<const std::vector<quant::InputStatistics>> statistics) {
  pm.nest<mlir::func::FuncOp>().addPass(
      createQuantizeWeightsPass(options, std::move(statistics)));
}

void azc::buildKvCachePipeline(mlir::OpPassManager &pm,
                               const PageKvCacheOptions &options) {
  pm.nest<mlir::func::FuncOp>().addPass(createPageKvCache(options));
}

void azc::buildOptimizationPipeline(mlir::OpPassManager &pm,
                                    const ShapeProfile &profile) {
  mlir::OpPassManager &func = pm.nest<mlir::func::FuncOp>();
  ResolveShapesOptions shapes;
  shapes.dims = profile.dims;
  shapes.inputShapes = profile.inputShapes;
  shapes.maxBatchSize = profile.maxBatchSize;
  func.addPass(createResolveShapes(shapes));
  func.addPass(createFoldShapes());
  func.addPass(createKeepQuantizedWeights());
  func.addPass(createWidenHalfCompute());
  func.addPass(createFuseElementwise());
  func.addPass(createFuseEpilogues());
  func.addPass(createPackWeights());
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

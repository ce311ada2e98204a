//===- Driver.cpp - import, optimize and build ----------------------------===//

#include "compiler/Driver.h"

#include "compiler/EngineWriter.h"
#include "compiler/Plan.h"
#include "frontends/onnx/OnnxImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Path.h"

using namespace azc;

mlir::OwningOpRef<mlir::ModuleOp> azc::importModel(mlir::MLIRContext &context,
                                                   const std::string &path,
                                                   std::string &error) {
  return onnx_frontend::importOnnxFile(context, path, {}, error);
}

bool azc::optimize(mlir::ModuleOp module, const ShapeProfile &profile,
                   std::string &error) {
  mlir::MLIRContext *context = module.getContext();
  std::string first;
  mlir::ScopedDiagnosticHandler handler(context, [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error && first.empty())
      first = d.str();
    return mlir::success();
  });
  mlir::PassManager pm(context);
  buildOptimizationPipeline(pm, profile);
  if (mlir::succeeded(pm.run(module)))
    return true;
  error = first.empty() ? "optimization failed" : first;
  return false;
}

bool azc::buildEngine(const BuildOptions &options, BuildReport &report,
                      std::string &error) {
  if (options.target != "cpu") {
    error = "target '" + options.target +
            "' is not supported yet; this azc builds 'cpu' engines";
    return false;
  }
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      importModel(context, options.model, error);
  if (!module)
    return false;
  if (!optimize(*module, options.profile, error)) {
    error = options.model + ": " + error;
    return false;
  }
  plan::Plan plan;
  if (!plan::lowerToPlan(*module, plan, error)) {
    error = options.model + ": " + error;
    return false;
  }
  plan::planMemory(plan);

  EngineInfo info;
  info.producer = "azc " AZC_VERSION_STRING;
  info.sourceModel = llvm::sys::path::filename(options.model).str();
  info.target = options.target;
  info.cpuFeatures = options.cpuFeatures;
  auto &flags = info.buildOptions;
  flags.push_back({"target", options.target});
  flags.push_back(
      {"max_batch_size", std::to_string(options.profile.maxBatchSize)});
  flags.push_back(
      {"input_shape", llvm::join(options.profile.inputShapes, ";")});
  flags.push_back({"dims", llvm::join(options.profile.dims, ";")});
  flags.push_back({"cpu_features", llvm::join(options.cpuFeatures, ",")});
  flags.push_back({"quantization", "none"});
  flags.push_back({"pipeline", "resolve-shapes,fold-shapes,fuse-elementwise,"
                               "fuse-epilogues,cse,canonicalize"});
  if (!writeEngine(plan, info, options.output, error))
    return false;
  report.steps = plan.steps.size();
  report.arenaSize = plan.arenaSize;
  report.intermediateBytes = plan.intermediateBytes;
  report.constantsSize = plan.constantsSize;
  return true;
}

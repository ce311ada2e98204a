//===- azc-opt.cpp - run azc passes on azg IR -----------------------------===//
//
// The lit driver: parses azg IR, runs the passes named on the command line,
// prints the result. Knows the azg and func dialects and every azc pass.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<azc::azg::AzgDialect, mlir::func::FuncDialect>();
  azc::registerAllPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "azc optimizer driver\n", registry));
}

//===- azc.cpp - the azc compiler driver ----------------------------------===//
//
//   azc import MODEL.onnx [-o OUT.mlir] [--optimize] [--dims NAME=N ...]
//                         [--input-shape NAME:D0xD1... ...] [--print-weights]
//
// Imports a model into azg IR and prints it, followed by a parameter and
// FLOP summary as comments (so the output still parses). With --optimize the
// IR is the result of azc's optimization pipeline for the given shapes.
// Errors: one message on stderr, exit status 1; usage errors exit 2.
//
//===----------------------------------------------------------------------===//

#include "compiler/ModelSummary.h"
#include "frontends/onnx/OnnxImporter.h"
#include "passes/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <CLI/CLI.hpp>

namespace {

struct ImportCommand {
  std::string model;
  std::string output = "-";
  bool optimize = false;
  bool printWeights = false;
  std::vector<std::string> dims;
  std::vector<std::string> inputShapes;
};

int fail(const std::string &message) {
  llvm::errs() << "azc: " << message << "\n";
  return 1;
}

int runImport(const ImportCommand &command) {
  mlir::MLIRContext context;
  std::string error;
  azc::onnx_frontend::ImportOptions options;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      azc::onnx_frontend::importOnnxFile(context, command.model, options, error);
  if (!module)
    return fail(error);

  if (command.optimize || !command.dims.empty() ||
      !command.inputShapes.empty()) {
    std::string diagnostics;
    mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
      if (d.getSeverity() == mlir::DiagnosticSeverity::Error && diagnostics.empty())
        diagnostics = d.str();
      return mlir::success();
    });
    mlir::PassManager pm(&context);
    azc::ShapeProfile profile{command.dims, command.inputShapes};
    azc::buildOptimizationPipeline(pm, profile);
    if (mlir::failed(pm.run(*module)))
      return fail(command.model + ": " +
                  (diagnostics.empty() ? "optimization failed" : diagnostics));
  }

  // Write to a temporary file and rename it, so a failure never leaves a
  // partial output behind.
  std::error_code ec;
  auto out = std::make_unique<llvm::ToolOutputFile>(command.output, ec,
                                                    llvm::sys::fs::OF_None);
  if (ec)
    return fail("cannot write '" + command.output + "': " + ec.message());
  mlir::OpPrintingFlags flags;
  if (!command.printWeights)
    flags.elideLargeElementsAttrs(16).elideLargeResourceString(64);
  module->print(out->os(), flags);
  out->os() << "\n";
  std::string summaryText;
  llvm::raw_string_ostream summaryStream(summaryText);
  azc::printSummary(azc::summarize(*module), summaryStream);
  llvm::StringRef rest(summaryText);
  while (!rest.empty()) {
    auto [line, tail] = rest.split('\n');
    out->os() << "// " << line << "\n";
    rest = tail;
  }
  out->keep();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"azc: an ahead-of-time model compiler"};
  app.require_subcommand(1);
  ImportCommand import;
  CLI::App *importApp =
      app.add_subcommand("import", "import a model and print its azg IR");
  importApp->add_option("model", import.model, "ONNX model file")->required();
  importApp->add_option("-o,--output", import.output, "output file (- for stdout)");
  importApp->add_flag("--optimize", import.optimize,
                      "run the optimization pipeline before printing");
  importApp->add_option("--dims", import.dims,
                        "symbolic dim sizes, NAME=SIZE (repeatable)");
  importApp->add_option("--input-shape", import.inputShapes,
                        "input shapes, NAME:D0xD1x... (repeatable)");
  importApp->add_flag("--print-weights", import.printWeights,
                      "print weight data instead of eliding it");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (importApp->parsed())
    return runImport(import);
  return 2;
}

//===- EngineWriter.h - serialize a plan into an engine file ----*- C++ -*-===//

#ifndef AZC_COMPILER_ENGINEWRITER_H
#define AZC_COMPILER_ENGINEWRITER_H

#include "compiler/Plan.h"

#include <string>
#include <utility>
#include <vector>

namespace azc {

struct EngineInfo {
  std::string producer;    ///< "azc 0.1.0"
  std::string sourceModel; ///< file name of the model
  std::string target = "cpu";
  std::vector<std::string> cpuFeatures;
  std::vector<std::pair<std::string, std::string>> buildOptions;
  /// Files carried for the engine's users (name, bytes): tokenizer.json.
  std::vector<std::pair<std::string, std::string>> attachments;
};

/// Writes `plan` to `path` (format: runtime/include/azr/engine_format.h).
/// The file appears only complete: it is written to a temporary file in the
/// same folder and renamed. The same plan and info give identical bytes.
bool writeEngine(const plan::Plan &plan, const EngineInfo &info,
                 const std::string &path, std::string &error);

} // namespace azc

#endif // AZC_COMPILER_ENGINEWRITER_H

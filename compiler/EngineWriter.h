//===- EngineWriter.h - serialize a plan into an engine file ----*- C++ -*-===//

#ifndef AZC_COMPILER_ENGINEWRITER_H
#define AZC_COMPILER_ENGINEWRITER_H

#include "compiler/Plan.h"

#include <string>
#include <utility>
#include <vector>

namespace azc {

/// The paged KV cache's layout (layers == 0: the engine has none).
struct KvCacheLayout {
  int64_t layers = 0, kvHeads = 0, headDim = 0, tokensPerBlock = 0;
  int64_t maxBlocksPerSequence = 0, defaultBlocks = 0;
  std::string dtype = "f32"; ///< f32, fp16, bf16, int8, fp8
};

struct EngineInfo {
  std::string producer;    ///< "azc 0.1.0"
  std::string sourceModel; ///< file name of the model
  std::string target = "cpu";
  std::vector<std::string> cpuFeatures;
  std::vector<std::pair<std::string, std::string>> buildOptions;
  /// Files carried for the engine's users (name, bytes): tokenizer.json.
  std::vector<std::pair<std::string, std::string>> attachments;
  KvCacheLayout kvCache;
  int64_t maxNumTokens = 0; ///< tokens one run takes at most (0: any)
};

/// Writes `plan` to `path` (format: runtime/include/azr/engine_format.h).
/// The file appears only complete: it is written to a temporary file in the
/// same folder and renamed. The same plan and info give identical bytes.
bool writeEngine(const plan::Plan &plan, const EngineInfo &info,
                 const std::string &path, std::string &error);

} // namespace azc

#endif // AZC_COMPILER_ENGINEWRITER_H

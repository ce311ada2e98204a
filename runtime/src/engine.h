//===- engine.h - a loaded, verified engine --------------------*- C++ -*-===//

#ifndef AZR_ENGINE_H
#define AZR_ENGINE_H

#include "azr/azr.h"
#include "cpu/kernels.h"
#include "runtime/schema/engine_generated.h"

#include <string>
#include <vector>

struct azr_engine_s {
  std::string path;
  void *mapping = nullptr;
  size_t mappingSize = 0;
  const azr::schema::Engine *meta = nullptr;
  const uint8_t *constants = nullptr;
  std::vector<azr_tensor_info_t> inputs, outputs;
  std::vector<azr::cpu::KernelFn> kernels; ///< one per step
};

namespace azr {

/// Bytes of one element of an engine dtype; 0 if the value is unknown.
size_t schemaDTypeSize(int dtype);

/// "[1,3,224,224]"
std::string formatShape(const int64_t *dims, size_t rank);

} // namespace azr

#endif // AZR_ENGINE_H

//===- engine.h - a loaded, verified engine --------------------*- C++ -*-===//

#ifndef AZR_ENGINE_H
#define AZR_ENGINE_H

#include "azr/azr.h"
#include "cpu/kernels.h"
#include "kv_cache.h"
#include "runtime/schema/engine_generated.h"

#include <string>
#include <vector>

struct azr_engine_s {
  std::string path;
  void *mapping = nullptr;
  size_t mappingSize = 0;
  const azr::schema::Engine *meta = nullptr;
  const uint8_t *constants = nullptr;
  std::vector<azr_tensor_info_t> inputs, outputs; ///< varying dims are -1
  std::vector<azr::cpu::KernelFn> kernels;        ///< one per step
  /// The verified KvCacheLayout (azc build --paged_kv_cache), if any.
  bool hasKvCache = false;
  azr::KvLayout kvLayout;
  /// azc build --max_num_tokens (0: none), and input_ids' index (or -1).
  int64_t maxNumTokens = 0;
  int tokenInput = -1;

  /// Dynamic engines: the symbols (dims that vary at run time), each with
  /// the input dim it is read from, and every input dim's accepted range.
  struct DimRange {
    int64_t min = 0, max = 0;
    int symbol = -1;
    const char *name = nullptr;
  };
  size_t symbolCount = 0;

  /// Per output: the dim whose size the data decides and the i64 scalar
  /// value a step writes it into, or -1 and -1 (engine.fbs,
  /// TensorSignature.data_dependent_dim).
  struct OutputExtent {
    int dim = -1;
    int value = -1;
  };
  std::vector<OutputExtent> outputExtents;

  std::vector<std::pair<size_t, size_t>> symbolSources; ///< (input, dim)
  std::vector<std::vector<DimRange>> inputRanges;
};

namespace azr {

/// At most this many symbols: polynomials have 2^k coefficients.
constexpr size_t kMaxSymbols = 6;

/// `coefficients` (2^k of them) dotted with `monomials`, the products of
/// the symbols' values; false on overflow.
bool evaluatePolynomial(const int64_t *coefficients, size_t count,
                        const int64_t *monomials, int64_t &value);

/// Bytes of one element of an engine dtype; 0 if the value is unknown.
size_t schemaDTypeSize(int dtype);

/// "[1,3,224,224]"
std::string formatShape(const int64_t *dims, size_t rank);

} // namespace azr

#endif // AZR_ENGINE_H

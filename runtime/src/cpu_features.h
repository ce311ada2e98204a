//===- cpu_features.h - what this CPU can run ------------------*- C++ -*-===//

#ifndef AZR_CPU_FEATURES_H
#define AZR_CPU_FEATURES_H

#include <string>
#include <string_view>
#include <vector>

namespace azr {

/// Whether `name` is a feature this runtime can check ("avx2", "avx512f",
/// "amx_int8", ...).
bool isKnownCpuFeature(std::string_view name);

/// Whether this CPU (and OS) supports `name`. The environment variable
/// AZR_CPU_DISABLE (comma-separated names) makes features count as absent,
/// to test refusals and force narrower kernel paths.
bool hasCpuFeature(std::string_view name);

/// Every known feature this CPU has, for `azc inspect` and --verbose.
std::vector<std::string> detectedCpuFeatures();

} // namespace azr

#endif // AZR_CPU_FEATURES_H

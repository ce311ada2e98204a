//===- registry.cc - kernel lookup, dtypes and MapAttrs -------------------===//

#include "cpu/kernel_util.h"

#include <algorithm>
#include <cstdio>

namespace azr::cpu {

void KernelContext::notePath(const char *isa, const char *how) const {
  if (describePath)
    std::snprintf(path, sizeof path, "%s %s", isa, how);
}

size_t dtypeSize(DType type) {
  switch (type) {
  case DType::f32:
  case DType::i32:
  case DType::u32:
    return 4;
  case DType::f16:
  case DType::bf16:
  case DType::i16:
  case DType::u16:
    return 2;
  case DType::f64:
  case DType::i64:
  case DType::u64:
    return 8;
  case DType::i1:
  case DType::i8:
  case DType::u8:
  case DType::f8e4m3fn:
  case DType::f8e4m3fnuz:
  case DType::f8e5m2:
  case DType::f8e5m2fnuz:
  case DType::i4:
  case DType::u4:
  case DType::i2:
  case DType::u2:
  case DType::f4e2m1fn:
  case DType::f8e8m0fnu:
    return 1;
  }
  return 0;
}

const char *dtypeName(DType type) {
  switch (type) {
  case DType::f32:
    return "f32";
  case DType::f16:
    return "f16";
  case DType::bf16:
    return "bf16";
  case DType::f64:
    return "f64";
  case DType::i1:
    return "i1";
  case DType::i8:
    return "i8";
  case DType::i16:
    return "i16";
  case DType::i32:
    return "i32";
  case DType::i64:
    return "i64";
  case DType::u8:
    return "u8";
  case DType::u16:
    return "u16";
  case DType::u32:
    return "u32";
  case DType::u64:
    return "u64";
  case DType::f8e4m3fn:
    return "f8e4m3fn";
  case DType::f8e4m3fnuz:
    return "f8e4m3fnuz";
  case DType::f8e5m2:
    return "f8e5m2";
  case DType::f8e5m2fnuz:
    return "f8e5m2fnuz";
  case DType::i4:
    return "i4";
  case DType::u4:
    return "u4";
  case DType::i2:
    return "i2";
  case DType::u2:
    return "u2";
  case DType::f4e2m1fn:
    return "f4e2m1fn";
  case DType::f8e8m0fnu:
    return "f8e8m0fnu";
  }
  return "<invalid dtype>";
}

size_t kvDtypeSize(KvDType type) {
  switch (type) {
  case KvDType::f32:
    return 4;
  case KvDType::f16:
  case KvDType::bf16:
    return 2;
  case KvDType::i8:
  case KvDType::fp8_e4m3:
    return 1;
  }
  return 0;
}

const char *kvDtypeName(KvDType type) {
  switch (type) {
  case KvDType::f32:
    return "f32";
  case KvDType::f16:
    return "f16";
  case KvDType::bf16:
    return "bf16";
  case KvDType::i8:
    return "i8";
  case KvDType::fp8_e4m3:
    return "fp8_e4m3";
  }
  return "<invalid kv dtype>";
}

bool MapAttrs::has(std::string_view name) const {
  return ints.count(name) || floats.count(name) || intLists.count(name) ||
         strings.count(name);
}

int64_t MapAttrs::getInt(std::string_view name, int64_t otherwise) const {
  auto it = ints.find(name);
  return it == ints.end() ? otherwise : it->second;
}

double MapAttrs::getFloat(std::string_view name, double otherwise) const {
  auto it = floats.find(name);
  return it == floats.end() ? otherwise : it->second;
}

std::vector<int64_t> MapAttrs::getInts(std::string_view name) const {
  auto it = intLists.find(name);
  return it == intLists.end() ? std::vector<int64_t>() : it->second;
}

std::string MapAttrs::getString(std::string_view name,
                                std::string_view otherwise) const {
  auto it = strings.find(name);
  return std::string(it == strings.end() ? otherwise
                                         : std::string_view(it->second));
}

namespace {

// Sorted by name, built once (function-local statics are thread-safe).
const KernelTable &table() {
  static const KernelTable sorted = [] {
    KernelTable entries;
    addGemmKernels(entries);
    addConvPoolKernels(entries);
    addElementwiseKernels(entries);
    addReduceNormKernels(entries);
    addDataMovementKernels(entries);
    addCastKernels(entries);
    addElementwiseMathKernels(entries);
    addReduceMathKernels(entries);
    addIndexKernels(entries);
    addRotaryKernels(entries);
    addMatMulNBitsKernels(entries);
    addMatMulHalfKernels(entries);
    addMatMulNBitsPackedKernels(entries);
    addScatterGatherKernels(entries);
    addGridSampleKernels(entries);
    addIntegerKernels(entries);
    addResizeKernels(entries);
    addAttentionKernels(entries);
    addLinearAttentionKernels(entries);
    addTfIdfVectorizerKernels(entries);
    addDeformConvKernels(entries);
    addTreeEnsembleKernels(entries);
    addSelectionKernels(entries);
    addNonMaxSuppressionKernels(entries);
    std::sort(entries.begin(), entries.end(),
              [](const KernelEntry &a, const KernelEntry &b) {
                return std::string_view(a.name) < std::string_view(b.name);
              });
    return entries;
  }();
  return sorted;
}

} // namespace

KernelFn findKernel(std::string_view opName) {
  const KernelTable &entries = table();
  auto it = std::lower_bound(entries.begin(), entries.end(), opName,
                             [](const KernelEntry &e, std::string_view name) {
                               return std::string_view(e.name) < name;
                             });
  if (it == entries.end() || std::string_view(it->name) != opName)
    return nullptr;
  return it->fn;
}

std::vector<std::string> kernelNames() {
  std::vector<std::string> names;
  for (const KernelEntry &entry : table())
    names.emplace_back(entry.name);
  return names;
}

} // namespace azr::cpu

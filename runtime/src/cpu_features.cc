//===- cpu_features.cc - cpuid-based feature detection --------------------===//
//
// Engines list the CPU features their code needs; the loader refuses an
// engine whose features this machine lacks instead of dying on an illegal
// instruction. Detection uses cpuid plus XGETBV, since the OS must also save
// the wider registers for AVX and AVX-512 to be usable.
//
//===----------------------------------------------------------------------===//

#include "cpu_features.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace {

struct Feature {
  const char *name;
  unsigned leaf, subleaf;
  int reg; // 0 eax, 1 ebx, 2 ecx, 3 edx
  int bit;
  int xsave; // 0: none, 1: AVX state, 2: AVX-512 state, 3: AMX tile state
};

const Feature kFeatures[] = {
    {"sse4.2", 1, 0, 2, 20, 0},      {"avx", 1, 0, 2, 28, 1},
    {"fma", 1, 0, 2, 12, 1},         {"f16c", 1, 0, 2, 29, 1},
    {"avx2", 7, 0, 1, 5, 1},         {"avx512f", 7, 0, 1, 16, 2},
    {"avx512bw", 7, 0, 1, 30, 2},    {"avx512vl", 7, 0, 1, 31, 2},
    {"avx512_vnni", 7, 0, 2, 11, 2}, {"avx512_fp16", 7, 0, 3, 23, 2},
    {"avx512_bf16", 7, 1, 0, 5, 2},  {"avx_vnni", 7, 1, 0, 4, 1},
    {"amx_bf16", 7, 0, 3, 22, 3},    {"amx_tile", 7, 0, 3, 24, 3},
    {"amx_int8", 7, 0, 3, 25, 3},
};

bool disabledByEnvironment(std::string_view name) {
  const char *list = std::getenv("AZR_CPU_DISABLE");
  if (!list)
    return false;
  std::string_view rest(list);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    if (rest.substr(0, comma) == name)
      return true;
    if (comma == std::string_view::npos)
      break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

#if defined(__x86_64__) || defined(__i386__)
bool osSaves(int state) {
  if (state == 0)
    return true;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) // OSXSAVE
    return false;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  uint64_t xcr0 = (uint64_t(hi) << 32) | lo;
  uint64_t need = 0x6; // SSE + AVX
  if (state >= 2)
    need |= 0xE0; // opmask, ZMM_Hi256, Hi16_ZMM
  if (state == 3)
    need = 0x6 | (uint64_t(3) << 17); // XTILECFG, XTILEDATA
  return (xcr0 & need) == need;
}

bool cpuHas(const Feature &f) {
  unsigned regs[4] = {};
  if (!__get_cpuid_count(f.leaf, f.subleaf, &regs[0], &regs[1], &regs[2],
                         &regs[3]))
    return false;
  return (regs[f.reg] >> f.bit) & 1u && osSaves(f.xsave);
}
#else
bool cpuHas(const Feature &) { return false; }
#endif

const Feature *find(std::string_view name) {
  for (const Feature &f : kFeatures)
    if (name == f.name)
      return &f;
  return nullptr;
}

} // namespace

bool azr::isKnownCpuFeature(std::string_view name) {
  return find(name) != nullptr;
}

bool azr::hasCpuFeature(std::string_view name) {
  const Feature *f = find(name);
  return f && cpuHas(*f) && !disabledByEnvironment(name);
}

std::vector<std::string> azr::detectedCpuFeatures() {
  std::vector<std::string> names;
  for (const Feature &f : kFeatures)
    if (hasCpuFeature(f.name))
      names.push_back(f.name);
  return names;
}

//===- isa_target.h - compile a region of a file for one ISA ---*- C++ -*-===//
//
// Kernels for AVX2 or AVX-512 must not be built with file-wide -m flags:
// inline functions and templates shared with portable files (std::fill,
// std::vector<float>::resize, ...) are emitted once per object and the
// linker keeps any one copy, so the portable path could end up running an
// AVX-512 copy on a CPU without it. Instead each ISA file includes its
// standard and shared headers first, then opens a target region: only
// functions defined inside it are compiled for the ISA.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_ISA_TARGET_H
#define AZR_CPU_ISA_TARGET_H

// clang-format off
#if defined(__clang__)
#define AZR_TARGET_AVX2_BEGIN _Pragma("clang attribute push(__attribute__((target(\"avx2,fma,f16c\"))), apply_to = function)")
#define AZR_TARGET_AVX512_BEGIN _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx2,fma,f16c\"))), apply_to = function)")
#define AZR_TARGET_VNNI_BEGIN _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c\"))), apply_to = function)")
#define AZR_TARGET_END _Pragma("clang attribute pop")
#else
#define AZR_TARGET_AVX2_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma,f16c\")")
#define AZR_TARGET_AVX512_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx2,fma,f16c\")")
#define AZR_TARGET_VNNI_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c\")")
#define AZR_TARGET_END _Pragma("GCC pop_options")
#endif
// clang-format on

#endif // AZR_CPU_ISA_TARGET_H

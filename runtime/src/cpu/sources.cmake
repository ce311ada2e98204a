set(AZR_CPU_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/registry.cc
  ${CMAKE_CURRENT_LIST_DIR}/kernel_util.cc
  ${CMAKE_CURRENT_LIST_DIR}/thread_pool.cc
  ${CMAKE_CURRENT_LIST_DIR}/gemm.cc
  ${CMAKE_CURRENT_LIST_DIR}/matmul_nbits.cc
  ${CMAKE_CURRENT_LIST_DIR}/matmul_nbits_packed.cc
  ${CMAKE_CURRENT_LIST_DIR}/matmul_half.cc
  ${CMAKE_CURRENT_LIST_DIR}/weight_streaming.cc
  ${CMAKE_CURRENT_LIST_DIR}/conv_pool.cc
  ${CMAKE_CURRENT_LIST_DIR}/elementwise.cc
  ${CMAKE_CURRENT_LIST_DIR}/reduce_norm.cc
  ${CMAKE_CURRENT_LIST_DIR}/data_movement.cc
  ${CMAKE_CURRENT_LIST_DIR}/cast.cc
  ${CMAKE_CURRENT_LIST_DIR}/elementwise_math.cc
  ${CMAKE_CURRENT_LIST_DIR}/reduce_math.cc
  ${CMAKE_CURRENT_LIST_DIR}/index_ops.cc
  ${CMAKE_CURRENT_LIST_DIR}/rotary.cc
  ${CMAKE_CURRENT_LIST_DIR}/scatter_gather.cc
  ${CMAKE_CURRENT_LIST_DIR}/grid_sample.cc
  ${CMAKE_CURRENT_LIST_DIR}/integer_ops.cc
  ${CMAKE_CURRENT_LIST_DIR}/resize.cc
  ${CMAKE_CURRENT_LIST_DIR}/attention.cc
  ${CMAKE_CURRENT_LIST_DIR}/linear_attention.cc
  ${CMAKE_CURRENT_LIST_DIR}/tfidf_vectorizer.cc
  ${CMAKE_CURRENT_LIST_DIR}/deform_conv.cc
  ${CMAKE_CURRENT_LIST_DIR}/tree_ensemble.cc
  ${CMAKE_CURRENT_LIST_DIR}/selection.cc
  ${CMAKE_CURRENT_LIST_DIR}/non_max_suppression.cc
)
# Each ISA's kernels are compiled for it inside a target region (see
# isa_target.h) and only called when cpuid reports the ISA; everything else,
# including every header they share with portable files, stays portable.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  list(APPEND AZR_CPU_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/gemm_avx2.cc
    ${CMAKE_CURRENT_LIST_DIR}/gemm_avx512.cc
    ${CMAKE_CURRENT_LIST_DIR}/matmul_half_avx2.cc
    ${CMAKE_CURRENT_LIST_DIR}/matmul_half_avx512.cc
    ${CMAKE_CURRENT_LIST_DIR}/matmul_nbits_avx2.cc
    ${CMAKE_CURRENT_LIST_DIR}/matmul_nbits_avx512.cc
    ${CMAKE_CURRENT_LIST_DIR}/matmul_nbits_vnni.cc
    ${CMAKE_CURRENT_LIST_DIR}/matmul_nbits_panels_vnni.cc
    ${CMAKE_CURRENT_LIST_DIR}/vector_math_avx2.cc
    ${CMAKE_CURRENT_LIST_DIR}/vector_math_avx512.cc)
endif()

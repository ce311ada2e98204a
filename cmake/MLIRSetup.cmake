# Finds LLVM/MLIR 19, protobuf and ONNX, and sets up tablegen. Every compiler
# target links the MLIR and LLVM shared libraries (targets MLIR and LLVM):
# linking them takes about a second, where the static archives take far more.

# CMP0116 NEW doubles the depfile paths of tablegen outputs and makes every
# build regenerate every .inc file.
cmake_policy(SET CMP0116 OLD)

# The version file wants 19.1: "19" alone is rejected.
find_package(MLIR 19.1 REQUIRED CONFIG
  HINTS /usr/lib/llvm-19/lib/cmake/mlir)
message(STATUS "Using MLIR ${LLVM_PACKAGE_VERSION} from ${MLIR_DIR}")

list(APPEND CMAKE_MODULE_PATH "${MLIR_CMAKE_DIR}" "${LLVM_CMAKE_DIR}")
set(LLVM_TABLEGEN_EXE ${LLVM_TOOLS_BINARY_DIR}/llvm-tblgen)
include(TableGen)
include(AddLLVM)
include(AddMLIR)

include_directories(SYSTEM ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
include_directories(${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
add_definitions(${LLVM_DEFINITIONS})

# Debian's LLVM is built with RTTI; our plain targets keep the default.
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED CONFIG)

set(AZC_MLIR_LIBS MLIR LLVM)

//===- Plan.h - the explicit execution plan of an engine --------*- C++ -*-===//
//
// A plan is what an engine file holds, in memory: values with their storage
// (arena offset, constant, input or output buffer), and one step per kernel
// launch. Plan lowering builds it from azg IR, memory planning assigns arena
// offsets, and the engine writer serializes it.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_COMPILER_PLAN_H
#define AZC_COMPILER_PLAN_H

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace azc::plan {

/// The engine schema's element types (runtime/schema/engine.fbs).
enum class DType : uint8_t {
  f32 = 0,
  f16,
  bf16,
  f64,
  i1,
  i8,
  i16,
  i32,
  i64,
  u8,
  u16,
  u32,
  u64,
  f8e4m3fn,
  f8e4m3fnuz,
  f8e5m2,
  f8e5m2fnuz,
  i4,
  u4,
  i2,
  u2,
  f4e2m1fn,
  f8e8m0fnu
};
size_t dtypeSize(DType type);
const char *dtypeName(DType type);
/// The engine dtype of an MLIR element type, if it has one.
std::optional<DType> dtypeOf(mlir::Type type);

enum class Storage : uint8_t { Arena = 0, Constant = 1, Input = 2, Output = 3 };

/// A dim that varies at run time, with the range the build profile gives.
struct Symbol {
  std::string name;
  int64_t min = 0, opt = 0, max = 0;
  /// Build time only: the grid samples the symbol at gridLow and gridLow + 1
  /// (see PlanFitting.h).
  int64_t gridLow = 0;
};

/// A size as a multilinear polynomial in a plan's k symbols: 2^k integer
/// coefficients, entry m multiplying the product of the symbols whose bit is
/// set in m. Entry 0 is the constant term; a static size has only that.
using Polynomial = std::vector<int64_t>;

/// The polynomial's value at `symbols` (one value per symbol).
int64_t evaluate(const Polynomial &polynomial,
                 const std::vector<int64_t> &symbols);

/// "2*batch*sequence + 3", "sequence", "7".
std::string formatPolynomial(const Polynomial &polynomial,
                             const std::vector<Symbol> &symbols);

struct Value {
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  Storage storage = Storage::Arena;
  uint64_t offset = 0; ///< Arena and Constant storage
  uint64_t size = 0;   ///< bytes
  uint32_t index = 0;  ///< Input and Output storage
  std::string name;
  int aliasOf = -1;            ///< a view (reshape) of another value's bytes
  mlir::ElementsAttr constant; ///< Constant storage: the data
  /// Dynamic plans: the dims as polynomials; empty when the shape is static.
  /// `shape` and `size` are then the sizes at every symbol's max.
  std::vector<Polynomial> dimPolynomials;
  /// Dynamic plans: an integer tensor whose elements depend on the symbols
  /// (a reshape target, a slice bound), computed by the session before each
  /// run into Arena storage. Empty for every other value.
  std::vector<Polynomial> elementPolynomials;
};

struct Attribute {
  enum Kind : uint8_t { Int = 0, Float = 1, Ints = 2, String = 3 } kind;
  std::string name;
  int64_t intValue = 0;
  double floatValue = 0;
  std::vector<int64_t> ints;
  std::string stringValue;
  /// Dynamic plans: intValue (one) or ints (one each) as polynomials of the
  /// symbols, when they depend on them; else empty.
  std::vector<Polynomial> intPolynomials;
};

struct Step {
  std::string op;       ///< kernel name: the azg op mnemonic
  std::string location; ///< source node
  std::vector<int> inputs, outputs;
  std::vector<Attribute> attributes;
  int64_t flops = 0;
};

struct Signature {
  std::string name;
  DType dtype;
  std::vector<int64_t> dims;
  std::vector<std::string> dimNames;
  int value;
  /// Per dim: the Plan::symbols index the dim defines, or -1.
  std::vector<int> dimSymbols = {};
  /// Per dim: the smallest and largest sizes accepted (dims when static).
  std::vector<int64_t> dimMin = {}, dimMax = {};
  /// An input fixed at build (--input-value): the bytes it must hold.
  std::string fixedValue = {};
  /// An output whose size depends on the input values: the dim the data
  /// decides (its size in `dims` is the upper bound) and the i64 scalar
  /// value its producing step writes that dim's size into; -1 otherwise.
  int extentDim = -1;
  int extentValue = -1;
};

struct Plan {
  std::vector<Symbol> symbols; ///< empty for a static plan
  std::vector<Value> values;
  std::vector<Step> steps;
  std::vector<Signature> inputs, outputs;
  uint64_t arenaSize = 0;
  uint64_t intermediateBytes = 0; ///< sum of all arena tensors
  uint64_t constantsSize = 0;
  uint64_t parameterCount = 0;
};

/// Lowers `func.func @main` of `module` (after the optimization pipeline:
/// every shape static) to a plan with constants laid out. On failure returns
/// false with `error` naming the value or op.
bool lowerToPlan(mlir::ModuleOp module, Plan &plan, std::string &error);

/// Assigns arena offsets by liveness: tensors whose lifetimes do not overlap
/// share memory. Sets arenaSize and intermediateBytes, and gives every view
/// its root's final storage and offset.
void planMemory(Plan &plan);

/// The bytes of a constant value as the engine stores them: the resource
/// blob itself when the data is one (no copy), else converted into
/// `scratch`.
llvm::ArrayRef<char> constantBytes(const Value &value,
                                   std::vector<char> &scratch);

} // namespace azc::plan

#endif // AZC_COMPILER_PLAN_H

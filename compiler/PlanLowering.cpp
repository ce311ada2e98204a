//===- PlanLowering.cpp - azg IR to an explicit plan ----------------------===//
//
// Every op becomes one kernel launch, except the reshape family (reshape,
// squeeze, unsqueeze): on row-major buffers they change no byte, so their
// results are views of their operands' storage. Constants become values
// only when a step reads them, which drops the shape operands that views
// leave behind. Graph outputs are written by their producing step straight
// into the output buffer; an output that is a view, an input or a constant
// gets a copy step.
//
//===----------------------------------------------------------------------===//

#include "compiler/ModelSummary.h"
#include "compiler/Plan.h"

#include "azr/azr.h"
#include "dialects/azg/AzgDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace azc;
using plan::DType;
using plan::Plan;
using plan::Signature;
using plan::Step;
using plan::Storage;
using PValue = plan::Value;
using PAttribute = plan::Attribute;

size_t azc::plan::dtypeSize(DType type) {
  // The engine's dtypes are the runtime's: one table, libazr's.
  return azr_dtype_size(azr_dtype_t(type));
}

const char *azc::plan::dtypeName(DType type) {
  return azr_dtype_name(azr_dtype_t(type));
}

std::optional<DType> azc::plan::dtypeOf(Type type) {
  if (type.isF32())
    return DType::f32;
  if (type.isF16())
    return DType::f16;
  if (type.isBF16())
    return DType::bf16;
  if (type.isF64())
    return DType::f64;
  if (type.isFloat8E4M3FN())
    return DType::f8e4m3fn;
  if (type.isFloat8E4M3FNUZ())
    return DType::f8e4m3fnuz;
  if (type.isFloat8E5M2())
    return DType::f8e5m2;
  if (type.isFloat8E5M2FNUZ())
    return DType::f8e5m2fnuz;
  if (isa<azg::Float4E2M1FNType>(type))
    return DType::f4e2m1fn;
  if (isa<azg::Float8E8M0FNUType>(type))
    return DType::f8e8m0fnu;
  if (auto i = dyn_cast<IntegerType>(type)) {
    bool isUnsigned = i.isUnsigned();
    switch (i.getWidth()) {
    case 1:
      return DType::i1;
    case 2:
      return isUnsigned ? DType::u2 : DType::i2;
    case 4:
      return isUnsigned ? DType::u4 : DType::i4;
    case 8:
      return isUnsigned ? DType::u8 : DType::i8;
    case 16:
      return isUnsigned ? DType::u16 : DType::i16;
    case 32:
      return isUnsigned ? DType::u32 : DType::i32;
    case 64:
      return isUnsigned ? DType::u64 : DType::i64;
    }
  }
  return std::nullopt;
}

ArrayRef<char> azc::plan::constantBytes(const PValue &value,
                                        std::vector<char> &scratch) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value.constant))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
  auto dense = cast<DenseElementsAttr>(value.constant);
  scratch.clear();
  if (dense.getElementType().isInteger(1)) {
    for (bool b : dense.getValues<bool>())
      scratch.push_back(b ? 1 : 0);
    return scratch;
  }
  // 2- and 4-bit integers: one byte an element, sign-extended when signed
  // (the attribute's storage byte holds only the low bits).
  if (auto narrow = dyn_cast<IntegerType>(dense.getElementType());
      narrow && narrow.getWidth() < 8) {
    for (const APInt &v : dense.getValues<APInt>())
      scratch.push_back(
          char(narrow.isUnsigned() ? v.getZExtValue() : v.getSExtValue()));
    return scratch;
  }
  ArrayRef<char> raw = dense.getRawData();
  if (!dense.isSplat())
    return raw;
  // A splat stores one element: expand it.
  for (int64_t i = 0; i < dense.getNumElements(); ++i)
    scratch.insert(scratch.end(), raw.begin(), raw.end());
  return scratch;
}

namespace {

class Lowering {
public:
  Lowering(Plan &plan, std::string &error) : plan(plan), error(error) {}

  bool run(func::FuncOp func);

private:
  bool fail(Operation *op, const Twine &message) {
    std::string location;
    llvm::raw_string_ostream os(location);
    op->getLoc().print(os);
    error = os.str() + ": " + op->getName().getStringRef().str() + ": " +
            message.str();
    return false;
  }

  /// A new value of `type` (which must be static) with `storage`.
  std::optional<int> newValue(mlir::Value source, Storage storage,
                              std::string name) {
    auto type = dyn_cast<RankedTensorType>(source.getType());
    if (!type || !type.hasStaticShape())
      return std::nullopt;
    std::optional<DType> dtype = plan::dtypeOf(type.getElementType());
    if (!dtype)
      return std::nullopt;
    PValue value;
    value.dtype = *dtype;
    value.shape.assign(type.getShape().begin(), type.getShape().end());
    value.storage = storage;
    value.size = type.getNumElements() * dtypeSize(*dtype);
    value.name = std::move(name);
    plan.values.push_back(std::move(value));
    return int(plan.values.size() - 1);
  }

  /// The plan value of `value`, materializing constants on first use.
  std::optional<int> valueOf(mlir::Value value) {
    auto it = ids.find(value);
    if (it != ids.end())
      return it->second;
    Operation *def = value.getDefiningOp();
    ElementsAttr data;
    std::string name;
    if (auto weight = dyn_cast_or_null<azg::WeightOp>(def)) {
      data = weight.getValue();
      name = weight.getName().str();
    } else if (auto constant = dyn_cast_or_null<azg::ConstantOp>(def)) {
      data = constant.getValue();
      name = "constant";
    } else {
      return std::nullopt;
    }
    std::optional<int> id = newValue(value, Storage::Constant, name);
    if (!id)
      return std::nullopt;
    PValue &v = plan.values[*id];
    v.constant = data;
    v.offset = plan.constantsSize;
    plan.constantsSize = alignTo(plan.constantsSize + v.size, 64);
    if (isa<FloatType>(
            cast<RankedTensorType>(value.getType()).getElementType()))
      plan.parameterCount +=
          cast<RankedTensorType>(value.getType()).getNumElements();
    ids[value] = *id;
    return id;
  }

  static uint64_t alignTo(uint64_t x, uint64_t a) {
    return (x + a - 1) / a * a;
  }

  bool lowerStep(Operation *op);
  bool convertAttributes(Operation *op, Step &step);
  bool checkDataDependentUses(func::FuncOp func);

  Plan &plan;
  std::string &error;
  llvm::DenseMap<mlir::Value, int> ids;
};

/// Operands in ODS order, with null for absent optional operands: the
/// kernel contract (runtime/src/cpu/kernels.h). Ops with several optional
/// operands record which are present in their segment sizes.
SmallVector<mlir::Value> kernelOperands(Operation *op) {
  auto segments = op->getAttrOfType<DenseI32ArrayAttr>("operandSegmentSizes");
  if (!segments)
    return llvm::TypeSwitch<Operation *, SmallVector<mlir::Value>>(op)
        .Case([](azg::GemmOp g) {
          return SmallVector<mlir::Value>{g.getA(), g.getB(), g.getC()};
        })
        .Case([](azg::LayerNormOp l) {
          return SmallVector<mlir::Value>{l.getInput(), l.getScale(),
                                          l.getBias()};
        })
        .Default([](Operation *o) {
          return SmallVector<mlir::Value>(o->getOperands());
        });
  SmallVector<mlir::Value> operands;
  unsigned next = 0;
  for (int32_t size : segments.asArrayRef()) {
    if (size == 0)
      operands.push_back(nullptr);
    for (int32_t i = 0; i < size; ++i)
      operands.push_back(op->getOperand(next++));
  }
  return operands;
}

bool Lowering::convertAttributes(Operation *op, Step &step) {
  for (NamedAttribute named : op->getAttrDictionary()) {
    StringRef name = named.getName().getValue();
    if (name == "operandSegmentSizes")
      continue;
    PAttribute attr;
    attr.name = name.str();
    PAttribute::Kind &kind = attr.kind;
    mlir::Attribute value = named.getValue();
    if (auto i = dyn_cast<IntegerAttr>(value)) {
      kind = PAttribute::Int;
      attr.intValue =
          i.getType().isInteger(1) ? i.getValue().getZExtValue() : i.getInt();
    } else if (auto f = dyn_cast<FloatAttr>(value)) {
      kind = PAttribute::Float;
      attr.floatValue = f.getValueAsDouble();
    } else if (auto list = dyn_cast<DenseI64ArrayAttr>(value)) {
      kind = PAttribute::Ints;
      attr.ints.assign(list.asArrayRef().begin(), list.asArrayRef().end());
    } else if (auto s = dyn_cast<StringAttr>(value)) {
      kind = PAttribute::String;
      attr.stringValue = s.str();
    } else if (isa<UnitAttr>(value)) {
      kind = PAttribute::Int;
      attr.intValue = 1;
    } else if (auto activation = dyn_cast<azg::ActivationAttr>(value)) {
      kind = PAttribute::String;
      attr.stringValue = azg::stringifyActivation(activation.getValue()).str();
    } else if (isa<TypeAttr>(value)) {
      continue; // cast's target: the output value's dtype says it.
    } else {
      return fail(op, "attribute '" + name + "' has no engine encoding");
    }
    step.attributes.push_back(std::move(attr));
  }
  return true;
}

bool Lowering::lowerStep(Operation *op) {
  Step step;
  step.op = op->getName().stripDialect().str();
  if (auto nameLoc = dyn_cast<NameLoc>(op->getLoc()))
    step.location = nameLoc.getName().str();
  for (mlir::Value operand : kernelOperands(op)) {
    if (!operand) {
      step.inputs.push_back(-1);
      continue;
    }
    std::optional<int> id = valueOf(operand);
    if (!id)
      return fail(op, "an operand has a dynamic shape or an unsupported type");
    step.inputs.push_back(*id);
  }
  for (mlir::Value result : op->getResults()) {
    std::optional<int> id = newValue(result, Storage::Arena, step.location);
    if (!id)
      return fail(op, "a result has a dynamic shape or an unsupported type");
    ids[result] = *id;
    step.outputs.push_back(*id);
  }
  if (!convertAttributes(op, step))
    return false;
  // A quantized weight is K x N parameters whatever its storage.
  if (auto nbits = dyn_cast<azg::MatMulNBitsOp>(op))
    plan.parameterCount += uint64_t(nbits.getK() * nbits.getN());
  if (auto packed = dyn_cast<azg::MatMulNBitsPackedOp>(op))
    plan.parameterCount += uint64_t(packed.getK() * packed.getN());
  step.flops = flopsOf(op).value_or(0);
  plan.steps.push_back(std::move(step));
  return true;
}

/// A result whose size the data decides has no size a step could be
/// planned for: only a function result may take it. Frontends refuse other
/// readers with their own names; this catches any IR that slips through.
bool Lowering::checkDataDependentUses(func::FuncOp func) {
  WalkResult walk = func.walk([&](azg::DataDependentSizeOpInterface op) {
    for (OpResult result : op->getResults()) {
      if (!op.getDataDependentDim(result.getResultNumber()))
        continue;
      for (Operation *user : result.getUsers()) {
        if (isa<func::ReturnOp>(user))
          continue;
        std::string reader;
        llvm::raw_string_ostream os(reader);
        os << user->getName() << " at ";
        user->getLoc().print(os);
        fail(op, "result " + Twine(result.getResultNumber()) +
                     ": its size depends on the input values, so only a "
                     "graph output may take it (" +
                     os.str() + " reads it)");
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  return !walk.wasInterrupted();
}

bool Lowering::run(func::FuncOp func) {
  if (!checkDataDependentUses(func))
    return false;
  for (BlockArgument arg : func.getArguments()) {
    auto nameAttr =
        func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), azg::kNameAttr);
    std::string name = nameAttr ? nameAttr.str()
                                : "input" + std::to_string(arg.getArgNumber());
    auto type = cast<RankedTensorType>(arg.getType());
    auto dimNames = func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(),
                                                     azg::kDimNamesAttr);
    std::vector<std::string> names(type.getRank());
    if (dimNames)
      for (auto [i, attr] : llvm::enumerate(dimNames))
        if (i < names.size())
          names[i] = cast<StringAttr>(attr).str();
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (type.isDynamicDim(d)) {
        error = "input '" + name + "' dim " + std::to_string(d) +
                (names[d].empty() ? "" : " ('" + names[d] + "')") +
                " is not fixed: give --max_batch_size, --dims " +
                (names[d].empty() ? "NAME" : names[d]) + "=N or --input-shape";
        return false;
      }
    std::optional<int> id = newValue(arg, Storage::Input, name);
    if (!id) {
      error = "input '" + name + "' has an unsupported element type";
      return false;
    }
    plan.values[*id].index = plan.inputs.size();
    ids[arg] = *id;
    plan.inputs.push_back(
        {name, plan.values[*id].dtype, plan.values[*id].shape, names, *id});
  }

  for (Operation &op : func.getBody().front()) {
    if (isa<azg::ConstantOp, azg::WeightOp>(op))
      continue; // Materialized when read.
    if (isa<func::ReturnOp>(op))
      break;
    if (isa<azg::ReshapeOp, azg::SqueezeOp, azg::UnsqueezeOp>(op)) {
      std::optional<int> source = valueOf(op.getOperand(0));
      Storage storage = source ? plan.values[*source].storage : Storage::Arena;
      std::optional<int> id =
          source ? newValue(op.getResult(0), storage, "view") : std::nullopt;
      if (!id)
        return fail(&op, "a view of a dynamic or unsupported tensor");
      int root = plan.values[*source].aliasOf >= 0
                     ? plan.values[*source].aliasOf
                     : *source;
      PValue &view = plan.values[*id];
      view.aliasOf = root;
      ids[op.getResult(0)] = *id;
      continue;
    }
    if (op.getDialect() == nullptr || op.getDialect()->getNamespace() != "azg")
      return fail(&op, "is not an azg op");
    if (!lowerStep(&op))
      return false;
  }

  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  llvm::SmallDenseSet<int> claimed;
  for (auto [i, result] : llvm::enumerate(ret.getOperands())) {
    auto nameAttr = func.getResultAttrOfType<StringAttr>(i, azg::kNameAttr);
    std::string name = nameAttr ? nameAttr.str() : "output" + std::to_string(i);
    std::optional<int> id = valueOf(result);
    if (!id) {
      error = "output '" + name + "' has a dynamic shape or unsupported type";
      return false;
    }
    PValue &v = plan.values[*id];
    bool producedHere =
        v.storage == Storage::Arena && v.aliasOf < 0 && !claimed.contains(*id);
    int outputId = *id;
    if (!producedHere) {
      // Views, inputs, constants and repeated outputs are copied out.
      Step copy;
      copy.op = "reshape";
      copy.location = name;
      copy.inputs = {*id, -1};
      std::optional<int> fresh = newValue(result, Storage::Output, name);
      copy.outputs = {*fresh};
      outputId = *fresh;
      plan.steps.push_back(std::move(copy));
    }
    PValue &out = plan.values[outputId];
    out.storage = Storage::Output;
    out.index = i;
    out.name = name;
    claimed.insert(outputId);
    plan.outputs.push_back({name, out.dtype, out.shape,
                            std::vector<std::string>(out.shape.size()),
                            outputId});
    if (std::optional<int64_t> dim = azg::dataDependentDim(result)) {
      auto producer =
          cast<azg::DataDependentSizeOpInterface>(result.getDefiningOp());
      int extent = ids.lookup(producer.getExtent());
      if (plan.values[extent].storage != Storage::Arena) {
        error = "output '" + name +
                "': the size of a data-dependent result cannot itself be a "
                "graph output";
        return false;
      }
      plan.outputs.back().extentDim = int(*dim);
      plan.outputs.back().extentValue = extent;
    }
  }
  return true;
}

} // namespace

bool azc::plan::lowerToPlan(ModuleOp module, Plan &plan, std::string &error) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func) {
    error = "the module has no func.func @main";
    return false;
  }
  return Lowering(plan, error).run(func);
}

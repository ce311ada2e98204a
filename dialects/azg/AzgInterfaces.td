//===- AzgInterfaces.td - azg op interfaces ----------------*- tablegen -*-===//
//
// Interfaces that plan lowering and the frontends query without knowing
// the ops that implement them.
//
//===----------------------------------------------------------------------===//

#ifndef AZG_INTERFACES_TD
#define AZG_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Azg_DataDependentSizeOpInterface
    : OpInterface<"DataDependentSizeOpInterface"> {
  let cppNamespace = "::azc::azg";
  let description = [{
    An op with results whose size depends on the values of its operands,
    not only on their shapes (NonZero, Compress, Unique,
    NonMaxSuppression). Such a result's type is its upper bound, computed
    from the operand shapes; one dim of it (the same for every such result
    of the op) holds as many entries as the data gives, which the kernel
    writes, with the data dense at that size, into the op's last result:
    an i64 scalar, the extent. Nothing that needs the size may read such a
    result: only a function result (a graph output) may take it, and the
    engine reports its actual dims after each run.
  }];
  let methods = [
    InterfaceMethod<
      "The dim of result `index` whose size the operand values decide, or "
      "nullopt when that result's shape follows from the operand shapes.",
      "std::optional<int64_t>", "getDataDependentDim",
      (ins "unsigned":$index)>,
    InterfaceMethod<
      "The i64 scalar result that holds the data-dependent dim's size.",
      "::mlir::Value", "getExtent", (ins), [{}], [{
        return $_op->getResult($_op->getNumResults() - 1);
      }]>,
  ];
}

#endif // AZG_INTERFACES_TD

//===- AzgBase.td - the azg dialect and its enums ----------*- tablegen -*-===//
//
// azg is azc's graph dialect: one op per model-level operation, value
// semantics on ranked tensors, weights held as resource blobs that point into
// the mmapped model file. Frontends produce it, passes rewrite it, and plan
// lowering consumes it.
//
//===----------------------------------------------------------------------===//

#ifndef AZG_BASE_TD
#define AZG_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/AttrTypeBase.td"

def Azg_Dialect : Dialect {
  let name = "azg";
  let cppNamespace = "::azc::azg";
  let summary = "azc's graph dialect for MLPs, CNNs and transformers";
  let description = [{
    Ops of the azg dialect take and return ranked tensors of builtin element
    types. A dimension may be dynamic (`?`): frontends keep a model's symbolic
    dimensions (batch, sequence) dynamic and record their names in the
    `azg.dim_names` argument attribute; the `azg-resolve-shapes` pass later
    fixes them from the build profile. Every op infers its result types from
    its operands and attributes, so a pass that changes an operand's shape can
    re-infer the rest of the graph.
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let extraClassDeclaration = [{
    /// Folders evaluate tensors of at most this many elements. A static
    /// build folds shape arithmetic and small data tensors alike. A build
    /// for a range of shapes lowers the limit to the size of shape vectors,
    /// so that a tensor whose size follows a varying dim (the positions
    /// 0..sequence) is folded at no size rather than at some sizes only.
    int64_t getFoldLimit() const { return foldLimit; }
    void setFoldLimit(int64_t limit) { foldLimit = limit; }
    /// A range's length is a value, typically a varying dim (the positions
    /// of a sequence), so a build for a range of shapes never folds one,
    /// however short.
    bool getFoldRanges() const { return foldRanges; }
    void setFoldRanges(bool fold) { foldRanges = fold; }

  private:
    int64_t foldLimit = 4096;
    bool foldRanges = true;

  public:
  }];
}

// The activation applied in the epilogue of a fused matmul, gemm or conv.
def Azg_Activation : I32EnumAttr<"Activation", "fused activation", [
    I32EnumAttrCase<"none", 0>,
    I32EnumAttrCase<"relu", 1>,
    I32EnumAttrCase<"gelu", 2>,
    I32EnumAttrCase<"gelu_tanh", 3>,
    I32EnumAttrCase<"silu", 4>,
    I32EnumAttrCase<"sigmoid", 5>,
    I32EnumAttrCase<"tanh", 6>,
    I32EnumAttrCase<"clip", 7>]> {
  let cppNamespace = "::azc::azg";
  let genSpecializedAttr = 0;
}
def Azg_ActivationAttr : EnumAttr<Azg_Dialect, Azg_Activation, "activation">;

// How a quantized tensor's elements are stored.
def Azg_QuantStorage : I32EnumAttr<"QuantStorage", "quantized storage type", [
    I32EnumAttrCase<"int8", 0>,
    I32EnumAttrCase<"uint8", 1>,
    I32EnumAttrCase<"int4", 2>,
    I32EnumAttrCase<"fp8_e4m3", 3>,
    I32EnumAttrCase<"nf4", 4>]> {
  let cppNamespace = "::azc::azg";
  let genSpecializedAttr = 0;
}

// Which elements share one scale (and zero point).
def Azg_QuantGranularity : I32EnumAttr<"QuantGranularity",
    "granularity of quantization scales", [
    I32EnumAttrCase<"per_tensor", 0>,
    I32EnumAttrCase<"per_channel", 1>,
    I32EnumAttrCase<"per_group", 2>]> {
  let cppNamespace = "::azc::azg";
  let genSpecializedAttr = 0;
}

#endif // AZG_BASE_TD

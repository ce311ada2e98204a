//===- AzgAttrs.td - azg attributes ------------------------*- tablegen -*-===//

#ifndef AZG_ATTRS_TD
#define AZG_ATTRS_TD

include "dialects/azg/AzgBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/TensorEncoding.td"

def Azg_QuantEncodingAttr : AttrDef<Azg_Dialect, "QuantEncoding",
    [DeclareAttrInterfaceMethods<VerifiableTensorEncoding>]> {
  let mnemonic = "quant";
  let summary = "encoding of a quantized tensor";
  let description = [{
    Attached as the encoding of a ranked tensor type, it says how the tensor's
    real values are stored: `real = scale * (stored - zero_point)`.

    * `storage`: `int8`, `uint8`, `int4`, `fp8_e4m3` or `nf4` (4-bit
      NormalFloat, a table of 16 levels scaled per group).
    * `granularity`: `per_tensor` (one scale), `per_channel` (one scale per
      index of dimension `axis`) or `per_group` (one scale per `group_size`
      consecutive elements along `axis`, for each index of the other dims).
    * `scales` (floating point) and optional `zero_points` (same shape as
      `scales`; integer storage only; absent means symmetric).
    * `sparse_2_4`: at most two of every four consecutive elements along the
      last dimension are non-zero (NVIDIA's structured sparsity).

    ```mlir
    tensor<4096x4096xi8, #azg.quant<storage = int4, granularity = per_group,
        axis = 1, group_size = 128, scales = dense_resource<w_scales> :
        tensor<4096x32xf16>>>
    ```
  }];
  let parameters = (ins
    EnumParameter<Azg_QuantStorage>:$storage,
    EnumParameter<Azg_QuantGranularity>:$granularity,
    DefaultValuedParameter<"int64_t", "0">:$axis,
    DefaultValuedParameter<"int64_t", "0">:$group_size,
    AttrParameter<"::mlir::ElementsAttr", "scales">:$scales,
    OptionalParameter<"::mlir::ElementsAttr">:$zero_points,
    DefaultValuedParameter<"bool", "false">:$sparse_2_4
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // AZG_ATTRS_TD

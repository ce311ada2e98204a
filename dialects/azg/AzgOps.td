//===- AzgOps.td - azg operations --------------------------*- tablegen -*-===//
//
// Every op infers its result types (InferTypeOpAdaptor): the importer builds
// ops without spelling result types, and shape resolution re-infers a whole
// function after fixing its argument shapes. Result types are compatible
// with the inferred ones when they agree wherever both are static, so a
// dynamic dim may be refined without rebuilding the op.
//
//===----------------------------------------------------------------------===//

#ifndef AZG_OPS_TD
#define AZG_OPS_TD

include "dialects/azg/AzgBase.td"
include "dialects/azg/AzgAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Base classes
//===----------------------------------------------------------------------===//

class Azg_OpBase<string mnemonic, list<Trait> traits>
    : Op<Azg_Dialect, mnemonic, traits> {
  // Body of inferReturnTypes(context, location, adaptor, inferredReturnTypes),
  // or empty when the op's .cpp (or ODS itself) defines it.
  code inferBody = "";
  bit definesCompatible = 1;
  code compatibleDef = !if(!not(definesCompatible), "", [{
    bool $cppClass::isCompatibleReturnTypes(::mlir::TypeRange l,
                                           ::mlir::TypeRange r) {
      return ::azc::azg::areCompatibleResultTypes(l, r);
    }
  }]);
  let extraClassDefinition = !if(!empty(inferBody), compatibleDef,
      compatibleDef # [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, std::optional<::mlir::Location> location,
        Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &inferredReturnTypes) {
  }] # inferBody # [{
    }
  }]);
}

// An op whose result types follow from its operands and attributes by a rule
// written in inferBody or in C++.
class Azg_Op<string mnemonic, list<Trait> traits = []>
    : Azg_OpBase<mnemonic,
                 !listconcat(traits, [Pure, InferTypeOpAdaptorWithIsCompatible])>;

// An op whose result type ODS derives from its traits (SameOperandsAndResultType,
// AllTypesMatch): ODS writes inferReturnTypes itself, and result types must
// equal the operand types exactly.
class Azg_SameTypeOp<string mnemonic, list<Trait> traits = []>
    : Azg_OpBase<mnemonic, !listconcat(traits, [Pure,
          DeclareOpInterfaceMethods<InferTypeOpInterface>])> {
  let definesCompatible = 0;
}

defvar Azg_Tensor = AnyRankedTensor;
def Azg_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Azg_IndexTensor : RankedTensorOf<[I32, I64]>;
def Azg_BoolTensor : RankedTensorOf<[I1]>;

class Azg_UnaryOp<string mnemonic, string summaryText,
                  Type operandType = Azg_Tensor>
    : Azg_SameTypeOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = summaryText;
  let arguments = (ins operandType:$input);
  let results = (outs operandType:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
}

// Binary elementwise ops follow NumPy broadcasting, as ONNX does.
class Azg_BinaryOp<string mnemonic, string summaryText,
                   Type operandType = Azg_Tensor,
                   Type resultType = Azg_Tensor, bit boolResult = 0>
    : Azg_Op<mnemonic, [SameOperandsElementType]> {
  let summary = summaryText;
  let description = [{
    Elementwise, with NumPy (multidirectional) broadcasting of `lhs` and
    `rhs`.
  }];
  let arguments = (ins operandType:$lhs, operandType:$rhs);
  let results = (outs resultType:$output);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let inferBody = !if(boolResult, [{
    return ::azc::azg::inferBroadcastResult(location, {adaptor.getLhs(),
        adaptor.getRhs()}, ::mlir::IntegerType::get(context, 1),
        inferredReturnTypes);
  }], [{
    return ::azc::azg::inferBroadcastResult(location, {adaptor.getLhs(),
        adaptor.getRhs()}, nullptr, inferredReturnTypes);
  }]);
  let hasFolder = 1;
}

class Azg_ReductionOp<string mnemonic, string summaryText>
    : Azg_Op<mnemonic, [SameOperandsAndResultElementType]> {
  let summary = summaryText;
  let description = [{
    Reduces `input` over `axes` (all axes when empty; negative axes count
    from the back). With `keepdims` the reduced dims stay with size 1.
  }];
  let arguments = (ins Azg_Tensor:$input,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$axes,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let inferBody = [{
    return ::azc::azg::inferReduction(location, adaptor.getInput(),
        adaptor.getAxes(), adaptor.getKeepdims(), inferredReturnTypes);
  }];
}

//===----------------------------------------------------------------------===//
// Constants and weights
//===----------------------------------------------------------------------===//

def Azg_ConstantOp : Azg_SameTypeOp<"constant",
    [ConstantLike, AllTypesMatch<["value", "output"]>]> {
  let summary = "a small constant tensor held in the IR";
  let description = [{
    A constant small enough to fold (shapes, axes, scalars). Large model
    weights use `azg.weight` instead, which keeps them out of the IR.
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Azg_WeightOp : Azg_SameTypeOp<"weight",
    [ConstantLike, AllTypesMatch<["value", "output"]>]> {
  let summary = "a named model weight, held as a resource blob";
  let description = [{
    A model parameter. `value` is normally a `dense_resource` whose blob
    points into the mmapped model (or external data) file, so importing a
    model never copies its weights. `name` is the tensor's name in the source
    model, used in diagnostics, reports and layer selection flags.

    ```mlir
    %w = azg.weight "encoder.0.q.weight" dense_resource<w0> : tensor<768x768xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, ElementsAttr:$value);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = "$name attr-dict $value";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra and convolution
//===----------------------------------------------------------------------===//

// Operands and attributes of the fused epilogue shared by matmul, gemm and
// conv: output = activation(op(...) + bias + residual).
defvar Azg_EpilogueAttrs = (ins
    DefaultValuedAttr<Azg_ActivationAttr, "::azc::azg::Activation::none">:
        $activation,
    OptionalAttr<F32Attr>:$clip_min,
    OptionalAttr<F32Attr>:$clip_max);

def Azg_MatMulOp : Azg_Op<"matmul", [AttrSizedOperandSegments]> {
  let summary = "matrix product with NumPy batching and a fused epilogue";
  let description = [{
    `lhs @ rhs` with ONNX MatMul semantics: 1-D operands are promoted and
    batch dimensions broadcast. The optional `bias` (broadcast along the last
    dim) and `residual` (broadcast to the result) are added, then
    `activation` is applied; `azg-fuse-epilogues` forms these from separate
    ops.
  }];
  let arguments = !con((ins Azg_FloatTensor:$lhs, Azg_FloatTensor:$rhs,
                            Optional<Azg_FloatTensor>:$bias,
                            Optional<Azg_FloatTensor>:$residual),
                       Azg_EpilogueAttrs);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs (`bias` `(` $bias^ `)`)? (`residual` `(` $residual^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Azg_MatMulIntegerOp : Azg_Op<"matmul_integer",
                                 [AttrSizedOperandSegments]> {
  let summary = "8-bit matrix product accumulated exactly in i32";
  let description = [{
    ONNX MatMulInteger: `(lhs - lhs_zero_point) @ (rhs - rhs_zero_point)`
    with MatMul's batching and 1-D promotion. A zero point is a scalar, or
    one per row of `lhs` / per column of `rhs`.
  }];
  let arguments = (ins RankedTensorOf<[I8, UI8]>:$lhs,
                       RankedTensorOf<[I8, UI8]>:$rhs,
                       Optional<RankedTensorOf<[I8, UI8]>>:$lhs_zero_point,
                       Optional<RankedTensorOf<[I8, UI8]>>:$rhs_zero_point);
  let results = (outs RankedTensorOf<[I32]>:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs (`lhs_zero_point` `(` $lhs_zero_point^ `)`)?
    (`rhs_zero_point` `(` $rhs_zero_point^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Azg_MatMulNBitsOp : Azg_Op<"matmul_nbits", [AttrSizedOperandSegments]> {
  let summary = "matrix product with block-quantized 4- or 8-bit weights";
  let description = [{
    `input [..., K] @ dequant(weight)^T`, then the epilogue of `azg.matmul`.
    The weight is N columns of K codes in onnxruntime's MatMulNBits layout:
    `weight` is [N, ceil(K / block_size), block_size * bits / 8] bytes, each
    4-bit pair low nibble first; `scales` holds one scale per block
    (N * blocks, f32 or f16); `zero_points` one packed code per block (rows
    of ceil(blocks * bits / 8) bytes), 2^(bits-1) where absent. Element
    (k, n) of the weight is `(code - zero_point) * scale`. The kernel never
    widens the whole weight: each block is unpacked in registers as it is
    read. `accuracy_level` 4 lets the kernel quantize `input` to int8 per
    block and multiply in int8 (W4A8); lower levels compute in f32.

    `weight_format` "nf4" (4 bits) or "fp8_e4m3" (8 bits) makes codes index
    a codebook instead (NormalFloat4's 16 values; the E4M3 floats), element
    (k, n) being `codebook[code] * scale`, with no zero points. Their
    scales may be double-quantized: i8 codes with `scale_steps`, f32
    [ceil(N * blocks / 256), 2], scale i being
    `code_i * step[i / 256] + offset[i / 256]`.

    `input_format` "int8" or "fp8_e4m3" with `input_scale` s quantizes the
    input statically: x becomes `round(x / s) * s` on the format's grid
    (int8: integers in [-127, 127]; E4M3: its finite values, saturating at
    448), ties to even. Calibration chooses s.
  }];
  let arguments = !con((ins RankedTensorOf<[F32]>:$input, RankedTensorOf<[UI8]>:$weight,
                            RankedTensorOf<[F32, F16, I8]>:$scales,
                            Optional<RankedTensorOf<[UI8]>>:$zero_points,
                            Optional<RankedTensorOf<[F32]>>:$bias,
                            Optional<RankedTensorOf<[F32]>>:$residual,
                            Optional<RankedTensorOf<[F32]>>:$scale_steps,
                            I64Attr:$K, I64Attr:$N, I64Attr:$bits,
                            I64Attr:$block_size,
                            DefaultValuedAttr<I64Attr, "0">:$accuracy_level,
                            DefaultValuedStrAttr<StrAttr, "int">:$weight_format,
                            OptionalAttr<StrAttr>:$input_format,
                            OptionalAttr<F32Attr>:$input_scale),
                       Azg_EpilogueAttrs);
  let results = (outs RankedTensorOf<[F32]>:$output);
  let assemblyFormat = [{
    $input `,` $weight `,` $scales
    (`zero_points` `(` $zero_points^ `)`)? (`bias` `(` $bias^ `)`)?
    (`residual` `(` $residual^ `)`)? (`scale_steps` `(` $scale_steps^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let inferBody = [{
    auto input = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    if (input.getRank() == 0)
      return ::mlir::emitOptionalError(location,
                                       "matmul_nbits input must have rank >= 1");
    ::llvm::SmallVector<int64_t> shape(input.getShape());
    shape.back() = adaptor.getN();
    inferredReturnTypes.push_back(input.clone(shape));
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_MatMulHalfOp : Azg_Op<"matmul_half", [AttrSizedOperandSegments]> {
  let summary = "matrix product with f16 or bf16 weights";
  let description = [{
    `input [..., K] @ weight^T` with `weight` [N, K] stored in IEEE half or
    bfloat16, then the epilogue of `azg.matmul`. The kernel widens each
    weight to f32 in registers as it reads it (exactly: both formats are
    subsets of f32) and multiplies in f32, so only the rounding of the
    weights to 16 bits is lost.
  }];
  let arguments = !con((ins RankedTensorOf<[F32]>:$input,
                            RankedTensorOf<[F16, BF16]>:$weight,
                            Optional<RankedTensorOf<[F32]>>:$bias,
                            Optional<RankedTensorOf<[F32]>>:$residual),
                       Azg_EpilogueAttrs);
  let results = (outs RankedTensorOf<[F32]>:$output);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `)`)? (`residual` `(` $residual^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let inferBody = [{
    auto input = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    auto weight = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getWeight().getType());
    if (input.getRank() == 0 || weight.getRank() != 2)
      return ::mlir::emitOptionalError(location,
          "matmul_half needs an input of rank >= 1 and a 2-D weight");
    ::llvm::SmallVector<int64_t> shape(input.getShape());
    shape.back() = weight.getDimSize(0);
    inferredReturnTypes.push_back(input.clone(shape));
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_MatMulPackedOp : Azg_Op<"matmul_packed", [AttrSizedOperandSegments]> {
  let summary = "matrix product with a weight packed for the GEMM tiles";
  let description = [{
    `input [..., K] @ W` for a weight W [K, N] stored as column panels
    of 32: `weight` is [ceil(N / 32), K, 32] and W[k, j] is
    weight[j / 32, k, j % 32] (zero past N), then the epilogue of
    `azg.matmul`. Each panel is the block the AVX-512 GEMM tile multiplies,
    laid out as it reads it, so the kernel packs nothing at run time;
    `azg-pack-weights` forms it from matmuls by constant weights. An f16
    or bf16 weight (from `azg.matmul_half`) is widened to f32 exactly as
    it is loaded, the products being those of `azg.matmul` on the widened
    weight.
  }];
  let arguments = !con((ins RankedTensorOf<[F32]>:$input,
                            RankedTensorOf<[F32, F16, BF16]>:$weight,
                            Optional<RankedTensorOf<[F32]>>:$bias,
                            Optional<RankedTensorOf<[F32]>>:$residual,
                            I64Attr:$N),
                       Azg_EpilogueAttrs);
  let results = (outs RankedTensorOf<[F32]>:$output);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `)`)? (`residual` `(` $residual^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let inferBody = [{
    auto input = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    if (input.getRank() == 0)
      return ::mlir::emitOptionalError(location,
          "matmul_packed needs an input of rank >= 1");
    ::llvm::SmallVector<int64_t> shape(input.getShape());
    shape.back() = adaptor.getN();
    inferredReturnTypes.push_back(input.clone(shape));
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_MatMulNBitsPackedOp
    : Azg_Op<"matmul_nbits_packed", [AttrSizedOperandSegments]> {
  let summary = "int8 product of block-quantized weights packed in panels";
  let description = [{
    `azg.matmul_nbits` with integer codes and int8 activations (quantized
    per block, as `accuracy_level` 4 does, or statically with
    `input_format` "int8" and `input_scale`), its weight stored in the
    panels the int8 tiles read, so that nothing is unpacked or transposed
    at run time. Columns are grouped in panels of 32, the last padded with
    zero codes, scales and zero points. With K' = blocks * block_size:
    `weight` is [panels, K' / 8, 32, 4] bytes at 4 bits, byte j of column
    c's 4 bytes in step t holding code 8t + j in its low nibble and code
    8t + 4 + j in its high one; at 8 bits [panels, K' / 4, 32, 4], byte j
    of step t being code 4t + j. `scales` is [panels, blocks, 32] (f32 or
    f16) and `zero_points` [panels, blocks, 32] bytes (2^(bits-1) where
    absent). Each element is the sum matmul_nbits computes on the same
    codes; `azg-pack-weights` forms it from matmul_nbits by constants.
  }];
  let arguments = !con((ins RankedTensorOf<[F32]>:$input,
                            RankedTensorOf<[UI8]>:$weight,
                            RankedTensorOf<[F32, F16]>:$scales,
                            Optional<RankedTensorOf<[UI8]>>:$zero_points,
                            Optional<RankedTensorOf<[F32]>>:$bias,
                            Optional<RankedTensorOf<[F32]>>:$residual,
                            I64Attr:$K, I64Attr:$N, I64Attr:$bits,
                            I64Attr:$block_size,
                            OptionalAttr<StrAttr>:$input_format,
                            OptionalAttr<F32Attr>:$input_scale),
                       Azg_EpilogueAttrs);
  let results = (outs RankedTensorOf<[F32]>:$output);
  let assemblyFormat = [{
    $input `,` $weight `,` $scales
    (`zero_points` `(` $zero_points^ `)`)? (`bias` `(` $bias^ `)`)?
    (`residual` `(` $residual^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let inferBody = [{
    auto input = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    if (input.getRank() == 0)
      return ::mlir::emitOptionalError(location,
          "matmul_nbits_packed needs an input of rank >= 1");
    ::llvm::SmallVector<int64_t> shape(input.getShape());
    shape.back() = adaptor.getN();
    inferredReturnTypes.push_back(input.clone(shape));
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_GemmOp : Azg_Op<"gemm"> {
  let summary = "general matrix multiply (ONNX Gemm) with a fused epilogue";
  let description = [{
    `alpha * op(a) @ op(b) + beta * c` on 2-D operands, where `op` transposes
    when `trans_a` / `trans_b` is set and `c` broadcasts to the result, then
    `activation`.
  }];
  let arguments = !con((ins Azg_FloatTensor:$a, Azg_FloatTensor:$b,
                            Optional<Azg_FloatTensor>:$c,
                            DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                            DefaultValuedAttr<F32Attr, "1.0f">:$beta,
                            DefaultValuedAttr<BoolAttr, "false">:$trans_a,
                            DefaultValuedAttr<BoolAttr, "false">:$trans_b),
                       Azg_EpilogueAttrs);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = [{
    $a `,` $b (`,` $c^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Azg_ConvOp : Azg_Op<"conv", [AttrSizedOperandSegments]> {
  let summary = "N-d grouped convolution (NC... layout) with a fused epilogue";
  let description = [{
    ONNX Conv: `input` is N x C x D1 x ... x Dn, `weight` is
    M x C/group x k1 x ... x kn. `pads` holds the begin pads of every
    spatial dim, then the end pads. `residual` (same shape as the result) is
    added after `bias`, then `activation`: a ResNet block's `conv + add +
    relu` is one op.
  }];
  let arguments = !con((ins Azg_FloatTensor:$input, Azg_FloatTensor:$weight,
                            Optional<Azg_FloatTensor>:$bias,
                            Optional<Azg_FloatTensor>:$residual,
                            DenseI64ArrayAttr:$strides,
                            DenseI64ArrayAttr:$pads,
                            DenseI64ArrayAttr:$dilations,
                            DefaultValuedAttr<I64Attr, "1">:$group),
                       Azg_EpilogueAttrs);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `)`)?
    (`residual` `(` $residual^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Azg_ConvIntegerOp : Azg_Op<"conv_integer", [AttrSizedOperandSegments]> {
  let summary = "8-bit grouped convolution accumulated exactly in i32";
  let description = [{
    ONNX ConvInteger: `conv(input - input_zero_point, weight -
    weight_zero_point)` with Conv's layout and window attributes; padding
    contributes nothing. `input_zero_point` is a scalar, `weight_zero_point`
    a scalar or one per output channel.
  }];
  let arguments = (ins RankedTensorOf<[I8, UI8]>:$input,
                       RankedTensorOf<[I8, UI8]>:$weight,
                       Optional<RankedTensorOf<[I8, UI8]>>:$input_zero_point,
                       Optional<RankedTensorOf<[I8, UI8]>>:$weight_zero_point,
                       DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs RankedTensorOf<[I32]>:$output);
  let assemblyFormat = [{
    $input `,` $weight (`input_zero_point` `(` $input_zero_point^ `)`)?
    (`weight_zero_point` `(` $weight_zero_point^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Azg_ConvTransposeOp : Azg_Op<"conv_transpose"> {
  let summary = "N-d grouped transposed convolution (NC... layout)";
  let description = [{
    ONNX ConvTranspose with explicit pads: `input` is N x C x D1 x ... x Dn,
    `weight` is C x M/group x k1 x ... x kn, and each input element adds
    `input * weight` at output positions `i * stride + k * dilation -
    pad_begin`. Result dim i is `stride * (D - 1) + output_padding +
    dilation * (k - 1) + 1 - pad_begin - pad_end`. `pads` holds the begin
    pads of every spatial dim, then the end pads; they may be negative (an
    output larger than the natural one). `bias` (M) is added per channel.
  }];
  let arguments = (ins Azg_FloatTensor:$input, Azg_FloatTensor:$weight,
                       Optional<Azg_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DenseI64ArrayAttr:$output_padding,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Azg_DeformConvOp
    : Azg_Op<"deform_conv", [AttrSizedOperandSegments]> {
  let summary = "2-D deformable convolution (ONNX DeformConv)";
  let description = [{
    A convolution whose taps are moved: `offset` ([N, offset_group * kH *
    kW * 2, oH, oW]) gives each tap's (dy, dx) at each output position, per
    group of input channels, and the input is sampled there bilinearly
    (zero outside). `mask` ([N, offset_group * kH * kW, oH, oW]), when
    given, scales each sample. The result is [N, M, oH, oW], its spatial
    size that of `offset`.
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$input,
                       RankedTensorOf<[F32]>:$weight,
                       RankedTensorOf<[F32]>:$offset,
                       Optional<RankedTensorOf<[F32]>>:$bias,
                       Optional<RankedTensorOf<[F32]>>:$mask,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group,
                       DefaultValuedAttr<I64Attr, "1">:$offset_group);
  let results = (outs RankedTensorOf<[F32]>:$output);
  let assemblyFormat = [{
    $input `,` $weight `,` $offset (`bias` `(` $bias^ `)`)?
    (`mask` `(` $mask^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let inferBody = [{
    auto input = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    auto weight = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getWeight().getType());
    auto offset = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getOffset().getType());
    if (input.getRank() != 4 || weight.getRank() != 4 ||
        offset.getRank() != 4) {
      if (location)
        ::mlir::emitError(*location)
            << "deform_conv takes 4-D input, weight and offset";
      return ::mlir::failure();
    }
    inferredReturnTypes.push_back(input.clone(
        {input.getDimSize(0), weight.getDimSize(0), offset.getDimSize(2),
         offset.getDimSize(3)}));
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_TreeEnsembleOp : Azg_Op<"tree_ensemble"> {
  let summary = "decision-tree ensemble (ONNX ai.onnx.ml TreeEnsemble)";
  let description = [{
    Each tree starts at its `tree_roots` node and walks by comparing
    feature `nodes_featureids[i]` of a row of `input` ([N, F]) with
    `splits[i]` under `nodes_modes[i]` (0 <=, 1 <, 2 >=, 3 >, 4 ==, 5 !=,
    6 member of the next NaN-terminated run of `membership_values`; a NaN
    feature goes the true way where `nodes_missing_value_tracks_true`
    says so) to the true or false child, a node or, where
    `nodes_trueleafs`/`nodes_falseleafs` say so, a leaf: `leaf_weights[j]`
    for target `leaf_targetids[j]`. The leaves reached are aggregated per
    target by `aggregate_function` (0 average, 1 sum, 2 min, 3 max) into
    the [N, n_targets] result.
  }];
  let arguments = (ins RankedTensorOf<[F32, F64]>:$input,
                       RankedTensorOf<[F32, F64]>:$splits,
                       RankedTensorOf<[F32, F64]>:$leaf_weights,
                       Optional<RankedTensorOf<[F32, F64]>>:$membership_values,
                       DenseI64ArrayAttr:$nodes_featureids,
                       DenseI64ArrayAttr:$nodes_modes,
                       DenseI64ArrayAttr:$nodes_truenodeids,
                       DenseI64ArrayAttr:$nodes_falsenodeids,
                       DenseI64ArrayAttr:$nodes_trueleafs,
                       DenseI64ArrayAttr:$nodes_falseleafs,
                       DenseI64ArrayAttr:$nodes_missing_value_tracks_true,
                       DenseI64ArrayAttr:$leaf_targetids,
                       DenseI64ArrayAttr:$tree_roots,
                       I64Attr:$n_targets, I64Attr:$aggregate_function);
  let results = (outs RankedTensorOf<[F32, F64]>:$output);
  let assemblyFormat = [{
    $input `,` $splits `,` $leaf_weights
    (`membership` `(` $membership_values^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let inferBody = [{
    auto input = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    if (input.getRank() != 2) {
      if (location)
        ::mlir::emitError(*location)
            << "tree_ensemble takes [N, features] rows, got " << input;
      return ::mlir::failure();
    }
    inferredReturnTypes.push_back(
        input.clone({input.getDimSize(0), int64_t(adaptor.getNTargets())}));
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_TfIdfVectorizerOp : Azg_Op<"tfidf_vectorizer"> {
  let summary = "n-gram counts of integer token rows (ONNX TfIdfVectorizer)";
  let description = [{
    `pool` holds the n-grams to count, grouped by length: `ngram_counts[i]`
    is where the (i + 1)-grams start. N-grams of `min_gram_length` to
    `max_gram_length` tokens are counted in each row of `input` ([C] or
    [B, C]), their tokens `skip + 1` apart for every skip up to
    `max_skip_count` (unigrams once). N-gram j of the pool (in pool order,
    all lengths) adds to output column `ngram_indexes[j]`. `mode` TF gives
    the counts, IDF the `weights` (or 1) of the n-grams seen, TFIDF counts
    times weights.
  }];
  let arguments = (ins RankedTensorOf<[I32, I64]>:$input,
                       Optional<RankedTensorOf<[F32]>>:$weights,
                       I64Attr:$min_gram_length, I64Attr:$max_gram_length,
                       I64Attr:$max_skip_count, StrAttr:$mode,
                       DenseI64ArrayAttr:$ngram_counts,
                       DenseI64ArrayAttr:$ngram_indexes,
                       DenseI64ArrayAttr:$pool);
  let results = (outs RankedTensorOf<[F32]>:$output);
  let assemblyFormat = [{
    $input (`weights` `(` $weights^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let inferBody = [{
    auto input = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    int64_t columns = 0;
    for (int64_t index : adaptor.getNgramIndexes())
      columns = std::max(columns, index + 1);
    if (input.getRank() > 2) {
      if (location)
        ::mlir::emitError(*location)
            << "tfidf_vectorizer takes [C] or [B, C] tokens, got " << input;
      return ::mlir::failure();
    }
    ::llvm::SmallVector<int64_t> shape;
    if (input.getRank() == 2)
      shape.push_back(input.getDimSize(0));
    shape.push_back(columns);
    inferredReturnTypes.push_back(::mlir::RankedTensorType::get(
        shape, ::mlir::Float32Type::get(context)));
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_GridSampleOp : Azg_Op<"grid_sample", [SameOperandsElementType]> {
  let summary = "samples an N-d input at normalized grid positions";
  let description = [{
    ONNX GridSample: `input` is N x C x D1 ... Dr, `grid` N x O1 ... Or x r
    with positions in [-1, 1] (the last dim innermost spatial dim first);
    the result is N x C x O1 ... Or. `mode` is nearest, linear or cubic,
    `padding_mode` zeros, border or reflection.
  }];
  let arguments = (ins Azg_FloatTensor:$input, Azg_FloatTensor:$grid,
                       DefaultValuedAttr<StrAttr, "\"linear\"">:$mode,
                       DefaultValuedAttr<StrAttr, "\"zeros\"">:$padding_mode,
                       DefaultValuedAttr<BoolAttr, "false">:$align_corners);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat =
      "$input `,` $grid attr-dict `:` functional-type(operands, results)";
  let inferBody = [{
    auto input = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    auto grid = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getGrid().getType());
    int64_t rank = input.getRank();
    if (rank < 3 || grid.getRank() != rank ||
        (!grid.isDynamicDim(rank - 1) && grid.getDimSize(rank - 1) != rank - 2)) {
      if (location)
        ::mlir::emitError(*location)
            << "grid_sample needs input N x C x D... and grid N x O... x r";
      return ::mlir::failure();
    }
    ::llvm::SmallVector<int64_t> shape = {input.getDimSize(0),
                                          input.getDimSize(1)};
    for (int64_t i = 1; i < rank - 1; ++i)
      shape.push_back(grid.getDimSize(i));
    inferredReturnTypes.push_back(input.clone(shape));
    return ::mlir::success();
  }];
}

def Azg_RoiAlignOp : Azg_Op<"roi_align"> {
  let summary = "bilinear pooling of regions of interest (ONNX RoiAlign)";
  let description = [{
    `input` is N x C x H x W, `rois` R x 4 boxes (x1, y1, x2, y2) in input
    coordinates before `spatial_scale`, `batch_indices` the image of each;
    the result is R x C x output_height x output_width, each bin the
    average (or max) of its sampling_ratio x sampling_ratio bilinear samples.
  }];
  let arguments = (ins Azg_FloatTensor:$input, Azg_FloatTensor:$rois,
                       Azg_IndexTensor:$batch_indices,
                       DefaultValuedAttr<StrAttr, "\"avg\"">:$mode,
                       DefaultValuedAttr<StrAttr, "\"half_pixel\"">:
                           $coordinate_transformation_mode,
                       DefaultValuedAttr<I64Attr, "1">:$output_height,
                       DefaultValuedAttr<I64Attr, "1">:$output_width,
                       DefaultValuedAttr<I64Attr, "0">:$sampling_ratio,
                       DefaultValuedAttr<F32Attr, "1.0f">:$spatial_scale);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $rois `,` $batch_indices attr-dict `:`
    functional-type(operands, results)
  }];
  let inferBody = [{
    auto input = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    auto rois = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getRois().getType());
    if (input.getRank() != 4 || rois.getRank() != 2) {
      if (location)
        ::mlir::emitError(*location)
            << "roi_align needs a 4-D input and 2-D rois";
      return ::mlir::failure();
    }
    inferredReturnTypes.push_back(input.clone(
        {rois.getDimSize(0), input.getDimSize(1),
         static_cast<int64_t>(adaptor.getOutputHeight()),
         static_cast<int64_t>(adaptor.getOutputWidth())}));
    return ::mlir::success();
  }];
}

def Azg_ResizeOp : Azg_Op<"resize"> {
  let summary = "resamples every dim to `output_size` (ONNX Resize)";
  let description = [{
    Result dim i samples input dim i at the coordinate that
    `coordinate_transformation_mode` maps it to, with `scales` (f64, one per
    dim) as the factor those coordinates use and `roi` (f64, begins then
    ends) for tf_crop_and_resize. `mode` is nearest (by `nearest_mode`),
    linear or cubic (`cubic_coeff_a`, `exclude_outside`); neighbours beyond
    the input repeat its edge. With `antialias`, linear and cubic filters
    are stretched by 1 / scale in dims that shrink.
  }];
  let arguments = (ins Azg_Tensor:$input, RankedTensorOf<[F64]>:$scales,
                       Optional<RankedTensorOf<[F64]>>:$roi,
                       DenseI64ArrayAttr:$output_size,
                       DefaultValuedAttr<StrAttr, "\"nearest\"">:$mode,
                       DefaultValuedAttr<StrAttr, "\"half_pixel\"">:
                           $coordinate_transformation_mode,
                       DefaultValuedAttr<StrAttr, "\"round_prefer_floor\"">:
                           $nearest_mode,
                       DefaultValuedAttr<F32Attr, "-0.75f">:$cubic_coeff_a,
                       DefaultValuedAttr<BoolAttr, "false">:$exclude_outside,
                       DefaultValuedAttr<F32Attr, "0.0f">:$extrapolation_value,
                       DefaultValuedAttr<BoolAttr, "false">:$antialias);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = [{
    $input `,` $scales (`roi` `(` $roi^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let inferBody = [{
    auto input = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    if ((int64_t)adaptor.getOutputSize().size() != input.getRank()) {
      if (location)
        ::mlir::emitError(*location) << "resize needs one output size per dim";
      return ::mlir::failure();
    }
    inferredReturnTypes.push_back(input.clone(adaptor.getOutputSize()));
    return ::mlir::success();
  }];
}

class Azg_PoolOp<string mnemonic, string summaryText>
    : Azg_Op<mnemonic, [SameOperandsAndResultElementType]> {
  let summary = summaryText;
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Azg_MaxPoolOp : Azg_PoolOp<"max_pool", "N-d max pooling"> {
  let arguments = (ins Azg_FloatTensor:$input,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
}

def Azg_MaxPoolIndicesOp : Azg_Op<"max_pool_indices"> {
  let summary = "where max_pool's maxima are (ONNX MaxPool's Indices)";
  let description = [{
    For each max_pool window with the same attributes, the flat index of
    its (first) maximum in `input`: over N x C x D1 ... Dn in row-major
    order, or with the spatial dims column-major when `storage_order` is 1.
  }];
  let arguments = (ins Azg_FloatTensor:$input,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                       DefaultValuedAttr<I64Attr, "0">:$storage_order);
  let results = (outs RankedTensorOf<[I64]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Azg_AvgPoolOp : Azg_PoolOp<"avg_pool", "N-d average pooling"> {
  let description = [{
    With `count_include_pad` the padding counts in each window's divisor.
    Empty `dilations` means 1 in every spatial dim.
  }];
  let arguments = (ins Azg_FloatTensor:$input,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$pads,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                       DefaultValuedAttr<BoolAttr, "false">:$count_include_pad,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$dilations);
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

def Azg_AddOp : Azg_BinaryOp<"add", "elementwise addition">;
def Azg_SubOp : Azg_BinaryOp<"sub", "elementwise subtraction">;
def Azg_MulOp : Azg_BinaryOp<"mul", "elementwise multiplication">;
def Azg_DivOp : Azg_BinaryOp<"div", "elementwise division (integers truncate)">;
def Azg_PowOp : Azg_BinaryOp<"pow", "elementwise power">;
def Azg_MaxOp : Azg_BinaryOp<"max", "elementwise maximum">;
def Azg_MinOp : Azg_BinaryOp<"min", "elementwise minimum">;
def Azg_EqualOp : Azg_BinaryOp<"equal", "elementwise ==", Azg_Tensor,
                               Azg_BoolTensor, 1>;
def Azg_LessOp : Azg_BinaryOp<"less", "elementwise <", Azg_Tensor,
                              Azg_BoolTensor, 1>;
def Azg_LessEqualOp : Azg_BinaryOp<"less_equal", "elementwise <=",
                                   Azg_Tensor, Azg_BoolTensor, 1>;
def Azg_GreaterOp : Azg_BinaryOp<"greater", "elementwise >", Azg_Tensor,
                                 Azg_BoolTensor, 1>;
def Azg_GreaterEqualOp : Azg_BinaryOp<"greater_equal", "elementwise >=",
                                      Azg_Tensor, Azg_BoolTensor, 1>;
def Azg_AndOp : Azg_BinaryOp<"and", "elementwise logical and",
                             Azg_BoolTensor, Azg_BoolTensor>;
def Azg_OrOp : Azg_BinaryOp<"or", "elementwise logical or",
                            Azg_BoolTensor, Azg_BoolTensor>;
def Azg_XorOp : Azg_BinaryOp<"xor", "elementwise logical exclusive or",
                             Azg_BoolTensor, Azg_BoolTensor>;

def Azg_NegOp : Azg_UnaryOp<"neg", "elementwise negation"> {
  let hasFolder = 1;
}
def Azg_AbsOp : Azg_UnaryOp<"abs", "elementwise absolute value">;
def Azg_NotOp : Azg_UnaryOp<"not", "elementwise logical not", Azg_BoolTensor> {
  let hasFolder = 1;
}
def Azg_ExpOp : Azg_UnaryOp<"exp", "elementwise e^x", Azg_FloatTensor>;
def Azg_LogOp : Azg_UnaryOp<"log", "elementwise natural logarithm",
                            Azg_FloatTensor>;
def Azg_SqrtOp : Azg_UnaryOp<"sqrt", "elementwise square root",
                             Azg_FloatTensor>;
def Azg_ReciprocalOp : Azg_UnaryOp<"reciprocal", "elementwise 1/x",
                                   Azg_FloatTensor>;
def Azg_ErfOp : Azg_UnaryOp<"erf", "elementwise error function",
                            Azg_FloatTensor>;
def Azg_TanhOp : Azg_UnaryOp<"tanh", "elementwise tanh", Azg_FloatTensor>;
def Azg_SigmoidOp : Azg_UnaryOp<"sigmoid", "elementwise 1/(1+e^-x)",
                                Azg_FloatTensor>;
def Azg_ReluOp : Azg_UnaryOp<"relu", "elementwise max(x, 0)"> {
  let hasFolder = 1;
}
def Azg_SiluOp : Azg_UnaryOp<"silu", "elementwise x * sigmoid(x)",
                             Azg_FloatTensor>;
def Azg_FloorOp : Azg_UnaryOp<"floor", "elementwise floor", Azg_FloatTensor> {
  let hasFolder = 1;
}
def Azg_CeilOp : Azg_UnaryOp<"ceil", "elementwise ceiling", Azg_FloatTensor> {
  let hasFolder = 1;
}

def Azg_AcosOp : Azg_UnaryOp<"acos", "elementwise arccosine", Azg_FloatTensor>;
def Azg_AsinOp : Azg_UnaryOp<"asin", "elementwise arcsine", Azg_FloatTensor>;
def Azg_AtanOp : Azg_UnaryOp<"atan", "elementwise arctangent", Azg_FloatTensor>;
def Azg_CosOp : Azg_UnaryOp<"cos", "elementwise cosine", Azg_FloatTensor>;
def Azg_SinOp : Azg_UnaryOp<"sin", "elementwise sine", Azg_FloatTensor>;
def Azg_TanOp : Azg_UnaryOp<"tan", "elementwise tangent", Azg_FloatTensor>;
def Azg_CoshOp : Azg_UnaryOp<"cosh", "elementwise hyperbolic cosine",
                             Azg_FloatTensor>;
def Azg_SinhOp : Azg_UnaryOp<"sinh", "elementwise hyperbolic sine",
                             Azg_FloatTensor>;
def Azg_AcoshOp : Azg_UnaryOp<"acosh", "elementwise inverse hyperbolic cosine",
                              Azg_FloatTensor>;
def Azg_AsinhOp : Azg_UnaryOp<"asinh", "elementwise inverse hyperbolic sine",
                              Azg_FloatTensor>;
def Azg_AtanhOp : Azg_UnaryOp<"atanh", "elementwise inverse hyperbolic tangent",
                              Azg_FloatTensor>;
def Azg_SoftplusOp : Azg_UnaryOp<"softplus", "elementwise log(1 + e^x)",
                                 Azg_FloatTensor>;
def Azg_SoftsignOp : Azg_UnaryOp<"softsign", "elementwise x / (1 + |x|)",
                                 Azg_FloatTensor>;
def Azg_HardSwishOp : Azg_UnaryOp<"hard_swish",
    "elementwise x * max(0, min(1, x / 6 + 1/2))", Azg_FloatTensor>;
def Azg_RoundOp : Azg_UnaryOp<"round", "elementwise round half to even",
                              Azg_FloatTensor>;
def Azg_SignOp : Azg_UnaryOp<"sign", "elementwise -1, 0 or 1">;

// Activations with parameters, named and defaulted as in ONNX.
class Azg_ParamUnaryOp<string mnemonic, string summaryText, dag params>
    : Azg_SameTypeOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = summaryText;
  let arguments = !con((ins Azg_FloatTensor:$input), params);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
}
def Azg_LeakyReluOp : Azg_ParamUnaryOp<"leaky_relu", "x < 0 ? alpha * x : x",
    (ins DefaultValuedAttr<F32Attr, "0.01f">:$alpha)>;
def Azg_EluOp : Azg_ParamUnaryOp<"elu", "x < 0 ? alpha * (e^x - 1) : x",
    (ins DefaultValuedAttr<F32Attr, "1.0f">:$alpha)>;
def Azg_SeluOp : Azg_ParamUnaryOp<"selu",
    "gamma * (x <= 0 ? alpha * (e^x - 1) : x)",
    (ins DefaultValuedAttr<F32Attr, "1.67326319217681884765625f">:$alpha,
         DefaultValuedAttr<F32Attr, "1.05070102214813232421875f">:$gamma)>;
def Azg_HardSigmoidOp : Azg_ParamUnaryOp<"hard_sigmoid",
    "max(0, min(1, alpha * x + beta))",
    (ins DefaultValuedAttr<F32Attr, "0.2f">:$alpha,
         DefaultValuedAttr<F32Attr, "0.5f">:$beta)>;
def Azg_ThresholdedReluOp : Azg_ParamUnaryOp<"thresholded_relu",
    "x > alpha ? x : 0", (ins DefaultValuedAttr<F32Attr, "1.0f">:$alpha)>;
def Azg_CeluOp : Azg_ParamUnaryOp<"celu",
    "max(0, x) + min(0, alpha * (e^(x / alpha) - 1))",
    (ins DefaultValuedAttr<F32Attr, "1.0f">:$alpha)>;

def Azg_IsNanOp : Azg_Op<"isnan", [SameOperandsAndResultShape]> {
  let summary = "elementwise test for NaN";
  let arguments = (ins Azg_FloatTensor:$input);
  let results = (outs Azg_BoolTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let inferBody = [{
    inferredReturnTypes.push_back(::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType()).clone(::mlir::IntegerType::get(context, 1)));
    return ::mlir::success();
  }];
}

def Azg_IsInfOp : Azg_Op<"isinf", [SameOperandsAndResultShape]> {
  let summary = "elementwise test for infinities of the selected signs";
  let arguments = (ins Azg_FloatTensor:$input,
                       DefaultValuedAttr<BoolAttr, "true">:$detect_positive,
                       DefaultValuedAttr<BoolAttr, "true">:$detect_negative);
  let results = (outs Azg_BoolTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let inferBody = [{
    inferredReturnTypes.push_back(::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType()).clone(::mlir::IntegerType::get(context, 1)));
    return ::mlir::success();
  }];
}

def Azg_PReluOp : Azg_Op<"prelu", [SameOperandsElementType]> {
  let summary = "x < 0 ? slope * x : x, with slope broadcast to x";
  let arguments = (ins Azg_FloatTensor:$input, Azg_FloatTensor:$slope);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat =
      "$input `,` $slope attr-dict `:` functional-type(operands, results)";
  let inferBody = [{
    ::llvm::SmallVector<::mlir::Type> broadcast;
    if (::mlir::failed(::azc::azg::inferBroadcastResult(location,
            {adaptor.getInput(), adaptor.getSlope()}, nullptr, broadcast)))
      return ::mlir::failure();
    inferredReturnTypes.push_back(adaptor.getInput().getType());
    return ::mlir::success();
  }];
}

def Azg_ModOp : Azg_Op<"mod", [SameOperandsElementType]> {
  let summary = "elementwise remainder with broadcasting";
  let description = [{
    With `fmod` the result has the sign of the dividend (C's fmod),
    otherwise that of the divisor (Python's %), as in ONNX Mod.
  }];
  let arguments = (ins Azg_Tensor:$lhs, Azg_Tensor:$rhs,
                       DefaultValuedAttr<BoolAttr, "false">:$fmod);
  let results = (outs Azg_Tensor:$output);
  let hasFolder = 1;
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let inferBody = [{
    return ::azc::azg::inferBroadcastResult(location, {adaptor.getLhs(),
        adaptor.getRhs()}, nullptr, inferredReturnTypes);
  }];
}

def Azg_BitShiftOp : Azg_Op<"bit_shift", [SameOperandsElementType]> {
  let summary = "elementwise bit shift with broadcasting";
  let description = [{
    `lhs << rhs` with `left`, else `lhs >> rhs` (arithmetic on signed
    integers). A shift amount outside [0, bit width) gives 0, or -1 when
    shifting a negative signed value right; signed left shifts wrap.
  }];
  let arguments = (ins RankedTensorOf<[I8, I16, I32, I64, UI8, UI16, UI32,
                                       UI64]>:$lhs,
                       RankedTensorOf<[I8, I16, I32, I64, UI8, UI16, UI32,
                                       UI64]>:$rhs,
                       DefaultValuedAttr<BoolAttr, "true">:$left);
  let results = (outs RankedTensorOf<[I8, I16, I32, I64, UI8, UI16, UI32,
                                      UI64]>:$output);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let inferBody = [{
    return ::azc::azg::inferBroadcastResult(location, {adaptor.getLhs(),
        adaptor.getRhs()}, nullptr, inferredReturnTypes);
  }];
}

defvar Azg_IntegerTensor = RankedTensorOf<[I8, I16, I32, I64, UI8, UI16,
                                             UI32, UI64]>;

// Bitwise logic on the two's complement bits of integers (ONNX BitwiseAnd,
// BitwiseOr, BitwiseXor); the logical ops on i1 are azg.and, azg.or, azg.xor.
class Azg_BitwiseOp<string mnemonic, string summaryText>
    : Azg_BinaryOp<mnemonic, summaryText, Azg_IntegerTensor,
                   Azg_IntegerTensor> {
  let hasFolder = 0;
}
def Azg_BitwiseAndOp : Azg_BitwiseOp<"bitwise_and", "elementwise bitwise and">;
def Azg_BitwiseOrOp : Azg_BitwiseOp<"bitwise_or", "elementwise bitwise or">;
def Azg_BitwiseXorOp : Azg_BitwiseOp<"bitwise_xor",
                                     "elementwise bitwise exclusive or">;
def Azg_BitwiseNotOp : Azg_UnaryOp<"bitwise_not", "elementwise bitwise not",
                                   Azg_IntegerTensor>;

def Azg_BitcastOp : Azg_Op<"bitcast", [SameOperandsAndResultShape]> {
  let summary = "reinterprets each element's bits as another type";
  let description = [{
    ONNX BitCast: the element types have the same storage size (a boolean
    takes a byte); the bytes are kept. Reinterpreted as i1, a nonzero byte
    is true.
  }];
  let arguments = (ins Azg_Tensor:$input, TypeAttr:$to);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let inferBody = [{
    auto inputType = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    inferredReturnTypes.push_back(inputType.clone(adaptor.getTo()));
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_GeluOp : Azg_SameTypeOp<"gelu", [SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `x * Phi(x)` with the exact erf form, or with the tanh approximation
    when `tanh_approximation` is set.
  }];
  let arguments = (ins Azg_FloatTensor:$input, UnitAttr:$tanh_approximation);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
}

def Azg_ClipOp : Azg_SameTypeOp<"clip", [SameOperandsAndResultType]> {
  let summary = "clamps every element into [min, max]";
  let description = [{ A bound that is absent does not clamp. }];
  let arguments = (ins Azg_Tensor:$input, OptionalAttr<F64Attr>:$min,
                       OptionalAttr<F64Attr>:$max);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
  let hasVerifier = 1;
}

def Azg_WhereOp : Azg_Op<"where"> {
  let summary = "elementwise select with three-way broadcasting";
  let arguments = (ins Azg_BoolTensor:$condition, Azg_Tensor:$on_true,
                       Azg_Tensor:$on_false);
  let results = (outs Azg_Tensor:$output);
  let hasFolder = 1;
  let assemblyFormat =
      "$condition `,` $on_true `,` $on_false attr-dict `:` "
      "functional-type(operands, results)";
  let inferBody = [{
    return ::azc::azg::inferBroadcastResult(location, {adaptor.getCondition(),
        adaptor.getOnTrue(), adaptor.getOnFalse()},
        ::mlir::getElementTypeOrSelf(adaptor.getOnTrue().getType()),
        inferredReturnTypes);
  }];
}

def Azg_CastOp : Azg_Op<"cast", [SameOperandsAndResultShape]> {
  let summary = "converts every element to another element type";
  let description = [{
    Floats round to nearest even. Floats to integers truncate toward zero,
    saturating at 8 bits and wider; integers (and floats to 4- and 2-bit
    integers, after truncation) wrap modulo the destination's width.
    `saturate` decides what a float beyond an FP8 type's largest finite
    value becomes: that value (the default, as ONNX's), or infinity (E5M2)
    or NaN (the formats without infinity). FP4 always saturates.
    `round_mode` (`up`, `down` or `nearest`) rounds to the power of two of
    `!azg.f8E8M0FNU`, away from zero by default, as ONNX's Cast does.
  }];
  let arguments = (ins Azg_Tensor:$input, TypeAttr:$to,
                       DefaultValuedAttr<BoolAttr, "true">:$saturate,
                       DefaultValuedAttr<StrAttr, "\"up\"">:$round_mode);
  let results = (outs Azg_Tensor:$output);
  let builders = [
    OpBuilder<(ins "::mlir::TypeRange":$resultTypes, "::mlir::Value":$input,
                   "::mlir::TypeAttr":$to), [{
      build($_builder, $_state, resultTypes, input, to,
            $_builder.getBoolAttr(true), $_builder.getStringAttr("up"));
    }]>,
    OpBuilder<(ins "::mlir::Value":$input, "::mlir::TypeAttr":$to), [{
      build($_builder, $_state, input, to, $_builder.getBoolAttr(true),
            $_builder.getStringAttr("up"));
    }]>
  ];
  let hasVerifier = 1;
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let inferBody = [{
    auto inputType = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    inferredReturnTypes.push_back(inputType.clone(adaptor.getTo()));
    return ::mlir::success();
  }];
  let hasFolder = 1;
}

def Azg_DequantizeOp : Azg_Op<"dequantize"> {
  let summary = "integer codes to f32: (input - zero_point) * scale";
  let description = [{
    ONNX DequantizeLinear with f32 scales. Each element is
    `float(input - zero_point) * scale`: the difference is taken exactly in
    integers and rounded once by the product, as onnxruntime computes it.
    Which scale and zero point an element uses depends on the scale's shape:
    - one element: the whole tensor (per tensor);
    - `block_size` 0, 1-D: one per slice along `axis` (per channel);
    - `block_size` > 0: the input's rank, with dim `axis` counting blocks of
      `block_size` consecutive elements along `axis` (the last may be
      partial) and the other dims equal to the input's (blocked).
    The zero point has the scale's shape and the input's element type;
    absent, it is 0.
  }];
  let arguments = (ins RankedTensorOf<[I8, UI8, I16, UI16, I32]>:$input,
                       RankedTensorOf<[F32]>:$scale,
                       Optional<RankedTensorOf<[I8, UI8, I16, UI16, I32]>>:$zero_point,
                       DefaultValuedAttr<I64Attr, "0">:$axis,
                       DefaultValuedAttr<I64Attr, "0">:$block_size);
  let results = (outs RankedTensorOf<[F32]>:$output);
  let assemblyFormat = [{
    $input `,` $scale (`zero_point` `(` $zero_point^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let inferBody = [{
    auto inputType = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    inferredReturnTypes.push_back(
        inputType.clone(::mlir::Float32Type::get(context)));
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Reductions and normalizations
//===----------------------------------------------------------------------===//

def Azg_ReduceSumOp : Azg_ReductionOp<"reduce_sum", "sum over axes">;
def Azg_ReduceMeanOp : Azg_ReductionOp<"reduce_mean", "mean over axes">;
def Azg_ReduceMaxOp : Azg_ReductionOp<"reduce_max", "maximum over axes">;
def Azg_ReduceMinOp : Azg_ReductionOp<"reduce_min", "minimum over axes">;
def Azg_ReduceProdOp : Azg_ReductionOp<"reduce_prod", "product over axes">;
def Azg_ReduceL1Op : Azg_ReductionOp<"reduce_l1", "sum of |x| over axes">;
def Azg_ReduceL2Op : Azg_ReductionOp<"reduce_l2", "sqrt(sum of x^2) over axes">;
def Azg_ReduceLogSumOp : Azg_ReductionOp<"reduce_log_sum",
                                         "log(sum of x) over axes">;
def Azg_ReduceLogSumExpOp : Azg_ReductionOp<"reduce_log_sum_exp",
                                            "log(sum of e^x) over axes">;
def Azg_ReduceSumSquareOp : Azg_ReductionOp<"reduce_sum_square",
                                            "sum of x^2 over axes">;

class Azg_ArgReductionOp<string mnemonic, string summaryText>
    : Azg_Op<mnemonic> {
  let summary = summaryText;
  let description = [{
    The i64 index along `axis` of the extreme element; ties give the first
    index, or the last with `select_last_index`.
  }];
  let arguments = (ins Azg_Tensor:$input,
                       DefaultValuedAttr<I64Attr, "0">:$axis,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims,
                       DefaultValuedAttr<BoolAttr, "false">:$select_last_index);
  let results = (outs RankedTensorOf<[I64]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let inferBody = [{
    int64_t axis = adaptor.getAxis();
    ::llvm::SmallVector<::mlir::Type> reduced;
    if (::mlir::failed(::azc::azg::inferReduction(location, adaptor.getInput(),
            {axis}, adaptor.getKeepdims(), reduced)))
      return ::mlir::failure();
    inferredReturnTypes.push_back(::llvm::cast<::mlir::RankedTensorType>(
        reduced.front()).clone(::mlir::IntegerType::get(context, 64)));
    return ::mlir::success();
  }];
}
def Azg_ArgMaxOp : Azg_ArgReductionOp<"argmax", "index of the maximum">;
def Azg_ArgMinOp : Azg_ArgReductionOp<"argmin", "index of the minimum">;

class Azg_AxisOp<string mnemonic, string summaryText>
    : Azg_SameTypeOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = summaryText;
  let arguments = (ins Azg_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
}
def Azg_LogSoftmaxOp : Azg_AxisOp<"log_softmax", "log of softmax along an axis">;
def Azg_HardmaxOp : Azg_AxisOp<"hardmax",
    "1 at the first maximum along an axis, 0 elsewhere">;

def Azg_DetOp : Azg_Op<"det", [SameOperandsAndResultElementType]> {
  let summary = "determinants of the square matrices in the last two dims";
  let arguments = (ins Azg_FloatTensor:$input);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let inferBody = [{
    auto input = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    int64_t rank = input.getRank();
    if (rank < 2 || (!input.isDynamicDim(rank - 1) &&
                     !input.isDynamicDim(rank - 2) &&
                     input.getDimSize(rank - 1) != input.getDimSize(rank - 2))) {
      if (location)
        ::mlir::emitError(*location) << "det needs square matrices in the "
                                        "last two dims";
      return ::mlir::failure();
    }
    inferredReturnTypes.push_back(
        input.clone(input.getShape().drop_back(2)));
    return ::mlir::success();
  }];
}

def Azg_CumSumOp : Azg_SameTypeOp<"cumsum", [SameOperandsAndResultType]> {
  let summary = "cumulative sum along an axis";
  let arguments = (ins Azg_Tensor:$input, I64Attr:$axis,
                       DefaultValuedAttr<BoolAttr, "false">:$exclusive,
                       DefaultValuedAttr<BoolAttr, "false">:$reverse);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
}

def Azg_CumProdOp : Azg_SameTypeOp<"cumprod", [SameOperandsAndResultType]> {
  let summary = "cumulative product along an axis";
  let description = [{
    ONNX CumProd: with `exclusive` each element is the product of those
    before it (1 for the first); with `reverse` the products run from the
    end. Integers wrap.
  }];
  let arguments = (ins Azg_Tensor:$input, I64Attr:$axis,
                       DefaultValuedAttr<BoolAttr, "false">:$exclusive,
                       DefaultValuedAttr<BoolAttr, "false">:$reverse);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
}

def Azg_SoftmaxOp : Azg_SameTypeOp<"softmax", [SameOperandsAndResultType]> {
  let summary = "softmax along one axis";
  let arguments = (ins Azg_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
  let hasVerifier = 1;
}

def Azg_LrnOp : Azg_SameTypeOp<"lrn", [SameOperandsAndResultType]> {
  let summary = "local response normalization across channels (AlexNet)";
  let description = [{
    `x / (bias + alpha / size * sum(x^2 over the size channels around c))^beta`
    on N x C x ... tensors, the window clipped at the channel ends.
  }];
  let arguments = (ins Azg_FloatTensor:$input, I64Attr:$size,
                       DefaultValuedAttr<F32Attr, "1e-4f">:$alpha,
                       DefaultValuedAttr<F32Attr, "0.75f">:$beta,
                       DefaultValuedAttr<F32Attr, "1.0f">:$bias);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
  let hasVerifier = 1;
}

def Azg_LayerNormOp : Azg_Op<"layer_norm"> {
  let summary = "layer normalization over the dims from `axis` on";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * scale + bias`, with mean and variance
    taken over dims `axis` .. rank-1; `scale` and `bias` broadcast to those
    dims.
  }];
  let arguments = (ins Azg_FloatTensor:$input, Azg_FloatTensor:$scale,
                       Optional<Azg_FloatTensor>:$bias,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let inferBody = [{
    inferredReturnTypes.push_back(adaptor.getInput().getType());
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_RmsNormOp : Azg_Op<"rms_norm"> {
  let summary = "root-mean-square normalization over the dims from `axis` on";
  let description = [{ `x / sqrt(mean(x^2) + epsilon) * scale`. }];
  let arguments = (ins Azg_FloatTensor:$input, Azg_FloatTensor:$scale,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1e-6f">:$epsilon);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $scale attr-dict `:` functional-type(operands, results)
  }];
  let inferBody = [{
    inferredReturnTypes.push_back(adaptor.getInput().getType());
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_RotaryEmbeddingOp : Azg_Op<"rotary_embedding"> {
  let summary = "rotary position embedding of each head's leading dims";
  let description = [{
    `input` is [B, S, N, H] (or [B, N, S, H] with `heads_first`); `cos` and
    `sin` are [1 or B, S, R/2], the per-token angles already gathered, and
    R = 2 * cos.shape[2] <= H is the rotated part of each head. Pairs
    (x1, x2) of the first R elements of every head become
    (x1 * cos - x2 * sin, x1 * sin + x2 * cos): pairs are adjacent elements
    (2i, 2i+1) with `interleaved`, else elements i and i + R/2. The other
    H - R elements are copied. f16 inputs are computed in f32.
  }];
  let arguments = (ins Azg_FloatTensor:$input, Azg_FloatTensor:$cos,
                       Azg_FloatTensor:$sin,
                       DefaultValuedAttr<BoolAttr, "false">:$interleaved,
                       DefaultValuedAttr<BoolAttr, "false">:$heads_first);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $cos `,` $sin attr-dict `:` functional-type(operands, results)
  }];
  let inferBody = [{
    inferredReturnTypes.push_back(adaptor.getInput().getType());
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_AttentionOp : Azg_Op<"attention"> {
  let summary = "scaled dot-product attention over grouped-query heads";
  let description = [{
    `query` is [B, N, S, H]; `key` and `value` are [B, K, T, H] with N a
    multiple of K, and query head n reads key/value head n / (N / K). The
    result is softmax(scale * query · keyᵀ) · value, [B, N, S, H]. With
    `causal`, the S queries are the last S of the T positions: query i sits
    at position T - S + i and sees keys 0 .. T - S + i, which is a chunk
    appended to a cache of T - S tokens.
  }];
  let arguments = (ins Azg_FloatTensor:$query, Azg_FloatTensor:$key,
                       Azg_FloatTensor:$value, F32Attr:$scale,
                       DefaultValuedAttr<BoolAttr, "false">:$causal);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = [{
    $query `,` $key `,` $value attr-dict `:` functional-type(operands, results)
  }];
  let inferBody = [{
    inferredReturnTypes.push_back(adaptor.getQuery().getType());
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_LinearAttentionOp
    : Azg_Op<"linear_attention", [AttrSizedOperandSegments]> {
  let summary = "linear attention with a carried state (ONNX LinearAttention)";
  let description = [{
    `query` is [B, T, Hq * dk], `key` [B, T, Hkv * dk] and `value`
    [B, T, Hkv * dv]; each key/value head keeps a dk x dv state S (from
    `past_state`, [B, Hkv, dk, dv], or zeros) that every position t updates
    in order:
    - `gated`: S *= exp(decay_t), decay [B, T, Hkv] (per head) or
      [B, T, Hkv * dk] (per key dim, scaling S's rows);
    - `delta`: v_t = beta_t * (v_t - Sᵀ k_t), beta [B, T, Hkv] or [B, T, 1];
    - S += k_t ⊗ v_t;
    and query head h reads S of head h / (Hq / Hkv): out_t = scale * qᵀ S.
    Results: the outputs [B, T, Hq * dv] and the final state.
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$query, RankedTensorOf<[F32]>:$key,
                       RankedTensorOf<[F32]>:$value,
                       Optional<RankedTensorOf<[F32]>>:$past_state,
                       Optional<RankedTensorOf<[F32]>>:$decay,
                       Optional<RankedTensorOf<[F32]>>:$beta,
                       I64Attr:$q_num_heads, I64Attr:$kv_num_heads,
                       F32Attr:$scale,
                       DefaultValuedAttr<BoolAttr, "false">:$gated,
                       DefaultValuedAttr<BoolAttr, "false">:$delta);
  let results = (outs RankedTensorOf<[F32]>:$output,
                      RankedTensorOf<[F32]>:$present_state);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`past` `(` $past_state^ `)`)?
    (`decay` `(` $decay^ `)`)? (`beta` `(` $beta^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let inferBody = [{
    auto query = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getQuery().getType());
    auto value = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getValue().getType());
    int64_t qHeads = adaptor.getQNumHeads(), kvHeads = adaptor.getKvNumHeads();
    if (query.getRank() != 3 || value.getRank() != 3 || qHeads <= 0 ||
        kvHeads <= 0 || qHeads % kvHeads != 0 ||
        query.isDynamicDim(2) || value.isDynamicDim(2) ||
        query.getDimSize(2) % qHeads != 0 ||
        value.getDimSize(2) % kvHeads != 0) {
      if (location)
        ::mlir::emitError(*location)
            << "linear_attention needs rank-3 query and value whose last "
               "dims divide into q_num_heads and kv_num_heads heads, "
               "q_num_heads a multiple of kv_num_heads";
      return ::mlir::failure();
    }
    int64_t dk = query.getDimSize(2) / qHeads;
    int64_t dv = value.getDimSize(2) / kvHeads;
    inferredReturnTypes.push_back(query.clone(
        {query.getDimSize(0), query.getDimSize(1), qHeads * dv}));
    inferredReturnTypes.push_back(
        query.clone({query.getDimSize(0), kvHeads, dk, dv}));
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_PagedAttentionOp
    : Azg_OpBase<"paged_attention", [MemoryEffects<[MemRead, MemWrite]>,
                                     InferTypeOpAdaptorWithIsCompatible]> {
  let summary = "causal attention that appends to and reads a paged KV cache";
  let description = [{
    One layer's attention over the paged KV cache the session binds
    (`azg-page-kv-cache` forms it from `azg.attention` over a concatenated
    cache). `query` is [B, N, S, H]; `key` and `value` are the chunk's own
    [B, K, S, H]. For batch row b with p = past_lengths[b] cached tokens,
    the chunk's keys and values are first stored at positions p .. p + S - 1
    of layer `layer`'s pools, then query i attends causally to positions
    0 .. p + i as stored (so a quantized cache is read back quantized).
    Position t is in block block_table[b, t / tokens_per_block] at slot
    t % tokens_per_block; the cache's layout is the engine's, not the op's.
    Rows may have different past lengths: the positions are data, not
    shapes, so one program serves prefill and decode at any context length.
  }];
  let arguments = (ins Azg_FloatTensor:$query, Azg_FloatTensor:$key,
                       Azg_FloatTensor:$value, TensorOf<[I32]>:$block_table,
                       TensorOf<[I32]>:$past_lengths, I64Attr:$layer,
                       F32Attr:$scale);
  let results = (outs Azg_FloatTensor:$output);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $block_table `,` $past_lengths attr-dict
    `:` functional-type(operands, results)
  }];
  let inferBody = [{
    inferredReturnTypes.push_back(adaptor.getQuery().getType());
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

def Azg_ShapeOfOp : Azg_Op<"shape_of"> {
  let summary = "the shape of a tensor as a 1-D i64 tensor";
  let description = [{
    Folds to a constant once every dim of `input` is static: this is what
    turns an exporter's `Shape -> Gather -> Concat -> Reshape` chains into
    static reshapes after shape resolution.
  }];
  let arguments = (ins Azg_Tensor:$input);
  let results = (outs RankedTensorOf<[I64]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let inferBody = [{
    auto inputType = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    inferredReturnTypes.push_back(::mlir::RankedTensorType::get(
        {inputType.getRank()}, ::mlir::IntegerType::get(context, 64)));
    return ::mlir::success();
  }];
  let hasFolder = 1;
}

def Azg_RangeOp : Azg_Op<"range"> {
  let summary = "the 1-D sequence start, start+delta, ... below limit";
  let description = [{
    ONNX Range on scalar operands: `max(ceil((limit - start) / delta), 0)`
    elements. Exporters build position ids with it from a sequence length.
  }];
  let arguments = (ins Azg_Tensor:$start, Azg_Tensor:$limit,
                       Azg_Tensor:$delta);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = [{
    $start `,` $limit `,` $delta attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Azg_ReshapeOp : Azg_Op<"reshape"> {
  let summary = "reshape to the dims held in a 1-D i64 tensor";
  let description = [{
    ONNX Reshape semantics: in `shape`, `-1` stands for the one dim inferred
    from the element count and `0` copies the input's dim at that position
    (unless `allow_zero`, where 0 is a zero-sized dim). When `shape` is not a
    constant, the result has `shape`'s length in dynamic dims until folding
    makes it one.
  }];
  let arguments = (ins Azg_Tensor:$input, RankedTensorOf<[I64]>:$shape,
                       UnitAttr:$allow_zero);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat =
      "$input `,` $shape attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Azg_ExpandOp : Azg_Op<"expand"> {
  let summary = "broadcast to a shape held in a 1-D i64 tensor";
  let arguments = (ins Azg_Tensor:$input, RankedTensorOf<[I64]>:$shape);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat =
      "$input `,` $shape attr-dict `:` functional-type(operands, results)";
}

def Azg_TransposeOp : Azg_Op<"transpose"> {
  let summary = "permutes the dims: result dim i is input dim perm[i]";
  let arguments = (ins Azg_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Azg_ConcatOp : Azg_Op<"concat"> {
  let summary = "joins tensors along one axis";
  let arguments = (ins Variadic<Azg_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat =
      "$inputs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Azg_SliceOp : Azg_Op<"slice"> {
  let summary = "strided slice (ONNX Slice) with 1-D index operands";
  let description = [{
    For each `axes[i]`, takes `starts[i]` up to (not including) `ends[i]` in
    steps of `steps[i]`; negative indices count from the back and out of
    range ones are clamped, as in ONNX.
  }];
  let arguments = (ins Azg_Tensor:$input, Azg_IndexTensor:$starts,
                       Azg_IndexTensor:$ends, Azg_IndexTensor:$axes,
                       Azg_IndexTensor:$steps);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = [{
    $input `[` $starts `,` $ends `,` $axes `,` $steps `]` attr-dict `:`
    functional-type(operands, results)
  }];
  let hasFolder = 1;
}

def Azg_GatherOp : Azg_Op<"gather"> {
  let summary = "gathers slices of `data` along `axis` at `indices`";
  let description = [{
    ONNX Gather: the result shape is data.shape[:axis] + indices.shape +
    data.shape[axis+1:]; negative indices count from the back.
  }];
  let arguments = (ins Azg_Tensor:$data, Azg_IndexTensor:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat =
      "$data `[` $indices `]` attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Azg_SplitOp : Azg_Op<"split"> {
  let summary = "splits a tensor along one axis into pieces of given sizes";
  let arguments = (ins Azg_Tensor:$input, I64Attr:$axis,
                       DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Azg_Tensor>:$outputs);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($outputs)";
  let hasVerifier = 1;
}

def Azg_TriluOp : Azg_SameTypeOp<"trilu", [SameOperandsAndResultType]> {
  let summary = "keeps the upper or lower triangle of the last two dims";
  let description = [{
    Elements on or above (`upper`) / on or below diagonal `k` keep their
    value; the others become zero.
  }];
  let arguments = (ins Azg_Tensor:$input,
                       DefaultValuedAttr<BoolAttr, "true">:$upper,
                       DefaultValuedAttr<I64Attr, "0">:$k);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
}

def Azg_GatherElementsOp : Azg_Op<"gather_elements"> {
  let summary = "data[..., indices[i], ...] along `axis`, elementwise";
  let arguments = (ins Azg_Tensor:$data, Azg_IndexTensor:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat =
      "$data `[` $indices `]` attr-dict `:` functional-type(operands, results)";
  let inferBody = [{
    auto data = ::llvm::cast<::mlir::RankedTensorType>(adaptor.getData().getType());
    auto indices = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getIndices().getType());
    if (data.getRank() != indices.getRank() ||
        ::mlir::failed(::azc::azg::normalizeAxis(adaptor.getAxis(), data.getRank()))) {
      if (location)
        ::mlir::emitError(*location)
            << "gather_elements needs data and indices of equal rank and an "
               "axis in range";
      return ::mlir::failure();
    }
    inferredReturnTypes.push_back(indices.clone(data.getElementType()));
    return ::mlir::success();
  }];
}

def Azg_GatherNDOp : Azg_Op<"gather_nd"> {
  let summary = "gathers slices of `data` at index tuples (ONNX GatherND)";
  let description = [{
    The last dim of `indices` holds k indices into the dims of `data` after
    its first `batch_dims` (which `indices` shares); the result shape is
    indices.shape[:-1] + data.shape[batch_dims + k:].
  }];
  let arguments = (ins Azg_Tensor:$data, Azg_IndexTensor:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$batch_dims);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat =
      "$data `[` $indices `]` attr-dict `:` functional-type(operands, results)";
}

class Azg_ScatterOp<string mnemonic, string summaryText, dag extraArgs>
    : Azg_Op<mnemonic> {
  let summary = summaryText;
  let arguments = !con((ins Azg_Tensor:$data, Azg_IndexTensor:$indices,
                            Azg_Tensor:$updates), extraArgs,
                       (ins DefaultValuedAttr<StrAttr, "\"none\"">:$reduction));
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = [{
    $data `[` $indices `]` `,` $updates attr-dict `:`
    functional-type(operands, results)
  }];
  let inferBody = [{
    inferredReturnTypes.push_back(adaptor.getData().getType());
    return ::mlir::success();
  }];
  let hasVerifier = 1;
}

def Azg_ScatterNDOp : Azg_ScatterOp<"scatter_nd",
    "`data` with slices at index tuples replaced or combined (ONNX ScatterND)",
    (ins)> {
  let description = [{
    A copy of `data` where, for each index tuple in the last dim of
    `indices`, the addressed slice is set to (`reduction` = none) or
    combined by add, mul, max or min with the matching slice of `updates`,
    in index order.
  }];
}

def Azg_ScatterElementsOp : Azg_ScatterOp<"scatter_elements",
    "`data` with elements along `axis` replaced or combined",
    (ins DefaultValuedAttr<I64Attr, "0">:$axis)> {
  let description = [{
    ONNX ScatterElements: `updates[i]` goes to data position i with the
    `axis` coordinate replaced by `indices[i]`; `reduction` as in
    scatter_nd.
  }];
}

def Azg_TopKOp : Azg_Op<"top_k"> {
  let summary = "the k largest (or smallest) elements along an axis";
  let description = [{
    ONNX TopK with a constant k: `values` and their i64 `indices` along
    `axis`, in order (largest first, or smallest first without `largest`);
    equal values keep their index order.
  }];
  let arguments = (ins Azg_Tensor:$input, I64Attr:$k,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<BoolAttr, "true">:$largest);
  let results = (outs Azg_Tensor:$values, RankedTensorOf<[I64]>:$indices);
  let assemblyFormat =
      "$input attr-dict `:` type($input) `->` type($values) `,` type($indices)";
  let inferBody = [{
    auto input = ::llvm::cast<::mlir::RankedTensorType>(
        adaptor.getInput().getType());
    ::mlir::FailureOr<int64_t> axis = ::azc::azg::normalizeAxis(
        adaptor.getAxis(), input.getRank());
    int64_t k = adaptor.getK();
    if (::mlir::failed(axis) || k < 0 ||
        (!input.isDynamicDim(*axis) && k > input.getDimSize(*axis))) {
      if (location)
        ::mlir::emitError(*location)
            << "top_k needs an axis in range and 0 <= k <= the axis' size";
      return ::mlir::failure();
    }
    ::llvm::SmallVector<int64_t> shape(input.getShape());
    shape[*axis] = k;
    inferredReturnTypes.push_back(input.clone(shape));
    inferredReturnTypes.push_back(
        input.clone(shape, ::mlir::IntegerType::get(context, 64)));
    return ::mlir::success();
  }];
}

def Azg_PadOp : Azg_Op<"pad"> {
  let summary = "pads (or, with negative pads, crops) each dim";
  let description = [{
    `pads` holds the begin amounts of every dim, then the end amounts.
    `mode` is `constant` (fill with `value`), `reflect`, `edge` or `wrap`
    (the input repeated periodically).
  }];
  let arguments = (ins Azg_Tensor:$input, DenseI64ArrayAttr:$pads,
                       DefaultValuedAttr<StrAttr, "\"constant\"">:$mode,
                       DefaultValuedAttr<F64Attr, "0.0">:$value);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Azg_SqueezeOp : Azg_Op<"squeeze"> {
  let summary = "removes size-1 dims";
  let arguments = (ins Azg_Tensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def Azg_UnsqueezeOp : Azg_Op<"unsqueeze"> {
  let summary = "inserts size-1 dims at `axes` of the result";
  let arguments = (ins Azg_Tensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs Azg_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

include "dialects/azg/AzgDataDependentOps.td"

#endif // AZG_OPS_TD

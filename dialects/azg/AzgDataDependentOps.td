//===- AzgDataDependentOps.td - ops sized by their data ----*- tablegen -*-===//
//
// Ops whose result size depends on their operands' values. Each result
// type is the upper bound its operand shapes allow; the op's last result,
// an i64 scalar, holds the actual size of the one dim the data decides
// (Azg_DataDependentSizeOpInterface). Their inference and verifiers are in
// AzgDataDependentOps.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef AZG_DATA_DEPENDENT_OPS_TD
#define AZG_DATA_DEPENDENT_OPS_TD

include "dialects/azg/AzgInterfaces.td"

class Azg_DataDependentOp<string mnemonic, list<Trait> traits = []>
    : Azg_Op<mnemonic, !listconcat(traits, [
          DeclareOpInterfaceMethods<Azg_DataDependentSizeOpInterface>])>;

def Azg_NonZeroOp : Azg_DataDependentOp<"nonzero"> {
  let summary = "coordinates of the nonzero elements (ONNX NonZero)";
  let description = [{
    `indices` is [rank, N]: column j holds the coordinates of the j-th
    nonzero element of `input` in row-major order. N is the number of
    nonzero elements, at most the input's element count (the bound the
    type holds), and `count` holds it.
  }];
  let arguments = (ins Azg_Tensor:$input);
  let results = (outs RankedTensorOf<[I64]>:$indices,
                      0DTensorOf<[I64]>:$count);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($indices) `,` type($count)
  }];
}

def Azg_CompressOp : Azg_DataDependentOp<"compress"> {
  let summary = "the slices a boolean condition selects (ONNX Compress)";
  let description = [{
    Keeps the slices of `input` along `axis` whose entry in the rank-1
    `condition` is true, in order; without `axis`, the elements of the
    flattened input. Condition entries past the input's end must be false.
    The bound of the selected dim is the smaller of the condition's length
    and the dim's size; `count` holds how many were kept.
  }];
  let arguments = (ins Azg_Tensor:$input, Azg_BoolTensor:$condition,
                       OptionalAttr<I64Attr>:$axis);
  let results = (outs Azg_Tensor:$output, 0DTensorOf<[I64]>:$count);
  let assemblyFormat = [{
    $input `,` $condition attr-dict `:` functional-type(operands, results)
  }];
}

def Azg_UniqueOp : Azg_DataDependentOp<"unique"> {
  let summary = "the distinct slices of a tensor (ONNX Unique)";
  let description = [{
    The distinct slices of `input` along `axis` (without one, the distinct
    elements of the flattened input), in ascending order when `sorted`
    (slices compare lexicographically, NaNs last and equal to each other),
    else in order of first occurrence. `indices` holds each one's first
    occurrence and `counts` its occurrences; `inverse_indices` maps every
    slice of the input to its distinct slice. The bound of the distinct
    dim is the input's number of slices; `count` holds the actual number.
  }];
  let arguments = (ins Azg_Tensor:$input, OptionalAttr<I64Attr>:$axis,
                       DefaultValuedAttr<BoolAttr, "true">:$sorted);
  let results = (outs Azg_Tensor:$output, RankedTensorOf<[I64]>:$indices,
                      RankedTensorOf<[I64]>:$inverse_indices,
                      RankedTensorOf<[I64]>:$counts,
                      0DTensorOf<[I64]>:$count);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($output) `,` type($indices)
    `,` type($inverse_indices) `,` type($counts) `,` type($count)
  }];
}

def Azg_NonMaxSuppressionOp : Azg_DataDependentOp<"non_max_suppression"> {
  let summary = "greedy selection of boxes by score and overlap";
  let description = [{
    ONNX NonMaxSuppression with its thresholds known at build. `boxes` is
    [B, N, 4], as [y1, x1, y2, x2] (any opposite corners) or, with
    `center_point_box` 1, [x_center, y_center, width, height]; `scores` is
    [B, C, N]. For each batch and class, boxes scoring above
    `score_threshold` (when given) are taken by decreasing score (ties: the
    lower index first) and kept unless their IoU with a box already kept
    for the class exceeds `iou_threshold`, up to
    `max_output_boxes_per_class`. `selected_indices` holds the [batch,
    class, box] rows in that order: at most B * C * min(max, N), and
    `count` holds how many.
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$boxes,
                       RankedTensorOf<[F32]>:$scores,
                       DefaultValuedAttr<I64Attr, "0">:$center_point_box,
                       I64Attr:$max_output_boxes_per_class,
                       DefaultValuedAttr<F32Attr, "0.0f">:$iou_threshold,
                       OptionalAttr<F32Attr>:$score_threshold);
  let results = (outs RankedTensorOf<[I64]>:$selected_indices,
                      0DTensorOf<[I64]>:$count);
  let assemblyFormat = [{
    $boxes `,` $scores attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // AZG_DATA_DEPENDENT_OPS_TD

//===- Passes.td - azc's passes on azg -----------------------*- tablegen -*-===//
//
// Every optimization azc performs is a pass declared here, with its own flag
// and its own lit test (test/lit/passes/<flag>.mlir). The order they run in
// is decided in one place: Pipeline.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_PASSES_TD
#define AZC_PASSES_TD

include "mlir/Pass/PassBase.td"

def FoldShapes : Pass<"azg-fold-shapes", "mlir::func::FuncOp"> {
  let summary = "fold shape arithmetic and small constants";
  let description = [{
    Runs the azg folders and canonicalization patterns to a fixed point:
    `shape_of` of a static tensor becomes a constant, and the Gather /
    Unsqueeze / Concat / integer arithmetic that exporters build reshape
    targets from folds away, leaving reshapes with constant targets. Large
    tensors and weights are never folded.
  }];
  let dependentDialects = ["azc::azg::AzgDialect"];
}

def ResolveShapes : Pass<"azg-resolve-shapes", "mlir::func::FuncOp"> {
  let summary = "fix symbolic dims from the build profile and re-infer shapes";
  let description = [{
    Replaces the dynamic dims of the function's inputs with the sizes the
    build profile gives, by symbolic name (`dims=batch=8,sequence=128`) or
    per input (`input-shapes=image:1x3x224x224`), then re-infers every op's
    result type, folding shape arithmetic as it becomes constant, until
    nothing changes. A size that contradicts the model is an error naming the
    input and dim. `max-batch-size=N` sets dim 0 of every input whose dim 0
    is dynamic, named or not. Dims left unset stay dynamic.
  }];
  let options = [
    ListOption<"dims", "dims", "std::string",
               "symbolic dim sizes as NAME=SIZE">,
    ListOption<"inputShapes", "input-shapes", "std::string",
               "input shapes as NAME:D0xD1x...">,
    Option<"maxBatchSize", "max-batch-size", "int64_t", "0",
           "size for dim 0 of every input where it is dynamic">,
  ];
  let dependentDialects = ["azc::azg::AzgDialect"];
}

def PageKvCache : Pass<"azg-page-kv-cache", "mlir::func::FuncOp"> {
  let summary = "attention over a concatenated KV cache reads a paged cache";
  let description = [{
    A decoder in the KV-cache form takes each layer's cache as an input
    (`past_key_L`), concatenates the chunk's keys to it, attends, and returns
    the concatenation (`present_key_L`) for the next run to take back: every
    step copies the whole cache twice, and every sequence of a batch must
    have the same length. This pass rewrites each causal `azg.attention`
    whose keys and values are such concatenations into `azg.paged_attention`
    on layer L of a cache the runtime owns: the past inputs and present
    outputs disappear and two inputs take their place, `kv_block_table`
    (i32 [batch, max-blocks]) and `kv_past_lengths` (i32 [batch]). The
    cache's layout (layers, heads, head size, tokens per block, storage
    type) is recorded on the function as `azg.kv_cache` for the engine.
    Runs once per build, before shapes are fixed.
  }];
  let options = [
    Option<"tokensPerBlock", "tokens-per-block", "int64_t", "16",
           "tokens per cache block">,
    Option<"maxBlocks", "max-blocks", "int64_t", "0",
           "blocks one sequence may hold: the longest sequence / tokens per "
           "block, rounded up">,
    Option<"kvDtype", "kv-dtype", "std::string", "\"f32\"",
           "storage of cached keys and values: f32, fp16, bf16, int8, fp8">,
  ];
  let dependentDialects = ["azc::azg::AzgDialect"];
}

def PackWeights : Pass<"azg-pack-weights", "mlir::func::FuncOp"> {
  let summary = "store constant matmul weights as the GEMM tiles read them";
  let description = [{
    Rewrites `azg.matmul` by an f32 2-D constant that nothing else reads
    into `azg.matmul_packed`, its weight packed at build into column panels
    of 32 (each panel's K rows contiguous), so the kernel packs nothing at
    run time. Exact: the same terms are summed in the same order. An
    `azg.matmul_half` by a constant f16 or bf16 weight becomes the same op
    with panels of halves, widened as the tiles load them. Likewise
    `azg.matmul_nbits` with int8 activations and constant integer codes
    becomes `azg.matmul_nbits_packed`, its codes, scales and zero points
    regrouped into the panels the VNNI tiles read. Skipped where padding
    the last panel would cost much (N not a multiple of 32 and below 256).
  }];
  let dependentDialects = ["azc::azg::AzgDialect"];
}

def FuseElementwise : Pass<"azg-fuse-elementwise", "mlir::func::FuncOp"> {
  let summary = "recognize ops exporters spell as elementwise chains";
  let description = [{
    Exporters write GELU as `x * 0.5 * (1 + erf(x / sqrt(2)))`, SiLU as
    `x * sigmoid(x)` and, below opset 17, LayerNorm over the last dim as
    ReduceMean / Sub / Pow / ReduceMean / Add / Sqrt / Div / Mul / Add.
    Rewriting each chain to one `azg.gelu`, `azg.silu` or `azg.layer_norm`
    saves a pass over memory per op and lets `azg-fuse-epilogues` fold an
    activation into the producing matmul.
  }];
  let dependentDialects = ["azc::azg::AzgDialect"];
}

def FuseEpilogues : Pass<"azg-fuse-epilogues", "mlir::func::FuncOp"> {
  let summary = "fuse bias, residual and activation into matmul, gemm, conv";
  let description = [{
    Folds the elementwise ops that follow a matmul, gemm or conv into the
    op's epilogue: a constant bias broadcast along the last dim becomes
    `bias`, an add of a same-shaped tensor becomes `residual`, and a
    following relu, gelu, silu, sigmoid, tanh or clip becomes `activation`.
    The fused op writes its result once instead of once per elementwise op.
    Only producers with a single use are fused, so no work is duplicated.
  }];
  let dependentDialects = ["azc::azg::AzgDialect"];
}

def KeepQuantizedWeights
    : Pass<"azg-keep-quantized-weights", "mlir::func::FuncOp"> {
  let summary = "QDQ weights: matmul of a dequantized constant to matmul_nbits";
  let description = [{
    Rewrites `matmul(x, dequantize(W))` and `gemm(a, dequantize(B), c)`,
    where the dequantize (ONNX DequantizeLinear) reads constant 8-bit codes
    (int8, uint8, or int4 / uint4 unpacked at import) with a constant scale
    and zero point, into `azg.matmul_nbits` over the same codes: signed
    codes and zero points are shifted by 128 (8 for 4-bit ones) to the
    kernel's unsigned codes, per-tensor and per-channel scales repeat in
    every block along K, and a blocked scale (opset 21 `block_size`) keeps
    its blocks when the kernel's block size (a power of 2 from 16 to 256,
    the one storing fewest bytes) divides them. Each weight is then
    `float(code - zero_point) * scale` as before, so the product is
    unchanged but for summation order, and the engine stores 8 (or, when
    every code fits, 4) bits a weight instead of an f32 copy. Weights the
    kernel cannot hold keep their dequantize.
  }];
  let dependentDialects = ["azc::azg::AzgDialect"];
}

def QuantizeWeights : Pass<"azg-quantize-weights", "mlir::func::FuncOp"> {
  let summary = "quantization of matmul and gemm weights (and static inputs)";
  let description = [{
    Rewrites every `azg.matmul` and `azg.gemm` whose right-hand operand is a
    constant f32 matrix (directly, or through a 2-D transpose) into
    `azg.matmul_nbits`: the weight is quantized round-to-nearest in blocks of
    `group-size` along K, symmetric or with a zero point per block, and
    stored as packed codes with one scale per block. Epilogues (bias,
    residual, activation) carry over. Modes: `int4` (4-bit codes), `int8_wo`
    (8-bit codes), `w4a8` (4-bit codes, activations quantized to int8 per
    block at run time: the kernel's accuracy level 4), `int4_gptq` (4-bit
    codes chosen by GPTQ from the second moments of each product's inputs
    on calibration data, which the driver collects and hands to the pass;
    `gptq-damp`, `act-order`), `int4_awq` (4-bit codes of the weight scaled
    per input channel by a power of the calibration inputs' mean magnitude,
    the power searched per product; the input is divided by the same
    scales before the product), `int8` (static W8A8: symmetric 8-bit weight
    codes, and the input quantized to int8 with one scale, amax / 127, amax
    the calibrated range of the product's input), `nf4` (QLoRA's
    NormalFloat4 codes scaled by each block's absmax, the scales
    double-quantized to int8 with `double-quant`), `fp8` (E4M3 weight
    codes scaled by amax / 448 per block, and the input quantized to E4M3
    with the calibrated amax / 448). With `outlier-threshold`, `int8`
    decomposes as LLM.int8() does: the input channels whose calibrated
    max |x| reaches the threshold, and their weight rows, make an f32
    product added to the int8 product of the rest. Weights whose name
    matches an `exclude` glob keep full precision. It runs once, before
    shapes are fixed, since it only reads weights.
  }];
  let options = [
    Option<"mode", "mode", "std::string", "\"int4\"",
           "int4, int8_wo, w4a8, int4_gptq, int4_awq, int8, nf4 or fp8">,
    Option<"groupSize", "group-size", "int64_t", "32",
           "codes sharing a scale along K (a power of two >= 16)">,
    Option<"symmetric", "symmetric", "bool", "false",
           "no zero points: scale only">,
    ListOption<"exclude", "exclude", "std::string",
               "weight-name globs to leave unquantized">,
    Option<"halfScales", "half-scales", "bool", "false",
           "store scales as f16 (4.6 instead of 5.1 bits a 4-bit weight)">,
    Option<"gptqDamp", "gptq-damp", "double", "0.01",
           "int4_gptq: diagonal damping, a fraction of the mean diagonal">,
    Option<"actOrder", "act-order", "bool", "true",
           "int4_gptq: quantize inputs in decreasing energy">,
    Option<"doubleQuant", "double-quant", "bool", "true",
           "nf4: store the block scales as int8 per group of 256">,
    Option<"outlierThreshold", "outlier-threshold", "double", "0",
           "int8: input channels whose calibrated max |x| reaches this stay "
           "f32 with their weight rows (LLM.int8()); 0: none">,
  ];
  let dependentDialects = ["azc::azg::AzgDialect"];
}

def WidenHalfCompute : Pass<"azg-widen-half-compute", "mlir::func::FuncOp"> {
  let summary = "f16/bf16 tensors computed on by f32 kernels, through casts";
  let description = [{
    Every arithmetic op with an f16 or bf16 operand or result gets its
    16-bit operands cast to f32 and its 16-bit results computed in f32 and
    cast back, so 16-bit models keep their storage and per-op rounding
    while running on the f32 kernels. Data movement keeps 16-bit operands.
  }];
  let dependentDialects = ["azc::azg::AzgDialect"];
}

def SmoothActivations : Pass<"azg-smooth-activations", "mlir::func::FuncOp"> {
  let summary = "SmoothQuant: move activation outliers into the weights";
  let description = [{
    SmoothQuant (Xiao et al., 2023): a few input channels of a transformer's
    products carry values far larger than the rest, and a per-tensor int8
    scale sized for them rounds everything else to a handful of levels. For
    each group of matmuls and gemms with a constant weight that share an
    input, channel k of the input is divided by
    s_k = max|x_k|^alpha / max|W_k|^(1 - alpha) (max|x_k| from calibration,
    max|W_k| over row k of every weight of the group) and row k of each
    weight multiplied by it: the product is unchanged, the input's range is
    evened out, and the weights absorb a share set by `alpha`. The
    division folds into a preceding LayerNorm or RMSNorm when there is
    one, else it is a mul. Then `azg-quantize-weights` in mode int8
    quantizes, with ranges calibrated on the smoothed model. Without
    statistics from the driver, a product's `azg.input_channel_max` array
    attribute gives max|x_k|.
  }];
  let options = [
    Option<"alpha", "alpha", "double", "0.5",
           "migration strength: 0 keeps the input, 1 moves it all">,
    ListOption<"exclude", "exclude", "std::string",
               "weight-name globs to leave alone">,
  ];
  let dependentDialects = ["azc::azg::AzgDialect"];
}

#endif // AZC_PASSES_TD

// The modes of azg-quantize-weights that quantize more than integer weight
// codes: `int8` (static W8A8: symmetric 8-bit weights, and the input
// rounded to int8 with one calibrated scale), `fp8` (E4M3 weights, and the
// input rounded to E4M3 with one calibrated scale) and `nf4` (NormalFloat4
// weight codes, scales double-quantized to int8). The input's calibrated
// range comes from the driver's statistics, or here from the product's
// `azg.input_range` attribute.
// RUN: azc-opt --azg-quantize-weights="mode=int8 group-size=16" %s | FileCheck %s --check-prefix=INT8
// RUN: azc-opt --azg-quantize-weights="mode=fp8 group-size=16" %s | FileCheck %s --check-prefix=FP8
// RUN: azc-opt --azg-quantize-weights="mode=nf4 group-size=16" %s | FileCheck %s --check-prefix=NF4
// RUN: azc-opt --azg-quantize-weights="mode=nf4 group-size=16 double-quant=false" %s | FileCheck %s --check-prefix=NF4-F32
// RUN: azc-opt --azg-quantize-weights="mode=bf16" %s | FileCheck %s --check-prefix=BF16
// RUN: azc-opt --azg-quantize-weights="mode=fp16" %s | FileCheck %s --check-prefix=FP16
// RUN: not azc-opt --azg-quantize-weights="mode=int8 group-size=512" %s 2>&1 | FileCheck %s --check-prefix=GROUP

// The input's range is 2.54: int8 maps it to 127 steps of 0.02, E4M3 to its
// largest value 448, a scale of 2.54 / 448 = 0.0056696.
// INT8-LABEL: func.func @linear
// INT8: azg.matmul_nbits %arg0, %{{.*}}, %{{.*}} {K = 32 : i64, N = 2 : i64, {{.*}}bits = 8 : i64, block_size = 16 : i64, input_format = "int8", input_scale = 2.000000e-02 : f32}
// INT8-SAME: (tensor<2x32xf32>, tensor<2x2x16xui8>, tensor<2x2xf32>) -> tensor<2x2xf32>
// FP8-LABEL: func.func @linear
// FP8: azg.matmul_nbits %arg0, %{{.*}}, %{{.*}} {{{.*}}input_format = "fp8_e4m3", input_scale = 0.0056696{{[0-9]*}} : f32, weight_format = "fp8_e4m3"}
// FP8-SAME: (tensor<2x32xf32>, tensor<2x2x16xui8>, tensor<2x2xf32>)
// Column 0's blocks have absmax 8, column 1's 1: four scales in one group of
// 256, offset their mean 4.5 (0x40900000), step 3.5 / 127 = 0.027559
// (0x3CE1C387), codes 127, 127, -127, -127 (0x7F7F8181). Codes: -8 / 8 = -1
// is NF4 code 0, 7 / 8 = 0.875 lies nearest 1.0 (code 15), 0 is code 7.
// NF4-LABEL: func.func @linear
// NF4: azg.matmul_nbits %arg0, %{{.*}}, %{{.*}} scale_steps(%{{.*}}) {{{.*}}bits = 4 : i64, block_size = 16 : i64, weight_format = "nf4"}
// NF4-SAME: (tensor<2x32xf32>, tensor<2x2x8xui8>, tensor<2x2xi8>, tensor<1x2xf32>)
// NF4: q_fc.weight.q4.scales: "0x080000007F7F8181"
// NF4: q_fc.weight.q4.scale_steps: "0x0800000087C3E13C00009040"
// NF4-F32: azg.matmul_nbits %arg0, %{{.*}}, %{{.*}} {{{.*}}weight_format = "nf4"}
// NF4-F32-SAME: (tensor<2x32xf32>, tensor<2x2x8xui8>, tensor<2x2xf32>)
// fp16 and bf16 keep one 16-bit float per weight, stored [N, K] for
// azg.matmul_half; small integers are exact in bfloat16, so the weight
// error is 0.
// BF16-LABEL: func.func @linear
// BF16: %[[W:.*]] = azg.weight "fc.weight.bf16" dense_resource<q_fc.weight.bf16> : tensor<2x32xbf16>
// BF16: azg.matmul_half %arg0, %[[W]] {azg.quant_source = "fc.weight", azg.quant_weight_error = 0.000000e+00 : f64} : (tensor<2x32xf32>, tensor<2x32xbf16>) -> tensor<2x2xf32>
// FP16-LABEL: func.func @linear
// FP16: %[[W:.*]] = azg.weight "fc.weight.f16" dense_resource<q_fc.weight.f16> : tensor<2x32xf16>
// FP16: azg.matmul_half %arg0, %[[W]] {{.*}} : (tensor<2x32xf32>, tensor<2x32xf16>) -> tensor<2x2xf32>
// GROUP: int8 needs a group size of at most 256 (the int8 kernel's blocks), got 512
func.func @linear(%x: tensor<2x32xf32>) -> tensor<2x2xf32> {
  %w = azg.weight "fc.weight" dense<[[-8.0, 1.0], [-7.0, 1.0], [-6.0, 1.0], [-5.0, 1.0], [-4.0, 1.0], [-3.0, 1.0], [-2.0, 1.0], [-1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0], [4.0, 1.0], [5.0, 1.0], [6.0, 1.0], [7.0, 1.0], [-8.0, 1.0], [-7.0, 1.0], [-6.0, 1.0], [-5.0, 1.0], [-4.0, 1.0], [-3.0, 1.0], [-2.0, 1.0], [-1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0], [4.0, 1.0], [5.0, 1.0], [6.0, 1.0], [7.0, -1.0]]> : tensor<32x2xf32>
  %0 = azg.matmul %x, %w {azg.input_range = 2.54 : f64} : (tensor<2x32xf32>, tensor<32x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// LLM.int8() (`outlier-threshold`): input channels 1 and 3 reach the
// threshold 6 in calibration, so they and weight rows 1 and 3 make an f32
// product; channels 0 and 2, and rows 0 and 2, the int8 product, whose
// input range is the largest of their maxima (2.54, not the 9.0 of the
// outliers) and whose residual is the f32 product.
// RUN: azc-opt --azg-quantize-weights="mode=int8 group-size=16 outlier-threshold=6" %s | FileCheck %s --check-prefix=OUTLIERS
// RUN: not azc-opt --azg-quantize-weights="mode=int4 outlier-threshold=6" %s 2>&1 | FileCheck %s --check-prefix=OUTLIERS-MODE
// OUTLIERS-LABEL: func.func @outliers
// OUTLIERS: %[[OW:.*]] = azg.weight "w.outlier_rows" {{.*}} : tensor<2x3xf32>
// OUTLIERS: %[[OI:.*]] = azg.constant dense<[1, 3]> : tensor<2xi64>
// OUTLIERS: %[[OX:.*]] = azg.gather %arg0[%[[OI]]] {axis = 1 : i64} : (tensor<5x4xf32>, tensor<2xi64>) -> tensor<5x2xf32>
// OUTLIERS: %[[OP:.*]] = azg.matmul %[[OX]], %[[OW]] : (tensor<5x2xf32>, tensor<2x3xf32>) -> tensor<5x3xf32>
// OUTLIERS: %[[RI:.*]] = azg.constant dense<[0, 2]> : tensor<2xi64>
// OUTLIERS: %[[RX:.*]] = azg.gather %arg0[%[[RI]]] {axis = 1 : i64} : (tensor<5x4xf32>, tensor<2xi64>) -> tensor<5x2xf32>
// OUTLIERS: azg.matmul_nbits %[[RX]], %{{.*}}, %{{.*}} residual(%[[OP]]) {K = 2 : i64, N = 3 : i64, {{.*}}input_format = "int8", input_scale = 2.000000e-02 : f32}
// OUTLIERS-MODE: the outlier threshold (LLM.int8()) applies to mode int8 and must be positive, got 6.000000e+00 with mode int4
func.func @outliers(%x: tensor<5x4xf32>) -> tensor<5x3xf32> {
  %w = azg.weight "w" dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [1.0, 0.5, 0.25]]> : tensor<4x3xf32>
  %0 = azg.matmul %x, %w {azg.input_range = 9.0 : f64, azg.input_channel_max = array<f64: 2.54, 9.0, 1.0, 6.0>} : (tensor<5x4xf32>, tensor<4x3xf32>) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

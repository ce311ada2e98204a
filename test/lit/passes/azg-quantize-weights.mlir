// azg-quantize-weights stores the constant weights of matmul and gemm in 4 or
// 8 bits, one scale (and zero point) per block of `group-size` values along
// K, and computes the product with azg.matmul_nbits.
// RUN: azc-opt --azg-quantize-weights="mode=int4 group-size=16 symmetric=true" %s | FileCheck %s --check-prefix=SYM
// RUN: azc-opt --azg-quantize-weights="mode=int4 group-size=16" %s | FileCheck %s --check-prefix=ASYM
// RUN: azc-opt --azg-quantize-weights="mode=int8_wo group-size=32 symmetric=true" %s | FileCheck %s --check-prefix=INT8
// RUN: azc-opt --azg-quantize-weights="mode=w4a8 exclude=lm_head*" %s | FileCheck %s --check-prefix=W4A8

// Column 0 of the weight counts -8..7 twice, column 1 is all ones but for a
// final -1. The product's epilogue (bias, relu) moves to the new op, which
// reads packed codes [N, blocks, 16 * bits / 8] and scales [N, blocks].
// The op also carries, for the build's report, its weight's name and the
// relative RMS error of the rounded weight: symmetric codes miss only the
// final -1 (by 0.125, see below) among weights whose squares sum to 720,
// sqrt(0.125^2 / 720) = 0.004658.
// SYM-LABEL: func.func @linear
// SYM: %[[B:.*]] = azg.constant dense<5.000000e-01> : tensor<2xf32>
// SYM: %[[Q:.*]] = azg.weight "fc.weight.q4" dense_resource<q_fc.weight.q4> : tensor<2x2x8xui8>
// SYM: %[[S:.*]] = azg.weight "fc.weight.q4.scales" dense_resource<q_fc.weight.q4.scales> : tensor<2x2xf32>
// SYM: azg.matmul_nbits %arg0, %[[Q]], %[[S]] bias(%[[B]]) {K = 32 : i64, N = 2 : i64, activation = #azg<activation relu>, azg.quant_source = "fc.weight", azg.quant_weight_error = 0.004658{{[0-9]*}} : f64, bits = 4 : i64, block_size = 16 : i64}
// SYM-SAME: (tensor<2x32xf32>, tensor<2x2x8xui8>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
// ASYM-LABEL: func.func @linear
// ASYM: azg.matmul_nbits %arg0, %{{.*}}, %{{.*}} zero_points(%{{.*}}) bias(%{{.*}})
// INT8-LABEL: func.func @linear
// INT8: azg.matmul_nbits {{.*}} {K = 32 : i64, N = 2 : i64, activation = #azg<activation relu>, azg.quant_source = "fc.weight", azg.quant_weight_error = {{.*}}, bits = 8 : i64, block_size = 32 : i64} : (tensor<2x32xf32>, tensor<2x1x32xui8>, tensor<2x1xf32>, tensor<2xf32>)
func.func @linear(%x: tensor<2x32xf32>) -> tensor<2x2xf32> {
  %w = azg.weight "fc.weight" dense<[[-8.0, 1.0], [-7.0, 1.0], [-6.0, 1.0], [-5.0, 1.0], [-4.0, 1.0], [-3.0, 1.0], [-2.0, 1.0], [-1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0], [4.0, 1.0], [5.0, 1.0], [6.0, 1.0], [7.0, 1.0], [-8.0, 1.0], [-7.0, 1.0], [-6.0, 1.0], [-5.0, 1.0], [-4.0, 1.0], [-3.0, 1.0], [-2.0, 1.0], [-1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0], [4.0, 1.0], [5.0, 1.0], [6.0, 1.0], [7.0, -1.0]]> : tensor<32x2xf32>
  %b = azg.constant dense<0.5> : tensor<2xf32>
  %0 = azg.matmul %x, %w bias(%b) {activation = #azg<activation relu>} : (tensor<2x32xf32>, tensor<32x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// gemm(a, B^T) + c: a constant row c becomes the bias, B is read transposed.
// W4A8 also asks the kernel for int8 activations (accuracy_level 4), and
// the default group size is 32. Weights named by `exclude` stay f32.
// W4A8-LABEL: func.func @classifier
// W4A8: %[[H:.*]] = azg.matmul_nbits %arg0, %{{.*}}, %{{.*}} zero_points(%{{.*}}) bias(%{{.*}}) {K = 64 : i64, N = 16 : i64, accuracy_level = 4 : i64, azg.quant_source = "dense.weight", azg.quant_weight_error = {{.*}}, bits = 4 : i64, block_size = 32 : i64} : (tensor<4x64xf32>, tensor<16x2x16xui8>, tensor<16x2xf32>, tensor<16x1xui8>, tensor<16xf32>)
// W4A8: azg.matmul %[[H]], %{{.*}} : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
func.func @classifier(%x: tensor<4x64xf32>) -> tensor<4x8xf32> {
  %w = azg.weight "dense.weight" dense<0.25> : tensor<16x64xf32>
  %c = azg.constant dense<1.0> : tensor<16xf32>
  %h = azg.gemm %x, %w, %c {trans_b = true} : (tensor<4x64xf32>, tensor<16x64xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %head = azg.weight "lm_head.weight" dense<0.5> : tensor<16x8xf32>
  %y = azg.matmul %h, %head : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// Products of two activations have no weight to quantize.
// SYM-LABEL: func.func @attention_scores
// SYM: azg.matmul %arg0, %arg1
func.func @attention_scores(%q: tensor<4x16xf32>, %k: tensor<16x4xf32>) -> tensor<4x4xf32> {
  %0 = azg.matmul %q, %k : (tensor<4x16xf32>, tensor<16x4xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// The codes and scales, as stored (after the blob's 4-byte alignment word).
// Symmetric: column 0's scale is -8 / -8 = 1 and its codes are x + 8, two
// per byte, low nibble first; column 1's largest magnitude is +1, so its
// scale is 1 / -8 = -0.125 (0xBE000000) and 1 is code 0; the final -1
// clamps to code 15.
// SYM: q_fc.weight.q4: "0x080000001032547698BADCFE1032547698BADCFE000000000000000000000000000000F0"
// SYM: q_fc.weight.q4.scales: "0x080000000000803F0000803F000000BE000000BE"
// Asymmetric: column 1's first block spans [0, 1] (scale 1/15, zero point
// 0, ones are code 15); its second spans [-1, 1] (scale 2/15, zero point
// round(7.49) = 7).
// ASYM: q_fc.weight.q4: "0x080000001032547698BADCFE1032547698BADCFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF0F"
// ASYM: q_fc.weight.q4.scales: "0x080000000000803F0000803F8988883D8988083E"
// ASYM: q_fc.weight.q4.zero_points: "0x080000008870"

// azg-smooth-activations (SmoothQuant) divides each input channel k of the
// products that share an input by s_k = max|x_k|^alpha / max|W_k|^(1-alpha)
// and multiplies row k of their weights by it: the products are unchanged,
// the input's range evens out. The division folds into the LayerNorm that
// makes the input. Without the driver's calibration statistics, the
// `azg.input_channel_max` attribute gives max|x_k|.
// RUN: azc-opt --azg-smooth-activations="alpha=0.5" %s | FileCheck %s
// RUN: azc-opt --azg-smooth-activations="alpha=0.5 exclude=k.*" %s | FileCheck %s --check-prefix=EXCLUDE
// RUN: not azc-opt --azg-smooth-activations="alpha=1.5" %s 2>&1 | FileCheck %s --check-prefix=ALPHA

// max|x| = [8, 1, 2, 0.5]; max|W| over both weights = [1, 2, 0.5, 4]; with
// alpha = 0.5, s = sqrt(max|x| / max|W|) = [2.828427, 0.707107, 2, 0.353553].
// The norm's scale (all 1) and bias (all 0.5) become 1/s and 0.5/s, and row
// k of each weight is multiplied by s_k. The values are the resources' f32
// little-endian bytes, as numpy computes them:
//   1/s   = [0.353553, 1.414214, 0.5, 2.828427]
//   0.5/s = [0.176777, 0.707107, 0.25, 1.414214]
//   q * s = [[2.828427, 2.828427], [1.414214, 0.707107], [1, 1],
//            [0.353553, 1.414214]]
// The matmuls lose their channel ranges: they were of the unsmoothed input.
// CHECK-LABEL: func.func @attention_input
// CHECK: %[[N:.*]] = azg.layer_norm %arg0
// CHECK-NOT: azg.mul
// CHECK: azg.matmul %[[N]], %{{[0-9]+}} :
// CHECK: azg.matmul %[[N]], %{{[0-9]+}} :
// CHECK: q_folded_input_scale: "0x08000000F304B53EF304B53F0000003FF3043540"
// CHECK: q_folded_input_bias: "0x08000000F304353EF304353F0000803EF304B53F"
// CHECK: q_q.weight: "0x08000000F3043540F3043540F304B53FF304353F0000803F0000803FF304B53EF304B53F"
// Excluding k: q alone is smoothed, and its division stays a mul since the
// norm also feeds k unchanged.
// EXCLUDE-LABEL: func.func @attention_input
// EXCLUDE: %[[S:.*]] = azg.weight "q.weight.smoothquant_input_scale"
// EXCLUDE: azg.mul %{{.*}}, %[[S]]
// EXCLUDE-NOT: azg.weight "k.weight.smoothquant_input_scale"
// ALPHA: smoothquant alpha must be in [0, 1], got 1.5
func.func @attention_input(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %g = azg.constant dense<1.0> : tensor<4xf32>
  %b = azg.constant dense<0.5> : tensor<4xf32>
  %n = azg.layer_norm %x, %g, %b : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %wq = azg.weight "q.weight" dense<[[1.0, 1.0], [2.0, 1.0], [0.5, 0.5], [1.0, 4.0]]> : tensor<4x2xf32>
  %wk = azg.weight "k.weight" dense<[[-1.0, 0.5], [1.0, 1.0], [0.25, 0.5], [2.0, 1.0]]> : tensor<4x2xf32>
  %q = azg.matmul %n, %wq {azg.input_channel_max = array<f64: 8.0, 1.0, 2.0, 0.5>} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  %k = azg.matmul %n, %wk {azg.input_channel_max = array<f64: 8.0, 1.0, 2.0, 0.5>} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %q, %k : tensor<3x2xf32>, tensor<3x2xf32>
}

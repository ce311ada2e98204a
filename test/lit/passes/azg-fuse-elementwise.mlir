// azg-fuse-elementwise rewrites the elementwise spellings of GELU and SiLU
// that exporters emit into single ops.
// RUN: azc-opt --azg-fuse-elementwise %s | FileCheck %s

// PyTorch's export of nn.GELU(): x * 0.5 * (1 + erf(x / sqrt(2))).
// CHECK-LABEL: func.func @gelu_torch
// CHECK-NEXT: %[[G:.*]] = azg.gelu %arg0 : tensor<2x64xf32>
// CHECK-NEXT: return %[[G]]
func.func @gelu_torch(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %sqrt2 = azg.constant dense<1.41421354> : tensor<f32>
  %one = azg.constant dense<1.0> : tensor<f32>
  %half = azg.constant dense<0.5> : tensor<f32>
  %0 = azg.div %x, %sqrt2 : (tensor<2x64xf32>, tensor<f32>) -> tensor<2x64xf32>
  %1 = azg.erf %0 : tensor<2x64xf32>
  %2 = azg.add %1, %one : (tensor<2x64xf32>, tensor<f32>) -> tensor<2x64xf32>
  %3 = azg.mul %x, %2 : (tensor<2x64xf32>, tensor<2x64xf32>) -> tensor<2x64xf32>
  %4 = azg.mul %3, %half : (tensor<2x64xf32>, tensor<f32>) -> tensor<2x64xf32>
  return %4 : tensor<2x64xf32>
}

// Another association: (0.5 * x) * (erf(x * 1/sqrt(2)) + 1).
// CHECK-LABEL: func.func @gelu_reassociated
// CHECK: azg.gelu
// CHECK-NOT: azg.erf
func.func @gelu_reassociated(%x: tensor<8xf32>) -> tensor<8xf32> {
  %rsqrt2 = azg.constant dense<0.707106769> : tensor<f32>
  %one = azg.constant dense<1.0> : tensor<f32>
  %half = azg.constant dense<0.5> : tensor<f32>
  %h = azg.mul %half, %x : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %0 = azg.mul %x, %rsqrt2 : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %1 = azg.erf %0 : tensor<8xf32>
  %2 = azg.add %one, %1 : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %3 = azg.mul %h, %2 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %3 : tensor<8xf32>
}

// Not GELU: the erf argument is scaled by 2, not 1/sqrt(2).
// CHECK-LABEL: func.func @not_gelu
// CHECK-NOT: azg.gelu
// CHECK: azg.erf
func.func @not_gelu(%x: tensor<8xf32>) -> tensor<8xf32> {
  %two = azg.constant dense<2.0> : tensor<f32>
  %one = azg.constant dense<1.0> : tensor<f32>
  %half = azg.constant dense<0.5> : tensor<f32>
  %0 = azg.mul %x, %two : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %1 = azg.erf %0 : tensor<8xf32>
  %2 = azg.add %1, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %3 = azg.mul %x, %2 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %4 = azg.mul %3, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %4 : tensor<8xf32>
}

// CHECK-LABEL: func.func @silu
// CHECK-NEXT: %[[S:.*]] = azg.silu %arg0
// CHECK-NEXT: return %[[S]]
func.func @silu(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = azg.sigmoid %x : tensor<4x8xf32>
  %1 = azg.mul %0, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// LayerNorm over the last dim as PyTorch exports it below opset 17.
// CHECK-LABEL: func.func @layer_norm_torch
// CHECK: %[[G:.*]] = azg.weight "ln.weight"
// CHECK: %[[B:.*]] = azg.weight "ln.bias"
// CHECK: %[[LN:.*]] = azg.layer_norm %arg0, %[[G]], %[[B]] :
// CHECK-NEXT: return %[[LN]]
func.func @layer_norm_torch(%x: tensor<2x8x32xf32>, %gamma: tensor<32xf32>, %beta: tensor<32xf32>) -> tensor<2x8x32xf32> {
  %two = azg.constant dense<2.0> : tensor<f32>
  %eps = azg.constant dense<1.0e-5> : tensor<f32>
  %g = azg.weight "ln.weight" dense<1.5> : tensor<32xf32>
  %b = azg.weight "ln.bias" dense<0.5> : tensor<32xf32>
  %mean = azg.reduce_mean %x {axes = array<i64: -1>} : tensor<2x8x32xf32> -> tensor<2x8x1xf32>
  %d = azg.sub %x, %mean : (tensor<2x8x32xf32>, tensor<2x8x1xf32>) -> tensor<2x8x32xf32>
  %sq = azg.pow %d, %two : (tensor<2x8x32xf32>, tensor<f32>) -> tensor<2x8x32xf32>
  %var = azg.reduce_mean %sq {axes = array<i64: -1>} : tensor<2x8x32xf32> -> tensor<2x8x1xf32>
  %ve = azg.add %var, %eps : (tensor<2x8x1xf32>, tensor<f32>) -> tensor<2x8x1xf32>
  %std = azg.sqrt %ve : tensor<2x8x1xf32>
  %n = azg.div %d, %std : (tensor<2x8x32xf32>, tensor<2x8x1xf32>) -> tensor<2x8x32xf32>
  %m = azg.mul %n, %g : (tensor<2x8x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  %y = azg.add %m, %b : (tensor<2x8x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// Normalizing over a dim other than the last is not a LayerNorm of azg's.
// CHECK-LABEL: func.func @not_layer_norm
// CHECK-NOT: azg.layer_norm
func.func @not_layer_norm(%x: tensor<2x8x32xf32>) -> tensor<2x8x32xf32> {
  %two = azg.constant dense<2.0> : tensor<f32>
  %eps = azg.constant dense<1.0e-5> : tensor<f32>
  %g = azg.weight "ln.weight" dense<1.5> : tensor<32xf32>
  %b = azg.weight "ln.bias" dense<0.5> : tensor<32xf32>
  %mean = azg.reduce_mean %x {axes = array<i64: 1>} : tensor<2x8x32xf32> -> tensor<2x1x32xf32>
  %d = azg.sub %x, %mean : (tensor<2x8x32xf32>, tensor<2x1x32xf32>) -> tensor<2x8x32xf32>
  %sq = azg.pow %d, %two : (tensor<2x8x32xf32>, tensor<f32>) -> tensor<2x8x32xf32>
  %var = azg.reduce_mean %sq {axes = array<i64: 1>} : tensor<2x8x32xf32> -> tensor<2x1x32xf32>
  %ve = azg.add %var, %eps : (tensor<2x1x32xf32>, tensor<f32>) -> tensor<2x1x32xf32>
  %std = azg.sqrt %ve : tensor<2x1x32xf32>
  %n = azg.div %d, %std : (tensor<2x8x32xf32>, tensor<2x1x32xf32>) -> tensor<2x8x32xf32>
  %m = azg.mul %n, %g : (tensor<2x8x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  %y = azg.add %m, %b : (tensor<2x8x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

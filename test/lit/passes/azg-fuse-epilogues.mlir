// azg-fuse-epilogues moves bias adds, residual adds and activations into the
// matmul, gemm or conv that produces their input.
// RUN: azc-opt --azg-fuse-epilogues %s | FileCheck %s

// A transformer FFN: matmul + bias + GELU, then matmul + bias + residual.
// CHECK-LABEL: func.func @ffn
func.func @ffn(%x: tensor<2x8x32xf32>, %w1: tensor<32x64xf32>, %w2: tensor<64x32xf32>) -> tensor<2x8x32xf32> {
  // CHECK: %[[B1:.*]] = azg.constant dense<1.000000e-01> : tensor<64xf32>
  // CHECK: %[[B2:.*]] = azg.constant dense<2.000000e-01> : tensor<32xf32>
  %b1 = azg.constant dense<0.1> : tensor<64xf32>
  %b2 = azg.constant dense<0.2> : tensor<32xf32>
  // CHECK: %[[H:.*]] = azg.matmul %arg0, %arg1 bias(%[[B1]]) {activation = #azg<activation gelu>}
  %0 = azg.matmul %x, %w1 : (tensor<2x8x32xf32>, tensor<32x64xf32>) -> tensor<2x8x64xf32>
  %1 = azg.add %0, %b1 : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  %2 = azg.gelu %1 : tensor<2x8x64xf32>
  // CHECK: %[[O:.*]] = azg.matmul %[[H]], %arg2 bias(%[[B2]]) residual(%arg0)
  %3 = azg.matmul %2, %w2 : (tensor<2x8x64xf32>, tensor<64x32xf32>) -> tensor<2x8x32xf32>
  %4 = azg.add %3, %b2 : (tensor<2x8x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  %5 = azg.add %x, %4 : (tensor<2x8x32xf32>, tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  // CHECK-NEXT: return %[[O]]
  return %5 : tensor<2x8x32xf32>
}

// A ResNet block tail: conv + residual + relu is one conv.
// CHECK-LABEL: func.func @resnet_block
// CHECK: %[[C:.*]] = azg.conv %arg0, %arg1 residual(%arg0) {activation = #azg<activation relu>
// CHECK-NEXT: return %[[C]]
func.func @resnet_block(%x: tensor<1x8x4x4xf32>, %w: tensor<8x8x3x3xf32>) -> tensor<1x8x4x4xf32> {
  %0 = azg.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
      : (tensor<1x8x4x4xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x4x4xf32>
  %1 = azg.add %0, %x : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %2 = azg.relu %1 : tensor<1x8x4x4xf32>
  return %2 : tensor<1x8x4x4xf32>
}

// MobileNet's ReLU6 is a clip activation.
// CHECK-LABEL: func.func @relu6
// CHECK: azg.gemm {{.*}}activation = #azg<activation clip>, clip_max = 6.000000e+00 : f32, clip_min = 0.000000e+00 : f32
func.func @relu6(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %0 = azg.gemm %a, %b : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %1 = azg.clip %0 {min = 0.0 : f64, max = 6.0 : f64} : tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// A producer with a second user keeps its value: nothing fuses.
// CHECK-LABEL: func.func @shared_producer
// CHECK: azg.matmul %arg0, %arg1 :
// CHECK: azg.relu
func.func @shared_producer(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = azg.matmul %a, %b : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %1 = azg.relu %0 : tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// An activation is already fused: the add comes after it and must not move
// inside (the epilogue order is bias, residual, then activation).
// CHECK-LABEL: func.func @add_after_activation
// CHECK: azg.matmul {{.*}}activation = #azg<activation relu>
// CHECK-NEXT: azg.add
func.func @add_after_activation(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>, %r: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = azg.matmul %a, %b {activation = #azg<activation relu>} : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %1 = azg.add %0, %r : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// A broadcasting add whose result is larger than the matmul's is not an
// epilogue.
// CHECK-LABEL: func.func @broadcast_add
// CHECK: azg.matmul %arg0, %arg1 :
// CHECK-NEXT: azg.add
func.func @broadcast_add(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>, %r: tensor<3x4x8xf32>) -> tensor<3x4x8xf32> {
  %0 = azg.matmul %a, %b : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %1 = azg.add %0, %r : (tensor<4x8xf32>, tensor<3x4x8xf32>) -> tensor<3x4x8xf32>
  return %1 : tensor<3x4x8xf32>
}

// The residual is defined after the matmul: the matmul moves down to it.
// CHECK-LABEL: func.func @late_residual
// CHECK: %[[R:.*]] = azg.relu %arg2
// CHECK-NEXT: azg.matmul %arg0, %arg1 residual(%[[R]])
func.func @late_residual(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>, %c: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = azg.matmul %a, %b : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %r = azg.relu %c : tensor<4x8xf32>
  %1 = azg.add %0, %r : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// Epilogues are f32 code: an f64 product keeps its add and activation.
// CHECK-LABEL: func.func @f64_product
// CHECK: azg.matmul %arg0, %arg1 :
// CHECK-NEXT: azg.add
// CHECK-NEXT: azg.relu
func.func @f64_product(%a: tensor<4x16xf64>, %b: tensor<16x8xf64>, %r: tensor<4x8xf64>) -> tensor<4x8xf64> {
  %0 = azg.matmul %a, %b : (tensor<4x16xf64>, tensor<16x8xf64>) -> tensor<4x8xf64>
  %1 = azg.add %0, %r : (tensor<4x8xf64>, tensor<4x8xf64>) -> tensor<4x8xf64>
  %2 = azg.relu %1 : tensor<4x8xf64>
  return %2 : tensor<4x8xf64>
}

// azg-widen-half-compute: arithmetic on f16 or bf16 tensors runs on the f32
// kernels. Each 16-bit operand of an arithmetic op is cast to f32 and each
// 16-bit result computed in f32 and cast back, so every op boundary keeps
// its 16-bit value (no cast pair is folded away). Data movement (here a
// transpose) keeps its 16-bit operands, and f32 ops are left alone.
// RUN: azc-opt --azg-widen-half-compute %s | FileCheck %s

// CHECK-LABEL: func.func @half_model
// CHECK: %[[X:.*]] = azg.cast %arg0 {to = f32} : tensor<2x4xf16> -> tensor<2x4xf32>
// CHECK: %[[W:.*]] = azg.cast %arg1 {to = f32} : tensor<4x3xf16> -> tensor<4x3xf32>
// CHECK: %[[M:.*]] = azg.matmul %[[X]], %[[W]] : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
// CHECK: %[[M16:.*]] = azg.cast %[[M]] {to = f16} : tensor<2x3xf32> -> tensor<2x3xf16>
// CHECK: %[[T:.*]] = azg.transpose %[[M16]]
// CHECK-SAME: -> tensor<3x2xf16>
// CHECK: %[[T32:.*]] = azg.cast %[[T]] {to = f32} : tensor<3x2xf16> -> tensor<3x2xf32>
// CHECK: %[[R:.*]] = azg.relu %[[T32]] : tensor<3x2xf32>
// CHECK: %[[R16:.*]] = azg.cast %[[R]] {to = f16} : tensor<3x2xf32> -> tensor<3x2xf16>
// CHECK: return %[[R16]] : tensor<3x2xf16>
func.func @half_model(%x: tensor<2x4xf16>, %w: tensor<4x3xf16>) -> tensor<3x2xf16> {
  %m = azg.matmul %x, %w : (tensor<2x4xf16>, tensor<4x3xf16>) -> tensor<2x3xf16>
  %t = azg.transpose %m {perm = array<i64: 1, 0>} : tensor<2x3xf16> -> tensor<3x2xf16>
  %r = azg.relu %t : tensor<3x2xf16>
  return %r : tensor<3x2xf16>
}

// A comparison of bf16 values gives bools: only its operands widen.
// CHECK-LABEL: func.func @compare
// CHECK: %[[A:.*]] = azg.cast %arg0 {to = f32} : tensor<4xbf16> -> tensor<4xf32>
// CHECK: %[[B:.*]] = azg.cast %arg1 {to = f32} : tensor<4xbf16> -> tensor<4xf32>
// CHECK: %[[C:.*]] = azg.less %[[A]], %[[B]] : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
// CHECK: return %[[C]] : tensor<4xi1>
func.func @compare(%a: tensor<4xbf16>, %b: tensor<4xbf16>) -> tensor<4xi1> {
  %c = azg.less %a, %b : (tensor<4xbf16>, tensor<4xbf16>) -> tensor<4xi1>
  return %c : tensor<4xi1>
}

// CHECK-LABEL: func.func @single
// CHECK-NOT: azg.cast
// CHECK: azg.relu %arg0 : tensor<4xf32>
func.func @single(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r = azg.relu %a : tensor<4xf32>
  return %r : tensor<4xf32>
}

// A matmul by a constant 16-bit weight becomes azg.matmul_half: the weight
// stays f16, stored [N, K] (transposed once here: row n holds column n of
// W), and only the input is cast.
// CHECK-LABEL: func.func @constant_weight
// CHECK: %[[W:.*]] = azg.weight "w.nk" dense_resource<{{.*}}> : tensor<2x3xf16>
// CHECK: %[[X:.*]] = azg.cast %arg0 {to = f32} : tensor<2x3xf16> -> tensor<2x3xf32>
// CHECK: %[[M:.*]] = azg.matmul_half %[[X]], %[[W]] : (tensor<2x3xf32>, tensor<2x3xf16>) -> tensor<2x2xf32>
// CHECK: azg.cast %[[M]] {to = f16} : tensor<2x2xf32> -> tensor<2x2xf16>
// The weight [[1, 2], [3, 4], [5, 6]] as [N, K] = [[1, 3, 5], [2, 4, 6]]
// in f16 bits (0x3C00 = 1, 0x4200 = 3, 0x4500 = 5, 0x4000 = 2, 0x4400 = 4,
// 0x4600 = 6), little-endian:
// (0x08000000 first: the blob's alignment.) The f16 weight itself is gone.
// CHECK-NOT: azg.weight "w" dense
// CHECK: "0x08000000003C00420045004000440046"
func.func @constant_weight(%x: tensor<2x3xf16>) -> tensor<2x2xf16> {
  %w = azg.weight "w" dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf16>
  %m = azg.matmul %x, %w : (tensor<2x3xf16>, tensor<3x2xf16>) -> tensor<2x2xf16>
  return %m : tensor<2x2xf16>
}

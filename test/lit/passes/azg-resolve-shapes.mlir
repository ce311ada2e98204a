// azg-resolve-shapes writes the build profile's sizes into the inputs and
// propagates them through the graph, folding shape arithmetic on the way.
// RUN: azc-opt --azg-resolve-shapes="dims=batch=4,seq=16" %s | FileCheck %s
// RUN: azc-opt --azg-resolve-shapes="input-shapes=x:2x8x32" %s | FileCheck %s --check-prefix=BYNAME

// CHECK-LABEL: func.func @encoder
// CHECK-SAME: (%{{.*}}: tensor<4x16x32xf32> {{.*}}) -> tensor<4x4x16x8xf32>
// BYNAME-LABEL: func.func @encoder
// BYNAME-SAME: (%{{.*}}: tensor<2x8x32xf32> {{.*}}) -> tensor<2x4x8x8xf32>
func.func @encoder(%x: tensor<?x?x32xf32> {azg.name = "x", azg.dim_names = ["batch", "seq", ""]}) -> tensor<?x?x?x?xf32> {
  // The reshape target folds to a constant (placed at the top).
  // CHECK: %[[T:.*]] = azg.constant dense<[4, 16, 4, 8]> : tensor<4xi64>
  %w = azg.weight "w" dense<0.5> : tensor<32x32xf32>
  // CHECK: azg.matmul {{.*}} -> tensor<4x16x32xf32>
  %h = azg.matmul %x, %w : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
  %shape = azg.shape_of %h : tensor<?x?x32xf32> -> tensor<3xi64>
  %i0 = azg.constant dense<[0, 1]> : tensor<2xi64>
  %bs = azg.gather %shape[%i0] : (tensor<3xi64>, tensor<2xi64>) -> tensor<2xi64>
  %heads = azg.constant dense<[4, 8]> : tensor<2xi64>
  %target = azg.concat %bs, %heads {axis = 0 : i64} : (tensor<2xi64>, tensor<2xi64>) -> tensor<4xi64>
  // CHECK: azg.reshape %{{.*}}, %[[T]] : (tensor<4x16x32xf32>, tensor<4xi64>) -> tensor<4x16x4x8xf32>
  %split = azg.reshape %h, %target : (tensor<?x?x32xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  // CHECK: azg.transpose {{.*}} -> tensor<4x4x16x8xf32>
  %t = azg.transpose %split {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x?x?xf32> -> tensor<?x?x?x?xf32>
  return %t : tensor<?x?x?x?xf32>
}

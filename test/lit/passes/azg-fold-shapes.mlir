// azg-fold-shapes turns an exporter's shape arithmetic into constants once
// the shapes it reads are static, and leaves weights and dynamic shapes be.
// RUN: azc-opt --azg-fold-shapes %s | FileCheck %s

// The head split of multi-head attention, as PyTorch exports it: the reshape
// target is computed from the input's shape.
// CHECK-LABEL: func.func @attention_head_split
func.func @attention_head_split(%x: tensor<2x16x32xf32>) -> tensor<?x?x?x?xf32> {
  %shape = azg.shape_of %x : tensor<2x16x32xf32> -> tensor<3xi64>
  %i0 = azg.constant dense<0> : tensor<i64>
  %i1 = azg.constant dense<1> : tensor<i64>
  %batch = azg.gather %shape[%i0] : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %seq = azg.gather %shape[%i1] : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = azg.unsqueeze %batch {axes = array<i64: 0>} : tensor<i64> -> tensor<1xi64>
  %s1 = azg.unsqueeze %seq {axes = array<i64: 0>} : tensor<i64> -> tensor<1xi64>
  %heads = azg.constant dense<[4, 8]> : tensor<2xi64>
  %target = azg.concat %b1, %s1, %heads {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  // CHECK: %[[TARGET:.*]] = azg.constant dense<[2, 16, 4, 8]> : tensor<4xi64>
  // CHECK-NOT: azg.shape_of
  // CHECK-NOT: azg.gather
  // CHECK-NOT: azg.concat
  // CHECK: azg.reshape %{{.*}}, %[[TARGET]]
  %y = azg.reshape %x, %target : (tensor<2x16x32xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  return %y : tensor<?x?x?x?xf32>
}

// Integer arithmetic, casts, slices and ranges on small constants fold.
// CHECK-LABEL: func.func @integer_arithmetic
func.func @integer_arithmetic() -> (tensor<2xi64>, tensor<2xi32>, tensor<3xi64>, tensor<2xi1>, tensor<4xi64>) {
  %a = azg.constant dense<[12, 7]> : tensor<2xi64>
  %b = azg.constant dense<2> : tensor<i64>
  %c = azg.constant dense<[10, 20, 30, 40]> : tensor<4xi64>
  %st = azg.constant dense<[-3]> : tensor<1xi64>
  %en = azg.constant dense<[100]> : tensor<1xi64>
  %ax = azg.constant dense<[0]> : tensor<1xi64>
  %sp = azg.constant dense<[1]> : tensor<1xi64>
  %zero = azg.constant dense<0> : tensor<i64>
  %four = azg.constant dense<4> : tensor<i64>
  %one = azg.constant dense<1> : tensor<i64>
  // (a * 2 - 2) / 2 = a - 1 with truncating division: [11, 6]
  // CHECK-DAG: azg.constant dense<[11, 6]> : tensor<2xi64>
  %m = azg.mul %a, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %s = azg.sub %m, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %d = azg.div %s, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  // CHECK-DAG: azg.constant dense<[12, 7]> : tensor<2xi32>
  %t = azg.cast %a {to = i32} : tensor<2xi64> -> tensor<2xi32>
  // The last three elements; the end index is clamped as in ONNX.
  // CHECK-DAG: azg.constant dense<[20, 30, 40]> : tensor<3xi64>
  %sl = azg.slice %c[%st, %en, %ax, %sp] : (tensor<4xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  // CHECK-DAG: azg.constant dense<[false, true]> : tensor<2xi1>
  %eight = azg.constant dense<8> : tensor<i64>
  %lt = azg.less %a, %eight : (tensor<2xi64>, tensor<i64>) -> tensor<2xi1>
  // CHECK-DAG: azg.constant dense<[0, 1, 2, 3]> : tensor<4xi64>
  %r = azg.range %zero, %four, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<4xi64>
  // CHECK-NOT: azg.mul
  // CHECK-NOT: azg.slice
  return %d, %t, %sl, %lt, %r : tensor<2xi64>, tensor<2xi32>, tensor<3xi64>, tensor<2xi1>, tensor<4xi64>
}

// Division by zero is left for the runtime to report, not folded.
// CHECK-LABEL: func.func @no_fold_division_by_zero
func.func @no_fold_division_by_zero() -> tensor<i64> {
  %a = azg.constant dense<3> : tensor<i64>
  %z = azg.constant dense<0> : tensor<i64>
  // CHECK: azg.div
  %d = azg.div %a, %z : (tensor<i64>, tensor<i64>) -> tensor<i64>
  return %d : tensor<i64>
}

// A dynamic shape does not fold, and weights (resource blobs) are never
// materialized in the IR.
// CHECK-LABEL: func.func @dynamic_and_weights
func.func @dynamic_and_weights(%x: tensor<?x32xf32>) -> (tensor<2xi64>, tensor<2x2xf32>) {
  // CHECK: azg.shape_of
  %s = azg.shape_of %x : tensor<?x32xf32> -> tensor<2xi64>
  %w = azg.weight "w" dense_resource<w0> : tensor<2x2xf32>
  %two = azg.constant dense<2.0> : tensor<f32>
  // CHECK: azg.mul
  %y = azg.mul %w, %two : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf32>
  return %s, %y : tensor<2xi64>, tensor<2x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000000000803F0000803F0000803F0000803F"
    }
  }
#-}

// A count computed in floating point, as Range's expanded function does:
// relu(ceil((limit - start) / delta)) cast to an integer and a bool.
// CHECK-LABEL: func.func @float_count
func.func @float_count() -> (tensor<i64>, tensor<i1>, tensor<f32>, tensor<2xf16>) {
  %start = azg.constant dense<1> : tensor<i32>
  %limit = azg.constant dense<10> : tensor<i32>
  %delta = azg.constant dense<-4.0> : tensor<f32>
  %start_f = azg.cast %start {to = f32} : tensor<i32> -> tensor<f32>
  %limit_f = azg.cast %limit {to = f32} : tensor<i32> -> tensor<f32>
  %span = azg.sub %limit_f, %start_f : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %ratio = azg.div %span, %delta : (tensor<f32>, tensor<f32>) -> tensor<f32>
  // ceil(9 / -4) = -2, relu -> 0; floor(-2.25) = -3
  %up = azg.ceil %ratio : tensor<f32>
  %count = azg.relu %up : tensor<f32>
  %down = azg.floor %ratio : tensor<f32>
  // CHECK-DAG: azg.constant dense<0> : tensor<i64>
  // CHECK-DAG: azg.constant dense<false> : tensor<i1>
  // CHECK-DAG: azg.constant dense<-3.000000e+00> : tensor<f32>
  // CHECK-DAG: azg.constant dense<[2.500000e+00, -1.000000e+00]> : tensor<2xf16>
  // CHECK-NOT: azg.cast
  // CHECK-NOT: azg.ceil
  // CHECK-NOT: azg.relu
  %n = azg.cast %count {to = i64} : tensor<f32> -> tensor<i64>
  %nonzero = azg.cast %count {to = i1} : tensor<f32> -> tensor<i1>
  %pair = azg.constant dense<[2.5, -1.0]> : tensor<2xf32>
  %half = azg.cast %pair {to = f16} : tensor<2xf32> -> tensor<2xf16>
  return %n, %nonzero, %down, %half : tensor<i64>, tensor<i1>, tensor<f32>, tensor<2xf16>
}

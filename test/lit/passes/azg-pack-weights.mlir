// azg-pack-weights: a matmul by an f32 constant weight [K, N] that nothing
// else reads becomes azg.matmul_packed with the weight stored as
// [ceil(N / 32), K, 32] column panels, its epilogue carried over. Weights
// read twice, and narrow N whose last panel would be mostly padding, stay.
// The panel bytes themselves are checked bit for bit by the kernel tests
// (CpuMatMul.PackedWeightsEqualMatmul) and every engine test.
// RUN: azc-opt --azg-pack-weights %s | FileCheck %s

// CHECK-LABEL: func.func @ffn
// A weight of 300 columns pads its last panel to 320.
// CHECK-DAG: %[[W1:.*]] = azg.weight "w1.packed" dense_resource<{{.*}}> : tensor<3x16x32xf32>
// CHECK-DAG: %[[W2:.*]] = azg.weight "w2.packed" dense_resource<{{.*}}> : tensor<10x96x32xf32>
// CHECK: %[[H:.*]] = azg.matmul_packed %arg0, %[[W1]] bias(%arg1) {N = 96 : i64, activation = #azg<activation gelu>} : (tensor<4x16xf32>, tensor<3x16x32xf32>, tensor<96xf32>) -> tensor<4x96xf32>
// CHECK: azg.matmul_packed %[[H]], %[[W2]] {N = 300 : i64}
func.func @ffn(%x: tensor<4x16xf32>, %b: tensor<96xf32>) -> tensor<4x300xf32> {
  %w1 = azg.weight "w1" dense<0.5> : tensor<16x96xf32>
  %h = azg.matmul %x, %w1 bias(%b) {activation = #azg<activation gelu>} : (tensor<4x16xf32>, tensor<16x96xf32>, tensor<96xf32>) -> tensor<4x96xf32>
  %w2 = azg.weight "w2" dense<0.25> : tensor<96x300xf32>
  %y = azg.matmul %h, %w2 : (tensor<4x96xf32>, tensor<96x300xf32>) -> tensor<4x300xf32>
  return %y : tensor<4x300xf32>
}

// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: matmul_packed
// CHECK: azg.matmul
// CHECK: azg.matmul
// CHECK: azg.matmul
func.func @left_alone(%x: tensor<4x16xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x40xf32>) {
  // Read by two products: packing would store it twice.
  %shared = azg.weight "shared" dense<1.0> : tensor<16x64xf32>
  %a = azg.matmul %x, %shared : (tensor<4x16xf32>, tensor<16x64xf32>) -> tensor<4x64xf32>
  %b = azg.matmul %x, %shared : (tensor<4x16xf32>, tensor<16x64xf32>) -> tensor<4x64xf32>
  // 40 columns would be padded to 64.
  %narrow = azg.weight "narrow" dense<1.0> : tensor<16x40xf32>
  %c = azg.matmul %x, %narrow : (tensor<4x16xf32>, tensor<16x40xf32>) -> tensor<4x40xf32>
  return %a, %b, %c : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x40xf32>
}

// An f16 (or bf16) weight [N, K] of matmul_half becomes panels of halves
// [ceil(N / 32), K, 32]: weight[n, k] lands at [n / 32, k, n % 32], i.e.
// here the transpose of the 32 x 2 weight 0, 1, 2, ... 63.
// CHECK-LABEL: func.func @half
// CHECK: %[[W:.*]] = azg.weight "h.packed" dense_resource<[[H:.*]]> : tensor<1x2x32xf16>
// CHECK: azg.matmul_packed %arg0, %[[W]] {N = 32 : i64} : (tensor<4x2xf32>, tensor<1x2x32xf16>) -> tensor<4x32xf32>
// CHECK: [[H]]: "0x08000000000000400044004600480049004A004B004C804C004D804D004E804E004F804F005040508050C050005140518051C051005240528052C052005340538053C053003C00420045004780488049804A804B404CC04C404DC04D404EC04E404FC04F20506050A050E05020516051A051E05120526052A052E05220536053A053E053"
func.func @half(%x: tensor<4x2xf32>) -> tensor<4x32xf32> {
  %w = azg.weight "h" dense<"0x0000003C0040004200440045004600470048804800498049004A804A004B804B004C404C804CC04C004D404D804DC04D004E404E804EC04E004F404F804FC04F00502050405060508050A050C050E05000512051405160518051A051C051E05100522052405260528052A052C052E05200532053405360538053A053C053E053"> : tensor<32x2xf16>
  %y = azg.matmul_half %x, %w : (tensor<4x2xf32>, tensor<32x2xf16>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// Profiles that contradict the model are errors that name the input, the
// dim or the op that can no longer be built.
// RUN: azc-opt --split-input-file --verify-diagnostics --azg-resolve-shapes="dims=batch=4" %s

// expected-error @+1 {{input 'ids' dim 0 is 8, but the profile sets batch=4}}
func.func @contradiction(%x: tensor<8x?xf32> {azg.name = "ids", azg.dim_names = ["batch", "seq"]}) -> tensor<8x?xf32> {
  return %x : tensor<8x?xf32>
}

// -----

// expected-error @+1 {{the profile sets dim 'batch', but no input has a dim of that name}}
func.func @unknown_dim(%x: tensor<?x8xf32> {azg.name = "x", azg.dim_names = ["n", ""]}) -> tensor<?x8xf32> {
  return %x : tensor<?x8xf32>
}

// -----

// The resolved size makes a matmul's contraction dims disagree.
func.func @invalid_after_resolution(%x: tensor<2x?xf32> {azg.name = "x", azg.dim_names = ["", "batch"]}) -> tensor<2x4xf32> {
  %w = azg.weight "w" dense<1.0> : tensor<3x4xf32>
  // expected-error @+1 {{matmul contraction dims differ: 4 vs 3}}
  %0 = azg.matmul %x, %w : (tensor<2x?xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

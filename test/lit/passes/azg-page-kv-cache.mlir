// azg-page-kv-cache: a decoder in the KV-cache form (each layer's cache in
// as past_*, concatenated with the chunk, attended, and out as present_*)
// becomes one that appends to and reads a paged cache the runtime owns.
// The past inputs and present outputs leave the signature; a block table
// and the past lengths join it, and the layout is recorded on the function.
// RUN: azc-opt --split-input-file --verify-diagnostics \
// RUN:   --azg-page-kv-cache="tokens-per-block=16 max-blocks=8 kv-dtype=int8" %s | FileCheck %s

// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%[[IDS:.*]]: tensor<?x?xi64> {azg.name = "input_ids"},
// CHECK-SAME: %[[Q:.*]]: tensor<?x4x?x8xf32>, %[[K:.*]]: tensor<?x2x?x8xf32>, %[[V:.*]]: tensor<?x2x?x8xf32>,
// CHECK-SAME: %[[TABLE:.*]]: tensor<?x8xi32> {azg.dim_names = ["batch", ""], azg.name = "kv_block_table"},
// CHECK-SAME: %[[PAST:.*]]: tensor<?xi32> {azg.dim_names = ["batch"], azg.name = "kv_past_lengths"})
// CHECK-SAME: -> (tensor<?x4x?x8xf32> {azg.name = "hidden"})
// CHECK-SAME: attributes {azg.kv_cache = {dtype = "int8", head_dim = 8 : i64, kv_heads = 2 : i64, layers = 2 : i64, max_blocks = 8 : i64, tokens_per_block = 16 : i64}}
// Layer 0 reads the chunk's own keys and values; the cache supplies the rest.
// CHECK: %[[L0:.*]] = azg.paged_attention %[[Q]], %[[K]], %[[V]], %[[TABLE]], %[[PAST]] {layer = 0 : i64, scale = 0.353553385 : f32}
// CHECK: %[[L1:.*]] = azg.paged_attention %[[L0]], %[[K]], %[[V]], %[[TABLE]], %[[PAST]] {layer = 1 : i64, scale = 0.353553385 : f32}
// CHECK-NOT: azg.concat
// CHECK: return %[[L1]]
func.func @decoder(%ids: tensor<?x?xi64> {azg.name = "input_ids"},
                   %pk0: tensor<?x2x?x8xf32> {azg.name = "past_key_0"},
                   %pv0: tensor<?x2x?x8xf32> {azg.name = "past_value_0"},
                   %pk1: tensor<?x2x?x8xf32> {azg.name = "past_key_1"},
                   %pv1: tensor<?x2x?x8xf32> {azg.name = "past_value_1"},
                   %q: tensor<?x4x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x8xf32>)
    -> (tensor<?x4x?x8xf32> {azg.name = "hidden"},
        tensor<?x2x?x8xf32> {azg.name = "present_key_0"}, tensor<?x2x?x8xf32> {azg.name = "present_value_0"},
        tensor<?x2x?x8xf32> {azg.name = "present_key_1"}, tensor<?x2x?x8xf32> {azg.name = "present_value_1"}) {
  %ck0 = azg.concat %pk0, %k {axis = 2 : i64} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %cv0 = azg.concat %pv0, %v {axis = 2 : i64} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %a0 = azg.attention %q, %ck0, %cv0 {causal = true, scale = 0.353553385 : f32} : (tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x4x?x8xf32>
  %ck1 = azg.concat %pk1, %k {axis = 2 : i64} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %cv1 = azg.concat %pv1, %v {axis = 2 : i64} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %a1 = azg.attention %a0, %ck1, %cv1 {causal = true, scale = 0.353553385 : f32} : (tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x4x?x8xf32>
  return %a1, %ck0, %cv0, %ck1, %cv1 : tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>
}

// -----

// Attention that is not over a returned cache (here a bidirectional
// encoder's) cannot be paged; the pass refuses rather than page half.
func.func @encoder(%q: tensor<1x4x5x8xf32>, %k: tensor<1x4x5x8xf32>) -> tensor<1x4x5x8xf32> {
  // expected-error @+1 {{cannot page this attention}}
  %a = azg.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x8xf32>
  return %a : tensor<1x4x5x8xf32>
}

// -----

// expected-error @+1 {{no attention over a KV cache}}
func.func @no_attention(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  return %x : tensor<2x3xf32>
}

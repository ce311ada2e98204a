// Verifier messages for malformed azg IR: each names the sizes involved.
// RUN: azc-opt %s --split-input-file --verify-diagnostics

func.func @matmul_contraction(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+2 {{matmul contraction dims differ: 3 vs 4}}
  // expected-error @+1 {{'azg.matmul' op failed to infer returned types}}
  %0 = azg.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @result_contradicts_inference(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>) -> tensor<2x6xf32> {
  // expected-error @+2 {{'azg.matmul' op inferred type(s) 'tensor<2x5xf32>' are incompatible with return type(s) of operation 'tensor<2x6xf32>'}}
  // expected-error @+1 {{'azg.matmul' op failed to infer returned types}}
  %0 = azg.matmul %a, %b : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{operand shapes cannot be broadcast together: tensor<2x3xf32> tensor<4xf32>}}
  // expected-error @+1 {{'azg.add' op failed to infer returned types}}
  %0 = azg.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @conv_channels(%x: tensor<1x8x4x4xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x2x2xf32> {
  // expected-error @+1 {{input has 8 channels but weight expects 3 per group x 1 groups}}
  %0 = azg.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
      : (tensor<1x8x4x4xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x2x2xf32>
  return %0 : tensor<1x4x2x2xf32>
}

// -----

func.func @conv_pads(%x: tensor<1x3x4x4xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x2x2xf32> {
  // expected-error @+2 {{expected 4 pads (begins then ends), got 2}}
  // expected-error @+1 {{'azg.conv' op failed to infer returned types}}
  %0 = azg.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0>, dilations = array<i64: 1, 1>}
      : (tensor<1x3x4x4xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x2x2xf32>
  return %0 : tensor<1x4x2x2xf32>
}

// -----

func.func @conv_bias(%x: tensor<1x3x4x4xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<5xf32>) -> tensor<1x4x2x2xf32> {
  // expected-error @+1 {{bias must be 1-D with 4 elements, got 'tensor<5xf32>'}}
  %0 = azg.conv %x, %w bias(%b) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
      : (tensor<1x3x4x4xf32>, tensor<4x3x3x3xf32>, tensor<5xf32>) -> tensor<1x4x2x2xf32>
  return %0 : tensor<1x4x2x2xf32>
}

// -----

func.func @clip_bounds_without_clip(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{clip_min/clip_max need activation = clip}}
  %0 = azg.matmul %a, %b {activation = #azg<activation relu>, clip_max = 6.0 : f32} : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @transpose_perm(%a: tensor<2x3x4xf32>) -> tensor<2x3x3xf32> {
  // expected-error @+1 {{perm is not a permutation of 0..2}}
  %0 = azg.transpose %a {perm = array<i64: 0, 1, 1>} : tensor<2x3x4xf32> -> tensor<2x3x3xf32>
  return %0 : tensor<2x3x3xf32>
}

// -----

func.func @reshape_count(%a: tensor<2x3xf32>) -> tensor<4x2xf32> {
  %s = azg.constant dense<[4, 2]> : tensor<2xi64>
  // expected-error @+2 {{cannot reshape 6 elements into 8}}
  // expected-error @+1 {{'azg.reshape' op failed to infer returned types}}
  %0 = azg.reshape %a, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @split_sizes(%a: tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  // expected-error @+1 {{split sizes add up to 4 but dim 1 has size 6}}
  %0:2 = azg.split %a {axis = 1 : i64, sizes = array<i64: 2, 2>} : tensor<2x6xf32> -> tensor<2x2xf32>, tensor<2x2xf32>
  return %0#0, %0#1 : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

func.func @squeeze_non_unit(%a: tensor<2x6xf32>) -> tensor<6xf32> {
  // expected-error @+2 {{squeeze axis 0 has size 2, not 1}}
  // expected-error @+1 {{'azg.squeeze' op failed to infer returned types}}
  %0 = azg.squeeze %a {axes = array<i64: 0>} : tensor<2x6xf32> -> tensor<6xf32>
  return %0 : tensor<6xf32>
}

// -----

func.func @layer_norm_scale(%a: tensor<2x6xf32>, %s: tensor<5xf32>) -> tensor<2x6xf32> {
  // expected-error @+1 {{parameter of type 'tensor<5xf32>' does not broadcast to the normalized dims}}
  %0 = azg.layer_norm %a, %s : (tensor<2x6xf32>, tensor<5xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @softmax_axis(%a: tensor<2x6xf32>) -> tensor<2x6xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = azg.softmax %a {axis = 2 : i64} : tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

// expected-error @+1 {{per_channel quantization along axis 0 needs 16 scales, got 8}}
func.func @quant_scales(%a: tensor<16x8xi8, #azg.quant<storage = int8, granularity = per_channel, axis = 0, scales = dense<1.0> : tensor<8xf32>>>) {
  return
}

// -----

func.func @pad_mode(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{mode must be constant, reflect, edge or wrap, got 'circular'}}
  %0 = azg.pad %a {pads = array<i64: 0, 0, 0, 0>, mode = "circular"} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @pad_crop(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{pads crop dim 1 below zero}}
  // expected-error @+1 {{'azg.pad' op failed to infer returned types}}
  %0 = azg.pad %a {pads = array<i64: 0, -2, 0, -2>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @rotary_too_wide(%x: tensor<2x5x4x8xf32>, %c: tensor<1x5x6xf32>) -> tensor<2x5x4x8xf32> {
  // expected-error @+1 {{rotates 2 * 6 elements of each head, which has 8}}
  %0 = azg.rotary_embedding %x, %c, %c : (tensor<2x5x4x8xf32>, tensor<1x5x6xf32>, tensor<1x5x6xf32>) -> tensor<2x5x4x8xf32>
  return %0 : tensor<2x5x4x8xf32>
}

// -----

func.func @rotary_positions(%x: tensor<2x4x5x8xf32>, %c: tensor<2x4x4xf32>) -> tensor<2x4x5x8xf32> {
  // expected-error @+1 {{cos has 4 positions for a sequence of 5}}
  %0 = azg.rotary_embedding %x, %c, %c {heads_first = true} : (tensor<2x4x5x8xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<2x4x5x8xf32>
  return %0 : tensor<2x4x5x8xf32>
}

// -----

func.func @rotary_batch(%x: tensor<2x5x4x8xf32>, %c: tensor<3x5x4xf32>) -> tensor<2x5x4x8xf32> {
  // expected-error @+1 {{cos has batch 3, expected 1 or 2}}
  %0 = azg.rotary_embedding %x, %c, %c : (tensor<2x5x4x8xf32>, tensor<3x5x4xf32>, tensor<3x5x4xf32>) -> tensor<2x5x4x8xf32>
  return %0 : tensor<2x5x4x8xf32>
}

// -----

func.func @rotary_rank(%x: tensor<2x5x32xf32>, %c: tensor<1x5x4xf32>) -> tensor<2x5x32xf32> {
  // expected-error @+1 {{input must be 4-D}}
  %0 = azg.rotary_embedding %x, %c, %c : (tensor<2x5x32xf32>, tensor<1x5x4xf32>, tensor<1x5x4xf32>) -> tensor<2x5x32xf32>
  return %0 : tensor<2x5x32xf32>
}

// -----

func.func @attention_heads(%q: tensor<1x6x3x16xf32>, %k: tensor<1x4x5x16xf32>) -> tensor<1x6x3x16xf32> {
  // expected-error @+1 {{has 6 query heads, not a multiple of 4 key/value heads}}
  %0 = azg.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x6x3x16xf32>, tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>) -> tensor<1x6x3x16xf32>
  return %0 : tensor<1x6x3x16xf32>
}

// -----

func.func @attention_head_size(%q: tensor<1x4x3x16xf32>, %k: tensor<1x4x5x8xf32>) -> tensor<1x4x3x16xf32> {
  // expected-error @+1 {{does not match key 'tensor<1x4x5x8xf32>' in batch or head size}}
  %0 = azg.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x4x3x16xf32>, tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x3x16xf32>
  return %0 : tensor<1x4x3x16xf32>
}

// -----

func.func @paged_attention_chunk(%q: tensor<1x4x3x16xf32>, %k: tensor<1x4x5x16xf32>, %t: tensor<1x4xi32>, %p: tensor<1xi32>) -> tensor<1x4x3x16xf32> {
  // expected-error @+1 {{in batch, length or head size}}
  %0 = azg.paged_attention %q, %k, %k, %t, %p {layer = 0 : i64, scale = 1.0 : f32} : (tensor<1x4x3x16xf32>, tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>, tensor<1x4xi32>, tensor<1xi32>) -> tensor<1x4x3x16xf32>
  return %0 : tensor<1x4x3x16xf32>
}

// -----

func.func @paged_attention_table(%q: tensor<2x4x1x16xf32>, %k: tensor<2x4x1x16xf32>, %t: tensor<3x4xi32>, %p: tensor<2xi32>) -> tensor<2x4x1x16xf32> {
  // expected-error @+1 {{must have the query's batch 2}}
  %0 = azg.paged_attention %q, %k, %k, %t, %p {layer = 0 : i64, scale = 1.0 : f32} : (tensor<2x4x1x16xf32>, tensor<2x4x1x16xf32>, tensor<2x4x1x16xf32>, tensor<3x4xi32>, tensor<2xi32>) -> tensor<2x4x1x16xf32>
  return %0 : tensor<2x4x1x16xf32>
}

// -----

func.func @matmul_packed_panels(%x: tensor<3x16xf32>, %w: tensor<1x16x32xf32>) -> tensor<3x40xf32> {
  // expected-error @+1 {{weight must be [ceil(N / 32), K, 32] panels for N=40}}
  %0 = azg.matmul_packed %x, %w {N = 40 : i64} : (tensor<3x16xf32>, tensor<1x16x32xf32>) -> tensor<3x40xf32>
  return %0 : tensor<3x40xf32>
}

// -----

func.func @matmul_nbits_packed_steps(%x: tensor<2x16xf32>, %w: tensor<1x4x32x4xui8>, %s: tensor<1x1x32xf32>) -> tensor<2x32xf32> {
  // 16 4-bit codes a column are 2 steps of 8, not 4.
  // expected-error @+1 {{weight must be [panels, steps, 32, 4] = [1, 2, 32, 4]}}
  %y = azg.matmul_nbits_packed %x, %w, %s {K = 16 : i64, N = 32 : i64, bits = 4 : i64, block_size = 16 : i64} : (tensor<2x16xf32>, tensor<1x4x32x4xui8>, tensor<1x1x32xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

func.func @matmul_nbits_packed_fp8_input(%x: tensor<2x16xf32>, %w: tensor<1x2x32x4xui8>, %s: tensor<1x1x32xf32>) -> tensor<2x32xf32> {
  // expected-error @+1 {{input_format must be int8, got 'fp8_e4m3'}}
  %y = azg.matmul_nbits_packed %x, %w, %s {K = 16 : i64, N = 32 : i64, bits = 4 : i64, block_size = 16 : i64, input_format = "fp8_e4m3", input_scale = 0.5 : f32} : (tensor<2x16xf32>, tensor<1x2x32x4xui8>, tensor<1x1x32xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

func.func @matmul_nbits_packed_block(%x: tensor<2x512xf32>, %w: tensor<1x64x32x4xui8>, %s: tensor<1x1x32xf32>) -> tensor<2x32xf32> {
  // The int8 path takes blocks of at most 256.
  // expected-error @+1 {{block_size must be a power of 2 in [16, 256], got 512}}
  %y = azg.matmul_nbits_packed %x, %w, %s {K = 512 : i64, N = 32 : i64, bits = 4 : i64, block_size = 512 : i64} : (tensor<2x512xf32>, tensor<1x64x32x4xui8>, tensor<1x1x32xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

func.func @bitwise_float(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of 8-bit signless integer or 16-bit signless integer}}
  %0 = azg.bitwise_and %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @bitwise_not_bool(%a: tensor<4xi1>) -> tensor<4xi1> {
  // expected-error @+1 {{must be ranked tensor of 8-bit signless integer}}
  %0 = azg.bitwise_not %a : tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

func.func @bitcast_size(%a: tensor<4xf32>) -> tensor<4xi64> {
  // expected-error @+1 {{needs element types of the same byte size, got 'f32' and 'i64'}}
  %0 = azg.bitcast %a {to = i64} : tensor<4xf32> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

func.func @bitcast_shape(%a: tensor<4xf32>) -> tensor<2x2xi32> {
  // expected-error @+1 {{requires the same shape for all operands and results}}
  %0 = azg.bitcast %a {to = i32} : tensor<4xf32> -> tensor<2x2xi32>
  return %0 : tensor<2x2xi32>
}

// -----

func.func @avg_pool_dilations(%a: tensor<1x1x4x4xf32>) -> tensor<1x1x3x3xf32> {
  // expected-error @+2 {{expected 2 dilations, got 1}}
  // expected-error @+1 {{'azg.avg_pool' op failed to infer returned types}}
  %0 = azg.avg_pool %a {kernel_shape = array<i64: 2, 2>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2>} : tensor<1x1x4x4xf32> -> tensor<1x1x3x3xf32>
  return %0 : tensor<1x1x3x3xf32>
}


// -----

func.func @linear_attention_gated_without_decay(%q: tensor<1x3x16xf32>) -> tensor<1x3x16xf32> {
  // expected-error @+1 {{'azg.linear_attention' op gated needs a decay operand}}
  %o, %s = azg.linear_attention %q, %q, %q {gated = true, kv_num_heads = 2 : i64, q_num_heads = 2 : i64, scale = 1.0 : f32} : (tensor<1x3x16xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>) -> (tensor<1x3x16xf32>, tensor<1x2x8x8xf32>)
  return %o : tensor<1x3x16xf32>
}

// -----

func.func @linear_attention_key_width(%q: tensor<1x3x16xf32>, %k: tensor<1x3x12xf32>) -> tensor<1x3x16xf32> {
  // expected-error @+1 {{'azg.linear_attention' op key must be [B, T, kv_num_heads * dk] = 1x3x16, got 'tensor<1x3x12xf32>'}}
  %o, %s = azg.linear_attention %q, %k, %q {kv_num_heads = 2 : i64, q_num_heads = 2 : i64, scale = 1.0 : f32} : (tensor<1x3x16xf32>, tensor<1x3x12xf32>, tensor<1x3x16xf32>) -> (tensor<1x3x16xf32>, tensor<1x2x8x8xf32>)
  return %o : tensor<1x3x16xf32>
}

// -----

func.func @cast_round_mode(%x: tensor<4xf32>) -> tensor<4x!azg.f8E8M0FNU> {
  // expected-error @+1 {{round_mode must be up, down or nearest, got 'zero'}}
  %0 = azg.cast %x {round_mode = "zero", to = !azg.f8E8M0FNU} : tensor<4xf32> -> tensor<4x!azg.f8E8M0FNU>
  return %0 : tensor<4x!azg.f8E8M0FNU>
}

// -----

func.func @tfidf_indexes(%t: tensor<5xi64>) -> tensor<3xf32> {
  // expected-error @+1 {{ngram_indexes has 2 entries for 3 pool n-grams}}
  %0 = azg.tfidf_vectorizer %t {max_gram_length = 2 : i64, max_skip_count = 0 : i64, min_gram_length = 1 : i64, mode = "TF", ngram_counts = array<i64: 0, 2>, ngram_indexes = array<i64: 0, 2>, pool = array<i64: 2, 3, 2, 3>} : (tensor<5xi64>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @deform_conv_offsets(%x: tensor<1x4x5x6xf32>, %w: tensor<2x4x3x3xf32>, %o: tensor<1x9x5x6xf32>) -> tensor<1x2x5x6xf32> {
  // expected-error @+1 {{offset must have offset_group * kH * kW * 2 = 18 channels, got 'tensor<1x9x5x6xf32>'}}
  %0 = azg.deform_conv %x, %w, %o {dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x4x5x6xf32>, tensor<2x4x3x3xf32>, tensor<1x9x5x6xf32>) -> tensor<1x2x5x6xf32>
  return %0 : tensor<1x2x5x6xf32>
}

// -----

func.func @nonzero_bound(%x: tensor<3x4xf32>) -> tensor<2x10xi64> {
  // expected-error @+2 {{'azg.nonzero' op inferred type(s) 'tensor<2x12xi64>', 'tensor<i64>' are incompatible with return type(s) of operation 'tensor<2x10xi64>', 'tensor<i64>'}}
  // expected-error @+1 {{'azg.nonzero' op failed to infer returned types}}
  %0, %n = azg.nonzero %x : tensor<3x4xf32> -> tensor<2x10xi64>, tensor<i64>
  return %0 : tensor<2x10xi64>
}

// -----

func.func @compress_condition(%x: tensor<3x4xf32>, %c: tensor<2x2xi1>) -> tensor<3x4xf32> {
  // expected-error @+2 {{compress condition must be rank 1, got 2}}
  // expected-error @+1 {{'azg.compress' op failed to infer returned types}}
  %0, %n = azg.compress %x, %c {axis = 1 : i64} : (tensor<3x4xf32>, tensor<2x2xi1>) -> (tensor<3x4xf32>, tensor<i64>)
  return %0 : tensor<3x4xf32>
}

// -----

func.func @unique_axis(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  // expected-error @+2 {{unique axis 2 is outside rank 2}}
  // expected-error @+1 {{'azg.unique' op failed to infer returned types}}
  %0:5 = azg.unique %x {axis = 2 : i64} : tensor<3x4xf32> -> tensor<3x4xf32>, tensor<4xi64>, tensor<4xi64>, tensor<4xi64>, tensor<i64>
  return %0#0 : tensor<3x4xf32>
}

// -----

func.func @nms_shapes(%b: tensor<1x6x4xf32>, %s: tensor<1x2x5xf32>) -> tensor<4x3xi64> {
  // expected-error @+2 {{non_max_suppression needs boxes [B, N, 4] and scores [B, C, N], got tensor<1x6x4xf32> and tensor<1x2x5xf32>}}
  // expected-error @+1 {{'azg.non_max_suppression' op failed to infer returned types}}
  %0, %n = azg.non_max_suppression %b, %s {max_output_boxes_per_class = 2 : i64} : (tensor<1x6x4xf32>, tensor<1x2x5xf32>) -> (tensor<4x3xi64>, tensor<i64>)
  return %0 : tensor<4x3xi64>
}

// -----

func.func @nms_center_point_box(%b: tensor<1x6x4xf32>, %s: tensor<1x2x6xf32>) -> tensor<4x3xi64> {
  // expected-error @+1 {{center_point_box must be 0 or 1, got 2}}
  %0, %n = azg.non_max_suppression %b, %s {center_point_box = 2 : i64, max_output_boxes_per_class = 2 : i64} : (tensor<1x6x4xf32>, tensor<1x2x6xf32>) -> (tensor<4x3xi64>, tensor<i64>)
  return %0 : tensor<4x3xi64>
}

// -----

func.func @nms_iou(%b: tensor<1x6x4xf32>, %s: tensor<1x2x6xf32>) -> tensor<4x3xi64> {
  // expected-error @+1 {{iou_threshold must be in [0, 1], got 1.5}}
  %0, %n = azg.non_max_suppression %b, %s {iou_threshold = 1.5 : f32, max_output_boxes_per_class = 2 : i64} : (tensor<1x6x4xf32>, tensor<1x2x6xf32>) -> (tensor<4x3xi64>, tensor<i64>)
  return %0 : tensor<4x3xi64>
}

// -----

func.func @tree_ensemble_target(%x: tensor<4x2xf32>, %s: tensor<1xf32>, %w: tensor<2xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{leaf target 3 is outside n_targets 1}}
  %0 = azg.tree_ensemble %x, %s, %w {aggregate_function = 1 : i64, leaf_targetids = array<i64: 0, 3>, n_targets = 1 : i64, nodes_falseleafs = array<i64: 1>, nodes_falsenodeids = array<i64: 1>, nodes_featureids = array<i64: 0>, nodes_missing_value_tracks_true = array<i64>, nodes_modes = array<i64: 0>, nodes_trueleafs = array<i64: 1>, nodes_truenodeids = array<i64: 0>, tree_roots = array<i64: 0>} : (tensor<4x2xf32>, tensor<1xf32>, tensor<2xf32>) -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

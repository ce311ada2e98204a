// azg-keep-quantized-weights turns a product with a dequantized constant
// weight (a QDQ model's DequantizeLinear) into azg.matmul_nbits over the
// same codes, shifted to the kernel's unsigned codes, with one scale (and
// zero point) per block along K. Each weight stays (code - zp) * scale.
// RUN: azc-opt --azg-keep-quantized-weights %s | FileCheck %s

// Per channel, int8, zero points 0: codes + 128 in 8 bits (-128 -> 0x00,
// 127 -> 0xFF), the zero point 128 is the kernel's default and is not
// stored. K = 16 is one block; the bias moves over.
// CHECK-LABEL: func.func @per_channel
// CHECK: %[[B:.*]] = azg.constant dense<1.000000e+00> : tensor<2xf32>
// CHECK: %[[Q:.*]] = azg.weight "fc.weight.q8" dense_resource<[[QK:shared_fc.weight.q8_[0-9A-F]+]]> : tensor<2x1x16xui8>
// CHECK: %[[S:.*]] = azg.weight "fc.weight.q8.scales" dense_resource<[[SK:shared_fc.weight.q8.scales_[0-9A-F]+]]> : tensor<2x1xf32>
// CHECK: azg.matmul_nbits %arg0, %[[Q]], %[[S]] bias(%[[B]]) {K = 16 : i64, N = 2 : i64, bits = 8 : i64, block_size = 16 : i64}
// CHECK-NOT: azg.dequantize
func.func @per_channel(%x: tensor<2x16xf32>) -> tensor<2x2xf32> {
  %w = azg.weight "fc.weight" dense<[[-128, 1], [-7, 2], [-6, 3], [-5, 4], [-4, 5], [-3, 6], [-2, 7], [-1, 8], [0, 9], [1, 10], [2, 11], [3, 12], [4, 13], [5, 14], [6, 15], [127, 16]]> : tensor<16x2xi8>
  %s = azg.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %z = azg.constant dense<0> : tensor<2xi8>
  %b = azg.constant dense<1.0> : tensor<2xf32>
  %d = azg.dequantize %w, %s zero_point(%z) {axis = 1 : i64} : (tensor<16x2xi8>, tensor<2xf32>, tensor<2xi8>) -> tensor<16x2xf32>
  %y = azg.matmul %x, %d bias(%b) : (tensor<2x16xf32>, tensor<16x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// Per tensor, uint8 with zero point 7: the codes as they are, the zero
// point stored for every column's block.
// CHECK-LABEL: func.func @uint8_per_tensor
// CHECK: %[[Q:.*]] = azg.weight "u.weight.q8" dense_resource<[[UQ:shared_u.weight.q8_[0-9A-F]+]]> : tensor<2x1x16xui8>
// CHECK: %[[S:.*]] = azg.weight "u.weight.q8.scales" dense_resource<[[US:shared_u.weight.q8.scales_[0-9A-F]+]]> : tensor<2x1xf32>
// CHECK: %[[Z:.*]] = azg.weight "u.weight.q8.zero_points" dense_resource<[[UZ:shared_u.weight.q8.zero_points_[0-9A-F]+]]> : tensor<2x1xui8>
// CHECK: azg.matmul_nbits %arg0, %[[Q]], %[[S]] zero_points(%[[Z]]) {K = 16 : i64, N = 2 : i64, bits = 8 : i64, block_size = 16 : i64}
func.func @uint8_per_tensor(%x: tensor<3x16xf32>) -> tensor<3x2xf32> {
  %w = azg.weight "u.weight" dense<[[0, 255], [1, 254], [2, 253], [3, 252], [4, 251], [5, 250], [6, 249], [7, 248], [8, 247], [9, 246], [10, 245], [11, 244], [12, 243], [13, 242], [14, 241], [15, 240]]> : tensor<16x2xui8>
  %s = azg.constant dense<0.125> : tensor<f32>
  %z = azg.constant dense<7> : tensor<ui8>
  %d = azg.dequantize %w, %s zero_point(%z) : (tensor<16x2xui8>, tensor<f32>, tensor<ui8>) -> tensor<16x2xf32>
  %y = azg.matmul %x, %d : (tensor<3x16xf32>, tensor<16x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// Blocked along K (opset 21 block_size 16) with codes in [-8, 7], as an
// int4 initializer imports: 4 bits, codes + 8 two a byte, low nibble
// first; one scale per block.
// CHECK-LABEL: func.func @int4_blocked
// CHECK: %[[Q:.*]] = azg.weight "b.weight.q4" dense_resource<[[BQ:shared_b.weight.q4_[0-9A-F]+]]> : tensor<1x2x8xui8>
// CHECK: %[[S:.*]] = azg.weight "b.weight.q4.scales" dense_resource<[[BS:shared_b.weight.q4.scales_[0-9A-F]+]]> : tensor<1x2xf32>
// CHECK: azg.matmul_nbits %arg0, %[[Q]], %[[S]] {K = 32 : i64, N = 1 : i64, bits = 4 : i64, block_size = 16 : i64}
func.func @int4_blocked(%x: tensor<2x32xf32>) -> tensor<2x1xf32> {
  %w = azg.weight "b.weight" dense<[[-8], [-7], [-6], [-5], [-4], [-3], [-2], [-1], [0], [1], [2], [3], [4], [5], [6], [7], [7], [6], [5], [4], [3], [2], [1], [0], [-1], [-2], [-3], [-4], [-5], [-6], [-7], [-8]]> : tensor<32x1xi8>
  %s = azg.constant dense<[[0.5], [2.0]]> : tensor<2x1xf32>
  %d = azg.dequantize %w, %s {axis = 0 : i64, block_size = 16 : i64} : (tensor<32x1xi8>, tensor<2x1xf32>) -> tensor<32x1xf32>
  %y = azg.matmul %x, %d : (tensor<2x32xf32>, tensor<32x1xf32>) -> tensor<2x1xf32>
  return %y : tensor<2x1xf32>
}

// gemm with trans_b reads the [N, K] weight, per output channel along
// axis 0; the constant row c becomes the bias.
// CHECK-LABEL: func.func @gemm_trans_b
// CHECK: %[[C:.*]] = azg.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK: azg.matmul_nbits %arg0, %{{.*}}, %{{.*}} bias(%[[C]]) {K = 32 : i64, N = 3 : i64, bits = 8 : i64, block_size = 32 : i64} : (tensor<4x32xf32>, tensor<3x1x32xui8>, tensor<3x1xf32>, tensor<3xf32>) -> tensor<4x3xf32>
func.func @gemm_trans_b(%a: tensor<4x32xf32>) -> tensor<4x3xf32> {
  %w = azg.weight "g.weight" dense<100> : tensor<3x32xi8>
  %s = azg.constant dense<[0.5, 0.25, 0.125]> : tensor<3xf32>
  %c = azg.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %d = azg.dequantize %w, %s {axis = 0 : i64} : (tensor<3x32xi8>, tensor<3xf32>) -> tensor<3x32xf32>
  %y = azg.gemm %a, %d, %c {trans_b = true} : (tensor<4x32xf32>, tensor<3x32xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// A PyTorch export's [N, K] weight dequantized per row, then transposed.
// K = 48: blocks of 16 store the fewest bytes (48 codes and 3 scales a
// column, against 64 codes and 1 scale in one padded block of 64); each
// block repeats its column's scale (-100 -> 0x1C).
// CHECK-LABEL: func.func @through_transpose
// CHECK: %[[Q:.*]] = azg.weight "t.weight.q8" dense_resource<[[TQ:shared_t.weight.q8_[0-9A-F]+]]> : tensor<2x3x16xui8>
// CHECK: %[[S:.*]] = azg.weight "t.weight.q8.scales" dense_resource<[[TS:shared_t.weight.q8.scales_[0-9A-F]+]]> : tensor<2x3xf32>
// CHECK: azg.matmul_nbits %arg0, %[[Q]], %[[S]] {K = 48 : i64, N = 2 : i64, bits = 8 : i64, block_size = 16 : i64}
// CHECK-NOT: azg.transpose
func.func @through_transpose(%x: tensor<2x48xf32>) -> tensor<2x2xf32> {
  %w = azg.weight "t.weight" dense<-100> : tensor<2x48xi8>
  %s = azg.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %d = azg.dequantize %w, %s {axis = 0 : i64} : (tensor<2x48xi8>, tensor<2xf32>) -> tensor<2x48xf32>
  %t = azg.transpose %d {perm = array<i64: 1, 0>} : tensor<2x48xf32> -> tensor<48x2xf32>
  %y = azg.matmul %x, %t : (tensor<2x48xf32>, tensor<48x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// What the kernel cannot hold keeps its dequantize: blocks of 24 (no
// power of 2 >= 16 divides them) with differing scales, a scale per row of
// K, and codes computed at run time.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-3: azg.dequantize
// CHECK-NOT: azg.matmul_nbits
// CHECK: return
func.func @kept(%x: tensor<2x48xf32>, %codes: tensor<48x2xi8>) -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) {
  %w = azg.weight "k.weight" dense<100> : tensor<48x2xi8>
  %s24 = azg.constant dense<[[0.5, 0.25], [1.0, 2.0]]> : tensor<2x2xf32>
  %d24 = azg.dequantize %w, %s24 {axis = 0 : i64, block_size = 24 : i64} : (tensor<48x2xi8>, tensor<2x2xf32>) -> tensor<48x2xf32>
  %y0 = azg.matmul %x, %d24 : (tensor<2x48xf32>, tensor<48x2xf32>) -> tensor<2x2xf32>
  %rows = azg.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0]> : tensor<48xf32>
  %dk = azg.dequantize %w, %rows {axis = 0 : i64} : (tensor<48x2xi8>, tensor<48xf32>) -> tensor<48x2xf32>
  %y1 = azg.matmul %x, %dk : (tensor<2x48xf32>, tensor<48x2xf32>) -> tensor<2x2xf32>
  %s = azg.constant dense<0.5> : tensor<f32>
  %da = azg.dequantize %codes, %s : (tensor<48x2xi8>, tensor<f32>) -> tensor<48x2xf32>
  %y2 = azg.matmul %x, %da : (tensor<2x48xf32>, tensor<48x2xf32>) -> tensor<2x2xf32>
  return %y0, %y1, %y2 : tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>
}

// The blobs, after their 4-byte alignment word.
// CHECK: [[QK]]: "0x0800000000797A7B7C7D7E7F80818283848586FF8182838485868788898A8B8C8D8E8F90"
// CHECK: [[SK]]: "0x080000000000003F0000803E"
// CHECK: [[UQ]]: "0x08000000000102030405060708090A0B0C0D0E0FFFFEFDFCFBFAF9F8F7F6F5F4F3F2F1F0"
// CHECK: [[US]]: "0x080000000000003E0000003E"
// CHECK: [[UZ]]: "0x080000000707"
// CHECK: [[BQ]]: "0x080000001032547698BADCFEEFCDAB8967452301"
// CHECK: [[BS]]: "0x080000000000003F00000040"
// CHECK: [[TQ]]: "0x080000001C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C"
// CHECK: [[TS]]: "0x080000000000003F0000003F0000003F0000803E0000803E0000803E"

// Every azg op prints in its custom form and parses back to the same IR.
// RUN: azc-opt %s | azc-opt | FileCheck %s

// CHECK-LABEL: func.func @constants
func.func @constants() -> (tensor<2xi64>, tensor<4x4xf32>) {
  // CHECK: azg.constant dense<[1, 2]> : tensor<2xi64>
  %0 = azg.constant dense<[1, 2]> : tensor<2xi64>
  // CHECK: azg.weight "layer.0.weight" dense<5.000000e-01> : tensor<4x4xf32>
  %1 = azg.weight "layer.0.weight" dense<0.5> : tensor<4x4xf32>
  return %0, %1 : tensor<2xi64>, tensor<4x4xf32>
}

// CHECK-LABEL: func.func @linear
func.func @linear(%x: tensor<2x8x16xf32>, %w: tensor<16x32xf32>, %b: tensor<32xf32>,
                  %r: tensor<2x8x32xf32>, %a: tensor<4x16xf32>, %c: tensor<32xf32>)
    -> (tensor<2x8x32xf32>, tensor<4x32xf32>) {
  // CHECK: azg.matmul %{{.*}}, %{{.*}} bias(%{{.*}}) residual(%{{.*}}) {activation = #azg<activation gelu>}
  %0 = azg.matmul %x, %w bias(%b) residual(%r) {activation = #azg<activation gelu>}
      : (tensor<2x8x16xf32>, tensor<16x32xf32>, tensor<32xf32>, tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  // CHECK: azg.gemm %{{.*}}, %{{.*}}, %{{.*}} {activation = #azg<activation clip>, alpha = 2.000000e+00 : f32, clip_max = 6.000000e+00 : f32, clip_min = 0.000000e+00 : f32}
  %1 = azg.gemm %a, %w, %c {alpha = 2.0 : f32, activation = #azg<activation clip>, clip_min = 0.0 : f32, clip_max = 6.0 : f32}
      : (tensor<4x16xf32>, tensor<16x32xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  return %0, %1 : tensor<2x8x32xf32>, tensor<4x32xf32>
}

// CHECK-LABEL: func.func @cnn
func.func @cnn(%x: tensor<1x8x16x16xf32>, %w: tensor<16x4x3x3xf32>, %b: tensor<16xf32>)
    -> (tensor<1x16x8x8xf32>, tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>) {
  // CHECK: azg.conv {{.*}} {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
  %0 = azg.conv %x, %w bias(%b) {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64}
      : (tensor<1x8x16x16xf32>, tensor<16x4x3x3xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
  // CHECK: azg.max_pool
  %1 = azg.max_pool %0 {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
      : tensor<1x16x8x8xf32> -> tensor<1x16x4x4xf32>
  // CHECK: azg.avg_pool {{.*}}count_include_pad = true
  %2 = azg.avg_pool %0 {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>, count_include_pad = true}
      : tensor<1x16x8x8xf32> -> tensor<1x16x4x4xf32>
  return %0, %1, %2 : tensor<1x16x8x8xf32>, tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>
}

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%x: tensor<4x8xf32>, %y: tensor<8xf32>, %c: tensor<4x8xi1>) -> tensor<4x8xf32> {
  // CHECK: azg.add
  %0 = azg.add %x, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  // CHECK: azg.sub
  %1 = azg.sub %0, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  // CHECK: azg.mul
  %2 = azg.mul %1, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: azg.div
  %3 = azg.div %2, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  // CHECK: azg.pow
  %4 = azg.pow %3, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  // CHECK: azg.max
  %5 = azg.max %4, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: azg.min
  %6 = azg.min %5, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: azg.less {{.*}} -> tensor<4x8xi1>
  %7 = azg.less %6, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
  // CHECK: azg.equal
  %8 = azg.equal %6, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xi1>
  // CHECK: azg.and
  %9 = azg.and %7, %8 : (tensor<4x8xi1>, tensor<4x8xi1>) -> tensor<4x8xi1>
  // CHECK: azg.or
  %10 = azg.or %9, %c : (tensor<4x8xi1>, tensor<4x8xi1>) -> tensor<4x8xi1>
  // CHECK: azg.not
  %11 = azg.not %10 : tensor<4x8xi1>
  // CHECK: azg.where
  %12 = azg.where %11, %6, %x : (tensor<4x8xi1>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: azg.neg
  %13 = azg.neg %12 : tensor<4x8xf32>
  // CHECK: azg.exp
  %14 = azg.exp %13 : tensor<4x8xf32>
  // CHECK: azg.log
  %15 = azg.log %14 : tensor<4x8xf32>
  // CHECK: azg.sqrt
  %16 = azg.sqrt %15 : tensor<4x8xf32>
  // CHECK: azg.erf
  %17 = azg.erf %16 : tensor<4x8xf32>
  // CHECK: azg.tanh
  %18 = azg.tanh %17 : tensor<4x8xf32>
  // CHECK: azg.sigmoid
  %19 = azg.sigmoid %18 : tensor<4x8xf32>
  // CHECK: azg.relu
  %20 = azg.relu %19 : tensor<4x8xf32>
  // CHECK: azg.gelu %{{.*}} {tanh_approximation}
  %21 = azg.gelu %20 {tanh_approximation} : tensor<4x8xf32>
  // CHECK: azg.silu
  %22 = azg.silu %21 : tensor<4x8xf32>
  // CHECK: azg.clip %{{.*}} {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64}
  %23 = azg.clip %22 {min = 0.0 : f64, max = 6.0 : f64} : tensor<4x8xf32>
  // CHECK: azg.abs
  %24 = azg.abs %23 : tensor<4x8xf32>
  // CHECK: azg.reciprocal
  %25 = azg.reciprocal %24 : tensor<4x8xf32>
  // CHECK: azg.floor
  %26 = azg.floor %25 : tensor<4x8xf32>
  // CHECK: azg.ceil
  %27 = azg.ceil %26 : tensor<4x8xf32>
  return %27 : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @reductions_and_norms
func.func @reductions_and_norms(%x: tensor<2x3x8xf32>, %s: tensor<8xf32>, %b: tensor<8xf32>)
    -> (tensor<2x1x8xf32>, tensor<2x3xf32>, tensor<f32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>) {
  // CHECK: azg.reduce_sum %{{.*}} {axes = array<i64: 1>}
  %0 = azg.reduce_sum %x {axes = array<i64: 1>} : tensor<2x3x8xf32> -> tensor<2x1x8xf32>
  // CHECK: azg.reduce_mean %{{.*}} {axes = array<i64: -1>, keepdims = false}
  %1 = azg.reduce_mean %x {axes = array<i64: -1>, keepdims = false} : tensor<2x3x8xf32> -> tensor<2x3xf32>
  // CHECK: azg.reduce_max %{{.*}} {keepdims = false} : tensor<2x3x8xf32> -> tensor<f32>
  %2 = azg.reduce_max %x {keepdims = false} : tensor<2x3x8xf32> -> tensor<f32>
  // CHECK: azg.softmax
  %3 = azg.softmax %x {axis = -1 : i64} : tensor<2x3x8xf32>
  // CHECK: azg.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 9.99999996E-13 : f32}
  %4 = azg.layer_norm %x, %s, %b {epsilon = 1.0e-12 : f32} : (tensor<2x3x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  // CHECK: azg.lrn %{{.*}} {size = 3 : i64}
  %lrn = azg.lrn %x {size = 3 : i64} : tensor<2x3x8xf32>
  // CHECK: azg.rms_norm
  %5 = azg.rms_norm %x, %s : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<2x1x8xf32>, tensor<2x3xf32>, tensor<f32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>
}

// CHECK-LABEL: func.func @shapes
func.func @shapes(%x: tensor<?x4x6xf32>, %i: tensor<5xi64>, %s: tensor<3xi64>)
    -> (tensor<?x?x?xf32>, tensor<6x4x?xf32>, tensor<?x4x12xf32>, tensor<5x4x6xf32>,
        tensor<?x4x2xf32>, tensor<?x4x4xf32>, tensor<?x1x4x6xf32>, tensor<?x?x?xf32>) {
  // CHECK: azg.shape_of %{{.*}} : tensor<?x4x6xf32> -> tensor<3xi64>
  %0 = azg.shape_of %x : tensor<?x4x6xf32> -> tensor<3xi64>
  // CHECK: azg.reshape
  %1 = azg.reshape %x, %s : (tensor<?x4x6xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  // CHECK: azg.transpose %{{.*}} {perm = array<i64: 2, 1, 0>}
  %2 = azg.transpose %x {perm = array<i64: 2, 1, 0>} : tensor<?x4x6xf32> -> tensor<6x4x?xf32>
  // CHECK: azg.concat
  %3 = azg.concat %x, %x {axis = 2 : i64} : (tensor<?x4x6xf32>, tensor<?x4x6xf32>) -> tensor<?x4x12xf32>
  // CHECK: azg.gather %{{.*}}[%{{.*}}]
  %4 = azg.gather %x[%i] : (tensor<?x4x6xf32>, tensor<5xi64>) -> tensor<5x4x6xf32>
  %st = azg.constant dense<[1]> : tensor<1xi64>
  %en = azg.constant dense<[5]> : tensor<1xi64>
  %ax = azg.constant dense<[2]> : tensor<1xi64>
  %sp = azg.constant dense<[2]> : tensor<1xi64>
  // CHECK: azg.slice %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}]
  %5 = azg.slice %x[%st, %en, %ax, %sp] : (tensor<?x4x6xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x4x2xf32>
  // CHECK: azg.split %{{.*}} {axis = 2 : i64, sizes = array<i64: 4, 2>}
  %6:2 = azg.split %x {axis = 2 : i64, sizes = array<i64: 4, 2>} : tensor<?x4x6xf32> -> tensor<?x4x4xf32>, tensor<?x4x2xf32>
  // CHECK: azg.unsqueeze
  %7 = azg.unsqueeze %x {axes = array<i64: 1>} : tensor<?x4x6xf32> -> tensor<?x1x4x6xf32>
  // CHECK: azg.expand
  %8 = azg.expand %x, %s : (tensor<?x4x6xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %1, %2, %3, %4, %5, %6#0, %7, %8 : tensor<?x?x?xf32>, tensor<6x4x?xf32>, tensor<?x4x12xf32>, tensor<5x4x6xf32>, tensor<?x4x2xf32>, tensor<?x4x4xf32>, tensor<?x1x4x6xf32>, tensor<?x?x?xf32>
}

// CHECK-LABEL: func.func @misc
func.func @misc(%x: tensor<1x4x1xf32>, %n: tensor<i64>) -> (tensor<4xf32>, tensor<1x4x1xi32>, tensor<?xi64>) {
  // CHECK: azg.squeeze %{{.*}} {axes = array<i64: 0, 2>}
  %0 = azg.squeeze %x {axes = array<i64: 0, 2>} : tensor<1x4x1xf32> -> tensor<4xf32>
  // CHECK: azg.cast %{{.*}} {to = i32}
  %1 = azg.cast %x {to = i32} : tensor<1x4x1xf32> -> tensor<1x4x1xi32>
  %zero = azg.constant dense<0> : tensor<i64>
  %one = azg.constant dense<1> : tensor<i64>
  // CHECK: azg.range
  %2 = azg.range %zero, %n, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %0, %1, %2 : tensor<4xf32>, tensor<1x4x1xi32>, tensor<?xi64>
}

// CHECK-LABEL: func.func @more_math
func.func @more_math(%x: tensor<4x8xf32>, %s: tensor<8xf32>, %i: tensor<4x8xi64>, %b: tensor<4x8xi1>)
    -> (tensor<4x8xf32>, tensor<4x8xi1>, tensor<4x8xi64>, tensor<4x8xi1>) {
  // CHECK: azg.acos
  %0 = azg.acos %x : tensor<4x8xf32>
  // CHECK: azg.atanh
  %1 = azg.atanh %0 : tensor<4x8xf32>
  // CHECK: azg.hard_swish
  %2 = azg.hard_swish %1 : tensor<4x8xf32>
  // CHECK: azg.leaky_relu %{{.*}} {alpha = 1.000000e-01 : f32}
  %3 = azg.leaky_relu %2 {alpha = 0.1 : f32} : tensor<4x8xf32>
  // CHECK: azg.selu
  %4 = azg.selu %3 : tensor<4x8xf32>
  // CHECK: azg.hard_sigmoid
  %5 = azg.hard_sigmoid %4 {alpha = 0.25 : f32, beta = 0.5 : f32} : tensor<4x8xf32>
  // CHECK: azg.prelu
  %6 = azg.prelu %5, %s : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  // CHECK: azg.isinf %{{.*}} {detect_negative = false}
  %7 = azg.isinf %6 {detect_negative = false} : tensor<4x8xf32> -> tensor<4x8xi1>
  // CHECK: azg.mod %{{.*}} {fmod = true}
  %8 = azg.mod %6, %s {fmod = true} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  // CHECK: azg.log_softmax
  %9 = azg.log_softmax %8 {axis = 1 : i64} : tensor<4x8xf32>
  // CHECK: azg.cumsum %{{.*}} {axis = 1 : i64, reverse = true}
  %10 = azg.cumsum %i {axis = 1 : i64, reverse = true} : tensor<4x8xi64>
  // CHECK: azg.trilu %{{.*}} {k = 1 : i64, upper = false}
  %11 = azg.trilu %9 {upper = false, k = 1 : i64} : tensor<4x8xf32>
  // CHECK: azg.xor
  %12 = azg.xor %b, %7 : (tensor<4x8xi1>, tensor<4x8xi1>) -> tensor<4x8xi1>
  return %11, %12, %10, %7 : tensor<4x8xf32>, tensor<4x8xi1>, tensor<4x8xi64>, tensor<4x8xi1>
}

// CHECK-LABEL: func.func @more_shapes
func.func @more_shapes(%x: tensor<2x3xf32>, %idx: tensor<2x2xi64>)
    -> (tensor<2x1xi64>, tensor<2x2xf32>, tensor<4x7xf32>, tensor<f32>) {
  // CHECK: azg.argmax %{{.*}} {axis = 1 : i64} : tensor<2x3xf32> -> tensor<2x1xi64>
  %0 = azg.argmax %x {axis = 1 : i64} : tensor<2x3xf32> -> tensor<2x1xi64>
  // CHECK: azg.gather_elements %{{.*}}[%{{.*}}] {axis = 1 : i64}
  %1 = azg.gather_elements %x[%idx] {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>
  // CHECK: azg.pad %{{.*}} {mode = "reflect", pads = array<i64: 1, 2, 1, 2>}
  %2 = azg.pad %x {pads = array<i64: 1, 2, 1, 2>, mode = "reflect"} : tensor<2x3xf32> -> tensor<4x7xf32>
  // CHECK: azg.reduce_log_sum_exp
  %3 = azg.reduce_log_sum_exp %x {keepdims = false} : tensor<2x3xf32> -> tensor<f32>
  return %0, %1, %2, %3 : tensor<2x1xi64>, tensor<2x2xf32>, tensor<4x7xf32>, tensor<f32>
}

// CHECK-LABEL: func.func @rotary
func.func @rotary(%x: tensor<2x5x4x16xf32>, %c: tensor<1x5x4xf32>, %y: tensor<2x4x?x16xf16>, %d: tensor<2x?x8xf16>)
    -> (tensor<2x5x4x16xf32>, tensor<2x4x?x16xf16>) {
  // CHECK: azg.rotary_embedding %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x5x4x16xf32>, tensor<1x5x4xf32>, tensor<1x5x4xf32>) -> tensor<2x5x4x16xf32>
  %0 = azg.rotary_embedding %x, %c, %c : (tensor<2x5x4x16xf32>, tensor<1x5x4xf32>, tensor<1x5x4xf32>) -> tensor<2x5x4x16xf32>
  // CHECK: azg.rotary_embedding %{{.*}} {heads_first = true, interleaved = true}
  %1 = azg.rotary_embedding %y, %d, %d {heads_first = true, interleaved = true} : (tensor<2x4x?x16xf16>, tensor<2x?x8xf16>, tensor<2x?x8xf16>) -> tensor<2x4x?x16xf16>
  return %0, %1 : tensor<2x5x4x16xf32>, tensor<2x4x?x16xf16>
}

// A weight packed in 32-column panels: N = 40 pads the second panel.
// CHECK-LABEL: func.func @matmul_packed
// CHECK: azg.matmul_packed %{{.*}}, %{{.*}} bias(%{{.*}}) {N = 40 : i64, activation = #azg<activation relu>}
func.func @matmul_packed(%x: tensor<3x16xf32>, %w: tensor<2x16x32xf32>, %b: tensor<40xf32>) -> tensor<3x40xf32> {
  %0 = azg.matmul_packed %x, %w bias(%b) {N = 40 : i64, activation = #azg<activation relu>} : (tensor<3x16xf32>, tensor<2x16x32xf32>, tensor<40xf32>) -> tensor<3x40xf32>
  return %0 : tensor<3x40xf32>
}

// Eight query heads over two key/value heads; a 3-token chunk after a
// cache of 7, and the paged form that stores the chunk in the cache.
// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<1x8x3x16xf32>, %k: tensor<1x2x10x16xf32>, %kn: tensor<1x2x3x16xf32>,
                     %table: tensor<1x4xi32>, %past: tensor<1xi32>)
    -> (tensor<1x8x3x16xf32>, tensor<1x8x3x16xf32>) {
  // CHECK: azg.attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true, scale = 2.500000e-01 : f32}
  %0 = azg.attention %q, %k, %k {causal = true, scale = 0.25 : f32} : (tensor<1x8x3x16xf32>, tensor<1x2x10x16xf32>, tensor<1x2x10x16xf32>) -> tensor<1x8x3x16xf32>
  // CHECK: azg.paged_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {layer = 3 : i64, scale = 2.500000e-01 : f32}
  %1 = azg.paged_attention %q, %kn, %kn, %table, %past {layer = 3 : i64, scale = 0.25 : f32} : (tensor<1x8x3x16xf32>, tensor<1x2x3x16xf32>, tensor<1x2x3x16xf32>, tensor<1x4xi32>, tensor<1xi32>) -> tensor<1x8x3x16xf32>
  return %0, %1 : tensor<1x8x3x16xf32>, tensor<1x8x3x16xf32>
}

// CHECK-LABEL: func.func @bits
func.func @bits(%a: tensor<2x3xi16>, %b: tensor<3xi16>, %u: tensor<4xui8>, %f: tensor<2x3xf32>, %p: tensor<1x2x8x8xf32>)
    -> (tensor<2x3xi16>, tensor<2x3xi16>, tensor<2x3xi16>, tensor<4xui8>, tensor<2x3xi32>, tensor<4xi1>, tensor<2x3xf32>, tensor<1x2x6x6xf32>, tensor<2x7xf32>) {
  // CHECK: azg.bitwise_and %{{.*}}, %{{.*}} : (tensor<2x3xi16>, tensor<3xi16>) -> tensor<2x3xi16>
  %0 = azg.bitwise_and %a, %b : (tensor<2x3xi16>, tensor<3xi16>) -> tensor<2x3xi16>
  // CHECK: azg.bitwise_or
  %1 = azg.bitwise_or %0, %b : (tensor<2x3xi16>, tensor<3xi16>) -> tensor<2x3xi16>
  // CHECK: azg.bitwise_xor
  %2 = azg.bitwise_xor %1, %a : (tensor<2x3xi16>, tensor<2x3xi16>) -> tensor<2x3xi16>
  // CHECK: azg.bitwise_not %{{.*}} : tensor<4xui8>
  %3 = azg.bitwise_not %u : tensor<4xui8>
  // CHECK: azg.bitcast %{{.*}} {to = i32} : tensor<2x3xf32> -> tensor<2x3xi32>
  %4 = azg.bitcast %f {to = i32} : tensor<2x3xf32> -> tensor<2x3xi32>
  // CHECK: azg.bitcast %{{.*}} {to = i1} : tensor<4xui8> -> tensor<4xi1>
  %5 = azg.bitcast %u {to = i1} : tensor<4xui8> -> tensor<4xi1>
  // CHECK: azg.cumprod %{{.*}} {axis = 1 : i64, exclusive = true}
  %6 = azg.cumprod %f {axis = 1 : i64, exclusive = true} : tensor<2x3xf32>
  // CHECK: azg.avg_pool {{.*}}dilations = array<i64: 2, 2>
  %7 = azg.avg_pool %p {kernel_shape = array<i64: 2, 2>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>}
      : tensor<1x2x8x8xf32> -> tensor<1x2x6x6xf32>
  // CHECK: azg.pad %{{.*}} {mode = "wrap", pads = array<i64: 0, 2, 0, 2>}
  %8 = azg.pad %f {pads = array<i64: 0, 2, 0, 2>, mode = "wrap"} : tensor<2x3xf32> -> tensor<2x7xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8 : tensor<2x3xi16>, tensor<2x3xi16>, tensor<2x3xi16>, tensor<4xui8>, tensor<2x3xi32>, tensor<4xi1>, tensor<2x3xf32>, tensor<1x2x6x6xf32>, tensor<2x7xf32>
}


// Casts to the storage-only types: FP8 (saturating by default; the default
// is not printed) and 4- and 2-bit integers.
// CHECK-LABEL: func.func @narrow_casts
func.func @narrow_casts(%x: tensor<4xf32>) -> (tensor<4xf8E5M2>, tensor<4xf8E4M3FNUZ>, tensor<4xi4>, tensor<4xui2>) {
  // CHECK: azg.cast %{{.*}} {saturate = false, to = f8E5M2}
  %0 = azg.cast %x {saturate = false, to = f8E5M2} : tensor<4xf32> -> tensor<4xf8E5M2>
  // CHECK: azg.cast %{{.*}} {to = f8E4M3FNUZ} :
  %1 = azg.cast %x {to = f8E4M3FNUZ} : tensor<4xf32> -> tensor<4xf8E4M3FNUZ>
  // CHECK: azg.cast %{{.*}} {to = i4}
  %2 = azg.cast %x {to = i4} : tensor<4xf32> -> tensor<4xi4>
  // CHECK: azg.cast %{{.*}} {to = ui2}
  %3 = azg.cast %x {to = ui2} : tensor<4xf32> -> tensor<4xui2>
  return %0, %1, %2, %3 : tensor<4xf8E5M2>, tensor<4xf8E4M3FNUZ>, tensor<4xi4>, tensor<4xui2>
}

// Linear attention: 4 query heads over 2 key/value heads of width 8, with
// a per-head decay (gated) and a carried state.
// CHECK-LABEL: func.func @linear_attention
func.func @linear_attention(%q: tensor<1x3x32xf32>, %k: tensor<1x3x16xf32>, %v: tensor<1x3x16xf32>, %s: tensor<1x2x8x8xf32>, %g: tensor<1x3x2xf32>) -> (tensor<1x3x32xf32>, tensor<1x2x8x8xf32>) {
  // CHECK: azg.linear_attention %{{.*}}, %{{.*}}, %{{.*}} past(%{{.*}}) decay(%{{.*}}) {gated = true, kv_num_heads = 2 : i64, q_num_heads = 4 : i64, scale = 0.353553385 : f32}
  %o, %n = azg.linear_attention %q, %k, %v past(%s) decay(%g) {gated = true, kv_num_heads = 2 : i64, q_num_heads = 4 : i64, scale = 0.353553385 : f32} : (tensor<1x3x32xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>, tensor<1x2x8x8xf32>, tensor<1x3x2xf32>) -> (tensor<1x3x32xf32>, tensor<1x2x8x8xf32>)
  return %o, %n : tensor<1x3x32xf32>, tensor<1x2x8x8xf32>
}

// azg's own element types, which MLIR's builtin types lack: the MX FP4 and
// E8M0 scale types. Casts alone produce and consume them.
// CHECK-LABEL: func.func @mx_types
func.func @mx_types(%x: tensor<4xf32>) -> (tensor<4x!azg.f4E2M1FN>, tensor<4x!azg.f8E8M0FNU>) {
  // CHECK: azg.cast %{{.*}} {to = !azg.f4E2M1FN} : tensor<4xf32> -> tensor<4x!azg.f4E2M1FN>
  %0 = azg.cast %x {to = !azg.f4E2M1FN} : tensor<4xf32> -> tensor<4x!azg.f4E2M1FN>
  // CHECK: azg.cast %{{.*}} {round_mode = "nearest", to = !azg.f8E8M0FNU}
  %1 = azg.cast %x {round_mode = "nearest", to = !azg.f8E8M0FNU} : tensor<4xf32> -> tensor<4x!azg.f8E8M0FNU>
  return %0, %1 : tensor<4x!azg.f4E2M1FN>, tensor<4x!azg.f8E8M0FNU>
}

// TfIdfVectorizer over token ids: unigrams 2 and 3, bigram (2, 3).
// CHECK-LABEL: func.func @tfidf
func.func @tfidf(%t: tensor<2x5xi64>, %w: tensor<3xf32>) -> tensor<2x3xf32> {
  // CHECK: azg.tfidf_vectorizer %{{.*}} weights(%{{.*}}) {{.*}}mode = "TFIDF"
  %0 = azg.tfidf_vectorizer %t weights(%w) {max_gram_length = 2 : i64, max_skip_count = 1 : i64, min_gram_length = 1 : i64, mode = "TFIDF", ngram_counts = array<i64: 0, 2>, ngram_indexes = array<i64: 0, 1, 2>, pool = array<i64: 2, 3, 2, 3>} : (tensor<2x5xi64>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// A deformable convolution: 9 taps of (dy, dx), one offset group, a mask.
// CHECK-LABEL: func.func @deform_conv
func.func @deform_conv(%x: tensor<1x4x5x6xf32>, %w: tensor<2x4x3x3xf32>, %o: tensor<1x18x5x6xf32>, %m: tensor<1x9x5x6xf32>) -> tensor<1x2x5x6xf32> {
  // CHECK: azg.deform_conv %{{.*}}, %{{.*}}, %{{.*}} mask(%{{.*}}) {dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
  %0 = azg.deform_conv %x, %w, %o mask(%m) {dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x4x5x6xf32>, tensor<2x4x3x3xf32>, tensor<1x18x5x6xf32>, tensor<1x9x5x6xf32>) -> tensor<1x2x5x6xf32>
  return %0 : tensor<1x2x5x6xf32>
}

// Ops whose result size depends on the data: each result is typed at its
// upper bound and the last result holds the actual size.
// CHECK-LABEL: func.func @data_dependent
func.func @data_dependent(%x: tensor<3x4xf32>, %c: tensor<2xi1>, %b: tensor<2x6x4xf32>, %s: tensor<2x3x6xf32>)
    -> (tensor<2x12xi64>, tensor<2x4xf32>, tensor<3x2xf32>, tensor<12xf32>, tensor<3x4xf32>, tensor<4xi64>, tensor<4xi64>, tensor<4xi64>, tensor<24x3xi64>, tensor<i64>) {
  // CHECK: azg.nonzero %{{.*}} : tensor<3x4xf32> -> tensor<2x12xi64>, tensor<i64>
  %0, %n0 = azg.nonzero %x : tensor<3x4xf32> -> tensor<2x12xi64>, tensor<i64>
  // CHECK: azg.compress %{{.*}}, %{{.*}} {axis = 0 : i64}
  %1, %n1 = azg.compress %x, %c {axis = 0 : i64} : (tensor<3x4xf32>, tensor<2xi1>) -> (tensor<2x4xf32>, tensor<i64>)
  // CHECK: azg.compress %{{.*}}, %{{.*}} {axis = -1 : i64}
  %2, %n2 = azg.compress %x, %c {axis = -1 : i64} : (tensor<3x4xf32>, tensor<2xi1>) -> (tensor<3x2xf32>, tensor<i64>)
  // CHECK: azg.unique %{{.*}} {sorted = false}
  %3:5 = azg.unique %x {sorted = false} : tensor<3x4xf32> -> tensor<12xf32>, tensor<12xi64>, tensor<12xi64>, tensor<12xi64>, tensor<i64>
  // CHECK: azg.unique %{{.*}} {axis = 1 : i64}
  %4:5 = azg.unique %x {axis = 1 : i64} : tensor<3x4xf32> -> tensor<3x4xf32>, tensor<4xi64>, tensor<4xi64>, tensor<4xi64>, tensor<i64>
  // 2 batches x 3 classes x min(4, 6) boxes.
  // CHECK: azg.non_max_suppression %{{.*}}, %{{.*}} {center_point_box = 1 : i64, iou_threshold = 5.000000e-01 : f32, max_output_boxes_per_class = 4 : i64, score_threshold = 0.000000e+00 : f32}
  %5, %n5 = azg.non_max_suppression %b, %s {center_point_box = 1 : i64, iou_threshold = 0.5 : f32, max_output_boxes_per_class = 4 : i64, score_threshold = 0.0 : f32} : (tensor<2x6x4xf32>, tensor<2x3x6xf32>) -> (tensor<24x3xi64>, tensor<i64>)
  return %0, %1, %2, %3#0, %4#0, %4#1, %4#2, %4#3, %5, %n5 : tensor<2x12xi64>, tensor<2x4xf32>, tensor<3x2xf32>, tensor<12xf32>, tensor<3x4xf32>, tensor<4xi64>, tensor<4xi64>, tensor<4xi64>, tensor<24x3xi64>, tensor<i64>
}

// A stump: x0 <= 1 picks leaf 0, else leaf 1, both for target 0.
// CHECK-LABEL: func.func @tree_ensemble
func.func @tree_ensemble(%x: tensor<4x2xf32>, %s: tensor<1xf32>, %w: tensor<2xf32>) -> tensor<4x1xf32> {
  // CHECK: azg.tree_ensemble %{{.*}}, %{{.*}}, %{{.*}} {aggregate_function = 1 : i64
  %0 = azg.tree_ensemble %x, %s, %w {aggregate_function = 1 : i64, leaf_targetids = array<i64: 0, 0>, n_targets = 1 : i64, nodes_falseleafs = array<i64: 1>, nodes_falsenodeids = array<i64: 1>, nodes_featureids = array<i64: 0>, nodes_missing_value_tracks_true = array<i64>, nodes_modes = array<i64: 0>, nodes_trueleafs = array<i64: 1>, nodes_truenodeids = array<i64: 0>, tree_roots = array<i64: 0>} : (tensor<4x2xf32>, tensor<1xf32>, tensor<2xf32>) -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

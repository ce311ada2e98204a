// azg-quantize-weights refuses options it cannot honour, naming them.
// RUN: not azc-opt --azg-quantize-weights="mode=int3" %s 2>&1 | FileCheck %s --check-prefix=MODE
// RUN: not azc-opt --azg-quantize-weights="mode=int4 group-size=24" %s 2>&1 | FileCheck %s --check-prefix=GROUP
// MODE: error: unknown weight quantization mode 'int3' (int4, int8_wo, w4a8, int4_gptq, int4_awq, int8, nf4, fp8, fp16 or bf16)
// GROUP: error: group size must be a power of 2 and at least 16, got 24
// GPTQ needs the statistics that only the driver's calibration provides.
// RUN: not azc-opt --azg-quantize-weights="mode=int4_gptq" %s 2>&1 | FileCheck %s --check-prefix=GPTQ
// GPTQ: error: int4_gptq needs calibration statistics for each of the 1 quantizable products (give --calib-data)
func.func @linear(%x: tensor<2x32xf32>) -> tensor<2x2xf32> {
  %w = azg.weight "fc.weight" dense<1.0> : tensor<32x2xf32>
  %0 = azg.matmul %x, %w : (tensor<2x32xf32>, tensor<32x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

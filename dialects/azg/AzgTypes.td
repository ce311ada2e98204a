//===- AzgTypes.td - azg element types ---------------------*- tablegen -*-===//
//
// Element types ONNX has and MLIR 19's builtin types lack. They are
// storage types: casts and quantization read and write them, nothing
// computes in them, and no constant holds them.
//
//===----------------------------------------------------------------------===//

#ifndef AZG_TYPES_TD
#define AZG_TYPES_TD

include "dialects/azg/AzgBase.td"

def Azg_Float4E2M1FNType : TypeDef<Azg_Dialect, "Float4E2M1FN"> {
  let mnemonic = "f4E2M1FN";
  let summary = "OCP MX FP4: 1 sign, 2 exponent and 1 mantissa bit";
  let description = [{
    Values 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives; no infinity or
    NaN. ONNX's FLOAT4E2M1.
  }];
}

def Azg_Float8E8M0FNUType : TypeDef<Azg_Dialect, "Float8E8M0FNU"> {
  let mnemonic = "f8E8M0FNU";
  let summary = "OCP MX scale: an 8-bit power of two";
  let description = [{
    Code e is 2^(e - 127) for e < 255, and 255 is NaN; no sign and no zero.
    ONNX's FLOAT8E8M0, the shared scale of an MX block.
  }];
}

#endif // AZG_TYPES_TD

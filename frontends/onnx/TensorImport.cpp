//===- TensorImport.cpp - ONNX tensors and element types to MLIR ---------===//
//
// Element types (the FP8, FP4 and narrow integer types past the enum of the
// onnx.proto azc builds against among them), TensorProtos (typed fields,
// raw bytes, packed 4- and 2-bit codes, external data) as MLIR attributes,
// large ones as resource blobs over the mapped model, and the tensor files
// that `azc build --input-value` and the tools read.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporterState.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstring>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

// TensorProto data types past the enum of the onnx.proto azc is built
// against.
constexpr int32_t kOnnxFloat8E4M3FN = 17, kOnnxFloat8E4M3FNUZ = 18,
                  kOnnxFloat8E5M2 = 19, kOnnxFloat8E5M2FNUZ = 20,
                  kOnnxUint4 = 21, kOnnxInt4 = 22, kOnnxFloat4E2M1 = 23,
                  kOnnxFloat8E8M0 = 24, kOnnxUint2 = 25, kOnnxInt2 = 26;

bool azc::onnx_frontend::isStorageOnlyType(Type type) {
  return isa<azg::Float4E2M1FNType, azg::Float8E8M0FNUType>(type);
}

Type azc::onnx_frontend::convertElementType(int32_t onnxType,
                                            MLIRContext *context) {
  Builder b(context);
  switch (onnxType) {
  case onnx::TensorProto::FLOAT:
    return b.getF32Type();
  case onnx::TensorProto::FLOAT16:
    return b.getF16Type();
  case onnx::TensorProto::BFLOAT16:
    return b.getBF16Type();
  case onnx::TensorProto::DOUBLE:
    return b.getF64Type();
  case onnx::TensorProto::BOOL:
    return b.getI1Type();
  case onnx::TensorProto::INT8:
    return b.getIntegerType(8);
  case onnx::TensorProto::INT16:
    return b.getIntegerType(16);
  case onnx::TensorProto::INT32:
    return b.getI32Type();
  case onnx::TensorProto::INT64:
    return b.getI64Type();
  case onnx::TensorProto::UINT8:
    return b.getIntegerType(8, false);
  case onnx::TensorProto::UINT16:
    return b.getIntegerType(16, false);
  case onnx::TensorProto::UINT32:
    return b.getIntegerType(32, false);
  case onnx::TensorProto::UINT64:
    return b.getIntegerType(64, false);
  // The FP8 (onnx 1.14), 4-bit (1.16) and 2-bit (1.20) types, by number:
  // Debian's onnx.proto may predate them.
  case kOnnxFloat8E4M3FN:
    return b.getFloat8E4M3FNType();
  case kOnnxFloat8E4M3FNUZ:
    return b.getFloat8E4M3FNUZType();
  case kOnnxFloat8E5M2:
    return b.getFloat8E5M2Type();
  case kOnnxFloat8E5M2FNUZ:
    return b.getFloat8E5M2FNUZType();
  case kOnnxUint4:
    return b.getIntegerType(4, false);
  case kOnnxInt4:
    return b.getIntegerType(4);
  case kOnnxUint2:
    return b.getIntegerType(2, false);
  case kOnnxInt2:
    return b.getIntegerType(2);
  case kOnnxFloat4E2M1:
    return azg::Float4E2M1FNType::get(context);
  case kOnnxFloat8E8M0:
    return azg::Float8E8M0FNUType::get(context);
  default:
    return nullptr;
  }
}

static size_t bitWidthOf(Type type) {
  return type.isInteger(1) ? 8 : type.getIntOrFloatBitWidth();
}

/// Converts a tensor stored in typed fields (float_data, int32_data, ...)
/// to little-endian raw bytes.
static bool typedFieldBytes(const onnx::TensorProto &t, Type elementType,
                            int64_t count, std::vector<char> &out) {
  size_t width = bitWidthOf(elementType) / 8;
  int64_t stored;
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    stored = t.float_data_size();
    break;
  case onnx::TensorProto::DOUBLE:
    stored = t.double_data_size();
    break;
  case onnx::TensorProto::INT64:
    stored = t.int64_data_size();
    break;
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64:
    stored = t.uint64_data_size();
    break;
  default:
    stored = t.int32_data_size();
    break;
  }
  // Checked before allocating: the count comes from untrusted dims.
  if (stored != count)
    return false;
  out.resize(count * width);
  auto store = [&](int64_t i, uint64_t bits) {
    memcpy(out.data() + i * width, &bits, width); // little-endian host
  };
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    if (t.float_data_size() != count)
      return false;
    memcpy(out.data(), t.float_data().data(), count * 4);
    return true;
  case onnx::TensorProto::DOUBLE:
    if (t.double_data_size() != count)
      return false;
    memcpy(out.data(), t.double_data().data(), count * 8);
    return true;
  case onnx::TensorProto::INT64:
    if (t.int64_data_size() != count)
      return false;
    memcpy(out.data(), t.int64_data().data(), count * 8);
    return true;
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64:
    if (t.uint64_data_size() != count)
      return false;
    for (int64_t i = 0; i < count; ++i)
      store(i, t.uint64_data(i));
    return true;
  default:
    // int8/16/32, uint8/16, bool, float16 and bfloat16 bits: int32_data.
    if (t.int32_data_size() != count)
      return false;
    for (int64_t i = 0; i < count; ++i)
      store(i, uint64_t(uint32_t(t.int32_data(i))));
    return true;
  }
}

/// A resource key MLIR prints without quoting.
static std::string resourceKey(llvm::StringRef name) {
  std::string key;
  for (char c : name)
    key += (llvm::isAlnum(c) || c == '_' || c == '.') ? c : '_';
  if (key.empty() || llvm::isDigit(key[0]) || key[0] == '.')
    key = "w_" + key;
  return key;
}

/// The element bytes of `tensor` (`count` elements of `width` bytes), from
/// raw data, external data or its typed fields.
static bool elementBytes(ModelFile &file, const onnx::TensorProto &tensor,
                         Type elementType, int64_t count, TensorBytes &bytes,
                         std::string &error) {
  if (!file.rawBytes(tensor, bytes, error))
    return false;
  if (!bytes.data && count > 0) {
    auto converted = std::make_shared<std::vector<char>>();
    if (!typedFieldBytes(tensor, elementType, count, *converted)) {
      error = "holds no data, or a number of values that does not match its "
              "shape";
      return false;
    }
    bytes.data = converted->data();
    bytes.size = converted->size();
    bytes.owner = converted;
  }
  size_t width = bitWidthOf(elementType) / 8;
  if (bytes.size != size_t(count) * width) {
    error = "has " + std::to_string(bytes.size) +
            " bytes of data, but its shape and type need " +
            std::to_string(size_t(count) * width);
    return false;
  }
  return true;
}

FailureOr<ElementsAttr>
GraphImporter::importTensor(const onnx::TensorProto &tensor,
                            std::string &error) {
  std::string label = "tensor '" + tensor.name() + "'";
  if (tensor.data_type() == kOnnxInt4 || tensor.data_type() == kOnnxUint4 ||
      tensor.data_type() == kOnnxInt2 || tensor.data_type() == kOnnxUint2)
    return importPackedCodes(tensor, error);
  Type elementType = convertElementType(tensor.data_type(), &context_);
  if (!elementType) {
    error = label + " has data type " + std::to_string(tensor.data_type()) +
            ", which azc does not support";
    return failure();
  }
  if (isStorageOnlyType(elementType)) {
    error = label + " is a constant of FLOAT4E2M1 or FLOAT8E8M0, which azc "
                    "takes only as graph inputs and cast results";
    return failure();
  }
  SmallVector<int64_t> shape;
  int64_t count = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0) {
      error = label + " has a negative dim";
      return failure();
    }
    shape.push_back(dim);
    if (llvm::MulOverflow(count, dim, count) || count > (int64_t(1) << 48)) {
      error = label + " has more elements than azc supports";
      return failure();
    }
  }
  auto type = RankedTensorType::get(shape, elementType);
  size_t width = bitWidthOf(elementType) / 8;

  TensorBytes bytes;
  if (!elementBytes(file_, tensor, elementType, count, bytes, error)) {
    // External-data errors name the tensor already.
    if (!llvm::StringRef(error).starts_with("tensor '"))
      error = label + " " + error;
    return failure();
  }

  ArrayRef<char> data(bytes.data, bytes.size);
  if (elementType.isInteger(1)) {
    // DenseElementsAttr packs i1 as bits; ONNX stores one byte per bool.
    SmallVector<bool> values;
    for (char c : data)
      values.push_back(c != 0);
    return cast<ElementsAttr>(DenseElementsAttr::get(type, values));
  }
  if (count <= options_.maxInlineElements)
    return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(type, data));

  // Large tensors: a resource blob over the mapped bytes when they are
  // aligned for their element type, else over an aligned copy.
  size_t alignment = std::min<size_t>(width, 8);
  AsmResourceBlob blob;
  if (reinterpret_cast<uintptr_t>(bytes.data) % alignment == 0) {
    std::shared_ptr<const void> owner = bytes.owner;
    blob = AsmResourceBlob(
        data, alignment,
        [owner](void *, size_t, size_t) mutable { owner.reset(); },
        /*dataIsMutable=*/false);
  } else {
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(data, alignment);
  }
  return cast<ElementsAttr>(DenseResourceElementsAttr::get(
      type, resourceKey(tensor.name()), std::move(blob)));
}

/// An INT4/UINT4 or INT2/UINT2 tensor (two or four codes a byte, low bits
/// first, in raw_data or one byte per int32_data entry) as i8 / ui8, one
/// code an element: DequantizeLinear reads it like any 8-bit tensor, and
/// azg-keep-quantized-weights packs 4-bit codes into 4 bits again.
FailureOr<ElementsAttr>
GraphImporter::importPackedCodes(const onnx::TensorProto &tensor,
                                 std::string &error) {
  std::string label = "tensor '" + tensor.name() + "'";
  const bool isSigned =
      tensor.data_type() == kOnnxInt4 || tensor.data_type() == kOnnxInt2;
  const int bits =
      tensor.data_type() == kOnnxInt4 || tensor.data_type() == kOnnxUint4 ? 4
                                                                          : 2;
  const int perByte = 8 / bits;
  SmallVector<int64_t> shape;
  int64_t count = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0 || llvm::MulOverflow(count, dim, count) ||
        count > (int64_t(1) << 48)) {
      error = label + " has a negative dim or too many elements";
      return failure();
    }
    shape.push_back(dim);
  }
  const size_t packed = size_t(count + perByte - 1) / perByte;
  TensorBytes bytes;
  if (!file_.rawBytes(tensor, bytes, error))
    return failure();
  std::vector<uint8_t> fromFields;
  if (!bytes.data && count > 0) {
    for (int32_t v : tensor.int32_data())
      fromFields.push_back(uint8_t(v));
    bytes.data = reinterpret_cast<const char *>(fromFields.data());
    bytes.size = fromFields.size();
  }
  if (bytes.size != packed) {
    error = label + " has " + std::to_string(bytes.size) +
            " bytes of 4-bit data, but its shape needs " +
            std::to_string(packed);
    return failure();
  }
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocate(size_t(count), alignof(uint64_t));
  MutableArrayRef<char> codes = blob.getMutableData();
  for (int64_t i = 0; i < count; ++i) {
    int code = (uint8_t(bytes.data[i / perByte]) >> (bits * (i % perByte))) &
               ((1 << bits) - 1);
    if (isSigned && code >= (1 << (bits - 1)))
      code -= 1 << bits;
    codes[i] = char(code);
  }
  auto type = RankedTensorType::get(
      shape, IntegerType::get(&context_, 8,
                              isSigned ? IntegerType::Signless
                                       : IntegerType::Unsigned));
  if (count <= options_.maxInlineElements)
    return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(
        type, ArrayRef<char>(codes.data(), codes.size())));
  return cast<ElementsAttr>(DenseResourceElementsAttr::get(
      type, resourceKey(tensor.name()), std::move(blob)));
}

ElementsAttr azc::onnx_frontend::readTensorFile(MLIRContext &context,
                                                const std::string &path,
                                                std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  onnx::TensorProto tensor;
  if (!buffer || !tensor.ParseFromArray((*buffer)->getBufferStart(),
                                        int((*buffer)->getBufferSize()))) {
    error = path + ": not a readable ONNX TensorProto file";
    return nullptr;
  }
  Type elementType = convertElementType(tensor.data_type(), &context);
  if (!elementType || isStorageOnlyType(elementType)) {
    error = path + ": data type " + std::to_string(tensor.data_type()) +
            " is not supported";
    return nullptr;
  }
  SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && count > (int64_t(1) << 40) / d)) {
      error = path + ": bad dims";
      return nullptr;
    }
    count *= d;
  }
  auto type = RankedTensorType::get(shape, elementType);
  std::vector<char> bytes;
  size_t width = std::max<size_t>(1, bitWidthOf(elementType) / 8);
  if (tensor.has_raw_data()) {
    bytes.assign(tensor.raw_data().begin(), tensor.raw_data().end());
  } else if (!typedFieldBytes(tensor, elementType, count, bytes)) {
    error = path + ": holds a number of values that does not match its dims";
    return nullptr;
  }
  if (bytes.size() != size_t(count) * width) {
    error = path + ": holds " + std::to_string(bytes.size()) +
            " bytes, its dims and type need " + std::to_string(count * width);
    return nullptr;
  }
  if (elementType.isInteger(1)) {
    SmallVector<bool> values;
    for (char c : bytes)
      values.push_back(c != 0);
    return DenseElementsAttr::get(type, values);
  }
  return DenseElementsAttr::getFromRawBuffer(type, bytes);
}

FailureOr<ElementsAttr>
GraphImporter::importSparseTensor(const onnx::SparseTensorProto &sparse,
                                  std::string &error) {
  const onnx::TensorProto &values = sparse.values();
  const onnx::TensorProto &indices = sparse.indices();
  std::string label = "sparse tensor '" + values.name() + "'";
  Type elementType = convertElementType(values.data_type(), &context_);
  if (!elementType || isStorageOnlyType(elementType) ||
      elementType.isInteger(1)) {
    error = label + " has data type " + std::to_string(values.data_type()) +
            ", which azc does not take in sparse form";
    return failure();
  }
  int64_t rank = sparse.dims_size(), count = 1;
  for (int64_t dim : sparse.dims())
    if (dim < 0 || llvm::MulOverflow(count, dim, count)) {
      error = label + " has a negative or overflowing shape";
      return failure();
    }
  // Densified at import: an amplifier (a few bytes describe a huge zero
  // tensor), so the dense bytes of all sparse tensors together are bounded.
  size_t width = bitWidthOf(elementType) / 8;
  if (count > kMaxSparseDenseBytes / int64_t(width) ||
      (sparseDenseBytes_ += count * int64_t(width)) > kMaxSparseDenseBytes) {
    error = label + " would take more than " +
            std::to_string(kMaxSparseDenseBytes >> 20) +
            " MiB dense (all sparse tensors together); azc densifies them "
            "at import";
    return failure();
  }
  if (values.dims_size() != 1) {
    error = label + ": its values must be 1-D";
    return failure();
  }
  int64_t nonzeros = values.dims(0);
  bool linear = indices.dims_size() == 1;
  if (indices.data_type() != onnx::TensorProto::INT64 ||
      !(linear ? indices.dims(0) == nonzeros
               : indices.dims_size() == 2 && indices.dims(0) == nonzeros &&
                     indices.dims(1) == rank)) {
    error = label +
            ": its indices must be int64 [NNZ] or [NNZ, rank] with "
            "NNZ = " +
            std::to_string(nonzeros);
    return failure();
  }
  TensorBytes valueBytes, indexBytes;
  Builder b(&context_);
  if (!elementBytes(file_, values, elementType, nonzeros, valueBytes, error) ||
      !elementBytes(file_, indices, b.getI64Type(),
                    linear ? nonzeros : nonzeros * rank, indexBytes, error)) {
    error = label + ": " + error;
    return failure();
  }
  std::string dense(size_t(count) * width, '\0');
  const char *index = indexBytes.data;
  for (int64_t k = 0; k < nonzeros; ++k) {
    int64_t at = 0;
    for (int64_t d = 0; d < (linear ? 1 : rank); ++d) {
      int64_t coordinate;
      std::memcpy(&coordinate, index, sizeof coordinate);
      index += sizeof coordinate;
      int64_t extent = linear ? count : sparse.dims(d);
      if (coordinate < 0 || coordinate >= extent) {
        error = label + ": index " + std::to_string(coordinate) + " of value " +
                std::to_string(k) + " is out of range";
        return failure();
      }
      at = linear ? coordinate : at * extent + coordinate;
    }
    std::memcpy(dense.data() + at * width, valueBytes.data + k * width, width);
  }
  onnx::TensorProto tensor;
  tensor.set_name(values.name());
  tensor.set_data_type(values.data_type());
  for (int64_t dim : sparse.dims())
    tensor.add_dims(dim);
  tensor.set_raw_data(std::move(dense));
  return importTensor(tensor, error);
}

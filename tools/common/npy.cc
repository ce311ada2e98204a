//===- npy.cc - NumPy .npy files for the command-line tools ---------------===//

#include "tools/common/npy.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace {

struct NpyType {
  const char *descr;
  azr_dtype_t dtype;
};
const NpyType kNpyTypes[] = {
    {"<f4", AZR_DTYPE_F32},  {"<f2", AZR_DTYPE_F16}, {"<f8", AZR_DTYPE_F64},
    {"|b1", AZR_DTYPE_BOOL}, {"|i1", AZR_DTYPE_I8},  {"<i2", AZR_DTYPE_I16},
    {"<i4", AZR_DTYPE_I32},  {"<i8", AZR_DTYPE_I64}, {"|u1", AZR_DTYPE_U8},
    {"<u2", AZR_DTYPE_U16},  {"<u4", AZR_DTYPE_U32}, {"<u8", AZR_DTYPE_U64},
};

/// The quoted value of `key` in the header dict, or of the tuple for shape.
std::string headerField(const std::string &header, const std::string &key) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos)
    return "";
  size_t colon = header.find(':', at);
  if (colon == std::string::npos)
    return "";
  size_t begin = header.find_first_not_of(" ", colon + 1);
  if (begin == std::string::npos)
    return "";
  char open = header[begin];
  char close = open == '(' ? ')' : open == '\'' ? '\'' : ',';
  size_t end = header.find(close, begin + 1);
  if (end == std::string::npos)
    return "";
  return header.substr(begin + 1, end - begin - 1);
}

} // namespace

bool azr_tools::readFile(const std::string &path, std::string &bytes,
                         std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot read: " + strerror(errno);
    return false;
  }
  bytes.assign(std::istreambuf_iterator<char>(in), {});
  return true;
}

bool azr_tools::readNpyFile(const std::string &path, HostTensor &tensor,
                            std::string &error) {
  std::string bytes;
  return readFile(path, bytes, error) && readNpy(path, bytes, tensor, error);
}

bool azr_tools::readNpy(const std::string &path, const std::string &bytes,
                        HostTensor &tensor, std::string &error) {
  auto bad = [&](const std::string &why) {
    error = path + ": not a readable .npy file: " + why;
    return false;
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return bad("bad magic");
  int major = (unsigned char)bytes[6];
  size_t headerLength, headerStart;
  if (major == 1) {
    headerLength = (unsigned char)bytes[8] | ((unsigned char)bytes[9] << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return bad("truncated header");
    uint32_t length;
    memcpy(&length, bytes.data() + 8, 4);
    headerLength = length;
    headerStart = 12;
  } else {
    return bad("version " + std::to_string(major));
  }
  if (headerStart + headerLength > bytes.size())
    return bad("truncated header");
  std::string header = bytes.substr(headerStart, headerLength);
  std::string descr = headerField(header, "descr");
  const NpyType *type = nullptr;
  for (const NpyType &t : kNpyTypes)
    if (descr == t.descr)
      type = &t;
  if (!type)
    return bad("unsupported dtype '" + descr + "'");
  if (header.find("'fortran_order': True") != std::string::npos)
    return bad("Fortran order is not supported");
  std::string shape = headerField(header, "shape");
  tensor.dtype = type->dtype;
  tensor.dims.clear();
  std::stringstream dims(shape);
  std::string item;
  while (std::getline(dims, item, ',')) {
    item.erase(std::remove(item.begin(), item.end(), ' '), item.end());
    if (item.empty())
      continue;
    char *end;
    long long value = strtoll(item.c_str(), &end, 10);
    if (*end || value < 0)
      return bad("bad shape '" + shape + "'");
    tensor.dims.push_back(value);
  }
  size_t count = 1;
  for (int64_t d : tensor.dims)
    count *= size_t(d);
  size_t size = count * azr_dtype_size(type->dtype);
  size_t dataStart = headerStart + headerLength;
  if (bytes.size() - dataStart != size)
    return bad("holds " + std::to_string(bytes.size() - dataStart) +
               " data bytes, its shape needs " + std::to_string(size));
  tensor.data.assign(bytes.begin() + dataStart, bytes.end());
  return true;
}

bool azr_tools::writeNpy(const std::string &path, azr_dtype_t dtype,
                         const int64_t *dims, size_t rank, const void *data,
                         size_t size, std::string &error) {
  const char *descr = nullptr;
  for (const NpyType &t : kNpyTypes)
    if (t.dtype == dtype)
      descr = t.descr;
  // NumPy has no bfloat16, FP8 or FP4: their values are written as their
  // bits.
  // 4- and 2-bit integers are written as 8-bit ones.
  if (dtype == AZR_DTYPE_BF16)
    descr = "<u2";
  if (dtype == AZR_DTYPE_F8E4M3FN || dtype == AZR_DTYPE_F8E4M3FNUZ ||
      dtype == AZR_DTYPE_F8E5M2 || dtype == AZR_DTYPE_F8E5M2FNUZ ||
      dtype == AZR_DTYPE_U4 || dtype == AZR_DTYPE_U2 ||
      dtype == AZR_DTYPE_F4E2M1FN || dtype == AZR_DTYPE_F8E8M0FNU)
    descr = "|u1";
  if (dtype == AZR_DTYPE_I4 || dtype == AZR_DTYPE_I2)
    descr = "|i1";
  if (!descr) {
    error = path + ": dtype " + azr_dtype_name(dtype) + " has no .npy form";
    return false;
  }
  std::string shape = "(";
  for (size_t i = 0; i < rank; ++i)
    shape += std::to_string(dims[i]) + (rank == 1 || i + 1 < rank ? "," : "");
  shape += ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so the data starts 64-byte aligned; the header ends with '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  uint16_t length = uint16_t(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.write(reinterpret_cast<const char *>(&length), 2);
  out << header;
  out.write(static_cast<const char *>(data), std::streamsize(size));
  if (!out) {
    error = path + ": cannot write";
    return false;
  }
  return true;
}

std::vector<std::string> azr_tools::listSamples(const std::string &dir,
                                                std::string &error) {
  namespace fs = std::filesystem;
  std::vector<std::string> folders;
  bool hasNpy = false;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_directory())
      folders.push_back(it->path().string());
    else if (it->path().extension() == ".npy")
      hasNpy = true;
  }
  if (ec) {
    error = dir + ": cannot read: " + ec.message();
    return {};
  }
  if (hasNpy)
    return {dir};
  std::sort(folders.begin(), folders.end());
  if (folders.empty())
    error = dir + ": no samples (a folder of INPUT.npy files, or of such "
                  "folders)";
  return folders;
}

bool azr_tools::readSample(const std::string &dir,
                           const std::vector<std::string> &names,
                           std::vector<HostTensor> &tensors,
                           std::string &error) {
  tensors.assign(names.size(), HostTensor());
  for (size_t i = 0; i < names.size(); ++i) {
    std::string file = names[i];
    std::replace(file.begin(), file.end(), '/', '_');
    std::replace(file.begin(), file.end(), ':', '_');
    if (!readNpyFile(dir + "/" + file + ".npy", tensors[i], error))
      return false;
  }
  return true;
}

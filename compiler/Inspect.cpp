//===- Inspect.cpp - `azc inspect`: how an engine was made, what it costs -===//
//
// The engine is first loaded by the runtime itself, so inspect refuses
// exactly what a deployment would refuse. The time estimate is a floor:
// the larger of the time to stream the weights and the run's inputs and
// outputs at DRAM bandwidth, and the time for its FLOPs at peak.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver.h"
#include "compiler/Plan.h"

#include "azr/azr.h"
#include "azr/engine_format.h"
#include "runtime/schema/engine_generated.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <map>

using namespace azc;
namespace schema = azr::schema;

namespace {

std::string bytesText(double bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  std::string text;
  llvm::raw_string_ostream(text)
      << llvm::format(unit ? "%.1f %s" : "%.0f %s", bytes, units[unit]);
  return text;
}

std::string countText(double value) {
  const char *units[] = {"", "K", "M", "G", "T"};
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  std::string text;
  llvm::raw_string_ostream(text)
      << llvm::format(unit ? "%.2f%s" : "%.0f%s", value, units[unit]);
  return text;
}

std::string timeText(double seconds) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (seconds < 1e-3)
    os << llvm::format("%.2f us", seconds * 1e6);
  else if (seconds < 1)
    os << llvm::format("%.2f ms", seconds * 1e3);
  else
    os << llvm::format("%.2f s", seconds);
  return text;
}

const char *dtypeText(schema::DType type) {
  return schema::EnumNameDType(type);
}

/// What a step computes in: its output's dtype, except for matmul_half (its
/// weight's f16 or bf16) and a matmul with quantized weights: "int4" or "int8"
/// (weight bits; "nf4", "fp8" for codebook codes), "w4a8" when its activations
/// are quantized per block at run time (matmul_nbits_packed always), "w8a8"
/// (int8) or "fp8" when statically.
std::string stepPrecision(const schema::Step *step, const char *outputDtype,
                          const char *weightDtype) {
  if (step->op()->str() == "matmul_half" ||
      step->op()->str() == "matmul_packed")
    return weightDtype;
  // matmul_nbits_packed always has int8 activations.
  const bool packed = step->op()->str() == "matmul_nbits_packed";
  if ((step->op()->str() != "matmul_nbits" && !packed) || !step->attributes())
    return outputDtype;
  int64_t bits = 0, accuracyLevel = 0;
  std::string weightFormat = "int", inputFormat;
  for (const schema::Attribute *attr : *step->attributes()) {
    const std::string name = attr->name()->str();
    if (name == "bits")
      bits = attr->int_value();
    else if (name == "accuracy_level")
      accuracyLevel = attr->int_value();
    else if (name == "weight_format" && attr->string_value())
      weightFormat = attr->string_value()->str();
    else if (name == "input_format" && attr->string_value())
      inputFormat = attr->string_value()->str();
  }
  const std::string weights = weightFormat == "nf4"        ? "nf4"
                              : weightFormat == "fp8_e4m3" ? "fp8"
                                                           : "int";
  if (inputFormat == "fp8_e4m3")
    return weights == "fp8" ? "fp8" : weights + std::to_string(bits) + "-fp8";
  if (inputFormat == "int8" || accuracyLevel == 4 || packed)
    return "w" + std::to_string(bits) + "a8";
  return weights == "int" ? "int" + std::to_string(bits) : weights;
}

std::string shapeText(const flatbuffers::Vector<int64_t> *shape) {
  std::string text = "[";
  if (shape)
    for (size_t i = 0; i < shape->size(); ++i)
      text += (i ? "," : "") + std::to_string(shape->Get(i));
  return text + "]";
}

/// A dim's text: "16", "1..4 (batch)", or its polynomial ("batch*sequence")
/// for a dim that varies without a name.
std::string dimText(const schema::Dim *dim, const schema::Value *value,
                    size_t d, const std::vector<plan::Symbol> &symbols) {
  std::string text;
  if (dim->min() == dim->max())
    text = std::to_string(dim->size());
  else if (dim->name() || !value->dim_coefficients())
    text = std::to_string(dim->min()) + ".." + std::to_string(dim->max());
  else {
    size_t terms = size_t(1) << symbols.size();
    const auto *c = value->dim_coefficients();
    plan::Polynomial p(c->begin() + d * terms, c->begin() + (d + 1) * terms);
    return plan::formatPolynomial(p, symbols);
  }
  if (dim->name())
    text += " (" + dim->name()->str() + ")";
  return text;
}

void printSignatures(
    llvm::raw_ostream &os, const char *title, const schema::Engine *meta,
    const flatbuffers::Vector<flatbuffers::Offset<schema::TensorSignature>>
        *list,
    const std::vector<plan::Symbol> &symbols) {
  os << title << ":\n";
  for (const schema::TensorSignature *sig : *list) {
    os << "  " << sig->name()->str() << "  " << dtypeText(sig->dtype()) << " [";
    const schema::Value *value = meta->values()->Get(sig->value());
    for (size_t d = 0; d < sig->dims()->size(); ++d) {
      std::string text = dimText(sig->dims()->Get(d), value, d, symbols);
      if (int(d) == sig->data_dependent_dim())
        text = "0.." + text + " (from the data)";
      os << (d ? "," : "") << text;
    }
    os << "]" << (sig->fixed_value() ? "  (value fixed at build)" : "") << "\n";
  }
}

} // namespace

bool azc::inspectEngine(const std::string &path, const InspectOptions &options,
                        llvm::raw_ostream &os, std::string &error) {
  azr_engine_t *engine = nullptr;
  if (azr_status_t status = azr_engine_load(path.c_str(), &engine)) {
    error = azr_status_message(status);
    azr_status_free(status);
    return false;
  }
  azr_engine_release(engine);
  auto buffer = llvm::MemoryBuffer::getFile(path, false, false);
  if (!buffer) {
    error = path + ": cannot read: " + buffer.getError().message();
    return false;
  }
  const char *base = (*buffer)->getBufferStart();
  azr_engine_header_t header;
  memcpy(&header, base, sizeof(header));
  const schema::Engine *meta = schema::GetEngine(base + header.metadata_offset);

  os << "engine: " << path << " (" << bytesText((*buffer)->getBufferSize())
     << "), format " << header.format_version << ", made by "
     << meta->producer()->str() << " from " << meta->source_model()->str()
     << "\n";
  os << "target: " << meta->target()->str() << "; CPU features needed: ";
  if (!meta->cpu_features() || meta->cpu_features()->size() == 0)
    os << "none (portable kernels)";
  else
    for (size_t i = 0; i < meta->cpu_features()->size(); ++i)
      os << (i ? ", " : "") << meta->cpu_features()->Get(i)->str();
  os << "\nbuild options:\n";
  for (const schema::BuildOption *option : *meta->build_options())
    os << "  --" << option->key()->str() << " = "
       << (option->value() && option->value()->size() ? option->value()->str()
                                                      : "(not set)")
       << "\n";
  if (meta->attachments() && meta->attachments()->size()) {
    os << "attachments:";
    for (const schema::Attachment *file : *meta->attachments())
      os << " " << file->name()->str() << " ("
         << bytesText(file->data() ? file->data()->size() : 0) << ")";
    os << "\n";
  }
  std::vector<plan::Symbol> symbols;
  if (meta->symbols()) {
    os << "dims that vary at run time (steps below show their max):\n";
    for (const schema::Symbol *symbol : *meta->symbols()) {
      symbols.push_back(
          {symbol->name()->str(), symbol->min(), symbol->opt(), symbol->max()});
      os << "  " << symbol->name()->str() << " " << symbol->min() << ".."
         << symbol->max() << " (opt " << symbol->opt() << ")\n";
    }
  }
  printSignatures(os, "inputs", meta, meta->inputs(), symbols);
  printSignatures(os, "outputs", meta, meta->outputs(), symbols);

  const auto *values = meta->values();
  os << "steps (" << meta->steps()->size() << "):\n";
  os << llvm::format("  %4s  %-19s %-24s %-20s %-5s %10s\n", (const char *)"#",
                     (const char *)"kernel", (const char *)"source",
                     (const char *)"output", (const char *)"dtype",
                     (const char *)"FLOPs");
  int64_t totalFlops = 0;
  std::map<std::string, int> stepsPerDtype;
  for (size_t i = 0; i < meta->steps()->size(); ++i) {
    const schema::Step *step = meta->steps()->Get(i);
    const schema::Value *out = values->Get(step->outputs()->Get(0));
    std::string location = step->location() ? step->location()->str() : "";
    if (location.size() > 24)
      location = "..." + location.substr(location.size() - 21);
    // A step's weight is its second input (matmul_half's f16/bf16 weight).
    const char *weightDtype =
        step->inputs() && step->inputs()->size() > 1 &&
                step->inputs()->Get(1) >= 0
            ? dtypeText(values->Get(step->inputs()->Get(1))->dtype())
            : dtypeText(out->dtype());
    std::string precision =
        stepPrecision(step, dtypeText(out->dtype()), weightDtype);
    os << llvm::format("  %4zu  %-19s %-24s %-20s %-5s %10s\n", i,
                       step->op()->c_str(), location.c_str(),
                       shapeText(out->shape()).c_str(), precision.c_str(),
                       countText(step->flops()).c_str());
    totalFlops += step->flops();
    ++stepsPerDtype[precision];
  }
  os << "dtype per layer:";
  for (auto &[dtype, count] : stepsPerDtype)
    os << " " << dtype << " x" << count;
  uint64_t ioBytes = 0;
  for (const auto *list : {meta->inputs(), meta->outputs()})
    for (const schema::TensorSignature *sig : *list)
      ioBytes += values->Get(sig->value())->size();
  os << "\nparameters: " << countText(meta->parameter_count()) << " ("
     << bytesText(meta->constants_size()) << " of constants)\n";
  os << "FLOPs per run: " << countText(totalFlops) << "\n";
  double reuse = meta->arena_size()
                     ? double(meta->intermediate_bytes()) / meta->arena_size()
                     : 1.0;
  os << "memory: arena " << bytesText(meta->arena_size()) << " holds "
     << bytesText(meta->intermediate_bytes()) << " of intermediate tensors ("
     << llvm::format("%.1f", reuse) << "x reuse); inputs and outputs "
     << bytesText(ioBytes) << "\n";
  double streamSeconds =
      double(meta->constants_size() + ioBytes) / (options.bandwidthGBs * 1e9);
  double computeSeconds = double(totalFlops) / (options.peakGFlops * 1e9);
  os << "time estimate: >= "
     << timeText(std::max(streamSeconds, computeSeconds))
     << " (weights + I/O at " << llvm::format("%.1f", options.bandwidthGBs)
     << " GB/s: " << timeText(streamSeconds) << "; FLOPs at "
     << llvm::format("%.0f", options.peakGFlops)
     << " GFLOP/s: " << timeText(computeSeconds) << ")\n";
  return true;
}

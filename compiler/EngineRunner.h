//===- EngineRunner.h - run an engine from the compiler ---------*- C++ -*-===//

#ifndef AZC_COMPILER_ENGINERUNNER_H
#define AZC_COMPILER_ENGINERUNNER_H

#include "azr/azr.h"
#include "tools/common/npy.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"

#include <string>
#include <vector>

namespace azc {

/// A loaded engine and one session on it, released together: how azc
/// itself runs engines (eval, calibration), through the runtime's C API.
struct EngineRunner {
  azr_engine_t *engine = nullptr;
  azr_session_t *session = nullptr;
  std::string path;

  EngineRunner() = default;
  EngineRunner(const EngineRunner &) = delete;
  EngineRunner &operator=(const EngineRunner &) = delete;
  ~EngineRunner() {
    if (session)
      azr_session_release(session);
    if (engine)
      azr_engine_release(engine);
  }

  /// Takes `status`'s message into `error` (after `context`); false.
  static bool fail(azr_status_t status, std::string &error,
                   const std::string &context = "") {
    error = context + azr_status_message(status);
    azr_status_free(status);
    return false;
  }

  bool load(const std::string &file, int threads, std::string &error) {
    path = file;
    if (azr_status_t status = azr_engine_load(file.c_str(), &engine))
      return fail(status, error);
    azr_session_options_t options = {};
    options.num_threads = threads;
    if (azr_status_t status = azr_session_create(engine, &options, &session))
      return fail(status, error);
    return true;
  }

  std::vector<std::string> inputNames() const {
    std::vector<std::string> names;
    for (size_t i = 0; i < azr_engine_input_count(engine); ++i) {
      azr_tensor_info_t info;
      if (!azr_engine_input_info(engine, i, &info))
        names.push_back(info.name);
    }
    return names;
  }

  /// Sets input names[i] to inputs[i] for each i, then runs.
  bool run(const std::vector<std::string> &names,
           const std::vector<azr_tools::HostTensor> &inputs,
           std::string &error) {
    for (size_t i = 0; i < names.size(); ++i) {
      const azr_tools::HostTensor &t = inputs[i];
      if (azr_status_t status = azr_session_set_input(
              session, names[i].c_str(), t.dtype, t.dims.data(), t.dims.size(),
              t.data.data(), t.data.size()))
        return fail(status, error);
    }
    if (azr_status_t status = azr_session_run(session))
      return fail(status, error);
    return true;
  }

  /// Output `name` of the last run: its dims and f32 data (null when the
  /// output is not f32); false with `error` when there is no such output.
  bool output(const std::string &name, std::vector<int64_t> &dims,
              const float *&data, std::string &error) {
    azr_tensor_info_t info;
    const void *raw;
    if (azr_status_t status =
            azr_session_get_output(session, name.c_str(), &info, &raw))
      return fail(status, error);
    if (info.dtype != AZR_DTYPE_F32) {
      data = nullptr;
      return true;
    }
    dims.assign(info.dims, info.dims + info.rank);
    data = static_cast<const float *>(raw);
    return true;
  }
};

/// A temporary engine file, removed when this goes out of scope.
struct TemporaryEngine {
  std::string path;

  TemporaryEngine() = default;
  TemporaryEngine(const TemporaryEngine &) = delete;
  TemporaryEngine &operator=(const TemporaryEngine &) = delete;
  ~TemporaryEngine() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }

  bool create(const char *prefix, std::string &error) {
    llvm::SmallString<128> name;
    int fd;
    if (std::error_code ec =
            llvm::sys::fs::createTemporaryFile(prefix, "azeng", fd, name)) {
      error = std::string("cannot create a temporary file: ") + ec.message();
      return false;
    }
    llvm::sys::fs::closeFile(fd);
    path = name.str().str();
    return true;
  }
};

} // namespace azc

#endif // AZC_COMPILER_ENGINERUNNER_H

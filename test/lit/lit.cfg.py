# lit configuration for azc's IR and importer tests.
#
# Substitutions:
#   azc, azc-opt        the tools of this build
#   FileCheck, not      LLVM 19's
#   %python             a Python with onnx and numpy (makes ONNX fixtures)
#   %torch_python       Debian's Python with python3-torch (real exports);
#                       tests using it declare `REQUIRES: torch` (and
#                       `REQUIRES: transformers` for PyTorch transformers)
#   %fixtures           the fixture scripts folder
#   %e2e                test/e2e (comparison against onnxruntime)
#   %bindir             the folder of azc and azr-run
#   %onnx_light         the onnx package's real-architecture test models
import os
import subprocess

import lit.formats

config.name = "azc"
config.test_format = lit.formats.ShTest()
config.suffixes = [".mlir", ".test"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.azc_obj_root, "test", "lit")

config.environment["PATH"] = os.pathsep.join(
    [config.azc_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])]
)
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%bindir", config.azc_tools_dir))
config.substitutions.append(
    ("%e2e", os.path.join(config.azc_src_root, "test", "e2e"))
)
import onnx  # the reference package ships the "light" real-architecture models
config.substitutions.append(
    ("%onnx_light", os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light"))
)
config.substitutions.append(
    ("%fixtures", os.path.join(config.azc_src_root, "test", "fixtures"))
)

torch_python = "/usr/bin/python3"
try:
    subprocess.run([torch_python, "-c", "import torch"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    config.available_features.add("torch")
except (OSError, subprocess.CalledProcessError):
    lit_config.note("Debian's python3-torch is missing: the exported-model tests are unsupported")
try:
    subprocess.run([torch_python, "-c", "import transformers"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    config.available_features.add("transformers")
except (OSError, subprocess.CalledProcessError):
    lit_config.note("transformers is missing: the checkpoint tests are unsupported")
config.substitutions.append(("%torch_python", torch_python))

#!/usr/bin/env python3
"""Writes the node test cases of the installed onnx package to a folder, in
the layout of the ONNX backend test data (model.onnx and
test_data_set_N/input_I.pb, output_I.pb), so run_node_tests.py runs them
like Debian's libonnx-testdata.

  write_onnx_node_cases.py OUT_DIR

The cases go to OUT_DIR/onnx-node-VERSION: the onnx pip package ships the
generators of its node tests (onnx.backend.test.case.node), not their
data, and they cover the opsets newer than Debian's data (RMSNormalization,
Attention, RotaryEmbedding, ...). The folder name carries the version, so
expectations name the suite they were measured on. Sequences and
optionals are written as SequenceProto and OptionalProto, as the backend
test data holds them.
"""
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.test.case import node as node_cases


def write_tensor(path, value, name):
    if isinstance(value, onnx.TensorProto):  # cases that build their own
        tensor = onnx.TensorProto()
        tensor.CopyFrom(value)
        tensor.name = name
    else:
        tensor = numpy_helper.from_array(np.asarray(value), name)
    with open(path, "wb") as f:
        f.write(tensor.SerializeToString())


def write_proto(path, proto):
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    suite = os.path.join(argv[1], "onnx-node-" + onnx.__version__)
    os.makedirs(suite, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the generators divide by zero on purpose
        cases = node_cases.collect_testcases(None)
    written = 0
    for case in cases:
        folder = os.path.join(suite, case.name)
        os.makedirs(folder, exist_ok=True)
        onnx.save(case.model, os.path.join(folder, "model.onnx"))
        graph_inputs = [i.name for i in case.model.graph.input]
        graph_outputs = [o.name for o in case.model.graph.output]
        for n, (inputs, outputs) in enumerate(case.data_sets):
            data = os.path.join(folder, f"test_data_set_{n}")
            os.makedirs(data, exist_ok=True)
            for kind, values, names in (("input", inputs, graph_inputs),
                                        ("output", outputs, graph_outputs)):
                types = {v.name: v.type for v in
                         (case.model.graph.input if kind == "input"
                          else case.model.graph.output)}
                for i, value in enumerate(values):
                    name = names[i] if i < len(names) else ""
                    path = os.path.join(data, f"{kind}_{i}.pb")
                    try:
                        if name in types and types[name].HasField("optional_type"):
                            write_proto(path, numpy_helper.from_optional(value, name))
                        elif isinstance(value, list):
                            write_proto(path, numpy_helper.from_list(value, name))
                        elif isinstance(value, (np.ndarray, np.generic, onnx.TensorProto)):
                            write_tensor(path, value, name)
                    except Exception:  # noqa: BLE001 - a dtype TensorProto lacks
                        pass
        written += 1
    print(f"wrote {written} cases of onnx {onnx.__version__} to {suite}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

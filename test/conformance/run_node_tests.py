#!/usr/bin/env python3
"""Runs ONNX backend test cases through azc and azr-run and checks each
result against a committed expectations file.

  run_node_tests.py --bin build/bin --work DIR [--suite DIR ...]
                    [--expectations FILE] [--update] [--report FILE.md]
                    [--jobs N] [--filter REGEX]

A case is a folder with model.onnx and test_data_set_*/{input,output}_N.pb.
Without --suite, the suites are Debian's libonnx-testdata (node/,
pytorch-converted/, pytorch-operator/, simple/; ONNX 1.12) and the node
tests of the installed onnx package, written to WORK/onnx-cases by
write_onnx_node_cases.py (onnx-node-VERSION/; the newest opsets). Each case
ends as:
  pass         every output within tolerance of the reference output
  pass-fixed   the same, with graph inputs that set shapes fixed to the
               test's values at build (azc build --input-value)
  fail         built and ran, but an output differs (or the run errored)
  unsupported  azc refused the model with a clear message (op or feature
               not supported)
A named input dim azc asks a size for, or an input declared without a
shape, is built at the test data's size (azc build --dims, --input-shape). A sequence output is compared element by element with
the engine's outputs NAME[0], NAME[1], ...; an optional input is given as
its tensor (an empty one is counted unsupported: engine inputs are always
given).
Floating outputs must satisfy |azc - ref| <= atol + rtol * |ref| with
rtol = 1e-4 and atol = 1e-5 for float32 (the suite's references are float64
numpy computations rounded to float32; fp32 kernels accumulate in a different
order, which costs a few ulps, amplified in deep reductions), and 1e-3 for
float16. Integers and booleans must match exactly.

With --expectations the script fails (exit 1) when any case's result differs
from its expectation, in either direction, so the file is always true;
--update rewrites it instead. --report writes the per-op coverage table.
"""
import argparse
import collections
import concurrent.futures
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

DEFAULT_SUITES = [
    "/usr/share/libonnx-testdata/data/node",
    "/usr/share/libonnx-testdata/data/pytorch-converted",
    "/usr/share/libonnx-testdata/data/pytorch-operator",
    "/usr/share/libonnx-testdata/data/simple",
]


def npy_name(output_name):
    """The file azr-run writes an output to."""
    return output_name.replace("/", "_").replace(":", "_") + ".npy"


def reference_outputs(output, data):
    """The (engine output name, array) pairs a reference output file holds:
    one for a tensor; NAME[i] for each element of a sequence, which the
    engine returns as one output per element. An optional holds either."""
    kind = output.type.WhichOneof("value")
    if kind == "optional_type":
        optional = onnx.OptionalProto()
        optional.ParseFromString(data)
        if optional.HasField("sequence_value"):
            data, kind = optional.sequence_value.SerializeToString(), "sequence_type"
        else:
            data = optional.tensor_value.SerializeToString()
    if kind == "sequence_type":
        sequence = onnx.SequenceProto()
        sequence.ParseFromString(data)
        return [(f"{output.name}[{k}]", numpy_helper.to_array(t))
                for k, t in enumerate(sequence.tensor_values)]
    tensor = onnx.TensorProto()
    tensor.ParseFromString(data)
    return [(output.name, numpy_helper.to_array(tensor))]


def compare(output_name, want, got):
    """Why `got` does not match the reference `want`, or None."""
    # azr-run writes bfloat16 as its bits (NumPy has no bfloat16).
    if want.dtype.name == "bfloat16" and got.dtype == np.uint16:
        got = got.view(want.dtype)
    # FP8 and FP4 are written as their codes, 4- and 2-bit integers as
    # 8-bit ones: compare codes (any NaN matching any NaN) and values.
    if want.dtype.name.startswith(("float8", "float4")) and got.dtype == np.uint8:
        if got.shape != want.shape:
            return f"output {output_name}: shape {got.shape}, expected {want.shape}"
        w_nan = np.isnan(want.astype(np.float32))
        g_nan = np.isnan(got.view(want.dtype).astype(np.float32))
        same = (got == want.view(np.uint8)) | (w_nan & g_nan)
        return None if np.all(same) else f"output {output_name}: codes differ"
    if want.dtype.name in ("int4", "uint4", "int2", "uint2"):
        want = want.astype(np.int8 if want.dtype.name[0] == "i" else np.uint8)
    if got.shape != want.shape:
        return f"output {output_name}: shape {got.shape}, expected {want.shape}"
    if got.dtype != want.dtype:
        return f"output {output_name}: dtype {got.dtype}, expected {want.dtype}"
    bf16 = want.dtype.name == "bfloat16"
    if np.issubdtype(want.dtype, np.floating) or bf16:
        # About one step of the type for the 16-bit ones: 2^-10 for
        # float16, 2^-7 for bfloat16's 8 significant bits.
        rtol, atol = ((1e-3, 1e-3) if want.dtype == np.float16 else
                      (2 ** -7, 2 ** -7) if bf16 else (1e-4, 1e-5))
        w = want.astype(np.float64)
        g = got.astype(np.float64)
        same_nan = np.isnan(w) == np.isnan(g)
        with np.errstate(invalid="ignore"):  # inf - inf: checked below
            close = np.abs(g - w) <= atol + rtol * np.abs(w)
        close |= (np.isinf(w) & (g == w))
        if not np.all(same_nan & (close | np.isnan(w))):
            err = np.nanmax(np.abs(g - w)) if w.size else 0
            return f"output {output_name}: max error {err:.3g}"
    elif not np.array_equal(got, want):
        return f"output {output_name}: values differ"
    return None


class Refused(Exception):
    """A case azc cannot take for a reason of its data, not its model."""


def engine_inputs(model, input_names, folder, work):
    """The engine inputs of a data set as (engine input name, .pb path)
    pairs, and the --sequence-length flags of its sequence inputs: a
    sequence is one input per element, NAME[k]; an optional gives its
    element (an empty one is refused: engine inputs are always given)."""
    graph_inputs = {i.name: i for i in model.graph.input}
    pairs, lengths = [], []
    for i, input_name in enumerate(input_names):
        path = os.path.join(folder, f"input_{i}.pb")
        if not os.path.exists(path):
            raise FileNotFoundError(f"missing {path}")
        kind = graph_inputs[input_name].type.WhichOneof("value")
        if kind == "tensor_type":
            pairs.append((input_name, path))
            continue
        with open(path, "rb") as f:
            data = f.read()
        if kind == "optional_type":
            optional = onnx.OptionalProto()
            optional.ParseFromString(data)
            if optional.HasField("sequence_value"):
                data, kind = optional.sequence_value.SerializeToString(), "sequence_type"
            elif optional.HasField("tensor_value"):
                data = optional.tensor_value.SerializeToString()
            else:
                raise Refused(f"input {input_name} is an empty optional; an "
                              "engine's inputs are always given")
        if kind == "sequence_type":
            sequence = onnx.SequenceProto()
            sequence.ParseFromString(data)
            lengths.append(f"{input_name}={len(sequence.tensor_values)}")
            elements = [(f"{input_name}[{k}]", t.SerializeToString())
                        for k, t in enumerate(sequence.tensor_values)]
        else:
            elements = [(input_name, data)]
        for k, (name, element) in enumerate(elements):
            path = os.path.join(work, f"input_{i}_{k}.pb")
            with open(path, "wb") as f:
                f.write(element)
            pairs.append((name, path))
    return pairs, lengths


def run_case(case_dir, bin_dir, work_root):
    """Returns (result, detail, op_types)."""
    # Suites share case names: each case works in SUITE/NAME.
    name = os.path.basename(case_dir)
    work = os.path.join(work_root, os.path.basename(os.path.dirname(case_dir)), name)
    os.makedirs(work, exist_ok=True)
    model_path = os.path.join(case_dir, "model.onnx")
    try:
        model = onnx.load(model_path)
    except Exception as error:  # noqa: BLE001 - a broken case is a failure
        return "fail", f"onnx cannot load the model: {error}", []
    op_types = sorted({n.op_type for n in model.graph.node})
    engine = os.path.join(work, "model.azeng")
    initializers = {t.name for t in model.graph.initializer}
    input_names = [i.name for i in model.graph.input if i.name not in initializers]
    data_sets = sorted(d for d in os.listdir(case_dir) if d.startswith("test_data_set"))
    if not data_sets:
        return "fail", "the case has no test data", op_types
    folder = os.path.join(case_dir, data_sets[0])
    try:
        inputs, sequence_lengths = engine_inputs(model, input_names, folder, work)
    except Refused as refusal:
        return "unsupported", str(refusal), op_types
    except Exception as error:  # noqa: BLE001 - unreadable data fails the case
        return "fail", str(error), op_types
    input_files = dict(inputs)
    fixed, dims, shapes = [], [], []
    while True:
        command = [os.path.join(bin_dir, "azc"), "build", model_path, "-o", engine]
        for length in sequence_lengths:
            command += ["--sequence-length", length]
        for dim in dims:
            command += ["--dims", dim]
        for shape in shapes:
            command += ["--input-shape", shape]
        for input_name in fixed:
            index = input_names.index(input_name)
            command += ["--input-value", f"{input_name}={case_dir}/test_data_set_0/input_{index}.pb"]
        build = subprocess.run(command, capture_output=True, text=True)
        if build.returncode == 0:
            break
        message = build.stderr.strip().splitlines()
        detail = message[-1] if message else "azc build failed"
        if build.returncode != 1 or "azc:" not in build.stderr:
            return "fail", f"azc crashed (status {build.returncode}): {detail}", op_types
        # An input declared without a shape, or a named dim without a
        # size: the engine is built for the test data's.
        shapeless = SHAPELESS_INPUT.search(build.stderr)
        if shapeless and shapeless.group(1) in input_files and len(shapes) < 16:
            tensor = onnx.TensorProto()
            with open(input_files[shapeless.group(1)], "rb") as f:
                tensor.ParseFromString(f.read())
            shapes.append(shapeless.group(1) + ":" + "x".join(map(str, tensor.dims)))
            continue
        unsized = UNSIZED_DIM.search(build.stderr)
        if unsized and unsized.group(1) in input_files and len(dims) < 16:
            tensor = onnx.TensorProto()
            with open(input_files[unsized.group(1)], "rb") as f:
                tensor.ParseFromString(f.read())
            dim = int(unsized.group(2))
            if dim < len(tensor.dims):
                dims.append(f"{unsized.group(3)}={tensor.dims[dim]}")
                continue
        more = inputs_setting_shapes(model, input_names, build.stderr, case_dir) - set(fixed)
        if not more or len(fixed) > 8:
            return "unsupported", detail, op_types
        fixed += sorted(more)
    passed = "pass-fixed" if fixed else "pass"

    # The first data set, whose shapes the engine is built for.
    for stale in os.listdir(work):  # outputs of an earlier run
        if stale.endswith(".npy"):
            os.remove(os.path.join(work, stale))
    args = [os.path.join(bin_dir, "azr-run"), engine, "--output-dir", work]
    for input_name, path in inputs:
        args += ["--input", f"{input_name}={path}"]
    run = subprocess.run(args, capture_output=True, text=True)
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines()
        return "fail", lines[-1] if lines else "azr-run failed", op_types
    for i, output in enumerate(model.graph.output):
        ref_path = os.path.join(folder, f"output_{i}.pb")
        if not os.path.exists(ref_path):
            return "fail", f"the case has no reference {ref_path}", op_types
        with open(ref_path, "rb") as f:
            data = f.read()
        try:
            wanted = reference_outputs(output, data)
        except Exception as error:  # noqa: BLE001 - a broken reference fails
            return "fail", f"output {output.name}: unreadable reference: {error}", op_types
        is_sequence = not (len(wanted) == 1 and wanted[0][0] == output.name)
        if is_sequence and os.path.exists(
                os.path.join(work, npy_name(f"{output.name}[{len(wanted)}]"))):
            return "fail", f"output {output.name}: more than {len(wanted)} elements", op_types
        for output_name, want in wanted:
            path = os.path.join(work, npy_name(output_name))
            if not os.path.exists(path):
                return "fail", f"output {output_name}: azr-run wrote none", op_types
            problem = compare(output_name, want, np.load(path))
            if problem:
                return "fail", problem, op_types
    return passed, "", op_types


SHAPELESS_INPUT = re.compile(r"graph input '([^']*)' has no shape")
UNSIZED_DIM = re.compile(r"input '([^']*)' dim (\d+) \('([^']*)'\) has no size")


# An azc refusal that a graph input's value would resolve: shapes computed
# from an input (a Reshape's shape, a ReduceSum's axes, Resize's sizes).
SHAPE_FROM_INPUT = re.compile(
    r"node \S+ producing '([^']*)': .*\(input (\d+)\) must be a constant|"
    r"must be (a )?constant|a result has a dynamic shape|"
    r"a view of a dynamic|dynamic shape|needs static dims")


def subgraphs(node):
    """The graphs held in a node's attributes (If branches, loop bodies)."""
    for attribute in node.attribute:
        if attribute.HasField("g"):
            yield attribute.g
        yield from attribute.graphs


def producers(graph, table=None):
    """Value name -> the node producing it, in `graph` and its subgraphs."""
    table = {} if table is None else table
    for node in graph.node:
        for output in node.output:
            table[output] = node
        for subgraph in subgraphs(node):
            producers(subgraph, table)
    return table


def names_read(node):
    """The names a node reads: its inputs and those its subgraphs read."""
    names = list(node.input)
    pending = list(subgraphs(node))
    while pending:
        graph = pending.pop()
        for inner in graph.node:
            names += inner.input
            pending += subgraphs(inner)
        names += [o.name for o in graph.output]
    return names


def graph_inputs_feeding(name, input_names, producer):
    """The graph inputs `name` is computed from, walking producers back."""
    found, seen, pending = set(), set(), [name]
    while pending:
        name = pending.pop()
        if not name or name in seen:
            continue
        seen.add(name)
        if name in input_names:
            found.add(name)
        elif name in producer:
            pending += names_read(producer[name])
    return found


def inputs_setting_shapes(model, input_names, message, case_dir):
    """Graph inputs to fix at build (azc build --input-value) for a refusal
    of a shape computed from input values: the node input the message
    names (or, when a node computes it, every graph input it comes from),
    else every small integer input (shape and axes tensors) and every
    numeric scalar (Range's start, limit and delta set its length whatever
    their type)."""
    if not SHAPE_FROM_INPUT.search(message):
        return set()
    named = set()
    producer = producers(model.graph)
    for output, index in re.findall(r"producing '([^']*)': .*?\(input (\d+)\)", message):
        node = producer.get(output)
        if node is not None and int(index) < len(node.input):
            named |= graph_inputs_feeding(node.input[int(index)], input_names, producer)
    if named:
        return named
    small = set()
    for i, name in enumerate(input_names):
        path = os.path.join(case_dir, "test_data_set_0", f"input_{i}.pb")
        if not os.path.exists(path):
            continue
        tensor = onnx.TensorProto()
        with open(path, "rb") as f:
            tensor.ParseFromString(f.read())
        count = int(np.prod(tensor.dims)) if tensor.dims else 1
        if tensor.data_type in (onnx.TensorProto.INT64, onnx.TensorProto.INT32) and count <= 64:
            small.add(name)
        elif count == 1 and tensor.data_type in (
                onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE,
                onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16,
                onnx.TensorProto.INT8, onnx.TensorProto.INT16,
                onnx.TensorProto.UINT8, onnx.TensorProto.UINT16,
                onnx.TensorProto.UINT32, onnx.TensorProto.UINT64):
            small.add(name)
    return small


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--suite", action="append")
    parser.add_argument("--expectations")
    parser.add_argument("--update", action="store_true")
    parser.add_argument("--report")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--filter")
    args = parser.parse_args()

    suites = args.suite
    if not suites:
        generated = os.path.join(args.work, "onnx-cases")
        writer = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "write_onnx_node_cases.py")
        subprocess.run([sys.executable, writer, generated], check=True,
                       stdout=subprocess.DEVNULL)
        suites = DEFAULT_SUITES + [
            os.path.join(generated, "onnx-node-" + onnx.__version__)]
    cases = []
    for suite in suites:
        if not os.path.isdir(suite):
            sys.exit(f"run_node_tests: suite folder {suite} is missing "
                     "(apt-get install libonnx-testdata)")
        for name in sorted(os.listdir(suite)):
            path = os.path.join(suite, name)
            if os.path.exists(os.path.join(path, "model.onnx")):
                if not args.filter or re.search(args.filter, name):
                    cases.append((os.path.basename(suite), path))

    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_case, path, args.bin, args.work): (suite, path)
                   for suite, path in cases}
        for future in concurrent.futures.as_completed(futures):
            suite, path = futures[future]
            key = f"{suite}/{os.path.basename(path)}"
            results[key] = future.result()

    counts = collections.Counter(r[0] for r in results.values())
    total = len(results)
    passing = counts['pass'] + counts['pass-fixed']
    print(f"{total} cases: {passing} pass ({counts['pass-fixed']} with inputs fixed "
          f"at build), {counts['fail']} fail, {counts['unsupported']} unsupported "
          f"({100.0 * passing / max(total, 1):.1f}% pass)")

    if args.report:
        write_report(args.report, results)

    if args.expectations:
        if args.update:
            with open(args.expectations, "w") as f:
                f.write("# ONNX backend test cases and the result azc is expected to give.\n"
                        "# Written by test/conformance/run_node_tests.py --update; CI fails\n"
                        "# when any result differs from this file, in either direction.\n")
                for key in sorted(results):
                    f.write(f"{key} {results[key][0]}\n")
            return 0
        expected = {}
        with open(args.expectations) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    key, result = line.split()
                    expected[key] = result
        mismatches = []
        for key in sorted(set(results) | set(expected)):
            got = results.get(key, ("missing",))[0]
            want = expected.get(key, "absent from the expectations")
            if args.filter and key not in results:
                continue
            if got != want:
                detail = results.get(key, ("", ""))[1]
                mismatches.append(f"  {key}: expected {want}, got {got}" +
                                  (f" ({detail})" if detail else ""))
        if mismatches:
            print(f"{len(mismatches)} results differ from {args.expectations}:")
            print("\n".join(mismatches))
            return 1
        print(f"all {total} results match {args.expectations}")
    else:
        for key in sorted(results):
            result, detail, _ = results[key]
            if result == "fail":
                print(f"FAIL {key}: {detail}")
    return 0


# Failures whose reference data is at fault, checked by hand; the newer
# suite's case of the same op passes.
REFERENCE_DATA_NOTES = [
    (r"^node/test_(hann|hamming|blackman)window",
     "ONNX 1.12 computed this reference with pi = 3.1415; the onnx 1.23 "
     "case passes"),
    (r"^node/test_cast_FLOAT_to_BFLOAT16$",
     "ONNX 1.12's reference truncates to bfloat16; azc rounds to nearest "
     "even, which the onnx 1.23 case expects"),
    (r"^node/test_castlike_.*BFLOAT16",
     "ONNX 1.12's data gives `like` a rank other than the model declares"),
    (r"/test_(averagepool_2d_ceil_last_window_starts_on_pad|gridsample_bicubic"
     r"|roialign_aligned_(true|false))$",
     "the stored outputs are typed-in values rounded to 4 decimals; azc "
     "matches the ONNX reference evaluator's to within 1.3e-6"),
    (r"^node/test_adam_multiple$",
     "ONNX 1.12's model lacks the epsilon (0.01) its outputs were computed "
     "with; the onnx 1.23 case has it and passes"),
    (r"/test_maxunpool_export_with_output_shape$",
     "azc writes the indices into output_shape's layout, as onnxruntime and "
     "PyTorch do (onnxruntime's output equals azc's); the reference unpools "
     "into the computed shape and pads it"),
]


def is_node_test(key):
    return key.startswith("node/") or key.startswith("onnx-node-")


def write_report(path, results):
    per_op = collections.defaultdict(collections.Counter)
    for key, (result, _, ops) in results.items():
        if is_node_test(key):
            # A node test exercises one op; others count for every op in them.
            name = ops[-1] if len(ops) == 1 else None
            for op in ([name] if name else ops):
                per_op[op][result] += 1
    counts = collections.Counter(r[0] for r in results.values())
    node = collections.Counter(r[0] for k, r in results.items() if is_node_test(k))
    total_node = sum(node.values())
    per_suite = collections.defaultdict(collections.Counter)
    for key, (result, _, _) in results.items():
        per_suite[key.split("/")[0]][result] += 1
    with open(path, "w") as f:
        f.write("# ONNX backend test coverage\n\n")
        f.write("Generated by `test/conformance/run_node_tests.py --report` from the\n"
                "ONNX backend test data in Debian's `libonnx-testdata` (ONNX 1.12,\n"
                "opsets up to 17) and the node tests of the onnx pip package\n"
                "(`onnx-node-VERSION`, written by `write_onnx_node_cases.py`). CI\n"
                "checks every result against `test/conformance/expectations.txt`,\n"
                "so this table stays true.\n\n")
        def passing(c):
            return c['pass'] + c['pass-fixed']

        f.write("A case passes when every output matches its reference. Some\n"
                "node tests feed a value that sets a shape (a Reshape's shape,\n"
                "a ReduceSum's axes) as a graph input; an engine computes its\n"
                "shapes at build, so for those the runner fixes that input to\n"
                "the test's value (`azc build --input-value`, which the engine\n"
                "then checks at run time) and counts the case as *pass, fixed*.\n\n")
        f.write(f"All cases: {sum(counts.values())} — {passing(counts)} pass "
                f"({counts['pass-fixed']} fixed), {counts['fail']} fail, "
                f"{counts['unsupported']} unsupported.\n\n")
        f.write(f"Node tests: {total_node} — {passing(node)} pass "
                f"({100.0 * passing(node) / max(total_node, 1):.1f}%; "
                f"{node['pass']} as given, {node['pass-fixed']} fixed), "
                f"{node['fail']} fail, {node['unsupported']} unsupported.\n\n")
        f.write("| suite | cases | pass | of them fixed | fail | unsupported |\n"
                "|---|---:|---:|---:|---:|---:|\n")
        for suite in sorted(per_suite):
            c = per_suite[suite]
            f.write(f"| {suite} | {sum(c.values())} | {passing(c)} "
                    f"({100.0 * passing(c) / max(sum(c.values()), 1):.1f}%) | "
                    f"{c['pass-fixed']} | {c['fail']} | {c['unsupported']} |\n")
        f.write("\n")
        failures = sorted((k, r[1]) for k, r in results.items() if r[0] == "fail")
        if failures:
            f.write("Failing cases and why:\n\n")
            for key, detail in failures:
                f.write(f"- `{key}`: {detail.replace(os.sep + 'usr', '/usr')}\n")
                for pattern, note in REFERENCE_DATA_NOTES:
                    if re.search(pattern, key):
                        f.write(f"  ({note})\n")
            f.write("\n")
        f.write("| op | pass | of them fixed | fail | unsupported |\n"
                "|---|---:|---:|---:|---:|\n")
        for op in sorted(per_op):
            c = per_op[op]
            f.write(f"| {op} | {passing(c)} | {c['pass-fixed']} | {c['fail']} | "
                    f"{c['unsupported']} |\n")


if __name__ == "__main__":
    sys.exit(main())

"""Give an exported YOLO model a dynamic batch dimension, for batched inference.

Usage: python3 tools/make_batch_model.py IN.onnx OUT.onnx [--check N]

Exporters often freeze the batch at 1: the input is [1,3,H,W] and some Reshape nodes take a
constant shape starting with 1 (YOLOX's head reshapes each level to [1,85,-1]). This tool
writes a copy where the graph's inputs' and outputs' first dimension is the symbolic "batch",
intermediate shape annotations are dropped (onnxruntime infers them again), and every constant
Reshape shape whose first entry is 1 becomes 0 ("copy the input's first dimension", which is
the batch there). Nothing else changes, so each frame of a batch gives the outputs the frame
gives alone. With --check N it runs one random batch of N frames in onnxruntime and checks
each frame's output against a call on that frame alone (and exits non-zero otherwise).

For the benchmarks: generate into target/, never into the repository, e.g.
  python3 tools/make_batch_model.py ../shared/models/yolox_nano.onnx \
      target/test_models/yolox_nano_batch.onnx --check 4
"""

import argparse
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def reshape_shape_names(graph):
    """Names of the tensors fed as the `shape` input of Reshape nodes."""
    return {n.input[1] for n in graph.node if n.op_type == "Reshape" and len(n.input) > 1}


def make_dynamic(model, dim="batch"):
    """Returns the number of Reshape shapes rewritten; edits `model` in place."""
    g = model.graph
    inits = {i.name for i in g.initializer}
    for v in list(g.input) + list(g.output):
        if v.name in inits:
            continue
        dims = v.type.tensor_type.shape.dim
        if len(dims) > 0:
            dims[0].Clear()
            dims[0].dim_param = dim
    del g.value_info[:]
    shapes = reshape_shape_names(g)
    changed = 0

    def fix(tensor):
        nonlocal changed
        a = numpy_helper.to_array(tensor)
        if a.ndim == 1 and a.size >= 2 and a[0] == 1:
            a = a.copy()
            a[0] = 0
            tensor.CopyFrom(numpy_helper.from_array(a, tensor.name))
            changed += 1

    for t in g.initializer:
        if t.name in shapes:
            fix(t)
    for n in g.node:
        if n.op_type == "Constant" and n.output[0] in shapes:
            for a in n.attribute:
                if a.name == "value":
                    fix(a.t)
    return changed


def check(path, n, seed=0):
    """Largest absolute difference between a batch of `n` and `n` single calls."""
    import onnxruntime as ort

    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = s.get_inputs()[0]
    x = np.random.default_rng(seed).uniform(0, 255, (n, *inp.shape[1:])).astype(np.float32)
    batched = s.run(None, {inp.name: x})
    worst = 0.0
    for i in range(n):
        single = s.run(None, {inp.name: x[i : i + 1]})
        for b, o in zip(batched, single):
            if b.shape[0] != n or b.shape[1:] != o.shape[1:]:
                raise SystemExit(f"batch output {b.shape} does not match single {o.shape}")
            worst = max(worst, float(np.max(np.abs(b[i : i + 1] - o))))
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--check", type=int, default=0, metavar="N")
    args = ap.parse_args(argv)
    model = onnx.load(args.input)
    changed = make_dynamic(model)
    onnx.checker.check_model(model)
    onnx.save(model, args.output)
    print(f"{args.output}: dynamic batch, {changed} Reshape shape(s) rewritten")
    if args.check:
        worst = check(args.output, args.check)
        print(f"batch of {args.check} vs single calls: max |diff| {worst:.3g}")
        if worst > 1e-3:
            print("batched outputs differ from single calls", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

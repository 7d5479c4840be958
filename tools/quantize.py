"""Quantize a YOLO ONNX model for edgedetect, measure every variant on this machine, and
keep the one that pays.

    python3 tools/quantize.py MODEL --calib SRC [SRC...] [--eval SRC [SRC...]] [--out DIR]

SRC is PATH[@FIRST:COUNT[:STEP]]: a folder of images (sorted by name) or a video, and which
frames of it to take (FIRST, FIRST+STEP, ...; COUNT 0 or none = all). Example:

    python3 tools/quantize.py ../shared/models/yolox_nano.onnx \\
        --calib ../shared/media/coco@0:40 --eval ../shared/media/coco@40:60 \\
        ../shared/media/vtest.avi@5:100:8 --pipeline-video ../shared/media/vtest.avi

Steps (docs/quantization.md has the details and measured results):

1. The model is upgraded to opset 17 when its opset is below 13 (per-channel QDQ needs
   13), then prepared with ONNX Runtime's quant_pre_process (shape inference, constant
   folding).
2. Calibration tensors come from the plugin itself: examples/quantize_helper.rs decodes the
   frames with GStreamer and runs edgedetect's own pre-processing (Detector::preprocess),
   so calibration sees exactly what the plugin will feed.
3. Candidates, with ONNX Runtime's quantize_static (percentile calibration by default,
   computed once for all candidates): QDQ and
   QOperator, S8S8 and U8S8, per-channel and per-tensor; each of these INT8 variants also
   with parts kept in FP32: the detection head's last layers (suffix +head32), the stem,
   i.e. the first layers (+stem32), or both; and an FP16 copy (float32 inputs and outputs,
   keep_io_types). Keeping parts in FP32 never makes a variant faster, so the FP32-part
   variants are built only for INT8 variants that reach --screen times FP32's speed in a
   first, single round (--no-screen builds them all).
4. Accuracy (with --eval): every candidate's detections, from the plugin's own
   Detector::detect (pre-processing, decoding, NMS as edgedetect does them), against the
   FP32 model's detections over --ref-conf as the reference: COCO-style mAP@0.5 and
   mAP@0.5:0.95 (tools/detection_map.py). Candidates within --max-loss points of mAP@0.5
   can be chosen (FP16 only on a CPU with FP16 arithmetic: without it ONNX Runtime runs
   FP32 kernels, and a speed difference is noise by construction).
5. Speed: ONNX Runtime sessions as edgedetect makes them (all graph optimisations, the
   given intra-op threads, one inter-op thread), in paired rounds: in a round FP32 and the
   candidate run in alternating blocks (FP32, candidate, FP32, candidate). Every candidate
   gets --rounds rounds; then rounds are added, --round-step at a time up to --max-rounds,
   for the candidates that can be chosen until each one's speed is decided (decide(): a
   Student-t interval of the geometric-mean ratio, its level corrected for the number of
   looks; "wins" when its low end is at least 1 + --min-gain, "loses" when its high end is
   under it). The table's fps (candidate and FP32 in the same blocks) and ratio come from
   the same rounds, the ratio being the quotient of the two fps.
6. Choice: among the winners, the most accurate; it is measured again against FP32 in
   fresh rounds (--confirm-rounds, by the same rule), and only when that confirmation
   wins is it copied to OUT/chosen.onnx. Otherwise FP32 stays, and the tool says which
   candidates were undecided. A table (OUT/table.md), a plot of speed against accuracy
   (OUT/plot.svg) and everything measured (OUT/results.json) are written.
7. With --pipeline-video: the whole pipeline (filesrc ! decodebin ! videoconvert !
   edgedetect ! fakesink) with the chosen model against FP32, alternately, in rounds.
8. With --profile: ONNX Runtime's profiler per candidate: which operators run, and their
   share of the time (OUT/profile.json), to see what is fused and what falls back to FP32.

Runs offline; needs the packages of tools/requirements.txt and a Rust toolchain (it builds
the helper with `cargo build --release --example quantize_helper` unless --helper is given).
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import version_converter

import detection_map

REPO = Path(__file__).resolve().parents[1]
QUANT_OPSET = 17
CONV_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul"}
CPU_FLAGS = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni",
             "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16",
             # Arm (aarch64 /proc/cpuinfo "Features")
             "asimd", "asimddp", "asimdhp", "fphp", "i8mm", "bf16", "sve", "sve2"]


T0 = time.perf_counter()


def die(msg):
    sys.exit(f"error: {msg}")


def load_average():
    """/proc/loadavg's 1, 5 and 15 minute figures, or "?"."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def say(msg):
    """A step, with the seconds since the start."""
    print(f"== [{time.perf_counter() - T0:6.1f} s] {msg}", flush=True)


# ---------------------------------------------------------------- machine
def cpu_info():
    """CPU model and the instruction-set flags that matter for INT8 and FP16."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "cpu model", "hardware") and value.strip():
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    # The model name alone can be vague ("AMD EPYC" in a VM): add family and model on x86,
    # implementer and part on Arm.
    ids = [re.search(rf"^{k}\s*:\s*(\S+)", text, re.M)
           for k in ("cpu family", "model", "CPU implementer", "CPU part")]
    names = ("family", "model", "implementer", "part")
    extra = ", ".join(f"{n} {m.group(1)}" for n, m in zip(names, ids) if m)
    if extra:
        model = f"{model} ({extra})"
    return {"model": model, "machine": platform.machine(), "cores": os.cpu_count(),
            "flags": [f for f in CPU_FLAGS if f in flags]}


# ---------------------------------------------------------------- sources and helper
def parse_source(spec):
    """PATH[@FIRST:COUNT[:STEP]] -> (path, first, count, step); checks the path exists."""
    path, first, count, step = spec, 0, 0, 1
    m = re.fullmatch(r"(.*)@(\d+)(?::(\d+))?(?::(\d+))?", spec)
    if m:
        path = m.group(1)
        first = int(m.group(2))
        count = int(m.group(3) or 0)
        step = max(1, int(m.group(4) or 1))
    if not Path(path).exists():
        die(f"{path} does not exist (from `{spec}`)")
    return path, first, count, step


def find_helper(given):
    if given:
        if not Path(given).is_file():
            die(f"--helper {given} is not a file")
        return str(given)
    say("building the helper (cargo build --release --example quantize_helper)")
    r = subprocess.run(["cargo", "build", "--release", "--quiet", "--example",
                        "quantize_helper"], cwd=REPO)
    if r.returncode != 0:
        die("cannot build examples/quantize_helper.rs; build it by hand and pass --helper")
    return str(REPO / "target" / "release" / "examples" / "quantize_helper")


def helper(exe, args):
    r = subprocess.run([exe] + [str(a) for a in args], capture_output=True, text=True)
    if r.returncode != 0:
        die(f"quantize_helper {args[0]} failed:\n{r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def source_args(specs):
    out = []
    for s in specs:
        parse_source(s)
        out += ["--source", s]
    return out


# ---------------------------------------------------------------- model preparation
def default_opset(model):
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def name_nodes(model):
    """Gives every unnamed node a unique name (quantize_static excludes nodes by name)."""
    seen = {n.name for n in model.graph.node if n.name}
    for i, n in enumerate(model.graph.node):
        if not n.name:
            name = f"{n.op_type}_{i}"
            while name in seen:
                name += "_"
            n.name = name
            seen.add(name)


def prepare(model_path, work):
    """Opset upgrade when needed, quant_pre_process, unique node names. Returns
    (float model for FP16 conversion, pre-processed model for quantization, notes)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    notes = []
    model = onnx.load(str(model_path))
    opset = default_opset(model)
    upgraded = work / "model_fp32.onnx"
    if opset < 13:
        model = version_converter.convert_version(model, QUANT_OPSET)
        notes.append(f"opset {opset} upgraded to {QUANT_OPSET} (per-channel QDQ needs 13+)")
    onnx.save(model, str(upgraded))
    pre = work / "model_pre.onnx"
    quant_pre_process(str(upgraded), str(pre))
    m = onnx.load(str(pre))
    name_nodes(m)
    onnx.save(m, str(pre))
    return upgraded, pre, notes


def head_nodes(model, depth=1):
    """Names of the nodes after, and including, the last `depth` convolutions on every
    path to the outputs: the detection head's last layers and the decoding after them,
    and the activation between them and the convolution before (so that their input stays
    float). A node's conv depth is the number of Conv/Gemm/MatMul nodes on the longest path
    from it (itself included) to a graph output; nodes with conv depth <= `depth` are
    returned."""
    consumers = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    memo = {}

    def conv_depth(node):
        key = id(node)
        if key not in memo:
            memo[key] = 0  # guards against cycles (none in a valid graph)
            below = max((conv_depth(c) for o in node.output for c in consumers.get(o, [])),
                        default=0)
            memo[key] = below + (node.op_type in CONV_OPS)
        return memo[key]

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    return [n.name for n in model.graph.node if conv_depth(n) <= depth]


def stem_nodes(model, depth=1):
    """Names of the nodes before, and including, the first `depth` convolutions on every
    path from the inputs, and the activation after them: the stem. A node's conv depth is
    the number of Conv/Gemm/MatMul nodes on the longest path from a graph input to it
    (itself included); nodes with conv depth <= `depth` are returned (for YOLOX: the Focus
    slicing, the first convolution and its SiLU)."""
    producer = {o: n for n in model.graph.node for o in n.output}
    memo = {}

    def conv_depth(node):
        key = id(node)
        if key not in memo:
            memo[key] = 0
            above = max((conv_depth(producer[i]) for i in node.input if i in producer),
                        default=0)
            memo[key] = above + (node.op_type in CONV_OPS)
        return memo[key]

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    return [n.name for n in model.graph.node if conv_depth(n) <= depth]


class FrameReader:
    """CalibrationDataReader over the helper's tensors [N,3,H,W]."""

    def __init__(self, tensors, input_name):
        self.tensors, self.name, self.i = tensors, input_name, 0

    def get_next(self):
        if self.i >= len(self.tensors):
            return None
        self.i += 1
        return {self.name: np.ascontiguousarray(self.tensors[self.i - 1:self.i])}

    def rewind(self):
        self.i = 0


# ---------------------------------------------------------------- candidates
@dataclass
class Candidate:
    name: str
    kind: str  # fp32, fp16, QDQ, QOperator
    path: Path = None
    activation: str = ""
    weight: str = ""
    per_channel: bool = False
    keep: str = "none"  # parts kept in FP32: none, head, stem, stem+head
    base: str = ""  # the INT8 variant without FP32 parts, for screening
    error: str = ""
    build_s: float = 0.0
    fps: list = field(default_factory=list)
    ratio: list = field(default_factory=list)
    accuracy: dict = field(default_factory=dict)
    precision: str = ""
    screen: float = None  # speed ratio in the screening round
    blocks: list = field(default_factory=list)  # per round: (runs, s, FP32 runs, s)
    speed: dict = field(default_factory=dict)  # decide()'s result
    note: str = ""  # why it cannot be chosen (accuracy, no FP16 arithmetic)

    @property
    def size_mb(self):
        return self.path.stat().st_size / 1e6 if self.path and self.path.exists() else None

    def add_round(self, b):
        """One paired round (cand runs, cand s, FP32 runs, FP32 s)."""
        self.blocks.append(tuple(float(v) for v in b))
        self.fps.append(b[0] / b[1])
        self.ratio.append(round_ratio(b))

    def point(self):
        """The speed ratio against FP32 (geometric mean over the rounds), or None."""
        return self.speed.get("ratio") if self.speed else None


QTYPES = {"s8s8": ("QInt8", "QInt8"), "u8s8": ("QUInt8", "QInt8")}
FORMATS = {"qdq": "QDQ", "qop": "QOperator"}
KEEPS = ("none", "head", "stem", "stem+head")


def plan_candidates(args):
    """FP32, FP16, and per INT8 variant (format, types, granularity) one candidate per
    --keep-fp32 entry, named e.g. qop-u8s8-pc, qop-u8s8-pc+head32, qop-u8s8-pc+stem32+head32."""
    cands = [Candidate("fp32", "fp32")]
    if not args.no_fp16:
        cands.append(Candidate("fp16", "fp16"))
    keeps = args.keep_fp32.split(",")
    for k in keeps:
        if k not in KEEPS:
            die(f"--keep-fp32: unknown part `{k}` (none, head, stem, stem+head)")
    for f in args.formats.split(","):
        for t in args.types.split(","):
            for g in args.granularity.split(","):
                if f not in FORMATS or t not in QTYPES or g not in ("pc", "pt"):
                    die(f"unknown candidate {f}/{t}/{g}")
                base = f"{f}-{t}-{g}"
                for k in keeps:
                    a, w = QTYPES[t]
                    suffix = "" if k == "none" else "".join(f"+{p}32" for p in k.split("+"))
                    cands.append(Candidate(base + suffix, FORMATS[f], activation=a, weight=w,
                                           per_channel=g == "pc", keep=k, base=base))
    if args.only:
        keep = set(args.only.split(",")) | {"fp32"}
        cands = [c for c in cands if c.name in keep]
    return cands


def fp32_parts(pre_model, args):
    """The node names each --keep-fp32 part excludes from quantization."""
    head = head_nodes(pre_model, args.head_depth)
    stem = stem_nodes(pre_model, args.stem_depth)
    return {"none": [], "head": head, "stem": stem,
            "stem+head": list(dict.fromkeys(stem + head))}


def build(cands, model_path, fp32_path, pre_path, calib, args, work):
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.transformers.float16 import convert_float_to_float16

    pre_model = onnx.load(str(pre_path))
    input_name = pre_model.graph.input[0].name
    parts = fp32_parts(pre_model, args)
    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
              "percentile": CalibrationMethod.Percentile}[args.calibrate_method]
    cand_dir = work / "candidates"
    cand_dir.mkdir(exist_ok=True)
    # One calibration for all candidates: ONNX Runtime stores the activation ranges in this
    # cache on the first quantize_static call and reads them back in the others (they do
    # not depend on the format, the types or the nodes kept in FP32). main() deletes it at
    # the start of a run.
    cache = work / f"calibration_{args.calibrate_method}.json"
    for c in cands:
        if c.path is not None or c.error:
            continue  # built in an earlier call
        t0 = time.perf_counter()
        try:
            if c.kind == "fp32":
                c.path = Path(model_path)
            elif c.kind == "fp16":
                c.path = cand_dir / "fp16.onnx"
                m = convert_float_to_float16(onnx.load(str(fp32_path)), keep_io_types=True)
                onnx.save(m, str(c.path))
            else:
                c.path = cand_dir / f"{c.name}.onnx"
                print(f"   quantizing {c.name}", flush=True)
                quantize_static(
                    str(pre_path), str(c.path), FrameReader(calib, input_name),
                    quant_format=getattr(QuantFormat, c.kind),
                    activation_type=getattr(QuantType, c.activation),
                    weight_type=getattr(QuantType, c.weight),
                    per_channel=c.per_channel,
                    calibrate_method=method,
                    nodes_to_exclude=parts[c.keep],
                    calibration_cache_path=str(cache))
        except Exception as e:  # noqa: BLE001 - a failed candidate is reported, not fatal
            c.error = f"{type(e).__name__}: {e}".splitlines()[0][:200]
            c.path = None
        c.build_s = time.perf_counter() - t0
    return parts


def session(path, threads, profile_prefix=None):
    """An ONNX Runtime session made as edgedetect makes its own."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    if profile_prefix:
        so.enable_profiling = True
        so.profile_file_prefix = str(profile_prefix)
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------- speed
def timed_block(sess, name, frames, seconds):
    """Runs the session for at least `seconds` (and 3 runs); returns (runs, seconds)."""
    n, t0 = 0, time.perf_counter()
    while True:
        sess.run(None, {name: frames[n % len(frames)]})
        n += 1
        dt = time.perf_counter() - t0
        if dt >= seconds and n >= 3:
            return n, dt


def open_sessions(cands, args):
    """[(candidate, session, input name)] for every built candidate ONNX Runtime loads."""
    live = []
    for c in cands:
        if c.path is None or c.error:
            continue
        try:
            s = session(c.path, args.threads)
            live.append((c, s, s.get_inputs()[0].name))
        except Exception as e:  # noqa: BLE001
            c.error = f"ONNX Runtime cannot load it: {e}".splitlines()[0][:200]
    if not any(c.name == "fp32" for c, _, _ in live):
        die("ONNX Runtime cannot load the FP32 model itself: " + cands[0].error)
    return live


class SpeedBench:
    """Paired, alternating speed rounds against FP32. For one candidate, a round is four
    blocks, FP32, candidate, FP32, candidate (each min_time/2 seconds), and gives
    (candidate runs, candidate seconds, FP32 runs, FP32 seconds) over those blocks: a load
    change on a shared machine then hits both sides alike. The candidates of a round run in
    an order that rotates from round to round."""

    def __init__(self, cands, tensors, args):
        self.live = open_sessions(cands, args)
        self.base = next(x for x in self.live if x[0].name == "fp32")
        self.by_name = {c.name: (c, s, n) for c, s, n in self.live}
        self.frames = [np.ascontiguousarray(tensors[i:i + 1])
                       for i in range(min(8, len(tensors)))]
        self.block = args.min_time / 2
        self.rounds_run = 0
        for _, s, name in self.live:  # warm-up
            for x in self.frames[:2]:
                s.run(None, {name: x})

    def names(self):
        return [c.name for c, _, _ in self.live if c.name != "fp32"]

    def measure(self, names, r):
        """One round for `names`; returns {name: (cand runs, s, fp32 runs, s)}."""
        out = {}
        _, bs, bname = self.base
        for k in range(len(names)):
            name = names[(k + r) % len(names)]
            _, s, iname = self.by_name[name]
            bn = bt = cn = ct = 0.0
            for _ in range(2):
                n, t = timed_block(bs, bname, self.frames, self.block)
                bn, bt = bn + n, bt + t
                n, t = timed_block(s, iname, self.frames, self.block)
                cn, ct = cn + n, ct + t
            out[name] = (cn, ct, bn, bt)
        self.rounds_run += 1
        return out


def measure_speed(cands, tensors, args, rounds):
    """`rounds` paired rounds for every candidate (the screening round), stored in the
    candidates' `blocks`."""
    bench = SpeedBench(cands, tensors, args)
    by_name = {c.name: c for c in cands}
    for r in range(rounds):
        res = bench.measure(bench.names(), r)
        for name, b in res.items():
            by_name[name].add_round(b)
        print(f"   round {r + 1}/{rounds}: " + ", ".join(
            f"{n} {round_ratio(b):.2f}x" for n, b in res.items()), flush=True)
    return bench


# ---------------------------------------------------------------- the decision rule
MIN_DECISION_ROUNDS = 3  # a bootstrap over fewer rounds has almost no resamples


def round_ratio(b):
    """A round's ratio: the candidate's throughput over FP32's in the same blocks."""
    cn, ct, bn, bt = b
    return (cn / ct) / (bn / bt)


def per_round(blocks):
    """Per round: (candidate fps, FP32 fps) in the same blocks, as an array [n, 2]."""
    b = np.asarray(blocks, dtype=float).reshape(-1, 4)
    return np.stack([b[:, 0] / b[:, 1], b[:, 2] / b[:, 3]], axis=1)


def speed_summary(blocks):
    """(candidate fps, FP32 fps, ratio): geometric means over the rounds of the candidate's
    fps and of FP32's fps in the same blocks, and their quotient, which is also the
    geometric mean of the rounds' ratios: the table's columns cannot disagree."""
    g = np.exp(np.log(per_round(blocks)).mean(axis=0))
    return float(g[0]), float(g[1]), float(g[0] / g[1])


def t_abs_cdf(t, nu):
    """P(|T| < t) for Student's t with `nu` (integer) degrees of freedom: the closed forms
    of Abramowitz & Stegun 26.7.3 (odd nu) and 26.7.4 (even nu). (No SciPy dependency for
    one distribution function.)"""
    th = np.arctan(abs(t) / np.sqrt(nu))
    s, c = np.sin(th), np.cos(th)
    if nu % 2 == 1:
        if nu == 1:
            return float(2.0 * th / np.pi)
        term = acc = 1.0
        for k in range(1, (nu - 3) // 2 + 1):
            term *= 2 * k / (2 * k + 1) * c * c
            acc += term
        return float(2.0 / np.pi * (th + s * c * acc))
    term = acc = 1.0
    for k in range(1, (nu - 2) // 2 + 1):
        term *= (2 * k - 1) / (2 * k) * c * c
        acc += term
    return float(s * acc)


def t_quantile(p, nu):
    """The p-quantile (p > 0.5) of Student's t with `nu` degrees of freedom (bisection)."""
    lo, hi = 0.0, 1e7
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_abs_cdf(mid, nu) < 2 * p - 1:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def speed_interval(blocks, level):
    """Point estimate and two-sided `level` interval of the speed ratio over paired rounds:
    Student's t interval of the mean of the rounds' log ratios, exponentiated (a
    geometric-mean ratio). Returns (ratio, low, high); low and high are NaN under 2 rounds.

    Why not a bootstrap: a percentile bootstrap interval never reaches past the most
    extreme round, so over 5 rounds it cannot cover the ratio with more than 1 - 2/2^5
    confidence, whatever level is asked; at the levels a sequential rule needs it is far
    too narrow (simulated: a candidate equal to FP32 was declared >= 5 % faster in 4 % of
    runs). The t interval widens with few rounds as it should. Logs make the ratio
    symmetric (0.8x and 1.25x are equally far from 1) and the rounds' log ratios are close
    to normal when the rounds are paired; heavy tails (a build starting beside one block)
    widen it, which only delays a decision. tools/tests/test_quantize.py checks the error
    rates on simulated noisy timings."""
    logs = np.log(per_round(blocks))
    d = logs[:, 0] - logs[:, 1]
    mean = float(d.mean())
    if len(d) < 2:
        return float(np.exp(mean)), float("nan"), float("nan")
    half = t_quantile(1.0 - (1.0 - level) / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(np.exp(mean)), float(np.exp(mean - half)), float(np.exp(mean + half))


def look_points(min_rounds, max_rounds, step):
    """The round counts at which decisions are taken: min_rounds, then every `step` rounds,
    and max_rounds."""
    pts = list(range(min_rounds, max_rounds, max(1, step))) + [max(min_rounds, max_rounds)]
    return sorted(set(pts))


def decide(blocks, min_gain, confidence=0.95, looks=1):
    """The speed decision for one candidate from its paired rounds against FP32.

    The interval is speed_interval()'s at level 1 - (1 - confidence) / looks: `looks` is
    how many times the decision may be taken as rounds are added (Bonferroni), so that over
    all of them the intervals miss the true ratio with probability at most 1 - confidence,
    and a candidate that is not at least `min_gain` faster is declared a winner with
    probability at most (1 - confidence) / 2.

    Returns a dict: decision "wins" (the interval's low end >= 1 + min_gain), "loses" (its
    high end < 1 + min_gain: that gain is excluded) or "undecided" (neither, or fewer than
    MIN_DECISION_ROUNDS rounds); ratio, low, high, level, rounds, fps, fp32_fps."""
    level = 1.0 - (1.0 - confidence) / max(1, looks)
    if not len(blocks):
        return {"decision": "undecided", "ratio": None, "low": float("nan"),
                "high": float("nan"), "level": level, "rounds": 0, "fps": None,
                "fp32_fps": None}
    cand_fps, fp32_fps, _ = speed_summary(blocks)
    ratio, lo, hi = speed_interval(blocks, level)
    target = 1.0 + min_gain
    if len(blocks) < MIN_DECISION_ROUNDS:
        decision = "undecided"
    elif lo >= target:
        decision = "wins"
    elif hi < target:
        decision = "loses"
    else:
        decision = "undecided"
    return {"decision": decision, "ratio": ratio, "low": lo, "high": hi, "level": level,
            "rounds": len(blocks), "fps": cand_fps, "fp32_fps": fp32_fps}


def sequential_rounds(measure, names, leading, min_rounds, max_rounds, min_gain,
                      confidence=0.95, step=5, blocks=None, log=None):
    """Paired rounds until every leading candidate is decided, or max_rounds.

    `measure(names, r)` runs round r for those candidates and returns
    {name: (cand runs, s, fp32 runs, s)}. Every name gets min_rounds rounds; then rounds are
    added, `step` at a time, for the leading candidates (those that could be chosen) that
    decide() still calls undecided, up to max_rounds. Decisions are taken at
    look_points(), and each uses their number as `looks`. Returns ({name: blocks},
    {name: decide() dict})."""
    blocks = blocks if blocks is not None else {n: [] for n in names}
    points = look_points(min_rounds, max_rounds, step)
    r = 0
    for point in points:
        todo = list(names) if r == 0 else open_
        while r < point:
            for n, b in measure(todo, r).items():
                blocks[n].append(b)
            r += 1
        dec = {n: decide(blocks[n], min_gain, confidence, len(points)) for n in names}
        open_ = [n for n in names if n in leading and dec[n]["decision"] == "undecided"]
        if not open_:
            break
        if log and point != points[-1]:
            log(f"after {r} rounds still undecided: " + ", ".join(
                f"{n} {dec[n]['ratio']:.2f} ({dec[n]['low']:.2f}-{dec[n]['high']:.2f})"
                for n in open_))
    return blocks, dec


def confirm(measure, name, min_rounds, max_rounds, min_gain, confidence=0.95, step=5):
    """The winner against FP32 again, in fresh rounds, by the same sequential rule
    (sequential_rounds()). Returns (decide()'s dict, the fresh blocks); the candidate is
    confirmed when the decision is "wins". Because these rounds are new, the confirmation
    is not biased by the winner having been picked as the best of several."""
    blocks, dec = sequential_rounds(measure, [name], {name}, min_rounds, max_rounds,
                                    min_gain, confidence, step)
    return dec[name], blocks[name]


NATIVE_FP16_FLAGS = ("avx512_fp16", "avx512fp16", "asimdhp", "fphp")


def native_fp16(flags):
    """Whether the CPU computes in FP16 (x86 AVX-512 FP16, Arm FP16 arithmetic). Without it,
    ONNX Runtime's CPU provider runs an FP16 model's operators in FP32 between casts."""
    return any(f in flags for f in NATIVE_FP16_FLAGS)


def eligible(c, args, have_accuracy, fp16_native):
    """(can this candidate be chosen, why not). Speed is decided apart (decide())."""
    if c.name == "fp32" or c.error or c.path is None:
        return False, ""
    if c.kind == "fp16" and not fp16_native:
        return False, "no FP16 arithmetic on this CPU: runs FP32 kernels, never chosen on speed"
    if not have_accuracy or c.accuracy.get("map50") is None:
        return False, "accuracy not measured"
    loss = 100.0 * (1.0 - c.accuracy["map50"])
    if loss > args.max_loss:
        return False, f"loses {loss:.1f} points of mAP@0.5"
    return True, ""


# ---------------------------------------------------------------- accuracy
def measure_accuracy(cands, exe, args, work):
    """mAP of every candidate against FP32's detections, over all evaluation frames and
    per evaluation source. Returns (frames, reference detections, per-source info)."""
    live = [c for c in cands if c.path is not None and not c.error]
    say(f"detections of {len(live)} models on the evaluation frames (the plugin's Detector)")
    mods = []
    for c in live:
        mods += ["--model", c.path]
    frames, per_source = [], []
    for k, spec in enumerate(args.eval):
        out = work / f"detections_{k}.json"
        helper(exe, ["detect", *mods, *source_args([spec]), "--threads", args.threads,
                     "--conf", args.pred_conf, "--iou", args.iou, "--out", out])
        doc = json.loads(out.read_text())
        for c, m in zip(live, doc["models"]):
            c.precision = m["precision"]
        per_source.append((spec, len(frames), len(frames) + len(doc["frames"])))
        frames += doc["frames"]
    ref_i = next(i for i, c in enumerate(live) if c.name == "fp32")
    refs = [[d for d in f["detections"][ref_i] if d[4] >= args.ref_conf] for f in frames]
    n_ref = sum(len(r) for r in refs)
    sources = [{"source": spec, "frames": b - a,
                "reference_detections": sum(len(r) for r in refs[a:b])}
               for spec, a, b in per_source]
    for i, c in enumerate(live):
        preds = [f["detections"][i] for f in frames]
        r = detection_map.evaluate(refs, preds)
        kept = sum(1 for p in preds for d in p if d[4] >= args.ref_conf)
        c.accuracy = {"map50": r["map50"], "map50_95": r["map50_95"],
                      "detections": kept, "reference_detections": n_ref}
        if len(per_source) > 1:
            c.accuracy["per_source"] = []
            for spec, a, b in per_source:
                rs = detection_map.evaluate(refs[a:b], preds[a:b])
                c.accuracy["per_source"].append(
                    {"source": spec, "map50": rs["map50"], "map50_95": rs["map50_95"]})
    return len(frames), n_ref, sources


def load_check(cands, exe, args, work):
    """Without evaluation frames: the plugin's Detector still loads every candidate and
    runs it on one calibration frame, and names its precision."""
    live = [c for c in cands if c.path is not None and not c.error]
    mods = []
    for c in live:
        mods += ["--model", c.path]
    out = work / "load_check.json"
    first = parse_source(args.calib[0])
    helper(exe, ["detect", *mods, "--source", f"{first[0]}@{first[1]}:1", "--threads",
                 args.threads, "--out", out])
    for c, m in zip(live, json.loads(out.read_text())["models"]):
        c.precision = m["precision"]


# ---------------------------------------------------------------- profiling
def profile(cands, tensors, args, work):
    prof_dir = work / "profile"
    prof_dir.mkdir(exist_ok=True)
    summary = {}
    x = np.ascontiguousarray(tensors[:1])
    for c in cands:
        if c.path is None or c.error:
            continue
        s = session(c.path, args.threads, prof_dir / c.name)
        name = s.get_inputs()[0].name
        for _ in range(3):
            s.run(None, {name: x})
        runs = 10
        for _ in range(runs):
            s.run(None, {name: x})
        events = json.loads(Path(s.end_profiling()).read_text())
        ops, nodes = {}, {}
        for e in events:
            if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
                continue
            op = e.get("args", {}).get("op_name", "?")
            ops[op] = ops.get(op, 0) + e.get("dur", 0)
            nodes.setdefault(op, set()).add(e["name"])
        total = sum(ops.values()) or 1
        summary[c.name] = {
            op: {"nodes": len(nodes[op]), "ms_per_run": ops[op] / runs / 1000,
                 "share": ops[op] / total}
            for op in sorted(ops, key=lambda o: -ops[o])}
    (work / "profile.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


# ---------------------------------------------------------------- choice and report
def choose(cands, args, have_accuracy, fp16_native=False):
    """The candidate to confirm, or None when FP32 stays: among the candidates that may be
    chosen (eligible(): within max_loss points of mAP@0.5; FP16 only where the CPU has FP16
    arithmetic) and whose speed decision is "wins" (the low end of the interval of their
    speed ratio is at least 1 + min_gain), the most accurate (mAP@0.5, then mAP@0.5:0.95),
    then the one with the highest low end. Every winner is shown to pay; ranking winners by
    their point estimates would rest on differences the noise does not resolve (and flip
    from run to run), while accuracy is measured exactly."""
    winners = [c for c in cands if eligible(c, args, have_accuracy, fp16_native)[0]
               and c.speed.get("decision") == "wins"]
    return max(winners, key=lambda c: (round(c.accuracy["map50"], 4),
                                       round(c.accuracy.get("map50_95") or 0.0, 4),
                                       c.speed["low"]), default=None)


def finite(v):
    """v with NaN and infinities replaced by None (JSON has no NaN)."""
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [finite(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def pct(v):
    return "–" if v is None else f"{100 * v:.1f}"


def table(cands, have_accuracy, args):
    """One speed measure: the ratio against FP32 with its interval (decide()), and the fps
    of the candidate and of FP32 over the same blocks (geometric means over the rounds),
    whose quotient the ratio is."""
    level = next((c.speed["level"] for c in cands if c.speed), None)
    lvl = f"{100 * level:.4g} %" if level else "–"
    head = (f"| candidate | precision | size MB | fps: candidate / FP32 in the same blocks | "
            f"speed vs FP32: ratio ({lvl} interval) | rounds | "
            f"speed (vs {1 + args.min_gain:g}×) |")
    sep = "|---|---|---|---|---|---|---|"
    if have_accuracy:
        head += " mAP@0.5 | mAP@0.5:0.95 | detections |"
        sep += "---|---|---|"
    head += " note |"
    sep += "---|"
    lines = [head, sep]
    words = {"wins": "pays", "loses": "does not pay", "undecided": "undecided"}
    for c in cands:
        if c.error:
            lines.append(f"| {c.name} | failed: {c.error} |" + " |" * (sep.count("|") - 3))
            continue
        sp = c.speed
        if c.name == "fp32":
            b = [x for o in cands if o.name != "fp32" for x in o.blocks]
            fp32_fps = speed_summary(b)[1] if b else None
            fps = f"{fp32_fps:.1f} (all its blocks)" if fp32_fps else "–"
            ratio, rounds, verdict = "1", "–", "–"
        elif sp and sp.get("ratio") is not None:
            fps = f"{sp['fps']:.1f} / {sp['fp32_fps']:.1f}"
            ratio = (f"{sp['ratio']:.2f} ({sp['low']:.2f}–{sp['high']:.2f})"
                     if np.isfinite(sp["low"]) else f"{sp['ratio']:.2f}")
            rounds, verdict = str(sp["rounds"]), words[sp["decision"]]
        else:
            fps, ratio, rounds, verdict = "–", "–", "0", "–"
        row = (f"| {c.name} | {c.precision or c.kind} | {c.size_mb:.3g} | {fps} | {ratio} | "
               f"{rounds} | {verdict} |")
        if have_accuracy:
            a = c.accuracy
            row += (f" {pct(a.get('map50'))} | {pct(a.get('map50_95'))} | "
                    f"{a.get('detections', '–')} |")
        row += f" {c.note} |"
        lines.append(row)
    return "\n".join(lines)


def source_table(cands):
    """mAP@0.5 / mAP@0.5:0.95 per evaluation source, when there are several."""
    with_src = [c for c in cands if c.accuracy.get("per_source")]
    if not with_src:
        return ""
    specs = [s["source"] for s in with_src[0].accuracy["per_source"]]
    lines = ["| candidate | " + " | ".join(f"{Path(s).name} mAP@0.5 / @0.5:0.95"
                                          for s in specs) + " |",
             "|---|" + "---|" * len(specs)]
    for c in with_src:
        lines.append(f"| {c.name} | " + " | ".join(
            f"{pct(s['map50'])} / {pct(s['map50_95'])}" for s in c.accuracy["per_source"])
            + " |")
    return "\n".join(lines)


def nice_ticks(lo, hi, n=5):
    """About n round tick values covering lo..hi (steps of 1, 2 or 5 times a power of 10)."""
    raw = (hi - lo) / max(n, 1) or 1.0
    mag = 10 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = np.ceil(lo / step) * step
    return [float(v) for v in np.arange(first, hi + step * 1e-9, step)]


KIND_COLOURS = {"fp32": "black", "fp16": "#2ca02c", "QDQ": "#1f77b4", "QOperator": "#ff7f0e"}


def svg_plot(cands, have_accuracy, max_loss, chosen, title):
    """Speed ratio (x) against mAP@0.5 (y), or against size when accuracy was not
    measured. Points are numbered; the list on the right names them. Hand-written SVG: a
    scatter plot needs no plotting library."""
    pts = [c for c in cands if not c.error and (c.point() or c.name == "fp32")]
    if have_accuracy:
        pts = [c for c in pts if c.accuracy.get("map50") is not None]
        ys = [100 * c.accuracy["map50"] for c in pts]
        ylabel = "mAP@0.5 against the FP32 detections (%)"
    else:
        ys = [c.size_mb for c in pts]
        ylabel = "model size (MB)"
    xs = [1.0 if c.name == "fp32" else c.point() for c in pts]
    W, L, R, T, B = 1000, 70, 360, 40, 60
    H = max(480, T + 30 + 16 * (len(pts) + 5))
    x_lo, x_hi = min(xs + [1.0]), max(xs + [1.0])
    xpad = (x_hi - x_lo) * 0.08 or 0.1
    x0, x1 = max(0.0, x_lo - xpad), x_hi + xpad
    y_lo = min(ys + ([100 - 2 * max_loss] if have_accuracy else [0])) if ys else 0
    y_hi = max(ys + ([100.0] if have_accuracy else [])) if ys else 1
    ypad = (y_hi - y_lo) * 0.06 or 1.0
    y0, y1 = max(0.0, y_lo - ypad), y_hi + ypad

    def px(x):
        return L + (x - x0) / (x1 - x0) * (W - L - R)

    def py(y):
        return T + (y1 - y) / (y1 - y0) * (H - T - B)

    def esc(s):
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{(L + W - R) / 2}" y="20" text-anchor="middle" font-size="14">'
           f'{esc(title)}</text>',
           f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>']
    for xv in nice_ticks(x0, x1, 6):
        out.append(f'<line x1="{px(xv):.1f}" y1="{H - B}" x2="{px(xv):.1f}" '
                   f'y2="{H - B + 4}" stroke="black"/>')
        out.append(f'<text x="{px(xv):.1f}" y="{H - B + 17}" text-anchor="middle">'
                   f'{xv:g}</text>')
    for yv in nice_ticks(y0, y1, 6):
        out.append(f'<line x1="{L - 4}" y1="{py(yv):.1f}" x2="{L}" y2="{py(yv):.1f}" '
                   'stroke="black"/>')
        out.append(f'<text x="{L - 7}" y="{py(yv) + 4:.1f}" text-anchor="end">{yv:g}</text>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 18}" text-anchor="middle">'
               'throughput relative to FP32 (geometric mean over paired rounds)</text>')
    out.append(f'<text x="18" y="{(T + H - B) / 2}" text-anchor="middle" '
               f'transform="rotate(-90 18 {(T + H - B) / 2})">{esc(ylabel)}</text>')
    out.append(f'<line x1="{px(1):.1f}" y1="{T}" x2="{px(1):.1f}" y2="{H - B}" '
               'stroke="grey" stroke-dasharray="4 4"/>')
    if have_accuracy:
        yl = py(100 - max_loss)
        out.append(f'<line x1="{L}" y1="{yl:.1f}" x2="{W - R}" y2="{yl:.1f}" stroke="red" '
                   'stroke-dasharray="6 3"/>')
        out.append(f'<text x="{W - R - 4}" y="{yl - 4:.1f}" text-anchor="end" fill="red">'
                   f'FP32 - {max_loss:g} points</text>')
    placed = []  # label boxes (x, y, w, h), to keep the numbers apart
    for i, (c, x, y) in enumerate(zip(pts, xs, ys), 1):
        colour = KIND_COLOURS[c.kind]
        cx, cy = px(x), py(y)
        r = 7 if chosen is not None and c.name == chosen.name else 4
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r}" fill="{colour}">'
                   f'<title>{esc(c.name)}</title></circle>')
        w, h = 7 * len(str(i)) + 2, 11
        for k in range(40):  # first free spot right of the point, up or down, then further
            step = (k % 10 + 1) // 2 * (1 if k % 2 else -1)
            lx, ly = cx + 6 + (k // 10) * 16, cy - 4 + step * 11
            if all(lx + w < a or a + aw < lx or ly + h < b or b + ah < ly
                   for a, b, aw, ah in placed):
                break
        placed.append((lx, ly, w, h))
        out.append(f'<text x="{lx:.1f}" y="{ly + 9:.1f}" font-size="10" fill="{colour}">'
                   f'{i}</text>')
    lx = W - R + 20
    out.append(f'<text x="{lx}" y="{T + 4}" font-weight="bold">candidates '
               f'(x: speed, y: {"mAP@0.5" if have_accuracy else "MB"})</text>')
    for i, (c, x, y) in enumerate(zip(pts, xs, ys), 1):
        mark = " (chosen)" if chosen is not None and c.name == chosen.name else ""
        out.append(f'<text x="{lx}" y="{T + 8 + 16 * i}" fill="{KIND_COLOURS[c.kind]}">'
                   f'{i}. {esc(c.name)}: {x:.2f}x, {y:.3g}{mark}</text>')
    ly = T + 8 + 16 * (len(pts) + 2)
    for j, (kind, colour) in enumerate(KIND_COLOURS.items()):
        out.append(f'<circle cx="{lx + 5 + 80 * j}" cy="{ly - 4}" r="4" fill="{colour}"/>'
                   f'<text x="{lx + 13 + 80 * j}" y="{ly}">{kind}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def pipeline(cands, chosen, exe, args, work):
    target = None
    if args.pipeline_model:
        target = next((c for c in cands if c.name == args.pipeline_model), None)
        if target is None or target.error or target.path is None:
            say(f"whole pipeline: --pipeline-model {args.pipeline_model} is not a built "
                "candidate; skipped")
            return None
    elif chosen is not None:
        target = chosen
    else:
        # FP32 is best: compare it with the most accurate candidate that is faster, to show
        # what the pipeline would gain for that loss.
        faster = [c for c in cands if c.name != "fp32" and c.point() and not c.error
                  and c.point() >= 1.0 + args.min_gain]
        target = max(faster, key=lambda c: (c.accuracy.get("map50") or 0, c.point()),
                     default=None)
        if target is None:
            say("whole pipeline: no candidate is faster than FP32, nothing to compare")
            return None
        say(f"whole pipeline: FP32 is best; comparing with the most accurate faster "
            f"candidate, {target.name} (not chosen)")
    fp32 = cands[0]
    say(f"whole pipeline: {args.pipeline_video} through edgedetect, fp32 and {target.name}, "
        f"{args.pipeline_rounds} rounds")
    out = work / "pipeline.json"
    r = helper(exe, ["pipeline", "--model", fp32.path, "--model", target.path,
                     "--video", args.pipeline_video, "--threads", args.threads,
                     "--rounds", args.pipeline_rounds, "--frames", args.pipeline_frames,
                     "--out", out])
    ratios = [row[1] / row[0] for row in r["fps"]]
    return {"model": target.name, "frames": r["frames"], "fps": r["fps"],
            "ratio": ratios, "median_ratio": float(np.median(ratios))}


# ---------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="the FP32 ONNX model (as edgedetect loads it)")
    p.add_argument("--calib", nargs="+", required=True, metavar="SRC",
                   help="calibration frames: PATH[@FIRST:COUNT[:STEP]] (folder or video)")
    p.add_argument("--eval", nargs="+", default=[], metavar="SRC",
                   help="evaluation frames (without them only speed is measured and "
                        "nothing is chosen)")
    p.add_argument("--out", type=Path, help="output folder (default ./STEM-quantized)")
    p.add_argument("--threads", type=int, default=2,
                   help="intra-op threads, as edgedetect's `threads` will be (default 2)")
    p.add_argument("--rounds", type=int, default=5,
                   help="paired speed rounds for every candidate (default 5)")
    p.add_argument("--max-rounds", type=int, default=15,
                   help="rounds added, up to this many in all, for the candidates that could "
                        "be chosen until each one's speed is decided (default 15)")
    p.add_argument("--round-step", type=int, default=5,
                   help="rounds added between two decisions (default 5)")
    p.add_argument("--confidence", type=float, default=0.95,
                   help="confidence of the speed decisions over all the rounds (default "
                        "0.95; each look uses 1 - (1 - confidence) / looks)")
    p.add_argument("--confirm-rounds", type=int, default=5,
                   help="fresh rounds measuring the winner against FP32 again before "
                        "chosen.onnx is written, more (to --max-rounds) while undecided "
                        "(default 5)")
    p.add_argument("--min-time", type=float, default=1.0,
                   help="seconds per candidate per round, and as much again for FP32 "
                        "beside it (default 1)")
    p.add_argument("--max-loss", type=float, default=2.0,
                   help="largest mAP@0.5 loss against FP32 to accept, points (default 2)")
    p.add_argument("--min-gain", type=float, default=0.05,
                   help="smallest speed-up to accept, as a fraction (default 0.05 = 5%%): "
                        "the low end of the interval of the speed ratio must reach 1 + it")
    p.add_argument("--ref-conf", type=float, default=0.25,
                   help="FP32 detections at or over this score are the reference "
                        "(edgedetect's default conf-threshold, 0.25)")
    p.add_argument("--pred-conf", type=float, default=0.01,
                   help="score threshold of the candidates' detections for mAP (0.01)")
    p.add_argument("--iou", type=float, default=0.45, help="NMS IoU threshold (0.45)")
    p.add_argument("--formats", default="qdq,qop", help="qdq,qop")
    p.add_argument("--types", default="s8s8,u8s8", help="s8s8,u8s8 (activation/weight)")
    p.add_argument("--granularity", default="pc,pt", help="pc (per channel), pt (per tensor)")
    p.add_argument("--keep-fp32", default=",".join(KEEPS),
                   help="variants of each INT8 candidate by the parts kept in FP32: none, "
                        "head (the head's last layers), stem (the first layers), stem+head "
                        "(default: all four)")
    p.add_argument("--head-depth", type=int, default=1,
                   help="how many convolutions from the output count as the head's last "
                        "layers (default 1; 2 also keeps an Ultralytics DFL's inputs)")
    p.add_argument("--stem-depth", type=int, default=2,
                   help="how many convolutions from the input count as the stem (default 2: "
                        "the first tensor quantized is the third convolution's input)")
    p.add_argument("--screen", type=float, default=0.9,
                   help="INT8 variants slower than this ratio to FP32 in one screening "
                        "round get no FP32-part variants (default 0.9)")
    p.add_argument("--no-screen", action="store_true",
                   help="build every candidate, without screening")
    p.add_argument("--calibrate-method", choices=["minmax", "entropy", "percentile"],
                   default="percentile",
                   help="ONNX Runtime's calibration (default percentile: 99.999th "
                        "percentile of |x|; docs/quantization.md compares it with minmax)")
    p.add_argument("--no-fp16", action="store_true", help="no FP16 candidate")
    p.add_argument("--only", help="comma-separated candidate names to build (fp32 always)")
    p.add_argument("--profile", action="store_true",
                   help="ONNX Runtime profile of every candidate (OUT/profile.json)")
    p.add_argument("--pipeline-video", help="also time the whole pipeline on this video")
    p.add_argument("--pipeline-rounds", type=int, default=6,
                   help="pipeline runs per model, alternating (default 6)")
    p.add_argument("--pipeline-frames", type=int, default=300,
                   help="frames per pipeline run, 0 = the whole video (default 300)")
    p.add_argument("--pipeline-model",
                   help="candidate to compare in the pipeline (default: the chosen one; when "
                        "FP32 is best, the most accurate candidate that is faster)")
    p.add_argument("--helper", help="path of a built quantize_helper (default: build it)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model = Path(args.model)
    if not model.is_file():
        die(f"model {model} not found")
    work = args.out or Path(f"{model.stem}-quantized")
    work.mkdir(parents=True, exist_ok=True)
    cpu = cpu_info()
    say(f"{cpu['model']}, {cpu['cores']} cores, flags: {' '.join(cpu['flags'])}; "
          f"ONNX Runtime {ort.__version__}, {args.threads} threads")
    exe = find_helper(args.helper)

    say("calibration tensors (the plugin's pre-processing)")
    calib_file = work / "calibration.npy"
    info = helper(exe, ["dump", "--model", model, *source_args(args.calib),
                        "--out", calib_file])
    calib = np.load(calib_file)
    print(f"   {info['frames']} frames, tensor {info['shape'][1:]}, family {info['family']}")
    if len(calib) == 0:
        die("no calibration frames")

    for old in work.glob("calibration_*.json"):
        old.unlink()  # ranges of an earlier run
    say("preparing the model")
    fp32_path, pre_path, notes = prepare(model, work)
    for n in notes:
        print(f"   {n}")
    cands = plan_candidates(args)
    # Screening needs the base variants; with --only, build what was asked for.
    screen = not args.no_screen and not args.only
    first = [c for c in cands if c.keep == "none"] if screen else cands
    if len(first) < len(cands):
        say(f"building {len(first) - 1} candidates (FP16 and the INT8 variants without FP32 "
            "parts)")
    else:
        say(f"building {len(cands) - 1} candidates")
    parts = build(first, model, fp32_path, pre_path, calib, args, work)
    if len(first) < len(cands):
        say(f"screening: one round of speed; INT8 variants under {args.screen:g}x FP32 get no "
            "FP32-part variants")
        measure_speed(first, calib, args, 1)
        for c in first:
            c.screen = c.ratio[0] if c.ratio else None
            c.fps, c.ratio, c.blocks = [], [], []
        passed = {c.base for c in first if c.base and c.screen is not None
                  and c.screen >= args.screen}
        skipped = [c for c in cands if c.keep != "none" and c.base not in passed]
        cands = [c for c in cands if c not in skipped]
        if skipped:
            print(f"   not built (base variant slower than {args.screen:g}x FP32): "
                  + ", ".join(sorted({c.base for c in skipped})))
        say(f"building {len(cands) - len(first)} more candidates")
        build(cands, model, fp32_path, pre_path, calib, args, work)
    for c in cands:
        if c.error:
            print(f"   {c.name}: failed: {c.error}")

    have_accuracy = bool(args.eval)
    eval_info = None
    if have_accuracy:
        exe_frames, n_ref, sources = measure_accuracy(cands, exe, args, work)
        eval_info = {"frames": exe_frames, "reference_detections": n_ref,
                     "per_source": sources}
        print(f"   {exe_frames} frames, {n_ref} FP32 detections at score >= {args.ref_conf}")
    else:
        say("no --eval frames: accuracy not measured, nothing will be chosen")
        load_check(cands, exe, args, work)

    fp16_native = native_fp16(cpu["flags"])
    for c in cands:
        c.note = eligible(c, args, have_accuracy, fp16_native)[1]
        if c.kind == "fp16" and not fp16_native and have_accuracy:
            c.note = ("no FP16 arithmetic on this CPU (no avx512_fp16, asimdhp or fphp): "
                      "runs FP32 kernels, never chosen on speed")
    leading = {c.name for c in cands if eligible(c, args, have_accuracy, fp16_native)[0]}
    max_rounds = max(args.rounds, args.max_rounds)
    say(f"speed: {args.rounds} paired rounds for every candidate, then more (up to "
        f"{max_rounds}) for the {len(leading)} that could be chosen until each is decided; "
        f"{args.threads} threads, load average {load_average()}")
    bench = SpeedBench(cands, calib, args)
    by_name = {c.name: c for c in cands}

    def measure(names, r):
        res = bench.measure(names, r)
        for name, b in res.items():
            by_name[name].add_round(b)
        # FP32's own row: its fps in this round (geometric mean over its blocks), ratio 1.
        fp32 = by_name["fp32"]
        if not res:
            return {}
        fp32.fps.append(float(np.exp(np.mean([np.log(b[2] / b[3]) for b in res.values()]))))
        fp32.ratio.append(1.0)
        print(f"   round {r + 1}: " + ", ".join(f"{n} {round_ratio(b):.2f}x"
                                               for n, b in res.items()), flush=True)
        return {}  # the blocks are kept in the candidates (add_round)

    names = bench.names()
    blocks = {n: by_name[n].blocks for n in names}
    _, decisions = sequential_rounds(measure, names, leading, args.rounds, max_rounds,
                                     args.min_gain, args.confidence, args.round_step,
                                     blocks=blocks,
                                     log=lambda m: print(f"   {m}", flush=True))
    for n, d in decisions.items():
        by_name[n].speed = d
    load_speed = load_average()

    prof = None
    if args.profile:
        say("ONNX Runtime profiles (10 runs each)")
        prof = profile(cands, calib, args, work)
        for name, ops in prof.items():
            top = list(ops.items())[:6]
            print(f"   {name}: " + ", ".join(
                f"{op} x{v['nodes']} {100 * v['share']:.0f}%" for op, v in top))

    chosen = choose(cands, args, have_accuracy, fp16_native)
    confirmation = None
    if chosen is not None:
        say(f"confirmation: {chosen.name} against FP32 in {args.confirm_rounds} or more fresh "
            f"rounds; load average {load_average()}")
        conf, fresh = confirm(lambda names, r: bench.measure(names, r), chosen.name,
                              args.confirm_rounds, max(args.confirm_rounds, max_rounds),
                              args.min_gain, args.confidence, args.round_step)
        confirmation = {**conf, "candidate": chosen.name,
                        "blocks": [list(b) for b in fresh],
                        "ratio_per_round": [round_ratio(b) for b in fresh]}
        print("   " + ", ".join(f"{r:.2f}x" for r in confirmation["ratio_per_round"]))
    tab = table(cands, have_accuracy, args)
    src_tab = source_table(cands)
    if src_tab:
        tab += "\n\n" + src_tab
    print()
    print(tab)
    print()
    gain = f"{100 * args.min_gain:g}%"
    undecided = [c.name for c in cands if c.name in leading
                 and c.speed.get("decision") == "undecided"]
    und = (f"; undecided after {max_rounds} rounds: {', '.join(undecided)} (FP32 stays "
           "for them)" if undecided else "")
    if confirmation is not None and confirmation["decision"] == "wins":
        shutil.copyfile(chosen.path, work / "chosen.onnx")
        verdict = (f"chosen: {chosen.name}: confirmed in {confirmation['rounds']} fresh rounds at "
                   f"{confirmation['ratio']:.2f}x FP32's throughput ("
                   f"{100 * confirmation['level']:.4g} % interval {confirmation['low']:.2f}–"
                   f"{confirmation['high']:.2f}, low end >= {1 + args.min_gain:g}), mAP@0.5 "
                   f"{pct(chosen.accuracy['map50'])} against FP32 -> {work / 'chosen.onnx'}")
    elif confirmation is not None:
        verdict = (f"FP32 stays: {chosen.name} was shown at least {gain} faster "
                   f"({chosen.speed['ratio']:.2f}x, {chosen.speed['low']:.2f}–"
                   f"{chosen.speed['high']:.2f}) but not in the confirmation, "
                   f"{confirmation['rounds']} fresh rounds: {confirmation['ratio']:.2f}x "
                   f"({100 * confirmation['level']:.4g} % interval {confirmation['low']:.2f}–"
                   f"{confirmation['high']:.2f}){und}")
        (work / "chosen.onnx").unlink(missing_ok=True)
    elif have_accuracy:
        verdict = (f"FP32 stays: no candidate within {args.max_loss:g} "
                   f"points of mAP@0.5 is shown at least {gain} faster at "
                   f"{100 * args.confidence:g} % confidence{und}")
        (work / "chosen.onnx").unlink(missing_ok=True)
    else:
        fastest = max((c for c in cands if c.point() and c.name != "fp32"),
                      key=lambda c: c.speed["low"], default=None)
        verdict = ("accuracy not measured (no --eval): nothing chosen" +
                   (f"; fastest (highest low end): {fastest.name} ({fastest.point():.2f}x, "
                    f"{fastest.speed['low']:.2f}–{fastest.speed['high']:.2f})"
                    if fastest else ""))
    verdict += f" [load average {load_speed} after the speed rounds]"
    print(verdict)
    if confirmation is None or confirmation["decision"] != "wins":
        chosen = None

    title = f"{model.name}: {cpu['model']}, {args.threads} threads"
    (work / "plot.svg").write_text(svg_plot(cands, have_accuracy, args.max_loss, chosen, title))
    (work / "table.md").write_text(tab + "\n\n" + verdict + "\n")
    results = {
        "model": str(model), "cpu": cpu, "onnxruntime": ort.__version__,
        "threads": args.threads, "rounds": args.rounds, "max_rounds": max_rounds,
        "confidence": args.confidence, "confirm_rounds": args.confirm_rounds,
        "fp16_native": fp16_native, "load_average_after_speed": load_speed,
        "notes": notes,
        "calibration": {"sources": args.calib, "frames": int(len(calib)),
                        "method": args.calibrate_method},
        "evaluation": {"sources": args.eval, **(eval_info or {}),
                       "ref_conf": args.ref_conf, "pred_conf": args.pred_conf},
        "fp32_parts": {k: v for k, v in parts.items() if k in ("head", "stem")},
        "screen": args.screen if screen else None,
        "max_loss": args.max_loss, "min_gain": args.min_gain,
        "chosen": (chosen.name if confirmation and confirmation["decision"] == "wins" else
                   ("fp32" if have_accuracy else None)),
        "verdict": verdict, "confirmation": confirmation, "pipeline": None, "profile": prof,
        "candidates": [{
            "name": c.name, "kind": c.kind, "precision": c.precision,
            "path": str(c.path) if c.path else None, "error": c.error,
            "keep_fp32": c.keep, "screen_ratio": c.screen,
            "size_mb": c.size_mb, "build_s": c.build_s, "fps": c.fps, "ratio": c.ratio,
            "blocks": [list(b) for b in c.blocks], "speed": c.speed, "note": c.note,
            **c.accuracy} for c in cands],
    }
    (work / "results.json").write_text(json.dumps(finite(results), indent=1) + "\n")
    say(f"wrote {work}/results.json, table.md, plot.svg")

    if args.pipeline_video:
        pipe = pipeline(cands, chosen, exe, args, work)
        if pipe:
            line = (f"whole pipeline ({pipe['frames']} frames of {args.pipeline_video}, "
                    f"{args.threads} threads), fps per round (fp32, {pipe['model']}): "
                    + "; ".join(f"{a:.1f}, {b:.1f}" for a, b in pipe["fps"])
                    + f"; median ratio {pipe['median_ratio']:.2f}")
            print(f"   {line}")
            results["pipeline"] = pipe
            (work / "results.json").write_text(json.dumps(finite(results), indent=1) + "\n")
            with open(work / "table.md", "a") as f:
                f.write("\n" + line + "\n")


if __name__ == "__main__":
    main()

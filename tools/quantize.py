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
3. Candidates, with ONNX Runtime's quantize_static (MinMax calibration by default): QDQ and
   QOperator, S8S8 and U8S8, per-channel and per-tensor, each with the detection head's
   last layers in INT8 and (suffix +head32) kept in FP32; and an FP16 copy
   (float32 inputs and outputs, keep_io_types).
4. Speed: ONNX Runtime sessions as edgedetect makes them (all graph optimisations, the
   given intra-op threads, one inter-op thread), measured in rounds, every candidate once
   per round in a rotating order; the ratio to FP32 is taken within each round and the
   median over rounds reported (the machine may be shared and noisy).
5. Accuracy (with --eval): every candidate's detections, from the plugin's own
   Detector::detect (pre-processing, decoding, NMS as edgedetect does them), against the
   FP32 model's detections over --ref-conf as the reference: COCO-style mAP@0.5 and
   mAP@0.5:0.95 (tools/detection_map.py).
6. The fastest candidate that is at least --min-gain faster than FP32 and loses at most
   --max-loss points of mAP@0.5 is copied to OUT/chosen.onnx; otherwise the tool says that
   FP32 is best on this device. A table (OUT/table.md), a plot of speed against accuracy
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
    if platform.machine() == "aarch64" and "CPU part" in text and model == "aarch64":
        part = re.search(r"CPU part\s*:\s*(\S+)", text)
        model = f"aarch64 (CPU part {part.group(1)})" if part else model
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
    path to the outputs: the detection head's last layers and the decoding after them.
    A node's conv depth is the number of Conv/Gemm/MatMul nodes on the longest path from it
    (itself included) to a graph output; nodes with conv depth <= `depth` are returned."""
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
    head_fp32: bool = False
    error: str = ""
    build_s: float = 0.0
    fps: list = field(default_factory=list)
    ratio: list = field(default_factory=list)
    accuracy: dict = field(default_factory=dict)
    precision: str = ""

    @property
    def size_mb(self):
        return self.path.stat().st_size / 1e6 if self.path and self.path.exists() else None

    def median(self, values):
        return float(np.median(values)) if values else None


QTYPES = {"s8s8": ("QInt8", "QInt8"), "u8s8": ("QUInt8", "QInt8")}
FORMATS = {"qdq": "QDQ", "qop": "QOperator"}


def plan_candidates(args):
    cands = [Candidate("fp32", "fp32")]
    if not args.no_fp16:
        cands.append(Candidate("fp16", "fp16"))
    heads = {"int8": [False], "fp32": [True], "both": [False, True]}[args.head]
    for f in args.formats.split(","):
        for t in args.types.split(","):
            for g in args.granularity.split(","):
                for h in heads:
                    if f not in FORMATS or t not in QTYPES or g not in ("pc", "pt"):
                        die(f"unknown candidate {f}/{t}/{g}")
                    a, w = QTYPES[t]
                    name = f"{f}-{t}-{g}" + ("+head32" if h else "")
                    cands.append(Candidate(name, FORMATS[f], activation=a, weight=w,
                                           per_channel=g == "pc", head_fp32=h))
    if args.only:
        keep = set(args.only.split(",")) | {"fp32"}
        cands = [c for c in cands if c.name in keep]
    return cands


def build(cands, model_path, fp32_path, pre_path, calib, args, work):
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.transformers.float16 import convert_float_to_float16

    pre_model = onnx.load(str(pre_path))
    input_name = pre_model.graph.input[0].name
    excluded = head_nodes(pre_model, args.head_depth)
    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
              "percentile": CalibrationMethod.Percentile}[args.calibrate_method]
    cand_dir = work / "candidates"
    cand_dir.mkdir(exist_ok=True)
    for c in cands:
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
                    nodes_to_exclude=excluded if c.head_fp32 else [])
        except Exception as e:  # noqa: BLE001 - a failed candidate is reported, not fatal
            c.error = f"{type(e).__name__}: {e}".splitlines()[0][:200]
            c.path = None
        c.build_s = time.perf_counter() - t0
    return excluded


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
def measure_speed(cands, tensors, args):
    live = []
    for c in cands:
        if c.path is None:
            continue
        try:
            s = session(c.path, args.threads)
            live.append((c, s, s.get_inputs()[0].name))
        except Exception as e:  # noqa: BLE001
            c.error = f"ONNX Runtime cannot load it: {e}".splitlines()[0][:200]
    frames = [np.ascontiguousarray(tensors[i:i + 1]) for i in range(min(8, len(tensors)))]
    for r in range(args.rounds):
        fps = {}
        for k in range(len(live)):
            c, s, name = live[(k + r) % len(live)]
            for x in frames[:2]:
                s.run(None, {name: x})
            n, t0 = 0, time.perf_counter()
            while True:
                s.run(None, {name: frames[n % len(frames)]})
                n += 1
                dt = time.perf_counter() - t0
                if dt >= args.min_time and n >= 3:
                    break
            fps[c.name] = n / dt
        base = fps.get("fp32")
        for c, _, _ in live:
            c.fps.append(fps[c.name])
            if base:
                c.ratio.append(fps[c.name] / base)
        print(f"   round {r + 1}/{args.rounds}: " + ", ".join(
            f"{c.name} {fps[c.name]:.1f}" for c, _, _ in live), flush=True)


# ---------------------------------------------------------------- accuracy
def measure_accuracy(cands, exe, args, work):
    live = [c for c in cands if c.path is not None and not c.error]
    out = work / "detections.json"
    say(f"detections of {len(live)} models on the evaluation frames (the plugin's Detector)")
    mods = []
    for c in live:
        mods += ["--model", c.path]
    helper(exe, ["detect", *mods, *source_args(args.eval), "--threads", args.threads,
                 "--conf", args.pred_conf, "--iou", args.iou, "--out", out])
    doc = json.loads(out.read_text())
    for c, m in zip(live, doc["models"]):
        c.precision = m["precision"]
    ref_i = next(i for i, c in enumerate(live) if c.name == "fp32")
    refs = [[d for d in f["detections"][ref_i] if d[4] >= args.ref_conf]
            for f in doc["frames"]]
    n_ref = sum(len(r) for r in refs)
    for i, c in enumerate(live):
        preds = [f["detections"][i] for f in doc["frames"]]
        r = detection_map.evaluate(refs, preds)
        kept = sum(1 for p in preds for d in p if d[4] >= args.ref_conf)
        c.accuracy = {"map50": r["map50"], "map50_95": r["map50_95"],
                      "detections": kept, "reference_detections": n_ref}
    return len(doc["frames"]), n_ref


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
def choose(cands, args, have_accuracy):
    """The fastest candidate at least min_gain faster than FP32 within max_loss points of
    mAP@0.5 (FP32's own is 100 by construction); None when FP32 is best."""
    best = None
    for c in cands:
        if c.name == "fp32" or c.error or not c.ratio:
            continue
        if not have_accuracy or c.accuracy.get("map50") is None:
            continue
        loss = 100.0 * (1.0 - c.accuracy["map50"])
        if loss > args.max_loss or c.median(c.ratio) < 1.0 + args.min_gain:
            continue
        if best is None or c.median(c.ratio) > best.median(best.ratio):
            best = c
    return best


def pct(v):
    return "–" if v is None else f"{100 * v:.1f}"


def table(cands, have_accuracy):
    head = "| candidate | precision | size MB | fps | speed vs FP32 (median, min–max) |"
    sep = "|---|---|---|---|---|"
    if have_accuracy:
        head += " mAP@0.5 | mAP@0.5:0.95 | detections |"
        sep += "---|---|---|"
    lines = [head, sep]
    for c in cands:
        if c.error:
            lines.append(f"| {c.name} | failed: {c.error} |" + " |" * (sep.count("|") - 3))
            continue
        ratio = (f"{c.median(c.ratio):.2f} ({min(c.ratio):.2f}–{max(c.ratio):.2f})"
                 if c.ratio else "–")
        row = (f"| {c.name} | {c.precision or c.kind} | {c.size_mb:.3g} | "
               f"{c.median(c.fps):.1f} | {ratio} |")
        if have_accuracy:
            a = c.accuracy
            row += (f" {pct(a.get('map50'))} | {pct(a.get('map50_95'))} | "
                    f"{a.get('detections', '–')} |")
        lines.append(row)
    return "\n".join(lines)


def svg_plot(cands, have_accuracy, max_loss, chosen, title):
    """Speed ratio (x) against mAP@0.5 (y), or against size when accuracy was not
    measured. Hand-written SVG: a scatter plot needs no plotting library."""
    pts = [c for c in cands if not c.error and c.ratio]
    if have_accuracy:
        pts = [c for c in pts if c.accuracy.get("map50") is not None]
        ys = [100 * c.accuracy["map50"] for c in pts]
        ylabel = "mAP@0.5 against the FP32 detections (%)"
    else:
        ys = [c.size_mb for c in pts]
        ylabel = "model size (MB)"
    xs = [c.median(c.ratio) for c in pts]
    W, H, L, R, T, B = 720, 480, 70, 30, 40, 60
    x0, x1 = min(xs + [1.0]) * 0.9, max(xs + [1.0]) * 1.1
    y_lo = min(ys + ([100 - 2 * max_loss] if have_accuracy else [0])) if ys else 0
    y_hi = max(ys + ([100.0] if have_accuracy else [])) if ys else 1
    pad = (y_hi - y_lo) * 0.08 or 1.0
    y0, y1 = y_lo - pad, y_hi + pad

    def px(x):
        return L + (x - x0) / (x1 - x0) * (W - L - R)

    def py(y):
        return T + (y1 - y) / (y1 - y0) * (H - T - B)

    def esc(s):
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{esc(title)}</text>',
           f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>']
    for i in range(6):
        xv = x0 + (x1 - x0) * i / 5
        yv = y0 + (y1 - y0) * i / 5
        out.append(f'<text x="{px(xv):.1f}" y="{H - B + 16}" text-anchor="middle">'
                   f'{xv:.2f}</text>')
        out.append(f'<text x="{L - 6}" y="{py(yv) + 4:.1f}" text-anchor="end">{yv:.1f}</text>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 15}" text-anchor="middle">'
               'throughput relative to FP32 (median over rounds)</text>')
    out.append(f'<text x="16" y="{(T + H - B) / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {(T + H - B) / 2})">{esc(ylabel)}</text>')
    out.append(f'<line x1="{px(1):.1f}" y1="{T}" x2="{px(1):.1f}" y2="{H - B}" '
               'stroke="grey" stroke-dasharray="4 4"/>')
    if have_accuracy:
        yl = py(100 - max_loss)
        out.append(f'<line x1="{L}" y1="{yl:.1f}" x2="{W - R}" y2="{yl:.1f}" stroke="red" '
                   'stroke-dasharray="6 3"/>')
        out.append(f'<text x="{W - R - 4}" y="{yl - 4:.1f}" text-anchor="end" fill="red">'
                   f'FP32 - {max_loss:g} points</text>')
    for c, x, y in zip(pts, xs, ys):
        colour = {"fp32": "black", "fp16": "green", "QDQ": "#1f77b4",
                  "QOperator": "#ff7f0e"}[c.kind]
        r = 7 if chosen is not None and c.name == chosen.name else 4
        out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="{r}" fill="{colour}">'
                   f'<title>{esc(c.name)}</title></circle>')
        out.append(f'<text x="{px(x) + 6:.1f}" y="{py(y) - 6:.1f}" font-size="10">'
                   f'{esc(c.name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def pipeline(cands, chosen, exe, args, work):
    target = None
    if args.pipeline_model:
        target = next((c for c in cands if c.name == args.pipeline_model), None)
        if target is None or target.error or target.path is None:
            die(f"--pipeline-model {args.pipeline_model} is not a built candidate")
    else:
        target = chosen
    if target is None:
        say("whole pipeline: FP32 is best, nothing to compare (use --pipeline-model)")
        return None
    fp32 = cands[0]
    say(f"whole pipeline: {args.pipeline_video} through edgedetect, fp32 and {target.name}, "
        f"{args.pipeline_rounds} rounds")
    out = work / "pipeline.json"
    r = helper(exe, ["pipeline", "--model", fp32.path, "--model", target.path,
                     "--video", args.pipeline_video, "--threads", args.threads,
                     "--rounds", args.pipeline_rounds, "--out", out])
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
    p.add_argument("--rounds", type=int, default=5, help="speed rounds (default 5)")
    p.add_argument("--min-time", type=float, default=1.0,
                   help="seconds per candidate per round (default 1)")
    p.add_argument("--max-loss", type=float, default=2.0,
                   help="largest mAP@0.5 loss against FP32 to accept, points (default 2)")
    p.add_argument("--min-gain", type=float, default=0.05,
                   help="smallest speed-up to accept, as a fraction (default 0.05 = 5%%)")
    p.add_argument("--ref-conf", type=float, default=0.25,
                   help="FP32 detections at or over this score are the reference "
                        "(edgedetect's default conf-threshold, 0.25)")
    p.add_argument("--pred-conf", type=float, default=0.01,
                   help="score threshold of the candidates' detections for mAP (0.01)")
    p.add_argument("--iou", type=float, default=0.45, help="NMS IoU threshold (0.45)")
    p.add_argument("--formats", default="qdq,qop", help="qdq,qop")
    p.add_argument("--types", default="s8s8,u8s8", help="s8s8,u8s8 (activation/weight)")
    p.add_argument("--granularity", default="pc,pt", help="pc (per channel), pt (per tensor)")
    p.add_argument("--head", choices=["int8", "fp32", "both"], default="both",
                   help="the head's last layers in INT8, kept in FP32, or both variants")
    p.add_argument("--head-depth", type=int, default=1,
                   help="how many convolutions from the output count as the head's last "
                        "layers (default 1; 2 also keeps an Ultralytics DFL's inputs)")
    p.add_argument("--calibrate-method", choices=["minmax", "entropy", "percentile"],
                   default="minmax")
    p.add_argument("--no-fp16", action="store_true", help="no FP16 candidate")
    p.add_argument("--only", help="comma-separated candidate names to build (fp32 always)")
    p.add_argument("--profile", action="store_true",
                   help="ONNX Runtime profile of every candidate (OUT/profile.json)")
    p.add_argument("--pipeline-video", help="also time the whole pipeline on this video")
    p.add_argument("--pipeline-rounds", type=int, default=3)
    p.add_argument("--pipeline-model",
                   help="candidate to compare in the pipeline (default: the chosen one)")
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

    say("preparing the model")
    fp32_path, pre_path, notes = prepare(model, work)
    for n in notes:
        print(f"   {n}")
    cands = plan_candidates(args)
    say(f"building {len(cands) - 1} candidates")
    excluded = build(cands, model, fp32_path, pre_path, calib, args, work)
    for c in cands:
        if c.error:
            print(f"   {c.name}: failed: {c.error}")

    say(f"speed: {args.rounds} rounds, {args.threads} threads")
    measure_speed(cands, calib, args)

    have_accuracy = bool(args.eval)
    eval_info = None
    if have_accuracy:
        exe_frames, n_ref = measure_accuracy(cands, exe, args, work)
        eval_info = {"frames": exe_frames, "reference_detections": n_ref}
        print(f"   {exe_frames} frames, {n_ref} FP32 detections at score >= {args.ref_conf}")
    else:
        say("no --eval frames: accuracy not measured, nothing will be chosen")
        load_check(cands, exe, args, work)

    prof = None
    if args.profile:
        say("ONNX Runtime profiles (10 runs each)")
        prof = profile(cands, calib, args, work)
        for name, ops in prof.items():
            top = list(ops.items())[:6]
            print(f"   {name}: " + ", ".join(
                f"{op} x{v['nodes']} {100 * v['share']:.0f}%" for op, v in top))

    chosen = choose(cands, args, have_accuracy)
    tab = table(cands, have_accuracy)
    print()
    print(tab)
    print()
    if chosen is not None:
        shutil.copyfile(chosen.path, work / "chosen.onnx")
        verdict = (f"chosen: {chosen.name}, {chosen.median(chosen.ratio):.2f}x FP32's "
                   f"throughput, mAP@0.5 {pct(chosen.accuracy['map50'])} against FP32 -> "
                   f"{work / 'chosen.onnx'}")
    elif have_accuracy:
        verdict = (f"FP32 is best on this device: no candidate is at least "
                   f"{100 * args.min_gain:g}% faster within {args.max_loss:g} points of "
                   "mAP@0.5")
        (work / "chosen.onnx").unlink(missing_ok=True)
    else:
        fastest = max((c for c in cands if c.ratio and c.name != "fp32"),
                      key=lambda c: c.median(c.ratio), default=None)
        verdict = ("accuracy not measured (no --eval): nothing chosen" +
                   (f"; fastest: {fastest.name} ({fastest.median(fastest.ratio):.2f}x)"
                    if fastest else ""))
    print(verdict)

    pipe = None
    if args.pipeline_video:
        pipe = pipeline(cands, chosen, exe, args, work)
        if pipe:
            print(f"   pipeline fps per round (fp32, {pipe['model']}): "
                  + "; ".join(f"{a:.1f}, {b:.1f}" for a, b in pipe["fps"])
                  + f"; median ratio {pipe['median_ratio']:.2f}")

    title = f"{model.name}: {cpu['model']}, {args.threads} threads"
    (work / "plot.svg").write_text(svg_plot(cands, have_accuracy, args.max_loss, chosen, title))
    (work / "table.md").write_text(tab + "\n\n" + verdict + "\n")
    results = {
        "model": str(model), "cpu": cpu, "onnxruntime": ort.__version__,
        "threads": args.threads, "rounds": args.rounds, "notes": notes,
        "calibration": {"sources": args.calib, "frames": int(len(calib)),
                        "method": args.calibrate_method},
        "evaluation": {"sources": args.eval, **(eval_info or {}),
                       "ref_conf": args.ref_conf, "pred_conf": args.pred_conf},
        "head_nodes_fp32": excluded, "max_loss": args.max_loss, "min_gain": args.min_gain,
        "chosen": chosen.name if chosen else ("fp32" if have_accuracy else None),
        "verdict": verdict, "pipeline": pipe, "profile": prof,
        "candidates": [{
            "name": c.name, "kind": c.kind, "precision": c.precision,
            "path": str(c.path) if c.path else None, "error": c.error,
            "size_mb": c.size_mb, "build_s": c.build_s, "fps": c.fps, "ratio": c.ratio,
            "median_fps": c.median(c.fps), "median_ratio": c.median(c.ratio),
            **c.accuracy} for c in cands],
    }
    (work / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    say(f"wrote {work}/results.json, table.md, plot.svg")


if __name__ == "__main__":
    main()

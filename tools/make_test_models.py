"""Build small ONNX test models with onnx.helper, plus OUTDIR/expected.json.

Usage: python3 tools/make_test_models.py OUTDIR

Tiny models (input "images" [1,3,64,64]) output a CONSTANT tensor: the graph still
consumes its input (images*0, summed to a scalar, added to a Constant), so the output is
the chosen table whatever the frame. The same four objects are encoded in every layout:

  A person (0.72) and B person (0.60) overlap (IoU 420/604 = 0.695 > 0.45): NMS drops B;
  C car (0.855); D bicycle at 0.20 (objectness 0.5 alone would pass conf 0.25, obj*cls not).

Boxes are chosen first, in network-input pixels, and then encoded into each layout
(e.g. YOLOX: tx = cx/s - gx, tw = ln(w/s)); expected.json lists the chosen boxes, not a
decoding of the tensors. yolov8_dense.onnx is a YOLOv8n-sized random-weight network
(real convolutions, DFL head, [1,84,8400]) for speed/quantization benchmarks.

yolov8_blobs.onnx is a small detector with hand-set weights (real convolutions, no constant
table): it finds red, green and blue squares on a grey background, input [1,3,128,128],
output [1,7,336] in the YOLOv8 layout. OUTDIR/blobs/frame_NN.png are 24 frames (160x120)
with 1 to 3 such squares at seeded random places; expected.json lists their true boxes. The
quantization test calibrates and evaluates on these frames.
Opset 17, IR version 8. Deterministic. A self-check at the end runs every model in
onnxruntime and compares outputs with what was intended.
"""

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OPSET, IR_VERSION = 17, 8
SIZE = 64
STRIDES = (8, 16, 32)
CONF, IOU = 0.25, 0.45
NAMES3 = {0: "person", 1: "bicycle", 2: "car"}
OTHER_CLASS_PROB = 0.01  # every non-target class in an object row

# Chosen objects, network-input pixels. score = obj * cls.
OBJECTS = [
    dict(name="A", cx=20, cy=28, w=16, h=32, obj=0.9, cls=0.8, class_id=0, stride=8),
    dict(name="B", cx=22, cy=30, w=16, h=32, obj=0.8, cls=0.75, class_id=0, stride=16),
    dict(name="C", cx=48, cy=40, w=24, h=16, obj=0.95, cls=0.9, class_id=2, stride=32),
    dict(name="D", cx=44, cy=12, w=8, h=8, obj=0.5, cls=0.4, class_id=1, stride=8),
]


# ---------------------------------------------------------------- expected (by hand)
def chosen_row(o):
    """[x1, y1, x2, y2, score, class_id] straight from the chosen box."""
    return [o["cx"] - o["w"] / 2, o["cy"] - o["h"] / 2, o["cx"] + o["w"] / 2,
            o["cy"] + o["h"] / 2, round(o["obj"] * o["cls"], 6), o["class_id"]]


def rows_for(names):
    rows = [chosen_row(o) for o in OBJECTS if o["name"] in names]
    return sorted(rows, key=lambda r: -r[4])


EXPECTED_BEFORE_NMS = rows_for("ABC")  # D is below conf
EXPECTED_AFTER_NMS = rows_for("AC")  # B overlaps A (IoU 0.695)


# ---------------------------------------------------------------- encoding
def anchor_index(o):
    """Row of the grid cell holding the object centre: strides 8,16,32, row-major."""
    offset = 0
    for s in STRIDES:
        g = SIZE // s
        if s == o["stride"]:
            return offset + int(o["cy"] // s) * g + int(o["cx"] // s)
        offset += g * g
    raise ValueError(o)


N_ANCHORS = sum((SIZE // s) ** 2 for s in STRIDES)  # 84


def class_probs(o, n, target):
    p = np.full(n, OTHER_CLASS_PROB, np.float32)
    p[o["class_id"]] = target
    return p


def yolox_table():
    t = np.zeros((1, N_ANCHORS, 85), np.float32)
    for o in OBJECTS:
        s = o["stride"]
        gx, gy = o["cx"] // s, o["cy"] // s
        t[0, anchor_index(o), :5] = [o["cx"] / s - gx, o["cy"] / s - gy,
                                     np.log(o["w"] / s), np.log(o["h"] / s), o["obj"]]
        t[0, anchor_index(o), 5:] = class_probs(o, 80, o["cls"])
    return t


def yolov5_table():
    """3 anchors per cell, ordered stride, anchor, gy, gx; boxes already in pixels."""
    t = np.zeros((1, 3 * N_ANCHORS, 85), np.float32)
    for o in OBJECTS:
        cell = anchor_index(o)
        level_start = anchor_index({**o, "cx": 0, "cy": 0})
        g2 = (SIZE // o["stride"]) ** 2
        row = 3 * level_start + 1 * g2 + (cell - level_start)  # anchor 1 of 0..2
        t[0, row, :5] = [o["cx"], o["cy"], o["w"], o["h"], o["obj"]]
        t[0, row, 5:] = class_probs(o, 80, o["cls"])
    return t


def yolov8_table():
    """[1, 4+3, 84] channels-first: cx, cy, w, h, class scores (no objectness)."""
    t = np.zeros((1, 7, N_ANCHORS), np.float32)
    for o in OBJECTS:
        t[0, :4, anchor_index(o)] = [o["cx"], o["cy"], o["w"], o["h"]]
        t[0, 4:, anchor_index(o)] = class_probs(o, 3, o["obj"] * o["cls"])
    return t


def end2end_table():
    """[1,300,6] x1,y1,x2,y2,score,class: post-NMS rows C, A, D (score order), rest 0."""
    t = np.zeros((1, 300, 6), np.float32)
    for i, row in enumerate(rows_for("ACD")):
        t[0, i] = row
    return t


# ---------------------------------------------------------------- graph helpers
def model_from(nodes, inputs, outputs, inits=(), metadata=None, name="test"):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                          producer_name="gst-plugin-edgeai tools/make_test_models.py")
    m.ir_version = IR_VERSION
    for k, v in (metadata or {}).items():
        m.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(m, full_check=True)
    return m


def constant_model(table, out_shape=None, in_shape=(1, 3, SIZE, SIZE), in_name="images",
                   out_name="output", metadata=None):
    """output = table + sum(input * 0): constant, but the input is consumed."""
    nodes = [
        helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.float32(0))),
        helper.make_node("Mul", [in_name, "zero"], ["masked"]),
        helper.make_node("ReduceSum", ["masked"], ["z"], keepdims=0),
        helper.make_node("Constant", [], ["table"], value=numpy_helper.from_array(table)),
        helper.make_node("Add", ["table", "z"], [out_name]),
    ]
    inputs = [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, list(in_shape))]
    outputs = [helper.make_tensor_value_info(out_name, TensorProto.FLOAT,
                                             list(out_shape or table.shape))]
    return model_from(nodes, inputs, outputs, metadata=metadata)


def ultralytics_meta(names, imgsz, end2end=False):
    return {"description": "Ultralytics-style test model (gst-plugin-edgeai tools)",
            "author": "Ultralytics", "task": "detect", "stride": "32", "batch": "1",
            "imgsz": str(list(imgsz)), "names": str(names), "end2end": str(end2end)}


# ---------------------------------------------------------------- dense YOLOv8n-like
class DenseBuilder:
    """Conv(+folded BN)+SiLU network in the YOLOv8n shape, random weights (seed 0)."""

    def __init__(self):
        self.rng = np.random.default_rng(0)
        self.nodes, self.inits, self.macs, self.n = [], [], 0, 0

    def name(self, prefix):
        self.n += 1
        return f"{prefix}{self.n}"

    def const(self, array, prefix="c"):
        n = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def op(self, op_type, inputs, **attrs):
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def conv(self, x, cin, cout, hw, k=1, s=1, act=True, bias=0.0, wstd=None):
        """Returns (output, output spatial size); hw is the input's spatial size."""
        std = wstd if wstd is not None else np.sqrt(1.0 / (cin * k * k))
        w = self.rng.normal(0.0, std, (cout, cin, k, k)).astype(np.float32)
        b = (bias + self.rng.normal(0.0, 0.01, cout)).astype(np.float32)
        y = self.op("Conv", [x, self.const(w, "w"), self.const(b, "b")], kernel_shape=[k, k],
                    strides=[s, s], pads=[k // 2] * 4)
        hw_out = hw // s
        self.macs += cout * cin * k * k * hw_out * hw_out
        if act:
            y = self.op("Mul", [y, self.op("Sigmoid", [y])])
        return y, hw_out

    def c2f(self, x, cin, cout, hw, n, shortcut):
        c = cout // 2
        y, _ = self.conv(x, cin, 2 * c, hw)
        a, b = (self.name("split"), self.name("split"))
        self.nodes.append(helper.make_node("Split", [y, self.const(np.array([c, c]), "s")],
                                           [a, b], axis=1))
        parts = [a, b]
        for _ in range(n):
            t, _ = self.conv(parts[-1], c, c, hw, k=3)
            t, _ = self.conv(t, c, c, hw, k=3)
            parts.append(self.op("Add", [parts[-1], t]) if shortcut else t)
        return self.conv(self.op("Concat", parts, axis=1), (2 + n) * c, cout, hw)[0]

    def sppf(self, x, c, hw):
        y, _ = self.conv(x, c, c // 2, hw)
        pools = [y]
        for _ in range(3):
            pools.append(self.op("MaxPool", [pools[-1]], kernel_shape=[5, 5], pads=[2] * 4))
        return self.conv(self.op("Concat", pools, axis=1), 2 * c, c, hw)[0]

    def up(self, x):
        return self.op("Resize", [x, "", self.const(np.array([1, 1, 2, 2], np.float32))],
                       mode="nearest")


def dense_model():
    b = DenseBuilder()
    x, hw = b.conv("images", 3, 16, 640, k=3, s=2)
    x, hw = b.conv(x, 16, 32, hw, k=3, s=2)
    x = b.c2f(x, 32, 32, hw, 1, True)
    x, hw = b.conv(x, 32, 64, hw, k=3, s=2)
    p3 = b.c2f(x, 64, 64, hw, 2, True)  # 80x80
    x, hw = b.conv(p3, 64, 128, hw, k=3, s=2)
    p4 = b.c2f(x, 128, 128, hw, 2, True)  # 40x40
    x, hw = b.conv(p4, 128, 256, hw, k=3, s=2)
    p5 = b.sppf(b.c2f(x, 256, 256, hw, 1, True), 256, hw)  # 20x20
    n4 = b.c2f(b.op("Concat", [b.up(p5), p4], axis=1), 384, 128, 40, 1, False)
    o3 = b.c2f(b.op("Concat", [b.up(n4), p3], axis=1), 192, 64, 80, 1, False)
    d, _ = b.conv(o3, 64, 64, 80, k=3, s=2)
    o4 = b.c2f(b.op("Concat", [d, n4], axis=1), 192, 128, 40, 1, False)
    d, _ = b.conv(o4, 128, 128, 40, k=3, s=2)
    o5 = b.c2f(b.op("Concat", [d, p5], axis=1), 384, 256, 20, 1, False)

    regs, clss, anchors, strides = [], [], [], []
    for feat, c, s in ((o3, 64, 8), (o4, 128, 16), (o5, 256, 32)):
        g = 640 // s
        r, _ = b.conv(feat, c, 64, g, k=3)
        r, _ = b.conv(r, 64, 64, g, k=3)
        r, _ = b.conv(r, 64, 64, g, act=False, wstd=0.05)
        k, _ = b.conv(feat, c, 80, g, k=3)
        k, _ = b.conv(k, 80, 80, g, k=3)
        k, _ = b.conv(k, 80, 80, g, act=False, bias=-8.0, wstd=0.05)  # few detections
        regs.append(b.op("Reshape", [r, b.const(np.array([1, 64, g * g]))]))
        clss.append(b.op("Reshape", [k, b.const(np.array([1, 80, g * g]))]))
        gy, gx = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        anchors.append(np.stack([gx.ravel(), gy.ravel()]) + 0.5)
        strides.append(np.full(g * g, s))
    reg = b.op("Concat", regs, axis=2)  # [1,64,8400]
    # DFL: softmax over 16 bins per side, expectation = distance in grid units.
    bins = b.op("Softmax", [b.op("Reshape", [reg, b.const(np.array([1, 4, 16, 8400]))])], axis=2)
    proj = b.const(np.arange(16, dtype=np.float32).reshape(1, 1, 16, 1))
    dist = b.op("ReduceSum", [b.op("Mul", [bins, proj]), b.const(np.array([2]))], keepdims=0)
    lt, rb = b.name("lt"), b.name("rb")
    b.nodes.append(helper.make_node("Split", [dist, b.const(np.array([2, 2]))], [lt, rb], axis=1))
    anchor = b.const(np.concatenate(anchors, axis=1)[None].astype(np.float32))
    p1, p2 = b.op("Sub", [anchor, lt]), b.op("Add", [anchor, rb])
    half = b.const(np.float32(0.5))
    cxcy = b.op("Mul", [b.op("Add", [p1, p2]), half])
    wh = b.op("Sub", [p2, p1])
    box = b.op("Mul", [b.op("Concat", [cxcy, wh], axis=1),
                       b.const(np.concatenate(strides)[None, None].astype(np.float32))])
    b.nodes.append(helper.make_node(
        "Concat", [box, b.op("Sigmoid", [b.op("Concat", clss, axis=2)])], ["output0"], axis=1))
    names = {i: f"class{i}" for i in range(80)}
    m = model_from(b.nodes,
                   [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 640, 640])],
                   [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 84, 8400])],
                   b.inits, ultralytics_meta(names, (640, 640)), name="yolov8_dense")
    return m, 2 * b.macs / 1e9


# ---------------------------------------------------------------- colour-blob detector
BLOB_SIZE = 128
BLOB_NAMES = {0: "red", 1: "green", 2: "blue"}
BLOB_BGR = {0: (40, 40, 220), 1: (40, 200, 40), 2: (220, 60, 40)}
BLOB_FRAMES, BLOB_FRAME_W, BLOB_FRAME_H = 24, 160, 120


def blobs_model(batch=1):
    """Hand-set weights, every stage a convolution:

    colour: 1x1 conv, per colour c: 1.5*c - 0.9*(other two) (RGB in 0..1), ReLU: ~1 inside a
      square of that colour, 0 on grey;
    coverage: three 3x3 stride-2 averaging convs (per channel), ReLU: how much of each stride-8
      cell's neighbourhood each colour covers; two more give strides 16 and 32;
    per level (stride s, g x g cells), over a 5x5-cell window of the coverage of all colours:
      mass = sum (a 5x5 conv): the squares' area in cells, so side = s * sqrt(mass);
      centre = the window's centroid (5x5 convs weighted by column / row offset, / mass) in
        cells from the window's centre, which sits at s*g + 0.5 pixels (where three
        stride-2 3x3 convs with padding 1 centre their receptive field);
      class = sigmoid(12 * coverage - bias) (bias 6 at stride 8: 0.5 at coverage 0.5; 20 at
        strides 16 and 32, so those levels stay silent).
    Every cell on a square therefore predicts about the same box, which NMS merges.
    """
    nodes, inits = [], []

    def const(name, a, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(a, dtype), name))
        return name

    def node(op, ins, out, **kw):
        nodes.append(helper.make_node(op, ins, [out], **kw))
        return out

    def conv(x, w, b, out, stride=1):
        k = w.shape[-1]
        return node("Conv", [x, const(out + "_w", w), const(out + "_b", b)], out,
                    kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4)

    colour = np.full((3, 3), -0.9, np.float32)
    np.fill_diagonal(colour, 1.5)
    x = node("Relu", [conv("images", colour.reshape(3, 3, 1, 1), np.zeros(3), "colour")], "c0")
    avg = np.zeros((3, 3, 3, 3), np.float32)
    for c in range(3):
        avg[c, c] = 1 / 9
    feats = {}
    size = BLOB_SIZE
    for s in (2, 4, 8, 16, 32):
        x = node("Relu", [conv(x, avg, np.zeros(3), f"pool{s}", stride=2)], f"cover{s}")
        size //= 2
        if s >= 8:
            feats[s] = (x, size)
    offs = np.arange(-2, 3, dtype=np.float32)
    window = np.zeros((3, 3, 5, 5), np.float32)  # mass, column moment, row moment
    window[0] = 1.0
    window[1] = offs[None, None, :]
    window[2] = offs[None, :, None]
    levels = []
    for s, (f, g) in feats.items():
        cls = np.zeros((3, 3, 1, 1), np.float32)
        np.fill_diagonal(cls[:, :, 0, 0], 12.0)
        bias = -6.0 if s == 8 else -20.0
        k = node("Sigmoid", [conv(f, cls, np.full(3, bias), f"cls{s}")], f"prob{s}")
        mom = conv(f, window, np.array([1e-3, 0, 0], np.float32), f"moments{s}")
        mass = node("Slice", [mom, const(f"m0_{s}", [0], np.int64), const(f"m1_{s}", [1], np.int64),
                              const(f"ax{s}", [1], np.int64)], f"mass{s}")
        xy = node("Slice", [mom, const(f"x0_{s}", [1], np.int64),
                            const(f"x1_{s}", [3], np.int64), f"ax{s}"], f"xy{s}")
        lean = node("Div", [xy, mass], f"lean{s}")
        gy, gx = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        cxcy = node("Add", [node("Mul", [lean, const(f"stride{s}", float(s))], f"leanpx{s}"),
                            const(f"anchor{s}", np.stack([gx, gy])[None] * s + 0.5)],
                    f"cxcy{s}")
        side = node("Mul", [node("Sqrt", [mass], f"root{s}"), f"stride{s}"], f"side{s}")
        box = node("Concat", [cxcy, side, side], f"box{s}", axis=1)
        lvl = node("Concat", [box, k], f"level{s}", axis=1)  # [1,7,g,g]
        flat = [1 if batch == 1 else -1, 7, g * g]
        levels.append(node("Reshape", [lvl, const(f"shape{s}", flat, np.int64)],
                           f"flat{s}"))
    nodes.append(helper.make_node("Concat", levels, ["output0"], axis=2))
    n = grid_count_for(BLOB_SIZE)
    return model_from(
        nodes,
        [helper.make_tensor_value_info("images", TensorProto.FLOAT,
                                       [batch, 3, BLOB_SIZE, BLOB_SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [batch, 7, n])],
        inits, ultralytics_meta(BLOB_NAMES, (BLOB_SIZE, BLOB_SIZE)), name="yolov8_blobs")


def grid_count_for(size):
    return sum((size // s) ** 2 for s in STRIDES)


def blob_frames():
    """(BGR image, [[x1, y1, x2, y2, class_id], ...]) for each frame, seeded."""
    rng = np.random.default_rng(7)
    frames = []
    for i in range(BLOB_FRAMES):
        img = rng.normal(118, 4, (BLOB_FRAME_H, BLOB_FRAME_W, 3)).clip(0, 255).astype(np.uint8)
        objs = []
        for _ in range(1 + i % 3):
            for _try in range(100):
                side = int(rng.integers(18, 31))
                x1 = int(rng.integers(4, BLOB_FRAME_W - side - 4))
                y1 = int(rng.integers(4, BLOB_FRAME_H - side - 4))
                box = [x1, y1, x1 + side, y1 + side]
                # At least 28 pixels between squares.
                if all(box[0] > o[2] + 28 or o[0] > box[2] + 28 or box[1] > o[3] + 28
                       or o[1] > box[3] + 28 for o in objs):
                    break
            else:
                raise AssertionError("cannot place a square")
            c = int(rng.integers(0, 3))
            colour = np.array(BLOB_BGR[c], np.float64)
            patch = rng.normal(colour, 6, (side, side, 3)).clip(0, 255)
            img[box[1]:box[3], box[0]:box[2]] = patch.astype(np.uint8)
            objs.append(box + [c])
        frames.append((img, objs))
    return frames


def ultralytics_letterbox(img, size):
    """BGR frame -> RGB float [1,3,size,size] in 0..1, centred letterbox, pad 114."""
    h, w = img.shape[:2]
    r = min(size / h, size / w)
    nw, nh = round(w * r), round(h * r)
    left, top = round((size - nw) / 2 - 0.1), round((size - nh) / 2 - 0.1)
    canvas = np.full((size, size, 3), 114, np.uint8)
    canvas[top:top + nh, left:left + nw] = cv2.resize(img, (nw, nh),
                                                       interpolation=cv2.INTER_LINEAR)
    x = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return x, r, left, top


def check_blobs(path, frames):
    """Every square found with its class, IoU >= 0.5, no other box over CONF (after NMS)."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 1.0
    for img, objs in frames:
        x, r, left, top = ultralytics_letterbox(img, BLOB_SIZE)
        out = sess.run(None, {"images": x})[0][0].T  # [336, 7]
        cand = []
        for row in out:
            c = int(row[4:].argmax())
            if row[4 + c] > CONF:
                cx, cy, w, h = row[:4]
                cand.append([(cx - w / 2 - left) / r, (cy - h / 2 - top) / r,
                             (cx + w / 2 - left) / r, (cy + h / 2 - top) / r, row[4 + c], c])
        cand.sort(key=lambda d: -d[4])
        kept = []
        for d in cand:
            if all(k[5] != d[5] or box_iou(k, d) <= IOU for k in kept):
                kept.append(d)
        assert len(kept) == len(objs), f"{len(kept)} boxes for {len(objs)} squares: {kept}"
        for o in objs:
            best = max(kept, key=lambda k: box_iou(k, o) if k[5] == o[4] else -1)
            assert best[5] == o[4] and box_iou(best, o) >= 0.5, f"{o} got {best}"
            worst = min(worst, box_iou(best, o))
    return worst


def box_iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# ---------------------------------------------------------------- self-check
def check_decode(layout, out):
    """Independent check only: decode a constant output back to [x1,y1,x2,y2,score,class]
    candidates over CONF (best class per row) and compare with the chosen boxes."""
    rows = []
    if layout == "yolox":
        off = 0
        for s in STRIDES:
            g = SIZE // s
            for i in range(g * g):
                r = out[0, off + i]
                cx, cy = (r[0] + i % g) * s, (r[1] + i // g) * s
                w, h = np.exp(r[2]) * s, np.exp(r[3]) * s
                rows.append((cx, cy, w, h, r[4] * r[5:].max(), r[5:].argmax()))
            off += g * g
    elif layout == "yolov5":
        rows = [(*r[:4], r[4] * r[5:].max(), r[5:].argmax()) for r in out[0]]
    elif layout in ("yolov8", "yolov8t"):
        t = out[0].T if layout == "yolov8" else out[0]
        rows = [(*r[:4], r[4:].max(), r[4:].argmax()) for r in t]
    elif layout == "end2end":
        got = [list(r) for r in out[0] if r[4] > CONF]
        return check_rows(got, EXPECTED_AFTER_NMS)
    got = [[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, sc, c]
           for cx, cy, w, h, sc, c in rows if sc > CONF]
    check_rows(sorted(got, key=lambda r: -r[4]), EXPECTED_BEFORE_NMS)


def check_rows(got, want):
    if len(got) != len(want) or not np.allclose(np.array(got, float), np.array(want, float),
                                                atol=1e-4):
        raise AssertionError(f"decoded {got}\n expected {want}")


def run(path, shape):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    x = np.random.default_rng(1).uniform(0, 255, shape).astype(np.float32)
    return sess.run(None, {inp.name: x})[0]


# ---------------------------------------------------------------- main
def main():
    if len(sys.argv) != 2:
        sys.exit("error: usage: make_test_models.py OUTDIR")
    outdir = Path(sys.argv[1])
    outdir.mkdir(parents=True, exist_ok=True)

    yolox = yolox_table()
    dets = {"before_nms": EXPECTED_BEFORE_NMS, "after_nms": EXPECTED_AFTER_NMS}
    e2e = {"before_nms": EXPECTED_AFTER_NMS, "after_nms": EXPECTED_AFTER_NMS}
    # name: (model, layout, expectations)
    specs = {
        "yolox_tiny.onnx": (constant_model(yolox), "yolox", dets),
        "yolov5_tiny.onnx": (constant_model(yolov5_table()), "yolov5", dets),
        "yolov8_tiny.onnx": (constant_model(yolov8_table(), out_name="output0",
                                            metadata=ultralytics_meta(NAMES3, (SIZE, SIZE))),
                             "yolov8", dets),
        "yolov8t_tiny.onnx": (constant_model(yolov8_table().transpose(0, 2, 1).copy(),
                                             out_name="output0",
                                             metadata=ultralytics_meta(NAMES3, (SIZE, SIZE))),
                              "yolov8t", dets),
        "end2end_tiny.onnx": (constant_model(end2end_table(), out_name="output0",
                                             metadata=ultralytics_meta(NAMES3, (SIZE, SIZE),
                                                                       end2end=True)),
                              "end2end", e2e),
        "bad_layout.onnx": (constant_model(np.arange(100, dtype=np.float32).reshape(1, 10, 10)),
                            "invalid", {"expect": "error: unknown output layout"}),
        "no_image_input.onnx": (constant_model(np.ones((1, 10), np.float32), in_shape=(1, 10),
                                               in_name="x"),
                                "invalid", {"expect": "error: input is not an image"}),
        "dynamic_input.onnx": (constant_model(yolox, out_shape=[1, "n", 85],
                                              in_shape=(1, 3, "height", "width")),
                               "yolox",
                               {**dets, "note": "input [1,3,height,width] dynamic; output is "
                                "the yolox_tiny table for any size. Plugin policy: TBD"}),
    }
    expected = {
        "input": [SIZE, SIZE], "conf": CONF, "nms_iou": IOU,
        "row_format": "[x1, y1, x2, y2, score, class_id] in network-input pixels, score desc",
        "tolerance": {"box": 1e-3, "score": 1e-5},
        "labels": NAMES3,
        "models": {},
    }
    for name, (model, layout, exp) in specs.items():
        onnx.save(model, outdir / name)
        out_dims = [d.dim_param or d.dim_value for d in
                    model.graph.output[0].type.tensor_type.shape.dim]
        expected["models"][name] = {"layout": layout, "output_shape": out_dims, **exp}

    dense, gflops = dense_model()
    onnx.save(dense, outdir / "yolov8_dense.onnx")
    expected["models"]["yolov8_dense.onnx"] = {
        "layout": "yolov8", "output_shape": [1, 84, 8400], "gflops": round(gflops, 2),
        "note": "random weights (seed 0), for speed and quantization benchmarks only"}
    blobs = blobs_model()
    onnx.save(blobs, outdir / "yolov8_blobs.onnx")
    frames = blob_frames()
    (outdir / "blobs").mkdir(exist_ok=True)
    for i, (img, _) in enumerate(frames):
        if not cv2.imwrite(str(outdir / "blobs" / f"frame_{i:02d}.png"), img):
            sys.exit(f"error: cannot write {outdir}/blobs/frame_{i:02d}.png")
    expected["models"]["yolov8_blobs.onnx"] = {
        "layout": "yolov8", "output_shape": [1, 7, grid_count_for(BLOB_SIZE)],
        "labels": BLOB_NAMES,
        "note": "hand-set convolutions that find red/green/blue squares; frames in blobs/",
        "frames": {f"frame_{i:02d}.png": objs for i, (_, objs) in enumerate(frames)}}
    # The same network with a dynamic batch dimension, for batched inference.
    onnx.save(blobs_model(batch="batch"), outdir / "yolov8_blobs_batch.onnx")
    expected["models"]["yolov8_blobs_batch.onnx"] = {
        "layout": "yolov8", "output_shape": ["batch", 7, grid_count_for(BLOB_SIZE)],
        "labels": BLOB_NAMES,
        "note": "yolov8_blobs.onnx with a dynamic batch dimension (same frames)"}
    (outdir / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")

    # Self-check: every model loads in onnxruntime and gives what was intended.
    for name, (model, layout, _) in specs.items():
        shape = [d.dim_value or SIZE for d in model.graph.input[0].type.tensor_type.shape.dim]
        out = run(outdir / name, shape)
        table = next(n for n in model.graph.node if n.output[0] == "table")
        want = numpy_helper.to_array(table.attribute[0].t)
        assert out.shape == want.shape and np.array_equal(out, want), name
        if layout != "invalid":
            check_decode(layout, out)
        print(f"ok {name}: output {list(out.shape)}")
    out = run(outdir / "dynamic_input.onnx", [1, 3, 96, 128])
    assert np.array_equal(out, yolox), "dynamic_input at 96x128"
    worst = check_blobs(outdir / "yolov8_blobs.onnx", frames)
    print(f"ok yolov8_blobs.onnx: every square of {len(frames)} frames found, worst IoU "
          f"{worst:.2f}")
    one = run(outdir / "yolov8_blobs.onnx", [1, 3, BLOB_SIZE, BLOB_SIZE])
    four = run(outdir / "yolov8_blobs_batch.onnx", [4, 3, BLOB_SIZE, BLOB_SIZE])
    assert four.shape == (4,) + one.shape[1:], four.shape
    print(f"ok yolov8_blobs_batch.onnx: batch of 4 -> output {list(four.shape)}")
    out = run(outdir / "yolov8_dense.onnx", [1, 3, 640, 640])
    assert out.shape == (1, 84, 8400) and np.isfinite(out).all()
    print(f"ok yolov8_dense.onnx: output {list(out.shape)}, {gflops:.2f} GFLOPs, "
          f"{int((out[0, 4:] > CONF).any(axis=0).sum())} anchors over conf {CONF}")


if __name__ == "__main__":
    main()

"""tools/quantize.py's pure parts: which nodes the head and stem options keep in FP32, the
choice rule, source parsing, node naming and the hand-written SVG plot."""
import xml.etree.ElementTree as ET
from argparse import Namespace
from pathlib import Path

import pytest
from onnx import TensorProto, helper

import quantize as Q

SVG = "{http://www.w3.org/2000/svg}"


def points(root):
    """The plotted points: circles with a <title> (the legend's have none)."""
    return [c for c in root.findall(f"{SVG}circle") if c.find(f"{SVG}title") is not None]


def graph_model(nodes, inputs=("x",), outputs=("y",)):
    g = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(i, TensorProto.FLOAT, None) for i in inputs],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs])
    return helper.make_model(g)


def node(op, ins, out, name):
    return helper.make_node(op, list(ins), [out], name=name)


# x -> Slice -> Conv1 -> Sig -> Conv2 -> Mul -> Conv3 --> Conv4(reg) -> Concat -> y
#                                               \-> Conv5(cls) -> Sig2 -/
DETECTOR = [
    node("Slice", ["x"], "s", "slice"),
    node("Conv", ["s"], "c1", "conv1"),
    node("Sigmoid", ["c1"], "a1", "sig1"),
    node("Conv", ["a1"], "c2", "conv2"),
    node("Mul", ["c2", "c2"], "a2", "mul2"),
    node("Conv", ["a2"], "c3", "conv3"),
    node("Conv", ["c3"], "reg", "conv_reg"),
    node("Conv", ["c3"], "k", "conv_cls"),
    node("Sigmoid", ["k"], "cls", "sig_cls"),
    node("Concat", ["reg", "cls"], "y", "concat"),
]


def test_head_nodes_are_the_last_convolutions_and_what_follows():
    m = graph_model(DETECTOR)
    assert sorted(Q.head_nodes(m, 1)) == ["concat", "conv_cls", "conv_reg", "sig_cls"]
    # Depth 2: conv3 too, and the activation before it (mul2: conv depth 2 as well).
    assert sorted(Q.head_nodes(m, 2)) == ["concat", "conv3", "conv_cls", "conv_reg", "mul2",
                                          "sig_cls"]


def test_stem_nodes_are_the_first_convolutions_and_what_precedes():
    m = graph_model(DETECTOR)
    assert sorted(Q.stem_nodes(m, 1)) == ["conv1", "sig1", "slice"]
    assert sorted(Q.stem_nodes(m, 2)) == ["conv1", "conv2", "mul2", "sig1", "slice"]


def test_longest_path_decides_depth():
    # conv_a feeds the output directly and through conv_b: its longest path has 2 convs.
    m = graph_model([node("Conv", ["x"], "a", "conv_a"), node("Conv", ["a"], "b", "conv_b"),
                     node("Add", ["a", "b"], "y", "add")])
    assert sorted(Q.head_nodes(m, 1)) == ["add", "conv_b"]
    assert sorted(Q.stem_nodes(m, 1)) == ["conv_a"]


def test_name_nodes_fills_only_empty_names():
    m = graph_model([helper.make_node("Relu", ["x"], ["r"]),
                     helper.make_node("Relu", ["r"], ["y"], name="Relu_0")])
    Q.name_nodes(m)
    names = [n.name for n in m.graph.node]
    assert names[1] == "Relu_0" and names[0] != "Relu_0" and names[0].startswith("Relu_")


def test_parse_source(tmp_path):
    assert Q.parse_source(str(tmp_path)) == (str(tmp_path), 0, 0, 1)
    assert Q.parse_source(f"{tmp_path}@5") == (str(tmp_path), 5, 0, 1)
    assert Q.parse_source(f"{tmp_path}@5:10") == (str(tmp_path), 5, 10, 1)
    assert Q.parse_source(f"{tmp_path}@5:10:3") == (str(tmp_path), 5, 10, 3)
    with pytest.raises(SystemExit):
        Q.parse_source(str(tmp_path / "missing"))


def cand(name, ratios, map50, kind="QOperator"):
    c = Q.Candidate(name, kind)
    c.ratio = ratios
    c.accuracy = {"map50": map50, "map50_95": map50}
    return c


ARGS = Namespace(max_loss=2.0, min_gain=0.05)


def test_choose_fastest_within_loss():
    cands = [cand("fp32", [1, 1, 1], 1.0, "fp32"),
             cand("fast_but_wrong", [2.0, 2.1, 1.9], 0.90),   # loses 10 points
             cand("good", [1.30, 1.2, 1.25], 0.985),            # loses 1.5 points
             cand("better", [1.4, 1.35, 1.5], 0.981),           # loses 1.9 points
             cand("too_slow", [1.02, 1.04, 1.03], 1.0)]         # under 5 % faster
    assert Q.choose(cands, ARGS, True).name == "better"


def test_choose_fp32_when_nothing_pays():
    cands = [cand("fp32", [1, 1], 1.0, "fp32"), cand("slow", [0.3, 0.35], 1.0),
             cand("wrong", [1.5, 1.5], 0.5)]
    assert Q.choose(cands, ARGS, True) is None
    # Without accuracy nothing is chosen, however fast.
    assert Q.choose([cand("fp32", [1], 1.0, "fp32"), cand("x", [3.0], None)], ARGS,
                    False) is None


def test_choose_uses_the_median_ratio():
    # One lucky round (3.0) does not make a candidate fast: median 1.02.
    cands = [cand("fp32", [1, 1, 1], 1.0, "fp32"), cand("lucky", [3.0, 1.0, 1.02], 1.0)]
    assert Q.choose(cands, ARGS, True) is None


def test_svg_plot_is_valid_and_has_a_point_per_candidate(tmp_path):
    cands = [cand("fp32", [1, 1], 1.0, "fp32"), cand("qop<&>", [1.3, 1.2], 0.99),
             cand("fp16", [0.9, 1.0], 1.0, "fp16")]
    svg = Q.svg_plot(cands, True, 2.0, cands[1], "title & more")
    root = ET.fromstring(svg)
    circles = points(root)
    assert len(circles) == 3
    assert [c.find(f"{SVG}title").text for c in circles] == ["fp32", "qop<&>", "fp16"]
    # The list on the right names them in order, the chosen one marked.
    texts = [t.text for t in root.findall(f"{SVG}text")]
    assert "2. qop<&>: 1.25x, 99 (chosen)" in texts
    # The chosen candidate is drawn larger.
    assert [c.get("r") for c in circles] == ["4", "7", "4"]
    # Higher mAP is drawn higher (smaller y); FP32 and FP16 (both 100) at the same height.
    ys = [float(c.get("cy")) for c in circles]
    assert ys[0] == ys[2] < ys[1]
    (tmp_path / "plot.svg").write_text(svg)
    assert Path(tmp_path / "plot.svg").stat().st_size > 0


def test_svg_plot_without_accuracy_uses_size(tmp_path):
    a = cand("fp32", [1], None, "fp32")
    b = cand("qop", [1.5], None)
    a.path, b.path = tmp_path / "a.onnx", tmp_path / "b.onnx"
    a.path.write_bytes(b"x" * 4000)
    b.path.write_bytes(b"x" * 1000)
    root = ET.fromstring(Q.svg_plot([a, b], False, 2.0, None, "t"))
    circles = points(root)
    assert float(circles[0].get("cy")) < float(circles[1].get("cy"))  # bigger file higher
    assert float(circles[0].get("cx")) < float(circles[1].get("cx"))  # faster further right

"""tools/quantize.py's pure parts: which nodes the head and stem options keep in FP32, the
choice rule, source parsing, node naming and the hand-written SVG plot."""
import xml.etree.ElementTree as ET
from argparse import Namespace
from pathlib import Path

import numpy as np
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


def cand(name, ratios, map50, kind="QOperator", min_gain=0.05):
    """A measured candidate: one paired round per ratio (FP32 at 10 fps beside it)."""
    c = Q.Candidate(name, kind)
    c.path = Path(f"/nonexistent/{name}.onnx")
    for r in ratios:
        c.add_round((10.0 * r, 1.0, 10.0, 1.0))
    c.speed = Q.decide(c.blocks, min_gain) if name != "fp32" else {}
    c.accuracy = {"map50": map50, "map50_95": map50}
    return c


ARGS = Namespace(max_loss=2.0, min_gain=0.05)


def test_choose_the_most_accurate_winner_within_loss():
    cands = [cand("fp32", [1] * 5, 1.0, "fp32"),
             cand("fast_but_wrong", [2.0, 2.1, 1.9, 2.0, 2.05], 0.90),  # loses 10 points
             cand("good", [1.30, 1.2, 1.25, 1.28, 1.22], 0.985),          # loses 1.5 points
             cand("faster", [1.4, 1.35, 1.5, 1.45, 1.42], 0.981),         # loses 1.9 points
             cand("too_slow", [1.02, 1.04, 1.03, 1.03, 1.02], 1.0),       # under 5 % faster
             cand("unsure", [1.6, 0.8, 1.7, 0.9, 1.5], 0.999)]            # noise decides
    assert [c.speed["decision"] for c in cands[1:]] == ["wins", "wins", "wins", "loses",
                                                        "undecided"]
    # Both `good` and `faster` are shown to pay; the more accurate one is chosen.
    assert Q.choose(cands, ARGS, True).name == "good"
    # Equally accurate winners: the one with the higher low end of its interval.
    cands[2].accuracy = dict(cands[3].accuracy)
    assert Q.choose(cands, ARGS, True).name == "faster"


def test_choose_fp32_when_nothing_pays():
    cands = [cand("fp32", [1] * 4, 1.0, "fp32"), cand("slow", [0.3, 0.35, 0.33, 0.31], 1.0),
             cand("wrong", [1.5] * 4, 0.5)]
    assert Q.choose(cands, ARGS, True) is None
    # Without accuracy nothing is chosen, however fast.
    assert Q.choose([cand("fp32", [1] * 4, 1.0, "fp32"), cand("x", [3.0, 3.1, 2.9], None)],
                    ARGS, False) is None


def test_one_lucky_round_does_not_make_a_winner():
    # The old rule (median) was fooled by little; the interval is wide with such rounds.
    cands = [cand("fp32", [1, 1, 1], 1.0, "fp32"),
             cand("lucky", [3.0, 1.0, 1.02, 0.98, 1.0], 1.0)]
    assert cands[1].speed["decision"] == "undecided"
    assert Q.choose(cands, ARGS, True) is None


def test_fp16_needs_fp16_arithmetic_to_be_chosen():
    cands = [cand("fp32", [1] * 5, 1.0, "fp32"),
             cand("fp16", [1.3, 1.32, 1.28, 1.31, 1.3], 1.0, "fp16")]
    assert cands[1].speed["decision"] == "wins"
    assert not Q.native_fp16(["avx2", "fma", "f16c", "avx512f", "avx512_vnni"])
    assert Q.choose(cands, ARGS, True, fp16_native=False) is None
    ok, why = Q.eligible(cands[1], ARGS, True, False)
    assert not ok and "no FP16 arithmetic" in why
    for flags in (["avx512_fp16"], ["asimd", "asimdhp"], ["fphp"]):
        assert Q.native_fp16(flags)
    assert Q.choose(cands, ARGS, True, fp16_native=True).name == "fp16"


# ---------------------------------------------------------------- the decision rule
def test_t_quantile_matches_the_tables():
    # Student's t quantiles from the printed tables.
    for nu, p, want in [(1, 0.975, 12.706), (2, 0.95, 2.920), (3, 0.99, 4.541),
                        (4, 0.975, 2.776), (9, 0.975, 2.262), (14, 0.995, 2.977),
                        (30, 0.975, 2.042)]:
        assert Q.t_quantile(p, nu) == pytest.approx(want, abs=6e-4), (nu, p)


def test_speed_columns_come_from_the_same_blocks():
    # Two rounds: candidate 20 and 30 fps, FP32 10 and 12 fps beside it.
    blocks = [(40, 2.0, 20, 2.0), (60, 2.0, 24, 2.0)]
    fps, fp32_fps, ratio = Q.speed_summary(blocks)
    assert fps == pytest.approx((20 * 30) ** 0.5)
    assert fp32_fps == pytest.approx((10 * 12) ** 0.5)
    assert ratio == pytest.approx(fps / fp32_fps)
    assert ratio == pytest.approx((2.0 * 2.5) ** 0.5)  # geometric mean of the rounds' ratios
    d = Q.decide(blocks, 0.05)
    assert (d["fps"], d["fp32_fps"], d["ratio"]) == pytest.approx((fps, fp32_fps, ratio))


def test_speed_interval_by_hand():
    # Ratios e^0.1, e^0.2, e^0.3: log mean 0.2, sd 0.1, t(0.975, 2) = 4.303.
    blocks = [(10 * np.exp(x), 1.0, 10.0, 1.0) for x in (0.1, 0.2, 0.3)]
    ratio, lo, hi = Q.speed_interval(blocks, 0.95)
    half = 4.3027 * 0.1 / np.sqrt(3)
    assert ratio == pytest.approx(np.exp(0.2))
    assert (lo, hi) == pytest.approx((np.exp(0.2 - half), np.exp(0.2 + half)), rel=1e-4)
    # Bonferroni over 3 looks: level 1 - 0.05 / 3.
    d = Q.decide(blocks, 0.05, 0.95, looks=3)
    assert d["level"] == pytest.approx(1 - 0.05 / 3)
    assert d["low"] < lo and d["high"] > hi


def test_decide_needs_rounds():
    fast = (13.0, 1.0, 10.0, 1.0)
    assert Q.decide([fast, fast], 0.05)["decision"] == "undecided"
    assert Q.decide([fast, (13.1, 1.0, 10.0, 1.0), (12.9, 1.0, 10.0, 1.0)],
                    0.05)["decision"] == "wins"
    slow = [(5.0 + 0.1 * i, 1.0, 10.0, 1.0) for i in range(3)]
    assert Q.decide(slow, 0.05)["decision"] == "loses"
    assert Q.decide([], 0.05)["decision"] == "undecided"


def test_results_have_no_nan():
    assert Q.finite({"a": [1.0, float("nan")], "b": (float("inf"), "x")}) == {
        "a": [1.0, None], "b": [None, "x"]}


def test_look_points():
    assert Q.look_points(5, 15, 5) == [5, 10, 15]
    assert Q.look_points(5, 12, 5) == [5, 10, 12]
    assert Q.look_points(5, 5, 5) == [5]
    assert Q.look_points(3, 6, 1) == [3, 4, 5, 6]


def noisy_bench(speeds, seed, base_fps=30.0, block=0.5):
    """Simulated timings on a shared, loaded machine. Throughput in a block is the model's
    speed times a load factor: a slowly drifting part (AR(1) in log), bursts (another
    engineer's build: 0.4-0.7 of the speed, starting in 5 % of blocks and lasting 10 blocks
    on average) and independent jitter (10 % per block). A candidate equal to FP32 then
    shows round ratios from about 0.74 to 1.32 (5th-95th percentiles): heavier than the
    rounds measured on this machine (docs/quantization.md). Returns measure(names, r) as
    SpeedBench.measure gives it: FP32, candidate, FP32, candidate per round."""
    rng = np.random.default_rng(seed)
    state = {"drift": 0.0, "burst": False}

    def block_runs(speed):
        state["drift"] = 0.9 * state["drift"] + rng.normal(0.0, 0.08)
        state["burst"] = (rng.random() > 0.1) if state["burst"] else (rng.random() < 0.05)
        f = np.exp(state["drift"] + rng.normal(0.0, 0.10))
        if state["burst"]:
            f *= rng.uniform(0.4, 0.7)
        return max(1.0, round(base_fps * speed * f * block)), block

    def measure(names, r):
        out = {}
        for n in names:
            bn = bt = cn = ct = 0.0
            for _ in range(2):
                k, t = block_runs(1.0)
                bn, bt = bn + k, bt + t
                k, t = block_runs(speeds[n])
                cn, ct = cn + k, ct + t
            out[n] = (cn, ct, bn, bt)
        return out

    return measure


def simulated_choice(speed, seed, min_rounds=5, max_rounds=15):
    """The tool's procedure on one simulated candidate: sequential rounds, then (for a
    winner) the confirmation in fresh rounds. Returns (chosen, decision rounds)."""
    m = noisy_bench({"c": speed}, seed)
    blocks, dec = Q.sequential_rounds(m, ["c"], {"c"}, min_rounds, max_rounds, 0.05)
    assert len(blocks["c"]) <= max_rounds
    if dec["c"]["decision"] != "wins":
        return False, len(blocks["c"])
    conf, fresh = Q.confirm(m, "c", min_rounds, max_rounds, 0.05)
    assert len(fresh) <= max_rounds
    return conf["decision"] == "wins", len(blocks["c"])


def test_noise_model_is_heavy():
    m = noisy_bench({"c": 1.0}, 0)
    ratios = [Q.round_ratio(m(["c"], r)["c"]) for r in range(400)]
    lo, hi = np.percentile(ratios, [5, 95])
    assert lo < 0.8 and hi > 1.25


def test_a_candidate_equal_to_fp32_is_never_chosen_under_heavy_noise():
    for seed in range(300):
        m = noisy_bench({"c": 1.0}, seed)
        _, dec = Q.sequential_rounds(m, ["c"], {"c"}, 5, 15, 0.05)
        assert dec["c"]["decision"] != "wins", seed
    # Nor one 3 % faster (under the 5 % asked), through the whole procedure.
    assert not any(simulated_choice(1.03, seed)[0] for seed in range(300))


def test_a_candidate_1_3x_faster_is_chosen_within_the_maximum_rounds():
    results = [simulated_choice(1.3, seed) for seed in range(100)]
    chosen = sum(c for c, _ in results)
    # The same noise: 1.3x is shown and confirmed in at least 90 of 100 runs (96 with
    # these seeds), none of them past 15 rounds (checked in simulated_choice).
    assert chosen >= 90, chosen
    # A candidate clearly faster is decided early: mostly at the second look.
    assert np.median([n for _, n in results]) <= 10


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

"""tools/python_loop_baseline.py --serve: the per-block answer benches/pipeline.rs parses
(total, then decoding, pre-processing, inference, NMS), on the shared video and model."""
import subprocess
import sys
from pathlib import Path

from yolox_numpy import SHARED

TOOLS = Path(__file__).resolve().parents[1]


def test_serve_answers_total_and_split():
    for asset in ("models/yolox_nano.onnx", "media/vtest.avi"):
        assert (SHARED / asset).is_file(), f"missing shared asset {SHARED / asset} (set EDGEAI_SHARED)"
    p = subprocess.run([sys.executable, str(TOOLS / "python_loop_baseline.py"), "--serve"],
                       input="3\n2\n", capture_output=True, text=True, timeout=300, check=True)
    lines = p.stdout.split("\n")
    assert lines[0] == "ready"
    for line in lines[1:3]:
        v = [float(x) for x in line.split()]
        assert len(v) == 5, line
        total, parts = v[0], v[1:]
        assert all(x > 0 for x in parts), line
        # The stages are timed inside the block: they add up to at most the total, and
        # to most of it (only the loop's own bookkeeping is outside them).
        assert sum(parts) <= total + 1e-6, line
        assert sum(parts) >= 0.9 * total, line

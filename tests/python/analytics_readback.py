# SPDX-License-Identifier: MPL-2.0
"""Reads our GstAnalyticsRelationMeta back through PyGObject (GstAnalytics-1.0
typelib, no gst-python overrides): run by tests/analytics.rs inside the
GStreamer 1.26 root. Prints one JSON line per frame:
{"pts": ns, "objects": [[label, x, y, w, h, confidence, track_id or null], ...]}.

usage: analytics_readback.py VIDEO MODEL LABELS JSONL FRAMES
"""
import json
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstAnalytics", "1.0")
from gi.repository import GLib, Gst, GstAnalytics  # noqa: E402


def length(rmeta):
    """gst_analytics_relation_get_length: a function, not a method, in the typelib."""
    f = getattr(GstAnalytics, "relation_get_length", None)
    return f(rmeta) if f is not None else rmeta.get_length()


def read(buf):
    rmeta = GstAnalytics.buffer_get_analytics_relation_meta(buf)
    if rmeta is None:
        return []
    n = length(rmeta)
    trackings = {}
    for j in range(n):
        ok, trk = rmeta.get_tracking_mtd(j)
        if ok:
            ok, tid, _first, _last, _lost = trk.get_info()
            assert ok
            trackings[j] = tid
    out = []
    for i in range(n):
        ok, od = rmeta.get_od_mtd(i)
        if not ok:
            continue
        ok, x, y, w, h, conf = od.get_location()
        assert ok
        label = GLib.quark_to_string(od.get_obj_type())
        track = None
        for j, tid in trackings.items():
            if rmeta.get_relation(i, j) != GstAnalytics.RelTypes.NONE:
                track = tid
        out.append([label, x, y, w, h, conf, track])
    return out


def main():
    video, model, labels, jsonl, frames = sys.argv[1:6]
    Gst.init(None)
    pipe = Gst.parse_launch(
        f"filesrc location={video} ! decodebin ! videoconvert ! video/x-raw,format=RGB "
        f"! identity eos-after={frames} ! edgedetect model={model} labels={labels} "
        f"! edgetrack ! edgejson location={jsonl} ! fakesink name=sink")
    rows = []

    def probe(pad, info):
        buf = info.get_buffer()
        rows.append({"pts": buf.pts, "objects": read(buf)})
        return Gst.PadProbeReturn.OK

    pipe.get_by_name("sink").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)
    pipe.set_state(Gst.State.PLAYING)
    msg = pipe.get_bus().timed_pop_filtered(
        120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    if msg is None or msg.type != Gst.MessageType.EOS:
        sys.exit(f"pipeline failed: {msg.parse_error() if msg else 'timeout'}")
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()

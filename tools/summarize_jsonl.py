"""Summarise an edgejson JSON Lines file: frames, inferred frames, detections per class, fps.

    python3 tools/summarize_jsonl.py out/demo.jsonl [--seconds WALL_SECONDS]
"""

import argparse
import collections
import json
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("jsonl")
    ap.add_argument("--seconds", type=float, default=None, help="wall time of the run, for fps")
    args = ap.parse_args()
    frames = inferred = 0
    per_class = collections.Counter()
    tracks = set()
    try:
        with open(args.jsonl) as f:
            for line in f:
                rec = json.loads(line)
                frames += 1
                inferred += bool(rec.get("inferred"))
                for obj in rec["objects"]:
                    per_class[obj["label"]] += 1
                    if "track_id" in obj:
                        tracks.add(obj["track_id"])
    except OSError as e:
        sys.exit(f"error: {e}")
    print(f"frames: {frames} (inferred: {inferred})")
    print(f"detections: {sum(per_class.values())}")
    for label, n in per_class.most_common():
        print(f"  {label}: {n}")
    if tracks:
        print(f"distinct track ids: {len(tracks)}")
    if args.seconds:
        print(f"wall time: {args.seconds:.2f} s, {frames / args.seconds:.1f} fps")
    print(f"result: {args.jsonl}")


if __name__ == "__main__":
    main()

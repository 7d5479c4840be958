"""Summarise an edgejson JSON Lines file: frames, inferred frames, detections and tracks per class, fps.

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
    tracks = collections.defaultdict(lambda: collections.Counter())  # label -> track id -> frames
    try:
        with open(args.jsonl) as f:
            for line in f:
                rec = json.loads(line)
                frames += 1
                inferred += bool(rec.get("inferred"))
                for obj in rec["objects"]:
                    per_class[obj["label"]] += 1
                    if "track_id" in obj:
                        tracks[obj["label"]][obj["track_id"]] += 1
    except OSError as e:
        sys.exit(f"error: {e}")
    print(f"frames: {frames} (inferred: {inferred})")
    print(f"detections: {sum(per_class.values())}")
    for label, n in per_class.most_common():
        print(f"  {label}: {n}")
    if tracks:
        print(f"tracks: {sum(len(t) for t in tracks.values())}")
        for label, ids in sorted(tracks.items(), key=lambda kv: -len(kv[1])):
            lengths = sorted(ids.values())
            median = lengths[len(lengths) // 2]
            print(f"  {label}: {len(ids)} tracks, median {median} frames, longest {lengths[-1]} frames")
    if args.seconds:
        print(f"wall time: {args.seconds:.2f} s, {frames / args.seconds:.1f} fps")
    print(f"result: {args.jsonl}")


if __name__ == "__main__":
    main()

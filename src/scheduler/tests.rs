// SPDX-License-Identifier: MPL-2.0
use super::*;

/// A model taking 3 frame periods and no timing known: frames 0, 3, 6...
/// go (each one as soon as the previous comes back), the others pass.
#[test]
fn live_policy_sends_when_the_model_is_free() {
    let mut p = LivePolicy::default();
    let mut sent = Vec::new();
    let mut busy_until = None;
    for f in 0..10u64 {
        if let Some((s, until)) = busy_until
            && until == f
        {
            p.done(s);
            busy_until = None;
        }
        if p.on_frame(f, 1, false, None, true) == Decision::Infer {
            p.started(f);
            sent.push(f);
            busy_until = Some((f, f + 3));
        }
    }
    assert_eq!(sent, vec![0, 3, 6, 9]);
}

#[test]
fn live_policy_respects_interval_and_skip_marker() {
    let mut p = LivePolicy::default();
    let mut sent = Vec::new();
    for f in 0..10u64 {
        // The model answers at once.
        if p.on_frame(f, 4, f == 4, None, true) == Decision::Infer {
            sent.push(f);
            p.started(f);
            p.done(f);
        }
    }
    // 4 carries the skip marker: 5 is the first frame due after it.
    assert_eq!(sent, vec![0, 5, 9]);
    assert!(!p.busy());
    p.reset();
    assert_eq!(p.on_frame(10, 100, false, None, true), Decision::Infer);
}

/// Frames every 10 ms, inference 35 ms, pre-processing 4 ms: frame 0 runs
/// from t=0; frames 1 and 2 arrive at 10 and 20 ms, too early
/// (10+10+4 < 35, 20+10+4 < 35); frame 3 at 30 ms (30+10+4 >= 35) is
/// pre-processed ahead and waits; it starts when 0 is done.
#[test]
fn live_policy_prepares_the_next_frame_while_the_model_runs() {
    let mut p = LivePolicy::default();
    let t = |running_for_ms: f64| {
        Some(Timing {
            running_for_ms,
            infer_ms: Some(35.0),
            frame_ms: 10.0,
            preprocess_ms: 4.0,
        })
    };
    assert_eq!(p.on_frame(0, 1, false, None, true), Decision::Infer);
    p.started(0);
    assert_eq!(p.on_frame(1, 1, false, t(10.0), true), Decision::Pass);
    assert_eq!(p.on_frame(2, 1, false, t(20.0), true), Decision::Pass);
    assert_eq!(p.on_frame(3, 1, false, t(30.0), true), Decision::Infer);
    assert!(p.running() && p.busy());
    // A frame waiting is replaced by a newer one (the instance keeps one).
    assert_eq!(p.on_frame(4, 1, false, t(40.0), true), Decision::Infer);
    p.done(0);
    p.started(4);
    assert!(p.running());
    // Unknown inference time: no frame goes ahead.
    assert_eq!(p.on_frame(5, 1, false, None, true), Decision::Pass);
    // The skip marker and the interval hold for frames ahead too.
    assert_eq!(p.on_frame(6, 1, true, t(100.0), true), Decision::Pass);
    assert_eq!(p.on_frame(7, 5, false, t(100.0), true), Decision::Pass);
    assert_eq!(p.on_frame(8, 3, false, t(100.0), true), Decision::Infer);
    p.done(4);
    // A frame withdrawn (done without starting) frees the stream.
    p.done(8);
    assert!(!p.busy());
}

/// One stream, frames every 10 ms, inference 32 ms, pre-processing 4 ms,
/// the model free for this stream; returns the frames sent and when the
/// model started each one (ms).
fn simulate(prefetch: bool, frames: u64) -> (Vec<u64>, Vec<f64>) {
    let (frame, inf, pre) = (10.0, 32.0, 4.0);
    let mut p = LivePolicy::default();
    // (seq, start) of the frame being inferred; (seq, ready) of the one waiting.
    let mut running: Option<(u64, f64)> = None;
    let mut waiting: Option<(u64, f64)> = None;
    let (mut sent, mut starts) = (Vec::new(), Vec::new());
    for f in 0..frames {
        let t = f as f64 * frame;
        while let Some((s, start)) = running
            && start + inf <= t
        {
            p.done(s);
            running = None;
            if let Some((w, ready)) = waiting.take() {
                p.started(w);
                let at = ready.max(start + inf);
                starts.push(at);
                running = Some((w, at));
            }
        }
        let timing = running.map(|(_, start)| Timing {
            running_for_ms: t - start,
            infer_ms: Some(inf),
            frame_ms: frame,
            preprocess_ms: pre,
        });
        if p.on_frame(f, 1, false, timing, prefetch) == Decision::Infer {
            sent.push(f);
            if running.is_none() {
                p.started(f);
                starts.push(t + pre);
                running = Some((f, t + pre));
            } else {
                waiting = Some((f, t + pre));
            }
        }
    }
    (sent, starts)
}

/// With prefetch, frame 3 (t=30 ms, 26 ms into frame 0's 32 ms inference:
/// 26 + 10 + 4 >= 32) is pre-processed ahead and the model starts it the
/// moment frame 0 is done: back to back, no idle time. Without, the frame
/// after the inference (t=40, 4 ms after it) goes and is pre-processed
/// first: the model idles 4 + 4 ms per inference and runs frames 0, 4, 8, 12.
#[test]
fn live_policy_prefetch_on_and_off() {
    let (sent, starts) = simulate(true, 13);
    assert_eq!(sent, vec![0, 3, 6, 9, 12]);
    assert_eq!(starts, vec![4.0, 36.0, 68.0, 100.0]);
    let (sent, starts) = simulate(false, 13);
    assert_eq!(sent, vec![0, 4, 8, 12]);
    assert_eq!(starts, vec![4.0, 44.0, 84.0, 124.0]);
}

/// Without prefetch: nothing goes while a frame of the stream is inferred,
/// however late; a frame waiting for a shared model that has not started it
/// is still replaced by a newer one; interval and skip marker hold.
#[test]
fn live_policy_without_prefetch_waits_for_the_model() {
    let t = Some(Timing {
        running_for_ms: 1000.0,
        infer_ms: Some(35.0),
        frame_ms: 10.0,
        preprocess_ms: 4.0,
    });
    let mut p = LivePolicy::default();
    // The shared model is busy with another stream: 0 waits, 1 replaces it.
    assert_eq!(p.on_frame(0, 1, false, None, false), Decision::Infer);
    assert_eq!(p.on_frame(1, 1, false, None, false), Decision::Infer);
    p.done(0);
    assert!(p.busy() && !p.running());
    p.started(1);
    // Long overdue by the timing: with prefetch it would go.
    assert_eq!(p.on_frame(2, 1, false, t, false), Decision::Pass);
    assert_eq!(p.on_frame(3, 1, false, None, false), Decision::Pass);
    p.done(1);
    assert!(!p.busy());
    assert_eq!(p.on_frame(4, 1, true, None, false), Decision::Pass);
    assert_eq!(p.on_frame(5, 1, false, None, false), Decision::Infer);
    p.started(5);
    p.done(5);
    assert_eq!(p.on_frame(6, 3, false, None, false), Decision::Pass);
    assert_eq!(p.on_frame(7, 3, false, None, false), Decision::Pass);
    assert_eq!(p.on_frame(8, 3, false, None, false), Decision::Infer);
    // The same state with prefetch: the overdue frame goes ahead.
    p.started(8);
    assert_eq!(p.on_frame(9, 1, false, t, true), Decision::Infer);
    assert!(p.running() && p.busy());
}

#[test]
fn release_queue_keeps_order_and_holds_until_done() {
    let mut q: ReleaseQueue<&str, &str, u32> = ReleaseQueue::default();
    let a = q.push_frame("a", true);
    let b = q.push_frame("b", false);
    q.push_event("eos");
    assert!(q.pop_ready().is_none(), "a is with the model");
    assert_eq!(q.frames(), 2);
    assert!(q.complete(a, Some(7)));
    assert!(!q.complete(a, Some(8)), "a second answer is ignored");
    assert!(!q.complete(b, Some(1)), "b was not sent");
    match q.pop_ready() {
        Some(Item::Frame {
            frame: "a",
            outcome: Some(Some(7)),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        q.pop_ready(),
        Some(Item::Frame {
            frame: "b",
            outcome: Some(None),
            ..
        })
    ));
    assert!(matches!(q.pop_ready(), Some(Item::Event("eos"))));
    assert!(q.is_empty());
    let c = q.push_frame("c", true);
    q.clear();
    assert!(!q.complete(c, Some(1)), "flushed frames take no answer");
}

#[test]
fn latency_estimate_is_bounded() {
    let mut e = LatencyEstimator::new(100);
    assert_eq!(e.estimate(33.3), None);
    for _ in 0..99 {
        e.record(40.0);
    }
    // p99 = 40 -> 45 ms.
    assert_eq!(e.estimate(33.3), Some(45.0));
    e.record(400.0);
    // p99 of 100 samples = the 99th = 40: one outlier does not move it.
    assert_eq!(e.estimate(33.3), Some(45.0));
    for _ in 0..10 {
        e.record(400.0);
    }
    // Now p99 = 400, capped at 2 x mean + one frame.
    let mean = e.mean().unwrap();
    assert!((mean - (89.0 * 40.0 + 11.0 * 400.0) / 100.0).abs() < 1e-9);
    assert_eq!(e.estimate(33.3), Some(2.0 * mean + 33.3));
    assert_eq!(e.samples(), 100);
}

#[test]
fn round_robin_serves_each_stream_its_newest_frame() {
    let mut rr: RoundRobin<&str> = RoundRobin::default();
    rr.register(1);
    rr.register(2);
    rr.register(3);
    assert!(rr.submit(1, 10, "1a").is_none());
    assert_eq!(rr.submit(1, 11, "1b"), Some((10, "1a")));
    assert!(rr.submit(3, 30, "3a").is_none());
    assert_eq!(rr.take_next(), Some((1, 11, "1b")));
    assert!(rr.submit(1, 12, "1c").is_none());
    assert!(rr.submit(2, 20, "2a").is_none());
    // After 1 comes 2, then 3, then 1 again.
    assert_eq!(rr.take_next(), Some((2, 20, "2a")));
    assert_eq!(rr.take_next(), Some((3, 30, "3a")));
    assert_eq!(rr.take_next(), Some((1, 12, "1c")));
    assert_eq!(rr.take_next(), None);
    assert_eq!(rr.replace(2, 21, "2b"), Err("2b"));
    rr.submit(2, 22, "2c");
    assert_eq!(rr.replace(2, 23, "2d"), Ok((22, "2c")));
    assert_eq!(rr.cancel(2), Some((23, "2d")));
    rr.submit(3, 31, "3b");
    assert_eq!(rr.unregister(3), Some((31, "3b")));
    assert_eq!(rr.streams(), 2);
    assert!(!rr.has_waiting());
}

#[test]
fn round_robin_batch_takes_one_frame_per_stream_in_turn() {
    let mut rr: RoundRobin<&str> = RoundRobin::default();
    for s in 1..=3 {
        rr.register(s);
    }
    rr.submit(2, 20, "2a");
    rr.submit(3, 30, "3a");
    // A batch starting at stream 2 (the turn is at 1, which has nothing).
    assert_eq!(rr.take_next_except(&[]), Some((2, 20, "2a")));
    // Stream 2 sends a newer frame while the batch is gathered: not in this batch.
    rr.submit(2, 21, "2b");
    assert_eq!(rr.take_next_except(&[2]), Some((3, 30, "3a")));
    assert_eq!(rr.take_next_except(&[2, 3]), None);
    rr.submit(1, 10, "1a");
    assert_eq!(rr.take_next_except(&[2, 3]), Some((1, 10, "1a")));
    // The next batch starts after the last stream served: 2's newer frame.
    assert_eq!(rr.take_next(), Some((2, 21, "2b")));
}

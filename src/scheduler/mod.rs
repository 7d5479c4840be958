// SPDX-License-Identifier: MPL-2.0
//! The real-time scheduling policy of `edgedetect mode=live`, with no
//! GStreamer in sight:
//!
//! - [`LivePolicy`]: which frame goes to the model (the model is free for this
//!   stream, `interval` frames have passed, no skip marker);
//! - [`ReleaseQueue`]: frames and events kept in arrival order; a frame is
//!   released once its detections are back (or once it is known it will get
//!   none), so nothing is dropped or reordered;
//! - [`LatencyEstimator`]: the latency the element adds, from measured
//!   inference times, bounded;
//! - [`RoundRobin`]: which stream a shared model instance serves next.

use std::collections::VecDeque;

/// What to do with an incoming frame in live mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send it to the model.
    Infer,
    /// Let it through without inference (`inferred=false`).
    Pass,
}

/// When the frame being inferred will be done, as far as it is known (ms),
/// for deciding to pre-process the next one ahead.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    /// How long this stream's frame has been with the model.
    pub running_for_ms: f64,
    /// Mean inference time (model run, decoding, NMS); `None` before one.
    pub infer_ms: Option<f64>,
    /// Mean time between frames.
    pub frame_ms: f64,
    /// Mean pre-processing time.
    pub preprocess_ms: f64,
}

/// Decides which frames of one stream go to the model in live mode.
///
/// A frame goes when at least `interval` frames have gone by since the last
/// one sent, no upstream element asked to skip it, and:
/// - nothing of this stream is with the model; or
/// - a frame of this stream waits for a (shared) model that has not started
///   it: the newer frame replaces it; or
/// - with `prefetch` (the element's property, on by default), a frame is
///   being inferred and will be done before the next frame could be
///   pre-processed (`running_for + frame + preprocess >= inference`): the
///   frame is pre-processed now, while the model works, and waits for it, so
///   that the model does not idle between frames. At most one frame waits.
///
/// Without `prefetch` a frame goes only when no frame of this stream is
/// being inferred (a waiting one is still replaced by a newer one).
#[derive(Debug, Default)]
pub struct LivePolicy {
    /// Frames seen since the last one sent; `None` before the first.
    since_sent: Option<u64>,
    running: Option<u64>,
    waiting: Option<u64>,
}

impl LivePolicy {
    /// Decides for frame `seq`; `Infer` records it as sent (waiting).
    /// `prefetch`: whether a frame may be sent ahead while one is inferred.
    pub fn on_frame(
        &mut self,
        seq: u64,
        interval: u32,
        skip_marker: bool,
        timing: Option<Timing>,
        prefetch: bool,
    ) -> Decision {
        let since = self.since_sent.map_or(u64::MAX, |n| n + 1);
        self.since_sent = self.since_sent.map(|n| n + 1);
        if skip_marker || since < u64::from(interval.max(1)) {
            return Decision::Pass;
        }
        let send = match (self.running, self.waiting) {
            (None, _) => true,
            // Only reachable with prefetch on (or just switched off): the
            // frame sent ahead is replaced by the newer one.
            (Some(_), Some(_)) => prefetch,
            (Some(_), None) => {
                prefetch
                    && timing.is_some_and(|t| {
                        t.infer_ms.is_some_and(|inf| {
                            t.running_for_ms + t.frame_ms.max(0.0) + t.preprocess_ms.max(0.0) >= inf
                        })
                    })
            }
        };
        if !send {
            return Decision::Pass;
        }
        self.since_sent = Some(0);
        self.waiting = Some(seq);
        Decision::Infer
    }

    /// Whether a frame of this stream is with the model (running or waiting).
    pub fn busy(&self) -> bool {
        self.running.is_some() || self.waiting.is_some()
    }

    /// Whether a frame of this stream is being inferred.
    pub fn running(&self) -> bool {
        self.running.is_some()
    }

    /// The model took frame `seq`.
    pub fn started(&mut self, seq: u64) {
        if self.waiting == Some(seq) {
            self.waiting = None;
        }
        self.running = Some(seq);
    }

    /// Frame `seq` came back (or was withdrawn).
    pub fn done(&mut self, seq: u64) {
        if self.running == Some(seq) {
            self.running = None;
        }
        if self.waiting == Some(seq) {
            self.waiting = None;
        }
    }

    pub fn reset(&mut self) {
        *self = LivePolicy::default();
    }
}

/// One entry of a [`ReleaseQueue`].
#[derive(Debug)]
pub enum Item<F, E, R> {
    Frame {
        seq: u64,
        frame: F,
        /// `None` while the model works on it; `Some(None)` when it gets no
        /// detections; `Some(Some(r))` with them.
        outcome: Option<Option<R>>,
    },
    Event(E),
}

/// Frames and serialized events in arrival order. The front is released when
/// it is an event or a frame whose outcome is known.
#[derive(Debug)]
pub struct ReleaseQueue<F, E, R> {
    items: VecDeque<Item<F, E, R>>,
    next_seq: u64,
}

impl<F, E, R> Default for ReleaseQueue<F, E, R> {
    fn default() -> Self {
        ReleaseQueue {
            items: VecDeque::new(),
            next_seq: 0,
        }
    }
}

impl<F, E, R> ReleaseQueue<F, E, R> {
    /// Queues a frame; `waiting` when it was sent to the model. Returns its sequence number.
    pub fn push_frame(&mut self, frame: F, waiting: bool) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.items.push_back(Item::Frame {
            seq,
            frame,
            outcome: if waiting { None } else { Some(None) },
        });
        seq
    }

    pub fn push_event(&mut self, event: E) {
        self.items.push_back(Item::Event(event));
    }

    /// The sequence number the next frame will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn outcome_mut(&mut self, seq: u64) -> Option<&mut Option<Option<R>>> {
        self.items.iter_mut().find_map(|i| match i {
            Item::Frame {
                seq: s, outcome, ..
            } if *s == seq => Some(outcome),
            _ => None,
        })
    }

    /// The model's answer for frame `seq`; false when the frame is not held
    /// (flushed meanwhile).
    pub fn complete(&mut self, seq: u64, result: Option<R>) -> bool {
        match self.outcome_mut(seq) {
            Some(o) if o.is_none() => {
                *o = Some(result);
                true
            }
            _ => false,
        }
    }

    /// Whether the front item can go downstream.
    pub fn front_ready(&self) -> bool {
        match self.items.front() {
            Some(Item::Frame { outcome, .. }) => outcome.is_some(),
            Some(Item::Event(_)) => true,
            None => false,
        }
    }

    /// Takes the front item if it can go downstream.
    pub fn pop_ready(&mut self) -> Option<Item<F, E, R>> {
        if self.front_ready() {
            self.items.pop_front()
        } else {
            None
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn frames(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i, Item::Frame { .. }))
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Drops everything held (flush, stop).
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

/// The latency `edgedetect` adds in live mode: a frame is held at most until
/// the frame in flight gets its detections, i.e. about one inference (queue
/// wait included when a model is shared). The estimate is a high percentile
/// of the recent measured durations with a margin, bounded by
/// `2 x mean + one frame` so that one outlier cannot inflate it.
#[derive(Debug, Clone)]
pub struct LatencyEstimator {
    window: VecDeque<f64>,
    capacity: usize,
}

/// Added to the percentile: scheduling jitter between the result and the push.
pub const LATENCY_MARGIN_MS: f64 = 5.0;

impl Default for LatencyEstimator {
    fn default() -> Self {
        LatencyEstimator::new(128)
    }
}

impl LatencyEstimator {
    pub fn new(capacity: usize) -> Self {
        LatencyEstimator {
            window: VecDeque::with_capacity(capacity),
            capacity: capacity.max(1),
        }
    }

    /// Records one measured duration (ms, from the frame's arrival to its detections).
    pub fn record(&mut self, ms: f64) {
        if !ms.is_finite() || ms < 0.0 {
            return;
        }
        if self.window.len() == self.capacity {
            self.window.pop_front();
        }
        self.window.push_back(ms);
    }

    pub fn samples(&self) -> usize {
        self.window.len()
    }

    pub fn mean(&self) -> Option<f64> {
        (!self.window.is_empty())
            .then(|| self.window.iter().sum::<f64>() / self.window.len() as f64)
    }

    /// The `p`-th percentile (0..=100, nearest rank).
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if self.window.is_empty() {
            return None;
        }
        let mut v: Vec<f64> = self.window.iter().copied().collect();
        v.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        Some(v[rank.clamp(1, v.len()) - 1])
    }

    /// The latency to report, ms: p99 + margin, at most 2 x mean + one frame
    /// (`frame_ms`, 0 when the rate is unknown), at least the mean.
    pub fn estimate(&self, frame_ms: f64) -> Option<f64> {
        let mean = self.mean()?;
        let p99 = self.percentile(99.0)?;
        let cap = 2.0 * mean + frame_ms.max(0.0);
        Some((p99 + LATENCY_MARGIN_MS).min(cap).max(mean))
    }
}

/// The streams of one shared model instance, each with at most one frame
/// waiting (the newest), served in turn so that one stream cannot starve
/// the others.
#[derive(Debug)]
pub struct RoundRobin<J> {
    slots: Vec<(u64, Option<(u64, J)>)>,
    next: usize,
}

impl<J> Default for RoundRobin<J> {
    fn default() -> Self {
        RoundRobin {
            slots: Vec::new(),
            next: 0,
        }
    }
}

impl<J> RoundRobin<J> {
    pub fn register(&mut self, stream: u64) {
        if !self.slots.iter().any(|(s, _)| *s == stream) {
            self.slots.push((stream, None));
        }
    }

    /// Removes a stream; returns the job it had waiting.
    pub fn unregister(&mut self, stream: u64) -> Option<(u64, J)> {
        let i = self.slots.iter().position(|(s, _)| *s == stream)?;
        let (_, job) = self.slots.remove(i);
        if self.next > i {
            self.next -= 1;
        }
        if self.next >= self.slots.len() {
            self.next = 0;
        }
        job
    }

    pub fn streams(&self) -> usize {
        self.slots.len()
    }

    /// Queues `job` (frame `seq`) for `stream`, replacing the one waiting, if
    /// any, which is returned. Registers the stream if needed.
    pub fn submit(&mut self, stream: u64, seq: u64, job: J) -> Option<(u64, J)> {
        self.register(stream);
        let slot = self.slots.iter_mut().find(|(s, _)| *s == stream)?;
        slot.1.replace((seq, job))
    }

    /// Replaces the job waiting for `stream` only if there is one (it has not
    /// started); returns the replaced job, or gives `job` back.
    pub fn replace(&mut self, stream: u64, seq: u64, job: J) -> Result<(u64, J), J> {
        match self.slots.iter_mut().find(|(s, _)| *s == stream) {
            Some((_, Some(waiting))) => Ok(std::mem::replace(waiting, (seq, job))),
            _ => Err(job),
        }
    }

    /// Withdraws the job waiting for `stream` (flush).
    pub fn cancel(&mut self, stream: u64) -> Option<(u64, J)> {
        self.slots
            .iter_mut()
            .find(|(s, _)| *s == stream)
            .and_then(|(_, j)| j.take())
    }

    pub fn has_waiting(&self) -> bool {
        self.slots.iter().any(|(_, j)| j.is_some())
    }

    /// The next stream in turn with a job waiting: `(stream, seq, job)`.
    pub fn take_next(&mut self) -> Option<(u64, u64, J)> {
        self.take_next_except(&[])
    }

    /// As [`RoundRobin::take_next`], passing over the streams in `skip` (a
    /// batch being gathered takes one frame per stream).
    pub fn take_next_except(&mut self, skip: &[u64]) -> Option<(u64, u64, J)> {
        let n = self.slots.len();
        for k in 0..n {
            let i = (self.next + k) % n;
            if skip.contains(&self.slots[i].0) {
                continue;
            }
            if let Some((seq, job)) = self.slots[i].1.take() {
                self.next = (i + 1) % n;
                return Some((self.slots[i].0, seq, job));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;

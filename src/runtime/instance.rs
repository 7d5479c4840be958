// SPDX-License-Identifier: MPL-2.0
//! Model instances shared between elements (`edgedetect model-instance-id`):
//! a process-wide [`Registry`] of loaded models by id, and [`Shared`], one
//! model with a worker thread serving the streams that use it in turn.
//! Generic over the model so that it is tested without ONNX Runtime.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use crate::scheduler::RoundRobin;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why an instance could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcquireError<E> {
    /// The id is held with other settings.
    Conflict {
        id: String,
        holder: String,
        settings: String,
    },
    Load(E),
}

struct Entry<T> {
    settings: String,
    holder: String,
    instance: Weak<T>,
}

/// Instances by id. An entry lives as long as one user holds its `Arc`: the
/// instance is freed when the last user drops it.
pub struct Registry<T> {
    map: Mutex<HashMap<String, Entry<T>>>,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Registry {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Registry<T> {
    /// The instance under `id`: the existing one when its `settings` (a
    /// canonical description of what was loaded) match, else an error naming
    /// the holder; or a new one from `load`, recorded as held by `holder`.
    pub fn acquire<E>(
        &self,
        id: &str,
        settings: &str,
        holder: &str,
        load: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, AcquireError<E>> {
        let mut map = lock(&self.map);
        if let Some(e) = map.get(id)
            && let Some(instance) = e.instance.upgrade()
        {
            return if e.settings == settings {
                Ok(instance)
            } else {
                Err(AcquireError::Conflict {
                    id: id.to_string(),
                    holder: e.holder.clone(),
                    settings: e.settings.clone(),
                })
            };
        }
        let instance = Arc::new(load().map_err(AcquireError::Load)?);
        map.insert(
            id.to_string(),
            Entry {
                settings: settings.to_string(),
                holder: holder.to_string(),
                instance: Arc::downgrade(&instance),
            },
        );
        Ok(instance)
    }

    /// The live instance under `id`, if any.
    pub fn get(&self, id: &str) -> Option<Arc<T>> {
        let mut map = lock(&self.map);
        let found = map.get(id).and_then(|e| e.instance.upgrade());
        if found.is_none() {
            map.remove(id);
        }
        found
    }
}

/// A model the instance's worker runs on batches of frames of distinct
/// streams.
pub trait BatchModel: Send + 'static {
    type Input: Send + 'static;
    type Output: Send + 'static;
    /// One call on `inputs`; exactly one output per input, in order (a
    /// failed call gives each input the failure).
    fn infer(&mut self, inputs: &[&Self::Input]) -> Vec<Self::Output>;
}

/// One stream's frame for the worker.
pub struct Job<M: BatchModel> {
    pub input: M::Input,
    /// Called on the worker when the batch is formed, with the time: false
    /// drops the job unrun (the stream flushed meanwhile).
    pub start: Box<dyn FnOnce(Instant) -> bool + Send>,
    /// Called on the worker, model unlocked, with the frame's output and the
    /// call's [`Batch`].
    pub done: Box<dyn FnOnce(M::Output, Batch) + Send>,
}

/// The call a frame was part of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Batch {
    /// Frames in the call.
    pub frames: usize,
    /// Duration of the call, ms.
    pub infer_ms: f64,
}

/// How the worker gathers frames: up to `size` frames of distinct streams
/// per call, waiting at most `timeout` after the first for more. It never
/// waits for more frames than there are streams registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    pub size: usize,
    pub timeout: Duration,
}

impl Default for Batching {
    fn default() -> Self {
        Batching {
            size: 1,
            timeout: Duration::ZERO,
        }
    }
}

/// Counters of one instance, all streams together.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstanceStats {
    /// Frames inferred.
    pub inferences: u64,
    /// Model calls (a batch of frames is one call).
    pub batches: u64,
    /// Time the model was busy, ms.
    pub busy_ms: f64,
    /// Time the frames waited for the worker, ms (summed), batch gathering included.
    pub queue_wait_ms: f64,
    pub max_queue_wait_ms: f64,
    /// Seconds since the instance was created.
    pub age_s: f64,
    pub streams: usize,
}

impl InstanceStats {
    pub fn inferences_per_s(&self) -> f64 {
        if self.age_s > 0.0 {
            self.inferences as f64 / self.age_s
        } else {
            0.0
        }
    }
    /// Share of the instance's life the model spent running (0..1).
    pub fn busy_fraction(&self) -> f64 {
        if self.age_s > 0.0 {
            (self.busy_ms / (1000.0 * self.age_s)).min(1.0)
        } else {
            0.0
        }
    }
    pub fn mean_queue_wait_ms(&self) -> f64 {
        self.queue_wait_ms / self.inferences.max(1) as f64
    }
    /// Frames per model call.
    pub fn mean_batch(&self) -> f64 {
        if self.batches > 0 {
            self.inferences as f64 / self.batches as f64
        } else {
            0.0
        }
    }
}

struct Waiting<M: BatchModel> {
    rr: RoundRobin<(Instant, Job<M>)>,
    shutdown: bool,
}

struct Inner<M: BatchModel> {
    model: Mutex<M>,
    waiting: Mutex<Waiting<M>>,
    cond: Condvar,
    stats: Mutex<InstanceStats>,
    born: Instant,
    batching: Batching,
}

/// One model used by one or more streams: jobs submitted per stream (the
/// newest replaces one still waiting) are run by one worker thread, streams
/// in turn, several streams' frames in one call when [`Batching`] allows;
/// [`Shared::run_now`] runs on the caller's thread, serialised with the
/// worker.
pub struct Shared<M: BatchModel> {
    inner: Arc<Inner<M>>,
    worker: Option<JoinHandle<()>>,
    worker_id: ThreadId,
}

type Taken<M> = (u64, u64, (Instant, Job<M>));

impl<M: BatchModel> Shared<M> {
    pub fn new(model: M, name: &str, batching: Batching) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            model: Mutex::new(model),
            waiting: Mutex::new(Waiting {
                rr: RoundRobin::default(),
                shutdown: false,
            }),
            cond: Condvar::new(),
            stats: Mutex::new(InstanceStats::default()),
            born: Instant::now(),
            batching: Batching {
                size: batching.size.max(1),
                ..batching
            },
        });
        let worker_inner = inner.clone();
        let worker = std::thread::Builder::new()
            .name(format!("model-{name}"))
            .spawn(move || Self::work(&worker_inner))?;
        let worker_id = worker.thread().id();
        Ok(Shared {
            inner,
            worker: Some(worker),
            worker_id,
        })
    }

    pub fn batching(&self) -> Batching {
        self.inner.batching
    }

    /// The next batch: the next stream in turn with a frame waiting, then
    /// the following streams' frames, waiting up to the timeout for more
    /// while fewer than `min(size, streams)`. `None` at shutdown.
    fn gather(inner: &Inner<M>) -> Option<Vec<Taken<M>>> {
        let mut w = lock(&inner.waiting);
        let first = loop {
            if w.shutdown {
                return None;
            }
            if let Some(job) = w.rr.take_next() {
                break job;
            }
            w = inner.cond.wait(w).unwrap_or_else(|e| e.into_inner());
        };
        let size = inner.batching.size;
        let mut batch = vec![first];
        if size == 1 {
            return Some(batch);
        }
        let deadline = Instant::now() + inner.batching.timeout;
        let mut streams = vec![batch[0].0];
        loop {
            while batch.len() < size {
                match w.rr.take_next_except(&streams) {
                    Some(job) => {
                        streams.push(job.0);
                        batch.push(job);
                    }
                    None => break,
                }
            }
            let now = Instant::now();
            if batch.len() >= size.min(w.rr.streams()) || w.shutdown || now >= deadline {
                return Some(batch);
            }
            w = inner
                .cond
                .wait_timeout(w, deadline - now)
                .map_or_else(|e| e.into_inner().0, |(w, _)| w);
        }
    }

    fn work(inner: &Inner<M>) {
        while let Some(batch) = Self::gather(inner) {
            let now = Instant::now();
            let mut max_wait = 0.0f64;
            let mut waits = 0.0;
            let mut inputs = Vec::with_capacity(batch.len());
            let mut dones = Vec::with_capacity(batch.len());
            for (_, _, (submitted, job)) in batch {
                if (job.start)(now) {
                    let wait = (now - submitted).as_secs_f64() * 1000.0;
                    waits += wait;
                    max_wait = max_wait.max(wait);
                    inputs.push(job.input);
                    dones.push(job.done);
                }
            }
            if inputs.is_empty() {
                continue;
            }
            let start = Instant::now();
            let outputs = {
                let refs: Vec<&M::Input> = inputs.iter().collect();
                lock(&inner.model).infer(&refs)
            };
            let batch = Batch {
                frames: inputs.len(),
                infer_ms: start.elapsed().as_secs_f64() * 1000.0,
            };
            drop(inputs);
            {
                let mut s = lock(&inner.stats);
                s.inferences += batch.frames as u64;
                s.batches += 1;
                s.busy_ms += batch.infer_ms;
                s.queue_wait_ms += waits;
                s.max_queue_wait_ms = s.max_queue_wait_ms.max(max_wait);
            }
            for (done, out) in dones.into_iter().zip(outputs) {
                done(out, batch);
            }
        }
    }

    /// Queues `job` for `stream`; returns the frame it replaced, if one was
    /// still waiting (its job is dropped unrun).
    pub fn submit(&self, stream: u64, seq: u64, job: Job<M>) -> Option<u64> {
        let replaced = lock(&self.inner.waiting)
            .rr
            .submit(stream, seq, (Instant::now(), job));
        self.inner.cond.notify_all();
        replaced.map(|(s, _)| s)
    }

    /// Withdraws the job `stream` has waiting; returns its frame.
    pub fn cancel(&self, stream: u64) -> Option<u64> {
        lock(&self.inner.waiting).rr.cancel(stream).map(|(s, _)| s)
    }

    pub fn register(&self, stream: u64) {
        lock(&self.inner.waiting).rr.register(stream);
        self.inner.cond.notify_all();
    }

    pub fn unregister(&self, stream: u64) {
        lock(&self.inner.waiting).rr.unregister(stream);
        // A batch being gathered may now be as full as it can get.
        self.inner.cond.notify_all();
    }

    /// Runs `f` on the model now, on this thread (sync mode), serialised
    /// with the worker and the other users; counts one call of one frame.
    pub fn run_now<R>(&self, f: impl FnOnce(&mut M) -> R) -> R {
        let start = Instant::now();
        let r = f(&mut lock(&self.inner.model));
        let mut s = lock(&self.inner.stats);
        s.inferences += 1;
        s.batches += 1;
        s.busy_ms += start.elapsed().as_secs_f64() * 1000.0;
        r
    }

    /// Reads the model without counting an inference.
    pub fn with_model<R>(&self, f: impl FnOnce(&mut M) -> R) -> R {
        f(&mut lock(&self.inner.model))
    }

    pub fn stats(&self) -> InstanceStats {
        let mut s = *lock(&self.inner.stats);
        s.age_s = self.inner.born.elapsed().as_secs_f64();
        s.streams = lock(&self.inner.waiting).rr.streams();
        s
    }
}

impl<M: BatchModel> Drop for Shared<M> {
    fn drop(&mut self) {
        lock(&self.inner.waiting).shutdown = true;
        self.inner.cond.notify_all();
        if let Some(w) = self.worker.take() {
            // The last user may be dropped by a job's completion, on the
            // worker itself: it then ends on its own after this job.
            if std::thread::current().id() != self.worker_id {
                let _ = w.join();
            }
        }
    }
}

/// One pre-processed frame with its stream's post-processing settings.
pub struct Frame {
    pub input: super::Input,
    pub post: super::PostParams,
}

/// The detector runs frames of several streams in one call
/// ([`super::Detector::infer_batch`]); the output is each frame's
/// candidates in network-input pixels, before NMS.
impl BatchModel for super::Detector {
    type Input = Frame;
    type Output = Result<Vec<crate::inference::Detection>, String>;

    fn infer(&mut self, inputs: &[&Frame]) -> Vec<Self::Output> {
        let tensors: Vec<&[f32]> = inputs.iter().map(|f| f.input.tensor.as_slice()).collect();
        let posts: Vec<&super::PostParams> = inputs.iter().map(|f| &f.post).collect();
        match self.infer_batch(&tensors, &posts) {
            Ok(v) => v.into_iter().map(Ok).collect(),
            Err(e) => inputs.iter().map(|_| Err(e.clone())).collect(),
        }
    }
}

/// The loaded detectors shared by `model-instance-id`.
pub type ModelInstance = Shared<super::Detector>;

/// The process-wide registry of shared detectors.
pub static MODELS: LazyLock<Registry<ModelInstance>> = LazyLock::new(Registry::default);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn same_id_same_instance_conflict_names_holder_freed_with_last_user() {
        let reg: Registry<String> = Registry::default();
        let mut loads = 0;
        let a = reg
            .acquire("cam", "m.onnx threads=1", "det0", || {
                loads += 1;
                Ok::<_, ()>("model".to_string())
            })
            .unwrap();
        let b = reg
            .acquire("cam", "m.onnx threads=1", "det1", || {
                loads += 1;
                Ok::<_, ()>("other".to_string())
            })
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(loads, 1);
        let err = reg
            .acquire("cam", "m.onnx threads=2", "det2", || {
                Ok::<_, ()>(String::new())
            })
            .unwrap_err();
        assert_eq!(
            err,
            AcquireError::Conflict {
                id: "cam".into(),
                holder: "det0".into(),
                settings: "m.onnx threads=1".into()
            }
        );
        // Users stop in any order; the instance lives until the last one.
        drop(a);
        assert!(reg.get("cam").is_some());
        drop(b);
        assert!(reg.get("cam").is_none());
        // Free again: other settings load a new one.
        let c = reg
            .acquire("cam", "m.onnx threads=2", "det2", || {
                Ok::<_, ()>("new".into())
            })
            .unwrap();
        assert_eq!(*c, "new");
        assert_eq!(
            reg.acquire("x", "", "d", || Err::<String, _>("bad")),
            Err(AcquireError::Load("bad"))
        );
    }

    /// Records each call's frames; a frame's output is `stream * 1000 + seq`.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<Vec<(u64, u64)>>,
    }

    impl BatchModel for Recorder {
        type Input = (u64, u64);
        type Output = u64;
        fn infer(&mut self, inputs: &[&(u64, u64)]) -> Vec<u64> {
            self.calls.push(inputs.iter().map(|i| **i).collect());
            inputs.iter().map(|(s, q)| s * 1000 + q).collect()
        }
    }

    /// (stream, seq, output, frames in its call)
    type Done = (u64, u64, u64, usize);

    fn job(stream: u64, seq: u64, tx: &mpsc::Sender<Done>) -> Job<Recorder> {
        let tx = tx.clone();
        Job {
            input: (stream, seq),
            start: Box::new(|_| true),
            done: Box::new(move |out, b| {
                let _ = tx.send((stream, seq, out, b.frames));
            }),
        }
    }

    fn recv(rx: &mpsc::Receiver<Done>, n: usize) -> Vec<Done> {
        (0..n)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("a result"))
            .collect()
    }

    fn wait_for_inferences(shared: &Shared<Recorder>, n: u64) -> InstanceStats {
        // The worker counts a call just before handing out its results.
        let mut stats = shared.stats();
        for _ in 0..200 {
            if stats.inferences == n {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            stats = shared.stats();
        }
        stats
    }

    #[test]
    fn worker_serves_streams_in_turn_and_newest_frame() {
        let shared = Shared::new(Recorder::default(), "test", Batching::default()).unwrap();
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (tx, rx) = mpsc::channel::<Done>();
        // Block the worker on a first job so that the others queue up.
        let gate_rx = Mutex::new(gate_rx);
        let mut first = job(0, 0, &tx);
        first.start = Box::new(move |_| {
            let _ = gate_rx
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(10));
            true
        });
        shared.submit(0, 0, first);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(shared.submit(1, 10, job(1, 10, &tx)), None);
        assert_eq!(shared.submit(1, 11, job(1, 11, &tx)), Some(10));
        assert_eq!(shared.submit(2, 20, job(2, 20, &tx)), None);
        assert_eq!(shared.cancel(2), Some(20));
        assert_eq!(shared.submit(2, 21, job(2, 21, &tx)), None);
        // The queued jobs wait at least this long for the worker.
        std::thread::sleep(Duration::from_millis(50));
        gate_tx.send(()).unwrap();
        // Stream 0 ran first; then 1 (its newest, 11) and 2 in turn, one per call.
        assert_eq!(
            recv(&rx, 3),
            vec![(0, 0, 0, 1), (1, 11, 1011, 1), (2, 21, 2021, 1)]
        );
        assert_eq!(
            shared.with_model(|m| m.calls.clone()),
            vec![vec![(0, 0)], vec![(1, 11)], vec![(2, 21)]]
        );
        assert_eq!(shared.run_now(|m| m.calls.len()), 3);
        let stats = wait_for_inferences(&shared, 4);
        assert_eq!((stats.inferences, stats.batches), (4, 4));
        assert!(stats.max_queue_wait_ms >= 40.0, "{stats:?}");
    }

    #[test]
    fn batch_takes_one_frame_per_stream_and_hands_each_its_output() {
        let batching = Batching {
            size: 3,
            timeout: Duration::from_secs(30),
        };
        let shared = Shared::new(Recorder::default(), "test", batching).unwrap();
        for s in 1..=3 {
            shared.register(s);
        }
        let (tx, rx) = mpsc::channel::<Done>();
        shared.submit(1, 10, job(1, 10, &tx));
        std::thread::sleep(Duration::from_millis(30));
        // Stream 1's newer frame does not join the batch holding its older one.
        shared.submit(1, 11, job(1, 11, &tx));
        shared.submit(3, 30, job(3, 30, &tx));
        assert!(rx.try_recv().is_err(), "the batch waits for stream 2");
        shared.submit(2, 20, job(2, 20, &tx));
        let mut got = recv(&rx, 3);
        got.sort_unstable();
        assert_eq!(
            got,
            vec![(1, 10, 1010, 3), (2, 20, 2020, 3), (3, 30, 3030, 3)]
        );
        // Streams 2 and 3 leave: stream 1's waiting frame need not wait for
        // them (a batch never waits for more frames than there are streams).
        shared.unregister(2);
        shared.unregister(3);
        assert_eq!(recv(&rx, 1), vec![(1, 11, 1011, 1)]);
        let mut calls = shared.with_model(|m| m.calls.clone());
        // Within a call, frames are in the order the worker took them.
        calls[0].sort_unstable();
        assert_eq!(calls, vec![vec![(1, 10), (2, 20), (3, 30)], vec![(1, 11)]]);
        let stats = wait_for_inferences(&shared, 4);
        assert_eq!((stats.inferences, stats.batches), (4, 2));
        assert_eq!(stats.mean_batch(), 2.0);
    }

    #[test]
    fn batch_timeout_sends_a_partial_batch_and_stale_frames_are_dropped() {
        let batching = Batching {
            size: 2,
            timeout: Duration::from_millis(150),
        };
        let shared = Shared::new(Recorder::default(), "test", batching).unwrap();
        shared.register(1);
        shared.register(2);
        let (tx, rx) = mpsc::channel::<Done>();
        let t0 = Instant::now();
        shared.submit(1, 10, job(1, 10, &tx));
        // Stream 2 sends nothing: the batch goes out with one frame once the
        // timeout expires.
        assert_eq!(recv(&rx, 1), vec![(1, 10, 1010, 1)]);
        assert!(t0.elapsed() >= Duration::from_millis(150));
        // A frame whose stream flushed (start says no) is not run.
        let mut stale = job(2, 20, &tx);
        stale.start = Box::new(|_| false);
        shared.submit(2, 20, stale);
        shared.submit(1, 11, job(1, 11, &tx));
        assert_eq!(recv(&rx, 1), vec![(1, 11, 1011, 1)]);
        assert_eq!(
            shared.with_model(|m| m.calls.clone()),
            vec![vec![(1, 10)], vec![(1, 11)]]
        );
    }
}

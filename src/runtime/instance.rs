// SPDX-License-Identifier: MPL-2.0
//! Model instances shared between elements (`edgedetect model-instance-id`):
//! a process-wide [`Registry`] of loaded models by id, and [`Shared`], one
//! model with a worker thread serving the streams that use it in turn.
//! Generic over the model so that it is tested without ONNX Runtime.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::Instant;

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

/// A job for the model: runs on the instance's worker with the model locked.
pub type Job<M> = Box<dyn FnOnce(&mut M) + Send>;

/// Counters of one instance, all streams together.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstanceStats {
    pub inferences: u64,
    /// Time the model was busy, ms.
    pub busy_ms: f64,
    /// Time the jobs waited for the worker, ms (summed).
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
}

struct Waiting<M> {
    rr: RoundRobin<(Instant, Job<M>)>,
    shutdown: bool,
}

struct Inner<M> {
    model: Mutex<M>,
    waiting: Mutex<Waiting<M>>,
    cond: Condvar,
    stats: Mutex<InstanceStats>,
    born: Instant,
}

/// One model used by one or more streams: jobs submitted per stream (the
/// newest replaces one still waiting) are run by one worker thread, streams
/// in turn; [`Shared::run_now`] runs on the caller's thread, serialised with
/// the worker.
pub struct Shared<M: Send + 'static> {
    inner: Arc<Inner<M>>,
    worker: Option<JoinHandle<()>>,
    worker_id: ThreadId,
}

impl<M: Send + 'static> Shared<M> {
    pub fn new(model: M, name: &str) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            model: Mutex::new(model),
            waiting: Mutex::new(Waiting {
                rr: RoundRobin::default(),
                shutdown: false,
            }),
            cond: Condvar::new(),
            stats: Mutex::new(InstanceStats::default()),
            born: Instant::now(),
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

    fn work(inner: &Inner<M>) {
        loop {
            let (submitted, job) = {
                let mut w = lock(&inner.waiting);
                loop {
                    if w.shutdown {
                        return;
                    }
                    if let Some((_, _, job)) = w.rr.take_next() {
                        break job;
                    }
                    w = inner.cond.wait(w).unwrap_or_else(|e| e.into_inner());
                }
            };
            let start = Instant::now();
            {
                let mut model = lock(&inner.model);
                job(&mut model);
            }
            let busy = start.elapsed().as_secs_f64() * 1000.0;
            let wait = (start - submitted).as_secs_f64() * 1000.0;
            let mut s = lock(&inner.stats);
            s.inferences += 1;
            s.busy_ms += busy;
            s.queue_wait_ms += wait;
            s.max_queue_wait_ms = s.max_queue_wait_ms.max(wait);
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

    /// Replaces the job of `stream` if it has not started; else gives it back.
    pub fn replace(&self, stream: u64, seq: u64, job: Job<M>) -> Result<u64, Job<M>> {
        lock(&self.inner.waiting)
            .rr
            .replace(stream, seq, (Instant::now(), job))
            .map(|(s, _)| s)
            .map_err(|(_, j)| j)
    }

    /// Withdraws the job `stream` has waiting; returns its frame.
    pub fn cancel(&self, stream: u64) -> Option<u64> {
        lock(&self.inner.waiting).rr.cancel(stream).map(|(s, _)| s)
    }

    pub fn register(&self, stream: u64) {
        lock(&self.inner.waiting).rr.register(stream);
    }

    pub fn unregister(&self, stream: u64) {
        lock(&self.inner.waiting).rr.unregister(stream);
    }

    /// Runs `f` on the model now, on this thread (sync mode), serialised
    /// with the worker and the other users.
    pub fn run_now<R>(&self, f: impl FnOnce(&mut M) -> R) -> R {
        let start = Instant::now();
        let r = f(&mut lock(&self.inner.model));
        let mut s = lock(&self.inner.stats);
        s.inferences += 1;
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

impl<M: Send + 'static> Drop for Shared<M> {
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

    #[test]
    fn worker_serves_streams_in_turn_and_newest_frame() {
        let shared = Shared::new(Vec::<(u64, u64)>::new(), "test").unwrap();
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<(u64, u64)>();
        // Block the worker on a first job so that the others queue up.
        let gate_rx = Mutex::new(gate_rx);
        let d = done_tx.clone();
        shared.submit(
            0,
            0,
            Box::new(move |_m: &mut Vec<(u64, u64)>| {
                let _ = gate_rx
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(10));
                let _ = d.send((0, 0));
            }),
        );
        assert_eq!(done_rx.try_recv().ok(), None);
        std::thread::sleep(Duration::from_millis(50));
        let job = |stream: u64, seq: u64| -> Job<Vec<(u64, u64)>> {
            let d = done_tx.clone();
            Box::new(move |m: &mut Vec<(u64, u64)>| {
                m.push((stream, seq));
                let _ = d.send((stream, seq));
            })
        };
        assert_eq!(shared.submit(1, 10, job(1, 10)), None);
        assert_eq!(shared.submit(1, 11, job(1, 11)), Some(10));
        assert_eq!(shared.submit(2, 20, job(2, 20)), None);
        assert_eq!(shared.cancel(2), Some(20));
        assert_eq!(shared.submit(2, 21, job(2, 21)), None);
        // The queued jobs wait at least this long for the worker.
        std::thread::sleep(Duration::from_millis(50));
        gate_tx.send(()).unwrap();
        let got: Vec<_> = (0..3)
            .map(|_| done_rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        // Stream 0 ran first; then 1 (its newest, 11) and 2 in turn.
        assert_eq!(got, vec![(0, 0), (1, 11), (2, 21)]);
        assert_eq!(shared.with_model(|m| m.clone()), vec![(1, 11), (2, 21)]);
        assert_eq!(shared.run_now(|m| m.len()), 2);
        // The worker counts a job just after it returns: wait for the last one.
        let mut stats = shared.stats();
        for _ in 0..200 {
            if stats.inferences == 4 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            stats = shared.stats();
        }
        assert_eq!(stats.inferences, 4);
        assert!(stats.max_queue_wait_ms >= 40.0, "{stats:?}");
    }
}

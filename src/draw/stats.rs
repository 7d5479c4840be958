// SPDX-License-Identifier: MPL-2.0
//! The numbers of the statistics panel: frame and inference rates over a
//! sliding window, and the panel's lines.

use std::collections::VecDeque;

/// Length of the sliding window, seconds.
pub const WINDOW_S: f64 = 2.0;

#[derive(Debug, Clone, Copy)]
struct Sample {
    t: f64,
    inferred: Option<bool>,
    latency_ms: Option<f64>,
}

/// What the window holds now.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rates {
    /// Frames per second through the overlay; `None` until two frames.
    pub fps: Option<f64>,
    /// A frame in the window came through a detector (has an `inferred` mark).
    pub detector: bool,
    /// Frames a detector ran on, per second; `None` without a detector or
    /// before two frames.
    pub inference_rate: Option<f64>,
    /// Mean inference latency of the inferred frames in the window, ms.
    pub latency_ms: Option<f64>,
}

/// Frame times over the last [`WINDOW_S`] seconds (at least the last two
/// frames, so slow streams still get a rate).
///
/// With n frames at times t₁ … tₙ in the window, the frame rate is
/// `(n − 1) / (tₙ − t₁)` and the inference rate counts the inferred frames
/// among t₂ … tₙ over the same span, so that it equals the frame rate when
/// every frame is inferred.
#[derive(Debug, Clone, Default)]
pub struct RateWindow {
    samples: VecDeque<Sample>,
}

impl RateWindow {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&mut self) {
        self.samples.clear();
    }

    /// Adds a frame seen at `t` seconds (monotonic). A time before the
    /// previous frame's restarts the window.
    pub fn push(&mut self, t: f64, inferred: Option<bool>, latency_ms: Option<f64>) {
        if !t.is_finite() {
            return;
        }
        if self.samples.back().is_some_and(|s| t < s.t) {
            self.samples.clear();
        }
        self.samples.push_back(Sample {
            t,
            inferred,
            latency_ms: latency_ms.filter(|v| v.is_finite() && *v >= 0.0),
        });
        while self.samples.len() > 2 && self.samples.front().is_some_and(|s| s.t < t - WINDOW_S) {
            self.samples.pop_front();
        }
    }

    pub fn rates(&self) -> Rates {
        let n = self.samples.len();
        let (Some(first), Some(last)) = (self.samples.front(), self.samples.back()) else {
            return Rates::default();
        };
        let span = last.t - first.t;
        let fps = (n >= 2 && span > 0.0).then(|| (n - 1) as f64 / span);
        let detector = self.samples.iter().any(|s| s.inferred.is_some());
        let inferred = self
            .samples
            .iter()
            .skip(1)
            .filter(|s| s.inferred == Some(true))
            .count();
        let inference_rate = if detector {
            fps.map(|_| inferred as f64 / span)
        } else {
            None
        };
        let latencies: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| s.inferred == Some(true))
            .filter_map(|s| s.latency_ms)
            .collect();
        let latency_ms =
            (!latencies.is_empty()).then(|| latencies.iter().sum::<f64>() / latencies.len() as f64);
        Rates {
            fps,
            detector,
            inference_rate,
            latency_ms,
        }
    }
}

/// The panel's lines:
///
/// ```text
/// overlay   29.9 fps
/// inference 10.0/s 23.4 ms
/// 62.3 °C throttle 0.60
/// ```
///
/// The inference line only when a detector marked a frame, the thermal
/// line only when the frame carries a temperature or a throttle factor
/// (`thermalgate` upstream); `--` for a value not known yet.
pub fn panel_lines(rates: &Rates, temperature: Option<f64>, throttle: Option<f64>) -> Vec<String> {
    let num = |v: Option<f64>, decimals: usize| match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "--".to_string(),
    };
    let mut lines = vec![format!("overlay   {} fps", num(rates.fps, 1))];
    if rates.detector {
        lines.push(format!(
            "inference {}/s {} ms",
            num(rates.inference_rate, 1),
            num(rates.latency_ms, 1)
        ));
    }
    if temperature.is_some() || throttle.is_some() {
        lines.push(format!(
            "{} °C throttle {}",
            num(temperature, 1),
            num(throttle, 2)
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn steady_stream_every_fourth_frame_inferred() {
        let mut w = RateWindow::new();
        // 32 fps (exact binary times) for 3 s, inference on every fourth
        // frame, latency alternating 20 and 40 ms.
        for i in 0..96 {
            let inferred = i % 4 == 0;
            let lat = if (i / 4) % 2 == 0 { 20.0 } else { 40.0 };
            w.push(f64::from(i) / 32.0, Some(inferred), inferred.then_some(lat));
        }
        let r = w.rates();
        // Window: t in [95/32 - 2, 95/32]: frames 31..=95, 65 frames over 2 s.
        assert!(approx(r.fps, 32.0), "{r:?}");
        // Inferred among frames 32..=95: 32, 36, ..., 92: 16 frames / 2 s.
        assert!(approx(r.inference_rate, 8.0), "{r:?}");
        // i / 4 = 8..=23: 8 frames at 20 ms, 8 at 40 ms.
        assert!(approx(r.latency_ms, 30.0), "{r:?}");
    }

    #[test]
    fn no_detector_no_inference_rate() {
        let mut w = RateWindow::new();
        assert_eq!(w.rates(), Rates::default());
        w.push(0.0, None, None);
        assert_eq!(w.rates().fps, None);
        w.push(0.5, None, None);
        let r = w.rates();
        assert!(approx(r.fps, 2.0));
        assert!(!r.detector);
        assert_eq!(r.inference_rate, None);
        assert_eq!(r.latency_ms, None);
    }

    #[test]
    fn slow_stream_keeps_two_frames() {
        let mut w = RateWindow::new();
        w.push(0.0, Some(false), None);
        w.push(5.0, Some(true), Some(12.0));
        w.push(10.0, Some(false), None);
        let r = w.rates();
        assert!(approx(r.fps, 0.2), "{r:?}");
        // The inferred frame at 5 s opens the window: no interval ends with
        // an inference, but its latency is still shown.
        assert!(approx(r.inference_rate, 0.0), "{r:?}");
        assert_eq!(r.latency_ms, Some(12.0));
    }

    #[test]
    fn time_going_back_restarts() {
        let mut w = RateWindow::new();
        w.push(10.0, None, None);
        w.push(11.0, None, None);
        w.push(1.0, None, None);
        assert_eq!(w.rates().fps, None);
        w.push(f64::NAN, None, None);
        w.push(1.25, None, None);
        assert!(approx(w.rates().fps, 4.0));
    }

    #[test]
    fn lines() {
        let r = Rates {
            fps: Some(29.94),
            detector: true,
            inference_rate: Some(10.0),
            latency_ms: Some(23.44),
        };
        assert_eq!(
            panel_lines(&r, Some(62.26), Some(0.6)),
            vec![
                "overlay   29.9 fps".to_string(),
                "inference 10.0/s 23.4 ms".to_string(),
                "62.3 °C throttle 0.60".to_string(),
            ]
        );
        let r = Rates::default();
        assert_eq!(panel_lines(&r, None, None), vec!["overlay   -- fps"]);
        assert_eq!(
            panel_lines(&r, None, Some(1.0)),
            vec!["overlay   -- fps", "-- °C throttle 1.00"]
        );
        let first_detected = Rates {
            detector: true,
            latency_ms: Some(12.0),
            ..Rates::default()
        };
        assert_eq!(
            panel_lines(&first_detected, None, None),
            vec!["overlay   -- fps", "inference --/s 12.0 ms"]
        );
    }
}

// SPDX-License-Identifier: MPL-2.0
//! NV12/I420 pre-processing honours the colorimetry of the caps: for each
//! matrix (BT.601, BT.709, BT.2020) and range (limited, full), test
//! patterns are made in YUV with that colorimetry; the tensor
//! the plugin computes from the YUV frame (through `video::frame_view`, as
//! `edgedetect` does) is compared with an independent reference: the same
//! YUV frame converted back to BGR by `videoconvert` (which reads the caps'
//! colorimetry itself), then the BGR path, which is bit-exact with OpenCV.
//!
//! What remains is what chroma subsampling explains: we resample Y, U, V and
//! then convert, `videoconvert` upsamples the chroma, converts and rounds,
//! then we resample the RGB. The same frames decoded with the wrong matrix
//! must be clearly worse, so the test fails if the caps were ignored.

mod common;

use common::*;
use gst::prelude::*;
use gstedgeai::frame::YuvMatrix;
use gstedgeai::inference::{LetterboxSpec, letterbox_into};

/// Pulls one sample from the appsink named `name`.
fn pull(pipeline: &gst::Pipeline, name: &str) -> gst::Sample {
    let sink = pipeline
        .by_name(name)
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    sink.pull_sample().expect("sample")
}

/// The letterboxed tensor (0..255, BGR order) of a sample, as `edgedetect`
/// computes it, plus the conversion the glue read from the caps.
fn tensor(
    sample: &gst::Sample,
    spec: &LetterboxSpec,
) -> (Vec<f32>, gstedgeai::frame::YuvConversion) {
    let info = gst_video::VideoInfo::from_caps(sample.caps().expect("caps")).expect("info");
    let buf = sample.buffer().expect("buffer");
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buf, &info).expect("map");
    let view = gstedgeai::video::frame_view(&frame).expect("view");
    let mut out = vec![0.0f32; spec.tensor_len()];
    letterbox_into(&view, spec, &mut out).expect("letterbox");
    (out, view.yuv)
}

/// Mean and maximum absolute difference, and the share of values more
/// than 8 (of 255) apart.
fn diff(a: &[f32], b: &[f32]) -> (f64, f64, f64) {
    let mut sum = 0.0;
    let mut max = 0.0f64;
    let mut far = 0usize;
    for (x, y) in a.iter().zip(b) {
        let d = f64::from((x - y).abs());
        sum += d;
        max = max.max(d);
        if d > 8.0 {
            far += 1;
        }
    }
    (sum / a.len() as f64, max, far as f64 / a.len() as f64)
}

#[test]
fn yuv_tensor_matches_videoconvert_for_each_matrix_and_range() {
    init();
    // Saturated colours (SMPTE bars, 75% and 100%), where the
    // matrix matters most and chroma subsampling least; one odd size.
    let sources = [
        ("smpte", 640, 480),
        ("smpte100", 640, 480),
        ("smpte", 321, 241),
    ];
    let mut spec = LetterboxSpec::yolox(416, 416);
    spec.scale = 1.0;
    // (colorimetry, expected matrix, full range); "range:matrix:transfer:primaries".
    let cases = [
        ("2:4:16:4", YuvMatrix::Bt601, false),
        ("1:4:16:4", YuvMatrix::Bt601, true),
        ("2:3:5:1", YuvMatrix::Bt709, false),
        ("1:3:5:1", YuvMatrix::Bt709, true),
        ("2:6:13:7", YuvMatrix::Bt2020, false),
        ("1:6:13:7", YuvMatrix::Bt2020, true),
    ];
    for format in ["I420", "NV12"] {
        for (col, matrix, full) in cases {
            let (mut mean_sum, mut worst_max, mut worst_far) = (0.0, 0.0f64, 0.0f64);
            let mut wrong_mean_sum = 0.0;
            for (pattern, w, h) in sources {
                let desc = format!(
                    "videotestsrc pattern={pattern} num-buffers=1 ! \
                     video/x-raw,format={format},width={w},height={h},colorimetry={col} ! tee name=t \
                     t. ! queue ! appsink name=yuv sync=false \
                     t. ! queue ! videoconvert ! video/x-raw,format=BGR ! appsink name=bgr sync=false"
                );
                let pipeline = gst::parse::launch(&desc)
                    .expect("parse")
                    .downcast::<gst::Pipeline>()
                    .expect("pipeline");
                pipeline.set_state(gst::State::Playing).expect("play");
                let yuv = pull(&pipeline, "yuv");
                let bgr = pull(&pipeline, "bgr");
                pipeline.set_state(gst::State::Null).expect("stop");

                let (ours, conv) = tensor(&yuv, &spec);
                assert_eq!(
                    (conv.matrix, conv.full_range),
                    (matrix, full),
                    "{format} {col}: conversion read from the caps"
                );
                let (reference, _) = tensor(&bgr, &spec);
                let (mean, max, far) = diff(&ours, &reference);
                eprintln!("  {pattern} {w}x{h}: mean {mean:.3} max {max:.0} far {far:.4}");
                mean_sum += mean;
                worst_max = worst_max.max(max);
                worst_far = worst_far.max(far);

                // The same bytes read with the other matrix of the pair.
                let other = if matrix == YuvMatrix::Bt601 {
                    YuvMatrix::Bt709
                } else {
                    YuvMatrix::Bt601
                };
                let info = gst_video::VideoInfo::from_caps(yuv.caps().unwrap()).expect("info");
                let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(
                    yuv.buffer().unwrap(),
                    &info,
                )
                .expect("map");
                let mut view = gstedgeai::video::frame_view(&frame).expect("view");
                view.yuv.matrix = other;
                let mut wrong = vec![0.0f32; spec.tensor_len()];
                letterbox_into(&view, &spec, &mut wrong).expect("letterbox");
                wrong_mean_sum += diff(&wrong, &reference).0;
            }
            let n = sources.len() as f64;
            let (mean, wrong_mean) = (mean_sum / n, wrong_mean_sum / n);
            eprintln!(
                "{format} {col}: mean |diff| {mean:.3}, max {worst_max:.0}, > 8 apart {:.4}%; \
                 with the wrong matrix mean {wrong_mean:.3}",
                100.0 * worst_far
            );
            // Chroma subsampling, videoconvert's 8-bit fixed-point matrix and
            // rounding: 1.4 to 1.7 levels on average here (measured), large
            // differences only along the bars' colour edges.
            assert!(mean < 2.0, "{format} {col}: mean difference {mean}");
            assert!(
                worst_far < 0.03,
                "{format} {col}: {worst_far} of values > 8 apart"
            );
            assert!(
                wrong_mean > 2.0 * mean,
                "{format} {col}: the wrong matrix ({wrong_mean}) is not clearly worse than the caps' ({mean})"
            );
        }
    }
}

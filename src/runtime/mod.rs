// SPDX-License-Identifier: MPL-2.0
//! ONNX Runtime: finding the library ([`loader`]) and running a YOLO model on
//! it ([`detector`]). No GStreamer here.

pub mod detector;
pub mod loader;

pub use detector::{Detector, DetectorConfig, LoadError, PostParams, Provider, Timings};

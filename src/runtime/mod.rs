// SPDX-License-Identifier: MPL-2.0
//! ONNX Runtime: finding the library ([`loader`]) and running a YOLO model on
//! it ([`detector`]); what a model file says about its precision
//! ([`onnx_model`]). No GStreamer here.

pub mod detector;
pub mod instance;
pub mod loader;
pub mod onnx_model;

pub use detector::{
    Detector, DetectorConfig, Input, InputPrep, LoadError, PostParams, Provider, Timings, finish,
};

// SPDX-License-Identifier: MPL-2.0
//! `edgedetect`: YOLO-family object detection with ONNX Runtime.
//!
//! An in-place filter: buffers pass through unchanged and each detected
//! object is added as a `GstVideoRegionOfInterestMeta` with DL Streamer's
//! `detection` parameter structure (see [`crate::meta`]). Every buffer also
//! gets the `EdgeAIFrameMeta` custom meta with `inferred` saying whether
//! inference ran on it (with `interval=N` it runs on one frame in N, and
//! never on frames an upstream element marked `skip-inference`).
//!
//! ```text
//! gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! \
//!     edgedetect model=yolox_nano.onnx labels=coco.names ! edgejson ! fakesink
//! ```
//!
//! Debian's `gstreamer1.0-opencv` also registers an element named
//! `edgedetect` (Canny edges); see `docs/edgedetect.md` for how to make sure
//! ours is the one loaded.

use gst::glib;
use gst::prelude::*;

mod imp;

/// Which decoder reads the model's output.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstEdgeDetectModelFormat")]
pub enum ModelFormat {
    #[default]
    #[enum_value(
        name = "Decide from the output shape and model metadata",
        nick = "auto"
    )]
    Auto = 0,
    #[enum_value(
        name = "YOLOX: [1,N,5+C] raw grid offsets, BGR 0..255 top-left letterbox",
        nick = "yolox"
    )]
    Yolox = 1,
    #[enum_value(
        name = "YOLOv5 (Ultralytics): [1,N,5+C] with objectness",
        nick = "yolov5"
    )]
    Yolov5 = 2,
    #[enum_value(name = "YOLOv8 / YOLO11 (Ultralytics): [1,4+C,N]", nick = "yolov8")]
    Yolov8 = 3,
    #[enum_value(
        name = "NMS-free end-to-end (YOLOv10, YOLO26): [1,K,6]",
        nick = "yolo-end2end"
    )]
    End2End = 4,
}

/// Where ONNX Runtime runs the model.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstEdgeDetectProvider")]
pub enum Provider {
    #[default]
    #[enum_value(name = "CPU", nick = "cpu")]
    Cpu = 0,
    #[enum_value(name = "CUDA (NVIDIA GPUs, Jetson)", nick = "cuda")]
    Cuda = 1,
    #[enum_value(name = "TensorRT (NVIDIA GPUs, Jetson)", nick = "tensorrt")]
    TensorRt = 2,
    #[enum_value(name = "OpenVINO (Intel CPUs, GPUs, NPUs)", nick = "openvino")]
    OpenVino = 3,
    #[enum_value(name = "XNNPACK (Arm and x86 CPUs)", nick = "xnnpack")]
    Xnnpack = 4,
    #[enum_value(name = "CoreML (Apple)", nick = "coreml")]
    CoreMl = 5,
    #[enum_value(name = "QNN (Qualcomm NPUs)", nick = "qnn")]
    Qnn = 6,
}

/// Whether inference waits for the video or runs beside it.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstEdgeDetectMode")]
pub enum Mode {
    #[default]
    #[enum_value(name = "live when upstream is live, sync otherwise", nick = "auto")]
    Auto = 0,
    #[enum_value(
        name = "every due frame is inferred on the streaming thread; the video waits",
        nick = "sync"
    )]
    Sync = 1,
    #[enum_value(
        name = "inference beside the video: frames arriving while the model is busy pass uninferred",
        nick = "live"
    )]
    Live = 2,
}

glib::wrapper! {
    pub struct EdgeDetect(ObjectSubclass<imp::EdgeDetect>) @extends gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    #[cfg(feature = "doc")]
    {
        ModelFormat::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
        Provider::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
        Mode::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    }
    gst::Element::register(
        Some(plugin),
        "edgedetect",
        gst::Rank::NONE,
        EdgeDetect::static_type(),
    )
}

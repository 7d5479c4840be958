//! GStreamer-independent pre- and post-processing for YOLO-style detectors.
//!
//! * [`preprocess`]: letterbox a raw frame ([`crate::frame::FrameView`]:
//!   packed RGB/BGR[A/x], NV12, I420) into the NCHW `f32` input tensor
//!   ([`letterbox_into`], [`Preprocessor`]).
//! * [`decode`](mod@decode): turn the raw first output of a YOLOX, YOLOv5, YOLOv8/11 or
//!   end-to-end (YOLOv10/YOLO26) model into candidate [`Detection`]s in
//!   network-input pixels.
//! * [`nms`](mod@nms): greedy non-maximum suppression.
//! * [`labels`]: class names (labels file, model names, COCO names for an
//!   80-class model without names) and the `classes` filter.
//! * [`family`]: guess the [`ModelFamily`] from the output shape and ONNX
//!   metadata, parse Ultralytics class names.
//!
//! Typical flow: `detect_family` once, then per frame `Preprocessor::run`
//! with `preprocess_for(family, w, h)`, run the model, `decode`, `nms` (not
//! needed for [`ModelFamily::End2End`]) and map boxes back to the frame with
//! [`Letterbox::to_frame`].

pub mod decode;
pub mod family;
pub mod labels;
pub mod nms;
pub mod preprocess;

pub use decode::{
    DecodeError, DecodeParams, Detection, ModelFamily, decode, grid_count, num_classes,
    num_classes_for_input,
};
pub use family::{
    check_forced_family, detect_family, is_ultralytics, parse_ultralytics_names, preprocess_for,
};
pub use nms::nms;
pub use preprocess::{
    ChannelOrder, Letterbox, LetterboxGeometry, LetterboxSpec, Placement, PreprocessError,
    Preprocessor, letterbox_geometry, letterbox_into,
};

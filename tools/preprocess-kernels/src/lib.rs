//! The plugin's pre-processing sources, compiled without GStreamer (see
//! `Cargo.toml`). Every file is the plugin's own, included by path; they sit
//! at the crate root here, so `super::decode` in `preprocess.rs` resolves.

#[path = "../../../src/inference/decode.rs"]
pub mod decode;
#[path = "../../../src/frame/mod.rs"]
pub mod frame;
#[path = "../../../src/inference/nms.rs"]
pub mod nms;
#[path = "../../../src/inference/preprocess.rs"]
pub mod preprocess;

/// The paths the included sources use inside the plugin.
pub mod inference {
    pub use crate::nms;
}

// SPDX-License-Identifier: MPL-2.0
//! Raw video frames, without GStreamer: how a frame lies in memory and how
//! its YUV samples become RGB. The one home of these notions for the
//! detector's letterbox ([`crate::inference`]), the overlay
//! ([`crate::draw`]) and the snapshots ([`crate::events`]).
//!
//! * [`layout`]: [`PixelLayout`] (packed RGB/BGR[A/x], NV12, I420), [`Plane`],
//!   the borrowed [`FrameView`] and the checks of plane count, strides and
//!   lengths ([`FrameView::validate`], [`PixelLayout::check_planes`]).
//! * [`color`]: the YUV matrices ([`YuvMatrix`]: BT.601, BT.709, BT.2020,
//!   FCC, SMPTE 240M) and ranges ([`YuvConversion`]), GStreamer's default
//!   for caps without colorimetry ([`YuvConversion::default_for_height`]), the
//!   YUV → RGB coefficient table ([`YuvToRgb`]) and RGB → YUV ([`rgb_to_yuv`]).
//!
//! `crate::video` maps negotiated caps (format and colorimetry) to these
//! types; it is the only place where GStreamer meets them.

pub mod color;
pub mod layout;

pub use color::{YuvConversion, YuvMatrix, YuvToRgb, rgb_to_yuv};
pub use layout::{FrameError, FrameView, PixelLayout, Plane};

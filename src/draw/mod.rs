// SPDX-License-Identifier: MPL-2.0
//! GStreamer-free drawing for `edgeoverlay`: boxes, labels and a statistics
//! panel, drawn in place on packed RGB/BGR[A/x], NV12 and I420 frames of any
//! size and stride.
//!
//! * [`canvas`]: a writable frame ([`Canvas`], laid out as a
//!   [`crate::frame::PixelLayout`]) and its three primitives:
//!   fill a rectangle, blend a rectangle, blend a coverage mask, all clipped
//!   to the frame. On NV12/I420 the luma is written per pixel and the chroma
//!   of every 2×2 block a rectangle touches takes the colour's chroma.
//! * [`color`]: the palette, the colour of an object (by track id, else by
//!   class), RGB → YUV in the stream's matrix and range
//!   ([`crate::frame::rgb_to_yuv`]).
//! * [`shapes`]: boxes in whole pixels, solid and dashed outlines, label
//!   placement.
//! * [`text`]: one line of text as a coverage mask, with `ab_glyph` and the
//!   embedded DejaVu Sans Mono Bold.
//! * [`overlay`]: the [`Painter`] that puts these together.
//! * [`stats`]: frame and inference rates over a sliding window, and the
//!   panel's lines.
//! * [`zones`]: the zones of `edgezones` (lines with their `in` arrow and
//!   counts, translucent polygons with their occupancy) and the colour of an
//!   object by its zone state.
//!
//! ```
//! use gstedgeai::draw::{BoxSpec, Canvas, Painter, PlaneMut, Rgb};
//! use gstedgeai::frame::{PixelLayout, YuvConversion};
//!
//! let (w, h) = (64, 48);
//! let mut pixels = vec![0u8; w * h * 3];
//! let mut canvas = Canvas::new(
//!     PixelLayout::Rgb, w, h,
//!     vec![PlaneMut { data: &mut pixels, stride: w * 3 }],
//!     YuvConversion::default(),
//! ).unwrap();
//! let mut painter = Painter::new(2, 12).unwrap();
//! painter.draw_box(&mut canvas, &BoxSpec {
//!     x1: 10.0, y1: 20.0, x2: 40.0, y2: 44.0,
//!     color: Rgb::new(255, 64, 64), predicted: false, label: "person 0.87".into(),
//! });
//! assert_eq!(&pixels[(20 * w + 10) * 3..][..3], &[255, 64, 64]);
//! ```

pub mod canvas;
pub mod color;
pub mod overlay;
pub mod shapes;
pub mod stats;
pub mod text;
pub mod zones;

pub use canvas::{Canvas, Mask, PlaneMut, Rect};
pub use color::{PALETTE, Rgb, object_color, rgb_to_yuv};
pub use overlay::{BoxSpec, LabelParts, Painter, label_text};
pub use stats::{RateWindow, Rates, panel_lines};
pub use text::TextRenderer;
pub use zones::{LineZoneSpec, ObjectZoneState, PolygonZoneSpec, object_zone_state, zone_color};

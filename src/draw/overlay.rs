// SPDX-License-Identifier: MPL-2.0
//! What `edgeoverlay` draws, put together: boxes with labels, and the
//! statistics panel.

use super::canvas::{Canvas, Rect};
use super::color::Rgb;
use super::shapes::{Dash, box_rect, label_rect, outline};
use super::text::TextRenderer;

/// Opacity of a predicted box's label background (a confirmed box's is opaque).
pub const PREDICTED_LABEL_ALPHA: u8 = 128;
/// Opacity of the statistics panel's black background.
pub const PANEL_ALPHA: u8 = 160;

/// One box to draw, in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxSpec {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    pub color: Rgb,
    /// A tracker's prediction (no detection on this frame): dashed outline,
    /// label on a half-transparent background.
    pub predicted: bool,
    /// Label text; empty: no label.
    pub label: String,
}

/// Which parts of a label to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelParts {
    pub class_name: bool,
    pub confidence: bool,
    pub track_id: bool,
}

/// The label text: `person 0.87 #12` with every part on, parts left out as
/// asked (confidence with two decimals, omitted when not finite; the track
/// id only for tracked objects).
pub fn label_text(
    parts: LabelParts,
    class_name: &str,
    confidence: f64,
    track_id: Option<u64>,
) -> String {
    let mut out: Vec<String> = Vec::with_capacity(3);
    if parts.class_name && !class_name.is_empty() {
        out.push(class_name.to_string());
    }
    if parts.confidence && confidence.is_finite() {
        out.push(format!("{confidence:.2}"));
    }
    if parts.track_id
        && let Some(id) = track_id
    {
        out.push(format!("#{id}"));
    }
    out.join(" ")
}

/// Draws boxes, labels and the panel at one line width and font size.
#[derive(Debug)]
pub struct Painter {
    pub(super) text: TextRenderer,
    line_width: u32,
}

impl Painter {
    pub fn new(line_width: u32, font_size: u32) -> Result<Self, String> {
        Ok(Painter {
            text: TextRenderer::new(font_size as f32)?,
            line_width,
        })
    }

    pub fn line_width(&self) -> u32 {
        self.line_width
    }

    pub fn font_size(&self) -> u32 {
        self.text.size() as u32
    }

    /// Padding around label text, in pixels.
    pub(super) fn padding(&self) -> i64 {
        (self.text.line_height() as i64 / 8).max(1)
    }

    /// The rectangle a label of `text` takes for box `r` in a `w × h` frame.
    pub fn label_rect(&mut self, r: Rect, text: &str, w: usize, h: usize) -> Rect {
        let pad = self.padding();
        let lw = self.text.measure(text) as i64 + 2 * pad;
        let lh = self.text.line_height() as i64 + 2 * pad;
        label_rect(r, lw, lh, w, h)
    }

    /// Draws one box and its label. Boxes with a non-finite coordinate,
    /// without area, or wholly outside the frame draw nothing.
    pub fn draw_box(&mut self, canvas: &mut Canvas<'_>, b: &BoxSpec) {
        let (w, h) = (canvas.width(), canvas.height());
        let Some(r) = box_rect(b.x1, b.y1, b.x2, b.y2) else {
            return;
        };
        if r.clip(w, h).is_none() {
            return;
        }
        let dash = b.predicted.then(|| Dash::for_line_width(self.line_width));
        for part in outline(r, self.line_width, dash, w, h) {
            canvas.fill_rect(part, b.color);
        }
        if b.label.is_empty() {
            return;
        }
        let label = self.label_rect(r, &b.label, w, h);
        let alpha = if b.predicted {
            PREDICTED_LABEL_ALPHA
        } else {
            255
        };
        canvas.blend_rect(label, b.color, alpha);
        let mask = self.text.render(&b.label);
        let pad = self.padding();
        canvas.blend_mask(
            label.x0 + pad,
            label.y0 + pad,
            &mask,
            b.color.text_color(),
            255,
        );
    }

    /// The rectangle the statistics panel of `lines` takes (top-left corner).
    pub fn panel_rect(&mut self, lines: &[String]) -> Rect {
        let pad = self.padding() + 1;
        let width = lines
            .iter()
            .map(|l| self.text.measure(l))
            .max()
            .unwrap_or(0) as i64;
        let height = (lines.len() * self.text.line_height()) as i64;
        Rect::new(0, 0, width + 2 * pad, height + 2 * pad)
    }

    /// Draws `lines` in white on a half-transparent black panel in the
    /// top-left corner (clipped to the frame).
    pub fn draw_panel(&mut self, canvas: &mut Canvas<'_>, lines: &[String]) {
        if lines.is_empty() {
            return;
        }
        let panel = self.panel_rect(lines);
        canvas.blend_rect(panel, Rgb::BLACK, PANEL_ALPHA);
        let pad = self.padding() + 1;
        let lh = self.text.line_height() as i64;
        for (i, line) in lines.iter().enumerate() {
            let mask = self.text.render(line);
            canvas.blend_mask(pad, pad + i as i64 * lh, &mask, Rgb::WHITE, 255);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::canvas::draw_rgb;

    const ALL: LabelParts = LabelParts {
        class_name: true,
        confidence: true,
        track_id: true,
    };

    #[test]
    fn label_texts() {
        assert_eq!(
            label_text(ALL, "person", 0.871, Some(12)),
            "person 0.87 #12"
        );
        assert_eq!(label_text(ALL, "person", 0.875, None), "person 0.88");
        assert_eq!(label_text(ALL, "car", f64::NAN, None), "car");
        let no_conf = LabelParts {
            confidence: false,
            ..ALL
        };
        assert_eq!(label_text(no_conf, "car", 0.5, Some(3)), "car #3");
        let id_only = LabelParts {
            class_name: false,
            confidence: false,
            track_id: true,
        };
        assert_eq!(label_text(id_only, "car", 0.5, Some(3)), "#3");
        assert_eq!(label_text(id_only, "car", 0.5, None), "");
    }

    fn changed(data: &[u8], w: usize) -> Vec<(usize, usize)> {
        data.chunks_exact(3)
            .enumerate()
            .filter(|(_, p)| p.iter().any(|&v| v != 0))
            .map(|(i, _)| (i % w, i / w))
            .collect()
    }

    #[test]
    fn box_with_label_stays_in_box_and_label_rect() {
        let (w, h) = (120, 90);
        let color = Rgb::new(255, 200, 0);
        let spec = BoxSpec {
            x1: 20.0,
            y1: 40.0,
            x2: 80.0,
            y2: 85.0,
            color,
            predicted: false,
            label: "person 0.87".into(),
        };
        let mut p = Painter::new(2, 12).unwrap();
        let label = p.label_rect(Rect::new(20, 40, 80, 85), &spec.label, w, h);
        // Above the box, left-aligned, 12 px of text + padding.
        assert_eq!((label.x0, label.y1), (20, 40));
        assert_eq!(label.height(), 12 + 2);
        let data = draw_rgb(w, h, |c| p.draw_box(c, &spec));
        let px = |x: usize, y: usize| &data[(y * w + x) * 3..(y * w + x) * 3 + 3];
        for (x, y) in changed(&data, w) {
            let in_border = (20..80).contains(&x)
                && (40..85).contains(&y)
                && !((22..78).contains(&x) && (42..83).contains(&y));
            let in_label = (label.x0..label.x1).contains(&(x as i64))
                && (label.y0..label.y1).contains(&(y as i64));
            assert!(in_border || in_label, "pixel ({x},{y}) drawn");
        }
        // Border pixels: exactly the colour.
        for (x, y) in [(20, 40), (79, 84), (21, 60), (78, 60), (50, 83)] {
            assert_eq!(px(x, y), [255, 200, 0], "({x},{y})");
        }
        // Label: background in the colour, and dark text on it (amber is light).
        let mut text_pixels = 0;
        for y in label.y0..label.y1 {
            for x in label.x0..label.x1 {
                let p = px(x as usize, y as usize);
                assert!(
                    p[0] >= p[2],
                    "not a blend of amber and black at ({x},{y}): {p:?}"
                );
                if p[0] < 128 {
                    text_pixels += 1;
                }
            }
        }
        assert!(text_pixels > 30, "{text_pixels} dark text pixels");
        // Untouched inside.
        assert_eq!(px(50, 60), [0, 0, 0]);
    }

    #[test]
    fn predicted_box_is_dashed_with_dim_label() {
        let (w, h) = (100, 60);
        let spec = BoxSpec {
            x1: 10.0,
            y1: 30.0,
            x2: 90.0,
            y2: 55.0,
            color: Rgb::new(64, 128, 255),
            predicted: true,
            label: "x".into(),
        };
        let mut p = Painter::new(2, 12).unwrap();
        let data = draw_rgb(w, h, |c| p.draw_box(c, &spec));
        let px = |x: usize, y: usize| &data[(y * w + x) * 3..(y * w + x) * 3 + 3];
        // Width 2: 8 on, 6 off from x = 10 along the bottom edge (row 54).
        for x in 10..90 {
            let on = (x - 10) % 14 < 8;
            let expected: &[u8] = if on { &[64, 128, 255] } else { &[0, 0, 0] };
            assert_eq!(px(x, 54), expected, "x = {x}");
        }
        // Label background blended at 128/255 over black: 64 -> 32, 255 -> 128.
        let label = p.label_rect(Rect::new(10, 30, 90, 55), "x", w, h);
        let corner = px(label.x0 as usize, label.y0 as usize);
        assert_eq!(corner, [32, 64, 128]);
    }

    #[test]
    fn bad_boxes_draw_nothing() {
        let mut p = Painter::new(2, 12).unwrap();
        for (x1, y1, x2, y2) in [
            (f64::NAN, 0.0, 10.0, 10.0),
            (0.0, 0.0, f64::INFINITY, 10.0),
            (-50.0, -50.0, -10.0, -10.0),
            (200.0, 10.0, 300.0, 20.0),
            (30.0, 30.0, 30.0, 40.0),
        ] {
            let spec = BoxSpec {
                x1,
                y1,
                x2,
                y2,
                color: Rgb::WHITE,
                predicted: false,
                label: "label".into(),
            };
            let data = draw_rgb(64, 48, |c| p.draw_box(c, &spec));
            assert!(data.iter().all(|&v| v == 0), "{x1} {y1} {x2} {y2}");
        }
    }

    #[test]
    fn panel_in_the_corner() {
        let mut p = Painter::new(2, 12).unwrap();
        let lines = vec![
            "overlay 30.0 fps".to_string(),
            "inference 10.0/s".to_string(),
        ];
        let panel = p.panel_rect(&lines);
        assert_eq!((panel.x0, panel.y0), (0, 0));
        assert_eq!(panel.height(), 2 * 12 + 2 * 2);
        let (w, h) = (200, 100);
        let data = draw_rgb(w, h, |c| p.draw_panel(c, &lines));
        let mut white = 0;
        for (x, y) in changed(&data, w) {
            assert!((x as i64) < panel.x1 && (y as i64) < panel.y1, "({x},{y})");
            white += 1;
        }
        assert!(white > 50);
    }
}

// SPDX-License-Identifier: MPL-2.0
//! The zones of `edgezones` drawn over the video: a line with an arrow
//! pointing to its `in` side and its in/out counts, a polygon filled
//! translucent with its occupancy; and the colour of an object by its zone
//! state.
//!
//! Shapes are rasterised without anti-aliasing by the pixel-centre rule (a
//! pixel is painted when its centre lies inside the shape), so that every
//! painted pixel follows from the geometry by hand. Thick lines are
//! rectangles around the segment (square caps); the polygon fill is a
//! coverage mask over the polygon's bounding box, so that on NV12/I420 each
//! chroma sample is blended once ([`Canvas::blend_mask`]).

use super::canvas::{Canvas, Mask, Rect};
use super::color::Rgb;
use super::overlay::Painter;

/// Zone colours, by the zone's position in the configuration. Documented
/// in `docs/edgeoverlay.md`; change both together.
pub const ZONE_PALETTE: [Rgb; 6] = [
    Rgb::new(0, 220, 220),  // cyan
    Rgb::new(255, 255, 64), // yellow
    Rgb::new(200, 64, 255), // violet
    Rgb::new(160, 230, 0),  // lime
    Rgb::new(0, 160, 255),  // sky blue
    Rgb::new(255, 64, 200), // pink
];
/// Overcrowded polygons and loitering objects.
pub const ALERT: Rgb = Rgb::new(255, 0, 0);
/// An object that crossed a line `in` in the last [`CROSSING_HIGHLIGHT_NS`].
pub const CROSSED_IN: Rgb = Rgb::new(0, 255, 0);
/// An object that crossed a line `out` in the last [`CROSSING_HIGHLIGHT_NS`].
pub const CROSSED_OUT: Rgb = Rgb::new(255, 0, 255);
/// Opacity of a polygon's fill.
pub const ZONE_FILL_ALPHA: u8 = 64;
/// Opacity of an overcrowded polygon's fill.
pub const ALERT_FILL_ALPHA: u8 = 112;
/// How long an object keeps the colour of its crossing.
pub const CROSSING_HIGHLIGHT_NS: u64 = 1_000_000_000;

/// Coordinates are clamped to ±2³⁰ so that no arithmetic overflows.
const COORD_LIMIT: f64 = (1u64 << 30) as f64;

/// The colour of the zone at `index` in the configuration.
pub fn zone_color(index: usize) -> Rgb {
    ZONE_PALETTE[index % ZONE_PALETTE.len()]
}

/// What an object is doing relative to the zones, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectZoneState {
    /// Stayed in a polygon longer than its `loiter-seconds`.
    Loitering,
    /// Inside a polygon that is at or above its `max-occupancy`.
    Overcrowded,
    /// Crossed a line recently, `in` (true) or `out` (false).
    Crossed { inward: bool },
    /// Inside the polygon at this position in the configuration.
    Inside(usize),
    /// None of the above: the object keeps its own colour.
    Outside,
}

impl ObjectZoneState {
    /// The object's colour: [`ALERT`], [`CROSSED_IN`] / [`CROSSED_OUT`],
    /// the polygon's colour, or `own` (its track / class colour).
    pub fn color(self, own: Rgb) -> Rgb {
        match self {
            ObjectZoneState::Loitering | ObjectZoneState::Overcrowded => ALERT,
            ObjectZoneState::Crossed { inward: true } => CROSSED_IN,
            ObjectZoneState::Crossed { inward: false } => CROSSED_OUT,
            ObjectZoneState::Inside(i) => zone_color(i),
            ObjectZoneState::Outside => own,
        }
    }
}

/// The zone state of one object, from what `edgezones` wrote on it:
/// `loitering`, the polygons it is `inside`, whether its track crossed a
/// line recently (`Some(true)`: in), and the zones of the frame in
/// configuration order as (name, overcrowded).
pub fn object_zone_state(
    loitering: bool,
    inside: &[String],
    crossed_recently: Option<bool>,
    zones: &[(&str, bool)],
) -> ObjectZoneState {
    if loitering {
        return ObjectZoneState::Loitering;
    }
    let mut inside_zones = zones
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| inside.iter().any(|n| n == name));
    if inside_zones.clone().any(|(_, (_, crowded))| *crowded) {
        return ObjectZoneState::Overcrowded;
    }
    if let Some(inward) = crossed_recently {
        return ObjectZoneState::Crossed { inward };
    }
    match inside_zones.next() {
        Some((i, _)) => ObjectZoneState::Inside(i),
        None => ObjectZoneState::Outside,
    }
}

/// A run of pixels `[x0, x1)` on row `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub y: usize,
    pub x0: usize,
    pub x1: usize,
}

/// The pixels of a `width × height` frame whose centre lies inside the
/// polygon `points` (even-odd rule; an edge's row crossings are counted
/// half-open, so a centre exactly on a horizontal edge belongs to the
/// polygon below it). Empty for fewer than three points or a non-finite
/// coordinate.
pub fn polygon_spans(points: &[[f64; 2]], width: usize, height: usize) -> Vec<Span> {
    let mut out = Vec::new();
    if points.len() < 3 || points.iter().flatten().any(|v| !v.is_finite()) {
        return out;
    }
    let pts: Vec<[f64; 2]> = points
        .iter()
        .map(|p| {
            [
                p[0].clamp(-COORD_LIMIT, COORD_LIMIT),
                p[1].clamp(-COORD_LIMIT, COORD_LIMIT),
            ]
        })
        .collect();
    let (min_y, max_y) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |m, p| {
        (m.0.min(p[1]), m.1.max(p[1]))
    });
    // Rows whose centre y + 0.5 can lie in [min_y, max_y].
    let y0 = (min_y - 0.5).ceil().max(0.0) as usize;
    let y1 = ((max_y - 0.5).floor() + 1.0).clamp(0.0, height as f64) as usize;
    let mut xs: Vec<f64> = Vec::with_capacity(8);
    for y in y0..y1 {
        let yc = y as f64 + 0.5;
        xs.clear();
        for (i, p) in pts.iter().enumerate() {
            let q = pts[(i + 1) % pts.len()];
            if (p[1] <= yc) != (q[1] <= yc) {
                xs.push(p[0] + (yc - p[1]) * (q[0] - p[0]) / (q[1] - p[1]));
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            // Centres x + 0.5 in [a, b).
            let x0 = (pair[0] - 0.5).ceil().clamp(0.0, width as f64) as usize;
            let x1 = (pair[1] - 0.5).ceil().clamp(0.0, width as f64) as usize;
            if x1 > x0 {
                out.push(Span { y, x0, x1 });
            }
        }
    }
    out
}

/// The rectangle `half_width` around the segment `a → b`, reaching
/// `half_width` past both ends (square caps, so polygon corners close).
pub fn segment_quad(a: [f64; 2], b: [f64; 2], half_width: f64) -> [[f64; 2]; 4] {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len = dx.hypot(dy);
    let (tx, ty) = if len > 0.0 {
        (dx / len, dy / len)
    } else {
        (1.0, 0.0)
    };
    let (ex, ey) = (tx * half_width, ty * half_width);
    let (nx, ny) = (-ty * half_width, tx * half_width);
    [
        [a[0] - ex + nx, a[1] - ey + ny],
        [b[0] + ex + nx, b[1] + ey + ny],
        [b[0] + ex - nx, b[1] + ey - ny],
        [a[0] - ex - nx, a[1] - ey - ny],
    ]
}

/// The unit normal of `a → b` pointing to its right (`in_right`) or left
/// side, in image coordinates (y down): right of a left-to-right line is
/// below it. `None` for a segment without length.
pub fn side_normal(a: [f64; 2], b: [f64; 2], in_right: bool) -> Option<[f64; 2]> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len = dx.hypot(dy);
    if len.is_nan() || len <= 0.0 || !len.is_finite() {
        return None;
    }
    // Right of (dx, dy) with y down: (-dy, dx).
    let s = if in_right { 1.0 } else { -1.0 };
    Some([-dy / len * s, dx / len * s])
}

/// Four corners, in order.
pub type Quad = [[f64; 2]; 4];
/// Three corners.
pub type Triangle = [[f64; 2]; 3];

/// The arrow from the middle of `a → b` towards the `in` side, `length`
/// pixels long: a shaft (rectangle `half_width` around it) and a head
/// (triangle, tip at the end). `None` for a segment without length.
pub fn arrow(
    a: [f64; 2],
    b: [f64; 2],
    in_right: bool,
    length: f64,
    half_width: f64,
) -> Option<(Quad, Triangle)> {
    let n = side_normal(a, b, in_right)?;
    let m = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
    let head = (length * 0.45).max(3.0 * half_width + 2.0).min(length);
    let head_half = head * 0.6;
    let at = |d: f64| [m[0] + n[0] * d, m[1] + n[1] * d];
    let tip = at(length);
    let base = at(length - head);
    // Along the line.
    let t = [n[1], -n[0]];
    let shaft = segment_quad(m, base, half_width);
    let head = [
        tip,
        [base[0] + t[0] * head_half, base[1] + t[1] * head_half],
        [base[0] - t[0] * head_half, base[1] - t[1] * head_half],
    ];
    Some((shaft, head))
}

/// Blends `c` over `spans` with opacity `alpha`; every pixel once, every
/// chroma sample once (on NV12/I420 through a mask over the spans'
/// bounding box, so that a chroma sample shared by two rows is blended once).
pub fn blend_spans(canvas: &mut Canvas<'_>, spans: &[Span], c: Rgb, alpha: u8) {
    if spans.is_empty() || alpha == 0 {
        return;
    }
    if alpha == 255 {
        for s in spans {
            let (y, x0, x1) = (s.y as i64, s.x0 as i64, s.x1 as i64);
            canvas.fill_rect(Rect::new(x0, y, x1, y + 1), c);
        }
        return;
    }
    if canvas.layout().packed().is_some() {
        // No chroma to share between rows: one-row rectangles blend each
        // pixel exactly as the mask would, without building it.
        for s in spans {
            let (y, x0, x1) = (s.y as i64, s.x0 as i64, s.x1 as i64);
            canvas.blend_rect(Rect::new(x0, y, x1, y + 1), c, alpha);
        }
        return;
    }
    let x0 = spans.iter().map(|s| s.x0).min().unwrap_or(0);
    let x1 = spans.iter().map(|s| s.x1).max().unwrap_or(0);
    let y0 = spans.iter().map(|s| s.y).min().unwrap_or(0);
    let y1 = spans.iter().map(|s| s.y + 1).max().unwrap_or(0);
    let mut mask = Mask::new(x1 - x0, y1 - y0);
    for s in spans {
        let row = (s.y - y0) * mask.width;
        mask.data[row + s.x0 - x0..row + s.x1 - x0].fill(255);
    }
    canvas.blend_mask(x0 as i64, y0 as i64, &mask, c, alpha);
}

fn fill_polygon(canvas: &mut Canvas<'_>, points: &[[f64; 2]], c: Rgb) {
    let spans = polygon_spans(points, canvas.width(), canvas.height());
    blend_spans(canvas, &spans, c, 255);
}

/// A directed line zone, in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct LineZoneSpec {
    pub a: [f64; 2],
    pub b: [f64; 2],
    /// The `in` side is right of `a → b` (else left).
    pub in_right: bool,
    pub color: Rgb,
    /// Counts text (`door in 3 out 1`); empty: none.
    pub label: String,
}

/// A polygon zone, in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct PolygonZoneSpec {
    pub points: Vec<[f64; 2]>,
    pub color: Rgb,
    /// Opacity of the fill ([`ZONE_FILL_ALPHA`], [`ALERT_FILL_ALPHA`]).
    pub fill_alpha: u8,
    /// Occupancy text (`queue 2/5`); empty: none.
    pub label: String,
}

/// Keeps `r` inside a `w × h` frame (a rectangle larger than the frame
/// starts at 0 and is clipped).
fn into_frame(r: Rect, w: usize, h: usize) -> Rect {
    let (w, h) = (w as i64, h as i64);
    let x = r.x0.min(w - r.width()).max(0);
    let y = r.y0.min(h - r.height()).max(0);
    Rect::new(x, y, x + r.width(), y + r.height())
}

impl Painter {
    /// Length of a line zone's `in` arrow: twice the text height, at least
    /// four line widths.
    pub fn arrow_length(&self) -> f64 {
        (2 * self.text.line_height()).max(4 * self.line_width() as usize) as f64
    }

    fn text_box(&mut self, text: &str) -> (i64, i64) {
        let pad = self.padding();
        (
            self.text.measure(text) as i64 + 2 * pad,
            self.text.line_height() as i64 + 2 * pad,
        )
    }

    /// Where a line zone's label goes: beside the middle of the line on the
    /// side opposite the arrow (the `out` side), clear of the line, moved
    /// into the frame if it would leave it.
    pub fn line_label_rect(&mut self, z: &LineZoneSpec, w: usize, h: usize) -> Rect {
        let (lw, lh) = self.text_box(&z.label);
        let m = [(z.a[0] + z.b[0]) / 2.0, (z.a[1] + z.b[1]) / 2.0];
        // Towards the out side (a vertical offset for a point segment).
        let n = side_normal(z.a, z.b, !z.in_right).unwrap_or([0.0, -1.0]);
        // Half the rectangle's extent along n, so that it clears the line.
        let support = n[0].abs() * lw as f64 / 2.0 + n[1].abs() * lh as f64 / 2.0;
        let d = f64::from(self.line_width()) / 2.0 + 2.0 + support;
        let cx = (m[0] + n[0] * d).clamp(-COORD_LIMIT, COORD_LIMIT);
        let cy = (m[1] + n[1] * d).clamp(-COORD_LIMIT, COORD_LIMIT);
        let x = (cx - lw as f64 / 2.0).round() as i64;
        let y = (cy - lh as f64 / 2.0).round() as i64;
        into_frame(Rect::new(x, y, x + lw, y + lh), w, h)
    }

    /// Where a polygon's label goes: at the top-left corner of its bounding
    /// box, inside it, moved into the frame if needed.
    pub fn polygon_label_rect(&mut self, z: &PolygonZoneSpec, w: usize, h: usize) -> Rect {
        let (lw, lh) = self.text_box(&z.label);
        let (x, y) = z
            .points
            .iter()
            .fold((f64::INFINITY, f64::INFINITY), |m, p| {
                (m.0.min(p[0]), m.1.min(p[1]))
            });
        let q = |v: f64| {
            if v.is_finite() {
                v.clamp(-COORD_LIMIT, COORD_LIMIT).round() as i64
            } else {
                0
            }
        };
        let (x, y) = (q(x), q(y));
        into_frame(Rect::new(x, y, x + lw, y + lh), w, h)
    }

    fn draw_label(&mut self, canvas: &mut Canvas<'_>, r: Rect, text: &str, c: Rgb) {
        canvas.fill_rect(r, c);
        let mask = self.text.render(text);
        let pad = self.padding();
        canvas.blend_mask(r.x0 + pad, r.y0 + pad, &mask, c.text_color(), 255);
    }

    /// Draws a line zone: the segment `line-width` thick, the arrow to its
    /// `in` side from its middle, and the label.
    pub fn draw_line_zone(&mut self, canvas: &mut Canvas<'_>, z: &LineZoneSpec) {
        if z.a.iter().chain(&z.b).any(|v| !v.is_finite()) {
            return;
        }
        let half = f64::from(self.line_width()) / 2.0;
        fill_polygon(canvas, &segment_quad(z.a, z.b, half), z.color);
        if let Some((shaft, head)) = arrow(z.a, z.b, z.in_right, self.arrow_length(), half) {
            fill_polygon(canvas, &shaft, z.color);
            fill_polygon(canvas, &head, z.color);
        }
        if !z.label.is_empty() {
            let r = self.line_label_rect(z, canvas.width(), canvas.height());
            self.draw_label(canvas, r, &z.label, z.color);
        }
    }

    /// Draws a polygon zone: the fill at `fill_alpha`, the outline
    /// `line-width` thick (centred on the edges), and the label.
    pub fn draw_polygon_zone(&mut self, canvas: &mut Canvas<'_>, z: &PolygonZoneSpec) {
        let (w, h) = (canvas.width(), canvas.height());
        let spans = polygon_spans(&z.points, w, h);
        blend_spans(canvas, &spans, z.color, z.fill_alpha);
        let half = f64::from(self.line_width()) / 2.0;
        let n = z.points.len();
        if n < 2 || z.points.iter().flatten().any(|v| !v.is_finite()) {
            return;
        }
        for i in 0..n {
            let quad = segment_quad(z.points[i], z.points[(i + 1) % n], half);
            fill_polygon(canvas, &quad, z.color);
        }
        if !z.label.is_empty() {
            let r = self.polygon_label_rect(z, w, h);
            self.draw_label(canvas, r, &z.label, z.color);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::canvas::{PlaneMut, draw_rgb, draw_rgb_on};
    use crate::frame::{PixelLayout, YuvConversion, YuvMatrix};

    fn spans_picture(spans: &[Span], w: usize, h: usize) -> Vec<String> {
        let mut m = vec![vec!['.'; w]; h];
        for s in spans {
            for c in &mut m[s.y][s.x0..s.x1] {
                *c = '#';
            }
        }
        m.into_iter().map(|r| r.into_iter().collect()).collect()
    }

    #[test]
    fn polygon_spans_by_pixel_centres() {
        // Square (1,1)-(4,3): centres x + 0.5 in [1, 4) -> x 1..=3; y 1..=2.
        let sq = [[1.0, 1.0], [4.0, 1.0], [4.0, 3.0], [1.0, 3.0]];
        assert_eq!(
            spans_picture(&polygon_spans(&sq, 6, 4), 6, 4),
            ["......", ".###..", ".###..", "......"]
        );
        // Right triangle (0,0),(6,0),(0,6): row y has centre yc = y + 0.5 and
        // spans x + 0.5 < 6 - yc, i.e. x < 5 - y.
        let tri = [[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]];
        assert_eq!(
            spans_picture(&polygon_spans(&tri, 6, 6), 6, 6),
            ["#####.", "####..", "###...", "##....", "#.....", "......"]
        );
        // A concave "U": the notch (2..4, 0..2) stays empty.
        let u = [
            [0.0, 0.0],
            [2.0, 0.0],
            [2.0, 2.0],
            [4.0, 2.0],
            [4.0, 0.0],
            [6.0, 0.0],
            [6.0, 4.0],
            [0.0, 4.0],
        ];
        assert_eq!(
            spans_picture(&polygon_spans(&u, 6, 4), 6, 4),
            ["##..##", "##..##", "######", "######"]
        );
        // Clipped to the frame, and degenerate input draws nothing.
        let big = [[-5.0, -5.0], [50.0, -5.0], [50.0, 50.0], [-5.0, 50.0]];
        assert_eq!(
            spans_picture(&polygon_spans(&big, 3, 2), 3, 2),
            ["###", "###"]
        );
        assert!(polygon_spans(&sq[..2], 6, 4).is_empty());
        assert!(polygon_spans(&[[0.0, 0.0], [f64::NAN, 1.0], [3.0, 3.0]], 6, 4).is_empty());
        let huge = [[-1e300, -1e300], [1e300, -1e300], [0.0, 1e300]];
        assert_eq!(polygon_spans(&huge, 4, 2).len(), 2);
    }

    #[test]
    fn translucent_polygon_blends_as_computed_by_hand() {
        let (w, h) = (20, 12);
        let z = PolygonZoneSpec {
            points: vec![[4.0, 3.0], [16.0, 3.0], [16.0, 10.0], [4.0, 10.0]],
            color: Rgb::new(200, 100, 0),
            fill_alpha: 64,
            label: String::new(),
        };
        let mut p = Painter::new(2, 12).unwrap();
        // Background grey 100 so that both ends of the blend matter.
        let data = draw_rgb_on(100, w, h, |c| p.draw_polygon_zone(c, &z));
        let px = |x: usize, y: usize| &data[(y * w + x) * 3..(y * w + x) * 3 + 3];
        // Inside, off the outline (edges 1 px either side: x 3..=4, 15..=16,
        // y 2..=3, 9..=10): (200·64 + 100·191 + 127) / 255 = 125.59 -> 125,
        // (100·64 + 100·191 + 127) / 255 = 100.5 -> 100, (0 + 19100 + 127) / 255 = 75.4 -> 75.
        for (x, y) in [(5, 4), (10, 6), (14, 8)] {
            assert_eq!(px(x, y), [125, 100, 75], "({x},{y})");
        }
        // The outline: opaque colour, centred on the edges.
        for (x, y) in [(3, 6), (4, 6), (15, 6), (16, 6), (10, 2), (10, 3), (10, 10)] {
            assert_eq!(px(x, y), [200, 100, 0], "({x},{y})");
        }
        // Outside: untouched.
        for (x, y) in [(1, 1), (2, 6), (17, 6), (10, 11), (19, 0)] {
            assert_eq!(px(x, y), [100, 100, 100], "({x},{y})");
        }
    }

    #[test]
    fn arrow_points_to_the_in_side() {
        // Horizontal line at y = 40 drawn left to right: right = below.
        let (w, h) = (120, 100);
        for (in_right, toward, away) in [(true, 1i64, -1i64), (false, -1, 1)] {
            let z = LineZoneSpec {
                a: [10.0, 40.0],
                b: [110.0, 40.0],
                in_right,
                color: Rgb::new(0, 220, 220),
                label: String::new(),
            };
            let mut p = Painter::new(2, 10).unwrap();
            let len = p.arrow_length() as i64;
            assert_eq!(len, 20);
            let data = draw_rgb(w, h, |c| p.draw_line_zone(c, &z));
            let on = |x: i64, y: i64| data[(y as usize * w + x as usize) * 3 + 1] == 220;
            // The line itself: rows 39 and 40, from x = 9 (square cap) to 110.
            for x in [9, 10, 60, 110] {
                assert!(on(x, 39) && on(x, 40), "line at x {x}");
            }
            for (x, y) in [(8, 40), (111, 40), (30, 38), (30, 41)] {
                assert!(!on(x, y), "({x},{y})");
            }
            // Shaft and head along x = 60 on the in side, up to the tip.
            for d in [3, 10, len - 3] {
                assert!(on(60, 40 + toward * d - i64::from(toward < 0)), "d {d}");
            }
            // Head wider than the shaft near its base, nothing past the tip.
            assert!(on(63, 40 + toward * (len - 8)));
            assert!(!on(60, 40 + toward * (len + 2)));
            // Nothing on the other side beyond the line's half width.
            for d in [2, 5, 10, len - 3] {
                let y = 40 + away * d - i64::from(away < 0);
                assert!((0..w as i64).all(|x| !on(x, y)), "row {y}");
            }
        }
    }

    #[test]
    fn diagonal_arrow_direction() {
        // a -> b going down-right; its right side is down-left.
        let n = side_normal([0.0, 0.0], [10.0, 10.0], true).unwrap();
        let s = std::f64::consts::FRAC_1_SQRT_2;
        assert!(
            (n[0] + s).abs() < 1e-12 && (n[1] - s).abs() < 1e-12,
            "{n:?}"
        );
        let (_, head) = arrow([0.0, 0.0], [10.0, 10.0], true, 10.0, 1.0).unwrap();
        // Tip 10 px from the middle (5, 5) along n.
        assert!((head[0][0] - (5.0 - 10.0 * s)).abs() < 1e-9);
        assert!((head[0][1] - (5.0 + 10.0 * s)).abs() < 1e-9);
        assert!(side_normal([3.0, 3.0], [3.0, 3.0], true).is_none());
    }

    #[test]
    fn line_label_on_the_out_side_and_inside_the_frame() {
        let mut p = Painter::new(2, 12).unwrap();
        let (w, h) = (200, 100);
        let mut z = LineZoneSpec {
            a: [20.0, 50.0],
            b: [180.0, 50.0],
            in_right: true,
            color: Rgb::new(255, 255, 64),
            label: "door in 3 out 1".into(),
        };
        // In below: the label above the line, centred on x = 100, clear of it.
        let r = p.line_label_rect(&z, w, h);
        assert!(r.y1 <= 49, "{r:?}");
        assert!(((r.x0 + r.x1) / 2 - 100).abs() <= 1, "{r:?}");
        z.in_right = false;
        let r = p.line_label_rect(&z, w, h);
        assert!(r.y0 >= 51, "{r:?}");
        // A line on the frame's top edge with its out side above: kept inside.
        z.a = [150.0, 0.0];
        z.b = [250.0, 0.0];
        z.in_right = true;
        let r = p.line_label_rect(&z, w, h);
        assert!(r.x0 >= 0 && r.y0 >= 0 && r.x1 <= w as i64 && r.y1 <= h as i64);
        // Drawn: label background in the colour, text dark on yellow.
        let data = draw_rgb(w, h, |c| p.draw_line_zone(c, &z));
        let px = |x: i64, y: i64| &data[(y as usize * w + x as usize) * 3..][..3];
        assert_eq!(px(r.x0, r.y0), [255, 255, 64]);
        let dark = (r.y0..r.y1)
            .flat_map(|y| (r.x0..r.x1).map(move |x| (x, y)))
            .filter(|&(x, y)| px(x, y)[0] < 128)
            .count();
        assert!(dark > 30, "{dark} text pixels");
    }

    #[test]
    fn polygon_label_inside_the_frame() {
        let mut p = Painter::new(2, 12).unwrap();
        let z = PolygonZoneSpec {
            points: vec![[-30.0, 90.0], [40.0, 90.0], [40.0, 140.0]],
            color: ALERT,
            fill_alpha: ALERT_FILL_ALPHA,
            label: "queue 5/5".into(),
        };
        let r = p.polygon_label_rect(&z, 100, 100);
        assert_eq!(r.x0, 0);
        assert_eq!(r.y1, 100);
        let r = p.polygon_label_rect(
            &PolygonZoneSpec {
                points: vec![[20.0, 10.0], [60.0, 10.0], [40.0, 50.0]],
                ..z
            },
            100,
            100,
        );
        assert_eq!((r.x0, r.y0), (20, 10));
    }

    #[test]
    fn state_colours() {
        let own = Rgb::new(1, 2, 3);
        assert_eq!(ObjectZoneState::Outside.color(own), own);
        assert_eq!(ObjectZoneState::Loitering.color(own), ALERT);
        assert_eq!(ObjectZoneState::Overcrowded.color(own), ALERT);
        assert_eq!(
            ObjectZoneState::Crossed { inward: true }.color(own),
            CROSSED_IN
        );
        assert_eq!(
            ObjectZoneState::Crossed { inward: false }.color(own),
            CROSSED_OUT
        );
        assert_eq!(ObjectZoneState::Inside(7).color(own), ZONE_PALETTE[1]);
    }

    #[test]
    fn state_priority() {
        let zones = [("door", false), ("queue", false), ("hall", true)];
        let inside = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        use ObjectZoneState::*;
        assert_eq!(object_zone_state(false, &[], None, &zones), Outside);
        assert_eq!(
            object_zone_state(false, &inside(&["queue"]), None, &zones),
            Inside(1)
        );
        // A recent crossing shows over plain membership.
        assert_eq!(
            object_zone_state(false, &inside(&["queue"]), Some(false), &zones),
            Crossed { inward: false }
        );
        // Overcrowded over crossing, loitering over all.
        assert_eq!(
            object_zone_state(false, &inside(&["queue", "hall"]), Some(true), &zones),
            Overcrowded
        );
        assert_eq!(
            object_zone_state(true, &inside(&["hall"]), Some(true), &zones),
            Loitering
        );
        // A zone name the frame does not list: outside.
        assert_eq!(
            object_zone_state(false, &inside(&["gone"]), None, &zones),
            Outside
        );
    }

    /// Every advertised layout, with padded strides: a translucent polygon
    /// and a line, compared pixel by pixel with the same drawing on RGB
    /// (converted by hand through the stream's matrix on YUV).
    #[test]
    fn every_layout_with_strides() {
        let (w, h): (usize, usize) = (21, 13); // odd: partial chroma blocks
        let poly = PolygonZoneSpec {
            points: vec![[3.0, 2.0], [18.0, 2.0], [18.0, 11.0], [3.0, 11.0]],
            color: Rgb::new(255, 0, 0),
            fill_alpha: 128,
            label: String::new(),
        };
        let line = LineZoneSpec {
            a: [0.0, 6.0],
            b: [21.0, 6.0],
            in_right: true,
            color: Rgb::WHITE,
            label: String::new(),
        };
        let conv = YuvConversion {
            matrix: YuvMatrix::Bt601,
            full_range: false,
        };
        for layout in PixelLayout::ALL {
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            // (bytes per row, rows, stride with 7 bytes of padding, fill)
            let planes_spec: Vec<(usize, usize, usize, u8)> = match layout {
                PixelLayout::Nv12 => vec![(w, h, w + 7, 16), (2 * cw, ch, 2 * cw + 7, 128)],
                PixelLayout::I420 => vec![
                    (w, h, w + 7, 16),
                    (cw, ch, cw + 7, 128),
                    (cw, ch, cw + 7, 128),
                ],
                l => {
                    let bpp = l.packed().unwrap().0;
                    vec![(w * bpp, h, w * bpp + 7, 0)]
                }
            };
            let mut bufs: Vec<Vec<u8>> = planes_spec
                .iter()
                .map(|&(_, rows, stride, fill)| {
                    let mut v = vec![fill; stride * rows];
                    // Padding bytes marked, to see they stay.
                    for r in 0..rows {
                        v[r * stride + stride - 7..r * stride + stride].fill(0xAB);
                    }
                    v
                })
                .collect();
            {
                let planes = bufs
                    .iter_mut()
                    .zip(&planes_spec)
                    .map(|(d, s)| PlaneMut {
                        data: d,
                        stride: s.2,
                    })
                    .collect();
                let mut c = Canvas::new(layout, w, h, planes, conv).unwrap();
                let mut p = Painter::new(2, 8).unwrap();
                p.draw_polygon_zone(&mut c, &poly);
                p.draw_line_zone(&mut c, &line);
            }
            for (b, s) in bufs.iter().zip(&planes_spec) {
                for r in 0..s.1 {
                    assert!(
                        b[r * s.2 + s.2 - 7..r * s.2 + s.2]
                            .iter()
                            .all(|&v| v == 0xAB),
                        "{layout:?}: padding written"
                    );
                }
            }
            let luma = |x: usize, y: usize| bufs[0][y * planes_spec[0].2 + x];
            match layout.packed() {
                Some((bpp, [ro, go, bo])) => {
                    let px = |x: usize, y: usize| {
                        let o = y * planes_spec[0].2 + x * bpp;
                        [bufs[0][o + ro], bufs[0][o + go], bufs[0][o + bo]]
                    };
                    // Fill: red at 128/255 over black = 128.
                    assert_eq!(px(10, 3), [128, 0, 0], "{layout:?}");
                    // Line rows 5..=6 white, over fill and outside it.
                    assert_eq!(px(10, 5), [255, 255, 255], "{layout:?}");
                    assert_eq!(px(0, 6), [255, 255, 255], "{layout:?}");
                    assert_eq!(px(1, 1), [0, 0, 0], "{layout:?}");
                    if matches!(layout, PixelLayout::Rgba | PixelLayout::Bgra) {
                        // Alpha "over" 0: 128.
                        assert_eq!(bufs[0][3 * planes_spec[0].2 + 10 * bpp + 3], 128);
                    }
                }
                None => {
                    // Red (BT.601 limited): Y 81, U 90, V 240; at 128/255 over
                    // Y 16: (81·128 + 16·127 + 127) / 255 = 49.1 -> 49;
                    // U (90·128 + 128·127 + 127)/255 = 109.4 -> 109;
                    // V (240·128 + 128·127 + 127)/255 = 184.2 -> 184.
                    assert_eq!(luma(10, 3), 49, "{layout:?}");
                    assert_eq!(luma(10, 5), 235, "{layout:?}");
                    assert_eq!(luma(1, 1), 16, "{layout:?}");
                    // Chroma block (3, 4) covers columns 6..=7, rows 8..=9:
                    // all four in the fill, none on the outline, line or arrow.
                    let (u, v) = match layout {
                        PixelLayout::Nv12 => {
                            let o = 4 * planes_spec[1].2 + 2 * 3;
                            (bufs[1][o], bufs[1][o + 1])
                        }
                        _ => (
                            bufs[1][4 * planes_spec[1].2 + 3],
                            bufs[2][4 * planes_spec[2].2 + 3],
                        ),
                    };
                    assert_eq!((u, v), (109, 184), "{layout:?}");
                }
            }
        }
    }
}

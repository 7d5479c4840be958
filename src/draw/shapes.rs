// SPDX-License-Identifier: MPL-2.0
//! Geometry: boxes in whole pixels, their outlines (solid or dashed) and
//! where a label goes.

use super::canvas::Rect;

/// Coordinates are clamped to ±2³⁰ before rounding, so that arithmetic on
/// them cannot overflow; any frame is far smaller.
const COORD_LIMIT: f64 = (1u64 << 30) as f64;

/// The pixels of a box given in frame coordinates `(x1, y1)–(x2, y2)`:
/// columns `round(x1) .. round(x2)` (half-open), rows likewise. `None` when
/// a coordinate is not finite or the box has no pixel.
pub fn box_rect(x1: f64, y1: f64, x2: f64, y2: f64) -> Option<Rect> {
    if ![x1, y1, x2, y2].iter().all(|v| v.is_finite()) {
        return None;
    }
    let q = |v: f64| v.clamp(-COORD_LIMIT, COORD_LIMIT).round() as i64;
    let r = Rect::new(q(x1), q(y1), q(x2), q(y2));
    (!r.is_empty()).then_some(r)
}

/// The dash pattern of predicted boxes: `on` pixels drawn, `off` skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dash {
    pub on: i64,
    pub off: i64,
}

impl Dash {
    /// The pattern for a line width: `3w + 2` on, `2w + 2` off (8 on, 6 off
    /// at the default width 2).
    pub fn for_line_width(line_width: u32) -> Self {
        let w = i64::from(line_width.max(1));
        Dash {
            on: 3 * w + 2,
            off: 2 * w + 2,
        }
    }
}

/// Splits `[a, b)` into the dashes of `dash`, phase starting at `a`, keeping
/// only those that meet the visible range `[lo, hi)`.
fn dashes(a: i64, b: i64, dash: Dash, lo: i64, hi: i64, out: &mut Vec<(i64, i64)>) {
    let period = dash.on + dash.off;
    let from = lo.max(a);
    let to = hi.min(b);
    if to <= from || period <= 0 {
        return;
    }
    // First dash that may reach `from`.
    let mut start = a + ((from - a) / period) * period;
    while start < to {
        let end = (start + dash.on).min(b);
        if end > from {
            out.push((start.max(from), end.min(to)));
        }
        start += period;
    }
}

/// The rectangles that make up the outline of `r`: a border `line_width`
/// pixels thick lying inside `r`, solid, or dashed along each edge with
/// the dash phase starting at the box's top-left corner. Only the parts
/// inside a `width × height` frame are returned, so that the work does not
/// grow with boxes that reach far outside it.
pub fn outline(
    r: Rect,
    line_width: u32,
    dash: Option<Dash>,
    width: usize,
    height: usize,
) -> Vec<Rect> {
    let mut out = Vec::new();
    if r.is_empty() || line_width == 0 {
        return out;
    }
    let lw = i64::from(line_width);
    let (w, h) = (width as i64, height as i64);
    // A solid border as thick as the box: one rectangle.
    if dash.is_none() && (2 * lw >= r.width() || 2 * lw >= r.height()) {
        push_clipped(&mut out, r, w, h);
        return out;
    }
    let top = Rect::new(r.x0, r.y0, r.x1, (r.y0 + lw).min(r.y1));
    let bottom = Rect::new(r.x0, (r.y1 - lw).max(r.y0), r.x1, r.y1);
    let left = Rect::new(r.x0, r.y0, (r.x0 + lw).min(r.x1), r.y1);
    let right = Rect::new((r.x1 - lw).max(r.x0), r.y0, r.x1, r.y1);
    match dash {
        None => {
            // Left and right edges without the corners the top and bottom cover.
            let inner = |e: Rect| Rect::new(e.x0, top.y1, e.x1, bottom.y0);
            for e in [top, bottom, inner(left), inner(right)] {
                push_clipped(&mut out, e, w, h);
            }
        }
        Some(dash) => {
            let mut spans = Vec::new();
            for e in [top, bottom] {
                spans.clear();
                dashes(e.x0, e.x1, dash, 0, w, &mut spans);
                for &(a, b) in &spans {
                    push_clipped(&mut out, Rect::new(a, e.y0, b, e.y1), w, h);
                }
            }
            for e in [left, right] {
                spans.clear();
                dashes(e.y0, e.y1, dash, 0, h, &mut spans);
                for &(a, b) in &spans {
                    push_clipped(&mut out, Rect::new(e.x0, a, e.x1, b), w, h);
                }
            }
        }
    }
    out
}

fn push_clipped(out: &mut Vec<Rect>, r: Rect, w: i64, h: i64) {
    let c = Rect::new(r.x0.max(0), r.y0.max(0), r.x1.min(w), r.y1.min(h));
    if !c.is_empty() {
        out.push(c);
    }
}

/// Where a label of `label_w × label_h` pixels goes for box `r`: on top of
/// the box, left-aligned with it, when there is room above; else just
/// inside the box's top edge. Moved into the frame when the box reaches
/// outside it (a label wider or taller than the frame starts at 0 and is
/// clipped).
pub fn label_rect(r: Rect, label_w: i64, label_h: i64, width: usize, height: usize) -> Rect {
    let (w, h) = (width as i64, height as i64);
    let y = if r.y0 - label_h >= 0 {
        r.y0 - label_h
    } else {
        r.y0
    };
    let y = y.min(h - label_h).max(0);
    let x = r.x0.min(w - label_w).max(0);
    Rect::new(x, y, x + label_w, y + label_h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pixel of `rects` in a `w × h` frame, as a bitmap.
    fn raster(rects: &[Rect], w: usize, h: usize) -> Vec<Vec<bool>> {
        let mut m = vec![vec![false; w]; h];
        for r in rects {
            for row in m.iter_mut().take(r.y1 as usize).skip(r.y0 as usize) {
                for p in row.iter_mut().take(r.x1 as usize).skip(r.x0 as usize) {
                    *p = true;
                }
            }
        }
        m
    }

    fn picture(m: &[Vec<bool>]) -> Vec<String> {
        m.iter()
            .map(|row| row.iter().map(|&b| if b { '#' } else { '.' }).collect())
            .collect()
    }

    #[test]
    fn box_rect_rounds_and_rejects_bad_boxes() {
        assert_eq!(box_rect(1.4, 1.6, 5.5, 7.49), Some(Rect::new(1, 2, 6, 7)));
        assert_eq!(box_rect(f64::NAN, 0.0, 5.0, 5.0), None);
        assert_eq!(box_rect(0.0, 0.0, f64::INFINITY, 5.0), None);
        assert_eq!(box_rect(3.0, 3.0, 3.2, 9.0), None);
        assert_eq!(box_rect(5.0, 5.0, 1.0, 9.0), None);
        let huge = box_rect(-1e300, 0.0, 1e300, 2.0).unwrap();
        assert_eq!((huge.x0, huge.x1), (-(1 << 30), 1 << 30));
    }

    #[test]
    fn solid_outline_inside_the_box() {
        let rects = outline(Rect::new(1, 1, 7, 6), 2, None, 8, 7);
        assert_eq!(
            picture(&raster(&rects, 8, 7)),
            [
                "........", //
                ".######.", ".######.", ".##..##.", ".######.", ".######.", "........",
            ]
        );
        // No pixel is covered twice (the four edges do not overlap).
        let area: i64 = rects.iter().map(|r| r.width() * r.height()).sum();
        assert_eq!(area, 6 * 5 - 2);
    }

    #[test]
    fn outline_is_clipped_to_the_frame() {
        // Box from (-3,-3) to (4,4) in a 6x5 frame, width 1: only the right
        // and bottom edges are visible.
        let rects = outline(Rect::new(-3, -3, 4, 4), 1, None, 6, 5);
        assert_eq!(
            picture(&raster(&rects, 6, 5)),
            ["...#..", "...#..", "...#..", "####..", "......"]
        );
        for r in &rects {
            assert!(r.x0 >= 0 && r.y0 >= 0 && r.x1 <= 6 && r.y1 <= 5, "{r:?}");
        }
        // Wholly outside: nothing.
        assert!(outline(Rect::new(10, 10, 20, 20), 2, None, 6, 5).is_empty());
        assert!(outline(Rect::new(-20, 0, -6, 4), 2, None, 6, 5).is_empty());
    }

    #[test]
    fn small_box_is_filled() {
        let rects = outline(Rect::new(2, 2, 5, 4), 2, None, 8, 8);
        assert_eq!(rects, vec![Rect::new(2, 2, 5, 4)]);
    }

    #[test]
    fn dashed_outline_pattern() {
        // Width 1: 5 on, 4 off, from the top-left corner along each edge.
        let dash = Dash::for_line_width(1);
        assert_eq!(dash, Dash { on: 5, off: 4 });
        let rects = outline(Rect::new(0, 0, 20, 12), 1, Some(dash), 20, 12);
        let pic = picture(&raster(&rects, 20, 12));
        assert_eq!(pic[0], "#####....#####....##");
        assert_eq!(pic[11], "#####....#####....##");
        let left: String = pic.iter().map(|row| &row[0..1]).collect();
        let right: String = pic.iter().map(|row| &row[19..20]).collect();
        assert_eq!(left, "#####....###");
        assert_eq!(right, "#####....###");
        assert_eq!(&pic[5][1..19], "..................");
    }

    #[test]
    fn dashes_keep_their_phase_when_clipped() {
        // Box starting 7 px left of the frame: the pattern is the one of the
        // whole box, cut at the frame edge (period 9: pixels -7..-2 on,
        // -2..2 off, 2..7 on).
        let rects = outline(
            Rect::new(-7, 0, 30, 10),
            1,
            Some(Dash { on: 5, off: 4 }),
            12,
            10,
        );
        let pic = picture(&raster(&rects, 12, 10));
        assert_eq!(pic[0], "..#####....#");
    }

    #[test]
    fn huge_dashed_box_stays_cheap() {
        let r = box_rect(-1e12, -1e12, 1e12, 1e12).unwrap();
        let rects = outline(r, 2, Some(Dash::for_line_width(2)), 64, 48);
        // The box edges are all outside a 64x48 frame.
        assert!(rects.is_empty());
        let r = box_rect(-1e12, 10.0, 1e12, 20.0).unwrap();
        let rects = outline(r, 2, Some(Dash::for_line_width(2)), 64, 48);
        assert!(!rects.is_empty() && rects.len() < 20, "{}", rects.len());
    }

    #[test]
    fn label_placement() {
        // Room above: on top of the box.
        assert_eq!(
            label_rect(Rect::new(10, 30, 50, 60), 20, 12, 100, 100),
            Rect::new(10, 18, 30, 30)
        );
        // No room above: inside the top edge.
        assert_eq!(
            label_rect(Rect::new(10, 5, 50, 60), 20, 12, 100, 100),
            Rect::new(10, 5, 30, 17)
        );
        // Box past the right edge and above the top: moved into the frame.
        assert_eq!(
            label_rect(Rect::new(90, -20, 150, 60), 20, 12, 100, 100),
            Rect::new(80, 0, 100, 12)
        );
        // Box past the left edge.
        assert_eq!(
            label_rect(Rect::new(-40, 50, 10, 60), 20, 12, 100, 100),
            Rect::new(0, 38, 20, 50)
        );
        // Label wider than the frame: starts at 0.
        assert_eq!(
            label_rect(Rect::new(3, 50, 10, 60), 120, 12, 100, 100),
            Rect::new(0, 38, 120, 50)
        );
    }
}

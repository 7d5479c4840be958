// SPDX-License-Identifier: MPL-2.0
//! Text: one line rasterised into a coverage [`Mask`] with `ab_glyph`, in
//! the font the build carries (DejaVu Sans Mono Bold, see
//! `assets/fonts/README.md`), so nothing depends on system fonts.
//!
//! Glyphs are rasterised once per character at the renderer's size and
//! kept; a line is then a copy of cached coverage, which keeps labels cheap
//! enough to draw on every frame.

use std::collections::HashMap;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use super::canvas::Mask;

/// The embedded font file.
pub static FONT_DATA: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono-Bold.ttf");

/// Distinct characters kept before the cache starts over (labels are short
/// and mostly ASCII; this only bounds memory against pathological labels).
const MAX_CACHED_GLYPHS: usize = 2048;

#[derive(Debug, Clone)]
struct GlyphBitmap {
    /// Offset of the bitmap from the pen position (x) and the line top (y).
    left: i64,
    top: i64,
    mask: Mask,
    advance: f32,
}

/// Rasterises lines of text at one pixel size.
#[derive(Debug)]
pub struct TextRenderer {
    font: FontRef<'static>,
    scale: PxScale,
    ascent: f32,
    line_height: usize,
    glyphs: HashMap<char, GlyphBitmap>,
}

impl TextRenderer {
    /// A renderer whose lines are `px` pixels high (the font's ascender to
    /// descender). Fails only if the embedded font cannot be parsed.
    pub fn new(px: f32) -> Result<Self, String> {
        let font = FontRef::try_from_slice(FONT_DATA)
            .map_err(|e| format!("the embedded font cannot be read: {e}"))?;
        let px = if px.is_finite() { px.max(1.0) } else { 12.0 };
        let scale = PxScale::from(px);
        let scaled = font.as_scaled(scale);
        let ascent = scaled.ascent();
        let line_height = (scaled.ascent() - scaled.descent()).round().max(1.0) as usize;
        Ok(TextRenderer {
            font,
            scale,
            ascent,
            line_height,
            glyphs: HashMap::new(),
        })
    }

    /// Height of a line in pixels.
    pub fn line_height(&self) -> usize {
        self.line_height
    }

    /// Pixel size the renderer was made for.
    pub fn size(&self) -> f32 {
        self.scale.y
    }

    fn glyph(&mut self, c: char) -> &GlyphBitmap {
        if self.glyphs.len() >= MAX_CACHED_GLYPHS && !self.glyphs.contains_key(&c) {
            self.glyphs.clear();
        }
        let (font, scale, ascent) = (&self.font, self.scale, self.ascent);
        self.glyphs.entry(c).or_insert_with(|| {
            let scaled = font.as_scaled(scale);
            let id = font.glyph_id(c);
            let advance = scaled.h_advance(id);
            let glyph = id.with_scale_and_position(scale, point(0.0, ascent));
            match font.outline_glyph(glyph) {
                // Whitespace and empty glyphs have no outline.
                None => GlyphBitmap {
                    left: 0,
                    top: 0,
                    mask: Mask::default(),
                    advance,
                },
                Some(outlined) => {
                    let bounds = outlined.px_bounds();
                    let w = bounds.width().max(0.0) as usize;
                    let h = bounds.height().max(0.0) as usize;
                    let mut mask = Mask::new(w, h);
                    outlined.draw(|x, y, cov| {
                        let (x, y) = (x as usize, y as usize);
                        if x < w && y < h {
                            mask.data[y * w + x] = (cov.clamp(0.0, 1.0) * 255.0).round() as u8;
                        }
                    });
                    GlyphBitmap {
                        left: bounds.min.x as i64,
                        top: bounds.min.y as i64,
                        mask,
                        advance,
                    }
                }
            }
        })
    }

    /// Width in pixels of `text` on one line.
    pub fn measure(&mut self, text: &str) -> usize {
        let mut pen = 0.0f32;
        for c in text.chars() {
            pen += self.glyph(printable(c)).advance;
        }
        pen.ceil().max(0.0) as usize
    }

    /// `text` on one line: a mask `measure(text)` wide and `line_height()`
    /// high. Control characters are drawn as spaces; ink that would fall
    /// outside the line box is cut.
    pub fn render(&mut self, text: &str) -> Mask {
        let width = self.measure(text);
        let height = self.line_height;
        let mut out = Mask::new(width, height);
        let mut pen = 0.0f32;
        for c in text.chars() {
            let x0 = pen.round() as i64;
            let g = self.glyph(printable(c));
            pen += g.advance;
            for gy in 0..g.mask.height {
                let y = g.top + gy as i64;
                if y < 0 || y >= height as i64 {
                    continue;
                }
                for gx in 0..g.mask.width {
                    let x = x0 + g.left + gx as i64;
                    if x < 0 || x >= width as i64 {
                        continue;
                    }
                    let dst = &mut out.data[y as usize * width + x as usize];
                    *dst = (*dst).max(g.mask.get(gx, gy));
                }
            }
        }
        out
    }
}

fn printable(c: char) -> char {
    if c.is_control() { ' ' } else { c }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_font_parses_and_has_the_glyphs_we_draw() {
        let font = FontRef::try_from_slice(FONT_DATA).unwrap();
        for c in "person 0.87 #12 overlay fps inference °C throttle".chars() {
            assert!(font.glyph_id(c).0 != 0 || c == ' ', "no glyph for {c:?}");
        }
    }

    #[test]
    fn monospace_metrics() {
        let mut t = TextRenderer::new(20.0).unwrap();
        // DejaVu Sans Mono: advance 1233 units, ascender 1901, descender
        // -483 (units per em 2048); px scale 20 is ascender - descender, so
        // one advance is 20 * 1233 / 2384 = 10.34 px.
        assert_eq!(t.line_height(), 20);
        assert_eq!(t.measure("a"), 11);
        assert_eq!(t.measure("abcdefghij"), 104);
        assert_eq!(t.measure(""), 0);
    }

    #[test]
    fn glyphs_have_ink_where_expected() {
        let mut t = TextRenderer::new(20.0).unwrap();
        let space = t.render(" ");
        assert!(space.data.iter().all(|&v| v == 0));
        let l = t.render("l");
        let ink: u32 = l.data.iter().map(|&v| u32::from(v)).sum();
        assert!(ink > 255 * 20, "too little ink: {ink}");
        // "_" sits low, "‾"-like marks high: underscore ink is in the bottom third.
        let u = t.render("_");
        let rows_with_ink: Vec<usize> = (0..u.height)
            .filter(|&y| (0..u.width).any(|x| u.get(x, y) > 128))
            .collect();
        assert!(!rows_with_ink.is_empty());
        assert!(
            rows_with_ink.iter().all(|&y| y >= 2 * u.height / 3),
            "{rows_with_ink:?}"
        );
        // A cap letter's ink stays inside the line box and above the descender.
        let h = t.render("H");
        let rows: Vec<usize> = (0..h.height)
            .filter(|&y| (0..h.width).any(|x| h.get(x, y) > 128))
            .collect();
        // Cap height 1493 units: 20 * 1493 / 2384 = 12.5 px of ink, baseline at 15.9.
        assert!((12..=14).contains(&rows.len()), "{rows:?}");
        assert_eq!(*rows.last().unwrap(), 15);
    }
}

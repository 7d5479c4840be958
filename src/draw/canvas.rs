// SPDX-License-Identifier: MPL-2.0
//! A writable frame in any of the plugin's formats, and the three
//! operations everything else is built from: fill a rectangle, blend a
//! rectangle, blend a coverage mask. Every operation clips to the frame, so
//! callers may pass rectangles partly or wholly outside it.

use super::color::{Rgb, rgb_to_yuv};
use crate::frame::{FrameError, PixelLayout, YuvConversion};

/// A half-open pixel rectangle `[x0, x1) × [y0, y1)`, in frame pixels,
/// possibly outside the frame. Empty when `x1 <= x0` or `y1 <= y0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x0: i64,
    pub y0: i64,
    pub x1: i64,
    pub y1: i64,
}

impl Rect {
    pub const fn new(x0: i64, y0: i64, x1: i64, y1: i64) -> Self {
        Rect { x0, y0, x1, y1 }
    }

    pub fn is_empty(&self) -> bool {
        self.x1 <= self.x0 || self.y1 <= self.y0
    }

    pub fn width(&self) -> i64 {
        (self.x1 - self.x0).max(0)
    }

    pub fn height(&self) -> i64 {
        (self.y1 - self.y0).max(0)
    }

    /// The part inside `width × height`, as `usize` bounds; `None` when empty.
    pub fn clip(&self, width: usize, height: usize) -> Option<(usize, usize, usize, usize)> {
        let (w, h) = (width as i64, height as i64);
        let x0 = self.x0.clamp(0, w);
        let x1 = self.x1.clamp(0, w);
        let y0 = self.y0.clamp(0, h);
        let y1 = self.y1.clamp(0, h);
        if x1 <= x0 || y1 <= y0 {
            None
        } else {
            Some((x0 as usize, y0 as usize, x1 as usize, y1 as usize))
        }
    }
}

/// An 8-bit coverage mask (0 = transparent, 255 = opaque), row-major.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mask {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Mask {
    pub fn new(width: usize, height: usize) -> Self {
        Mask {
            width,
            height,
            data: vec![0; width * height],
        }
    }

    pub fn get(&self, x: usize, y: usize) -> u8 {
        self.data[y * self.width + x]
    }
}

/// One writable plane: rows are `stride` bytes apart; the bytes between a
/// row's end and the next row (padding) are never written.
#[derive(Debug)]
pub struct PlaneMut<'a> {
    pub data: &'a mut [u8],
    pub stride: usize,
}

/// A writable frame.
///
/// Planes: packed formats use one, NV12 two (Y, interleaved UV), I420 three
/// (Y, U, V). Chroma planes are `ceil(width / 2) × ceil(height / 2)`.
#[derive(Debug)]
pub struct Canvas<'a> {
    layout: PixelLayout,
    width: usize,
    height: usize,
    planes: Vec<PlaneMut<'a>>,
    yuv: YuvConversion,
}

/// `(src · a + dst · (255 − a)) / 255`, rounded; exact for `a` = 0 and 255.
#[inline]
fn mix(dst: u8, src: u8, a: u32) -> u8 {
    ((u32::from(src) * a + u32::from(dst) * (255 - a) + 127) / 255) as u8
}

/// Alpha of a packed pixel after drawing `a` over it ("over" operator).
#[inline]
fn over_alpha(dst: u8, a: u32) -> u8 {
    (a + (u32::from(dst) * (255 - a) + 127) / 255) as u8
}

/// Bytes per pixel, byte offsets of R, G, B, and of alpha (RGBA/BGRA only;
/// the padding byte of RGBx/BGRx is left as it is).
fn packed(layout: PixelLayout) -> Option<(usize, [usize; 3], Option<usize>)> {
    let (bpp, rgb) = layout.packed()?;
    let alpha = matches!(layout, PixelLayout::Rgba | PixelLayout::Bgra).then_some(3);
    Some((bpp, rgb, alpha))
}

/// Chroma blocks `[cx0, cx1) × [cy0, cy1)` touched by the luma rectangle.
#[inline]
fn chroma_span(x0: usize, y0: usize, x1: usize, y1: usize) -> (usize, usize, usize, usize) {
    (x0 / 2, y0 / 2, (x1 - 1) / 2 + 1, (y1 - 1) / 2 + 1)
}

impl<'a> Canvas<'a> {
    /// Checks that every plane holds `stride × (rows − 1) + row_bytes`
    /// bytes, so that no operation can index outside a plane
    /// ([`PixelLayout::check_planes`]).
    pub fn new(
        layout: PixelLayout,
        width: usize,
        height: usize,
        planes: Vec<PlaneMut<'a>>,
        yuv: YuvConversion,
    ) -> Result<Self, FrameError> {
        layout.check_planes(
            width,
            height,
            planes.iter().map(|p| (p.data.len(), p.stride)),
        )?;
        Ok(Canvas {
            layout,
            width,
            height,
            planes,
            yuv,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn layout(&self) -> PixelLayout {
        self.layout
    }

    /// Paints the rectangle (clipped) opaque. On NV12/I420 every chroma
    /// sample of a 2×2 block that the rectangle touches takes the colour's
    /// chroma. RGBA/BGRA alpha becomes 255.
    pub fn fill_rect(&mut self, r: Rect, c: Rgb) {
        self.blend_rect(r, c, 255);
    }

    /// Blends the colour over the rectangle (clipped) with opacity `alpha`.
    /// On NV12/I420 the chroma of every 2×2 block the rectangle touches is
    /// blended with the same opacity.
    pub fn blend_rect(&mut self, r: Rect, c: Rgb, alpha: u8) {
        let Some((x0, y0, x1, y1)) = r.clip(self.width, self.height) else {
            return;
        };
        if alpha == 0 {
            return;
        }
        let a = u32::from(alpha);
        if let Some((bpp, [ro, go, bo], ao)) = packed(self.layout) {
            let plane = &mut self.planes[0];
            for y in y0..y1 {
                let row = &mut plane.data[y * plane.stride + x0 * bpp..y * plane.stride + x1 * bpp];
                if alpha == 255 {
                    for px in row.chunks_exact_mut(bpp) {
                        px[ro] = c.r;
                        px[go] = c.g;
                        px[bo] = c.b;
                        if let Some(ao) = ao {
                            px[ao] = 255;
                        }
                    }
                    continue;
                }
                for px in row.chunks_exact_mut(bpp) {
                    px[ro] = mix(px[ro], c.r, a);
                    px[go] = mix(px[go], c.g, a);
                    px[bo] = mix(px[bo], c.b, a);
                    if let Some(ao) = ao {
                        px[ao] = over_alpha(px[ao], a);
                    }
                }
            }
            return;
        }
        let [yv, uv, vv] = rgb_to_yuv(c, self.yuv);
        let luma = &mut self.planes[0];
        for y in y0..y1 {
            let row = &mut luma.data[y * luma.stride + x0..y * luma.stride + x1];
            if alpha == 255 {
                row.fill(yv);
            } else {
                for p in row {
                    *p = mix(*p, yv, a);
                }
            }
        }
        let (cx0, cy0, cx1, cy1) = chroma_span(x0, y0, x1, y1);
        for cy in cy0..cy1 {
            self.blend_chroma_row(cy, cx0, cx1, |_| a, uv, vv);
        }
    }

    /// Blends chroma blocks `[cx0, cx1)` of chroma row `cy` towards (u, v)
    /// with the opacity `alpha(cx)` of each block.
    #[inline]
    fn blend_chroma_row(
        &mut self,
        cy: usize,
        cx0: usize,
        cx1: usize,
        alpha: impl Fn(usize) -> u32,
        u: u8,
        v: u8,
    ) {
        match self.layout {
            PixelLayout::Nv12 => {
                let p = &mut self.planes[1];
                let row = &mut p.data[cy * p.stride + 2 * cx0..cy * p.stride + 2 * cx1];
                for (i, uv) in row.chunks_exact_mut(2).enumerate() {
                    let a = alpha(cx0 + i);
                    if a > 0 {
                        uv[0] = mix(uv[0], u, a);
                        uv[1] = mix(uv[1], v, a);
                    }
                }
            }
            PixelLayout::I420 => {
                let (yu, vplane) = self.planes.split_at_mut(2);
                let (up, vp) = (&mut yu[1], &mut vplane[0]);
                let urow = &mut up.data[cy * up.stride + cx0..cy * up.stride + cx1];
                let vrow = &mut vp.data[cy * vp.stride + cx0..cy * vp.stride + cx1];
                for (i, (us, vs)) in urow.iter_mut().zip(vrow.iter_mut()).enumerate() {
                    let a = alpha(cx0 + i);
                    if a > 0 {
                        *us = mix(*us, u, a);
                        *vs = mix(*vs, v, a);
                    }
                }
            }
            _ => {}
        }
    }

    /// Blends the colour through `mask` placed with its top-left corner at
    /// (x, y); each pixel's opacity is `coverage × alpha / 255`. On
    /// NV12/I420 each chroma sample is blended with the mean opacity of the
    /// (up to four) frame pixels of its 2×2 block.
    pub fn blend_mask(&mut self, x: i64, y: i64, mask: &Mask, c: Rgb, alpha: u8) {
        let r = Rect::new(x, y, x + mask.width as i64, y + mask.height as i64);
        let Some((x0, y0, x1, y1)) = r.clip(self.width, self.height) else {
            return;
        };
        if alpha == 0 || mask.data.len() < mask.width * mask.height {
            return;
        }
        let al = u32::from(alpha);
        let scale = |cov: u8| (u32::from(cov) * al + 127) / 255;
        // Opacity of frame pixel (px, py), 0 outside the mask.
        let opacity = |px: usize, py: usize| -> u32 {
            let (mx, my) = (px as i64 - x, py as i64 - y);
            if mx < 0 || my < 0 || mx >= mask.width as i64 || my >= mask.height as i64 {
                0
            } else {
                scale(mask.get(mx as usize, my as usize))
            }
        };
        // The mask rows and columns that land on the frame.
        let (mx0, my0) = ((x0 as i64 - x) as usize, (y0 as i64 - y) as usize);
        let mask_row = |py: usize| {
            let start = (my0 + py - y0) * mask.width + mx0;
            &mask.data[start..start + (x1 - x0)]
        };
        if let Some((bpp, [ro, go, bo], ao)) = packed(self.layout) {
            let plane = &mut self.planes[0];
            for py in y0..y1 {
                let row =
                    &mut plane.data[py * plane.stride + x0 * bpp..py * plane.stride + x1 * bpp];
                for (&cov, p) in mask_row(py).iter().zip(row.chunks_exact_mut(bpp)) {
                    if cov == 0 {
                        continue;
                    }
                    if cov == 255 && al == 255 {
                        p[ro] = c.r;
                        p[go] = c.g;
                        p[bo] = c.b;
                        if let Some(ao) = ao {
                            p[ao] = 255;
                        }
                        continue;
                    }
                    let a = scale(cov);
                    p[ro] = mix(p[ro], c.r, a);
                    p[go] = mix(p[go], c.g, a);
                    p[bo] = mix(p[bo], c.b, a);
                    if let Some(ao) = ao {
                        p[ao] = over_alpha(p[ao], a);
                    }
                }
            }
            return;
        }
        let [yv, uv, vv] = rgb_to_yuv(c, self.yuv);
        {
            let luma = &mut self.planes[0];
            for py in y0..y1 {
                let row = &mut luma.data[py * luma.stride + x0..py * luma.stride + x1];
                for (&cov, v) in mask_row(py).iter().zip(row.iter_mut()) {
                    if cov != 0 {
                        *v = mix(*v, yv, scale(cov));
                    }
                }
            }
        }
        let (w, h) = (self.width, self.height);
        let (cx0, cy0, cx1, cy1) = chroma_span(x0, y0, x1, y1);
        for cy in cy0..cy1 {
            let block_alpha = |cx: usize| {
                let (mut sum, mut n) = (0u32, 0u32);
                for py in 2 * cy..(2 * cy + 2).min(h) {
                    for px in 2 * cx..(2 * cx + 2).min(w) {
                        sum += opacity(px, py);
                        n += 1;
                    }
                }
                (sum + n / 2).checked_div(n).unwrap_or(0)
            };
            self.blend_chroma_row(cy, cx0, cx1, block_alpha, uv, vv);
        }
    }
}

/// For tests: a black RGB frame of `w` x `h`, `f` run on its canvas, the
/// pixels returned.
#[cfg(test)]
pub(crate) fn draw_rgb(w: usize, h: usize, f: impl FnOnce(&mut Canvas<'_>)) -> Vec<u8> {
    draw_rgb_on(0, w, h, f)
}

/// For tests: [`draw_rgb`] on a frame whose bytes are all `background`.
#[cfg(test)]
pub(crate) fn draw_rgb_on(
    background: u8,
    w: usize,
    h: usize,
    f: impl FnOnce(&mut Canvas<'_>),
) -> Vec<u8> {
    let mut data = vec![background; w * h * 3];
    let mut c = Canvas::new(
        PixelLayout::Rgb,
        w,
        h,
        vec![PlaneMut {
            data: &mut data,
            stride: w * 3,
        }],
        YuvConversion::default(),
    )
    .expect("a valid RGB canvas");
    f(&mut c);
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::YuvMatrix;

    const BT601: YuvConversion = YuvConversion {
        matrix: YuvMatrix::Bt601,
        full_range: false,
    };

    #[test]
    fn mix_is_exact_at_the_ends_and_rounds() {
        assert_eq!(mix(10, 200, 0), 10);
        assert_eq!(mix(10, 200, 255), 200);
        // 200 * 128 / 255 + 0 = 100.39 -> 100
        assert_eq!(mix(0, 200, 128), 100);
        assert_eq!(over_alpha(0, 128), 128);
        assert_eq!(over_alpha(255, 10), 255);
    }

    #[test]
    fn rect_clip() {
        assert_eq!(Rect::new(-5, -5, 3, 4).clip(10, 10), Some((0, 0, 3, 4)));
        assert_eq!(Rect::new(8, 8, 30, 30).clip(10, 10), Some((8, 8, 10, 10)));
        assert_eq!(Rect::new(10, 0, 12, 5).clip(10, 10), None);
        assert_eq!(Rect::new(3, 3, 3, 9).clip(10, 10), None);
        assert_eq!(
            Rect::new(i64::MIN / 2, 0, i64::MAX / 2, 1).clip(10, 10),
            Some((0, 0, 10, 1))
        );
    }

    #[test]
    fn fill_bgrx_keeps_padding_byte_and_stride_padding() {
        let (w, h, stride) = (5, 3, 24);
        let mut data = vec![0xAAu8; stride * h];
        {
            let mut c = Canvas::new(
                PixelLayout::Bgrx,
                w,
                h,
                vec![PlaneMut {
                    data: &mut data,
                    stride,
                }],
                BT601,
            )
            .unwrap();
            c.fill_rect(Rect::new(-2, 1, 100, 2), Rgb::new(1, 2, 3));
        }
        for y in 0..h {
            for x in 0..stride {
                let v = data[y * stride + x];
                let expected = if y == 1 && x < w * 4 {
                    [3, 2, 1, 0xAA][x % 4]
                } else {
                    0xAA
                };
                assert_eq!(v, expected, "byte {x} of row {y}");
            }
        }
    }

    #[test]
    fn fill_rgba_sets_alpha_and_blend_over() {
        let mut data = vec![0u8; 2 * 4];
        {
            let mut c = Canvas::new(
                PixelLayout::Rgba,
                2,
                1,
                vec![PlaneMut {
                    data: &mut data,
                    stride: 8,
                }],
                BT601,
            )
            .unwrap();
            c.fill_rect(Rect::new(0, 0, 1, 1), Rgb::new(10, 20, 30));
            c.blend_rect(Rect::new(1, 0, 2, 1), Rgb::new(200, 100, 50), 51);
        }
        // 200 * 51 / 255 = 40, 100 * 0.2 = 20, 50 * 0.2 = 10, alpha 51.
        assert_eq!(data, vec![10, 20, 30, 255, 40, 20, 10, 51]);
    }

    #[test]
    fn i420_odd_size_chroma_blocks() {
        // 5x3: chroma 3x2. A 1-pixel line on row 2, columns 3..5, touches
        // chroma blocks (1,1) and (2,1) only.
        let (w, h) = (5, 3);
        let mut y = vec![16u8; w * h];
        let mut u = vec![128u8; 3 * 2];
        let mut v = vec![128u8; 3 * 2];
        {
            let mut c = Canvas::new(
                PixelLayout::I420,
                w,
                h,
                vec![
                    PlaneMut {
                        data: &mut y,
                        stride: w,
                    },
                    PlaneMut {
                        data: &mut u,
                        stride: 3,
                    },
                    PlaneMut {
                        data: &mut v,
                        stride: 3,
                    },
                ],
                BT601,
            )
            .unwrap();
            c.fill_rect(Rect::new(3, 2, 9, 3), Rgb::new(255, 0, 0));
        }
        assert_eq!(
            y,
            vec![16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 81, 81]
        );
        assert_eq!(u, vec![128, 128, 128, 128, 90, 90]);
        assert_eq!(v, vec![128, 128, 128, 128, 240, 240]);
    }

    #[test]
    fn nv12_mask_chroma_is_block_mean() {
        let (w, h) = (4, 2);
        let mut y = vec![16u8; 4 * 2];
        let mut uv = vec![128u8; 4];
        {
            let mut c = Canvas::new(
                PixelLayout::Nv12,
                w,
                h,
                vec![
                    PlaneMut {
                        data: &mut y,
                        stride: 4,
                    },
                    PlaneMut {
                        data: &mut uv,
                        stride: 4,
                    },
                ],
                BT601,
            )
            .unwrap();
            // One opaque pixel at (1, 0): block 0 gets a quarter opacity
            // (255 / 4 = 63.75 -> 64), block 1 nothing.
            let mask = Mask {
                width: 2,
                height: 1,
                data: vec![0, 255],
            };
            c.blend_mask(0, 0, &mask, Rgb::WHITE, 255);
        }
        assert_eq!(y, vec![16, 235, 16, 16, 16, 16, 16, 16]);
        assert_eq!(uv, vec![128, 128, 128, 128]); // white has neutral chroma
        let mut y = vec![16u8; 4 * 2];
        let mut uv = vec![128u8; 4];
        {
            let mut c = Canvas::new(
                PixelLayout::Nv12,
                w,
                h,
                vec![
                    PlaneMut {
                        data: &mut y,
                        stride: 4,
                    },
                    PlaneMut {
                        data: &mut uv,
                        stride: 4,
                    },
                ],
                BT601,
            )
            .unwrap();
            let mask = Mask {
                width: 1,
                height: 1,
                data: vec![255],
            };
            c.blend_mask(1, 0, &mask, Rgb::new(255, 0, 0), 255);
        }
        // U: 128 + (90 - 128) * 64 / 255 = 118.46 -> 118; V: 128 + 112 * 64 / 255 = 156.1 -> 156.
        assert_eq!(uv, vec![118, 156, 128, 128]);
    }

    #[test]
    fn rejects_short_planes() {
        let mut data = vec![0u8; 10];
        let e = Canvas::new(
            PixelLayout::Rgb,
            2,
            2,
            vec![PlaneMut {
                data: &mut data,
                stride: 6,
            }],
            BT601,
        )
        .unwrap_err();
        assert_eq!(
            e,
            FrameError::PlaneTooShort {
                plane: 0,
                len: 10,
                needed: 12,
                stride: 6,
                rows: 2,
            }
        );
        let mut data = vec![0u8; 100];
        assert!(matches!(
            Canvas::new(
                PixelLayout::Rgb,
                4,
                2,
                vec![PlaneMut {
                    data: &mut data,
                    stride: 6,
                }],
                BT601,
            ),
            Err(FrameError::StrideTooSmall { .. })
        ));
    }
}

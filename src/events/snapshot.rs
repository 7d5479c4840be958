// SPDX-License-Identifier: MPL-2.0
//! Track snapshots: a box cropped out of a frame in any of the plugin's
//! formats, reduced to a small RGB image, and encoded as JPEG.
//!
//! The crop is sampled at the nearest pixel (a thumbnail needs no filter),
//! so each output pixel is one source pixel; YUV pixels are converted with
//! the matrix and range of the frame's caps ([`FrameView::yuv`]) by the
//! coefficient table the detector uses ([`YuvToRgb`]).

use crate::frame::{FrameView, PixelLayout, YuvToRgb};

/// A tightly packed 8-bit RGB image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

fn byte(plane: &[u8], offset: usize) -> Option<u8> {
    plane.get(offset).copied()
}

/// Crops `bbox` (`[x1, y1, x2, y2]` in frame pixels, clamped to the frame)
/// and reduces it so that its longer side is at most `max_side`. `None` when
/// the box is empty or a plane is too short for the frame it claims.
pub fn crop_rgb(frame: &FrameView<'_>, bbox: [f64; 4], max_side: u32) -> Option<RgbImage> {
    let yuv = YuvToRgb::new(frame.yuv, 1.0);
    let (fw, fh) = (frame.width as f64, frame.height as f64);
    let clamp = |v: f64, hi: f64| if v.is_finite() { v.clamp(0.0, hi) } else { 0.0 };
    let x1 = clamp(bbox[0], fw).floor() as usize;
    let y1 = clamp(bbox[1], fh).floor() as usize;
    let x2 = clamp(bbox[2], fw).ceil() as usize;
    let y2 = clamp(bbox[3], fh).ceil() as usize;
    if x2 <= x1 || y2 <= y1 || frame.planes.len() < frame.layout.plane_count() {
        return None;
    }
    let (cw, ch) = (x2 - x1, y2 - y1);
    let max_side = max_side.max(1) as usize;
    let scale = (max_side as f64 / cw.max(ch) as f64).min(1.0);
    let ow = ((cw as f64 * scale).round() as usize).clamp(1, cw);
    let oh = ((ch as f64 * scale).round() as usize).clamp(1, ch);
    // Nearest source pixel of each output column and row (pixel centres).
    let xs: Vec<usize> = (0..ow).map(|o| x1 + (2 * o + 1) * cw / (2 * ow)).collect();
    let ys: Vec<usize> = (0..oh).map(|o| y1 + (2 * o + 1) * ch / (2 * oh)).collect();
    let mut data = Vec::with_capacity(ow * oh * 3);
    let p = &frame.planes;
    for &y in &ys {
        for &x in &xs {
            let rgb = match (frame.layout.packed(), frame.layout) {
                (Some((bpp, [r, g, b])), _) => {
                    let o = y * p[0].stride + x * bpp;
                    [
                        byte(p[0].data, o + r)?,
                        byte(p[0].data, o + g)?,
                        byte(p[0].data, o + b)?,
                    ]
                }
                (None, PixelLayout::Nv12) => {
                    let yv = byte(p[0].data, y * p[0].stride + x)?;
                    let o = (y / 2) * p[1].stride + (x / 2) * 2;
                    yuv.pixel(yv, byte(p[1].data, o)?, byte(p[1].data, o + 1)?)
                }
                (None, _) => {
                    let yv = byte(p[0].data, y * p[0].stride + x)?;
                    let u = byte(p[1].data, (y / 2) * p[1].stride + x / 2)?;
                    let v = byte(p[2].data, (y / 2) * p[2].stride + x / 2)?;
                    yuv.pixel(yv, u, v)
                }
            };
            data.extend_from_slice(&rgb);
        }
    }
    Some(RgbImage {
        width: ow as u32,
        height: oh as u32,
        data,
    })
}

/// Encodes an RGB image as a baseline JPEG (`quality` 1..=100).
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, String> {
    let w = u16::try_from(img.width).map_err(|_| "image too wide for JPEG".to_string())?;
    let h = u16::try_from(img.height).map_err(|_| "image too tall for JPEG".to_string())?;
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100))
        .encode(&img.data, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| format!("JPEG encoding failed: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Plane, YuvConversion};

    /// A 10x6 frame: columns 0..6 red (200, 30, 40), 6..10 blue (20, 40, 220)
    /// (the edge on an even column, so that chroma pairs do not straddle it),
    /// in `layout`, rows padded to `pad` extra bytes.
    fn frame_bytes(layout: PixelLayout, pad: usize) -> (Vec<Vec<u8>>, Vec<usize>) {
        let (w, h) = (10usize, 6usize);
        let color = |x: usize| {
            if x < 6 {
                [200u8, 30, 40]
            } else {
                [20, 40, 220]
            }
        };
        match layout.packed() {
            Some((bpp, [r, g, b])) => {
                let stride = w * bpp + pad;
                let mut d = vec![0u8; stride * h];
                for y in 0..h {
                    for x in 0..w {
                        let c = color(x);
                        let o = y * stride + x * bpp;
                        d[o + r] = c[0];
                        d[o + g] = c[1];
                        d[o + b] = c[2];
                    }
                }
                (vec![d], vec![stride])
            }
            None => {
                // BT.601 limited range, from the forward formula (rounded):
                // red (200,30,40) -> Y 86 U 107 V 202, blue (20,40,220) -> Y 63 U 210 V 106.
                let yuv = |x: usize| {
                    if x < 6 {
                        (86u8, 107u8, 202u8)
                    } else {
                        (63, 210, 106)
                    }
                };
                let ys = w + pad;
                let mut yp = vec![0u8; ys * h];
                for y in 0..h {
                    for x in 0..w {
                        yp[y * ys + x] = yuv(x).0;
                    }
                }
                let (cw, chh) = (w / 2, h / 2);
                if layout == PixelLayout::Nv12 {
                    let s = cw * 2 + pad;
                    let mut uv = vec![0u8; s * chh];
                    for y in 0..chh {
                        for x in 0..cw {
                            let (_, u, v) = yuv(2 * x);
                            uv[y * s + 2 * x] = u;
                            uv[y * s + 2 * x + 1] = v;
                        }
                    }
                    (vec![yp, uv], vec![ys, s])
                } else {
                    let s = cw + pad;
                    let mut up = vec![0u8; s * chh];
                    let mut vp = vec![0u8; s * chh];
                    for y in 0..chh {
                        for x in 0..cw {
                            let (_, u, v) = yuv(2 * x);
                            up[y * s + x] = u;
                            vp[y * s + x] = v;
                        }
                    }
                    (vec![yp, up, vp], vec![ys, s, s])
                }
            }
        }
    }

    const ALL: [PixelLayout; 8] = PixelLayout::ALL;

    fn close(a: &[u8], b: [u8; 3], tol: i32) -> bool {
        a.iter()
            .zip(b)
            .all(|(&x, y)| (i32::from(x) - i32::from(y)).abs() <= tol)
    }

    #[test]
    fn crop_in_every_format_with_padded_strides() {
        for layout in ALL {
            for pad in [0, 7] {
                let (planes, strides) = frame_bytes(layout, pad);
                let view = FrameView {
                    yuv: YuvConversion::default(),
                    layout,
                    width: 10,
                    height: 6,
                    planes: planes
                        .iter()
                        .zip(&strides)
                        .map(|(d, &s)| Plane { data: d, stride: s })
                        .collect(),
                };
                // Box straddling the colour edge: x 2..8, y 1..5, no reduction.
                let img = crop_rgb(&view, [2.0, 1.0, 8.0, 5.0], 64)
                    .unwrap_or_else(|| panic!("{layout:?}"));
                assert_eq!((img.width, img.height), (6, 4), "{layout:?}");
                let tol = if layout.is_yuv() { 2 } else { 0 };
                for y in 0..4 {
                    for x in 0..6 {
                        let px = &img.data[(y * 6 + x) * 3..][..3];
                        let want = if x + 2 < 6 {
                            [200, 30, 40]
                        } else {
                            [20, 40, 220]
                        };
                        assert!(
                            close(px, want, tol),
                            "{layout:?} pad {pad} ({x},{y}): {px:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn reduction_keeps_aspect_and_samples_centres() {
        let (planes, strides) = frame_bytes(PixelLayout::Rgb, 0);
        let view = FrameView {
            yuv: YuvConversion::default(),
            layout: PixelLayout::Rgb,
            width: 10,
            height: 6,
            planes: vec![Plane {
                data: &planes[0],
                stride: strides[0],
            }],
        };
        // Whole frame 10x6 to longer side 5: 5x3; columns sample 1,3,5,7,9.
        let img = crop_rgb(&view, [-5.0, -5.0, 50.0, 50.0], 5).unwrap();
        assert_eq!((img.width, img.height), (5, 3));
        let reds: Vec<bool> = (0..5).map(|x| img.data[x * 3] == 200).collect();
        assert_eq!(reds, vec![true, true, true, false, false]);
        assert!(crop_rgb(&view, [4.0, 4.0, 4.0, 9.0], 5).is_none());
        assert!(crop_rgb(&view, [f64::NAN, 0.0, 3.0, 3.0], 5).is_some());
    }

    #[test]
    fn short_plane_is_refused_not_a_panic() {
        let data = vec![0u8; 20];
        let view = FrameView {
            yuv: YuvConversion::default(),
            layout: PixelLayout::Rgb,
            width: 10,
            height: 6,
            planes: vec![Plane {
                data: &data,
                stride: 30,
            }],
        };
        assert!(crop_rgb(&view, [0.0, 0.0, 10.0, 6.0], 64).is_none());
    }

    #[test]
    fn jpeg_has_markers_and_size() {
        let img = RgbImage {
            width: 17,
            height: 9,
            data: vec![128; 17 * 9 * 3],
        };
        let j = encode_jpeg(&img, 80).unwrap();
        assert_eq!(&j[..2], &[0xFF, 0xD8]);
        assert_eq!(&j[j.len() - 2..], &[0xFF, 0xD9]);
        // SOF0: height then width, big endian.
        let sof = j.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        assert_eq!(&j[sof + 5..sof + 9], &[0, 9, 0, 17]);
    }
}

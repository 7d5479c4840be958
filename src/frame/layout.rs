// SPDX-License-Identifier: MPL-2.0
//! How a raw frame lies in memory: [`PixelLayout`], [`Plane`], [`FrameView`]
//! and the checks that let code index a plane without going out of bounds.

use std::fmt;

use super::color::YuvConversion;

/// Memory layout of the incoming frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    /// Packed 8-bit R, G, B (3 bytes per pixel).
    Rgb,
    /// Packed 8-bit B, G, R (3 bytes per pixel).
    Bgr,
    /// Packed R, G, B, A (4 bytes per pixel, alpha ignored).
    Rgba,
    /// Packed B, G, R, A (4 bytes per pixel, alpha ignored).
    Bgra,
    /// Packed R, G, B, x (4 bytes per pixel, padding byte ignored).
    Rgbx,
    /// Packed B, G, R, x (4 bytes per pixel, padding byte ignored).
    Bgrx,
    /// Planar Y + interleaved half-resolution U/V plane (U first).
    Nv12,
    /// Planar Y, U, V; U and V are half resolution (rounded up).
    I420,
}

impl PixelLayout {
    /// Every layout, packed ones first (for code and tests that cover all).
    pub const ALL: [PixelLayout; 8] = [
        PixelLayout::Rgb,
        PixelLayout::Bgr,
        PixelLayout::Rgba,
        PixelLayout::Bgra,
        PixelLayout::Rgbx,
        PixelLayout::Bgrx,
        PixelLayout::Nv12,
        PixelLayout::I420,
    ];

    /// Number of planes [`FrameView::planes`] must hold for this layout.
    pub fn plane_count(self) -> usize {
        match self {
            PixelLayout::Nv12 => 2,
            PixelLayout::I420 => 3,
            _ => 1,
        }
    }

    /// Whether the layout is a YUV (planar) format.
    pub fn is_yuv(self) -> bool {
        matches!(self, PixelLayout::Nv12 | PixelLayout::I420)
    }

    /// For packed layouts: bytes per pixel and byte offsets of R, G and B.
    pub fn packed(self) -> Option<(usize, [usize; 3])> {
        match self {
            PixelLayout::Rgb => Some((3, [0, 1, 2])),
            PixelLayout::Bgr => Some((3, [2, 1, 0])),
            PixelLayout::Rgba | PixelLayout::Rgbx => Some((4, [0, 1, 2])),
            PixelLayout::Bgra | PixelLayout::Bgrx => Some((4, [2, 1, 0])),
            PixelLayout::Nv12 | PixelLayout::I420 => None,
        }
    }
}

/// One plane of a frame: `data` starts at the first byte of the first row and
/// consecutive rows are `stride` bytes apart.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    pub data: &'a [u8],
    pub stride: usize,
}

/// A borrowed video frame.
///
/// planes: packed formats use `planes[0]`; NV12 uses `[Y, UV]`; I420 uses `[Y, U, V]`. Strides may exceed `width*bpp`.
///
/// A plane only needs `stride * (rows - 1) + row_bytes` bytes (the last row
/// may be short of a full stride); bytes between `row_bytes` and `stride` are
/// never read.
///
/// `yuv` says how NV12/I420 samples become RGB (the matrix and range of the
/// negotiated caps; `crate::video::frame_view` fills it in); packed RGB
/// layouts ignore it.
#[derive(Debug, Clone)]
pub struct FrameView<'a> {
    pub layout: PixelLayout,
    pub width: usize,
    pub height: usize,
    pub planes: Vec<Plane<'a>>,
    pub yuv: YuvConversion,
}

/// Why a frame's planes cannot be read (or written) as its layout says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The frame does not carry the number of planes its layout needs.
    WrongPlaneCount {
        layout: PixelLayout,
        expected: usize,
        actual: usize,
    },
    /// A plane's stride is smaller than one row of samples.
    StrideTooSmall {
        plane: usize,
        stride: usize,
        row_bytes: usize,
    },
    /// A plane's data cannot hold `rows` rows of `stride` bytes.
    PlaneTooShort {
        plane: usize,
        len: usize,
        needed: usize,
        stride: usize,
        rows: usize,
    },
    /// The frame has a zero dimension.
    ZeroSize { width: usize, height: usize },
    /// Sizes overflow `usize` (or the 32-bit offsets of the kernels).
    TooLarge,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::WrongPlaneCount {
                layout,
                expected,
                actual,
            } => write!(
                f,
                "{layout:?} frame needs {expected} plane(s), got {actual}"
            ),
            FrameError::StrideTooSmall {
                plane,
                stride,
                row_bytes,
            } => write!(
                f,
                "plane {plane}: stride {stride} is smaller than a row of {row_bytes} bytes"
            ),
            FrameError::PlaneTooShort {
                plane,
                len,
                needed,
                stride,
                rows,
            } => write!(
                f,
                "plane {plane}: {len} bytes is too short for {rows} rows of stride {stride} (needs {needed})"
            ),
            FrameError::ZeroSize { width, height } => {
                write!(f, "frame has a zero dimension ({width}x{height})")
            }
            FrameError::TooLarge => write!(f, "frame dimensions overflow"),
        }
    }
}

impl std::error::Error for FrameError {}

impl PixelLayout {
    /// `(row_bytes, rows)` of each plane of a `width x height` frame: packed
    /// formats one plane of `width * bpp` bytes, NV12 `[Y, UV]`, I420
    /// `[Y, U, V]` with chroma planes `ceil(width / 2) x ceil(height / 2)`.
    pub fn plane_sizes(
        self,
        width: usize,
        height: usize,
    ) -> Result<Vec<(usize, usize)>, FrameError> {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        Ok(match self {
            PixelLayout::Nv12 => vec![(width, height), (2 * cw, ch)],
            PixelLayout::I420 => vec![(width, height), (cw, ch), (cw, ch)],
            other => {
                let bpp = other.packed().map_or(1, |(b, _)| b);
                vec![(width.checked_mul(bpp).ok_or(FrameError::TooLarge)?, height)]
            }
        })
    }

    /// Checks that `planes` (`(len, stride)` of each) are as many as the
    /// layout needs, that each stride holds a row and that each plane holds
    /// `stride * (rows - 1) + row_bytes` bytes (the last row may be short of a
    /// full stride), so that rows can be sliced freely.
    pub fn check_planes(
        self,
        width: usize,
        height: usize,
        planes: impl ExactSizeIterator<Item = (usize, usize)>,
    ) -> Result<(), FrameError> {
        let sizes = self.plane_sizes(width, height)?;
        if planes.len() != sizes.len() {
            return Err(FrameError::WrongPlaneCount {
                layout: self,
                expected: sizes.len(),
                actual: planes.len(),
            });
        }
        for (i, ((len, stride), &(row_bytes, rows))) in planes.zip(&sizes).enumerate() {
            if stride < row_bytes {
                return Err(FrameError::StrideTooSmall {
                    plane: i,
                    stride,
                    row_bytes,
                });
            }
            let needed = if rows == 0 || row_bytes == 0 {
                0
            } else {
                stride
                    .checked_mul(rows - 1)
                    .and_then(|v| v.checked_add(row_bytes))
                    .ok_or(FrameError::TooLarge)?
            };
            if len < needed {
                return Err(FrameError::PlaneTooShort {
                    plane: i,
                    len,
                    needed,
                    stride,
                    rows,
                });
            }
        }
        Ok(())
    }
}

impl FrameView<'_> {
    /// Checks size, plane count, strides and lengths so that readers can
    /// slice rows freely (see [`PixelLayout::check_planes`]).
    pub fn validate(&self) -> Result<(), FrameError> {
        let (w, h) = (self.width, self.height);
        if w == 0 || h == 0 {
            return Err(FrameError::ZeroSize {
                width: w,
                height: h,
            });
        }
        // Column tables hold byte offsets as u32.
        if w.checked_mul(4).is_none_or(|b| b > u32::MAX as usize) || h > u32::MAX as usize {
            return Err(FrameError::TooLarge);
        }
        self.layout
            .check_planes(w, h, self.planes.iter().map(|p| (p.data.len(), p.stride)))
    }
}

impl<'a> Plane<'a> {
    /// Row `y`, `row_bytes` long (empty if the plane is too short).
    #[inline]
    pub fn row(&self, y: usize, row_bytes: usize) -> &'a [u8] {
        let start = y * self.stride;
        self.data.get(start..start + row_bytes).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_sizes_per_layout() {
        assert_eq!(PixelLayout::Rgb.plane_sizes(5, 3), Ok(vec![(15, 3)]));
        assert_eq!(PixelLayout::Bgrx.plane_sizes(5, 3), Ok(vec![(20, 3)]));
        assert_eq!(
            PixelLayout::Nv12.plane_sizes(5, 3),
            Ok(vec![(5, 3), (6, 2)])
        );
        assert_eq!(
            PixelLayout::I420.plane_sizes(5, 3),
            Ok(vec![(5, 3), (3, 2), (3, 2)])
        );
        assert_eq!(
            PixelLayout::Rgb.plane_sizes(usize::MAX, 1),
            Err(FrameError::TooLarge)
        );
    }

    #[test]
    fn check_planes_and_validate() {
        let data = [0u8; 64];
        let view = |layout, w, h, planes: Vec<(usize, usize)>| FrameView {
            layout,
            width: w,
            height: h,
            planes: planes
                .into_iter()
                .map(|(len, stride)| Plane {
                    data: &data[..len],
                    stride,
                })
                .collect(),
            yuv: YuvConversion::default(),
        };
        // 4 rows of stride 14 for 12-byte rows: 3 * 14 + 12 = 54 bytes.
        assert_eq!(
            view(PixelLayout::Rgb, 4, 4, vec![(54, 14)]).validate(),
            Ok(())
        );
        assert_eq!(
            view(PixelLayout::Rgb, 4, 4, vec![(53, 14)]).validate(),
            Err(FrameError::PlaneTooShort {
                plane: 0,
                len: 53,
                needed: 54,
                stride: 14,
                rows: 4
            })
        );
        assert!(matches!(
            view(PixelLayout::Rgb, 4, 4, vec![(64, 11)]).validate(),
            Err(FrameError::StrideTooSmall {
                stride: 11,
                row_bytes: 12,
                ..
            })
        ));
        assert_eq!(
            view(PixelLayout::Nv12, 4, 4, vec![(16, 4)]).validate(),
            Err(FrameError::WrongPlaneCount {
                layout: PixelLayout::Nv12,
                expected: 2,
                actual: 1
            })
        );
        assert_eq!(
            view(PixelLayout::Rgb, 0, 4, vec![(64, 12)]).validate(),
            Err(FrameError::ZeroSize {
                width: 0,
                height: 4
            })
        );
        let e = view(PixelLayout::I420, 5, 3, vec![(15, 5), (6, 3), (5, 3)]).validate();
        assert!(
            matches!(
                e,
                Err(FrameError::PlaneTooShort {
                    plane: 2,
                    needed: 6,
                    ..
                })
            ),
            "{e:?}"
        );
        assert!(e.unwrap_err().to_string().contains("needs 6"));
    }
}

// SPDX-License-Identifier: MPL-2.0
//! The glue between negotiated GStreamer video and the plugin's raw-frame
//! types ([`crate::frame`]), and the caps and pad templates the elements
//! share.
//!
//! [`frame_view`] is the one path from a mapped buffer to a
//! [`FrameView`]: the layout from the caps' format ([`pixel_layout`]) and
//! the YUV matrix and range from the caps' colorimetry ([`yuv_conversion`]).
//! `edgedetect` (pre-processing), `edgeoverlay` (drawing colours) and
//! `edgeevents` (snapshots) all read pixels through it, so the three agree
//! on what a pixel's colour is.

use gst_video::prelude::*;

use crate::frame::{FrameView, PixelLayout, Plane, YuvConversion, YuvMatrix};

/// The raw video formats the analytics elements accept, any size and rate.
pub fn supported_video_caps() -> gst::Caps {
    use gst_video::VideoFormat as F;
    gst_video::VideoCapsBuilder::new()
        .format_list([
            F::Rgb,
            F::Bgr,
            F::Rgba,
            F::Bgra,
            F::Rgbx,
            F::Bgrx,
            F::Nv12,
            F::I420,
        ])
        .build()
}

/// The pixel layout of a raw video format, for the formats of
/// [`supported_video_caps`].
pub fn pixel_layout(format: gst_video::VideoFormat) -> Option<PixelLayout> {
    use PixelLayout as L;
    use gst_video::VideoFormat as F;
    Some(match format {
        F::Rgb => L::Rgb,
        F::Bgr => L::Bgr,
        F::Rgba => L::Rgba,
        F::Bgra => L::Bgra,
        F::Rgbx => L::Rgbx,
        F::Bgrx => L::Bgrx,
        F::Nv12 => L::Nv12,
        F::I420 => L::I420,
        _ => return None,
    })
}

/// How the YUV samples of `info` become RGB: the matrix and range of its
/// colorimetry, as `videoconvert` reads them.
///
/// * Caps without colorimetry, or with one GStreamer cannot use (an unknown
///   matrix, an unknown name): `gst_video_info_from_caps` has already put
///   GStreamer's default for the height in its place (1.20 to 1.22: BT.601 up
///   to 576 rows, BT.709 above; limited range), so that is what we get.
/// * Should a matrix still be unknown (or `rgb` on YUV), it takes that same
///   default, asked of the running GStreamer
///   (`gst_video_info_set_format`), never silently BT.601.
/// * Range: limited for `16_235`, full for `0_255`; an unknown range (e.g.
///   `0:4:0:0`, which GStreamer keeps) is read as full range, as
///   `videoconvert` does (`gst_video_color_range_offsets`).
///
/// For packed RGB formats the value is unused.
pub fn yuv_conversion(info: &gst_video::VideoInfo) -> YuvConversion {
    use gst_video::VideoColorMatrix as M;
    let c = info.colorimetry();
    let matrix = match c.matrix() {
        M::Bt601 => YuvMatrix::Bt601,
        M::Bt709 => YuvMatrix::Bt709,
        M::Bt2020 => YuvMatrix::Bt2020,
        M::Fcc => YuvMatrix::Fcc,
        M::Smpte240m => YuvMatrix::Smpte240m,
        _ => default_matrix(info),
    };
    YuvConversion {
        matrix,
        full_range: c.range() != gst_video::VideoColorRange::Range16_235,
    }
}

/// GStreamer's default YUV matrix for the format and size of `info`.
fn default_matrix(info: &gst_video::VideoInfo) -> YuvMatrix {
    let fallback = YuvConversion::default_for_height(info.height() as usize).matrix;
    let Ok(default) =
        gst_video::VideoInfo::builder(info.format(), info.width(), info.height()).build()
    else {
        return fallback;
    };
    match default.colorimetry().matrix() {
        gst_video::VideoColorMatrix::Bt601 => YuvMatrix::Bt601,
        gst_video::VideoColorMatrix::Bt709 => YuvMatrix::Bt709,
        gst_video::VideoColorMatrix::Bt2020 => YuvMatrix::Bt2020,
        _ => fallback,
    }
}

/// A readable view of a mapped frame in one of the formats of
/// [`supported_video_caps`], with the colorimetry of its caps.
pub fn frame_view<'a>(
    frame: &'a gst_video::VideoFrameRef<&gst::BufferRef>,
) -> Result<FrameView<'a>, String> {
    let layout = pixel_layout(frame.format())
        .ok_or_else(|| format!("unsupported format {:?}", frame.format()))?;
    let strides = frame.plane_stride();
    let mut planes = Vec::with_capacity(frame.n_planes() as usize);
    for i in 0..frame.n_planes() {
        let data = frame
            .plane_data(i)
            .map_err(|e| format!("cannot read plane {i}: {e}"))?;
        let stride =
            usize::try_from(strides[i as usize]).map_err(|_| "negative stride".to_string())?;
        planes.push(Plane { data, stride });
    }
    Ok(FrameView {
        layout,
        width: frame.width() as usize,
        height: frame.height() as usize,
        planes,
        yuv: yuv_conversion(frame.info()),
    })
}

/// Any raw video in any memory, for the elements that never read pixels.
pub fn any_video_caps() -> gst::Caps {
    gst::Caps::builder_full()
        .structure_with_any_features(gst::Structure::new_empty("video/x-raw"))
        .build()
}

/// The always-present `src` and `sink` pad templates of an in-place filter.
pub fn filter_pad_templates(caps: &gst::Caps) -> Vec<gst::PadTemplate> {
    [
        ("src", gst::PadDirection::Src),
        ("sink", gst::PadDirection::Sink),
    ]
    .into_iter()
    .map(|(name, dir)| {
        gst::PadTemplate::new(name, dir, gst::PadPresence::Always, caps)
            .expect("static pad template")
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(caps: &str) -> YuvConversion {
        gst::init().unwrap();
        let caps: gst::Caps = caps.parse().unwrap();
        yuv_conversion(&gst_video::VideoInfo::from_caps(&caps).unwrap())
    }

    fn yuv(matrix: YuvMatrix, full_range: bool) -> YuvConversion {
        YuvConversion { matrix, full_range }
    }

    #[test]
    fn colorimetry_from_caps() {
        let base = "video/x-raw,format=NV12,width=640,height=480";
        let c = |col: &str| conv(&format!("{base},colorimetry={col}"));
        use YuvMatrix::*;
        assert_eq!(c("bt601"), yuv(Bt601, false));
        assert_eq!(c("bt709"), yuv(Bt709, false));
        assert_eq!(c("bt2020"), yuv(Bt2020, false));
        // "range:matrix:transfer:primaries": range 1 = 0_255, 2 = 16_235.
        assert_eq!(c("1:4:16:4"), yuv(Bt601, true));
        assert_eq!(c("1:3:5:1"), yuv(Bt709, true));
        assert_eq!(c("2:6:13:7"), yuv(Bt2020, false));
        assert_eq!(c("1:6:13:7"), yuv(Bt2020, true));
        assert_eq!(c("2:5:0:0"), yuv(Smpte240m, false));
        assert_eq!(c("2:2:0:0"), yuv(Fcc, false));
        // Unknown range: full, as videoconvert reads it.
        assert_eq!(c("0:3:5:1"), yuv(Bt709, true));
    }

    /// What `gst_video_info_from_caps` fills in, whatever the version: BT.601
    /// up to 576 rows, BT.709 above (BT.2020 from 2160 rows in newer
    /// GStreamer, not checked here), limited range; an unknown matrix gets
    /// the same default.
    #[test]
    fn absent_or_unknown_colorimetry_takes_gstreamers_default() {
        let c = |w: u32, h: u32, col: &str| {
            conv(&format!(
                "video/x-raw,format=I420,width={w},height={h}{col}"
            ))
        };
        assert_eq!(c(720, 576, ""), yuv(YuvMatrix::Bt601, false));
        assert_eq!(c(1280, 720, ""), yuv(YuvMatrix::Bt709, false));
        assert_eq!(c(768, 578, ""), yuv(YuvMatrix::Bt709, false));
        assert_eq!(
            c(640, 480, ",colorimetry=2:0:0:0"),
            yuv(YuvMatrix::Bt601, false)
        );
        assert_eq!(
            c(1280, 720, ",colorimetry=2:0:0:0"),
            yuv(YuvMatrix::Bt709, false)
        );
        let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Nv12, 1280, 720)
            .build()
            .unwrap();
        assert_eq!(default_matrix(&info), YuvMatrix::Bt709);
    }

    #[test]
    fn layouts() {
        use gst_video::VideoFormat as F;
        assert_eq!(pixel_layout(F::Nv12), Some(PixelLayout::Nv12));
        assert_eq!(pixel_layout(F::Bgrx), Some(PixelLayout::Bgrx));
        assert_eq!(pixel_layout(F::Yuy2), None);
    }
}

// SPDX-License-Identifier: MPL-2.0
//! Colours: the palette, the colour of an object, RGB → YUV.

use crate::frame::{self, YuvConversion};

/// An 8-bit sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    pub const fn new(r: u8, g: u8, b: u8) -> Self {
        Rgb { r, g, b }
    }

    pub const BLACK: Rgb = Rgb::new(0, 0, 0);
    pub const WHITE: Rgb = Rgb::new(255, 255, 255);

    /// BT.601 luma `0.299 R + 0.587 G + 0.114 B` (0..255), to pick black
    /// or white text on this colour.
    pub fn luma(self) -> f64 {
        0.299 * f64::from(self.r) + 0.587 * f64::from(self.g) + 0.114 * f64::from(self.b)
    }

    /// Black on light colours, white on dark ones.
    pub fn text_color(self) -> Rgb {
        if self.luma() >= 140.0 {
            Rgb::BLACK
        } else {
            Rgb::WHITE
        }
    }
}

/// The object colours, chosen so that neighbours differ in hue and every
/// one is bright enough to stand out on video. Documented in
/// `docs/edgeoverlay.md`; change both together.
pub const PALETTE: [Rgb; 16] = [
    Rgb::new(255, 64, 64),   // red
    Rgb::new(64, 200, 64),   // green
    Rgb::new(64, 128, 255),  // blue
    Rgb::new(255, 200, 0),   // amber
    Rgb::new(200, 64, 255),  // violet
    Rgb::new(0, 220, 220),   // cyan
    Rgb::new(255, 128, 0),   // orange
    Rgb::new(255, 64, 200),  // pink
    Rgb::new(160, 230, 0),   // lime
    Rgb::new(0, 160, 255),   // sky blue
    Rgb::new(255, 255, 64),  // yellow
    Rgb::new(128, 96, 255),  // indigo
    Rgb::new(0, 200, 140),   // teal
    Rgb::new(255, 150, 150), // salmon
    Rgb::new(190, 150, 90),  // tan
    Rgb::new(230, 230, 230), // light grey
];

/// FNV-1a, 64 bit: a hash that is the same on every run and every machine
/// (std's `DefaultHasher` makes no such promise).
fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The colour of an object: `PALETTE[track_id % 16]` for a tracked object,
/// else `PALETTE[class_id % 16]`, else (no class id, `class_id < 0`) a
/// stable hash of the label.
pub fn object_color(track_id: Option<u64>, class_id: i32, label: &str) -> Rgb {
    let n = PALETTE.len() as u64;
    let index = match (track_id, u64::try_from(class_id)) {
        (Some(id), _) => id % n,
        (None, Ok(class)) => class % n,
        (None, Err(_)) => fnv1a(label) % n,
    };
    PALETTE[index as usize]
}

/// A colour as Y, U (Cb), V (Cr) for `conv` ([`frame::rgb_to_yuv`]).
pub fn rgb_to_yuv(c: Rgb, conv: YuvConversion) -> [u8; 3] {
    frame::rgb_to_yuv([c.r, c.g, c.b], conv)
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
    fn bt601_limited_range_primaries() {
        // The usual BT.601 studio-range values of 100% colour bars, worked
        // by hand: red Y = 16 + 219 * 0.299 = 81.48, Cb = 128 - 224 * 0.299 / 1.772.
        assert_eq!(rgb_to_yuv(Rgb::WHITE, BT601), [235, 128, 128]);
        assert_eq!(rgb_to_yuv(Rgb::BLACK, BT601), [16, 128, 128]);
        assert_eq!(rgb_to_yuv(Rgb::new(255, 0, 0), BT601), [81, 90, 240]);
        assert_eq!(rgb_to_yuv(Rgb::new(0, 255, 0), BT601), [145, 54, 34]);
        assert_eq!(rgb_to_yuv(Rgb::new(0, 0, 255), BT601), [41, 240, 110]);
        assert_eq!(rgb_to_yuv(Rgb::new(255, 255, 0), BT601), [210, 16, 146]);
    }

    #[test]
    fn full_range_and_bt709() {
        let full = YuvConversion {
            matrix: YuvMatrix::Bt601,
            full_range: true,
        };
        assert_eq!(rgb_to_yuv(Rgb::WHITE, full), [255, 128, 128]);
        assert_eq!(rgb_to_yuv(Rgb::BLACK, full), [0, 128, 128]);
        // JPEG/JFIF: red -> Y 76.245, Cb 84.97, Cr 255.5 (clamped).
        assert_eq!(rgb_to_yuv(Rgb::new(255, 0, 0), full), [76, 85, 255]);
        let bt709 = YuvConversion {
            matrix: YuvMatrix::Bt709,
            full_range: false,
        };
        // BT.709 red: Y = 16 + 219 * 0.2126 = 62.56, Cb = 128 - 224 * 0.2126 / 1.8556 = 102.34.
        assert_eq!(rgb_to_yuv(Rgb::new(255, 0, 0), bt709), [63, 102, 240]);
    }

    #[test]
    fn object_colours_are_stable() {
        // Track id wins over class; wraps around the palette.
        assert_eq!(object_color(Some(3), 0, "person"), Rgb::new(255, 200, 0));
        assert_eq!(object_color(Some(19), 5, "bus"), Rgb::new(255, 200, 0));
        assert_eq!(object_color(None, 0, "person"), Rgb::new(255, 64, 64));
        assert_eq!(object_color(None, 17, "dog"), Rgb::new(64, 200, 64));
        // No class id: by label, the same every time, different labels differ here.
        let face = object_color(None, -1, "face");
        assert_eq!(face, object_color(None, -1, "face"));
        assert_ne!(face, object_color(None, -1, "plate"));
        // FNV-1a of "a" is 0xaf63dc4c8601ec8c (published test vector): 0x...c % 16 = 12.
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(object_color(None, -1, "a"), PALETTE[12]);
    }

    #[test]
    fn text_colour_contrasts() {
        assert_eq!(Rgb::new(255, 200, 0).text_color(), Rgb::BLACK);
        assert_eq!(Rgb::new(64, 128, 255).text_color(), Rgb::WHITE);
    }
}

// SPDX-License-Identifier: MPL-2.0
//! The README's headline pipeline into a real window: `edgedetect !
//! edgetrack ! edgeoverlay ! autovideosink` on a virtual X server (Xvfb),
//! then a screenshot of the screen (`xwd -root`) in which each box that
//! `edgejson` reports is drawn in the overlay's colour for its track. On a
//! machine without a video sink plugin (`gstreamer1.0-x`), GStreamer 1.22's
//! `autovideosink` crashes instead of failing: this test catches it.
//! Needs `Xvfb` (Debian `xvfb`) and `xwd` (`x11-apps`), installed by
//! scripts/setup.sh; a missing one fails the test.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A child process killed (and reaped) when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb on a free display number (no lock file in /tmp).
fn xvfb() -> (Killed, String) {
    let n = (100 + std::process::id() % 400..600)
        .find(|n| {
            !std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })
        .expect("a free X display number");
    let child = Command::new("Xvfb")
        .args([
            &format!(":{n}"),
            "-screen",
            "0",
            "640x480x24",
            "-br",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb (Debian package xvfb, installed by scripts/setup.sh)");
    let child = Killed(child);
    // Ready when its socket accepts connections.
    let socket = format!("/tmp/.X11-unix/X{n}");
    let start = Instant::now();
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "Xvfb :{n} does not accept connections"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, format!(":{n}"))
}

/// An X window dump (`xwd`, ZPixmap, 32 bits per pixel): width, height and
/// RGB pixels.
fn read_xwd(data: &[u8]) -> (usize, usize, Vec<[u8; 3]>) {
    let u = |i: usize| u32::from_be_bytes(data[4 * i..4 * i + 4].try_into().unwrap()) as usize;
    let (header, format, width, height) = (u(0), u(2), u(4), u(5));
    let (byte_order, bpp, line) = (u(7), u(11), u(12));
    let (rmask, gmask, bmask) = (u(15), u(16), u(17));
    let ncolors = u(19);
    assert_eq!((format, bpp), (2, 32), "not a 32-bit ZPixmap dump");
    let start = header + 12 * ncolors;
    let channel = |px: u32, mask: usize| ((px as usize & mask) >> mask.trailing_zeros()) as u8;
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let at = start + y * line + 4 * x;
            let b: [u8; 4] = data[at..at + 4].try_into().unwrap();
            let px = if byte_order == 0 {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            };
            pixels.push([channel(px, rmask), channel(px, gmask), channel(px, bmask)]);
        }
    }
    (width, height, pixels)
}

#[test]
fn headline_pipeline_draws_boxes_in_a_real_window() {
    let (_xvfb, display) = xvfb();
    let dir = temp_dir("display");
    let json = dir.join("out.jsonl");
    // A grey picture (so the window stands out from the black root), and a
    // model that finds a person and a car on every frame.
    let desc = format!(
        "videotestsrc is-live=true pattern=solid-color foreground-color=0xff808080 \
         ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert \
         ! edgedetect model={} ! edgetrack ! edgejson location={} ! edgeoverlay ! autovideosink",
        test_models_dir().join("yolox_tiny.onnx").display(),
        json.display()
    );
    let mut launch = Killed(
        gst_child_env(&mut Command::new("gst-launch-1.0"), "display-registry.bin")
            .args(desc.split_whitespace())
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gst-launch-1.0"),
    );
    // Wait for 30 frames through the pipeline (the window then shows them).
    let start = Instant::now();
    loop {
        if let Some(status) = launch.0.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut launch.0.stderr.take().unwrap(), &mut err).ok();
            panic!("gst-launch-1.0 ended ({status}) before playing: {err}");
        }
        let lines = std::fs::read_to_string(&json)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 30 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no frames within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let shot = Command::new("xwd")
        .args(["-root", "-silent", "-display", &display])
        .output()
        .expect("xwd (Debian package x11-apps, installed by scripts/setup.sh)");
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    drop(launch);
    let (w, h, px) = read_xwd(&shot.stdout);
    assert_eq!((w, h), (640, 480));

    // The window: the bounding box of the grey pixels (the video's size).
    let grey = [128u8, 128, 128];
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if px[y * w + x] == grey {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            }
        }
    }
    assert_eq!(
        (x1.saturating_sub(x0), y1.saturating_sub(y0)),
        (320, 240),
        "no 320x240 window"
    );

    // Each box of the last frame: its left edge, half-way down, in the colour
    // of its track (within 2 px of the edgejson coordinate).
    let frames = read_jsonl(&json);
    let objects = frames.last().unwrap()["objects"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(objects.len(), 2, "{objects:?}");
    for o in &objects {
        let track = o["track_id"].as_u64().expect("a tracked object");
        let c = gstedgeai::draw::object_color(
            Some(track),
            o["class_id"].as_i64().unwrap() as i32,
            o["label"].as_str().unwrap(),
        );
        let colour = [c.r, c.g, c.b];
        let b = as_box(&o["box"]);
        let (bx, by) = (
            x0 + b[0].round() as usize,
            y0 + ((b[1] + b[3]) / 2.0) as usize,
        );
        let found = (by - 2..=by + 2)
            .any(|y| (bx.saturating_sub(2)..=bx + 2).any(|x| px[y * w + x] == colour));
        assert!(found, "no {colour:?} border at ({bx}, {by}) for {o}");
        // And the whole box outline is there: at least its perimeter in pixels.
        let perimeter = 2.0 * ((b[2] - b[0]) + (b[3] - b[1]));
        let n = px.iter().filter(|&&p| p == colour).count();
        assert!(n as f64 >= perimeter, "{n} {colour:?} pixels, box {b:?}");
    }
}

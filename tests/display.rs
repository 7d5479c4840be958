// SPDX-License-Identifier: MPL-2.0
//! The README's headline pipeline into a real window: `edgedetect !
//! edgetrack ! edgeoverlay ! autovideosink` on a virtual X server (Xvfb),
//! playing 30 frames, then a screenshot of the screen with the boxes drawn
//! in the window. On a machine without a video sink plugin
//! (`gstreamer1.0-x`), GStreamer 1.22's `autovideosink` crashes instead of
//! failing: this test catches it. The screenshot is Xvfb's own frame
//! buffer (`-fbdir`: the screen kept in a file in XWD format, what `xwd
//! -root` writes), so no other tool is needed. Needs `Xvfb` (Debian `xvfb`,
//! installed by scripts/setup.sh); a missing one fails the test.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A child process stopped (SIGTERM, then SIGKILL after 2 s) and reaped
/// when dropped; SIGTERM lets Xvfb remove its lock file and socket.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid, not yet reaped.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        while matches!(self.0.try_wait(), Ok(None)) && start.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb, its screen kept in `dir/Xvfb_screen0` and its log in
/// `dir/xvfb.log`. Xvfb picks a free display number itself and writes it
/// (`-displayfd`) once it accepts clients: no race with other X servers.
fn xvfb(dir: &std::path::Path) -> (Killed, String) {
    let log = std::fs::File::create(dir.join("xvfb.log")).expect("xvfb.log");
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "640x480x24",
            "-br",
            "-nolisten",
            "tcp",
            "-fbdir",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("Xvfb (Debian package xvfb, installed by scripts/setup.sh)");
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
    let n: u32 = line.trim().parse().unwrap_or_else(|_| {
        panic!(
            "Xvfb gave no display number within 20 s; its log: {}",
            std::fs::read_to_string(dir.join("xvfb.log")).unwrap_or_default()
        )
    });
    (child, format!(":{n}"))
}

#[test]
fn headline_pipeline_plays_into_a_real_window() {
    let dir = temp_dir("display");
    let (_xvfb, display) = xvfb(&dir);
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
            let xlog = std::fs::read_to_string(dir.join("xvfb.log")).unwrap_or_default();
            panic!("gst-launch-1.0 ended ({status}) before playing: {err}\nXvfb's log: {xlog}");
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
    // Still running: autovideosink found a real sink (without
    // gstreamer1.0-x, GStreamer 1.22's autovideosink crashes here).
    assert!(
        launch.0.try_wait().unwrap().is_none(),
        "gst-launch-1.0 ended"
    );
    let frames = read_jsonl(&json);
    assert!(frames.len() >= 30);
    assert!(
        frames
            .iter()
            .all(|f| f["objects"].as_array().is_some_and(|o| o.len() == 2)),
        "the two objects on every frame"
    );

    // The screen while the video plays: the window (the grey picture) with
    // each object's box drawn in its colour where edgejson says it is. Every
    // frame is the same picture, so any moment after the first frames will do.
    // On a loaded machine the sink may show its first frame a little later:
    // wait up to 10 s for the window to appear.
    let grey = [128, 128, 128];
    let start = Instant::now();
    let (screen, window) = loop {
        let screen = Screen::read_xwd(&dir.join("Xvfb_screen0"));
        let window = screen.bounding_box(grey);
        if window.is_some_and(|(_, _, w, h)| (w, h) == (320, 240))
            || start.elapsed() > Duration::from_secs(10)
        {
            break (screen, window);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    launch.0.kill().ok();
    let (x0, y0, w, h) =
        window.expect("no grey pixel on the screen: the window is not shown (black screen)");
    assert_eq!(
        (w, h),
        (320, 240),
        "the window (the grey picture) is at ({x0}, {y0}) and {w}x{h}, expected 320x240"
    );
    let grey_count = (y0..y0 + h)
        .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
        .filter(|&(x, y)| near(screen.at(x, y), grey))
        .count();
    assert!(
        grey_count > w * h / 2,
        "only {grey_count} of the window's {} pixels show the picture",
        w * h
    );
    for object in frames.last().unwrap()["objects"].as_array().unwrap() {
        // `src/draw/color.rs`: a tracked object is drawn in PALETTE[track_id % 16];
        // the tracker numbers the two objects 1 and 2.
        let track = object["track_id"].as_u64().expect("a track id");
        let color = match track {
            1 => [64, 200, 64],  // PALETTE[1], green
            2 => [64, 128, 255], // PALETTE[2], blue
            other => panic!("track id {other}, expected 1 or 2"),
        };
        let b: Vec<usize> = object["box"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as usize)
            .collect();
        let (x1, y1, x2, y2) = (x0 + b[0], y0 + b[1], x0 + b[2] - 1, y0 + b[3] - 1);
        let (xm, ym) = ((x1 + x2) / 2, (y1 + y2) / 2);
        // Each edge, at its middle: the box's colour within 3 pixels across it.
        let edges = [
            (
                "left",
                (x1.saturating_sub(3)..=x1 + 3)
                    .map(|x| (x, ym))
                    .collect::<Vec<_>>(),
            ),
            ("right", (x2 - 3..=x2 + 3).map(|x| (x, ym)).collect()),
            (
                "top",
                (y1.saturating_sub(3)..=y1 + 3).map(|y| (xm, y)).collect(),
            ),
            ("bottom", (y2 - 3..=y2 + 3).map(|y| (xm, y)).collect()),
        ];
        for (edge, points) in edges {
            assert!(
                points.iter().any(|&(x, y)| near(screen.at(x, y), color)),
                "track {track}: no {color:?} on the {edge} edge of the box {b:?} \
                 (window at ({x0}, {y0})); seen {:?}",
                points
                    .iter()
                    .map(|&(x, y)| screen.at(x, y))
                    .collect::<Vec<_>>()
            );
        }
        // Drawn as an outline: the inside shows the picture.
        assert!(
            near(screen.at(xm, ym), grey),
            "track {track}: the box's centre is {:?}, not the picture",
            screen.at(xm, ym)
        );
    }
}

/// Each channel within 8 of the expected value.
fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(&a, b)| a.abs_diff(b) <= 8)
}

/// A screenshot: RGB pixels, row by row.
struct Screen {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

impl Screen {
    /// Reads an XWD file (`X11/XWDFile.h`): a header of big-endian 32-bit
    /// fields (header size, version 7, pixmap format, depth, width, height,
    /// x offset, byte order, bitmap unit, bit order, pad, bits per pixel,
    /// bytes per line, visual class, red, green and blue masks, bits per
    /// RGB, colour map entries, number of colours, ...) and the window
    /// name, then `ncolors` 12-byte colour entries, then the pixels. Only
    /// 32 bits per pixel with direct masks (a 24-bit Xvfb screen).
    fn read_xwd(path: &std::path::Path) -> Screen {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        assert!(data.len() >= 100, "{}: no XWD header", path.display());
        let field = |i: usize| u32::from_be_bytes(data[4 * i..4 * i + 4].try_into().unwrap());
        assert_eq!(field(1), 7, "XWD version");
        let (width, height) = (field(4) as usize, field(5) as usize);
        let (byte_order, bits_per_pixel, bytes_per_line) =
            (field(7), field(11), field(12) as usize);
        let masks = [field(14), field(15), field(16)];
        assert_eq!(bits_per_pixel, 32, "XWD: {bits_per_pixel} bits per pixel");
        let start = field(0) as usize + 12 * field(19) as usize;
        assert!(
            data.len() >= start + bytes_per_line * height,
            "{}: XWD shorter than its header says",
            path.display()
        );
        let mut rgb = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                let o = start + y * bytes_per_line + 4 * x;
                let bytes: [u8; 4] = data[o..o + 4].try_into().unwrap();
                // Byte order 0: LSBFirst.
                let p = if byte_order == 0 {
                    u32::from_le_bytes(bytes)
                } else {
                    u32::from_be_bytes(bytes)
                };
                rgb.push(masks.map(|m| ((p & m) >> m.trailing_zeros()) as u8));
            }
        }
        Screen { width, height, rgb }
    }

    /// The pixel at `(x, y)`; black outside the screen.
    fn at(&self, x: usize, y: usize) -> [u8; 3] {
        if x < self.width && y < self.height {
            self.rgb[y * self.width + x]
        } else {
            [0, 0, 0]
        }
    }

    /// `(x, y, width, height)` of the pixels near `color`, if any.
    fn bounding_box(&self, color: [u8; 3]) -> Option<(usize, usize, usize, usize)> {
        let mut b: Option<(usize, usize, usize, usize)> = None;
        for y in 0..self.height {
            for x in 0..self.width {
                if near(self.at(x, y), color) {
                    let (x1, y1, x2, y2) = b.unwrap_or((x, y, x, y));
                    b = Some((x1.min(x), y1.min(y), x2.max(x), y2.max(y)));
                }
            }
        }
        b.map(|(x1, y1, x2, y2)| (x1, y1, x2 - x1 + 1, y2 - y1 + 1))
    }
}

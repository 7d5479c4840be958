// SPDX-License-Identifier: MPL-2.0
//! The README's headline pipeline into a real window: `edgedetect !
//! edgetrack ! edgeoverlay ! autovideosink` on a virtual X server (Xvfb),
//! playing 30 frames. On a machine without a video sink plugin
//! (`gstreamer1.0-x`), GStreamer 1.22's `autovideosink` crashes instead of
//! failing: this test catches it. (A screenshot check of the drawn boxes,
//! `xwd -root`, is not done yet: under Xvfb without a window manager the
//! dump came back black.) Needs `Xvfb` (Debian `xvfb`, installed by
//! scripts/setup.sh); a missing one fails the test.

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

#[test]
fn headline_pipeline_plays_into_a_real_window() {
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
}

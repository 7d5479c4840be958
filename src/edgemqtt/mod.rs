// SPDX-License-Identifier: MPL-2.0
//! `edgemqtt`: publishes what the pipeline sees, live, to an MQTT broker.
//!
//! A pass-through element (buffers are not changed). For every frame, or
//! every `every-n-frames` frames, or at most once per `interval` ms of
//! running time, it publishes the frame's objects on
//! `PREFIX/STREAM/detections` with the same JSON as one line of `edgejson`:
//!
//! ```json
//! {"frame": 0, "pts": 0, "width": 768, "height": 576, "inferred": true,
//!  "objects": [{"label": "person", "class_id": 0, "confidence": 0.87,
//!               "box": [x1, y1, x2, y2], "track_id": 3, "state": "tracked"}]}
//! ```
//!
//! Live data is worth less than a blocked pipeline: messages go through a
//! bounded queue (`queue-size`) to a background connection thread; when the
//! broker is slow or away the message is dropped and counted (`dropped`,
//! and a warning at the start of each streak of drops), and the streaming
//! thread never waits. QoS 0 by default.
//!
//! `PREFIX/STREAM/status` is retained: `{"state": "running", ...}` on each
//! connection, `{"state": "stopped", ...}` with the counts when the element
//! stops, and `{"state": "offline", ...}` as the last will, which the broker
//! publishes when the device dies or loses the network.
//!
//! ```text
//! gst-launch-1.0 v4l2src ! videoconvert ! \
//!     edgedetect model=yolox_nano.onnx labels=coco.names ! edgetrack ! \
//!     edgemqtt url=mqtt://broker.local/edgeai stream-id=door interval=500 ! fakesink
//! ```
//!
//! Durable events (tracks, counts) go through `edgeevents` with an
//! `mqtt://` `sync-url` instead: at-least-once from SQLite. See
//! `docs/mqtt.md`.
//!
//! Why an element and not an `edgejson` target: the two fail differently.
//! `edgejson` writes every line or posts an error; a live publisher must
//! drop instead, and it needs a broker, credentials, TLS files, a rate and
//! a status topic that a file writer has no use for.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct EdgeMqtt(ObjectSubclass<imp::EdgeMqtt>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "edgemqtt",
        gst::Rank::NONE,
        EdgeMqtt::static_type(),
    )
}

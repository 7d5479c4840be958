// SPDX-License-Identifier: MPL-2.0
//! MQTT benchmark: what one event costs to sync, and what one live message
//! costs the pipeline, against a Mosquitto started here on loopback (Debian
//! package `mosquitto`).
//!
//!     cargo bench --bench mqtt [-- --rounds 5 --events 2000 --frames 2000]
//!
//! Per round, alternating:
//! 1. `sync mqtt`: `--events` count events already in an SQLite store
//!    (written beforehand, not timed) synced as the sync thread does it:
//!    `unsynced(100)`, `MqttTransport::send` (one QoS 1 message each, wait
//!    for every PUBACK), `mark_synced`. `sync http`: the same rows through
//!    `HttpTransport` to a `tiny_http` server on loopback answering 200.
//!    Wall time and process CPU time (`getrusage`, all threads: SQLite, the
//!    client; the broker and the HTTP server thread are another process or
//!    counted too, see below) per event.
//! 2. `edgemqtt`: `--frames` buffers with 2 objects through `edgemqtt`
//!    (QoS 0, queue large enough to drop nothing) in a Harness, minus the
//!    same through `identity`: the streaming thread's wall time per message;
//!    and the process CPU per message (the streaming thread plus the
//!    publisher thread), after waiting until every message left.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstedgeai::events::store::{CountRecord, Store, Synchronous};
use gstedgeai::events::sync::{HttpTransport, Transport};
use gstedgeai::events::sync_mqtt::MqttTransport;
use gstedgeai::meta::{self, Object};
use gstedgeai::mqtt::{BrokerConfig, BrokerUrl};

mod common;
use common::{arg, median};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn broker(dir: &std::path::Path) -> (Broker, u16) {
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"),
    )
    .unwrap();
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto (Debian package mosquitto)");
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "mosquitto did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (Broker(child), port)
}

/// Process CPU time (all threads), seconds.
fn process_cpu() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 * 1e-6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn fill_store(path: &std::path::Path, events: usize) -> Store {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("db-wal"));
    let _ = std::fs::remove_file(path.with_extension("db-shm"));
    let mut s = Store::open(path, "bench", Synchronous::Normal).unwrap();
    s.begin_run().unwrap();
    s.write(|b| {
        for i in 0..events {
            b.insert_count(&CountRecord {
                label: if i % 2 == 0 { "person" } else { "car" }.into(),
                start_time: 1_700_000_000_000 + i as i64 * 1000,
                end_time: 1_700_000_000_999 + i as i64 * 1000,
                start_rt: Some(i as u64 * 1_000_000_000),
                end_rt: Some((i as u64 + 1) * 1_000_000_000),
                frames: 30,
                max_count: 3,
                mean_count: 1.25,
                tracks: Some(4),
            })?;
        }
        Ok(())
    })
    .unwrap();
    s
}

/// (wall µs, CPU µs) per event for syncing every row of the store.
fn sync_all(store: &mut Store, t: &mut dyn Transport, events: usize) -> (f64, f64) {
    let cpu = process_cpu();
    let start = Instant::now();
    let mut n = 0;
    loop {
        let rows = store.unsynced(100).unwrap();
        if rows.is_empty() {
            break;
        }
        t.send(store.database_id(), store.stream_id(), &rows)
            .expect("send");
        let ids: Vec<_> = rows.iter().map(|r| (r.table, r.id)).collect();
        store.mark_synced(&ids).unwrap();
        n += rows.len();
    }
    assert_eq!(n, events);
    (
        start.elapsed().as_secs_f64() * 1e6 / n as f64,
        (process_cpu() - cpu) * 1e6 / n as f64,
    )
}

fn objects() -> Vec<Object> {
    vec![
        Object::new("person", 0, 0.87, [12.0, 12.0, 28.0, 44.0]),
        Object::new("car", 2, 0.81, [36.0, 32.0, 60.0, 48.0]),
    ]
}

/// (wall µs on the streaming thread, process CPU µs) per buffer.
fn element(factory: &str, url: &str, frames: usize) -> (f64, f64) {
    let el = gst::ElementFactory::make(factory).build().unwrap();
    if factory == "edgemqtt" {
        el.set_property("url", url);
        el.set_property("queue-size", 1_000_000u32);
    }
    let mut h = gst_check::Harness::with_element(&el, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=I420,width=64,height=64,framerate=30/1");
    h.play();
    let objects = objects();
    let bufs: Vec<gst::Buffer> = (0..frames)
        .map(|i| {
            let mut buf = gst::Buffer::with_size(64 * 64 * 3 / 2).unwrap();
            let b = buf.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_mseconds(i as u64 * 33));
            for o in &objects {
                meta::add_object(b, o, 64, 64);
            }
            buf
        })
        .collect();
    let cpu = process_cpu();
    let start = Instant::now();
    for b in bufs {
        drop(h.push_and_pull(b).expect("push"));
    }
    let wall = start.elapsed().as_secs_f64() * 1e6 / frames as f64;
    if factory == "edgemqtt" {
        // Until the publisher thread sent everything.
        let t = Instant::now();
        while el.property::<u64>("published") < frames as u64
            && t.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(el.property::<u64>("dropped"), 0);
    }
    let cpu = (process_cpu() - cpu) * 1e6 / frames as f64;
    drop(h);
    (wall, cpu)
}

fn main() {
    gst::init().expect("gst::init");
    gstedgeai::plugin_register_static().expect("register");
    let rounds = arg("--rounds", 5).max(1);
    let events = arg("--events", 2000).max(1);
    let frames = arg("--frames", 2000).max(1);
    let dir = std::env::temp_dir().join(format!("edgeai-mqtt-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (_broker, port) = broker(&dir);
    let url = format!("mqtt://127.0.0.1:{port}/bench");

    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let http_url = format!("http://{}/events", server.server_addr().to_ip().unwrap());
    std::thread::spawn(move || {
        for mut r in server.incoming_requests() {
            let mut body = Vec::new();
            let _ = r.as_reader().read_to_end(&mut body);
            let _ = r.respond(tiny_http::Response::empty(200));
        }
    });

    let mut mqtt_t = MqttTransport::new(
        BrokerConfig::new(BrokerUrl::parse(&url).unwrap(), "bench".into()),
        100,
    )
    .unwrap();
    let mut http_t = HttpTransport::new(http_url);
    let db = dir.join("events.db");
    // Figures: sync mqtt, sync http, edgemqtt, identity; (wall, cpu) each.
    let mut r: Vec<(Vec<f64>, Vec<f64>)> = vec![(vec![], vec![]); 4];
    // Warm-up.
    let mut s = fill_store(&db, 100);
    sync_all(&mut s, &mut mqtt_t, 100);
    element("edgemqtt", &url, 100);
    for _ in 0..rounds {
        let mut s = fill_store(&db, events);
        let a = sync_all(&mut s, &mut mqtt_t, events);
        let mut s = fill_store(&db, events);
        let b = sync_all(&mut s, &mut http_t, events);
        let c = element("edgemqtt", &url, frames);
        let d = element("identity", &url, frames);
        for (slot, (w, cpu)) in r.iter_mut().zip([a, b, c, d]) {
            slot.0.push(w);
            slot.1.push(cpu);
        }
    }
    let m = |i: usize| (median(&r[i].0), median(&r[i].1));
    let (a, b, c, d) = (m(0), m(1), m(2), m(3));
    println!("median of {rounds} rounds; µs per event / message, wall / process CPU");
    println!("sync mqtt (QoS 1, batches of 100): {:.1} / {:.1}", a.0, a.1);
    println!("sync http (batches of 100):        {:.1} / {:.1}", b.0, b.1);
    println!("edgemqtt per frame (2 objects):    {:.1} / {:.1}", c.0, c.1);
    println!("identity per frame:                {:.1} / {:.1}", d.0, d.1);
    println!(
        "edgemqtt - identity:               {:.1} / {:.1}",
        c.0 - d.0,
        c.1 - d.1
    );
    let _ = std::fs::remove_dir_all(&dir);
}

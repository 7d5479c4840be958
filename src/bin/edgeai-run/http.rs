// SPDX-License-Identifier: MPL-2.0
//! The statistics endpoint: a `tiny_http` server on its own thread that
//! serves the latest snapshot the main loop published.
//!
//! - `GET /` and `GET /stats`: the snapshot as JSON (`docs/edgeai-run.md`).
//! - `GET /health`: `200 {"state":"running"}` while the pipeline runs,
//!   `503` with the state otherwise (starting, restarting, stopping).
//!
//! Read-only and unauthenticated: bind it to a loopback address unless the
//! network around the device is trusted.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tiny_http::{Header, Method, Response, Server};

/// What the main loop publishes for the endpoint.
#[derive(Debug, Default, Clone)]
pub struct Published {
    pub json: String,
    pub state: String,
}

pub type SharedStats = Arc<Mutex<Published>>;

/// Binds `addr` and serves in a background thread; returns the bound address
/// (the real port when `addr` has port 0).
pub fn serve(addr: SocketAddr, shared: SharedStats) -> Result<SocketAddr, String> {
    let server = Server::http(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = server.server_addr().to_ip().unwrap_or(addr);
    std::thread::Builder::new()
        .name("stats-http".into())
        .spawn(move || {
            for request in server.incoming_requests() {
                let (code, body) = route(request.method(), request.url(), &shared);
                let mut response = Response::from_string(body).with_status_code(code);
                if let Ok(h) = Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]) {
                    response = response.with_header(h);
                }
                // A client that went away is no concern of the runner.
                let _ = request.respond(response);
            }
        })
        .map_err(|e| format!("cannot start the stats thread: {e}"))?;
    Ok(bound)
}

fn route(method: &Method, url: &str, shared: &SharedStats) -> (u16, String) {
    if *method != Method::Get && *method != Method::Head {
        return (405, r#"{"error":"only GET"}"#.into());
    }
    let path = url.split('?').next().unwrap_or("");
    let p = shared.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match path {
        "/" | "/stats" => (200, p.json),
        "/health" => {
            let body = serde_json::json!({ "state": p.state }).to_string();
            (if p.state == "running" { 200 } else { 503 }, body)
        }
        _ => (
            404,
            r#"{"error":"not found: use /stats or /health"}"#.into(),
        ),
    }
}

// SPDX-License-Identifier: MPL-2.0
//! Durable events for `edgeevents`, without GStreamer: the per-frame
//! bookkeeping ([`book`]), the SQLite store ([`store`]), the writer thread
//! ([`writer`]), the upstream sync ([`sync`], over HTTP or MQTT: [`sync_mqtt`]) and track snapshots
//! ([`snapshot`]). See `docs/edgeevents.md` for the schema and the guarantees.

pub mod book;
pub mod snapshot;
pub mod store;
pub mod sync;
pub mod sync_mqtt;
pub mod writer;

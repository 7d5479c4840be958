// SPDX-License-Identifier: MPL-2.0
//! MQTT without GStreamer: broker URLs (`mqtt://` and `mqtts://`), the
//! connection options of the `rumqttc` client (credentials, TLS with rustls
//! and ring, last will), clear messages for connection errors, and the
//! non-blocking [`publisher`] used by `edgemqtt` and `edgeai-run`. The
//! at-least-once event transport of `edgeevents` is in
//! `crate::events::sync_mqtt`. See `docs/mqtt.md`.

pub mod publisher;

use std::path::PathBuf;
use std::time::Duration;

use rumqttc::{ConnectReturnCode, ConnectionError, LastWill, MqttOptions};

/// Largest message we send (a track event with its base64 snapshot fits
/// easily); Mosquitto's own default limit is 256 MiB.
pub const MAX_PACKET: usize = 1024 * 1024;

/// Seconds without traffic before the client pings the broker.
pub const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// A parsed `mqtt://[user[:password]@]host[:port][/prefix]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Topic prefix (the URL's path without the leading and trailing `/`),
    /// possibly empty.
    pub prefix: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Whether `url` names an MQTT broker (`mqtt://` or `mqtts://`).
pub fn is_mqtt_url(url: &str) -> bool {
    let l = url.to_ascii_lowercase();
    l.starts_with("mqtt://") || l.starts_with("mqtts://")
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "a % not followed by two hexadecimal digits".to_string())?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoding that is not UTF-8".to_string())
}

impl BrokerUrl {
    /// Parses a broker URL. `mqtts://` needs the `tls` cargo feature.
    pub fn parse(url: &str) -> Result<BrokerUrl, String> {
        let bad = |why: &str| format!("sync URL {}: {why}", redact(url));
        let (tls, rest) = match url.split_once("://") {
            Some((s, rest)) if s.eq_ignore_ascii_case("mqtt") => (false, rest),
            Some((s, rest)) if s.eq_ignore_ascii_case("mqtts") => (true, rest),
            _ => return Err(bad("not an mqtt:// or mqtts:// URL")),
        };
        if tls && !cfg!(feature = "tls") {
            return Err(bad(
                "this build has no TLS; use mqtt:// or build the plugin with the `tls` cargo feature (on by default)",
            ));
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (user, pass) = match u.split_once(':') {
                    Some((a, b)) => (a, Some(b)),
                    None => (u, None),
                };
                (
                    Some(percent_decode(user).map_err(|e| bad(&e))?),
                    pass.map(percent_decode).transpose().map_err(|e| bad(&e))?,
                )
            }
        };
        let default_port = if tls { 8883 } else { 1883 };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unterminated [IPv6] host"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("invalid port"))?,
                None if after.is_empty() => default_port,
                None => return Err(bad("invalid host")),
            };
            (h.to_string(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad("invalid port"))?),
                None => (hostport.to_string(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let prefix = path.trim_matches('/').to_string();
        if prefix.contains(['+', '#']) {
            return Err(bad("the topic prefix may not contain the wildcards + or #"));
        }
        Ok(BrokerUrl {
            tls,
            host,
            port,
            prefix,
            username,
            password,
        })
    }

    /// `PREFIX/a/b` (or `a/b` without a prefix).
    pub fn topic(&self, parts: &[&str]) -> String {
        let mut t = self.prefix.clone();
        for p in parts {
            if !t.is_empty() {
                t.push('/');
            }
            t.push_str(&topic_segment(p));
        }
        t
    }
}

/// A name usable as one topic level: `/`, `+`, `#` and NUL become `_`.
pub fn topic_segment(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '/' | '+' | '#' | '\0') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// `url` with any password replaced by `***`, for logs and messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
}

/// Everything needed to connect to a broker.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    pub url: BrokerUrl,
    pub client_id: String,
    /// Overrides the URL's user name and password when set.
    pub username: Option<String>,
    pub password: Option<String>,
    /// PEM file of the certificate authorities to trust (`mqtts://`); the
    /// system's store when unset.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate and key (AWS IoT Core, Azure IoT Hub X.509).
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub keep_alive: Duration,
}

// No derived Debug: it would print the password.
impl std::fmt::Debug for BrokerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BrokerConfig({}:{}, client {})",
            self.url.host, self.url.port, self.client_id
        )
    }
}

impl BrokerConfig {
    pub fn new(url: BrokerUrl, client_id: String) -> BrokerConfig {
        BrokerConfig {
            url,
            client_id,
            username: None,
            password: None,
            ca_file: None,
            cert_file: None,
            key_file: None,
            keep_alive: KEEP_ALIVE,
        }
    }

    /// `host:port` for messages (never the credentials).
    pub fn endpoint(&self) -> String {
        let scheme = if self.url.tls { "mqtts" } else { "mqtt" };
        format!("{scheme}://{}:{}", self.url.host, self.url.port)
    }

    /// The client options; reads the certificate files (an unreadable file
    /// is an error now, not at every reconnection).
    pub fn options(&self, will: Option<LastWill>) -> Result<MqttOptions, String> {
        let mut o = MqttOptions::new(&self.client_id, &self.url.host, self.url.port);
        o.set_keep_alive(self.keep_alive.max(Duration::from_secs(5)));
        o.set_clean_session(true);
        o.set_max_packet_size(MAX_PACKET, MAX_PACKET);
        let user = self.username.clone().or_else(|| self.url.username.clone());
        let pass = self.password.clone().or_else(|| self.url.password.clone());
        if let Some(user) = user {
            o.set_credentials(user, pass.unwrap_or_default());
        } else if pass.is_some() {
            return Err("a password without a user name".into());
        }
        if let Some(w) = will {
            o.set_last_will(w);
        }
        if self.url.tls {
            #[cfg(feature = "tls")]
            {
                let cfg = tls::client_config(
                    self.ca_file.as_deref(),
                    self.cert_file.as_deref(),
                    self.key_file.as_deref(),
                )?;
                o.set_transport(rumqttc::Transport::tls_with_config(
                    rumqttc::TlsConfiguration::Rustls(cfg),
                ));
            }
            #[cfg(not(feature = "tls"))]
            return Err("this build has no TLS (the `tls` cargo feature)".into());
        } else if self.cert_file.is_some() || self.ca_file.is_some() {
            return Err(
                "certificate files are set but the URL is mqtt://; use mqtts:// for TLS".into(),
            );
        }
        Ok(o)
    }
}

#[cfg(feature = "tls")]
mod tls {
    use std::path::Path;
    use std::sync::Arc;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    fn certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "the {what} {} holds no PEM certificate",
                path.display()
            ));
        }
        Ok(certs)
    }

    /// rustls with ring: the CA file (or the system's store) and an
    /// optional client certificate.
    pub fn client_config(
        ca: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
    ) -> Result<Arc<rustls::ClientConfig>, String> {
        let mut roots = rustls::RootCertStore::empty();
        match ca {
            Some(ca) => {
                for c in certs(ca, "CA file")? {
                    roots
                        .add(c)
                        .map_err(|e| format!("bad certificate in {}: {e}", ca.display()))?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
                if roots.is_empty() {
                    return Err("no CA file given and the system has no trusted certificates (install ca-certificates or set the CA file)".into());
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_root_certificates(roots);
        let config = match (cert, key) {
            (Some(cert), Some(key)) => {
                let chain = certs(cert, "client certificate")?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("the client certificate and key do not fit: {e}"))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(
                    "a client certificate needs both the cert file and the key file".into(),
                );
            }
        };
        Ok(Arc::new(config))
    }
}

/// A connection error in words, with what to check.
pub fn describe(e: &ConnectionError) -> String {
    match e {
        ConnectionError::ConnectionRefused(code) => match code {
            ConnectReturnCode::BadUserNamePassword => {
                "the broker refused the user name or password (check the credentials)".into()
            }
            ConnectReturnCode::NotAuthorized => {
                // Mosquitto answers this (not BadUserNamePassword) to a
                // wrong password.
                "the broker refused the user name, password or client certificate: not authorised (check the credentials and the broker's ACL)".into()
            }
            ConnectReturnCode::BadClientId => {
                "the broker refused the client id (set another one)".into()
            }
            ConnectReturnCode::ServiceUnavailable => "the broker is unavailable".into(),
            other => format!("the broker refused the connection ({other:?})"),
        },
        #[cfg(feature = "tls")]
        ConnectionError::Tls(t) => format!(
            "TLS failed: {t} (check the CA file: it must have signed the broker's certificate, whose name must match the host)"
        ),
        ConnectionError::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                "connection refused: no broker listens there".into()
            }
            _ => {
                let s = io.to_string();
                if s.contains("lookup") || s.contains("resolve") || s.contains("Name or service") {
                    format!("cannot resolve the host name: {s}")
                } else {
                    format!("network error: {s}")
                }
            }
        },
        ConnectionError::NetworkTimeout => "no answer from the broker (time-out)".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = BrokerUrl::parse("mqtt://broker.local/site/cams/").unwrap();
        assert_eq!(
            u,
            BrokerUrl {
                tls: false,
                host: "broker.local".into(),
                port: 1883,
                prefix: "site/cams".into(),
                username: None,
                password: None
            }
        );
        let u = BrokerUrl::parse("MQTT://al%40x:p%3Aw@10.0.0.1:1999").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("10.0.0.1", 1999, "")
        );
        assert_eq!(u.username.as_deref(), Some("al@x"));
        assert_eq!(u.password.as_deref(), Some("p:w"));
        let u = BrokerUrl::parse("mqtt://[::1]:1884/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 1884));
        assert_eq!(
            BrokerUrl::parse("mqtts://h/x").map(|u| u.port),
            if cfg!(feature = "tls") {
                Ok(8883)
            } else {
                Err("sync URL mqtts://h/x: this build has no TLS; use mqtt:// or build the plugin with the `tls` cargo feature (on by default)".into())
            }
        );
        for bad in [
            "http://h",
            "mqtt://",
            "mqtt://h:x",
            "mqtt://h/a/#",
            "mqtt://u@h:99999",
        ] {
            assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(u.topic(&["cam/1", "tracks"]), "x/cam_1/tracks");
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact("mqtt://user:secret@h:1883/p"),
            "mqtt://user:***@h:1883/p"
        );
        assert_eq!(redact("mqtt://h:1883/p@x"), "mqtt://h:1883/p@x");
        let e = BrokerUrl::parse("mqtt://u:secret@h:x").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        let c = BrokerConfig::new(BrokerUrl::parse("mqtt://u:secret@h").unwrap(), "id".into());
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn options() {
        let mut c = BrokerConfig::new(BrokerUrl::parse("mqtt://u:p@h:1/x").unwrap(), "id".into());
        let o = c.options(None).unwrap();
        assert_eq!(o.credentials().map(|l| l.username), Some("u".into()));
        c.username = Some("v".into());
        let o = c.options(None).unwrap();
        assert_eq!(o.credentials().map(|l| l.username), Some("v".into()));
        c.ca_file = Some("/nonexistent.pem".into());
        assert!(c.options(None).unwrap_err().contains("mqtts://"));
        if cfg!(feature = "tls") {
            c.url.tls = true;
            let e = c.options(None).unwrap_err();
            assert!(e.contains("/nonexistent.pem"), "{e}");
        }
    }
}

//! `--web.config.file`: TLS and basic auth for /metrics, in the format of the Prometheus
//! exporter-toolkit, so that operators reuse what they know from node_exporter.
//!
//! Supported keys: `tls_server_config.cert_file`, `.key_file`, `.min_version` (TLS12, TLS13) and
//! `basic_auth_users` (user -> bcrypt hash). Any other key is refused at start rather than
//! silently ignored. Relative paths are relative to the file's folder. /healthz and /readyz stay
//! open for probes (kubelets and load balancers rarely carry credentials); `/` and the metrics
//! path need the password when users are configured.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use super::file;

/// The certificate and key to serve TLS with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM certificate chain.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
    /// The oldest TLS version accepted.
    #[serde(default)]
    pub min_version: TlsVersion,
}

/// `min_version`, spelled as the exporter-toolkit spells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3.
    #[default]
    #[serde(rename = "TLS12")]
    Tls12,
    /// TLS 1.3 only.
    #[serde(rename = "TLS13")]
    Tls13,
}

/// A validated web configuration, read straight from the file's keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    #[serde(rename = "tls_server_config")]
    pub tls: Option<TlsFiles>,
    /// Users and their bcrypt hashes; empty means no authentication.
    #[serde(rename = "basic_auth_users", default)]
    pub users: BTreeMap<String, String>,
}

impl WebConfig {
    /// Reads and checks the file: YAML, known keys only, bcrypt hashes, readable certificate
    /// and key.
    pub fn load(path: &Path) -> Result<WebConfig, String> {
        let invalid = |message: String| format!("{}: {message}", path.display());
        let text = file::read_text(path).map_err(|e| e.to_string())?;
        let mut web: WebConfig = match text.trim() {
            "" => WebConfig::default(),
            _ => file::from_yaml(path, &text).map_err(|e| e.to_string())?,
        };
        if let Some(tls) = &mut web.tls {
            let base = path.parent().unwrap_or(Path::new("."));
            tls.cert_file = base.join(&tls.cert_file);
            tls.key_file = base.join(&tls.key_file);
            tls.server_config().map_err(invalid)?;
        }
        for (user, hash) in &web.users {
            if user.contains(':') {
                return Err(invalid(format!(
                    "user {user:?}: a user name cannot hold ':'"
                )));
            }
            if !hash.starts_with("$2") || hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(invalid(format!(
                    "basic_auth_users.{user}: not a bcrypt hash (make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
                )));
            }
        }
        Ok(web)
    }
}

impl TlsFiles {
    pub fn server_config(&self) -> Result<rustls::ServerConfig, String> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert_file)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cert_file {}: {e}", self.cert_file.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "cert_file {}: no certificate",
                self.cert_file.display()
            ));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key_file)
            .map_err(|e| format!("key_file {}: {e}", self.key_file.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = match self.min_version {
            TlsVersion::Tls12 => &[&rustls::version::TLS12, &rustls::version::TLS13],
            TlsVersion::Tls13 => &[&rustls::version::TLS13],
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("certificate and key do not match: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// Checks basic auth against bcrypt hashes. A reload replaces the users for the requests that
/// follow; with none, every request is let through.
#[derive(Debug, Clone)]
pub struct Auth {
    users: Arc<ArcSwap<BTreeMap<String, String>>>,
}

impl Auth {
    pub fn new(users: BTreeMap<String, String>) -> Self {
        Self {
            users: Arc::new(ArcSwap::from_pointee(users)),
        }
    }

    async fn allows(&self, header: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = header
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())))
        else {
            return false;
        };
        let Some(hash) = self.users.load().get(&user).cloned() else {
            return false;
        };
        // bcrypt is slow on purpose: off the threads that serve.
        tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
            .unwrap_or(false)
    }
}

/// Middleware: 401 with a Basic challenge unless the request carries a valid user, or there
/// are no users (a web configuration that sets none, or dropped them on reload).
pub async fn require_auth(State(auth): State<Auth>, request: Request, next: Next) -> Response {
    let header = request.headers().get(header::AUTHORIZATION);
    if auth.users.load().is_empty() || auth.allows(header).await {
        return next.run(request).await;
    }
    let challenge = [(header::WWW_AUTHENTICATE, "Basic realm=\"wolkvox-exporter\"")];
    (StatusCode::UNAUTHORIZED, challenge, "unauthorized\n").into_response()
}

/// The web configuration in force, and how to follow `--web.config.file` as it changes: a
/// rotated certificate and key, or changed password hashes, apply to the connections and
/// requests that follow, without a restart, as the exporter-toolkit does.
#[derive(Debug, Clone)]
pub struct LiveWeb {
    path: PathBuf,
    /// The users that requests are checked against.
    pub auth: Auth,
    /// The TLS configuration new connections take, when the file serves TLS.
    pub tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
    /// The certificate and key files of the configuration loaded at start.
    tls_files: Option<TlsFiles>,
}

impl LiveWeb {
    /// The configuration `web` as loaded from `path` at start.
    pub fn new(path: PathBuf, web: &WebConfig) -> Result<Self, String> {
        let tls = match &web.tls {
            Some(files) => Some(Arc::new(ArcSwap::from_pointee(files.server_config()?))),
            None => None,
        };
        Ok(Self {
            path,
            auth: Auth::new(web.users.clone()),
            tls,
            tls_files: web.tls.clone(),
        })
    }

    /// The bytes of the file and of `tls_files` (the certificate and key of the configuration
    /// in force): what a reload looks at. A change of the file that names other certificate
    /// files changes these bytes too, so nothing is parsed merely to watch.
    fn fingerprint(&self, tls_files: Option<&TlsFiles>) -> Vec<u8> {
        let mut all = std::fs::read(&self.path).unwrap_or_default();
        for file in tls_files.iter().flat_map(|t| [&t.cert_file, &t.key_file]) {
            all.extend(std::fs::read(file).unwrap_or_default());
        }
        all
    }

    /// Reads the file again and applies it; returns the certificate and key files it names. A
    /// file that does not load, or that would switch TLS on or off (which needs a restart),
    /// changes nothing.
    pub fn reload(&self) -> Result<Option<TlsFiles>, String> {
        let web = WebConfig::load(&self.path)?;
        match (&self.tls, &web.tls) {
            (Some(current), Some(files)) => current.store(Arc::new(files.server_config()?)),
            (None, None) => {}
            _ => return Err("switching TLS on or off needs a restart".to_owned()),
        }
        self.auth.users.store(Arc::new(web.users));
        Ok(web.tls)
    }

    /// Checks the files every `every` and applies changes until `stop`; `report` hears the
    /// outcome of each reload (true when applied).
    pub async fn watch(
        self,
        every: std::time::Duration,
        stop: tokio_util::sync::CancellationToken,
        report: impl Fn(bool),
    ) {
        let mut files = self.tls_files.clone();
        let mut seen = self.fingerprint(files.as_ref());
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let now = self.fingerprint(files.as_ref());
            if now == seen {
                continue;
            }
            seen = now;
            match self.reload() {
                Ok(named) => {
                    files = named;
                    // Read again with the files the new configuration names.
                    seen = self.fingerprint(files.as_ref());
                    tracing::info!(file = %self.path.display(), "web configuration reloaded");
                    report(true);
                }
                Err(e) => {
                    tracing::error!(file = %self.path.display(), error = %e, "web configuration reload refused; the previous one stays");
                    report(false);
                }
            }
        }
    }
}

//! The HTTP client of the report API: one GET with the token in a header, an explicit timeout
//! that covers the body, and a cap on the body size.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::config::window::ReportWindow;
use crate::config::{ByteSize, DEFAULT_MAX_BODY_SIZE, ServerCode, Token, default_of};

/// The token header, marked sensitive so that no Debug print shows it.
fn token_header(token: &Token) -> HeaderValue {
    // Token::new admits only visible ASCII, which is always a valid header value.
    let mut value = HeaderValue::from_str(token.expose())
        .unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    value.set_sensitive(true);
    value
}

/// Installs rustls' ring provider for the process. reqwest is built without a bundled crypto
/// provider (its default, aws-lc, needs a C and cmake build); every reqwest client in the
/// process, the tests' included, needs one installed first. Calling it again is harmless.
pub fn install_crypto_provider() {
    // An error only means that a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why no HTTP answer came back.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// The call, body included, took longer than the timeout.
    #[error("no complete answer within {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// The body grew past the cap; reading stopped.
    #[error("the body is larger than {0} bytes; reading stopped")]
    BodyTooLarge(usize),
    /// Connection, DNS or TLS failure, or the connection broke during the body.
    #[error("{0}")]
    Network(String),
}

/// A client for one operation's token. It never sends two requests at once by itself: the
/// poller awaits each call before it makes the next.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: Url,
    information: Url,
    headers: HeaderMap,
    timeout: Duration,
    /// The most of a body read: --wolkvox.max-body-size.
    pub max_body: usize,
    token: Token,
    /// Read again before each call, so that a rotated Secret takes effect without a restart.
    pub token_file: Option<PathBuf>,
    server: ServerCode,
}

/// The HTTP clients that operations share, one per timeout. Building a reqwest client loads
/// and parses the system's root certificates (rustls-platform-verifier) into it: a client per
/// operation would hold as many copies as there are operations. Sharing one also shares its connection pool, as calls to one host can.
#[derive(Debug, Default)]
pub struct HttpClients {
    by_timeout: Mutex<BTreeMap<Duration, reqwest::Client>>,
}

impl HttpClients {
    /// The client of `timeout`, built on first use: its calls and connections give up after
    /// `timeout`.
    fn get(&self, timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
        // Only map lookups and inserts happen under this lock: a panic leaves it consistent.
        let mut clients = self.by_timeout.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(http) = clients.get(&timeout) {
            return Ok(http.clone());
        }
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("wolkvox-exporter/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(IDLE_PER_HOST)
            .build()?;
        clients.insert(timeout, http.clone());
        Ok(http)
    }
}

/// Idle connections kept per host. Operations poll one after the other, a call of a few
/// milliseconds each, so a few connections serve them all; every idle one keeps its socket
/// and buffers, and without a cap 1,000 operations kept 1,000 connections open.
const IDLE_PER_HOST: usize = 16;

impl Client {
    /// A client for `base_url` that calls through the client of `clients` for `timeout`. The
    /// token goes into a header marked sensitive, so that no Debug print of the client or of a
    /// request shows it.
    pub fn shared(
        clients: &HttpClients,
        base_url: &Url,
        server: &ServerCode,
        token: &Token,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let mut endpoint = base_url.clone();
        if !endpoint.path().ends_with('/') {
            let path = format!("{}/", endpoint.path());
            endpoint.set_path(&path);
        }
        // Joining a relative path onto a URL whose path ends in '/' cannot fail.
        let mut information = endpoint
            .join("api/v2/information.php")
            .unwrap_or(endpoint.clone());
        information
            .query_pairs_mut()
            .append_pair("api", "token_info");
        let endpoint = endpoint
            .join("api/v2/reports_manager.php")
            .unwrap_or(endpoint);

        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("wolkvox-token"),
            token_header(token),
        );
        if let Ok(v) = HeaderValue::from_str(server.as_str()) {
            // The official sample sends it; some proxies drop headers with underscores, which
            // is why the token travels in the dashed header.
            headers.insert(HeaderName::from_static("wolkvox_server"), v);
        }
        Ok(Self {
            http: clients.get(timeout)?,
            information,
            endpoint,
            headers,
            timeout,
            // The flag's default, so that a client built without a configuration (tests,
            // benchmarks) reads no more than the exporter does.
            max_body: default_of::<ByteSize>(DEFAULT_MAX_BODY_SIZE).0,
            token: token.clone(),
            token_file: None,
            server: server.clone(),
        })
    }

    /// Re-reads the token file, if there is one. A file that became unreadable or empty keeps
    /// the previous token, with an error in the log (never the token itself).
    pub fn refresh_token(&mut self) {
        let Some(path) = &self.token_file else { return };
        // A few bytes from a local file, once per poll: blocking the task briefly is cheaper
        // than a round trip through tokio's blocking pool.
        let read = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| Token::new(&text).map_err(str::to_owned));
        match read {
            Ok(token) if token != self.token => {
                self.headers.insert(
                    HeaderName::from_static("wolkvox-token"),
                    token_header(&token),
                );
                self.token = token;
                tracing::info!(file = %path.display(), "token file changed: using the new token");
            }
            Ok(_) => {}
            Err(why) => tracing::error!(
                file = %path.display(),
                error = %why,
                "cannot read the token file; keeping the previous token"
            ),
        }
    }

    /// The server code sent with every call.
    pub fn server(&self) -> &str {
        self.server.as_str()
    }

    /// `text` with every occurrence of the token replaced by `***`: an answer or an error may
    /// quote the request, and what it says goes to logs and the status page.
    pub fn redact(&self, text: &str) -> String {
        let token = self.token.expose();
        if token.is_empty() {
            return text.to_owned();
        }
        text.replace(token, "***")
    }

    /// The full URL of a report request for `window` (no secret in it).
    pub fn report_url(&self, window: &ReportWindow) -> Url {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("api", "diagram_1_3")
            .append_pair("date_ini", &window.date_ini())
            .append_pair("date_end", &window.date_end());
        url
    }

    /// One report call: the HTTP status and the whole body, within the timeout.
    pub async fn fetch(&self, window: &ReportWindow) -> Result<(u16, Bytes), TransportError> {
        self.get(self.report_url(window)).await
    }

    /// One token_info call (it spends the token's budget like any call).
    pub async fn fetch_token_info(&self) -> Result<(u16, Bytes), TransportError> {
        self.get(self.information.clone()).await
    }

    /// A GET of `url`: the status and the whole body, within the client's timeout, which
    /// reqwest applies until the body's end.
    async fn get(&self, url: Url) -> Result<(u16, Bytes), TransportError> {
        let mut response = self
            .http
            .get(url)
            .headers(self.headers.clone())
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let mut body = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            if body.len() + chunk.len() > self.max_body {
                return Err(TransportError::BodyTooLarge(self.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body.freeze()))
    }

    fn transport_error(&self, e: reqwest::Error) -> TransportError {
        if e.is_timeout() {
            return TransportError::Timeout(self.timeout);
        }
        // The URL holds no secret, but it adds nothing to the message either.
        let e = e.without_url();
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            let s_text = s.to_string();
            if !text.contains(&s_text) {
                text.push_str(": ");
                text.push_str(&s_text);
            }
            source = s.source();
        }
        TransportError::Network(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_debug_nor_errors_show_the_token() {
        let token = Token::new("tok-8c1f-very-secret").unwrap();
        let client = Client::shared(
            &HttpClients::default(),
            &Url::parse("http://127.0.0.1:9/").unwrap(),
            &ServerCode::parse("0032").unwrap(),
            &token,
            Duration::from_secs(1),
        )
        .unwrap();
        let debug = format!("{client:?} {:#?}", client.headers);
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(
            debug.contains("Sensitive"),
            "the header is marked sensitive"
        );
        let window = crate::config::window::Window::Today
            .resolve(jiff::Timestamp::UNIX_EPOCH, &jiff::tz::TimeZone::UTC);
        let url = client.report_url(&window);
        assert!(!url.as_str().contains("very-secret"));
        // An answer that quotes the request loses the token before a log or the status page.
        assert_eq!(
            client.redact("HTTP 401: bad token tok-8c1f-very-secret (tok-8c1f-very-secret)"),
            "HTTP 401: bad token *** (***)"
        );
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/api/v2/reports_manager.php?api=diagram_1_3&date_ini=19700101000000&date_end=19700101000000"
        );
    }

    #[test]
    fn a_base_url_with_a_path_keeps_it() {
        let client = Client::shared(
            &HttpClients::default(),
            &Url::parse("https://proxy.example/wolkvox").unwrap(),
            &ServerCode::parse("0032").unwrap(),
            &Token::new("t").unwrap(),
            Duration::from_secs(1),
        )
        .unwrap();
        let window = crate::config::window::Window::Today
            .resolve(jiff::Timestamp::UNIX_EPOCH, &jiff::tz::TimeZone::UTC);
        assert!(
            client
                .report_url(&window)
                .as_str()
                .starts_with("https://proxy.example/wolkvox/api/v2/reports_manager.php?")
        );
    }
}

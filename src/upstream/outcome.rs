//! The one place where an answer of the API is classified. The [`PollResult`] it gives is the
//! `result` label of `wolkvox_polls_total`, and the poller derives the log level and the wait
//! before the next call from it and from nothing else.

use bytes::Bytes;

use crate::upstream::client::TransportError;
use crate::upstream::number::parse_number;
use crate::upstream::types::{Head, RawItem};

label_enum! {
    /// What one API call came to.
    pub enum PollResult, counted by PollCounts {
        /// HTTP 200 with the documented JSON.
        Success => "success",
        /// HTTP 404 in Wolkvox's JSON envelope: no data in the window (or the report is not
        /// enabled): an empty report.
        NoData => "no_data",
        /// HTTP 404 without Wolkvox's envelope (empty, HTML, other JSON): the URL reaches
        /// something other than the report API, such as a wrong path, a proxy or a load
        /// balancer.
        NotFound => "not_found",
        /// 401, or 403 PLEASE VALIDATE TOKEN: the token is missing, wrong or expired.
        Unauthorized => "unauthorized",
        /// 403 TOKEN LIMIT EXCEEDED: the daily quota is used up.
        QuotaExceeded => "quota_exceeded",
        /// 403 EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN.
        ConcurrencyLimited => "concurrency_limited",
        /// Any other 403: Wolkvox answers so during server backups.
        Maintenance => "maintenance",
        /// 400 and other 4xx: a bug in the request or the configuration.
        ClientError => "client_error",
        /// 5xx.
        ServerError => "server_error",
        /// No complete answer within `--poll.timeout`.
        Timeout => "timeout",
        /// Connection refused or reset, DNS, TLS.
        NetworkError => "network_error",
        /// An HTTP 200 whose body is not the documented JSON.
        DecodeError => "decode_error",
    }
}

impl PollResult {
    /// What an operator should do about this result, for an operation of `server`: the one
    /// text that `check` prints and the status page shows.
    pub fn advice(self, server: &str) -> String {
        use PollResult as R;
        match self {
            R::Success => "ok".to_owned(),
            R::NoData => "ok, but no calls in the window (Wolkvox also answers so when the report is not enabled on the server)".to_owned(),
            R::NotFound => format!("the URL does not reach Wolkvox's report API (a 404 without Wolkvox's JSON answer): check --wolkvox.url (the operation's url) and the server code {server} (the default URL is https://wv{server}.wolkvox.com)"),
            R::Unauthorized => format!("check the token (WOLKVOX_TOKEN, --wolkvox.token-file or token_file) and that it belongs to server {server}"),
            R::ClientError => "check --wolkvox.server and --wolkvox.url: Wolkvox refused the request itself".to_owned(),
            R::QuotaExceeded => "the token's daily quota is used up; it resets at local midnight (licences x 1000 calls a day, shared by all its users)".to_owned(),
            R::ConcurrencyLimited => "another client is using this token right now; stop it or try again in a minute".to_owned(),
            R::Maintenance => "Wolkvox answered 403 without a known reason, as during server backups: try again later".to_owned(),
            R::ServerError => "Wolkvox failed on its side: try again later".to_owned(),
            R::Timeout => "no complete answer within --poll.timeout: check the network path or raise the timeout".to_owned(),
            R::NetworkError => "cannot reach Wolkvox: check DNS, the firewall, the proxy, and that this machine's IP is on the operation's allow-list".to_owned(),
            R::DecodeError => "the answer is not Wolkvox's JSON: a proxy or captive portal may be in the way, or --wolkvox.url is wrong".to_owned(),
        }
    }

    /// Whether the poll got a report (`wolkvox_up` 1).
    pub fn is_up(self) -> bool {
        matches!(self, PollResult::Success | PollResult::NoData)
    }
}

/// What token_info says about the token, shared by everything that uses it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenInfo {
    /// The daily call limit (`token_limit`).
    pub limit: f64,
    /// Calls made with the token today (`token_use_today`).
    pub used_today: f64,
}

impl std::fmt::Display for PollResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An answer after classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub result: PollResult,
    /// What happened, for the log line: HTTP status and Wolkvox's message, or the error.
    pub detail: String,
}

/// Classifies the outcome of one call. `Ok` carries the HTTP status and the whole body. The
/// elements of a 200's `data` go to `rows` once it is decoded; they make a report only when
/// the result is [`PollResult::Success`] (an error wrapped in a 200 may carry rows too).
pub fn classify(
    answer: Result<(u16, Bytes), TransportError>,
    mut rows: impl FnMut(RawItem<'_>),
) -> Classified {
    let (status, body) = match answer {
        Ok(answer) => answer,
        Err(e) => {
            let result = match e {
                TransportError::Timeout(_) => PollResult::Timeout,
                TransportError::BodyTooLarge(_) => PollResult::DecodeError,
                TransportError::Network(_) => PollResult::NetworkError,
            };
            let detail = e.to_string();
            return Classified { result, detail };
        }
    };

    if status == 200 {
        let mut elements = 0usize;
        let decoded = Head::decode(&body, |item| {
            elements += 1;
            rows(item);
        });
        return match decoded {
            Err(e) => Classified {
                result: PollResult::DecodeError,
                detail: format!(
                    "HTTP 200 but the body is not the documented JSON ({e}): {}",
                    snippet(&body)
                ),
            },
            Ok(head) => match head.code() {
                // An error wrapped in a 200: classify it by the code it carries.
                Some(code) if code != 200 => by_status(code, &body),
                _ if head.data => Classified {
                    result: PollResult::Success,
                    detail: format!("{elements} rows"),
                },
                _ => Classified {
                    result: PollResult::DecodeError,
                    detail: "HTTP 200 but `data` is missing or null".to_owned(),
                },
            },
        };
    }
    by_status(status, &body)
}

/// Reads a token_info answer: its `token_limit` and `token_use_today`. The shape is inferred from
/// Wolkvox's description (field names only): the fields may sit at the top, in `data`, or in
/// the first element of a `data` list, as numbers or strings.
pub fn token_info(answer: Result<(u16, Bytes), TransportError>) -> Result<TokenInfo, String> {
    let (status, body) = answer.map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(by_status(status, &body).detail);
    }
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| format!("token_info: not JSON ({e}): {}", snippet(&body)))?;
    let candidates = [
        Some(&value),
        value.get("data"),
        value.get("data").and_then(|d| d.get(0)),
    ];
    let number = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) => n.as_f64().filter(|f| f.is_finite() && *f >= 0.0),
        serde_json::Value::String(s) => parse_number(s),
        _ => None,
    };
    candidates
        .into_iter()
        .flatten()
        .find_map(|obj| {
            Some(TokenInfo {
                limit: number(obj.get("token_limit")?)?,
                used_today: number(obj.get("token_use_today")?)?,
            })
        })
        .ok_or_else(|| {
            format!(
                "token_info: no token_limit and token_use_today in {}",
                snippet(&body)
            )
        })
}

fn by_status(status: u16, body: &[u8]) -> Classified {
    // Decoded once: whether it is Wolkvox's envelope, and Wolkvox's words for the log.
    let head = Head::decode(body, |_| {}).ok();
    if status == 404 && !head.as_ref().is_some_and(is_envelope) {
        return Classified {
            result: PollResult::NotFound,
            detail: format!(
                "HTTP 404 without Wolkvox's JSON envelope, so the URL does not reach Wolkvox's report API: {}",
                snippet(body)
            ),
        };
    }
    let message = head
        .as_ref()
        .and_then(message)
        .unwrap_or_else(|| snippet(body));
    let upper = message.to_ascii_uppercase();
    let result = match status {
        404 => PollResult::NoData,
        401 => PollResult::Unauthorized,
        403 if upper.contains("TOKEN LIMIT EXCEEDED") => PollResult::QuotaExceeded,
        403 if upper.contains("SIMULTANEOUS") => PollResult::ConcurrencyLimited,
        403 if upper.contains("VALIDATE TOKEN") => PollResult::Unauthorized,
        403 => PollResult::Maintenance,
        500..=599 => PollResult::ServerError,
        _ => PollResult::ClientError,
    };
    let detail = format!("HTTP {status}: {message}");
    Classified { result, detail }
}

/// Whether a decoded body is Wolkvox's JSON envelope: a `code` (a number, or a string of
/// digits) and a `msg` or an `error`. Wolkvox's "no data" 404 comes so; an empty body, an HTML
/// page or another server's JSON (`{"detail":"Not Found"}`) is something else on the path.
/// `data` may be anything: the 404's `data` is not documented (`[]` or `null`).
fn is_envelope(head: &Head) -> bool {
    head.code().is_some() && (head.msg.text().is_some() || head.error.text().is_some())
}

/// Wolkvox's own words: `error` and `msg` of the envelope, if it has any.
fn message(head: &Head) -> Option<String> {
    let mut parts: Vec<String> = [head.error.text(), head.msg.text()]
        .into_iter()
        .flatten()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    parts.dedup();
    // The first 300 characters are enough to tell what Wolkvox said.
    (!parts.is_empty()).then(|| parts.join(": ").chars().take(300).collect())
}

/// The first characters of a body, on one line, for a log.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match one_line.trim() {
        "" => "(empty body)".to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(status: u16, body: &str) -> PollResult {
        classify(Ok((status, Bytes::from(body.to_owned()))), |_| {}).result
    }

    fn err(code: u16, msg: &str) -> String {
        format!(r#"{{"code":{code},"error":"{msg}","msg":"{msg}"}}"#)
    }

    #[test]
    fn every_documented_answer_has_its_result() {
        use PollResult::*;
        let table: &[(u16, String, PollResult)] = &[
            (200, r#"{"code":200,"data":[]}"#.into(), Success),
            (
                200,
                r#"{"code":"200","data":{"rp_id":"1","calls":"1","time":"1","cod_opc_menu":"1"}}"#
                    .into(),
                Success,
            ),
            (
                400,
                err(400, "THE API YOU WANT TO CONSULT DOES NOT EXIST"),
                ClientError,
            ),
            (400, err(400, "SOME PARAMETERS ARE REQUIRED"), ClientError),
            (
                401,
                err(401, "PLEASE ENTER THE WOLKVOX-TOKEN"),
                Unauthorized,
            ),
            (403, err(403, "PLEASE VALIDATE TOKEN"), Unauthorized),
            (403, err(403, "TOKEN LIMIT EXCEEDED"), QuotaExceeded),
            (
                403,
                err(
                    403,
                    "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)",
                ),
                ConcurrencyLimited,
            ),
            (403, "<html>backup in progress</html>".into(), Maintenance),
            (404, err(404, "Validate dates entered"), NoData),
            // Wolkvox's 404 body is not documented: `data` [] or null, `code` a number or a
            // string, `msg` or `error`, all count as its envelope.
            (
                404,
                r#"{"code":"404","error":null,"msg":"Validate dates entered","data":[]}"#.into(),
                NoData,
            ),
            (
                404,
                r#"{"code":404,"error":"Validate dates entered","msg":null,"data":null}"#.into(),
                NoData,
            ),
            // Anything else on the path: a wrong URL, a proxy, a load balancer.
            (404, "".into(), NotFound),
            (
                404,
                "<html><body>404 Not Found</body></html>".into(),
                NotFound,
            ),
            (404, r#"{"detail":"Not Found"}"#.into(), NotFound),
            (
                404,
                r#"{"status":404,"error":"Not Found"}"#.into(),
                NotFound,
            ),
            (404, r#"{"code":404}"#.into(), NotFound),
            (404, r#"[{"code":404,"msg":"x"}]"#.into(), NotFound),
            (500, "".into(), ServerError),
            (503, "<html>down</html>".into(), ServerError),
            (200, "<html>proxy login</html>".into(), DecodeError),
            (200, r#"{"code":200,"data":null}"#.into(), DecodeError),
            (200, r#"{"code":200}"#.into(), DecodeError),
            (200, r#"{"code":200,"data":7}"#.into(), DecodeError),
            (
                200,
                r#"{"code":200,"data":[{"rp_id":"1""#.into(),
                DecodeError,
            ),
            (200, err(403, "TOKEN LIMIT EXCEEDED"), QuotaExceeded),
            (418, "".into(), ClientError),
        ];
        for (status, body, expected) in table {
            assert_eq!(class(*status, body), *expected, "{status} {body}");
        }
    }

    #[test]
    fn transport_errors_are_classified() {
        let c = classify(
            Err(TransportError::Timeout(std::time::Duration::from_secs(2))),
            |_| {},
        );
        assert_eq!(c.result, PollResult::Timeout);
        let c = classify(
            Err(TransportError::Network("connection refused".into())),
            |_| {},
        );
        assert_eq!(c.result, PollResult::NetworkError);
        let c = classify(Err(TransportError::BodyTooLarge(10)), |_| {});
        assert_eq!(c.result, PollResult::DecodeError);
    }

    #[test]
    fn token_info_is_read_wherever_the_fields_are() {
        let ok = |b: &str| token_info(Ok((200, Bytes::from(b.to_owned()))));
        let info = |limit, used_today| Ok(TokenInfo { limit, used_today });
        assert_eq!(
            ok(r#"{"code":200,"data":{"token_limit":"3,000","token_use_today":"17"}}"#),
            info(3000.0, 17.0)
        );
        assert_eq!(
            ok(r#"{"code":200,"data":[{"token_limit":1000,"token_use_today":2}]}"#),
            info(1000.0, 2.0)
        );
        assert_eq!(
            ok(r#"{"token_limit":"5","token_use_today":"0"}"#),
            info(5.0, 0.0)
        );
        assert!(ok(r#"{"code":200,"data":{}}"#).is_err());
        assert!(
            token_info(Ok((
                403,
                Bytes::from_static(b"{\"msg\":\"PLEASE VALIDATE TOKEN\"}")
            )))
            .is_err()
        );
    }

    #[test]
    fn the_detail_quotes_wolkvox_on_one_line() {
        let c = classify(
            Ok((403, Bytes::from(err(403, "TOKEN LIMIT EXCEEDED")))),
            |_| {},
        );
        assert_eq!(c.detail, "HTTP 403: TOKEN LIMIT EXCEEDED");
        let c = classify(
            Ok((502, Bytes::from_static(b"<h1>Bad\nGateway</h1>"))),
            |_| {},
        );
        assert_eq!(c.detail, "HTTP 502: <h1>Bad Gateway</h1>");
    }
}

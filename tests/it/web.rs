//! `--web.config.file`: TLS and basic auth on /metrics with a real TLS client; probes stay open.
//! And the token file, read again when Kubernetes rotates the Secret.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::*;
use wolkvox_exporter::config::Upstream;
use wolkvox_exporter::exposition::Format;

const ZONE: &str = "America/Bogota";

fn write_web_config(
    dir: &Path,
    cert: &str,
    key: &str,
    users: &[(&str, &str)],
) -> std::path::PathBuf {
    std::fs::write(dir.join("server.crt"), cert).unwrap();
    std::fs::write(dir.join("server.key"), key).unwrap();
    let mut yaml =
        String::from("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
    if !users.is_empty() {
        yaml.push_str("basic_auth_users:\n");
        for (user, password) in users {
            // Cost 4 keeps the test fast; the format is the one htpasswd -B writes.
            let hash = bcrypt::hash(password, 4).unwrap();
            yaml.push_str(&format!("  {user}: '{hash}'\n"));
        }
    }
    let path = dir.join("web.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn tls_client(cert_pem: &str) -> reqwest::Client {
    wolkvox_exporter::upstream::client::install_crypto_provider();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn tls_and_basic_auth_protect_metrics_but_not_the_probes() {
    let (_sim, url) = spawn_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed();
    let web = write_web_config(dir.path(), &cert, &key, &[("prometheus", "s3cret!")]);
    let mut cfg = config(&url);
    cfg.web = wolkvox_exporter::config::web::WebConfig::load(&web).unwrap();
    cfg.web_config_file = Some(web);
    let (exporter, _clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-25T11:00:00")).await;
    exporter.wait_for_polls(1).await;
    let client = tls_client(&cert);
    let https = |path: &str| format!("https://localhost:{}{path}", exporter.addr.port());

    let ok = client
        .get(https("/metrics"))
        .basic_auth("prometheus", Some("s3cret!"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body = ok.text().await.unwrap();
    promtool_check(&body);
    assert!(body.contains("wolkvox_up"));

    for (user, password) in [
        ("prometheus", Some("wrong")),
        ("nobody", Some("s3cret!")),
        ("prometheus", None),
    ] {
        let denied = client
            .get(https("/metrics"))
            .basic_auth(user, password)
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status(), 401, "{user} {password:?}");
        assert!(
            denied.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
    let anonymous = client.get(https("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(client.get(https("/")).send().await.unwrap().status(), 401);

    // Probes carry no credentials.
    assert_eq!(
        client.get(https("/healthz")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        client.get(https("/readyz")).send().await.unwrap().status(),
        200
    );

    // Plain HTTP to the TLS port fails.
    let plain = http()
        .get(format!("http://127.0.0.1:{}/healthz", exporter.addr.port()))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);
    exporter.stop().await;
}

#[test]
fn a_bad_web_config_stops_the_program_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("unknown: key\n", "unknown"),
        ("basic_auth_users:\n  bob: plaintext\n", "bcrypt"),
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
            "missing.crt",
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n",
            "client_auth_type",
        ),
    ];
    for (yaml, needle) in cases {
        let path = dir.path().join("web.yml");
        std::fs::write(&path, yaml).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_wolkvox-exporter"))
            .env_clear()
            .args(["--demo", "--web.config.file", path.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{yaml}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("--web.config.file") && stderr.contains(needle),
            "{yaml}: {stderr}"
        );
    }
}

#[tokio::test]
async fn a_rotated_token_file_is_used_from_the_next_poll() {
    let (sim, url) = spawn_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "old-token-that-wolkvox-refuses\n").unwrap();
    let mut cfg = config(&url);
    cfg.op_mut().poll_interval = std::time::Duration::from_millis(50);
    if let Upstream::Remote {
        token_file, token, ..
    } = &mut cfg.op_mut().upstream
    {
        *token_file = Some(file.clone());
        *token = wolkvox_exporter::config::Token::new("old-token-that-wolkvox-refuses").unwrap();
    }
    let (exporter, _clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-25T11:00:00")).await;
    exporter.wait_for_polls(1).await;
    let m = exporter.scrape().await;
    assert_eq!(
        m.value("wolkvox_polls_total", &[("result", "unauthorized")]),
        1.0
    );

    // Kubernetes swaps the file under a symlink; a rename is the same for a reader.
    std::fs::write(dir.path().join("token.new"), format!("{TOKEN}\n")).unwrap();
    std::fs::rename(dir.path().join("token.new"), &file).unwrap();
    exporter.wait_for_polls(exporter.polls() + 2).await;
    let m = exporter.scrape().await;
    assert_eq!(m.value("wolkvox_up", &[]), 1.0);
    assert!(m.value("wolkvox_polls_total", &[("result", "success")]) >= 1.0);

    // An emptied file keeps the token that works.
    std::fs::write(&file, "").unwrap();
    let before = sim.stats().requests;
    exporter.wait_for_polls(exporter.polls() + 2).await;
    let m = exporter.scrape().await;
    assert_eq!(m.value("wolkvox_up", &[]), 1.0);
    assert!(sim.stats().requests > before);
    exporter.stop().await;
}

/// A client that trusts only `cert_pem` and opens a new connection for every request.
fn fresh_tls_client(cert_pem: &str) -> reqwest::Client {
    wolkvox_exporter::upstream::client::install_crypto_provider();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap()])
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_certificate_and_a_changed_password_apply_without_a_restart_and_a_broken_file_changes_nothing()
 {
    let (_sim, url) = spawn_simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let (old_cert, old_key) = self_signed();
    let web = write_web_config(dir.path(), &old_cert, &old_key, &[("prometheus", "old")]);
    let mut cfg = config(&url);
    cfg.web = wolkvox_exporter::config::web::WebConfig::load(&web).unwrap();
    cfg.web_config_file = Some(web.clone());
    let (exporter, _clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-25T11:00:00")).await;
    exporter.wait_for_polls(1).await;
    let metrics = format!("https://localhost:{}/metrics", exporter.addr.port());
    let get = |cert: &str, password: &str| {
        let request = fresh_tls_client(cert)
            .get(&metrics)
            .basic_auth("prometheus", Some(password));
        async move { request.send().await.map(|r| r.status().as_u16()) }
    };
    assert_eq!(get(&old_cert, "old").await.unwrap(), 200);

    // Rotate the certificate and key, and change the password, under the running exporter.
    let (new_cert, new_key) = self_signed();
    write_web_config(dir.path(), &new_cert, &new_key, &[("prometheus", "new")]);
    tokio::time::timeout(EVENT_TIMEOUT, async {
        while get(&new_cert, "new").await.ok() != Some(200) {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("new connections see the new certificate, and the new password is accepted");
    assert!(
        get(&old_cert, "new").await.is_err(),
        "a client trusting only the old certificate no longer connects"
    );
    assert_eq!(
        get(&new_cert, "old").await.unwrap(),
        401,
        "the old password is refused"
    );

    // A broken file keeps the last good configuration, logs, and shows in the metric.
    std::fs::write(&web, "tls_server_config: [not, a, mapping]\n").unwrap();
    let body = tokio::time::timeout(EVENT_TIMEOUT, async {
        loop {
            let body = fresh_tls_client(&new_cert)
                .get(&metrics)
                .basic_auth("prometheus", Some("new"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if body.contains("wolkvox_web_config_last_reload_successful 0") {
                break body;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the refused reload shows in wolkvox_web_config_last_reload_successful");
    promtool_check(&body);
    assert_eq!(
        get(&new_cert, "new").await.unwrap(),
        200,
        "the last good configuration stays"
    );
    exporter.stop().await;
}

/// One exchange on a kept-alive connection: the response's status line and headers as sent
/// (the date's value blanked, it changes every second), and its body.
async fn exchange(stream: &mut tokio::net::TcpStream, request: &str) -> (String, Vec<u8>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |n| n.parse().unwrap());
    // A HEAD response states the length of the body it does not send.
    let sent = if request.starts_with("HEAD") {
        0
    } else {
        length
    };
    let mut body = vec![0u8; sent];
    stream.read_exact(&mut body).await.unwrap();
    let head = head
        .lines()
        .map(|l| match l.strip_prefix("date: ") {
            Some(_) => "date: <date>",
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    (head, body)
}

#[tokio::test]
async fn the_metrics_path_answers_with_exactly_these_heads_statuses_and_bodies() {
    let (_sim, url) = spawn_simulator().await;
    let mut cfg = config(&url);
    let hash = bcrypt::hash("s3cret!", 4).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  prometheus: '{hash}'\n")).unwrap();
    cfg.web = wolkvox_exporter::config::web::WebConfig::load(&web).unwrap();
    cfg.web_config_file = Some(web);
    let (exporter, _clock) = spawn_exporter_at(cfg, local(ZONE, "2026-11-25T11:00:00")).await;
    exporter.wait_for_polls(1).await;
    let snapshot = exporter.store.current();
    let plain: Vec<u8> = snapshot.parts(Format::Text, false).concat();
    let gzip: Vec<u8> = snapshot.parts(Format::Text, true).concat();
    let openmetrics: Vec<u8> = snapshot.parts(Format::OpenMetrics, false).concat();
    let openmetrics_gzip: Vec<u8> = snapshot.parts(Format::OpenMetrics, true).concat();
    // prometheus:s3cret!
    let auth = "Authorization: Basic cHJvbWV0aGV1czpzM2NyZXQh\r\n";
    let text = "text/plain; version=0.0.4; charset=utf-8";
    let om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    let ok = |content_type: &str, gzip: bool, len: usize| {
        let encoding = if gzip { "content-encoding: gzip\n" } else { "" };
        format!(
            "HTTP/1.1 200 OK\ncontent-type: {content_type}\nvary: Accept, Accept-Encoding\n{encoding}content-length: {len}\ndate: <date>\n"
        )
    };
    let denied = "HTTP/1.1 401 Unauthorized\ncontent-type: text/plain; charset=utf-8\nwww-authenticate: Basic realm=\"wolkvox-exporter\"\ncontent-length: 13\ndate: <date>\n";
    let prometheus3 = "Accept: application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1\r\n";
    let cases: Vec<(String, String, Vec<u8>)> = vec![
        (
            format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
            ok(text, false, plain.len()),
            plain.clone(),
        ),
        (
            format!("GET /metrics?debug=1 HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
            ok(text, false, plain.len()),
            plain.clone(),
        ),
        (
            format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}Accept-Encoding: gzip\r\n\r\n"),
            ok(text, true, gzip.len()),
            gzip.clone(),
        ),
        (
            format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}{prometheus3}\r\n"),
            ok(om, false, openmetrics.len()),
            openmetrics.clone(),
        ),
        (
            format!(
                "GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}{prometheus3}Accept-Encoding: gzip, deflate\r\n\r\n"
            ),
            ok(om, true, openmetrics_gzip.len()),
            openmetrics_gzip.clone(),
        ),
        (
            format!("HEAD /metrics HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
            ok(text, false, plain.len()),
            Vec::new(),
        ),
        (
            format!("HEAD /metrics HTTP/1.1\r\nHost: x\r\n{auth}Accept-Encoding: gzip\r\n\r\n"),
            ok(text, true, gzip.len()),
            Vec::new(),
        ),
        (
            "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
            denied.to_owned(),
            b"unauthorized\n".to_vec(),
        ),
        (
            // prometheus:wrong
            "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cHJvbWV0aGV1czp3cm9uZw==\r\n\r\n"
                .to_owned(),
            denied.to_owned(),
            b"unauthorized\n".to_vec(),
        ),
        (
            "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
            denied.to_owned(),
            Vec::new(),
        ),
        (
            format!("POST /metrics HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\n\r\n"),
            "HTTP/1.1 405 Method Not Allowed\nallow: GET,HEAD\ncontent-length: 0\ndate: <date>\n"
                .to_owned(),
            Vec::new(),
        ),
        (
            format!("GET /metrics/ HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
            "HTTP/1.1 404 Not Found\ncontent-length: 0\ndate: <date>\n".to_owned(),
            Vec::new(),
        ),
        (
            format!("GET /Metrics HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
            "HTTP/1.1 404 Not Found\ncontent-length: 0\ndate: <date>\n".to_owned(),
            Vec::new(),
        ),
        (
            "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
            "HTTP/1.1 200 OK\ncontent-type: text/plain; charset=utf-8\ncontent-length: 3\ndate: <date>\n"
                .to_owned(),
            b"ok\n".to_vec(),
        ),
        (
            "GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
            denied.to_owned(),
            b"unauthorized\n".to_vec(),
        ),
    ];
    // All on one kept-alive connection, as Prometheus scrapes.
    let mut stream = tokio::net::TcpStream::connect(exporter.addr).await.unwrap();
    for (request, head, body) in cases {
        let (got_head, got_body) = exchange(&mut stream, &request).await;
        assert_eq!(got_head, head, "{request:?}");
        assert!(
            got_body == body,
            "{request:?}: body of {} bytes",
            got_body.len()
        );
    }
    exporter.stop().await;
}

#[tokio::test]
async fn without_users_the_metrics_path_answers_with_exactly_these_heads_and_bodies() {
    let (_sim, url) = spawn_simulator().await;
    let (exporter, _clock) =
        spawn_exporter_at(config(&url), local(ZONE, "2026-11-25T11:00:00")).await;
    exporter.wait_for_polls(1).await;
    let snapshot = exporter.store.current();
    let plain: Vec<u8> = snapshot.parts(Format::Text, false).concat();
    let gzip: Vec<u8> = snapshot.parts(Format::Text, true).concat();
    let openmetrics: Vec<u8> = snapshot.parts(Format::OpenMetrics, false).concat();
    let text = "text/plain; version=0.0.4; charset=utf-8";
    let om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    let ok = |content_type: &str, gzip: bool, len: usize| {
        let encoding = if gzip { "content-encoding: gzip\n" } else { "" };
        format!(
            "HTTP/1.1 200 OK\ncontent-type: {content_type}\nvary: Accept, Accept-Encoding\n{encoding}content-length: {len}\ndate: <date>\n"
        )
    };
    let cases: Vec<(&str, String, Vec<u8>)> = vec![
        (
            "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
            ok(text, false, plain.len()),
            plain.clone(),
        ),
        (
            "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
            ok(text, true, gzip.len()),
            gzip.clone(),
        ),
        (
            "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text\r\n\r\n",
            ok(om, false, openmetrics.len()),
            openmetrics.clone(),
        ),
        (
            "HEAD /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
            ok(text, true, gzip.len()),
            Vec::new(),
        ),
        (
            "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
            "HTTP/1.1 405 Method Not Allowed\nallow: GET,HEAD\ncontent-length: 0\ndate: <date>\n"
                .to_owned(),
            Vec::new(),
        ),
        (
            "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
            ok(text, false, plain.len()),
            plain.clone(),
        ),
    ];
    let mut stream = tokio::net::TcpStream::connect(exporter.addr).await.unwrap();
    for (request, head, body) in cases {
        let (got_head, got_body) = exchange(&mut stream, request).await;
        assert_eq!(got_head, head, "{request:?}");
        assert!(
            got_body == body,
            "{request:?}: body of {} bytes",
            got_body.len()
        );
    }
    exporter.stop().await;
}

#[tokio::test]
async fn a_body_of_about_50_kb_arrives_whole_in_every_negotiation_on_one_connection() {
    // 120 rows: plain bodies of about 50 kB, sent as the parts encoded at poll time.
    let rows: Vec<(String, String)> = (0..120)
        .map(|i| (format!("{}", 2000 + i / 3), format!("{}", i % 3)))
        .collect();
    let body = report_body(
        &rows
            .iter()
            .map(|(rp, opt)| (rp.as_str(), opt.as_str(), "7", "00:01:05"))
            .collect::<Vec<_>>(),
    );
    let url = spawn_raw(move |_, mut stream| {
        let body = body.clone();
        async move { write_answer(&mut stream, 200, &body).await }
    })
    .await;
    let (exporter, _clock) =
        spawn_exporter_at(config(&url), local(ZONE, "2026-11-25T11:00:00")).await;
    exporter.wait_for_polls(1).await;
    let snapshot = exporter.store.current();
    let plain = snapshot.parts(Format::Text, false).concat();
    let openmetrics = snapshot.parts(Format::OpenMetrics, false).concat();
    for body in [&plain, &openmetrics] {
        assert!(
            (40_000..100_000).contains(&body.len()),
            "{} bytes",
            body.len()
        );
    }
    let om = "Accept: application/openmetrics-text;version=1.0.0\r\n";
    let cases = [
        ("", plain.to_vec()),
        (om, openmetrics.to_vec()),
        (
            "Accept-Encoding: gzip\r\n",
            snapshot.parts(Format::Text, true).concat(),
        ),
        ("", plain.to_vec()),
    ];
    // One kept-alive connection: each head starts where the body before it ended.
    let mut stream = tokio::net::TcpStream::connect(exporter.addr).await.unwrap();
    for (headers, want) in cases {
        let request = format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
        let (head, got) = exchange(&mut stream, &request).await;
        assert!(head.starts_with("HTTP/1.1 200 OK\n"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}\n", want.len())),
            "{head}"
        );
        assert!(got == want, "{request:?}: {} bytes", got.len());
    }
    exporter.stop().await;
}

/// The media types and versions for which Prometheus 3 picks a parser; any other Content-Type
/// fails the scrape unless `fallback_scrape_protocol` is set.
const PROMETHEUS_3_PARSES: &[(&str, &[&str])] = &[
    ("text/plain", &["0.0.4", "1.0.0"]),
    ("application/openmetrics-text", &["0.0.1", "1.0.0"]),
];

#[tokio::test]
async fn every_negotiation_of_metrics_answers_with_a_content_type_that_prometheus_3_parses() {
    let (_sim, url) = spawn_simulator().await;
    let (exporter, _clock) =
        spawn_exporter_at(config(&url), local(ZONE, "2026-11-25T11:00:00")).await;
    exporter.wait_for_polls(1).await;
    let text = "text/plain; version=0.0.4; charset=utf-8";
    let om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    // The Accept headers of Prometheus 3's and 2's default scrape protocols, of a text-only
    // scrape configuration, and of a client that sends none.
    let accepts = [
        (
            Some(
                "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
            ),
            om,
        ),
        (
            Some(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            ),
            om,
        ),
        (Some("text/plain;version=0.0.4;q=0.2,*/*;q=0.1"), text),
        (None, text),
    ];
    let mut stream = tokio::net::TcpStream::connect(exporter.addr).await.unwrap();
    for (accept, expected) in accepts {
        for gzip in [false, true] {
            let mut request = "GET /metrics HTTP/1.1\r\nHost: x\r\n".to_owned();
            if let Some(accept) = accept {
                request.push_str(&format!("Accept: {accept}\r\n"));
            }
            if gzip {
                request.push_str("Accept-Encoding: gzip\r\n");
            }
            request.push_str("\r\n");
            let (head, _) = exchange(&mut stream, &request).await;
            let content_type = head
                .lines()
                .find_map(|l| l.strip_prefix("content-type: "))
                .unwrap_or_default();
            assert_eq!(content_type, expected, "{request:?}");
            let mut parts = content_type.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let version = parts
                .find_map(|p| p.strip_prefix("version="))
                .unwrap_or_default();
            assert!(
                PROMETHEUS_3_PARSES
                    .iter()
                    .any(|(m, versions)| *m == media && versions.contains(&version)),
                "{request:?}: {content_type:?} is not a Content-Type Prometheus 3 parses"
            );
        }
    }
    exporter.stop().await;
}

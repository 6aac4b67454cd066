//! `--web.config.file`: TLS and basic auth on /metrics with a real TLS client; probes stay open.
//! And the token file, read again when Kubernetes rotates the Secret.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use wolkvox_exporter::config::Upstream;

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
    wolkvox_exporter::wolkvox::client::install_crypto_provider();
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
    cfg.web = wolkvox_exporter::web::WebConfig::load(&web).unwrap();
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
    let plain = reqwest::Client::new()
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
    wolkvox_exporter::wolkvox::client::install_crypto_provider();
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
    cfg.web = wolkvox_exporter::web::WebConfig::load(&web).unwrap();
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

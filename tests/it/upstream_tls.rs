//! The exporter binary trusts a TLS upstream signed by a CA given in `SSL_CERT_FILE`, as the
//! chart's example mounts a proxy's CA bundle, and refuses it under a CA bundle without it.
//! The simulator is served over TLS on loopback with a certificate for 127.0.0.1 from a CA
//! made for the test.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use common::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use wolkvox_exporter::config::Limits;
use wolkvox_exporter::serve::listener::serve;

const BIN: &str = env!("CARGO_BIN_EXE_wolkvox-exporter");

/// A CA that can sign certificates.
fn certificate_authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// The simulator's router served over TLS on 127.0.0.1 with a certificate that `ca` signed;
/// the base URL to poll.
async fn spawn_tls_simulator(sim: &TestSim, ca: &CertifiedIssuer<'_, KeyPair>) -> String {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &**ca)
        .unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = Limits {
        read_header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        max_connections: 16,
    };
    let tls = Some(Arc::new(ArcSwap::from_pointee(config)));
    tokio::spawn(serve(
        listener,
        sim.router(),
        tls,
        limits,
        std::future::pending(),
    ));
    format!("https://{addr}")
}

/// Starts the exporter binary against `url` with `SSL_CERT_FILE=ca_file`, waits for the log
/// line of its first poll's outcome (`needle`), and returns that line and /metrics.
async fn first_poll(url: &str, ca_file: &Path, needle: &str) -> (String, Metrics, String) {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("SSL_CERT_FILE", ca_file)
        .env("WOLKVOX_TOKEN", TOKEN)
        .args(["--wolkvox.server", SERVER, "--wolkvox.url", url])
        .args(["--web.listen-address", "127.0.0.1:0"]);
    let mut exporter = Process::start(&mut cmd);
    let addr = exporter.address();
    let line = exporter.wait_line(needle);
    wait_ready(&addr).await;
    (line, scrape(&addr).await, exporter.stderr())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_signed_by_the_ca_in_ssl_cert_file_is_trusted_and_another_ca_is_not() {
    wolkvox_exporter::upstream::client::install_crypto_provider();
    let (sim, _plain_url) = spawn_simulator().await;
    let proxy_ca = certificate_authority("test proxy CA");
    let url = spawn_tls_simulator(&sim, &proxy_ca).await;
    let dir = tempfile::tempdir().unwrap();
    let proxy_bundle = dir.path().join("proxy-ca.crt");
    std::fs::write(&proxy_bundle, proxy_ca.pem()).unwrap();
    let other_bundle = dir.path().join("other-ca.crt");
    std::fs::write(&other_bundle, certificate_authority("unrelated CA").pem()).unwrap();
    let polls = |m: &Metrics, result: &str| m.value("wolkvox_polls_total", &[("result", result)]);

    // Trusted: the report comes back over TLS.
    let (line, m, log) = first_poll(&url, &proxy_bundle, "msg=\"polls succeed\"").await;
    assert!(line.contains("result=success"), "{line}");
    assert_eq!(polls(&m, "success"), 1.0, "{}", m.body);
    assert_eq!(m.value("wolkvox_up", &[("operation", SERVER)]), 1.0);
    assert!(sim.stats().requests >= 1);
    assert!(!log.contains(TOKEN), "token in the log:\n{log}");

    // Not trusted: the handshake fails before any request reaches the simulator.
    let before = sim.stats().requests;
    let (line, m, log) = first_poll(&url, &other_bundle, "msg=\"poll failed\"").await;
    assert!(line.contains("result=network_error"), "{line}");
    assert!(
        line.to_lowercase().contains("certificate"),
        "a TLS certificate error: {line}"
    );
    assert_eq!(polls(&m, "network_error"), 1.0, "{}", m.body);
    assert_eq!(polls(&m, "success"), 0.0);
    assert_eq!(m.value("wolkvox_up", &[("operation", SERVER)]), 0.0);
    assert_eq!(sim.stats().requests, before, "no request got through");
    assert!(!log.contains(TOKEN), "token in the log:\n{log}");
    assert!(!m.body.contains(TOKEN));
}

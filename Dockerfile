# Container image of wolkvox-exporter: a static binary on distroless/static, run as a fixed non-root user.
#
#   docker build -t wolkvox-exporter .
#   docker run --rm -p 9862:9862 wolkvox-exporter --demo
#
# About 11 MB: a static binary of about 9 MB (the tests hold it under 10 MiB) on distroless/static
# (about 2 MB), which brings the CA certificates for Wolkvox's TLS and the nonroot user 65532. The
# binary carries its own time zone data (jiff's bundled tzdb), so the image needs no tzdata and no shell.

# Alpine's Rust builds for musl by default, so the plain build command below gives a statically
# linked binary that needs no libc in the runtime image.
FROM rust:1.95-alpine AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
# Cargo.toml declares a bench target: cargo reads its sources' paths even when it does not build them.
COPY benches ./benches
# build.rs cannot ask git for the revision (.git is not in the build context): the release passes it,
# other builds say "unknown".
ARG WOLKVOX_EXPORTER_REVISION=""
# This build command must stay identical to the one the tests run on the CI machine
# (tests/deploy/test_dockerfile.py reads it from this line and runs it): no Docker engine runs
# there, so that test is what shows that this step builds.
RUN cargo build --release --locked

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="wolkvox-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Wolkvox IVR menu report (diagram_1_3)" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /src/target/release/wolkvox-exporter /usr/local/bin/wolkvox-exporter
# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 65532:65532
EXPOSE 9862
ENTRYPOINT ["/usr/local/bin/wolkvox-exporter"]

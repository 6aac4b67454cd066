//! What this binary is: its version, the git revision and date it was built from, and the
//! compiler that built it (set by `build.rs`). `--version` prints them; the metric
//! `wolkvox_exporter_build_info` carries them as labels.

/// The crate's version, from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit (40 hex digits) the binary was built from, or `unknown` (a build outside git).
pub const REVISION: &str = env!("WOLKVOX_EXPORTER_REVISION");

/// The version of rustc that built the binary (`1.95.0`), or `unknown`.
pub const RUSTC: &str = env!("WOLKVOX_EXPORTER_RUSTC");

/// What `--version` prints after the program's name; the build date, in RFC 3339 UTC
/// (`SOURCE_DATE_EPOCH` when the build sets it), is only here.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("WOLKVOX_EXPORTER_REVISION"),
    ", built ",
    env!("WOLKVOX_EXPORTER_BUILD_DATE"),
    ", rustc ",
    env!("WOLKVOX_EXPORTER_RUSTC"),
    ")"
);

//! What every stage stands on: the clock, signals, log lines, the process metrics and the
//! build information.

pub mod build_info;
pub mod clock;
pub mod logging;
pub mod process;
pub mod signals;

//! The clock that says what "now" is: injectable, so that midnight can be tested without
//! waiting for it, and fast-forwarded by the demo.

use jiff::Timestamp;

/// Where wall-clock time comes from. The poller reads it for windows, midnight and
/// timestamps; durations use the monotonic clock instead.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now(&self) -> Timestamp;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that runs `factor` times faster than real time from the moment it is made: the
/// demo's fast-forward, so that a day of simulated traffic passes in minutes.
#[derive(Debug, Clone)]
pub struct ScaledClock {
    origin: Timestamp,
    started: std::time::Instant,
    factor: f64,
}

impl ScaledClock {
    /// A clock that starts at the real now and runs `factor` times faster.
    pub fn new(factor: f64) -> Self {
        Self {
            origin: Timestamp::now(),
            started: std::time::Instant::now(),
            factor,
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let elapsed = self.started.elapsed().mul_f64(self.factor);
        self.origin.checked_add(elapsed).unwrap_or(self.origin)
    }
}

/// A clock that says what a test tells it, and moves only when told.
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug, Clone)]
pub struct ManualClock(std::sync::Arc<std::sync::Mutex<Timestamp>>);

#[cfg(any(test, feature = "test-util"))]
impl ManualClock {
    /// A clock stopped at `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(at)))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

//! The allocator setting of the binary, shared with the benchmark harness so that both measure
//! the same malloc behaviour, and the trim that polls call now and then.

/// glibc's malloc as the exporter's allocation pattern needs it: exposition parts of tens of
/// kilobytes to megabytes that live until their operation's next poll, allocated on whichever
/// thread of tokio's blocking pool encoded them. Call it first thing in `main`.
///
/// - `M_MMAP_THRESHOLD` pinned at 32 KiB. glibc raises its threshold to the largest block freed
///   so far, after which large blocks come from its heaps, which fragment and keep their peak:
///   resident memory grew by tens of megabytes over a hundred polls of 60,000 series. At glibc's
///   initial 128 KiB, the parts of an operation of 1,000 series (about 90 kB each) still came
///   from the heaps, where the polls of many operations left free gaps between them; from
///   32 KiB up a part has its own mapping, returned to the system when it is freed (page-sized
///   rounding costs under 5% of such a block). musl, the image's libc, maps large blocks anyway.
/// - `M_ARENA_MAX` 2. glibc gives each thread that allocates at once with another an arena of
///   its own, up to 8 per core; the first polls of many operations, encoded on as many blocking
///   threads, spread the long-lived parts over 16 arenas here, each keeping its own free memory.
///   Two arenas serve the two runtime workers and the blocking pool without lock waits that
///   show in CPU per poll. Measured at 1,000 operations x 1,000 series (BENCHMARKS.md,
///   Operations): 557 bytes per series with neither setting changed, 506 with both.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    const M_ARENA_MAX: i32 = -8;
    const M_MMAP_THRESHOLD: i32 = -3;
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: mallopt only sets parameters of glibc's malloc (under its own lock); callers run
    // it first thing in main, before any allocation it should apply to.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 * 1024);
        mallopt(M_ARENA_MAX, 2);
    }
}

/// Hands the free pages of every malloc arena back to the system, at most once per
/// `period` whoever calls (later calls within it return at once). glibc keeps what a thread's
/// arena freed, in the middle of its heaps, for that arena's next allocations: the first polls
/// of every operation at once, on the blocking pool's threads, leave free memory in each
/// arena that the steady state never uses again. `malloc_trim` walks the arenas, so it is
/// rationed rather than run after every poll.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn return_free_memory(period: std::time::Duration) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    static NEXT_MS: AtomicU64 = AtomicU64::new(0);
    let now = START.get_or_init(Instant::now).elapsed().as_millis() as u64;
    let next = NEXT_MS.load(Ordering::Relaxed);
    let due = now.saturating_add(period.as_millis() as u64);
    if now < next
        || NEXT_MS
            .compare_exchange(next, due, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: malloc_trim only releases free memory of glibc's arenas, under their locks.
    unsafe {
        malloc_trim(0);
    }
}

/// Other C libraries: nothing to hand back.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_free_memory(_period: std::time::Duration) {}

/// Other C libraries: nothing to set.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}

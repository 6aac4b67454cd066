//! The allocator setting of the binary, shared with the benchmark harness so that both measure
//! the same malloc behaviour, and the trim that polls call now and then.

/// Every poll allocates and frees the exposition's blocks of several megabytes. glibc raises its
/// mmap threshold to the largest block freed so far, after which such blocks come from its heaps,
/// which fragment and keep their peak: resident memory grew by tens of megabytes over a hundred
/// polls of 60,000 series. Pinning the threshold at glibc's initial 128 KiB keeps large blocks
/// in their own mappings, returned to the system when freed. (musl, the image's libc, maps large
/// blocks that way anyway.) Call it first thing in `main`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn return_large_blocks_on_free() {
    const M_MMAP_THRESHOLD: i32 = -3;
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: mallopt only sets a parameter of glibc's malloc (under its own lock); callers run
    // it first thing in main, before any allocation it should apply to.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
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
pub fn return_large_blocks_on_free() {}

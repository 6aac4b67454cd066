//! The allocator setting of the binary, shared with the benchmark harness so that both measure
//! the same malloc behaviour.

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

/// Other C libraries: nothing to set.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_large_blocks_on_free() {}

//! The standard process metrics (`process_cpu_seconds_total`, memory, file descriptors, start
//! time), read from `/proc/self` as the Prometheus client libraries read them. The parsers are
//! pure and tested on literal file contents; [`Sampler`] does the reading, on Linux only.
//!
//! The values are read in the background every [`REFRESH_INTERVAL`] and published into the
//! exposition like any other change, so that a scrape still only hands out prebuilt bytes.

use std::io;
use std::time::Duration;

/// How often the process metrics are read again. Prometheus scrapes every 15 s or more, so a
/// value is at most this old at a usual scrape, and the work is a few small reads of /proc
/// every 5 s whatever the number of scrapers.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// One reading of the process metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    /// User and system CPU time spent, in seconds.
    pub cpu_seconds: f64,
    /// Resident memory size, in bytes.
    pub resident_memory_bytes: u64,
    /// Virtual memory size, in bytes.
    pub virtual_memory_bytes: u64,
    pub open_fds: u64,
    /// The soft limit of open file descriptors (`u64::MAX` when unlimited, as Go's procfs says).
    pub max_fds: u64,
    /// Start of the process, in seconds since the epoch.
    pub start_time_seconds: f64,
}

/// The fields of `/proc/<pid>/stat` that the metrics use, in the kernel's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Clock ticks in user mode (field 14).
    pub utime: u64,
    /// Clock ticks in kernel mode (field 15).
    pub stime: u64,
    /// Clock ticks from boot to the start of the process (field 22).
    pub starttime: u64,
    /// Virtual memory size in bytes (field 23).
    pub vsize: u64,
    /// Resident pages (field 24).
    pub rss: u64,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may itself hold
/// spaces and parentheses, so the fields after it are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    // rest starts with field 3 (the state): field n is at index n - 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        utime: field(14)?,
        stime: field(15)?,
        starttime: field(22)?,
        vsize: field(23)?,
        rss: field(24)?,
    })
}

/// The soft limit of open files from `/proc/<pid>/limits`; `unlimited` is `u64::MAX`.
pub fn parse_max_open_files(text: &str) -> Option<u64> {
    let soft = text
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    }
}

/// The boot time in seconds since the epoch, from the `btime` line of `/proc/stat`.
pub fn parse_boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// Reads the process metrics of this process. What never changes (clock ticks, page size,
/// boot time) is read once, when it is made.
#[derive(Debug, Clone)]
pub struct Sampler {
    clock_ticks: u64,
    page_size: u64,
    boot_time: u64,
}

/// A sampler for this process, or `None` where there is no /proc to read (not Linux) or it
/// cannot be used, which is logged: the process families are then absent from /metrics.
pub fn sampler() -> Option<Sampler> {
    #[cfg(target_os = "linux")]
    match Sampler::new() {
        Ok(sampler) => Some(sampler),
        Err(e) => {
            tracing::warn!(error = %e, "no process metrics");
            None
        }
    }
    #[cfg(not(target_os = "linux"))]
    None
}

impl Sampler {
    /// Reads the constants of the system.
    #[cfg(target_os = "linux")]
    pub fn new() -> io::Result<Sampler> {
        let boot_time =
            parse_boot_time(&read("/proc/stat")?).ok_or_else(|| garbled("/proc/stat"))?;
        Ok(Sampler {
            clock_ticks: sysconf(libc::_SC_CLK_TCK, "_SC_CLK_TCK")?,
            page_size: sysconf(libc::_SC_PAGESIZE, "_SC_PAGESIZE")?,
            boot_time,
        })
    }

    /// Reads the metrics now: `/proc/self/stat`, `/proc/self/limits` and the entries of
    /// `/proc/self/fd`, a few small reads from memory.
    pub fn sample(&self) -> io::Result<ProcessStats> {
        const STAT: &str = "/proc/self/stat";
        const LIMITS: &str = "/proc/self/limits";
        const FD: &str = "/proc/self/fd";
        let stat = parse_stat(&read(STAT)?).ok_or_else(|| garbled(STAT))?;
        let max_fds = parse_max_open_files(&read(LIMITS)?).ok_or_else(|| garbled(LIMITS))?;
        // As the client libraries count: the descriptor of the listing itself included.
        let open_fds = std::fs::read_dir(FD)
            .map_err(|e| cannot_read(FD, e))?
            .count() as u64;
        Ok(self.stats(stat, open_fds, max_fds))
    }

    /// The metrics from a parsed stat: what the Go and Rust client libraries compute.
    fn stats(&self, stat: Stat, open_fds: u64, max_fds: u64) -> ProcessStats {
        let ticks = self.clock_ticks.max(1) as f64;
        ProcessStats {
            cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
            resident_memory_bytes: stat.rss.saturating_mul(self.page_size),
            virtual_memory_bytes: stat.vsize,
            open_fds,
            max_fds,
            start_time_seconds: self.boot_time as f64 + stat.starttime as f64 / ticks,
        }
    }
}

fn read(path: &str) -> io::Result<String> {
    std::fs::read_to_string(path).map_err(|e| cannot_read(path, e))
}

fn cannot_read(path: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot read {path}: {e}"))
}

fn garbled(path: &str) -> io::Error {
    io::Error::other(format!("unexpected contents of {path}"))
}

#[cfg(target_os = "linux")]
fn sysconf(name: libc::c_int, what: &str) -> io::Result<u64> {
    // SAFETY: sysconf only reads a system constant; it takes no pointer.
    let value = unsafe { libc::sysconf(name) };
    u64::try_from(value)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| io::Error::other(format!("sysconf({what}) is not available")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stat line of a process whose name holds spaces and both parentheses, as a thread
    /// renamed with prctl may have: only the last `)` ends it.
    const STAT: &str = "4242 (wolk (x) ) y) S 1 4242 4242 0 -1 4194560 1834 0 0 0 \
        250 75 0 0 20 0 9 0 123456 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 4096 \
        17922 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis_of_the_command_name() {
        assert_eq!(
            parse_stat(STAT),
            Some(Stat {
                utime: 250,
                stime: 75,
                starttime: 123456,
                vsize: 104857600,
                rss: 2560,
            })
        );
        // A plain name, as most processes have.
        let plain = STAT.replace("(wolk (x) ) y)", "(wolkvox-exporte)");
        assert_eq!(parse_stat(&plain), parse_stat(STAT));
    }

    #[test]
    fn a_truncated_or_garbled_stat_is_refused() {
        assert_eq!(parse_stat("4242 (wolkvox) S 1 4242 4242"), None);
        assert_eq!(parse_stat("4242 wolkvox S 1 2 3"), None);
        assert_eq!(parse_stat(&STAT.replace(" 250 75 ", " x 75 ")), None);
        assert_eq!(parse_stat(""), None);
    }

    const LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max processes             63427                63427                processes 
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
";

    #[test]
    fn max_fds_is_the_soft_limit_of_open_files_and_unlimited_is_the_largest_value() {
        assert_eq!(parse_max_open_files(LIMITS), Some(1024));
        let unlimited = LIMITS.replace(
            "Max open files            1024",
            "Max open files            unlimited",
        );
        assert_eq!(parse_max_open_files(&unlimited), Some(u64::MAX));
        assert_eq!(parse_max_open_files("Limit Soft Limit\n"), None);
    }

    #[test]
    fn boot_time_is_read_from_the_btime_line() {
        let stat = "cpu  1 2 3 4 5 6 7 0 0 0\ncpu0 1 2 3 4 5 6 7 0 0 0\nintr 12 0\nctxt 99\n\
            btime 1764400000\nprocesses 300\n";
        assert_eq!(parse_boot_time(stat), Some(1_764_400_000));
        assert_eq!(parse_boot_time("cpu 1 2 3\n"), None);
    }

    #[test]
    fn ticks_become_seconds_and_pages_bytes() {
        let stat = parse_stat(STAT).unwrap();
        let sampler = Sampler {
            clock_ticks: 100,
            page_size: 4096,
            boot_time: 1_764_400_000,
        };
        let stats = sampler.stats(stat, 12, 1024);
        assert_eq!(
            stats,
            ProcessStats {
                cpu_seconds: 3.25,
                resident_memory_bytes: 2560 * 4096,
                virtual_memory_bytes: 104857600,
                open_fds: 12,
                max_fds: 1024,
                start_time_seconds: 1_764_400_000.0 + 1234.56,
            }
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reads_as_plausible_values() {
        let stats = Sampler::new().unwrap().sample().unwrap();
        assert!(stats.resident_memory_bytes > 0);
        assert!(stats.resident_memory_bytes <= stats.virtual_memory_bytes);
        // The listing of /proc/self/fd at least.
        assert!(
            stats.open_fds >= 1 && stats.open_fds <= stats.max_fds,
            "{stats:?}"
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(stats.start_time_seconds <= now + 1.0, "{stats:?}");
        assert!(stats.start_time_seconds > now - 3600.0, "{stats:?}");
        assert!(stats.cpu_seconds >= 0.0);
    }
}

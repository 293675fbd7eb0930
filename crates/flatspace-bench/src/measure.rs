//! Wall and CPU time of a block of work inside this process. CPU time is user + system of all
//! threads (getrusage RUSAGE_SELF), read before and after, so input loading is left out the same
//! way the Python peers' `time.process_time()` deltas leave it out.

use std::time::Instant;

/// User and system CPU seconds this process has used so far, all threads together.
pub fn cpu_seconds() -> (f64, f64) {
    // SAFETY: getrusage only writes into the struct we pass; a zeroed rusage is a valid value.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return (f64::NAN, f64::NAN);
        }
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    (secs(usage.ru_utime), secs(usage.ru_stime))
}

/// Peak resident set size of this process so far, in MiB (Linux reports KiB).
pub fn peak_rss_mib() -> f64 {
    // SAFETY: as above.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return f64::NAN;
        }
        usage
    };
    usage.ru_maxrss as f64 / 1024.0
}

/// What one measured call cost.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Cost {
    pub wall_s: f64,
    pub cpu_s: f64,
    pub user_s: f64,
    pub sys_s: f64,
}

/// Runs `work` and returns its result with its wall and CPU cost.
pub fn measure<T>(work: impl FnOnce() -> T) -> (T, Cost) {
    let (u0, s0) = cpu_seconds();
    let t0 = Instant::now();
    let out = work();
    let wall_s = t0.elapsed().as_secs_f64();
    let (u1, s1) = cpu_seconds();
    let (user_s, sys_s) = (u1 - u0, s1 - s0);
    (
        out,
        Cost {
            wall_s,
            cpu_s: user_s + sys_s,
            user_s,
            sys_s,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_work_costs_cpu_time_and_sleep_does_not() {
        let (sum, busy) = measure(|| {
            let mut acc = 0u64;
            for i in 0..30_000_000u64 {
                acc = acc.wrapping_add(std::hint::black_box(i) * i);
            }
            acc
        });
        assert!(sum > 0);
        assert!(busy.cpu_s > 0.0 && busy.wall_s > 0.0, "{busy:?}");
        let (_, idle) = measure(|| std::thread::sleep(std::time::Duration::from_millis(100)));
        assert!(idle.wall_s >= 0.09, "{idle:?}");
        assert!(
            idle.cpu_s < idle.wall_s / 2.0,
            "sleeping used CPU: {idle:?}"
        );
        assert!(peak_rss_mib() > 0.0);
    }
}

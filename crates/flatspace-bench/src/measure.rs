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

/// A progress sink that records, per stage, the wall and CPU seconds from its first to its last
/// report: where the time of an end-to-end call goes (kNN, affinities, optimisation...).
#[derive(Default)]
pub struct StageClock {
    stages: std::sync::Mutex<Vec<StageSpan>>,
}

struct StageSpan {
    name: &'static str,
    first_wall: Instant,
    last_wall: Instant,
    first_cpu: f64,
    last_cpu: f64,
}

impl StageClock {
    /// `[{stage, wall_s, cpu_s}]` in the order the stages first reported. A stage's span runs
    /// from its first report to the first report of the next stage (or its own last report).
    pub fn summary(&self) -> serde_json::Value {
        let stages = match self.stages.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let spans: Vec<serde_json::Value> = stages
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let (end_wall, end_cpu) = match stages.get(i + 1) {
                    Some(next) => (next.first_wall, next.first_cpu),
                    None => (s.last_wall, s.last_cpu),
                };
                serde_json::json!({
                    "stage": s.name,
                    "wall_s": end_wall.duration_since(s.first_wall).as_secs_f64(),
                    "cpu_s": end_cpu - s.first_cpu,
                })
            })
            .collect();
        serde_json::Value::Array(spans)
    }
}

impl flatspace_compute::ProgressSink for StageClock {
    fn report(&self, progress: &flatspace_compute::Progress<'_>) {
        let now = Instant::now();
        let Ok(mut stages) = self.stages.lock() else {
            return;
        };
        // CPU time is read only when a stage starts or may end (its last unit), so the sink
        // stays cheap on per-epoch reports.
        match stages.iter_mut().find(|s| s.name == progress.stage) {
            Some(span) => {
                span.last_wall = now;
                if progress.done >= progress.total {
                    let (u, s) = cpu_seconds();
                    span.last_cpu = u + s;
                }
            }
            None => {
                let (u, s) = cpu_seconds();
                stages.push(StageSpan {
                    name: progress.stage,
                    first_wall: now,
                    last_wall: now,
                    first_cpu: u + s,
                    last_cpu: u + s,
                });
            }
        }
    }
}

//! Chooses how many iterations a timed run makes, from what a short run measured, so
//! that every row's run takes about the same wall time whatever one iteration costs.

use std::time::Duration;

use super::Result;

/// Iterations for a run of about `target` at `ns` per iteration, at least `min`, to two
/// significant digits.
pub fn scaled_iters(ns: f64, target: Duration, min: u64) -> u64 {
    let raw = (target.as_nanos() as f64 / ns.max(1.0)).clamp(min.max(1) as f64, 1e9) as u64;
    let scale = 10u64.pow(raw.ilog10().saturating_sub(1));
    (raw / scale * scale).max(min)
}

/// A probe run shorter than this is too noisy to scale from; the next probe is longer.
const PROBE_LONG_ENOUGH: Duration = Duration::from_millis(20);
/// Probes never grow past this many iterations (a row that fast scales from it anyway).
const PROBE_MAX_ITERS: u64 = 100_000_000;

/// The iterations of the next probe after one of `iters` iterations measured `ns` each,
/// or `None` if that probe was long enough to scale from.
pub fn next_probe(iters: u64, ns: f64) -> Option<u64> {
    let elapsed = ns.max(0.0) * iters as f64;
    if elapsed >= PROBE_LONG_ENOUGH.as_nanos() as f64 || iters >= PROBE_MAX_ITERS {
        return None;
    }
    Some(iters.saturating_mul(10).min(PROBE_MAX_ITERS))
}

/// Runs `measure` (iterations → ns per iteration) with `start` iterations, then ten
/// times as many until a run is long enough to trust, and returns the count for a run of
/// about `target`. The probes double as the row's warm-up.
pub fn calibrate(
    start: u64,
    target: Duration,
    min: u64,
    mut measure: impl FnMut(u64) -> Result<f64>,
) -> Result<u64> {
    let mut iters = start.max(1);
    loop {
        let ns = measure(iters)?;
        match next_probe(iters, ns) {
            Some(next) => iters = next,
            None => return Ok(scaled_iters(ns, target, min)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HALF_SECOND: Duration = Duration::from_millis(500);

    #[test]
    fn iterations_scale_to_target() {
        assert_eq!(scaled_iters(20_000.0, HALF_SECOND, 1_000), 25_000);
        assert_eq!(scaled_iters(187.0, HALF_SECOND, 1_000), 2_600_000);
        assert_eq!(scaled_iters(1e9, HALF_SECOND, 1_000), 1_000);
        assert_eq!(scaled_iters(600_000.0, HALF_SECOND, 10), 830);
        assert_eq!(scaled_iters(1e9, HALF_SECOND, 10), 10);
    }

    #[test]
    fn probes_grow_until_long_enough() {
        // 10 x 2 µs = 20 µs: far too short.
        assert_eq!(next_probe(10, 2_000.0), Some(100));
        // 10_000 x 2 µs = 20 ms: enough.
        assert_eq!(next_probe(10_000, 2_000.0), None);
        assert_eq!(next_probe(PROBE_MAX_ITERS, 0.1), None);
    }

    #[test]
    fn calibrate_probes_then_scales() {
        let mut probes = Vec::new();
        let iters = calibrate(10, HALF_SECOND, 10, |n| {
            probes.push(n);
            Ok(2_000.0)
        })
        .unwrap();
        assert_eq!(probes, [10, 100, 1_000, 10_000]);
        assert_eq!(iters, 250_000);
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Rate limits for log lines that someone else can cause (a peer), in the
//! shape of the kernel's `struct ratelimit_state`: at most `burst` lines
//! per `interval`; the count of those suppressed is reported with the next
//! line allowed.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::time::Ktime;

/// A rate limit, usable from any context.
pub struct RateLimit {
    interval_ms: u64,
    burst: u32,
    /// Start of the current interval (ms, monotonic); 0: none yet.
    begin: AtomicU64,
    /// Lines allowed in the current interval.
    printed: AtomicU32,
    /// Lines suppressed since the last one allowed.
    missed: AtomicU32,
}

fn now_ms() -> u64 {
    u64::try_from(Ktime::ktime_get().to_ms()).unwrap_or(0)
}

impl RateLimit {
    /// At most `burst` lines per `interval_ms`.
    pub const fn new(interval_ms: u64, burst: u32) -> Self {
        Self {
            interval_ms,
            burst,
            begin: AtomicU64::new(0),
            printed: AtomicU32::new(0),
            missed: AtomicU32::new(0),
        }
    }

    /// Whether a line may be logged now; if lines were suppressed before
    /// it, says how many first (`pr_warn!`, with `what` naming the source).
    /// Concurrent callers may exceed the burst by a line or two.
    pub fn allow_from(&self, what: &kernel::str::CStr) -> bool {
        let now = now_ms().max(1);
        let begin = self.begin.load(Ordering::Relaxed);
        if begin == 0 || now.saturating_sub(begin) >= self.interval_ms {
            self.begin.store(now, Ordering::Relaxed);
            self.printed.store(0, Ordering::Relaxed);
            let missed = self.missed.swap(0, Ordering::Relaxed);
            if missed > 0 {
                pr_warn!("{}: {} log lines suppressed\n", what, missed);
            }
        }
        if self.printed.fetch_add(1, Ordering::Relaxed) < self.burst {
            return true;
        }
        self.missed.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// [`Self::allow_from`] without naming the source.
    pub fn allow(&self) -> bool {
        self.allow_from(kernel::c_str!("ntbnet"))
    }
}

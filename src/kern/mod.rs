// SPDX-License-Identifier: GPL-2.0

//! Kernel services that 6.12's `kernel` crate lacks or that ntbnet needs in
//! another shape: memory barriers, timers, delayed work, delays, random
//! numbers, one-time initialisation, rate limits, debugfs.

pub mod barrier;
pub mod debugfs;
pub mod delay;
pub mod errno;
pub mod field;
pub mod hrtimer;
pub mod once;
pub mod random;
pub mod ratelimit;
pub mod timer;
pub mod types;
pub mod work;

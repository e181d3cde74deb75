// SPDX-License-Identifier: GPL-2.0

//! Sleeping delays (`include/linux/delay.h`).

use crate::klib::bindings;

/// Sleeps for at least `ms` milliseconds. Process context only.
pub fn msleep(ms: u32) {
    // SAFETY: `msleep` has no preconditions beyond a context that may
    // sleep, which the caller's context is (documented above; sleeping in
    // atomic context is caught by DEBUG_ATOMIC_SLEEP, not undefined).
    unsafe { bindings::msleep(ms) }
}

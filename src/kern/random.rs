// SPDX-License-Identifier: GPL-2.0

//! Random numbers (`get_random_bytes`, `get_random_u32`).

use crate::klib::bindings;

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) {
    // SAFETY: `buf` is valid for writes of its length.
    unsafe { bindings::get_random_bytes(buf.as_mut_ptr().cast(), buf.len()) }
}

/// A random 32-bit number.
pub fn u32() -> u32 {
    // SAFETY: No preconditions.
    unsafe { bindings::get_random_u32() }
}

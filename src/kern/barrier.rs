// SPDX-License-Identifier: GPL-2.0

//! Memory barriers of the Linux memory model, for memory shared with a
//! device or with another host through an NTB (`asm/barrier.h`).
//!
//! `core::sync::atomic::fence` does not order write-combined or device
//! memory; these do.

use crate::klib::bindings;

/// Full barrier (`mb()`): earlier loads and stores, including to
/// write-combined and device memory, before later ones.
#[inline]
pub fn mb() {
    // SAFETY: No preconditions.
    unsafe { bindings::ntbnet_mb() }
}

/// Write barrier (`wmb()`): earlier stores before later stores; flushes
/// write-combining buffers.
#[inline]
pub fn wmb() {
    // SAFETY: No preconditions.
    unsafe { bindings::ntbnet_wmb() }
}

/// Read barrier (`rmb()`): earlier loads before later loads.
#[inline]
pub fn rmb() {
    // SAFETY: No preconditions.
    unsafe { bindings::ntbnet_rmb() }
}

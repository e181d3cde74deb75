// SPDX-License-Identifier: GPL-2.0

//! Module parameters declared in C (`module_param` is a macro that 6.12's
//! Rust `module!` has no equivalent of): see src/bindings/helpers.c. A module that
//! has a parameter defines its `NTBNET_*_PARAM` in its C helper file; the
//! others read the default.

use crate::klib::bindings;

/// ntbnet's `scribble` test mode (`/sys/module/ntbnet/parameters/scribble`);
/// false in the other modules.
pub fn scribble() -> bool {
    // SAFETY: Reads a module parameter; no preconditions.
    unsafe { bindings::ntbnet_param_scribble() }
}

/// ntbnet's `hang` test mode (`/sys/module/ntbnet/parameters/hang`); false
/// in the other modules.
pub fn hang() -> bool {
    // SAFETY: Reads a module parameter; no preconditions.
    unsafe { bindings::ntbnet_param_hang() }
}

/// ntbnet's `rx_frags` test mode (`/sys/module/ntbnet/parameters/rx_frags`):
/// receive into order-0 pages, as when the receive page pool has no memory;
/// false in the other modules.
pub fn rx_frags() -> bool {
    // SAFETY: Reads a module parameter; no preconditions.
    unsafe { bindings::ntbnet_param_rx_frags() }
}

/// ntbnet's `poke_msi` test mode: a pending raw write into the peer's MSI
/// window, `offset << 32 | data`, taken (the parameter reads 0 again); 0
/// when none is pending, and always in the other modules.
pub fn take_poke_msi() -> u64 {
    // SAFETY: Exchanges a module parameter atomically; no preconditions.
    unsafe { bindings::ntbnet_take_poke_msi() }
}

/// ntbnet's `debug` parameter, the message level at probe as
/// `netif_msg_init()` reads it (-1: the driver's default); -1 in the other
/// modules.
pub fn debug() -> i32 {
    // SAFETY: Reads a module parameter; no preconditions.
    unsafe { bindings::ntbnet_param_debug() }
}

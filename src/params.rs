// SPDX-License-Identifier: GPL-2.0

//! ntbnet's module parameters, declared in C (`module_param` is a macro
//! that 6.12's Rust `module!` has no equivalent of): see
//! net/ntbnet_helpers.c. Only ntbnet links this.

use crate::klib::bindings;

/// The `scribble` test mode (`/sys/module/ntbnet/parameters/scribble`).
#[inline] // Codegen only where used: ntb_hw_ivshmem lacks the C side.
pub fn scribble() -> bool {
    // SAFETY: Reads a module parameter; no preconditions.
    unsafe { bindings::ntbnet_param_scribble() }
}

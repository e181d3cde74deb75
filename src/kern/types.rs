// SPDX-License-Identifier: GPL-2.0

//! Small type helpers that later kernels have in `kernel::types`.

use kernel::init::PinInit;
use kernel::prelude::*;
use kernel::types::Opaque;

/// Initialises an [`Opaque<T>`] in place with a fallible C-style init
/// function: `Opaque::try_ffi_init` of later kernels.
///
/// # Safety
///
/// `init_func` must fully initialise the `T` it is given when it returns
/// `Ok`, and leave nothing behind that needs cleanup when it returns `Err`.
pub unsafe fn try_ffi_init<T>(
    init_func: impl FnOnce(*mut T) -> Result,
) -> impl PinInit<Opaque<T>, Error> {
    // SAFETY: `slot` is valid, pinned memory for an `Opaque<T>`, whose
    // contents may stay uninitialised; on error the caller's contract says
    // nothing needs cleanup, and `Opaque` has no drop glue for `T`.
    unsafe {
        kernel::init::pin_init_from_closure(move |slot: *mut Opaque<T>| {
            init_func(Opaque::raw_get(slot))
        })
    }
}

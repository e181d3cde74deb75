// SPDX-License-Identifier: GPL-2.0

//! Error codes that 6.12's `kernel::error::code` lacks (later kernels
//! have them there).

use crate::klib::bindings;
use kernel::prelude::*;

fn errno(e: u32) -> Error {
    Error::from_errno(-(e as i32))
}

/// `EOPNOTSUPP`: the operation is not supported.
pub fn eopnotsupp() -> Error {
    errno(bindings::EOPNOTSUPP)
}

/// `ENOTCONN`: the link is not up.
pub fn enotconn() -> Error {
    errno(bindings::ENOTCONN)
}

/// `EADDRNOTAVAIL`: no address to give.
pub fn eaddrnotavail() -> Error {
    errno(bindings::EADDRNOTAVAIL)
}

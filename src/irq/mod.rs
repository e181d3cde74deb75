// SPDX-License-Identifier: GPL-2.0

//! Interrupts: requesting a line (`request`, re-exported here), the NTB
//! irq domain (`domain`) and its pure index logic (`index`, host-tested as
//! the `ntbnet-irq-index` crate).

pub mod domain;
pub mod index;
pub mod request;

pub use request::{Handler, IrqReturn, Registration};

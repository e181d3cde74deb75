// SPDX-License-Identifier: GPL-2.0

//! ntbnet's tracepoints (`events/ntbnet/` in tracefs), defined in C with
//! `TRACE_EVENT` (net/ntbnet_trace.h, created in net/ntbnet_helpers.c);
//! each function here fires one. In the other modules they do nothing.
//!
//! A disabled tracepoint costs a call and a static branch; the data path
//! calls [`tx_publish`] and [`rx_consume`] once per batch, not per frame.

use crate::klib::bindings;
use crate::klib::net::Device;
use kernel::str::CStr;

/// `ntbnet_tx_publish`: `frames` descriptors were published on transmit
/// queue `queue`, its producer index now `prod`; `kick` if the peer's
/// queue interrupt was raised.
pub fn tx_publish(dev: &Device, queue: u16, prod: u32, frames: u32, kick: bool) {
    // SAFETY: `dev` is a valid net_device for the call; the C function
    // only reads its name.
    unsafe { bindings::ntbnet_trace_tx_publish(dev.as_raw(), queue, prod, frames, kick) }
}

/// `ntbnet_rx_consume`: a poll consumed `frames` descriptors of receive
/// queue `queue` and wrote back the consumer index `cons`; `kick` if the
/// peer's queue interrupt was raised.
pub fn rx_consume(dev: &Device, queue: u16, cons: u32, frames: u32, kick: bool) {
    // SAFETY: As in `tx_publish`.
    unsafe { bindings::ntbnet_trace_rx_consume(dev.as_raw(), queue, cons, frames, kick) }
}

/// `ntbnet_link`: the carrier came up with `queues` queues, or went down
/// for the reason `why`.
pub fn link(dev: &Device, up: bool, queues: u32, why: &CStr) {
    // SAFETY: As in `tx_publish`; `why` is NUL-terminated and outlives the
    // call (the tracepoint copies it).
    unsafe { bindings::ntbnet_trace_link(dev.as_raw(), up, queues, why.as_char_ptr()) }
}

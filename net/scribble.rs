// SPDX-License-Identifier: GPL-2.0

//! The `scribble` test mode: a misbehaving peer on demand.
//!
//! `echo 1 > /sys/module/ntbnet/parameters/scribble` makes this host write
//! random bytes over the peer's whole inbound window, every link tick, and
//! ring every queue interrupt of the peer, instead of negotiating. The
//! peer must stay healthy and count what it rejects (`ethtool -S`). Writing
//! 0 ends the mode and starts a new session, after which the link comes
//! back. Nothing else changes while the parameter is 0.

use crate::klib::{params, random};
use crate::nic::{Nic, Windows};

/// Whether the test mode is on.
pub(crate) fn enabled() -> bool {
    params::scribble()
}

/// One round of garbage over the peer's window, then its interrupts.
pub(crate) fn scribble(nic: &Nic, win: &Windows) {
    let out = &win.outbound;
    // Fresh garbage each round, repeated over the window: the queue areas
    // do not start at multiples of its size, so every field sees other
    // values.
    let mut buf = [0u8; 1024];
    random::fill(&mut buf);
    let mut off = 0;
    while off < out.len() {
        let n = buf.len().min(out.len() - off);
        let _ = out.write(off, buf.get(..n).unwrap_or(&[]));
        off += n;
    }
    for bit in 0..crate::notify::MAX_BITS {
        nic.shared.notify.kick(bit);
    }
}

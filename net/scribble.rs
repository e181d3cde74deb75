// SPDX-License-Identifier: GPL-2.0

//! Test modes: a misbehaving peer, and a hung one, on demand.
//!
//! `echo 1 > /sys/module/ntbnet/parameters/scribble` makes this host write
//! garbage over the peer's whole inbound window, every link tick, and ring
//! every queue interrupt of the peer, instead of negotiating. The peer must
//! stay healthy and count what it rejects (`ethtool -S`). Writing 0 ends
//! the mode and starts a new session, after which the link comes back.
//! Nothing else changes while the parameter is 0.
//!
//! `echo 1 > /sys/module/ntbnet/parameters/hang` stops this host's link
//! work and heartbeat (the data path goes on), as if its link management
//! hung with the NTB link still up: the peer must notice the silent
//! heartbeat within a second. Writing 0 resumes them.
//!
//! `echo $((OFFSET << 32 | DATA)) > /sys/module/ntbnet/parameters/poke_msi`
//! makes this host write `DATA` once at `OFFSET` of the peer's MSI window
//! (its last outbound window), at the next link tick; the parameter reads
//! 0 once it is done. That is a peer writing a trigger it was never given:
//! the peer's interrupt remapping must keep it from raising anything but
//! the peer's own NTB interrupts (selftests/vm/switchtec_msi_safety.sh).
//!
//! Random bytes alone rarely get past the first check (`prod`), so while
//! the link is up each round also publishes, on every queue, a plausible
//! `prod` and descriptors whose `seq` matches but whose other fields are
//! random: the descriptor checks, and frames of garbage, get exercised too.

use crate::klib::io::Io;
use crate::klib::irq::domain::{PeerTrigger, Trigger};
use crate::klib::kern::{params, random};
use crate::klib::ntb;
use crate::queue::Queue;
use crate::ring::{Desc, WindowLayout, Q_PROD};
use crate::window::Windows;
use kernel::prelude::*;
use kernel::sync::Arc;

/// A random number below `n` (0 if `n` is 0).
fn random_below(n: u32) -> u32 {
    random::u32().checked_rem(n).unwrap_or(0)
}

/// Performs a pending `poke_msi` write (see the module documentation).
pub(crate) fn poke_msi(dev: &ntb::Device) {
    let v = params::take_poke_msi();
    if v == 0 {
        return;
    }
    let trigger = Trigger::Msi {
        window: dev.peer_mw_count().saturating_sub(1),
        offset: (v >> 32) as u32,
        data: v as u32,
    };
    match PeerTrigger::new(dev, &trigger) {
        Ok(t) => {
            t.fire();
            pr_info!(
                "{}: poke_msi: wrote {:#x} at {:#x} of the peer's MSI window\n",
                dev.name(),
                v as u32,
                v >> 32
            );
        }
        Err(e) => pr_info!("{}: poke_msi: {:?}\n", dev.name(), e),
    }
}

/// Whether the scribble test mode is on.
pub(crate) fn enabled() -> bool {
    params::scribble()
}

/// Whether the hang test mode is on.
pub(crate) fn hung() -> bool {
    params::hang()
}

/// One round of garbage over the peer's window (of layout `layout`, if the
/// link was up), then its interrupts.
pub(crate) fn scribble(
    dev: &ntb::Device,
    queues: &[Arc<Queue>],
    win: &Windows,
    layout: Option<WindowLayout>,
) {
    let out = &win.outbound;
    // Fresh garbage each round, repeated over the window: the queue areas
    // do not start at multiples of its size, so every field sees other
    // values.
    let mut buf = [0u8; 1024];
    random::fill(&mut buf);
    let mut off = 0;
    while off < out.len() {
        let n = buf.len().min(out.len() - off);
        let _ = out.try_write_bytes(buf.get(..n).unwrap_or(&[]), off);
        off += n;
    }
    if let Some(l) = layout {
        let ql = *l.queue();
        for (q, queue) in queues.iter().enumerate().take(l.queues() as usize) {
            let (Some(prod), Some(base)) = (queue.tx_prod(), l.queue_base(q as u32)) else {
                continue;
            };
            let base = base as usize;
            let count = random_below(ql.entries()) + 1;
            for i in 0..count {
                let seq = prod.wrapping_add(i);
                let r = random::u32();
                let off = random_below(ql.data_size());
                let desc = Desc {
                    // Aligned half of the time.
                    off: if r & 1 == 0 { off & !63 } else { off },
                    len: random_below(ql.max_frame() + 64),
                    flags: r >> 1 & r >> 2 & 0x3,
                    seq,
                };
                let _ = out.try_write_bytes(&desc.to_le_bytes(), base + ql.desc_off(seq) as usize);
            }
            let _ = out.try_write32(prod.wrapping_add(count), base + Q_PROD as usize);
        }
    }
    if layout.is_some() {
        for queue in queues.iter() {
            queue.poke_peer();
        }
    } else {
        let _ = dev.peer_db_set(dev.db_valid_mask());
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The `scribble` test mode (see `hooks.rs`): this host writes garbage over
//! the peer's whole inbound window, every link tick, and rings every queue
//! interrupt of the peer, instead of negotiating. The peer must stay
//! healthy and count what it rejects (`ethtool -S`).
//!
//! Random bytes alone rarely get past the first check (`prod`), so while
//! the link is up each round also publishes, on every queue, a plausible
//! `prod` and descriptors whose `seq` matches but whose other fields are
//! random: the descriptor checks, and frames of garbage, get exercised too.

use crate::klib::io::Io;
use crate::klib::kern::random;
use crate::klib::ntb;
use crate::queue::Queue;
use crate::ring::{Desc, WindowLayout, Q_PROD};
use crate::window::Windows;
use kernel::sync::Arc;

/// A random number below `n` (0 if `n` is 0).
fn random_below(n: u32) -> u32 {
    random::u32().checked_rem(n).unwrap_or(0)
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

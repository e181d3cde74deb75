// SPDX-License-Identifier: GPL-2.0

//! Per-queue interrupts: the seam between the data path and where its
//! interrupts come from.
//!
//! The data path needs two things per queue: a local interrupt that
//! schedules the queue's NAPI context, and a trigger descriptor
//! `(offset, data)` that tells the peer how to raise it. This file provides
//! them with NTB doorbells (one doorbell bit per queue, the bit of the
//! queue's own vector when the NTB has several): the trigger descriptor is
//! `(0, bit)` and the peer raises it with `ntb_peer_db_set`.
//!
//! The NTB irq domain (issue 4) will provide the same per queue (a Linux
//! IRQ requested with the queue as handler, and a trigger descriptor the
//! peer writes through a window); replacing this file's [`Doorbells`] with
//! it changes neither the negotiation (trigger descriptors in scratchpads)
//! nor the queues, which only call [`Doorbells::kick`] and get
//! [`Doorbells::pending`] through `db_event`.

use crate::klib::ntb;
use crate::negotiate;

/// Most queues one doorbell register can serve.
pub(crate) const MAX_BITS: u32 = 64;

/// The doorbell bits of this host's queues, and how to ring the peer's.
pub(crate) struct Doorbells {
    ntb: ntb::Handle,
    /// Bit of local queue `q`.
    bits: [u8; MAX_BITS as usize],
    /// How many queues have a bit.
    count: u32,
    /// Every bit in `bits[..count]`.
    mask: u64,
    /// Distinct interrupt vectors among them.
    vectors: u32,
}

impl Doorbells {
    /// Assigns one doorbell bit to each possible queue: the first bit of
    /// vector `q` when the NTB has several vectors (so that each queue has
    /// its own interrupt), else bit `q` of the one vector.
    pub(crate) fn new(ntb: &ntb::Device) -> Self {
        let valid = ntb.db_valid_mask();
        let vcount = ntb.db_vector_count();
        let mut bits = [0u8; MAX_BITS as usize];
        let mut count = 0u32;
        let mut mask = 0u64;
        // One bit per vector when there are several, else every bit.
        let candidates = (0..MAX_BITS).filter_map(|i| {
            let m = if vcount > 1 {
                if i < vcount {
                    ntb.db_vector_mask(i) & valid
                } else {
                    0
                }
            } else {
                valid & (1 << i)
            };
            (m != 0).then(|| m.trailing_zeros())
        });
        for bit in candidates {
            if mask & (1 << bit) != 0 {
                continue;
            }
            if let Some(slot) = bits.get_mut(count as usize) {
                *slot = bit as u8;
                mask |= 1 << bit;
                count += 1;
            }
        }
        Self {
            ntb: ntb.handle(),
            bits,
            count,
            mask,
            vectors: if vcount > 1 { count } else { vcount.min(1) },
        }
    }

    /// Queues that can have their own doorbell bit.
    pub(crate) fn queues(&self) -> u32 {
        self.count
    }

    /// Interrupt vectors these queues use (the "interrupts available").
    pub(crate) fn vectors(&self) -> u32 {
        self.vectors
    }

    /// The trigger descriptor `(offset, data)` of local queue `q`, for the
    /// peer.
    pub(crate) fn trigger(&self, q: u32) -> (u32, u32) {
        (0, self.bits.get(q as usize).copied().map_or(0, u32::from))
    }

    /// The kind word for `SP_IRQ`.
    pub(crate) fn irq_word(&self, queues: u32) -> u32 {
        negotiate::IRQ_DOORBELL << 24 | queues.min(self.count)
    }

    /// Unmasks (`on`) or masks this host's queue bits.
    pub(crate) fn enable(&self, on: bool) {
        let ntb = self.ntb.get();
        // Failures leave the doorbells as they were: a masked doorbell only
        // delays the queue to the recovery timer.
        let _ = if on {
            ntb.db_clear(self.mask)
                .and_then(|()| ntb.db_clear_mask(self.mask))
        } else {
            ntb.db_set_mask(self.mask)
        };
    }

    /// The local queues signalled on `vector`, as a bit per queue; clears
    /// their doorbell bits. From `db_event` (interrupt context).
    pub(crate) fn pending(&self, vector: u32) -> u64 {
        let ntb = self.ntb.get();
        let bits = ntb.db_read() & ntb.db_vector_mask(vector) & self.mask;
        if bits == 0 {
            return 0;
        }
        let _ = ntb.db_clear(bits);
        let mut queues = 0u64;
        for (q, &b) in self.bits.iter().take(self.count as usize).enumerate() {
            if bits & (1 << b) != 0 {
                queues |= 1 << q;
            }
        }
        queues
    }

    /// Raises the peer's queue interrupt whose trigger data is `bit` (a
    /// posted write).
    pub(crate) fn kick(&self, bit: u32) {
        if bit < MAX_BITS {
            let _ = self.ntb.get().peer_db_set(1 << bit);
        }
    }
}

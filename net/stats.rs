// SPDX-License-Identifier: GPL-2.0

//! Counters: per queue (`ethtool -S` as `q<N>_<name>`, summed for
//! `ndo_get_stats64`) and per device.

use crate::handshake::RefusalKind;
use crate::ring::RingError;
use core::sync::atomic::{AtomicU64, Ordering};

/// A counter written by one context at a time, read from any.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`.
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one.
    pub(crate) fn inc(&self) {
        self.add(1);
    }

    /// Sets the value (a gauge).
    pub(crate) fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// The current value.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The counters of one queue pair.
#[derive(Default)]
pub(crate) struct QueueStats {
    /// Frames received and handed to the stack.
    pub(crate) rx_packets: Counter,
    /// Their bytes.
    pub(crate) rx_bytes: Counter,
    /// Received frames dropped (no memory).
    pub(crate) rx_dropped: Counter,
    /// Frames sent.
    pub(crate) tx_packets: Counter,
    /// Their bytes.
    pub(crate) tx_bytes: Counter,
    /// Frames dropped on transmit (no link, too long, copy failed).
    pub(crate) tx_dropped: Counter,
    /// Interrupts from the peer.
    pub(crate) interrupts: Counter,
    /// Interrupts raised on the peer.
    pub(crate) kicks: Counter,
    /// Times the queue stopped because the ring was full.
    pub(crate) tx_stops: Counter,
    /// Polls started by the coalescing timer (a held-back receive
    /// interrupt's time was up).
    pub(crate) coal_polls: Counter,
    /// Times adaptive moderation changed the queue's level.
    pub(crate) dim_moves: Counter,
    /// The receive coalescing in use now: microseconds (a gauge).
    pub(crate) coal_usecs: Counter,
    /// The same: frames (a gauge).
    pub(crate) coal_frames: Counter,
    /// Peer protocol errors, by `RingError::index()`.
    pub(crate) errors: [Counter; RingError::COUNT],
}

/// Names of the per-queue counters, in [`QueueStats::values`] order.
pub(crate) const QUEUE_NAMES: [&str; 13] = [
    "rx_packets",
    "rx_bytes",
    "rx_dropped",
    "tx_packets",
    "tx_bytes",
    "tx_dropped",
    "interrupts",
    "kicks",
    "tx_ring_full",
    "rx_coal_timer_polls",
    "rx_dim_moves",
    "rx_coal_usecs",
    "rx_coal_frames",
];

/// Counters per queue in `ethtool -S`.
pub(crate) const PER_QUEUE: u32 = QUEUE_NAMES.len() as u32 + RingError::COUNT as u32;

impl QueueStats {
    /// Counts a peer protocol error.
    pub(crate) fn error(&self, e: RingError) {
        if let Some(c) = self.errors.get(e.index()) {
            c.inc();
        }
    }

    /// Every counter, in name order ([`QUEUE_NAMES`], then the
    /// `RingError` names).
    pub(crate) fn values(&self) -> impl Iterator<Item = u64> + '_ {
        [
            &self.rx_packets,
            &self.rx_bytes,
            &self.rx_dropped,
            &self.tx_packets,
            &self.tx_bytes,
            &self.tx_dropped,
            &self.interrupts,
            &self.kicks,
            &self.tx_stops,
            &self.coal_polls,
            &self.dim_moves,
            &self.coal_usecs,
            &self.coal_frames,
        ]
        .into_iter()
        .chain(self.errors.iter())
        .map(Counter::get)
    }

    /// Every counter's name, in [`Self::values`] order.
    pub(crate) fn names() -> impl Iterator<Item = &'static str> {
        QUEUE_NAMES
            .into_iter()
            .chain(RingError::ALL.into_iter().map(RingError::name))
    }

    /// The protocol errors of this queue.
    pub(crate) fn errors_of(&self, e: RingError) -> u64 {
        self.errors.get(e.index()).map_or(0, Counter::get)
    }
}

/// The error counters of `struct rtnl_link_stats64` (`ip -s -s link`),
/// from the protocol errors of every queue, as the kernel's
/// Documentation/networking/statistics.rst defines them; `ethtool -S`
/// shows the same sums under the same names.
#[derive(Default, Clone, Copy)]
pub(crate) struct ErrorTotals {
    /// Every bad value read from the peer about what it sent: all but
    /// `bad_cons`.
    pub(crate) rx_errors: u64,
    /// Frames of a bad length: `bad_desc_len`, `bad_desc_extent`.
    pub(crate) rx_length_errors: u64,
    /// Malformed descriptors: sequence, flags, offset, GSO fields.
    pub(crate) rx_frame_errors: u64,
    /// Bad values about what this host sent: `bad_cons`.
    pub(crate) tx_errors: u64,
}

/// Names of the [`ErrorTotals`] in `ethtool -S`, in [`ErrorTotals::values`]
/// order: those of `rtnl_link_stats64`.
pub(crate) const ERROR_NAMES: [&str; 4] = [
    "rx_errors",
    "rx_length_errors",
    "rx_frame_errors",
    "tx_errors",
];

impl ErrorTotals {
    /// The sums over `queues`.
    pub(crate) fn of<'a>(queues: impl Iterator<Item = &'a QueueStats>) -> Self {
        let mut t = Self::default();
        for q in queues {
            for e in RingError::ALL {
                let n = q.errors_of(e);
                let add = |sum: &mut u64| *sum = sum.wrapping_add(n);
                match e {
                    RingError::BadConsumer => add(&mut t.tx_errors),
                    RingError::BadProducer => add(&mut t.rx_errors),
                    RingError::BadLength | RingError::BadExtent => {
                        add(&mut t.rx_errors);
                        add(&mut t.rx_length_errors);
                    }
                    _ => {
                        add(&mut t.rx_errors);
                        add(&mut t.rx_frame_errors);
                    }
                }
            }
        }
        t
    }

    /// Every sum, in [`ERROR_NAMES`] order.
    pub(crate) fn values(&self) -> [u64; 4] {
        [
            self.rx_errors,
            self.rx_length_errors,
            self.rx_frame_errors,
            self.tx_errors,
        ]
    }
}

/// Device-wide counters.
#[derive(Default)]
pub(crate) struct LinkStats {
    /// Times the link came up.
    pub(crate) link_up: Counter,
    /// Times it went down.
    pub(crate) link_down: Counter,
    /// Peers refused (every reason), and republished triggers ignored.
    pub(crate) peer_refused: Counter,
    /// Refusals by reason, by `RefusalKind::index()`.
    refused: [Counter; RefusalKind::COUNT],
}

/// Names of the device-wide counters before the refusal reasons.
const LINK_NAMES: [&str; 3] = ["link_up", "link_down", "peer_refused"];

impl LinkStats {
    /// Number of counters.
    pub(crate) const COUNT: u32 = (LINK_NAMES.len() + RefusalKind::COUNT) as u32;

    /// Counts a refusal of reason `kind` (on top of `peer_refused`).
    pub(crate) fn refused(&self, kind: RefusalKind) {
        if let Some(c) = self.refused.get(kind.index()) {
            c.inc();
        }
    }

    /// Every counter's name, in [`Self::values`] order.
    pub(crate) fn names() -> impl Iterator<Item = &'static str> {
        LINK_NAMES
            .into_iter()
            .chain(RefusalKind::ALL.into_iter().map(RefusalKind::name))
    }

    /// Every counter, in [`Self::names`] order.
    pub(crate) fn values(&self) -> impl Iterator<Item = u64> + '_ {
        [&self.link_up, &self.link_down, &self.peer_refused]
            .into_iter()
            .chain(self.refused.iter())
            .map(Counter::get)
    }
}

// SPDX-License-Identifier: GPL-2.0

//! One queue pair: the transmit ring this host writes into the peer's
//! window, the receive ring the peer writes into this host's window, and
//! the NAPI context that serves both.
//!
//! Every access to shared memory follows Documentation/ring-protocol.md:
//! the peer's window is written only (posted writes through the outbound
//! mapping), this host's window is read only, each value once into a local
//! copy that `ring.rs` validates before anything uses it.

use crate::hooks::TestHooks;
use crate::impl_has_field;
use crate::klib::io::Io;
use crate::klib::irq::domain::PeerTrigger;
use crate::klib::kern::barrier::{mb, rmb, wmb};
use crate::klib::kern::hrtimer::{HrTimer, HrTimerCallback};
use crate::klib::net::dim::{self, Dim};
use crate::klib::net::napi::{self, Napi};
use crate::klib::net::page_pool::PagePool;
use crate::klib::net::skb::{SkBuff, TcpGso};
use crate::klib::net::{self, trace, TxQueue, TxResult};
use crate::ring::{
    gso_in_use, Desc, Gso, GsoProto, QueueLayout, RingError, RxFrame, RxRing, TxError, TxRing,
    WindowLayout, DESC_F_CSUM_VALID, DESC_LEN, FEATURE_CSUM, Q_CONS, Q_PROD, Q_RX_EVENT,
    Q_TX_EVENT,
};
use crate::stats::QueueStats;
use crate::window::Windows;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::{Arc, SpinLock};
use kernel::time::Ktime;

/// Bytes of a frame received into the skb's head, the rest going into
/// fragments: room for the headers GRO and the stack parse.
const RX_HEAD: u32 = 256;

/// A page, the size of a receive fragment without the page pool.
const PAGE_SIZE: u32 = kernel::page::PAGE_SIZE as u32;

/// The receive page pool's pages: 64 KiB, room for the largest frame
/// (`ring::MAX_FRAME` less the head), shared by smaller ones.
const RX_POOL_ORDER: u32 = 4;

/// Pages the receive pool keeps for reuse, at most: what sockets hold
/// between the driver and the reader comes back to it.
const RX_POOL_PAGES: u32 = 128;

/// Room for a VLAN tag on top of the MTU when deciding whether the next
/// frame fits.
const VLAN_HLEN: u32 = 4;

fn to_usize(v: u32) -> usize {
    v as usize
}

/// The offset of queue `q`'s area in a window of layout `w`.
fn queue_base(w: &WindowLayout, q: u32) -> Result<usize> {
    w.queue_base(q)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or(EINVAL)
}

/// What became of a frame handed to [`Queue::xmit`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Xmit {
    /// In the ring.
    Sent,
    /// Dropped (no link, too long, a GSO the link cannot carry).
    Dropped,
    /// No room: the queue is stopped, the stack requeues the frame.
    Busy,
}

/// The sending side of a queue pair, for one link session.
pub(crate) struct TxState {
    win: Arc<Windows>,
    ring: TxRing<KVec<u32>>,
    /// Length of the frame in each descriptor slot, for BQL.
    lens: KVec<u32>,
    /// This queue's area in the peer's window (the ring).
    out_base: usize,
    /// This queue's area in this host's window (`cons`, `rx_event`).
    in_base: usize,
    /// How to raise the peer's interrupt for this queue.
    kick: Arc<PeerTrigger>,
    /// Whether descriptors may carry `DESC_F_CSUM_VALID`.
    csum: bool,
    /// Whether descriptors may carry GSO frames (`FEATURE_GSO`).
    gso: bool,
}

/// The receiving side of a queue pair, for one link session.
pub(crate) struct RxState {
    win: Arc<Windows>,
    ring: RxRing,
    /// This queue's area in this host's window (the ring).
    in_base: usize,
    /// This queue's area in the peer's window (`cons`, `rx_event`).
    out_base: usize,
    /// How to raise the peer's interrupt for this queue.
    kick: Arc<PeerTrigger>,
    /// Receive memory (`None`: order-0 pages only).
    pool: Option<PagePool>,
}

impl TxState {
    /// The sending side of queue `q` for the agreed layouts.
    pub(crate) fn new(
        win: Arc<Windows>,
        q: u32,
        local: &WindowLayout,
        peer: &WindowLayout,
        kick: Arc<PeerTrigger>,
    ) -> Result<Self> {
        let ql: QueueLayout = *peer.queue();
        let n = to_usize(ql.entries());
        let ring = TxRing::new(ql, KVec::from_elem(0u32, n, GFP_KERNEL)?).map_err(|_| EINVAL)?;
        Ok(Self {
            win,
            ring,
            lens: KVec::from_elem(0u32, n, GFP_KERNEL)?,
            out_base: queue_base(peer, q)?,
            in_base: queue_base(local, q)?,
            kick,
            csum: peer.features() & FEATURE_CSUM != 0,
            gso: gso_in_use(peer.features()),
        })
    }
}

impl RxState {
    /// The receiving side of queue `q` for the agreed layouts.
    pub(crate) fn new(
        win: Arc<Windows>,
        q: u32,
        local: &WindowLayout,
        peer: &WindowLayout,
        kick: Arc<PeerTrigger>,
    ) -> Result<Self> {
        Ok(Self {
            win,
            ring: RxRing::new(*local.queue(), local.features()),
            in_base: queue_base(local, q)?,
            out_base: queue_base(peer, q)?,
            kick,
            pool: PagePool::new(RX_POOL_ORDER, local.queue().entries().min(RX_POOL_PAGES)).ok(),
        })
    }
}

/// How long a receive interrupt may wait once a poll found work: until
/// `frames` more frames are published or `usecs` microseconds passed,
/// whichever comes first (`ethtool -C ntb0 rx-usecs rx-frames`). `usecs`
/// 0: no waiting, an interrupt per frame; `frames` 0: no frame bound (half
/// the ring).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Moderation {
    pub(crate) usecs: u32,
    pub(crate) frames: u32,
}

impl Moderation {
    /// An interrupt for every frame.
    pub(crate) const OFF: Self = Self {
        usecs: 0,
        frames: 0,
    };
}

/// The levels adaptive moderation (`adaptive-rx`, lib/dim) moves between.
/// A frame here is up to a 64 KiB TSO frame, forty Ethernet packets, so
/// the frame counts are the DIM library's own tables' (64-256 packets of
/// an Ethernet NIC) over about ten, and the times longer: level 4 holds an
/// interrupt for at most 32 frames or half a millisecond, about ten 64 KiB
/// frames at 10 Gbit/s. Level 0, where DIM starts, is off.
const DIM_LEVELS: [Moderation; dim::PROFILES] = [
    Moderation::OFF,
    Moderation {
        usecs: 25,
        frames: 4,
    },
    Moderation {
        usecs: 100,
        frames: 8,
    },
    Moderation {
        usecs: 250,
        frames: 16,
    },
    Moderation {
        usecs: 500,
        frames: 32,
    },
];

/// A queue's coalescing settings (written by ethtool, read by the poll).
struct CoalesceConfig {
    adaptive: AtomicBool,
    usecs: AtomicU32,
    frames: AtomicU32,
}

/// A queue pair and its NAPI context.
#[pin_data]
pub(crate) struct Queue {
    #[pin]
    napi: Napi<Queue>,
    /// Polls the queue when a held-back interrupt's time is up.
    #[pin]
    coal_timer: HrTimer<Queue>,
    /// Adaptive moderation's state.
    #[pin]
    dim: Dim,
    coal: CoalesceConfig,
    #[pin]
    tx: SpinLock<Option<TxState>>,
    #[pin]
    rx: SpinLock<Option<RxState>>,
    index: u16,
    /// Frames this host put on the transmit ring that the peer has not
    /// consumed yet, as of the last transmit or completion: a socket whose
    /// last queue this is stays on it while it is not zero (see
    /// [`Queue::keeps_flows`]).
    tx_pending: AtomicU32,
    /// When this host last saw the peer consume all of this queue's frames
    /// (ns, monotonic): a socket whose last queue this is stays on it for
    /// [`Queue::FLOW_HOLD_NS`] after that too (see [`Queue::keeps_flows`]).
    tx_drained: AtomicU64,
    /// This queue's counters.
    pub(crate) stats: QueueStats,
    /// The device's test modes (`rx_frags`).
    hooks: Arc<TestHooks>,
}

impl_has_field!(Queue, napi: Napi<Queue>);
impl_has_field!(Queue, coal_timer: HrTimer<Queue>);

impl HrTimerCallback for Queue {
    /// A held-back receive interrupt's time is up: poll (hard-irq context).
    fn run(&self) {
        self.stats.coal_polls.inc();
        self.napi.schedule();
    }
}

/// The monotonic clock, in ns.
fn now_ns() -> u64 {
    u64::try_from(Ktime::ktime_get().to_ns()).unwrap_or(0)
}

impl Queue {
    /// Queue `index` of `dev`, idle until [`Queue::start`].
    pub(crate) fn new(
        dev: &net::Device,
        index: u16,
        hooks: Arc<TestHooks>,
    ) -> impl PinInit<Self, Error> {
        let napi = Napi::new(dev);
        try_pin_init!(Self {
            napi <- napi,
            coal_timer <- HrTimer::new(),
            dim <- Dim::new(),
            coal: CoalesceConfig {
                adaptive: AtomicBool::new(true),
                usecs: AtomicU32::new(0),
                frames: AtomicU32::new(0),
            },
            tx <- new_spinlock!(None, "ntbnet_tx"),
            rx <- new_spinlock!(None, "ntbnet_rx"),
            index,
            tx_pending: AtomicU32::new(0),
            tx_drained: AtomicU64::new(0),
            stats: QueueStats::default(),
            hooks,
        })
    }

    /// Starts the queue with the states of a new link session; process
    /// context, with the queue stopped.
    pub(crate) fn start(&self, tx: TxState, rx: RxState) {
        net::with_bh_disabled(|| {
            *self.tx.lock() = Some(tx);
            *self.rx.lock() = Some(rx);
        });
        self.napi.enable();
        // Anything the peer published before we were ready.
        self.napi.schedule();
    }

    /// Stops the queue's polling and forgets the session; process context,
    /// with transmission stopped.
    pub(crate) fn stop(&self) {
        // No poll runs after this, and transmission is stopped: neither
        // lock is contended, and they are taken one after the other, never
        // one inside the other (the data path never nests them either).
        self.napi.disable();
        // A timer that fires now schedules nothing (polling is disabled).
        self.coal_timer.cancel();
        // Taken out under the locks, dropped outside them: the last
        // reference to a peer trigger unmaps it, which sleeps.
        let tx = net::with_bh_disabled(|| self.tx.lock().take());
        let rx = net::with_bh_disabled(|| self.rx.lock().take());
        self.tx_pending.store(0, Ordering::Relaxed);
        drop((tx, rx));
    }

    /// Sets the coalescing: adaptive, or fixed at `fixed` (`ethtool -C`).
    pub(crate) fn set_coalesce(&self, adaptive: bool, fixed: Moderation) {
        self.coal.usecs.store(fixed.usecs, Ordering::Relaxed);
        self.coal.frames.store(fixed.frames, Ordering::Relaxed);
        self.coal.adaptive.store(adaptive, Ordering::Relaxed);
    }

    /// The coalescing settings: whether adaptive, and the fixed ones.
    pub(crate) fn coalesce(&self) -> (bool, Moderation) {
        (
            self.coal.adaptive.load(Ordering::Relaxed),
            Moderation {
                usecs: self.coal.usecs.load(Ordering::Relaxed),
                frames: self.coal.frames.load(Ordering::Relaxed),
            },
        )
    }

    /// The moderation the queue applies now (DIM's level when adaptive).
    pub(crate) fn moderation_now(&self) -> Moderation {
        Moderation {
            usecs: u32::try_from(self.stats.coal_usecs.get()).unwrap_or(u32::MAX),
            frames: u32::try_from(self.stats.coal_frames.get()).unwrap_or(u32::MAX),
        }
    }

    /// The moderation for the next wait, at the end of a poll: DIM's level
    /// after feeding it this queue's counters, or the fixed setting.
    fn moderation(&self) -> Moderation {
        let s = &self.stats;
        let m = if self.coal.adaptive.load(Ordering::Relaxed) {
            // The counters wrap at 16 and 32 bits, as DIM expects.
            let events = s.interrupts.get().wrapping_add(s.coal_polls.get()) & 0xffff;
            let level = self.dim.sample(
                events as u16,
                (s.rx_packets.get() & 0xffff_ffff) as u32,
                (s.rx_bytes.get() & 0xffff_ffff) as u32,
            );
            let m = DIM_LEVELS.get(level).copied().unwrap_or(Moderation::OFF);
            if m != self.moderation_now() {
                s.dim_moves.inc();
            }
            m
        } else {
            self.coalesce().1
        };
        s.coal_usecs.set(u64::from(m.usecs));
        s.coal_frames.set(u64::from(m.frames));
        m
    }

    /// How long a flow stays on its queue after the peer consumed the
    /// queue's last frame: TCP's minimum retransmission timeout (200 ms),
    /// so that not even a tail-loss probe or a retransmission of a flow
    /// that paused can overtake its own earlier frames.
    const FLOW_HOLD_NS: u64 = 200 * 1_000_000;

    /// Whether a flow that last left on this queue must stay on it: frames
    /// of it may still be on the ring, or on their way up the peer's stack.
    /// A frame on another queue would overtake them (the peer polls each
    /// queue on its own CPU), which TCP takes for loss and retransmits. The
    /// stack's own guard against this, `skb->ooo_okay`, sees nothing in
    /// flight, since the ring holds copies and the skbs are freed at once.
    ///
    /// The peer's consumer index is not enough: a frame it consumed can
    /// still wait in its NAPI poll and GRO (GRO keeps packets across polls
    /// when the budget runs out), or on a vCPU or CPU that was preempted,
    /// while the flow's next frame, sent on another queue after the
    /// sender's task moved to another CPU, is delivered by the peer's
    /// other CPU first. So a queue also keeps its flows for
    /// [`Self::FLOW_HOLD_NS`] after it drained: a flow moves to another
    /// queue only after a pause that long, when XPS may pick its new CPU's
    /// queue without reordering it.
    pub(crate) fn keeps_flows(&self) -> bool {
        if self.tx_pending.load(Ordering::Relaxed) != 0 {
            return true;
        }
        let drained = self.tx_drained.load(Ordering::Relaxed);
        now_ns().wrapping_sub(drained) < Self::FLOW_HOLD_NS
    }

    fn note_pending(&self, tx: &TxState) {
        let n = tx.ring.in_flight().wrapping_add(tx.ring.unpublished());
        if self.tx_pending.swap(n, Ordering::Relaxed) != 0 && n == 0 {
            self.tx_drained.store(now_ns(), Ordering::Relaxed);
        }
    }

    /// The peer raised this queue's interrupt (interrupt context).
    pub(crate) fn interrupt(&self) {
        self.stats.interrupts.inc();
        self.napi.schedule();
    }

    /// For the recovery timer: polls the queue if frames are in flight, so
    /// that late completions and late peer events are noticed.
    pub(crate) fn recover(&self) {
        let busy = self
            .tx
            .lock()
            .as_ref()
            .is_some_and(|t| t.ring.in_flight() != 0);
        if busy {
            self.napi.schedule();
        }
    }

    /// The producer index this host published on the queue, while up.
    pub(crate) fn tx_prod(&self) -> Option<u32> {
        net::with_bh_disabled(|| self.tx.lock().as_ref().map(|t| t.ring.prod()))
    }

    fn kick(&self, trigger: &PeerTrigger) {
        self.stats.kicks.inc();
        trigger.fire();
    }

    /// Replaces the peer's trigger (the peer republished it).
    pub(crate) fn set_kick(&self, trigger: &Arc<PeerTrigger>) {
        // The old triggers are dropped outside the locks (see `stop`).
        let old = net::with_bh_disabled(|| {
            let tx = self
                .tx
                .lock()
                .as_mut()
                .map(|tx| core::mem::replace(&mut tx.kick, trigger.clone()));
            let rx = self
                .rx
                .lock()
                .as_mut()
                .map(|rx| core::mem::replace(&mut rx.kick, trigger.clone()));
            (tx, rx)
        });
        drop(old);
    }

    /// Raises the peer's interrupt of this queue, if the link is up (the
    /// scribble test mode).
    pub(crate) fn poke_peer(&self) {
        let kick = net::with_bh_disabled(|| self.tx.lock().as_ref().map(|t| t.kick.clone()));
        if let Some(k) = kick {
            k.fire();
        }
    }

    /// The largest frame the stack may hand us next: a GSO frame of up to
    /// `max_frame` (`Nic::features_check` keeps larger ones away), or one
    /// MTU.
    fn next_frame(dev: &net::Device, tx: &TxState) -> u32 {
        let max = tx.ring.layout().max_frame();
        if tx.gso {
            max
        } else {
            max.min(dev.mtu().saturating_add(net::ETH_HLEN + VLAN_HLEN))
        }
    }

    /// The descriptor flags for `skb`, computing its checksum if the stack
    /// left it to us and the peer does not take it on trust. `None`: drop.
    fn tx_flags(tx: &TxState, skb: &mut SkBuff) -> Option<u32> {
        match skb.tcp_gso() {
            // A large TCP segment: the peer's stack takes it as one GRO
            // packet, its checksums vouched for (they never left memory).
            Ok(Some(g)) if tx.gso && Gso::mss_ok(u32::from(g.mss)) => Some(
                Gso {
                    proto: if g.v6 {
                        GsoProto::TcpV6
                    } else {
                        GsoProto::TcpV4
                    },
                    ecn: g.ecn,
                    size: g.mss,
                }
                .flags(),
            ),
            // GSO the link cannot carry (renegotiated under the stack's
            // feet, or an MSS the ring does not take; `features_check`
            // has the stack segment those).
            Ok(Some(_)) | Err(_) => None,
            Ok(None) if skb.csum_partial() => {
                skb.checksum_help().ok()?;
                Some(if tx.csum { DESC_F_CSUM_VALID } else { 0 })
            }
            Ok(None) if skb.csum_unnecessary() && tx.csum => Some(DESC_F_CSUM_VALID),
            Ok(None) => Some(0),
        }
    }

    /// Publishes what is reserved, and raises the peer's interrupt if it
    /// asked for it (Sending, steps 3-6); tracepoint `ntbnet_tx_publish`.
    fn flush(&self, dev: &net::Device, tx: &mut TxState) {
        if tx.ring.unpublished() == 0 {
            return;
        }
        let p = tx.ring.publish();
        wmb();
        let ev = tx.win.post_then_read(
            tx.out_base + Q_PROD as usize,
            p.prod,
            tx.in_base + Q_RX_EVENT as usize,
        );
        let kick = tx.ring.need_notify(ev);
        if kick {
            self.kick(&tx.kick);
        }
        trace::tx_publish(dev, self.index, p.prod, p.count, kick);
    }

    /// Reads the peer's `cons` once and completes what it passed.
    fn reap(&self, tx: &mut TxState, txq: &TxQueue) {
        let cons = tx.win.read_le(tx.in_base + Q_CONS as usize);
        let done = tx.ring.done();
        match tx.ring.complete(cons) {
            Ok(0) => {}
            Ok(n) => {
                let mask = tx.ring.layout().mask();
                let mut bytes = 0u32;
                let mut i = done;
                while i != cons {
                    bytes =
                        bytes.saturating_add(tx.lens.get(to_usize(i & mask)).copied().unwrap_or(0));
                    i = i.wrapping_add(1);
                }
                txq.completed(n, bytes);
                self.note_pending(tx);
            }
            Err(e) => self.stats.error(e),
        }
    }

    /// The queue stopped (ring full, or byte queue limit): asks the peer for
    /// an interrupt once it consumed about half of what is in flight
    /// (Completing, stop steps 2-4). Returns with the queue running if there
    /// is room after all.
    fn arm_wake(&self, dev: &net::Device, tx: &mut TxState, txq: &TxQueue, ring_full: bool) {
        self.flush(dev, tx);
        for _ in 0..4 {
            self.reap(tx, txq);
            let full = tx.ring.is_full_for(Self::next_frame(dev, tx));
            if ring_full && !full {
                if txq.is_stopped() {
                    txq.wake();
                }
                return;
            }
            if !ring_full && !txq.xmit_stopped() {
                return;
            }
            let done = tx.ring.done();
            let _ = tx
                .win
                .outbound
                .try_write32(tx.ring.event_for_wake(), tx.out_base + Q_TX_EVENT as usize);
            if ring_full && !txq.is_stopped() {
                self.stats.tx_stops.inc();
                txq.stop();
            }
            mb();
            self.reap(tx, txq);
            if tx.ring.done() == done {
                // Nothing moved: the peer's interrupt (or the recovery
                // timer) restarts the queue.
                return;
            }
        }
    }

    /// Transmits `skb` (`ndo_start_xmit`, queue lock held, BH disabled).
    pub(crate) fn xmit(&self, dev: &net::Device, mut skb: SkBuff) -> TxResult {
        let outcome = match dev.tx_queue(u32::from(self.index)) {
            None => Xmit::Dropped,
            Some(txq) => {
                let mut guard = self.tx.lock();
                match guard.as_mut() {
                    None => Xmit::Dropped,
                    Some(tx) => {
                        let outcome = self.xmit_locked(dev, txq, tx, &mut skb);
                        if outcome == Xmit::Dropped {
                            // Frames reserved before this one (`xmit_more`)
                            // go now: the stack may not call again soon.
                            self.flush(dev, tx);
                        }
                        outcome
                    }
                }
            }
        };
        // The skb leaves the driver with no driver lock held: freeing it
        // runs its destructor (socket accounting, TCP small queues).
        match outcome {
            Xmit::Sent => {
                skb.consume();
                TxResult::Ok
            }
            Xmit::Dropped => {
                self.stats.tx_dropped.inc();
                drop(skb);
                TxResult::Ok
            }
            Xmit::Busy => TxResult::Busy(skb),
        }
    }

    /// Places `skb` in the ring and publishes it unless more follow
    /// (`xmit_more`); the transmit lock is held.
    fn xmit_locked(
        &self,
        dev: &net::Device,
        txq: &TxQueue,
        tx: &mut TxState,
        skb: &mut SkBuff,
    ) -> Xmit {
        // The `tx_drop` test mode: the frame that ends a batch is dropped
        // with the batch's earlier frames reserved, unpublished.
        if !net::xmit_more() && tx.ring.unpublished() != 0 && self.hooks.take_tx_drop() {
            return Xmit::Dropped;
        }
        let Some(flags) = Self::tx_flags(tx, skb) else {
            return Xmit::Dropped;
        };
        let len = skb.len();
        let slot = match tx.ring.reserve(len) {
            Ok(slot) => slot,
            Err(TxError::Length) => return Xmit::Dropped,
            Err(TxError::Full) => {
                // Only when the frame is larger than the stop threshold
                // assumed (the MTU grew): make room, or stop and requeue.
                self.arm_wake(dev, tx, txq, true);
                match tx.ring.reserve(len) {
                    Ok(slot) => slot,
                    Err(_) => {
                        if !txq.is_stopped() {
                            self.stats.tx_stops.inc();
                            txq.stop();
                        }
                        return Xmit::Busy;
                    }
                }
            }
        };
        let out = &tx.win.outbound;
        let data = tx.out_base + tx.ring.layout().data_off() as usize;
        let mut off = data + slot.data_off() as usize;
        let copied = skb.for_each_chunk(|chunk| {
            out.try_write_bytes(chunk, off)?;
            off += chunk.len();
            Ok(())
        });
        let desc_off = tx.out_base + tx.ring.layout().desc_off(slot.seq()) as usize;
        if copied.is_err()
            || out
                .try_write_bytes(&slot.desc(flags).to_le_bytes(), desc_off)
                .is_err()
        {
            tx.ring.cancel(&slot);
            return Xmit::Dropped;
        }
        if let Some(l) = tx.lens.get_mut(to_usize(slot.slot())) {
            *l = len;
        }
        self.stats.tx_packets.inc();
        self.stats.tx_bytes.add(u64::from(len));
        let tell = txq.sent(len, net::xmit_more());
        self.note_pending(tx);
        if tell {
            self.flush(dev, tx);
        }
        if tx.ring.is_full_for(Self::next_frame(dev, tx)) {
            self.arm_wake(dev, tx, txq, true);
        } else if txq.xmit_stopped() {
            // Stopped by the byte queue limit: its restart needs our
            // completions, so ask the peer to interrupt.
            self.arm_wake(dev, tx, txq, false);
        }
        Xmit::Sent
    }

    /// The completion half of a poll: reap, restart the queue, and answer a
    /// late event of the peer's receiver.
    fn poll_tx(&self, dev: &net::Device) {
        let Some(txq) = dev.tx_queue(u32::from(self.index)) else {
            return;
        };
        let mut guard = self.tx.lock();
        let Some(tx) = guard.as_mut() else {
            return;
        };
        self.reap(tx, txq);
        if txq.is_stopped() && !tx.ring.is_full_for(Self::next_frame(dev, tx)) {
            txq.wake();
        }
        if tx.ring.in_flight() != 0 {
            let ev = tx.win.read_le(tx.in_base + Q_RX_EVENT as usize);
            if tx.ring.need_notify(ev) {
                self.kick(&tx.kick);
            }
        }
    }

    /// Copies a frame of `len` bytes at `src` in the window into a new skb:
    /// the first [`RX_HEAD`] bytes (the headers GRO and the stack parse)
    /// into a small head, the rest into one fragment of the queue's page
    /// pool, so that the skb's truesize is about its length (a linear skb
    /// of a 64 KiB frame is a 128 KiB allocation, which halves what a
    /// socket's receive buffer holds). Without pool memory (or in the
    /// `rx_frags` test mode), into order-0 pages, so that a fragmented
    /// memory never costs a frame.
    fn copy_out(
        &self,
        napi: &Napi<Self>,
        rx: &mut RxState,
        src: usize,
        len: u32,
    ) -> Option<SkBuff> {
        let inbound = &rx.win.inbound;
        let head = len.min(RX_HEAD);
        let mut skb = napi.alloc_skb(head)?;
        skb.put_with(head, |dst| inbound.read_into(src, dst)).ok()?;
        let mut off = head;
        if off == len {
            return Some(skb);
        }
        if !self.hooks.rx_frags() {
            if let Some(mut frag) = rx.pool.as_mut().and_then(|p| p.alloc_frag(len - off)) {
                inbound
                    .read_into(src + off as usize, frag.as_uninit_mut())
                    .ok()?;
                skb.append_frag(frag).ok()?;
                return Some(skb);
            }
        }
        while off < len {
            let n = (len - off).min(PAGE_SIZE);
            let at = src + off as usize;
            skb.append_page_with(n, |dst| inbound.read_into(at, dst))
                .ok()?;
            off += n;
        }
        Some(skb)
    }

    /// Copies one validated frame out of the window into a new skb, ready
    /// for GRO (which the caller calls with no lock held).
    fn receive(&self, napi: &Napi<Self>, rx: &mut RxState, frame: RxFrame) -> Option<SkBuff> {
        let dev = napi.dev();
        let src = rx.in_base + rx.ring.layout().data_off() as usize + frame.off as usize;
        let Some(mut skb) = self.copy_out(napi, rx, src, frame.len) else {
            self.stats.rx_dropped.inc();
            return None;
        };
        if skb.eth_type_trans(dev).is_err() {
            self.stats.rx_dropped.inc();
            return None;
        }
        if let Some(g) = frame.gso() {
            // One large TCP segment: its checksum field holds only the
            // pseudo-header sum, and the data never left memory.
            let gso = TcpGso {
                v6: g.proto == GsoProto::TcpV6,
                ecn: g.ecn,
                mss: g.size,
            };
            if skb.set_tcp_gso(gso).is_err() {
                self.stats.error(RingError::BadGso);
                return None;
            }
            skb.set_csum_unnecessary();
        } else if frame.csum_valid() && dev.features() & net::features::RXCSUM != 0 {
            skb.set_csum_unnecessary();
        }
        skb.record_rx_queue(self.index);
        self.stats.rx_packets.inc();
        self.stats.rx_bytes.add(u64::from(frame.len));
        Some(skb)
    }

    /// Reads the peer's `prod` once; a bad one is counted and treated as
    /// nothing new.
    fn refresh(&self, rx: &mut RxState) -> u32 {
        let prod = rx.win.read_le(rx.in_base + Q_PROD as usize);
        match rx.ring.available(prod) {
            Ok(n) => n,
            Err(e) => {
                self.stats.error(e);
                0
            }
        }
    }
}

impl Queue {
    /// Takes descriptors off the receive ring under the receive lock until
    /// they cost `want` units of the NAPI budget (see [`rx_cost`]) or
    /// [`RX_BATCH`] were taken, the frames into `batch`, and passes the
    /// ring space back to the peer. Returns the units spent (at most one
    /// frame over `want`) and whether the ring ran dry.
    fn poll_rx(&self, napi: &Napi<Self>, want: u32, batch: &mut RxBatch) -> (u32, bool) {
        let mut guard = self.rx.lock();
        let Some(rx) = guard.as_mut() else {
            return (0, true);
        };
        let mut work = 0;
        let mut taken = 0;
        let mut dry = false;
        while work < want && taken < RX_BATCH {
            if rx.ring.pending() == 0 {
                if self.refresh(rx) == 0 {
                    dry = true;
                    break;
                }
                // Descriptors and data after `prod`.
                rmb();
            }
            let Some(slot) = rx.ring.next_slot() else {
                dry = true;
                break;
            };
            let off = rx.in_base + rx.ring.layout().desc_off(slot) as usize;
            let raw = rx
                .win
                .inbound
                .read_array::<DESC_LEN>(off)
                .unwrap_or([0; DESC_LEN]);
            match rx.ring.take(&Desc::from_le_bytes(raw)) {
                None => {
                    dry = true;
                    break;
                }
                Some(Ok(frame)) => {
                    work += rx_cost(frame.len);
                    if let Some(skb) = self.receive(napi, rx, frame) {
                        batch.push(skb);
                    }
                }
                Some(Err(e)) => {
                    work += 1;
                    self.stats.error(e);
                }
            }
            taken += 1;
        }

        if rx.ring.next() != rx.ring.cons() {
            // The copies are done before the sender may reuse the space.
            mb();
            let c = rx.ring.consume();
            let ev = rx.win.post_then_read(
                rx.out_base + Q_CONS as usize,
                c.cons,
                rx.in_base + Q_TX_EVENT as usize,
            );
            let kick = rx.ring.need_notify(ev);
            if kick {
                self.kick(&rx.kick);
            }
            trace::rx_consume(napi.dev(), self.index, c.cons, c.count, kick);
        }
        (work, dry)
    }

    /// Going idle (after `napi_complete_done`) from a poll that took
    /// `work` descriptors: asks the peer to interrupt when it publishes the
    /// next descriptor, then looks once more.
    ///
    /// Coalescing (`m`): after a poll that found work, the interrupt comes
    /// only with the `m.frames`-th frame (the event index that far ahead),
    /// and a timer polls after `m.usecs` if fewer came. After a poll that
    /// found nothing the interrupt is always at the next frame, so the
    /// first frame after a quiet spell never waits for the timer.
    fn rearm(&self, napi: &Napi<Self>, work: u32, m: Moderation) {
        let (more, hold) = {
            let mut guard = self.rx.lock();
            let Some(rx) = guard.as_mut() else {
                return;
            };
            let ahead = if work == 0 || m.usecs == 0 {
                0
            } else {
                m.frames
                    .checked_sub(1)
                    .unwrap_or(u32::MAX)
                    .min(rx.ring.layout().entries() / 2)
            };
            let _ = rx.win.outbound.try_write32(
                rx.ring.event_for_next().wrapping_add(ahead),
                rx.out_base + Q_RX_EVENT as usize,
            );
            mb();
            let pending = self.refresh(rx);
            (pending > ahead, ahead != 0)
        };
        if more {
            napi.schedule();
        } else if hold {
            self.coal_timer.start(u64::from(m.usecs) * 1000);
        }
    }
}

/// Frames handed up the stack in one go: at most this many are held
/// between the receive lock and GRO.
const RX_BATCH: u32 = 16;

/// Bytes of a received frame that cost one unit of the NAPI budget.
const RX_COST_BYTES: u32 = 4096;

/// What receiving a frame of `len` bytes costs of the NAPI budget: one
/// unit per [`RX_COST_BYTES`] started, so one for an MTU-sized frame and
/// 16 for a 64 KiB one.
///
/// The budget counts packets because a NIC's DMA makes a packet cost
/// about the same whatever its length; here every byte is copied out of
/// the window by the CPU, so a poll of 64 frames of 64 KiB would copy
/// 4 MiB. The core checks its time limit (`netdev_budget_usecs`) only
/// between polls, and in 6.12 softirqs run at the exit of every interrupt,
/// the timer's included: a peer flooding the ring with maximum frames kept
/// user space of a QEMU TCG guest off both CPUs for up to 2.3 s (issue 15,
/// `flood-max`; Documentation/testing.md). Charged by bytes, a poll copies
/// at most about 256 KiB.
fn rx_cost(len: u32) -> u32 {
    len.div_ceil(RX_COST_BYTES).max(1)
}

/// Received skbs on their way to GRO, collected under the receive lock and
/// handed up after it is dropped.
struct RxBatch {
    skbs: [Option<SkBuff>; RX_BATCH as usize],
    len: usize,
}

impl RxBatch {
    fn new() -> Self {
        Self {
            skbs: [const { None }; RX_BATCH as usize],
            len: 0,
        }
    }

    /// Adds `skb`; the caller takes at most [`RX_BATCH`] descriptors per
    /// batch, so there is always room (a frame beyond it would be dropped,
    /// as freed).
    fn push(&mut self, skb: SkBuff) {
        if let Some(slot) = self.skbs.get_mut(self.len) {
            *slot = Some(skb);
            self.len += 1;
        }
    }

    /// Hands every frame to GRO, in ring order.
    fn hand_up(&mut self, napi: &Napi<Queue>) {
        for skb in self.skbs.iter_mut().take(self.len).filter_map(Option::take) {
            napi.gro_receive(skb);
        }
        self.len = 0;
    }
}

impl napi::Poll for Queue {
    /// Completions, then up to `budget` received frames.
    ///
    /// No driver lock is held while anything goes up the stack: GRO and
    /// `napi_complete_done` (which flushes GRO) run the stack's receive
    /// path, and that transmits (TCP ACKs, ARP replies, forwarded packets)
    /// through `xmit` and this queue's transmit lock, while `stop` and
    /// `xmit` take the locks in their own order. So the receive ring is
    /// read in batches under the receive lock, and each batch is handed up
    /// once the lock is dropped.
    fn poll(&self, napi: &Napi<Self>, budget: u32) -> u32 {
        // The interrupt came before the coalescing timer: it is not needed.
        self.coal_timer.try_cancel();
        self.poll_tx(napi.dev());

        let mut work = 0;
        let mut batch = RxBatch::new();
        let mut dry = false;
        while work < budget && !dry {
            let n;
            (n, dry) = self.poll_rx(napi, budget - work, &mut batch);
            batch.hand_up(napi);
            work = work.saturating_add(n).min(budget);
        }

        if work < budget && napi.complete_done(work) {
            let m = self.moderation();
            self.rearm(napi, work, m);
        }
        work
    }
}

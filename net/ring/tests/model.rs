// SPDX-License-Identifier: GPL-2.0

//! Property tests: random sequences of sender and receiver operations over
//! simulated windows, checked against a model.
//!
//! - `honest_peers_deliver_everything_intact`: with both sides following
//!   the protocol, every frame arrives intact and in order, the sender
//!   never places a frame over one not yet completed, placement is exactly
//!   where a ring allocator puts it, interrupts are never missing when a
//!   side is waiting for one, and everything is free again once drained.
//! - `garbage_is_never_followed`: with an adversary writing random values
//!   into both windows, the receiver accepts no frame outside the data area
//!   and the sender accepts no impossible `cons`.

mod common;

use common::{frame_bytes, Link, Received};
use ntbnet_ring::*;
use proptest::prelude::*;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
struct Config {
    entries: u32,
    max_frame: u32,
    data_size: u32,
    csum: bool,
    start: u32,
}

fn config() -> impl Strategy<Value = Config> {
    (
        3u32..=6,
        14u32..=3000,
        1u32..=8,
        0u32..=16,
        any::<bool>(),
        prop_oneof![Just(0u32), (1u32..=300).prop_map(|d| u32::MAX - d)],
    )
        .prop_map(|(e, max_frame, k, extra, csum, start)| {
            let aligned = max_frame.div_ceil(DATA_ALIGN) * DATA_ALIGN;
            Config {
                entries: 1 << e,
                max_frame,
                data_size: aligned * k + DATA_ALIGN * extra,
                csum,
                start,
            }
        })
}

fn make_link(c: &Config) -> Link {
    let ql = QueueLayout::new(c.entries, c.data_size, c.max_frame).unwrap();
    let features = if c.csum { FEATURE_CSUM } else { 0 };
    let win = WindowLayout::new(2, ql, features).unwrap();
    let mut l = Link::new(win, 1);
    // Both sides start at `start`; so do the indices in the window.
    l.tx = TxRing::starting_at(ql, vec![0; c.entries as usize], c.start).unwrap();
    l.rx = RxRing::starting_at(ql, features, c.start);
    let base = win.queue_base(1).unwrap();
    for off in [Q_PROD, Q_TX_EVENT] {
        common::wr32(&mut l.rx_mem, base + u64::from(off), c.start);
    }
    for off in [Q_CONS, Q_RX_EVENT] {
        common::wr32(&mut l.tx_mem, base + u64::from(off), c.start);
    }
    l
}

#[derive(Debug, Clone)]
enum Op {
    /// Sender: one frame of a length picked from the u16.
    Send(u16, bool),
    Publish,
    /// Receiver: poll and take up to this many.
    Poll(u8),
    Release,
    Complete,
    /// Receiver: release, write rx_event, re-check.
    ArmRx,
    /// Sender: stop the queue if it is full for a max frame.
    StopTx,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u16>(), any::<bool>()).prop_map(|(l, c)| Op::Send(l, c)),
        3 => Just(Op::Publish),
        3 => (1u8..=16).prop_map(Op::Poll),
        2 => Just(Op::Release),
        2 => Just(Op::Complete),
        1 => Just(Op::ArmRx),
        1 => Just(Op::StopTx),
    ]
}

/// A frame the sender placed and has not completed.
#[derive(Debug, Clone, Copy)]
struct Placed {
    seq: u32,
    off: u32,
    aligned: u32,
    advance: u32,
}

/// The model of both sides.
struct Model {
    link: Link,
    cfg: Config,
    /// Frames sent and not yet received: (seq, bytes, flags).
    in_transit: VecDeque<(u32, Vec<u8>, u32)>,
    /// Frames placed and not yet completed, oldest first.
    placed: VecDeque<Placed>,
    sent: u64,
    received: u64,
    /// Receiver asleep, waiting for an interrupt.
    rx_armed: bool,
    rx_arms: u64,
    rx_notifies: u64,
    /// Sender queue stopped, with its tx_event.
    tx_stopped: Option<u32>,
    tx_notified: bool,
}

impl Model {
    fn new(cfg: Config) -> Self {
        Self {
            link: make_link(&cfg),
            cfg,
            in_transit: VecDeque::new(),
            placed: VecDeque::new(),
            sent: 0,
            received: 0,
            // The zeroed (here: `start`-valued) rx_event is an arm.
            rx_armed: true,
            rx_arms: 1,
            rx_notifies: 0,
            tx_stopped: None,
            tx_notified: false,
        }
    }

    fn aligned(len: u32) -> u32 {
        len.div_ceil(DATA_ALIGN) * DATA_ALIGN
    }

    /// Where a ring allocator over the physical free space puts `aligned`
    /// bytes: after the newest frame, else at 0, or nowhere.
    fn model_place(&self, aligned: u32) -> Option<u32> {
        let ds = self.cfg.data_size;
        let (Some(oldest), Some(newest)) = (self.placed.front(), self.placed.back()) else {
            return Some(0);
        };
        let start = oldest.off;
        let end = newest.off + newest.aligned;
        if end > start {
            if end + aligned <= ds {
                Some(end)
            } else if aligned <= start {
                Some(0)
            } else {
                None
            }
        } else if end + aligned <= start {
            Some(end)
        } else {
            None
        }
    }

    fn send(&mut self, len_seed: u16, csum: bool) {
        if self.tx_stopped.is_some() {
            return;
        }
        let len = MIN_FRAME + u32::from(len_seed) % (self.cfg.max_frame - MIN_FRAME + 1);
        let tag = self.sent as u32;
        let data = frame_bytes(tag, len as usize);
        let flags = if csum && self.cfg.csum {
            DESC_F_CSUM_VALID
        } else {
            0
        };
        let aligned = Self::aligned(len);
        let expect = self.model_place(aligned);
        let descs_free = self.link.tx.free_descs() > 0;
        match self.link.send(&data, flags) {
            Ok(s) => {
                assert!(descs_free);
                assert_eq!(Some(s.data_off()), expect, "placement");
                assert!(s.data_off() + aligned <= self.cfg.data_size);
                for p in &self.placed {
                    assert!(
                        s.data_off() + aligned <= p.off || p.off + p.aligned <= s.data_off(),
                        "{s:?} overlaps {p:?}"
                    );
                }
                assert!(s.advance() >= aligned);
                self.placed.push_back(Placed {
                    seq: s.seq(),
                    off: s.data_off(),
                    aligned,
                    advance: s.advance(),
                });
                self.in_transit.push_back((s.seq(), data, flags));
                self.sent += 1;
            }
            Err(TxError::Full) => {
                // Full only when it is: no descriptor, no physical room, or
                // room held by the tail skipped by the oldest frame.
                let oldest_skipped = self.placed.front().is_some_and(|p| p.advance > p.aligned);
                assert!(
                    !descs_free || expect.is_none() || oldest_skipped,
                    "Full with room at {expect:?}"
                );
                assert!(!self.placed.is_empty(), "Full while empty");
            }
            Err(TxError::Length) => panic!("valid length {len} refused"),
        }
    }

    fn publish(&mut self) {
        let p = self.link.publish();
        if p.count > 0 && self.rx_armed {
            assert!(p.notify, "receiver asleep, not interrupted");
        }
        if p.notify {
            self.rx_notifies += 1;
            self.rx_armed = false;
        }
        assert!(
            self.rx_notifies <= self.rx_arms,
            "more interrupts than arms"
        );
    }

    fn poll(&mut self, budget: u8) {
        // Polling means awake.
        self.rx_armed = false;
        let n = self.link.poll_prod().expect("honest prod");
        assert!(n <= self.cfg.entries);
        let first = self.link.rx.next();
        for (i, r) in self.link.take(usize::from(budget)).into_iter().enumerate() {
            let Received { frame, data } = r.expect("honest descriptor");
            let (seq, want, flags) = self.in_transit.pop_front().expect("a frame was sent");
            assert_eq!(seq, first.wrapping_add(i as u32));
            assert_eq!(frame.flags, flags);
            assert!(data == want, "frame {seq} corrupted");
            self.received += 1;
        }
    }

    fn release(&mut self) {
        let c = self.link.release();
        if c.notify {
            self.tx_notified = true;
        }
        if let Some(e) = self.tx_stopped {
            if c.cons.wrapping_sub(e).wrapping_sub(1) < 1 << 31 {
                assert!(self.tx_notified, "cons {} passed tx_event {e}", c.cons);
            }
            if self.tx_notified {
                // The interrupt: try to restart.
                self.complete();
                self.tx_stopped = None;
                self.stop_tx();
            }
        }
    }

    fn complete(&mut self) {
        let n = self.link.complete().expect("honest cons");
        for _ in 0..n {
            let p = self.placed.pop_front().expect("completed a placed frame");
            assert!(p.seq.wrapping_sub(self.link.tx.done()) >= 1 << 31);
        }
    }

    fn arm_rx(&mut self) {
        self.release();
        self.rx_armed = self.link.arm_rx();
        self.rx_arms += 1;
    }

    fn stop_tx(&mut self) {
        if self.tx_stopped.is_some() || !self.link.tx.is_full_for(self.cfg.max_frame) {
            return;
        }
        // Publish what is pending before stopping, then arm and re-check.
        self.publish();
        self.complete();
        if !self.link.tx.is_full_for(self.cfg.max_frame) {
            return;
        }
        // Arm, then read cons again: restart if there is room, arm again if
        // cons moved (the event may already be behind it), else sleep.
        loop {
            let e = self.link.arm_tx();
            self.tx_notified = false;
            let done = self.link.tx.done();
            self.complete();
            if !self.link.tx.is_full_for(self.cfg.max_frame) {
                return;
            }
            if self.link.tx.done() == done {
                self.tx_stopped = Some(e);
                return;
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Send(l, c) => self.send(l, c),
            Op::Publish => self.publish(),
            Op::Poll(b) => self.poll(b),
            Op::Release => self.release(),
            Op::Complete => self.complete(),
            Op::ArmRx => self.arm_rx(),
            Op::StopTx => self.stop_tx(),
        }
        let tx = &self.link.tx;
        assert_eq!(self.placed.len() as u32, tx.in_flight() + tx.unpublished());
        let used: u32 = self.placed.iter().map(|p| p.advance).sum();
        assert_eq!(tx.free_bytes(), self.cfg.data_size - used);
        assert_eq!(tx.free_descs(), self.cfg.entries - self.placed.len() as u32);
    }

    fn drain(&mut self) {
        self.tx_stopped = None;
        for _ in 0..4 {
            self.publish();
            self.poll(u8::MAX);
            self.poll(u8::MAX);
            self.release();
            self.complete();
        }
        assert!(self.in_transit.is_empty());
        assert!(self.placed.is_empty());
        assert_eq!(self.sent, self.received);
        let tx = &self.link.tx;
        assert_eq!(tx.in_flight(), 0);
        assert_eq!(tx.free_descs(), self.cfg.entries);
        assert_eq!(tx.free_bytes(), self.cfg.data_size);
        assert!(!tx.is_full_for(self.cfg.max_frame));
        assert_eq!(self.link.rx.pending(), 0);
        assert_eq!(self.link.rx.cons(), tx.prod());
    }
}

#[derive(Debug, Clone)]
enum Evil {
    Honest(Op),
    /// A producer index: raw, or near the receiver's.
    Prod(u32, bool),
    /// A consumer index: raw, or near the sender's.
    Cons(u32, bool),
    /// A descriptor at `next + k`: raw bytes, or a valid-looking one with one
    /// field replaced.
    Desc(u8, [u8; 16], Option<(u8, u32)>),
    /// Any 4 bytes anywhere in either window.
    Poke(bool, u32, u32),
}

fn evil() -> impl Strategy<Value = Evil> {
    prop_oneof![
        8 => op().prop_map(Evil::Honest),
        1 => (any::<u32>(), any::<bool>()).prop_map(|(v, n)| Evil::Prod(v, n)),
        1 => (any::<u32>(), any::<bool>()).prop_map(|(v, n)| Evil::Cons(v, n)),
        2 => (0u8..4, any::<[u8; 16]>(), proptest::option::of((0u8..4, any::<u32>())))
            .prop_map(|(k, raw, f)| Evil::Desc(k, raw, f)),
        1 => (any::<bool>(), any::<u32>(), any::<u32>()).prop_map(|(w, o, v)| Evil::Poke(w, o, v)),
    ]
}

/// Applies `e` to `l`; checks what must hold whatever the adversary does.
fn apply_evil(l: &mut Link, cfg: &Config, e: &Evil) {
    let base = l.base();
    match *e {
        Evil::Honest(ref op) => match *op {
            Op::Send(len, _) => {
                let len = MIN_FRAME + u32::from(len) % (cfg.max_frame - MIN_FRAME + 1);
                let _ = l.send(&frame_bytes(0, len as usize), 0);
            }
            Op::Publish => {
                let _ = l.publish();
            }
            Op::Poll(b) => {
                let (cons, next, prod) = (l.rx.cons(), l.rx.next(), l.rx.prod());
                match l.poll_prod() {
                    Ok(n) => assert!(n <= cfg.entries),
                    Err(e) => {
                        assert_eq!(e, RingError::BadProducer);
                        assert_eq!((cons, next, prod), (l.rx.cons(), l.rx.next(), l.rx.prod()));
                    }
                }
                // `take` checks every accepted frame against the data area.
                let _ = l.take(usize::from(b));
            }
            Op::Release | Op::ArmRx => {
                let _ = l.release();
            }
            Op::Complete | Op::StopTx => {
                let (done, prod) = (l.tx.done(), l.tx.prod());
                let cons = common::rd32(&l.tx_mem, base + u64::from(Q_CONS));
                let possible = cons.wrapping_sub(done) <= prod.wrapping_sub(done);
                match l.tx.complete(cons) {
                    Ok(n) => {
                        assert!(possible, "accepted cons {cons} outside [{done}, {prod}]");
                        assert_eq!(n, cons.wrapping_sub(done));
                    }
                    Err(e) => {
                        assert!(!possible);
                        assert_eq!(e, RingError::BadConsumer);
                        assert_eq!(l.tx.done(), done);
                    }
                }
            }
        },
        Evil::Prod(v, near) => {
            let v = if near {
                l.rx.cons().wrapping_add(v % 64)
            } else {
                v
            };
            common::wr32(&mut l.rx_mem, base + u64::from(Q_PROD), v);
        }
        Evil::Cons(v, near) => {
            let v = if near {
                l.tx.done().wrapping_add(v % 64)
            } else {
                v
            };
            common::wr32(&mut l.tx_mem, base + u64::from(Q_CONS), v);
        }
        Evil::Desc(k, raw, field) => {
            let idx = l.rx.next().wrapping_add(u32::from(k));
            let mut d = Desc::from_le_bytes(raw);
            if let Some((f, v)) = field {
                d = Desc {
                    off: (d.off % cfg.data_size) & !(DATA_ALIGN - 1),
                    len: MIN_FRAME + d.len % (cfg.max_frame - MIN_FRAME + 1),
                    flags: 0,
                    seq: idx,
                };
                match f {
                    0 => d.off = v,
                    1 => d.len = v,
                    2 => d.flags = v,
                    _ => d.seq = v,
                }
            }
            let at = l.desc_addr(idx);
            common::wr_desc(&mut l.rx_mem, at, &d);
        }
        Evil::Poke(rx_side, off, v) => {
            let size = l.rx_mem.len() as u64;
            let at = u64::from(off) % (size - 3);
            let mem = if rx_side {
                &mut l.rx_mem
            } else {
                &mut l.tx_mem
            };
            common::wr32(mem, at, v);
        }
    }
    let tx = &l.tx;
    assert!(tx.in_flight() + tx.unpublished() <= cfg.entries);
    assert!(tx.free_bytes() <= cfg.data_size);
    let rx = &l.rx;
    assert!(rx.prod().wrapping_sub(rx.cons()) <= cfg.entries);
    assert!(rx.next().wrapping_sub(rx.cons()) <= rx.prod().wrapping_sub(rx.cons()));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn honest_peers_deliver_everything_intact(
        cfg in config(),
        ops in proptest::collection::vec(op(), 1..300),
    ) {
        let mut m = Model::new(cfg);
        for op in &ops {
            m.apply(op);
        }
        m.drain();
    }

    #[test]
    fn garbage_is_never_followed(
        cfg in config(),
        ops in proptest::collection::vec(evil(), 1..300),
    ) {
        let mut l = make_link(&cfg);
        for e in &ops {
            apply_evil(&mut l, &cfg, e);
        }
    }
}

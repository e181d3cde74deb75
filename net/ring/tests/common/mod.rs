// SPDX-License-Identifier: GPL-2.0

//! Test support shared by the tests and the fuzz target: a seeded PRNG, a
//! simulated link (the two windows as byte vectors and the kernel side's
//! reads and writes), and `fuzz_rx`, the fuzzing entry point.

// Each test crate uses part of this module.
#![allow(dead_code)]

use ntbnet_ring::*;

/// xorshift64*: small, seeded, good enough to drive tests.
pub(crate) struct Xorshift(u64);

impl Xorshift {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A value in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next_u64() as u8;
        }
    }
}

pub(crate) fn rd32(mem: &[u8], off: u64) -> u32 {
    let o = off as usize;
    u32::from_le_bytes(mem[o..o + 4].try_into().unwrap())
}

pub(crate) fn wr32(mem: &mut [u8], off: u64, v: u32) {
    let o = off as usize;
    mem[o..o + 4].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn rd_desc(mem: &[u8], off: u64) -> Desc {
    let o = off as usize;
    Desc::from_le_bytes(mem[o..o + DESC_LEN].try_into().unwrap())
}

pub(crate) fn wr_desc(mem: &mut [u8], off: u64, d: &Desc) {
    let o = off as usize;
    mem[o..o + DESC_LEN].copy_from_slice(&d.to_le_bytes());
}

/// A frame as the receiver got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Received {
    pub(crate) frame: RxFrame,
    pub(crate) data: Vec<u8>,
}

/// What `Link::publish` did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Published {
    pub(crate) prod: u32,
    pub(crate) count: u32,
    pub(crate) notify: bool,
}

/// What `Link::release` did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Released {
    pub(crate) cons: u32,
    pub(crate) count: u32,
    pub(crate) notify: bool,
}

/// One direction of a link, queue `q`: the sender's `TxRing` writing into
/// the receiver's window `rx_mem`, the receiver's `RxRing` writing its
/// completion block into the sender's window `tx_mem`. The methods do what
/// the kernel side does: read a value once, pass it in, write the result.
pub(crate) struct Link {
    pub(crate) win: WindowLayout,
    pub(crate) q: u32,
    pub(crate) rx_mem: Vec<u8>,
    pub(crate) tx_mem: Vec<u8>,
    pub(crate) tx: TxRing<Vec<u32>>,
    pub(crate) rx: RxRing,
}

impl Link {
    pub(crate) fn new(win: WindowLayout, q: u32) -> Self {
        let size = win.size() as usize;
        let mut rx_mem = vec![0u8; size];
        rx_mem[..HEADER_LEN].copy_from_slice(&win.header().to_le_bytes());
        let ql = *win.queue();
        Self {
            win,
            q,
            rx_mem,
            tx_mem: vec![0u8; size],
            tx: TxRing::new(ql, vec![0u32; ql.entries() as usize]).unwrap(),
            rx: RxRing::new(ql, win.features()),
        }
    }

    pub(crate) fn ql(&self) -> QueueLayout {
        *self.win.queue()
    }

    pub(crate) fn base(&self) -> u64 {
        self.win.queue_base(self.q).unwrap()
    }

    /// Absolute offset of the data area in a window.
    pub(crate) fn data_base(&self) -> u64 {
        self.base() + u64::from(self.ql().data_off())
    }

    pub(crate) fn desc_addr(&self, index: u32) -> u64 {
        self.base() + u64::from(self.ql().desc_off(index))
    }

    /// Sender: reserve, copy the frame, write the descriptor.
    pub(crate) fn send(&mut self, frame: &[u8], flags: u32) -> Result<TxSlot, TxError> {
        let slot = self.tx.reserve(frame.len() as u32)?;
        let start = (self.data_base() + u64::from(slot.data_off())) as usize;
        self.rx_mem[start..start + frame.len()].copy_from_slice(frame);
        let d = slot.desc(flags);
        let at = self.desc_addr(slot.seq());
        wr_desc(&mut self.rx_mem, at, &d);
        Ok(slot)
    }

    /// Sender: publish (write `prod`), then read `rx_event` and decide.
    pub(crate) fn publish(&mut self) -> Published {
        let p = self.tx.publish();
        let at = self.base() + u64::from(Q_PROD);
        wr32(&mut self.rx_mem, at, p.prod);
        let ev = rd32(&self.tx_mem, self.base() + u64::from(Q_RX_EVENT));
        Published {
            prod: p.prod,
            count: p.count,
            notify: self.tx.need_notify(ev),
        }
    }

    /// Sender: read `cons`, complete.
    pub(crate) fn complete(&mut self) -> Result<u32, RingError> {
        let cons = rd32(&self.tx_mem, self.base() + u64::from(Q_CONS));
        self.tx.complete(cons)
    }

    /// Sender, queue stopped: write `tx_event`.
    pub(crate) fn arm_tx(&mut self) -> u32 {
        let e = self.tx.event_for_wake();
        let at = self.base() + u64::from(Q_TX_EVENT);
        wr32(&mut self.rx_mem, at, e);
        e
    }

    /// Receiver: read `prod` once and validate it.
    pub(crate) fn poll_prod(&mut self) -> Result<u32, RingError> {
        let prod = rd32(&self.rx_mem, self.base() + u64::from(Q_PROD));
        self.rx.available(prod)
    }

    /// Receiver: take up to `budget` descriptors, copying accepted frames.
    /// Checks that every accepted frame lies inside the data area.
    pub(crate) fn take(&mut self, budget: usize) -> Vec<Result<Received, RingError>> {
        let mut out = Vec::new();
        while out.len() < budget {
            let Some(slot) = self.rx.next_slot() else {
                break;
            };
            assert_eq!(slot, self.rx.next() & self.ql().mask());
            let d = rd_desc(&self.rx_mem, self.desc_addr(slot));
            let r = self.rx.take(&d).expect("a descriptor was pending");
            out.push(r.map(|frame| {
                let ds = self.ql().data_size();
                assert_eq!(frame.off % DATA_ALIGN, 0, "{frame:?}");
                assert!(frame.len >= MIN_FRAME && frame.len <= self.ql().max_frame());
                assert!(frame.end() <= ds, "frame {frame:?} past data area {ds}");
                let start = self.data_base() + u64::from(frame.off);
                let end = start + u64::from(frame.len);
                assert!(end <= self.data_base() + u64::from(ds));
                assert!(end <= self.base() + u64::from(self.ql().size()));
                Received {
                    frame,
                    data: self.rx_mem[start as usize..end as usize].to_vec(),
                }
            }));
        }
        out
    }

    /// Receiver: release what was taken (write `cons`), then read
    /// `tx_event` and decide.
    pub(crate) fn release(&mut self) -> Released {
        let c = self.rx.consume();
        let at = self.base() + u64::from(Q_CONS);
        wr32(&mut self.tx_mem, at, c.cons);
        let ev = rd32(&self.rx_mem, self.base() + u64::from(Q_TX_EVENT));
        Released {
            cons: c.cons,
            count: c.count,
            notify: self.rx.need_notify(ev),
        }
    }

    /// Receiver going idle: write `rx_event`, then check `prod` again.
    /// Returns whether it may sleep (nothing pending).
    pub(crate) fn arm_rx(&mut self) -> bool {
        let e = self.rx.event_for_next();
        let at = self.base() + u64::from(Q_RX_EVENT);
        wr32(&mut self.tx_mem, at, e);
        matches!(self.poll_prod(), Ok(0))
    }
}

/// A deterministic test frame: `len` bytes derived from `tag` (a window
/// into a fixed random pool, so that making one is a copy).
pub(crate) fn frame_bytes(tag: u32, len: usize) -> Vec<u8> {
    static POOL: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let pool = POOL.get_or_init(|| {
        let mut v = vec![0u8; 2 * MAX_FRAME as usize + 4096];
        Xorshift::new(0x5eed).fill(&mut v);
        v
    });
    let start = (tag.wrapping_mul(0x9e37_79b9) % 4096) as usize;
    pool[start..start + len].to_vec()
}

/// Reads fuzz input bytes; past the end, everything reads as zero.
pub(crate) struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(crate) fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    pub(crate) fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        for x in &mut b {
            *x = self.u8();
        }
        b
    }
}

/// What one fuzz input did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FuzzStats {
    pub(crate) ops: u64,
    pub(crate) accepted: u64,
    pub(crate) rejected: [u64; RingError::COUNT],
    pub(crate) bad_prod: u64,
    pub(crate) bad_cons: u64,
    pub(crate) completed: u64,
    pub(crate) headers_ok: u64,
    pub(crate) headers_bad: u64,
}

/// The fuzzing entry point, shared by `tests/fuzz_short.rs` and the
/// cargo-fuzz target: interprets `data` as a ring configuration and a
/// sequence of operations in which an honest sender and an adversary both
/// write the receiver's window (and the adversary the sender's window),
/// and checks after each step that nothing bad was accepted:
///
/// - every accepted frame lies inside the data area (checked in
///   `Link::take`), and accepted plus rejected descriptors equal the
///   descriptors taken;
/// - the receiver never has more than `entries` descriptors outstanding and
///   its indices stay ordered;
/// - the sender accepts a `cons` only inside `[done, prod]`, and its free
///   space stays within the ring and never overlaps outstanding frames.
///
/// Panics (fails) on a broken invariant.
/// Flags an honest sender may use with `features` for a frame of `len`.
fn honest_flags(inp: &mut Input<'_>, features: u32, len: u32) -> u32 {
    let csum = features & FEATURE_CSUM & u32::from(inp.u8());
    let mss = inp.u16();
    if csum != 0
        && features & FEATURE_GSO != 0
        && Gso::mss_ok(u32::from(mss))
        && u32::from(mss) < len
    {
        let proto = if mss & 1 == 0 {
            GsoProto::TcpV4
        } else {
            GsoProto::TcpV6
        };
        Gso {
            proto,
            ecn: mss & 2 != 0,
            size: mss,
        }
        .flags()
    } else {
        csum
    }
}

pub(crate) fn fuzz_rx(data: &[u8]) -> FuzzStats {
    let mut inp = Input::new(data);
    let mut st = FuzzStats::default();

    let entries = 1u32 << (3 + inp.u8() % 4);
    let max_frame = MIN_FRAME + u32::from(inp.u16()) % 2048;
    let aligned = max_frame.div_ceil(DATA_ALIGN) * DATA_ALIGN;
    let data_size = aligned + DATA_ALIGN * u32::from(inp.u8() % 64);
    let features = u32::from(inp.u8() & 3);
    let ql = QueueLayout::new(entries, data_size, max_frame).expect("valid by construction");
    let queues = 1 + u32::from(inp.u8() % 2);
    let win = WindowLayout::new(queues, ql, features).unwrap();
    let q = queues - 1;
    let mut link = Link::new(win, q);
    let window = win.size() as usize;
    // Outstanding frames by the sender's account: (seq, off, aligned len).
    let mut outstanding: std::collections::VecDeque<(u32, u32, u32)> = Default::default();
    let mut taken: u64 = 0;

    while !inp.is_empty() {
        st.ops += 1;
        match inp.u8() % 12 {
            0 => {
                // Adversary: a producer index, raw or near the receiver's.
                let v = match inp.u8() % 3 {
                    0 => inp.u32(),
                    1 => link.rx.cons().wrapping_add(u32::from(inp.u8())),
                    _ => link.rx.prod().wrapping_add(u32::from(inp.u8() % 8)),
                };
                let at = link.base() + u64::from(Q_PROD);
                wr32(&mut link.rx_mem, at, v);
            }
            1 => {
                // Adversary: a descriptor, raw or a valid-looking one with
                // one field replaced.
                let idx = link.rx.next().wrapping_add(u32::from(inp.u8() % 4));
                let d = match inp.u8() % 3 {
                    0 => Desc::from_le_bytes(inp.bytes::<DESC_LEN>()),
                    k => {
                        let mut d = Desc {
                            off: (u32::from(inp.u16()) * DATA_ALIGN) % data_size,
                            len: MIN_FRAME + u32::from(inp.u16()) % max_frame,
                            flags: features & u32::from(inp.u8()),
                            seq: idx,
                        };
                        if k == 2 {
                            match inp.u8() % 4 {
                                0 => d.off = inp.u32(),
                                1 => d.len = inp.u32(),
                                2 => d.flags = inp.u32(),
                                _ => d.seq = inp.u32(),
                            }
                        }
                        d
                    }
                };
                let a = link.desc_addr(idx);
                wr_desc(&mut link.rx_mem, a, &d);
            }
            2 => {
                // Adversary: any 4 bytes anywhere in either window.
                let off = u64::from(inp.u32()) % (window as u64 - 3);
                let v = inp.u32();
                if inp.u8() & 1 == 0 {
                    wr32(&mut link.rx_mem, off, v);
                } else {
                    wr32(&mut link.tx_mem, off, v);
                }
            }
            3 => {
                // Receiver: poll.
                let before = (link.rx.cons(), link.rx.next(), link.rx.prod());
                match link.poll_prod() {
                    Ok(n) => assert!(n <= entries),
                    Err(e) => {
                        assert_eq!(e, RingError::BadProducer);
                        assert_eq!(before, (link.rx.cons(), link.rx.next(), link.rx.prod()));
                        st.bad_prod += 1;
                    }
                }
                let budget = 1 + usize::from(inp.u8() % 16);
                let got = link.take(budget);
                taken += got.len() as u64;
                for r in got {
                    match r {
                        Ok(_) => st.accepted += 1,
                        Err(e) => st.rejected[e.index()] += 1,
                    }
                }
            }
            4 => {
                // Receiver: release.
                let before = link.rx.cons();
                let c = link.release();
                assert_eq!(c.count, c.cons.wrapping_sub(before));
            }
            5 => {
                // Honest sender: one frame.
                let len = MIN_FRAME as usize + usize::from(inp.u16()) % max_frame as usize;
                let flags = honest_flags(&mut inp, features, len as u32);
                let frame = frame_bytes(st.ops as u32, len);
                if let Ok(s) = link.send(&frame, flags) {
                    let al = s.frame_len().div_ceil(DATA_ALIGN) * DATA_ALIGN;
                    assert!(s.data_off() + al <= data_size);
                    for &(seq, off, len) in &outstanding {
                        let disjoint = s.data_off() + al <= off || off + len <= s.data_off();
                        assert!(disjoint, "slot {s:?} overlaps outstanding {seq}");
                    }
                    outstanding.push_back((s.seq(), s.data_off(), al));
                }
            }
            6 => {
                let _ = link.publish();
            }
            7 => {
                // Sender: complete, from memory (honest or not) or a raw
                // value.
                let done = link.tx.done();
                let prod = link.tx.prod();
                let r = if inp.u8() & 1 == 0 {
                    link.complete()
                } else {
                    let v = match inp.u8() % 2 {
                        0 => inp.u32(),
                        _ => done.wrapping_add(u32::from(inp.u8() % 8)),
                    };
                    link.tx.complete(v)
                };
                match r {
                    Ok(n) => {
                        assert!(n <= prod.wrapping_sub(done));
                        assert_eq!(link.tx.done(), done.wrapping_add(n));
                        for _ in 0..n {
                            outstanding.pop_front().unwrap();
                        }
                        st.completed += u64::from(n);
                    }
                    Err(e) => {
                        assert_eq!(e, RingError::BadConsumer);
                        assert_eq!(link.tx.done(), done);
                        st.bad_cons += 1;
                    }
                }
            }
            8 => {
                // A header, raw or valid with one field replaced.
                let mut b = link.win.header().to_le_bytes();
                match inp.u8() % 3 {
                    0 => b = inp.bytes::<HEADER_LEN>(),
                    1 => {
                        let i = usize::from(inp.u8()) % (HEADER_LEN - 3);
                        b[i..i + 4].copy_from_slice(&inp.bytes::<4>());
                    }
                    _ => {}
                }
                let h = Header::from_le_bytes(&b);
                let wsize = u64::from(inp.u32());
                match WindowLayout::from_header(&h, wsize) {
                    Ok(l) => {
                        assert!(l.size() <= wsize);
                        assert_eq!(
                            Header {
                                minor: h.minor,
                                ..l.header()
                            },
                            h
                        );
                        st.headers_ok += 1;
                    }
                    Err(_) => st.headers_bad += 1,
                }
            }
            9 => {
                // Adversary: events.
                let at = link.base() + u64::from(Q_TX_EVENT);
                wr32(&mut link.rx_mem, at, inp.u32());
                let at = link.base() + u64::from(Q_RX_EVENT);
                wr32(&mut link.tx_mem, at, inp.u32());
            }
            10 => {
                // Receiver going idle; sender stopping.
                let _ = link.arm_rx();
                let _ = link.arm_tx();
            }
            _ => {
                let mut data = [0u8; 64];
                data.copy_from_slice(&inp.bytes::<64>());
                let off = link.data_base() as usize
                    + (usize::from(inp.u16()) % (data_size as usize / 64)) * 64;
                link.rx_mem[off..off + 64].copy_from_slice(&data);
            }
        }

        // Invariants after every step.
        let rx = &link.rx;
        assert!(rx.next().wrapping_sub(rx.cons()) <= rx.prod().wrapping_sub(rx.cons()));
        assert!(rx.prod().wrapping_sub(rx.cons()) <= entries);
        let acc: u64 = st.accepted + st.rejected.iter().sum::<u64>();
        assert_eq!(acc, taken);
        assert_eq!(taken, u64::from(rx.next()), "taken counts every index once");
        let tx = &link.tx;
        assert!(tx.in_flight() + tx.unpublished() <= entries);
        assert_eq!(tx.free_descs(), entries - tx.in_flight() - tx.unpublished());
        assert!(tx.free_bytes() <= data_size);
        assert_eq!(outstanding.len() as u32, tx.in_flight() + tx.unpublished());
        let used: u32 = outstanding.iter().map(|&(_, _, l)| l).sum();
        assert!(used <= data_size - tx.free_bytes(), "padding is counted");
        if outstanding.is_empty() {
            assert_eq!(tx.free_bytes(), data_size);
        }
    }
    st
}

// SPDX-License-Identifier: GPL-2.0
//! The ntbnet ring protocol and its scratchpad negotiation, written from
//! Documentation/ring-protocol.md alone (not from net/ring.rs): the window
//! layout and header, descriptors, the sender's and the receiver's index
//! arithmetic, and the agreement. Where the document was silent or wrong,
//! the comment says so and what ntbnet does.

/// `N T B R`.
pub const MAGIC: u32 = 0x5242_544e;
pub const VERSION_MAJOR: u16 = 1;
pub const VERSION_MINOR: u16 = 0;
pub const HEADER_SIZE: u32 = 64;
pub const DATA_ALIGN: u32 = 64;
pub const DESC_SIZE: u32 = 16;
pub const MAX_QUEUES: u32 = 256;
pub const MIN_ENTRIES: u32 = 8;
pub const MAX_ENTRIES: u32 = 32768;
pub const MIN_FRAME: u32 = 14;
pub const MAX_FRAME: u32 = 65536;
pub const MAX_DATA_SIZE: u32 = 1 << 30;

pub const FEATURE_CSUM: u32 = 1 << 0;
pub const FEATURE_GSO: u32 = 1 << 1;
pub const FEATURES_KNOWN: u32 = FEATURE_CSUM | FEATURE_GSO;

pub const DESC_F_CSUM_VALID: u32 = 1 << 0;
pub const DESC_F_GSO_TCPV4: u32 = 1 << 1;
pub const DESC_F_GSO_TCPV6: u32 = 1 << 2;
pub const DESC_F_GSO_ECN: u32 = 1 << 3;
pub const DESC_GSO_SIZE_SHIFT: u32 = 16;

/// Queue area offsets.
pub const Q_PROD: u32 = 0;
pub const Q_TX_EVENT: u32 = 4;
pub const Q_CONS: u32 = 64;
pub const Q_RX_EVENT: u32 = 68;
pub const Q_DESC: u32 = 128;

/// Scratchpad words (indices of the reader's scratchpads).
pub const SP_VERSION: usize = 0;
pub const SP_FEATURES: usize = 1;
pub const SP_QUEUES: usize = 2;
pub const SP_ENTRIES: usize = 3;
pub const SP_MAX_FRAME: usize = 4;
pub const SP_WINDOW: usize = 5;
pub const SP_IRQ: usize = 6;
pub const SP_HEARTBEAT: usize = 7;
pub const SP_ACK: usize = 8;
pub const SP_CLEAN: usize = 9;
pub const SP_READY: usize = 10;
pub const SP_SESSION: usize = 11;
/// How much of the reader's window the writer reaches, in pages; 0 = all
/// (reserved and zero before this word was added: the same meaning).
pub const SP_OUTBOUND: usize = 12;
pub const SP_TRIGGER: usize = 16;
/// `SP_IRQ`'s kind (high byte): trigger descriptors follow.
pub const IRQ_KIND_TRIGGERS: u32 = 2;
/// Trigger descriptor kinds (first word's low byte).
pub const TRIGGER_MSI: u32 = 1;
pub const TRIGGER_DOORBELL: u32 = 2;
/// `SP_WINDOW`'s unit.
pub const WINDOW_PAGE: u64 = 4096;

pub const fn version_word(major: u16, minor: u16) -> u32 {
    0x4e54 << 16 | (major as u32) << 8 | minor as u32
}

/// `a` later than `b` in wrapping `u32` arithmetic.
fn later(a: u32, b: u32) -> u32 {
    if (a.wrapping_sub(b) as i32) > 0 {
        a
    } else {
        b
    }
}

/// The parameters of one window's rings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub queues: u32,
    pub entries: u32,
    pub max_frame: u32,
    pub data_size: u32,
    pub features: u32,
}

impl Layout {
    /// Checks the parameter table of the document.
    pub fn new(
        queues: u32,
        entries: u32,
        max_frame: u32,
        data_size: u32,
        features: u32,
    ) -> Option<Self> {
        let ok = (1..=MAX_QUEUES).contains(&queues)
            && entries.is_power_of_two()
            && (MIN_ENTRIES..=MAX_ENTRIES).contains(&entries)
            && (MIN_FRAME..=MAX_FRAME).contains(&max_frame)
            && data_size.is_multiple_of(DATA_ALIGN)
            && data_size <= MAX_DATA_SIZE
            && data_size >= max_frame.div_ceil(DATA_ALIGN) * DATA_ALIGN
            && features & !FEATURES_KNOWN == 0;
        ok.then_some(Self {
            queues,
            entries,
            max_frame,
            data_size,
            features,
        })
    }

    /// `WindowLayout::fit`: the largest `data_size` that fits `window`.
    /// (The document does not say that the data size is rounded *down* to
    /// 64 after capping at 2^30; it is the only reading that fits.)
    pub fn fit(
        window: u64,
        queues: u32,
        entries: u32,
        max_frame: u32,
        features: u32,
    ) -> Option<Self> {
        if queues == 0 || queues > MAX_QUEUES {
            return None;
        }
        let per_queue = window.checked_sub(HEADER_SIZE as u64)? / queues as u64;
        let data = per_queue.checked_sub(Q_DESC as u64 + entries as u64 * DESC_SIZE as u64)?;
        let data = data.min(MAX_DATA_SIZE as u64) & !(DATA_ALIGN as u64 - 1);
        Self::new(queues, entries, max_frame, data as u32, features)
    }

    pub fn stride(&self) -> u32 {
        Q_DESC + self.entries * DESC_SIZE + self.data_size
    }

    pub fn size(&self) -> u64 {
        HEADER_SIZE as u64 + self.queues as u64 * self.stride() as u64
    }

    pub fn queue_base(&self, q: u32) -> u64 {
        HEADER_SIZE as u64 + q as u64 * self.stride() as u64
    }

    pub fn desc_off(&self, q: u32, slot: u32) -> u64 {
        self.queue_base(q) + Q_DESC as u64 + (slot & (self.entries - 1)) as u64 * DESC_SIZE as u64
    }

    pub fn data_off(&self, q: u32) -> u64 {
        self.queue_base(q) + Q_DESC as u64 + self.entries as u64 * DESC_SIZE as u64
    }

    pub fn header(&self) -> Header {
        Header {
            magic: MAGIC,
            major: VERSION_MAJOR,
            minor: VERSION_MINOR,
            header_size: HEADER_SIZE,
            features: self.features,
            queues: self.queues,
            entries: self.entries,
            data_size: self.data_size,
            max_frame: self.max_frame,
            queue_stride: self.stride(),
        }
    }
}

/// The 64-byte window header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Header {
    pub magic: u32,
    pub major: u16,
    pub minor: u16,
    pub header_size: u32,
    pub features: u32,
    pub queues: u32,
    pub entries: u32,
    pub data_size: u32,
    pub max_frame: u32,
    pub queue_stride: u32,
}

fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

impl Header {
    pub fn to_bytes(self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.magic.to_le_bytes());
        b[4..6].copy_from_slice(&self.major.to_le_bytes());
        b[6..8].copy_from_slice(&self.minor.to_le_bytes());
        for (i, v) in [
            self.header_size,
            self.features,
            self.queues,
            self.entries,
            self.data_size,
            self.max_frame,
            self.queue_stride,
        ]
        .into_iter()
        .enumerate()
        {
            b[8 + 4 * i..12 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8; 64]) -> Self {
        Self {
            magic: le32(b, 0),
            major: u16::from_le_bytes([b[4], b[5]]),
            minor: u16::from_le_bytes([b[6], b[7]]),
            header_size: le32(b, 8),
            features: le32(b, 12),
            queues: le32(b, 16),
            entries: le32(b, 20),
            data_size: le32(b, 24),
            max_frame: le32(b, 28),
            queue_stride: le32(b, 32),
        }
    }

    /// `WindowLayout::from_header`.
    pub fn validate(&self, window: u64) -> Result<Layout, &'static str> {
        if self.magic != MAGIC {
            return Err("magic");
        }
        if self.major != VERSION_MAJOR {
            return Err("version");
        }
        if self.header_size != HEADER_SIZE {
            return Err("header size");
        }
        let l = Layout::new(
            self.queues,
            self.entries,
            self.max_frame,
            self.data_size,
            self.features,
        )
        .ok_or("layout")?;
        if self.queue_stride != l.stride() {
            return Err("stride");
        }
        if l.size() > window {
            return Err("too large");
        }
        Ok(l)
    }
}

/// A 16-byte descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Desc {
    pub off: u32,
    pub len: u32,
    pub flags: u32,
    pub seq: u32,
}

impl Desc {
    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        for (i, v) in [self.off, self.len, self.flags, self.seq]
            .into_iter()
            .enumerate()
        {
            b[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8; 16]) -> Self {
        Self {
            off: le32(b, 0),
            len: le32(b, 4),
            flags: le32(b, 8),
            seq: le32(b, 12),
        }
    }
}

/// The GSO flag bits of a descriptor for a TCP segment of `mss`.
pub fn gso_flags(v6: bool, mss: u16) -> u32 {
    let kind = if v6 {
        DESC_F_GSO_TCPV6
    } else {
        DESC_F_GSO_TCPV4
    };
    DESC_F_CSUM_VALID | kind | (mss as u32) << DESC_GSO_SIZE_SHIFT
}

/// Why a receiver rejects a value (the document's validation table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // The document's names.
pub enum RingError {
    BadProducer,
    BadSequence,
    BadFlags,
    BadOffset,
    BadLength,
    BadExtent,
    BadGso,
}

/// The sender's shadow state of one ring.
#[derive(Debug)]
pub struct TxRing {
    entries: u32,
    data_size: u32,
    max_frame: u32,
    pub head: u32,
    pub prod: u32,
    pub done: u32,
    data_head: u32,
    used: u32,
    advance: Vec<u32>,
    kicked: u32,
}

/// A reservation: descriptor index and frame offset in the data area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxSlot {
    pub index: u32,
    pub off: u32,
    pub len: u32,
}

impl TxSlot {
    pub fn desc(&self, flags: u32) -> Desc {
        Desc {
            off: self.off,
            len: self.len,
            flags,
            seq: self.index,
        }
    }
}

impl TxRing {
    pub fn new(l: &Layout) -> Self {
        Self {
            entries: l.entries,
            data_size: l.data_size,
            max_frame: l.max_frame,
            head: 0,
            prod: 0,
            done: 0,
            data_head: 0,
            used: 0,
            advance: vec![0; l.entries as usize],
            kicked: 0,
        }
    }

    /// Places a frame of `len` bytes; `None` when it is too long or there
    /// is no room.
    pub fn reserve(&mut self, len: u32) -> Option<TxSlot> {
        if !(MIN_FRAME..=self.max_frame).contains(&len)
            || self.head.wrapping_sub(self.done) >= self.entries
        {
            return None;
        }
        if self.head == self.done {
            self.data_head = 0;
        }
        let aligned = len.div_ceil(DATA_ALIGN) * DATA_ALIGN;
        let (off, advance) = if self.data_head + aligned <= self.data_size {
            (self.data_head, aligned)
        } else {
            (0, self.data_size - self.data_head + aligned)
        };
        if advance > self.data_size - self.used {
            return None;
        }
        self.advance[(self.head & (self.entries - 1)) as usize] = advance;
        self.used += advance;
        self.data_head = off + aligned;
        let slot = TxSlot {
            index: self.head,
            off,
            len,
        };
        self.head = self.head.wrapping_add(1);
        Some(slot)
    }

    pub fn publish(&mut self) -> u32 {
        self.prod = self.head;
        self.prod
    }

    /// `complete(cons)`: false (and nothing changes) for a bad `cons`.
    pub fn complete(&mut self, cons: u32) -> bool {
        if cons.wrapping_sub(self.done) > self.prod.wrapping_sub(self.done) {
            return false;
        }
        while self.done != cons {
            self.used -= self.advance[(self.done & (self.entries - 1)) as usize];
            self.done = self.done.wrapping_add(1);
        }
        true
    }

    /// Whether `rx_event` asks for an interrupt now (answered once).
    pub fn need_notify(&mut self, rx_event: u32) -> bool {
        let floor = later(self.kicked, self.done);
        if rx_event.wrapping_sub(floor) < self.prod.wrapping_sub(floor) {
            self.kicked = self.prod;
            true
        } else {
            false
        }
    }

    pub fn in_flight(&self) -> u32 {
        self.prod.wrapping_sub(self.done)
    }
}

/// A descriptor the receiver accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxFrame {
    pub off: u32,
    pub len: u32,
    pub flags: u32,
}

/// The receiver's shadow state of one ring.
#[derive(Debug)]
pub struct RxRing {
    l: Layout,
    pub cons: u32,
    pub next: u32,
    pub prod_seen: u32,
    kicked: u32,
}

impl RxRing {
    pub fn new(l: &Layout) -> Self {
        Self {
            l: *l,
            cons: 0,
            next: 0,
            prod_seen: 0,
            kicked: 0,
        }
    }

    /// Checks a producer index read from the window.
    pub fn available(&mut self, prod: u32) -> Result<u32, RingError> {
        let ahead = prod.wrapping_sub(self.prod_seen);
        let room = self
            .cons
            .wrapping_add(self.l.entries)
            .wrapping_sub(self.prod_seen);
        if ahead > room {
            return Err(RingError::BadProducer);
        }
        self.prod_seen = prod;
        Ok(prod.wrapping_sub(self.next))
    }

    pub fn next_slot(&self) -> Option<u32> {
        (self.next != self.prod_seen).then_some(self.next)
    }

    /// Validates the local copy of descriptor `next` and moves past it.
    pub fn take(&mut self, d: &Desc) -> Result<RxFrame, RingError> {
        let seq = self.next;
        self.next = self.next.wrapping_add(1);
        if d.seq != seq {
            return Err(RingError::BadSequence);
        }
        let mut allowed = 0;
        if self.l.features & FEATURE_CSUM != 0 {
            allowed |= DESC_F_CSUM_VALID;
        }
        if self.l.features & FEATURE_GSO != 0 {
            allowed |= DESC_F_GSO_TCPV4 | DESC_F_GSO_TCPV6 | DESC_F_GSO_ECN | 0xffff << 16;
        }
        if d.flags & !allowed != 0 {
            return Err(RingError::BadFlags);
        }
        if !d.off.is_multiple_of(DATA_ALIGN) || d.off >= self.l.data_size {
            return Err(RingError::BadOffset);
        }
        if d.len < MIN_FRAME || d.len > self.l.max_frame {
            return Err(RingError::BadLength);
        }
        if d.off as u64 + d.len as u64 > self.l.data_size as u64 {
            return Err(RingError::BadExtent);
        }
        let gso = d.flags & (DESC_F_GSO_TCPV4 | DESC_F_GSO_TCPV6 | DESC_F_GSO_ECN | 0xffff << 16);
        if gso != 0 {
            let kinds = d.flags & (DESC_F_GSO_TCPV4 | DESC_F_GSO_TCPV6);
            let mss = d.flags >> DESC_GSO_SIZE_SHIFT;
            if kinds.count_ones() != 1
                || mss == 0
                || mss >= d.len
                || d.flags & DESC_F_CSUM_VALID == 0
            {
                return Err(RingError::BadGso);
            }
        }
        Ok(RxFrame {
            off: d.off,
            len: d.len,
            flags: d.flags,
        })
    }

    pub fn consume(&mut self) -> u32 {
        self.cons = self.next;
        self.cons
    }

    pub fn need_notify(&mut self, tx_event: u32) -> bool {
        let floor = later(self.kicked, self.cons.wrapping_sub(self.l.entries));
        if tx_event.wrapping_sub(floor) < self.cons.wrapping_sub(floor) {
            self.kicked = self.cons;
            true
        } else {
            false
        }
    }
}

/// One host's offer, as read from (or written to) scratchpads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    pub version: u32,
    pub features: u32,
    pub queues: u32,
    pub entries: u32,
    pub max_frame: u32,
    /// In 4 KiB pages.
    pub window: u32,
    pub irq: u32,
}

/// The agreed parameters and both windows' layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub mine: Layout,
    pub theirs: Layout,
}

/// `negotiate::agree` from this host's offer `l`, the peer's `r`, how much
/// of the peer's window this host reaches (`outbound`) and how much of
/// this host's window the peer reaches (`inbound`).
pub fn agree(l: &Offer, r: &Offer, outbound: u64, inbound: u64) -> Result<Agreement, &'static str> {
    if r.version >> 16 != 0x4e54 || (r.version >> 8) & 0xff != VERSION_MAJOR as u32 {
        return Err("version");
    }
    if r.irq >> 24 != IRQ_KIND_TRIGGERS || (r.irq & 0xffff) < r.queues {
        return Err("irq");
    }
    if r.queues == 0 {
        return Err("queues");
    }
    let queues = l.queues.min(r.queues);
    let entries = l.entries.min(r.entries);
    let max_frame = l.max_frame.min(r.max_frame);
    let features = l.features & r.features & FEATURES_KNOWN;
    let mine = Layout::fit(
        (l.window as u64 * WINDOW_PAGE).min(inbound),
        queues,
        entries,
        max_frame,
        features,
    )
    .ok_or("own window")?;
    let theirs = Layout::fit(
        (r.window as u64 * WINDOW_PAGE).min(outbound),
        queues,
        entries,
        max_frame,
        features,
    )
    .ok_or("peer window")?;
    Ok(Agreement { mine, theirs })
}

/// A trigger descriptor (three scratchpad words).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Msi { window: u32, offset: u32, data: u32 },
    Doorbell { bit: u32 },
}

impl Trigger {
    pub fn to_words(self) -> [u32; 3] {
        match self {
            Self::Msi {
                window,
                offset,
                data,
            } => [TRIGGER_MSI | window << 8, offset, data],
            Self::Doorbell { bit } => [TRIGGER_DOORBELL | bit << 8, 0, 0],
        }
    }

    pub fn from_words(w: [u32; 3]) -> Option<Self> {
        match w[0] & 0xff {
            TRIGGER_MSI => Some(Self::Msi {
                window: w[0] >> 8,
                offset: w[1],
                data: w[2],
            }),
            TRIGGER_DOORBELL => Some(Self::Doorbell { bit: w[0] >> 8 }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::fit(16 << 20, 2, 8, 1024, FEATURES_KNOWN).expect("fits")
    }

    #[test]
    fn fit_fills_the_window() {
        let l = Layout::fit(15 << 20, 2, 256, 65536, 3).expect("fits");
        assert!(l.size() <= 15 << 20);
        assert!(l.size() + 2 * 64 > 15 << 20);
        assert_eq!(l.stride() % 64, 0);
        assert_eq!(l.header().validate(15 << 20), Ok(l));
        assert_eq!(l.header().validate(l.size() - 1), Err("too large"));
        // A window that cannot hold one max frame per queue.
        assert_eq!(Layout::fit(64 << 10, 2, 256, 65536, 0), None);
        assert_eq!(Layout::fit(16 << 20, 0, 256, 65536, 0), None);
        assert_eq!(Layout::fit(16 << 20, 1, 100, 65536, 0), None);
    }

    #[test]
    fn header_round_trip_and_checks() {
        let l = layout();
        let h = l.header();
        assert_eq!(Header::from_bytes(&h.to_bytes()), h);
        assert_eq!(&h.to_bytes()[0..4], b"NTBR");
        let mut bad = h;
        bad.queue_stride += 64;
        assert_eq!(bad.validate(16 << 20), Err("stride"));
        let mut bad = h;
        bad.features |= 4;
        assert_eq!(bad.validate(16 << 20), Err("layout"));
        let mut minor = h;
        minor.minor = 7;
        assert!(minor.validate(16 << 20).is_ok());
    }

    #[test]
    fn tx_placement_skips_the_tail_and_frees_exactly() {
        let l = Layout::new(1, 8, 1024, 4096, 0).expect("layout");
        let mut tx = TxRing::new(&l);
        let a = tx.reserve(1000).expect("room");
        let b = tx.reserve(1000).expect("room");
        let c = tx.reserve(1000).expect("room");
        assert_eq!((a.off, b.off, c.off), (0, 1024, 2048));
        tx.publish();
        assert!(tx.complete(1));
        // 3072..4096 is free at the end, 0..1024 at the start.
        let d = tx.reserve(1000).expect("room");
        assert_eq!(d.off, 3072);
        let e = tx.reserve(100).expect("wraps");
        assert_eq!(e.off, 0);
        assert!(tx.reserve(1000).is_none(), "no room left");
        tx.publish();
        assert!(!tx.complete(6), "past prod");
        assert!(tx.complete(5));
        assert_eq!(tx.reserve(1024).expect("empty ring").off, 0);
        assert!(tx.reserve(13).is_none());
        assert!(tx.reserve(1025).is_none());
    }

    #[test]
    fn events_are_answered_once() {
        let l = layout();
        let mut tx = TxRing::new(&l);
        tx.reserve(60).expect("room");
        tx.publish();
        assert!(tx.need_notify(0), "zeroed event arms");
        assert!(!tx.need_notify(0), "once");
        tx.reserve(60).expect("room");
        tx.publish();
        assert!(!tx.need_notify(5));
        assert!(tx.need_notify(1));
        let mut rx = RxRing::new(&l);
        assert_eq!(rx.available(2), Ok(2));
        for i in 0..2 {
            let d = Desc {
                off: 64 * i,
                len: 60,
                flags: 0,
                seq: i,
            };
            assert!(rx.take(&d).is_ok());
        }
        rx.consume();
        assert!(rx.need_notify(0));
        assert!(!rx.need_notify(0));
    }

    #[test]
    fn receiver_checks() {
        let l = layout();
        let mut rx = RxRing::new(&l);
        assert_eq!(rx.available(9), Err(RingError::BadProducer));
        assert_eq!(rx.available(u32::MAX), Err(RingError::BadProducer));
        assert_eq!(rx.available(8), Ok(8));
        let ok = Desc {
            off: 0,
            len: 60,
            flags: 0,
            seq: 0,
        };
        assert!(rx.take(&ok).is_ok());
        let cases = [
            (Desc { seq: 7, ..ok }, RingError::BadSequence),
            (
                Desc {
                    flags: 1 << 4,
                    ..ok
                },
                RingError::BadFlags,
            ),
            (Desc { off: 32, ..ok }, RingError::BadOffset),
            (Desc { len: 13, ..ok }, RingError::BadLength),
            (
                Desc {
                    off: l.data_size - 64,
                    len: 100,
                    ..ok
                },
                RingError::BadExtent,
            ),
            (
                Desc {
                    flags: DESC_F_GSO_TCPV4 | 1 << 16,
                    ..ok
                },
                RingError::BadGso,
            ),
            (
                Desc {
                    flags: gso_flags(false, 60),
                    ..ok
                },
                RingError::BadGso,
            ),
        ];
        for (i, (mut d, e)) in cases.into_iter().enumerate() {
            if d.seq == 0 {
                d.seq = i as u32 + 1;
            } else {
                d.seq = 99;
            }
            assert_eq!(rx.take(&d), Err(e), "{d:?}");
        }
        let gso = Desc {
            flags: gso_flags(true, 1),
            seq: rx.next,
            ..ok
        };
        assert!(rx.take(&gso).is_ok());
    }

    #[test]
    fn agreement_and_triggers() {
        let l = Offer {
            version: version_word(1, 0),
            features: 3,
            queues: 8,
            entries: 256,
            max_frame: 65536,
            window: (15 << 20) / 4096,
            irq: 2 << 24 | 8,
        };
        let r = Offer {
            queues: 2,
            entries: 512,
            features: 1,
            window: 4096,
            irq: 2 << 24 | 2,
            ..l
        };
        let a = agree(&l, &r, 16 << 20, 15 << 20).expect("agrees");
        assert_eq!(
            (a.mine.queues, a.mine.entries, a.mine.features),
            (2, 256, 1)
        );
        assert!(a.theirs.size() <= 16 << 20 && a.mine.size() <= 15 << 20);
        // Unequal reach: each side lays out what the writer reaches.
        let small = agree(&l, &r, 4 << 20, 2 << 20).expect("agrees");
        assert!(small.theirs.size() <= 4 << 20 && small.theirs.size() > 3 << 20);
        assert!(small.mine.size() <= 2 << 20 && small.mine.size() > 1 << 20);
        assert_eq!(
            agree(
                &l,
                &Offer {
                    irq: 1 << 24 | 2,
                    ..r
                },
                1 << 24,
                1 << 24
            ),
            Err("irq")
        );
        assert_eq!(
            agree(
                &l,
                &Offer {
                    version: 0x4e54_0200,
                    ..r
                },
                1 << 24,
                1 << 24
            ),
            Err("version")
        );
        let t = Trigger::Doorbell { bit: 5 };
        assert_eq!(t.to_words(), [0x502, 0, 0]);
        assert_eq!(Trigger::from_words(t.to_words()), Some(t));
        assert_eq!(Trigger::from_words([3, 0, 0]), None);
    }
}

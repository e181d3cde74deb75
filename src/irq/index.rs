// SPDX-License-Identifier: GPL-2.0

//! The pure logic of the NTB irq domain (`src/irq/domain/`): the queue index
//! space, the queue-to-doorbell-bit map, the placement of the MSI window
//! and the trigger descriptor a peer is given.
//!
//! Nothing here touches the kernel: the same file is a module of the
//! kernel crates (through `src/lib.rs`) and the crate root of the host
//! crate `ntbnet-irq-index`, whose tests (`src/irq/index/tests/`) run under
//! `cargo test`.
//!
//! The index space is the one Jason Gunthorpe asked for in the seed
//! discussion: a driver asks for "queue `q`'s interrupt", `q` zero-based and
//! relative to the domain, never for a slot of the device's MSI-X table.
//!
//! ```
//! use ntbnet_irq_index::*;
//!
//! let mut queues = IndexSpace::new(8).unwrap();
//! queues.claim(3).unwrap();
//! assert_eq!(queues.claim(3), Err(IndexError::Busy));
//! assert_eq!(queues.claim_first(), Ok(0));
//!
//! // Doorbell backend: 8 queues on the 4 doorbell bits 4..7.
//! let db = DbMap::new(0xf0).unwrap();
//! assert_eq!(db.bit_for(5), Some(5));
//! assert_eq!(db.bit_for(1), Some(5)); // queues 1 and 5 share bit 5
//! assert_eq!(db.queues_for_bit(5, 8).collect::<Vec<_>>(), [1, 5]);
//!
//! // MSI backend: a window onto the x86 MSI range, 4 KiB aligned.
//! let align = WindowAlign { addr_align: 0x1000, size_align: 0x1000, size_max: 1 << 30 };
//! let w = MsiWindow::place(0xfee0_0000, 0x10_0000, &align).unwrap();
//! assert_eq!(w.offset(0xfee0_1000), Some(0x1000));
//!
//! // What the peer is told: write 0x4041 at offset 0x1000 of window 2.
//! let t = Trigger::Msi { window: 2, offset: 0x1000, data: 0x4041 };
//! assert_eq!(Trigger::from_words(t.to_words()), Ok(t));
//! ```

// `standalone` is the host crate's default feature: only there is this file
// the crate root. In the kernel it is a module and the kernel makes its crate
// `no_std` itself.
#![cfg_attr(feature = "standalone", no_std)]
#![forbid(unsafe_code)]
#![deny(
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used
)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

/// Most queues one domain serves.
pub const MAX_QUEUES: u32 = 256;

/// Words of the bitmap of an [`IndexSpace`].
const WORDS: usize = 4;

/// Why an index operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexError {
    /// The index is not below the size of the space.
    OutOfRange,
    /// The index is already claimed.
    Busy,
    /// The index is not claimed.
    NotClaimed,
    /// Every index is claimed.
    Exhausted,
    /// A space of zero or more than [`MAX_QUEUES`] indexes.
    BadSize,
}

/// A zero-based index space of `len` queues, each free or claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSpace {
    len: u32,
    words: [u64; WORDS],
}

/// The word and the bit of index `idx` (below [`MAX_QUEUES`]).
fn locate(idx: u32) -> (usize, u64) {
    let word = usize::try_from(idx / 64).unwrap_or(usize::MAX);
    (word, 1u64 << (idx % 64))
}

impl IndexSpace {
    /// A space of `len` free indexes, `0..len`.
    pub fn new(len: u32) -> Result<Self, IndexError> {
        if len == 0 || len > MAX_QUEUES {
            return Err(IndexError::BadSize);
        }
        Ok(Self {
            len,
            words: [0; WORDS],
        })
    }

    /// How many indexes the space has.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the space is empty (never: see [`IndexSpace::new`]).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn check(&self, idx: u32) -> Result<(usize, u64), IndexError> {
        if idx >= self.len {
            return Err(IndexError::OutOfRange);
        }
        Ok(locate(idx))
    }

    /// Whether `idx` is claimed (false when out of range).
    pub fn is_claimed(&self, idx: u32) -> bool {
        match self.check(idx) {
            Ok((w, bit)) => self.words.get(w).is_some_and(|v| v & bit != 0),
            Err(_) => false,
        }
    }

    /// Claims `idx`.
    pub fn claim(&mut self, idx: u32) -> Result<(), IndexError> {
        let (w, bit) = self.check(idx)?;
        let word = self.words.get_mut(w).ok_or(IndexError::OutOfRange)?;
        if *word & bit != 0 {
            return Err(IndexError::Busy);
        }
        *word |= bit;
        Ok(())
    }

    /// Claims the lowest free index and returns it.
    pub fn claim_first(&mut self) -> Result<u32, IndexError> {
        let idx = (0..self.len)
            .find(|&i| !self.is_claimed(i))
            .ok_or(IndexError::Exhausted)?;
        self.claim(idx)?;
        Ok(idx)
    }

    /// Releases `idx`.
    pub fn release(&mut self, idx: u32) -> Result<(), IndexError> {
        let (w, bit) = self.check(idx)?;
        let word = self.words.get_mut(w).ok_or(IndexError::OutOfRange)?;
        if *word & bit == 0 {
            return Err(IndexError::NotClaimed);
        }
        *word &= !bit;
        Ok(())
    }

    /// How many indexes are claimed.
    pub fn count(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    /// The claimed indexes, in increasing order.
    pub fn claimed(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len).filter(|&i| self.is_claimed(i))
    }
}

/// Why a [`DbMap`] cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbMapError {
    /// No doorbell bit to use.
    NoBits,
}

/// How the queues of the doorbell backend share the doorbell bits the
/// domain may use: queue `q` rings the `q % n`-th of the `n` usable bits
/// (counted from the lowest), so with at least as many bits as queues each
/// queue has its own bit, and with fewer the queues share them round-robin.
/// Both hosts compute the same map from the same mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbMap {
    mask: u64,
}

impl DbMap {
    /// The map over the doorbell bits set in `mask`.
    pub fn new(mask: u64) -> Result<Self, DbMapError> {
        if mask == 0 {
            return Err(DbMapError::NoBits);
        }
        Ok(Self { mask })
    }

    /// The usable bits.
    pub fn mask(&self) -> u64 {
        self.mask
    }

    /// How many bits are usable.
    pub fn bits(&self) -> u32 {
        self.mask.count_ones()
    }

    /// The doorbell bit of queue `queue`.
    pub fn bit_for(&self, queue: u32) -> Option<u32> {
        let n = queue.checked_rem(self.bits())?;
        let mut rest = self.mask;
        for _ in 0..n {
            rest &= rest.wrapping_sub(1);
        }
        (rest != 0).then(|| rest.trailing_zeros())
    }

    /// The queues below `queues` that ring doorbell bit `bit`, in
    /// increasing order: the interrupts to raise when `bit` is set.
    pub fn queues_for_bit(&self, bit: u32, queues: u32) -> impl Iterator<Item = u32> {
        let usable = bit < 64 && self.mask & (1u64 << (bit % 64)) != 0;
        // The rank of `bit` among the usable bits.
        let below = self.mask
            & 1u64
                .checked_shl(bit)
                .map_or(u64::MAX, |b| b.wrapping_sub(1));
        let first = below.count_ones();
        let step = self.bits();
        let end = if usable { queues } else { 0 };
        (first..end).step_by(usize::try_from(step).unwrap_or(usize::MAX))
    }
}

/// The alignment rules of an inbound memory window (`ntb_mw_get_align`):
/// the one alignment type of the NTB client API (`ntb::WindowAlign`), the
/// hardware-driver API and the MSI window's placement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowAlign {
    /// Alignment of the translated address (a power of two; 0 means 1).
    pub addr_align: u64,
    /// Alignment of the translated size (a power of two; 0 means 1).
    pub size_align: u64,
    /// Largest translatable size (0: no limit).
    pub size_max: u64,
}

/// Why no MSI window can be placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowError {
    /// An alignment is not a power of two.
    BadAlign,
    /// The window cannot reach the MSI range: `size_max` is too small for
    /// the alignment, or the range is empty or wraps.
    TooSmall,
    /// The alignment makes an exact window impossible: an aligned window
    /// that reaches the range also covers addresses outside it (below
    /// 0xfee00000 on x86: the IOAPIC, HPET, other MMIO, RAM), and a window
    /// onto the MSI range must expose nothing else.
    NotExact,
}

/// An inbound window translated onto (part of) the MSI address range: the
/// peer's write at `offset` in its outbound window arrives at `base +
/// offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsiWindow {
    /// Translated address of the window's first byte.
    pub base: u64,
    /// Translated size.
    pub size: u64,
}

/// Largest MSI window: trigger offsets are 32-bit.
const MAX_WINDOW: u64 = 1 << 32;

fn pow2_or_one(v: u64) -> Result<u64, WindowError> {
    match v {
        0 => Ok(1),
        v if v.is_power_of_two() => Ok(v),
        _ => Err(WindowError::BadAlign),
    }
}

impl MsiWindow {
    /// Places a window over the MSI range `range_base..range_base +
    /// range_size` that obeys `align` and covers nothing outside the range:
    /// it starts at `range_base` and ends at its end, or earlier when
    /// `size_max` cuts the range (then it covers the beginning: x86 MSI
    /// addresses of low APIC IDs and remapped-interrupt handles, and a
    /// message beyond it is refused by [`MsiWindow::offset`]). When the
    /// alignment would move the base below the range or round the size
    /// past its end, there is no such window: [`WindowError::NotExact`].
    pub fn place(
        range_base: u64,
        range_size: u64,
        align: &WindowAlign,
    ) -> Result<Self, WindowError> {
        let addr_align = pow2_or_one(align.addr_align)?;
        let size_align = pow2_or_one(align.size_align)?;
        let end = range_base
            .checked_add(range_size)
            .filter(|_| range_size != 0)
            .ok_or(WindowError::TooSmall)?;
        let base = range_base;
        if base & addr_align.wrapping_sub(1) != 0 {
            return Err(WindowError::NotExact);
        }
        let want = end.wrapping_sub(base);
        let limit = match align.size_max {
            0 => MAX_WINDOW,
            m => m.min(MAX_WINDOW),
        };
        // The whole range if the size alignment allows it and it fits,
        // else the largest aligned size within both.
        let size = want.min(limit) & !size_align.wrapping_sub(1);
        // The window must reach at least one 32-bit word of the range.
        if size < 4 {
            return Err(if want.min(limit) >= 4 {
                WindowError::NotExact
            } else {
                WindowError::TooSmall
            });
        }
        Ok(Self { base, size })
    }

    /// The offset in the window of the 32-bit MSI write to `addr`, or
    /// `None` when the window does not cover it or it is misaligned.
    pub fn offset(&self, addr: u64) -> Option<u32> {
        let off = addr.checked_sub(self.base)?;
        let end = off.checked_add(4)?;
        if end > self.size || off % 4 != 0 {
            return None;
        }
        u32::try_from(off).ok()
    }
}

/// How a peer raises one of this host's queue interrupts: what the owner
/// of the domain publishes to the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Write the 32-bit `data` at `offset` in the peer's outbound memory
    /// window `window` (the MSI backend: the window arrives on this host's
    /// MSI address range).
    Msi {
        /// The memory window index.
        window: u32,
        /// Byte offset in the window, 4-byte aligned.
        offset: u32,
        /// The MSI message data.
        data: u32,
    },
    /// Ring doorbell bit `bit` (the doorbell backend). The peer rings it
    /// with its own `ntb_peer_db_set(1 << bit)`.
    Doorbell {
        /// The doorbell bit.
        bit: u32,
    },
}

/// Words of an encoded [`Trigger`].
pub const TRIGGER_WORDS: usize = 3;

/// Encoded kinds (low byte of word 0).
const KIND_MSI: u32 = 1;
const KIND_DOORBELL: u32 = 2;

/// Why an encoded trigger is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerError {
    /// Unknown kind.
    Kind,
    /// A field out of range: a window or bit index too large, a
    /// misaligned offset, or non-zero reserved words.
    Field,
}

impl Trigger {
    /// The trigger as three words for the peer: `[kind | index << 8,
    /// offset, data]` (index: the window or the doorbell bit; offset and
    /// data are zero for a doorbell).
    pub fn to_words(&self) -> [u32; TRIGGER_WORDS] {
        match *self {
            Trigger::Msi {
                window,
                offset,
                data,
            } => [KIND_MSI | (window & 0xff_ffff) << 8, offset, data],
            Trigger::Doorbell { bit } => [KIND_DOORBELL | (bit & 0xff_ffff) << 8, 0, 0],
        }
    }

    /// Decodes the words a peer published (untrusted: every field is
    /// checked; the caller still checks the window index and the offset
    /// against its own windows).
    pub fn from_words(w: [u32; TRIGGER_WORDS]) -> Result<Self, TriggerError> {
        let [head, offset, data] = w;
        let index = head >> 8;
        match head & 0xff {
            KIND_MSI => {
                if index > 0xff || offset % 4 != 0 {
                    return Err(TriggerError::Field);
                }
                Ok(Trigger::Msi {
                    window: index,
                    offset,
                    data,
                })
            }
            KIND_DOORBELL => {
                if index >= 64 || offset != 0 || data != 0 {
                    return Err(TriggerError::Field);
                }
                Ok(Trigger::Doorbell { bit: index })
            }
            _ => Err(TriggerError::Kind),
        }
    }
}

/// Follows a trigger descriptor that the peer may republish at any time
/// (its three words written one after the other, read here without any
/// lock): a changed value is taken only once two reads in a row, one link
/// tick apart, agree, so a half-written descriptor is never used. A peer
/// writes its three words in microseconds; it would have to stall between
/// two of them for a whole tick to be read torn twice alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TriggerWatch {
    used: [u32; TRIGGER_WORDS],
    last: [u32; TRIGGER_WORDS],
}

impl TriggerWatch {
    /// Watches a descriptor whose value `used` is in use.
    pub const fn new(used: [u32; TRIGGER_WORDS]) -> Self {
        Self { used, last: used }
    }

    /// Feeds one read of the words; returns them if they differ from the
    /// value in use and the previous read saw the same. The caller resolves
    /// them and, if they work, calls [`Self::adopt`]; otherwise the same
    /// words come back at the next read.
    pub fn observe(&mut self, words: [u32; TRIGGER_WORDS]) -> Option<[u32; TRIGGER_WORDS]> {
        let settled = words == self.last;
        self.last = words;
        (settled && words != self.used).then_some(words)
    }

    /// The words [`Self::observe`] returned are in use now.
    pub fn adopt(&mut self, words: [u32; TRIGGER_WORDS]) {
        self.used = words;
    }

    /// The value in use.
    pub const fn used(&self) -> [u32; TRIGGER_WORDS] {
        self.used
    }
}

/// A captured MSI message as `(offset in the window, data)`, packed into
/// one word so that the interrupt core's callback can store it atomically
/// and a reader never sees half of an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackedMsg(u64);

impl PackedMsg {
    /// No message captured yet, or one outside the window.
    pub const NONE: Self = Self(u64::MAX);

    /// Packs `offset` and `data`.
    pub fn new(offset: u32, data: u32) -> Self {
        Self(u64::from(offset) << 32 | u64::from(data))
    }

    /// The raw word, for an atomic store.
    pub fn raw(self) -> u64 {
        self.0
    }

    /// From the raw word of an atomic load.
    pub fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// `(offset, data)`, or `None` for [`PackedMsg::NONE`] (an offset of
    /// `u32::MAX` is never a valid, 4-byte aligned one).
    pub fn get(self) -> Option<(u32, u32)> {
        let offset = u32::try_from(self.0 >> 32).ok()?;
        let data = u32::try_from(self.0 & 0xffff_ffff).ok()?;
        (offset != u32::MAX).then_some((offset, data))
    }
}

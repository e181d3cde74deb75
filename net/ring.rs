// SPDX-License-Identifier: GPL-2.0

//! The ntbnet ring protocol: layout, index arithmetic and validation.
//!
//! This file is the pure logic of the data path. It has no kernel
//! dependencies and touches no shared memory itself: the kernel side reads
//! each value from shared memory once (a volatile or atomic load into a local
//! copy), passes the copy in, and writes back the values computed here. The
//! same file is the crate root of the host crate `ntbnet-ring` (tests,
//! property tests, fuzzing) and a module of the ntbnet kernel crate.
//!
//! The protocol is specified in `Documentation/ring-protocol.md`. In short:
//! every host owns an inbound window in its own RAM that only the peer
//! writes. For each queue, that window holds the ring the peer sends on
//! (descriptors, a data area, the peer's producer index `prod` and its
//! `tx_event`) and the completion block of the ring this host sends on (the
//! peer's consumer index `cons` and its `rx_event`). Cross-link accesses are
//! posted writes only; each side reads only its own memory.
//!
//! The peer is not trusted. Every index, offset, length and flag word read
//! from shared memory goes through a validating function here
//! ([`RxRing::available`], [`RxRing::take`], [`TxRing::complete`],
//! [`WindowLayout::from_header`]) that returns a [`RingError`] or
//! [`HeaderError`] for a bad value; the caller counts it and drops the value.
//!
//! One frame through one queue, with the kernel side's memory accesses as
//! comments:
//!
//! ```
//! use ntbnet_ring::*;
//!
//! let win = WindowLayout::fit(1 << 20, 2, 256, 1514, FEATURE_CSUM).unwrap();
//! let ql = *win.queue();
//! let mut tx = TxRing::new(ql, vec![0u32; ql.entries() as usize]).unwrap();
//! let mut rx = RxRing::new(ql, win.features());
//!
//! // Sender (xmit): place the frame, copy it and its descriptor.
//! let slot = tx.reserve(60).unwrap();
//! let desc = slot.desc(DESC_F_CSUM_VALID);
//! // memcpy_toio(peer data + slot.data_off()); write desc.to_le_bytes()
//! // at peer queue + ql.desc_off(slot.slot()); wmb(); then:
//! let p = tx.publish();
//! // write p.prod at peer queue + Q_PROD; mb(); read own Q_RX_EVENT:
//! assert!(tx.need_notify(0)); // so ring the peer's queue interrupt
//!
//! // Receiver (NAPI): read own Q_PROD once, rmb(), then the descriptors.
//! assert_eq!(rx.available(p.prod), Ok(1));
//! let slot = rx.next_slot().unwrap();
//! let raw = desc.to_le_bytes(); // read once from own queue + desc_off(slot)
//! let frame = rx.take(&Desc::from_le_bytes(raw)).unwrap().unwrap();
//! assert_eq!((frame.off, frame.len, frame.csum_valid()), (0, 60, true));
//! // copy the frame out; mb(); then:
//! let c = rx.consume();
//! // write c.cons at peer queue + Q_CONS; mb(); read own Q_TX_EVENT;
//! // need_notify(tx_event). Before sleeping: write event_for_next() at
//! // peer queue + Q_RX_EVENT; mb(); read Q_PROD again.
//!
//! // Sender (completion): read own Q_CONS once.
//! assert_eq!(tx.complete(c.cons), Ok(1));
//! assert_eq!(tx.free_descs(), ql.entries());
//! ```
//!
//! The code never panics: there is no `unsafe`, no `unwrap`, no panicking
//! indexing and no arithmetic that can overflow; the lints below enforce it.

// `standalone` is the host crate's default feature: only there is this file
// the crate root. In the kernel it is a module and the kernel makes its crate
// `no_std` itself.
#![cfg_attr(feature = "standalone", no_std)]
#![forbid(unsafe_code)]
#![deny(
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::expect_used,
    clippy::float_arithmetic,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::todo,
    clippy::unimplemented,
    clippy::unreachable,
    clippy::unwrap_used
)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

use core::ops::{Deref, DerefMut};

/// Size in bytes of the cache line that separates fields written by
/// different roles.
pub const CACHE_LINE: u32 = 64;

/// Alignment in bytes of every frame in a data area (and of the data area).
pub const DATA_ALIGN: u32 = 64;

/// Size in bytes of one descriptor.
pub const DESC_SIZE: u32 = 16;

/// [`DESC_SIZE`] as a `usize`, for arrays.
#[allow(clippy::as_conversions)] // Compile-time and lossless.
pub const DESC_LEN: usize = DESC_SIZE as usize;

/// Size in bytes of the window header at offset 0 of a window.
pub const HEADER_SIZE: u32 = 64;

/// [`HEADER_SIZE`] as a `usize`, for arrays.
#[allow(clippy::as_conversions)] // Compile-time and lossless.
pub const HEADER_LEN: usize = HEADER_SIZE as usize;

/// `magic` of a window header: the bytes `NTBR`.
pub const MAGIC: u32 = u32::from_le_bytes(*b"NTBR");

/// Major protocol version. A reader rejects any other major version.
pub const VERSION_MAJOR: u16 = 1;

/// Minor protocol version. Minor versions only add fields in space that is
/// reserved (zero) in older ones; a reader accepts any minor version.
pub const VERSION_MINOR: u16 = 0;

/// Smallest number of descriptors in a ring.
pub const MIN_ENTRIES: u32 = 8;

/// Largest number of descriptors in a ring.
pub const MAX_ENTRIES: u32 = 32768;

/// Largest number of queues in a window.
pub const MAX_QUEUES: u32 = 256;

/// Smallest frame: an Ethernet header.
pub const MIN_FRAME: u32 = 14;

/// Largest value of the `max_frame` parameter.
pub const MAX_FRAME: u32 = 65536;

/// Largest data area of one queue.
pub const MAX_DATA_SIZE: u32 = 1 << 30;

/// Feature bit: the sender may set [`DESC_F_CSUM_VALID`] in descriptors.
pub const FEATURE_CSUM: u32 = 1 << 0;

/// Feature bit: the sender may send TCP segmentation offload frames
/// (one TCP segment of up to `max_frame` bytes that the receiver hands to
/// its stack as a GSO packet) with the `DESC_F_GSO_*` flags and an MSS in
/// [`DESC_GSO_SIZE_SHIFT`]. In use only together with [`FEATURE_CSUM`].
pub const FEATURE_GSO: u32 = 1 << 1;

/// Every feature bit this version knows.
pub const FEATURES_KNOWN: u32 = FEATURE_CSUM | FEATURE_GSO;

/// Whether GSO frames are in use with `features`: [`FEATURE_GSO`] counts
/// only together with [`FEATURE_CSUM`].
pub const fn gso_in_use(features: u32) -> bool {
    features & (FEATURE_CSUM | FEATURE_GSO) == FEATURE_CSUM | FEATURE_GSO
}

/// Descriptor flag: the sender vouches for the frame's checksums (the
/// receiver may mark the skb `CHECKSUM_UNNECESSARY`). Allowed only when
/// [`FEATURE_CSUM`] is in use.
pub const DESC_F_CSUM_VALID: u32 = 1 << 0;

/// Descriptor flag: the frame is one large TCP over IPv4 segment to be
/// segmented at the MSS in the flags' upper half ([`FEATURE_GSO`]).
pub const DESC_F_GSO_TCPV4: u32 = 1 << 1;

/// Descriptor flag: as [`DESC_F_GSO_TCPV4`], TCP over IPv6.
pub const DESC_F_GSO_TCPV6: u32 = 1 << 2;

/// Descriptor flag: the large segment uses ECN (CWR set in its first
/// segment only), with [`DESC_F_GSO_TCPV4`] or [`DESC_F_GSO_TCPV6`].
pub const DESC_F_GSO_ECN: u32 = 1 << 3;

/// The MSS of a GSO frame is in flag bits 16..31 (zero for other frames).
pub const DESC_GSO_SIZE_SHIFT: u32 = 16;

/// Smallest MSS of a GSO frame: Linux's smallest accepted TCP MSS
/// (`TCP_MIN_MSS`). A frame of `max_frame` bytes then makes at most about
/// 750 segments if the receiver has to segment it (to forward it), where
/// an MSS of 1 would make 65,000 in one softirq. A sender segments a
/// packet with a smaller MSS in software before it reaches the ring.
pub const MIN_GSO_SIZE: u32 = 88;

/// An MSS the sender never uses: Linux's `GSO_BY_FRAGS`, which means
/// "segment at the fragment boundaries" to the kernel, not a size.
pub const GSO_BY_FRAGS: u32 = 0xffff;

/// Every flag bit that [`FEATURE_GSO`] allows.
const DESC_F_GSO_ALL: u32 =
    DESC_F_GSO_TCPV4 | DESC_F_GSO_TCPV6 | DESC_F_GSO_ECN | (0xffff << DESC_GSO_SIZE_SHIFT);

/// The network protocol of a GSO frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GsoProto {
    /// TCP over IPv4.
    TcpV4,
    /// TCP over IPv6.
    TcpV6,
}

/// How the receiver segments a GSO frame: the descriptor's `DESC_F_GSO_*`
/// flags and MSS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gso {
    /// The protocol.
    pub proto: GsoProto,
    /// Whether the segment uses ECN.
    pub ecn: bool,
    /// The MSS: payload bytes per segment, at least [`MIN_GSO_SIZE`],
    /// never [`GSO_BY_FRAGS`].
    pub size: u16,
}

impl Gso {
    /// The descriptor flags for this GSO frame (with [`DESC_F_CSUM_VALID`]).
    #[allow(clippy::as_conversions)] // u16 to u32, lossless (`From` is not const).
    pub const fn flags(&self) -> u32 {
        let proto = match self.proto {
            GsoProto::TcpV4 => DESC_F_GSO_TCPV4,
            GsoProto::TcpV6 => DESC_F_GSO_TCPV6,
        };
        let ecn = if self.ecn { DESC_F_GSO_ECN } else { 0 };
        DESC_F_CSUM_VALID | proto | ecn | (self.size as u32) << DESC_GSO_SIZE_SHIFT
    }

    /// Whether a GSO frame may carry `mss`: at least [`MIN_GSO_SIZE`], not
    /// [`GSO_BY_FRAGS`]. A sender segments other packets in software.
    pub const fn mss_ok(mss: u32) -> bool {
        mss >= MIN_GSO_SIZE && mss != GSO_BY_FRAGS
    }

    /// Decodes the GSO part of a descriptor's flags for a frame of `len`
    /// bytes: `Ok(None)` for a plain frame. A GSO frame names exactly one
    /// protocol, [`DESC_F_CSUM_VALID`] and an MSS below `len`, not
    /// [`GSO_BY_FRAGS`] ([`RingError::BadGso`] otherwise), of at least
    /// [`MIN_GSO_SIZE`] ([`RingError::SmallMss`]); a plain frame has no ECN
    /// flag and a zero MSS.
    pub const fn from_flags(flags: u32, len: u32) -> Result<Option<Self>, RingError> {
        let size = flags >> DESC_GSO_SIZE_SHIFT;
        let ecn = flags & DESC_F_GSO_ECN != 0;
        let proto = match flags & (DESC_F_GSO_TCPV4 | DESC_F_GSO_TCPV6) {
            0 if size == 0 && !ecn => return Ok(None),
            DESC_F_GSO_TCPV4 => GsoProto::TcpV4,
            DESC_F_GSO_TCPV6 => GsoProto::TcpV6,
            _ => return Err(RingError::BadGso),
        };
        if size >= len || size == GSO_BY_FRAGS || flags & DESC_F_CSUM_VALID == 0 {
            return Err(RingError::BadGso);
        }
        if size < MIN_GSO_SIZE {
            return Err(RingError::SmallMss);
        }
        #[allow(clippy::as_conversions)] // `size` < 2^16: shifted out of a u32.
        Ok(Some(Self {
            proto,
            ecn,
            size: size as u16,
        }))
    }
}

/// Offset in a queue area of `prod`, written by the peer as sender.
pub const Q_PROD: u32 = 0;

/// Offset in a queue area of `tx_event`, written by the peer as sender.
pub const Q_TX_EVENT: u32 = 4;

/// Offset in a queue area of `cons`, written by the peer as receiver.
pub const Q_CONS: u32 = CACHE_LINE;

/// Offset in a queue area of `rx_event`, written by the peer as receiver.
pub const Q_RX_EVENT: u32 = CACHE_LINE + 4;

/// Offset in a queue area of the descriptor ring.
pub const Q_DESC: u32 = 2 * CACHE_LINE;

/// Returns whether the side that moved an index from `old` to `new` must
/// interrupt the peer that asked to be interrupted at `event`.
///
/// This is virtio's `vring_need_event`: true iff `event` lies in
/// `[old, new)` in wrapping `u32` arithmetic, i.e. the update published the
/// entry numbered `event`.
pub const fn need_event(event: u32, new: u32, old: u32) -> bool {
    new.wrapping_sub(event).wrapping_sub(1) < new.wrapping_sub(old)
}

/// Returns whether free-running index `a` is strictly after `b`.
const fn is_after(a: u32, b: u32) -> bool {
    let d = a.wrapping_sub(b);
    d != 0 && d < 1 << 31
}

/// Returns the later of two free-running indices.
const fn later(a: u32, b: u32) -> u32 {
    if is_after(b, a) {
        b
    } else {
        a
    }
}

/// Rounds `len` up to [`DATA_ALIGN`].
const fn align_up(len: u32) -> Option<u32> {
    match len.checked_add(DATA_ALIGN - 1) {
        Some(v) => Some(v & !(DATA_ALIGN - 1)),
        None => None,
    }
}

/// Converts a `u32` to `usize` (lossless on every target Linux supports).
fn to_usize(v: u32) -> Option<usize> {
    usize::try_from(v).ok()
}

/// Why a ring configuration is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The queue count is zero or above [`MAX_QUEUES`].
    Queues,
    /// The entry count is not a power of two in
    /// [`MIN_ENTRIES`]`..=`[`MAX_ENTRIES`].
    Entries,
    /// The data area size is not a multiple of [`DATA_ALIGN`], is above
    /// [`MAX_DATA_SIZE`] or cannot hold one frame of `max_frame` bytes.
    DataSize,
    /// `max_frame` is outside [`MIN_FRAME`]`..=`[`MAX_FRAME`].
    MaxFrame,
    /// Unknown feature bits.
    Features,
    /// The layout does not fit the window.
    TooLarge,
    /// The storage given to [`TxRing::new`] has fewer than `entries` cells.
    Storage,
}

/// Layout of one queue area: control lines, descriptor ring, data area.
///
/// Offsets are relative to the start of the queue area (see
/// [`WindowLayout::queue_base`]):
///
/// | offset | size | field | written by (through the window) |
/// | --- | --- | --- | --- |
/// | 0 ([`Q_PROD`]) | 4 | `prod` | peer as sender of this area's ring |
/// | 4 ([`Q_TX_EVENT`]) | 4 | `tx_event` | peer as sender |
/// | 64 ([`Q_CONS`]) | 4 | `cons` | peer as receiver of the owner's ring |
/// | 68 ([`Q_RX_EVENT`]) | 4 | `rx_event` | peer as receiver |
/// | 128 ([`Q_DESC`]) | `entries * 16` | descriptors | peer as sender |
/// | [`Self::data_off`] | `data_size` | data area | peer as sender |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLayout {
    entries: u32,
    data_size: u32,
    max_frame: u32,
    data_off: u32,
    size: u32,
}

impl QueueLayout {
    /// Checks a ring configuration and computes its layout.
    ///
    /// `entries` must be a power of two in
    /// [`MIN_ENTRIES`]`..=`[`MAX_ENTRIES`], `max_frame` in
    /// [`MIN_FRAME`]`..=`[`MAX_FRAME`], and `data_size` a multiple of
    /// [`DATA_ALIGN`], at most [`MAX_DATA_SIZE`], large enough for one frame
    /// of `max_frame` bytes.
    pub fn new(entries: u32, data_size: u32, max_frame: u32) -> Result<Self, LayoutError> {
        if !entries.is_power_of_two() || !(MIN_ENTRIES..=MAX_ENTRIES).contains(&entries) {
            return Err(LayoutError::Entries);
        }
        if !(MIN_FRAME..=MAX_FRAME).contains(&max_frame) {
            return Err(LayoutError::MaxFrame);
        }
        let frame = align_up(max_frame).ok_or(LayoutError::MaxFrame)?;
        if data_size & (DATA_ALIGN - 1) != 0 || data_size > MAX_DATA_SIZE || data_size < frame {
            return Err(LayoutError::DataSize);
        }
        let data_off = entries
            .checked_mul(DESC_SIZE)
            .and_then(|d| d.checked_add(Q_DESC))
            .ok_or(LayoutError::TooLarge)?;
        let size = data_off
            .checked_add(data_size)
            .ok_or(LayoutError::TooLarge)?;
        Ok(Self {
            entries,
            data_size,
            max_frame,
            data_off,
            size,
        })
    }

    /// Number of descriptors in the ring.
    pub const fn entries(&self) -> u32 {
        self.entries
    }

    /// Size in bytes of the data area.
    pub const fn data_size(&self) -> u32 {
        self.data_size
    }

    /// Largest frame the ring carries.
    pub const fn max_frame(&self) -> u32 {
        self.max_frame
    }

    /// Mask that turns a free-running descriptor index into a slot.
    pub const fn mask(&self) -> u32 {
        self.entries.wrapping_sub(1)
    }

    /// Offset of descriptor slot `index & mask()` in the queue area.
    pub const fn desc_off(&self, index: u32) -> u32 {
        // At most (MAX_ENTRIES - 1) * 16 + 128: no wrap.
        (index & self.mask())
            .wrapping_mul(DESC_SIZE)
            .wrapping_add(Q_DESC)
    }

    /// Offset of the data area in the queue area (a multiple of
    /// [`CACHE_LINE`]).
    pub const fn data_off(&self) -> u32 {
        self.data_off
    }

    /// Size in bytes of the queue area (a multiple of [`CACHE_LINE`]).
    pub const fn size(&self) -> u32 {
        self.size
    }
}

/// The parameters of one window header, decoded.
///
/// Header layout (little-endian, [`HEADER_SIZE`] bytes at window offset 0):
///
/// | offset | size | field |
/// | --- | --- | --- |
/// | 0 | 4 | `magic` ([`MAGIC`]) |
/// | 4 | 2 | `major` ([`VERSION_MAJOR`]) |
/// | 6 | 2 | `minor` ([`VERSION_MINOR`]) |
/// | 8 | 4 | `header_size` ([`HEADER_SIZE`]) |
/// | 12 | 4 | `features` in use by the writer |
/// | 16 | 4 | `queues` |
/// | 20 | 4 | `entries` |
/// | 24 | 4 | `data_size` |
/// | 28 | 4 | `max_frame` |
/// | 32 | 4 | `queue_stride` (bytes between queue areas) |
/// | 36 | 28 | reserved: written as zero, ignored by readers |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: u32,
    /// [`VERSION_MAJOR`].
    pub major: u16,
    /// [`VERSION_MINOR`].
    pub minor: u16,
    /// [`HEADER_SIZE`].
    pub header_size: u32,
    /// Feature bits the writer uses in this window.
    pub features: u32,
    /// Number of queue areas.
    pub queues: u32,
    /// Descriptors per ring.
    pub entries: u32,
    /// Bytes per data area.
    pub data_size: u32,
    /// Largest frame.
    pub max_frame: u32,
    /// Bytes from one queue area to the next.
    pub queue_stride: u32,
}

/// Copies `src` into `dst` at `off`; out-of-range parts are left alone.
fn put_bytes(dst: &mut [u8], off: usize, src: &[u8]) {
    if let Some(d) = dst.get_mut(off..) {
        for (d, s) in d.iter_mut().zip(src) {
            *d = *s;
        }
    }
}

/// Reads a little-endian `u32` at `off`; out-of-range bytes read as zero.
fn get_u32(src: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = src.get(off..) {
        for (d, s) in b.iter_mut().zip(s) {
            *d = *s;
        }
    }
    u32::from_le_bytes(b)
}

/// Reads a little-endian `u16` at `off`; out-of-range bytes read as zero.
fn get_u16(src: &[u8], off: usize) -> u16 {
    let mut b = [0u8; 2];
    if let Some(s) = src.get(off..) {
        for (d, s) in b.iter_mut().zip(s) {
            *d = *s;
        }
    }
    u16::from_le_bytes(b)
}

impl Header {
    /// Encodes the header; reserved bytes are zero.
    pub fn to_le_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        put_bytes(&mut b, 0, &self.magic.to_le_bytes());
        put_bytes(&mut b, 4, &self.major.to_le_bytes());
        put_bytes(&mut b, 6, &self.minor.to_le_bytes());
        put_bytes(&mut b, 8, &self.header_size.to_le_bytes());
        put_bytes(&mut b, 12, &self.features.to_le_bytes());
        put_bytes(&mut b, 16, &self.queues.to_le_bytes());
        put_bytes(&mut b, 20, &self.entries.to_le_bytes());
        put_bytes(&mut b, 24, &self.data_size.to_le_bytes());
        put_bytes(&mut b, 28, &self.max_frame.to_le_bytes());
        put_bytes(&mut b, 32, &self.queue_stride.to_le_bytes());
        b
    }

    /// Decodes a header from a local copy of the window's first
    /// [`HEADER_SIZE`] bytes. Nothing is validated here; see
    /// [`WindowLayout::from_header`].
    pub fn from_le_bytes(b: &[u8; HEADER_LEN]) -> Self {
        Self {
            magic: get_u32(b, 0),
            major: get_u16(b, 4),
            minor: get_u16(b, 6),
            header_size: get_u32(b, 8),
            features: get_u32(b, 12),
            queues: get_u32(b, 16),
            entries: get_u32(b, 20),
            data_size: get_u32(b, 24),
            max_frame: get_u32(b, 28),
            queue_stride: get_u32(b, 32),
        }
    }
}

/// Why a window header is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// `magic` is not [`MAGIC`] (the peer has not written the header yet, or
    /// speaks another protocol).
    Magic,
    /// `major` is not [`VERSION_MAJOR`].
    Version,
    /// `header_size` is not [`HEADER_SIZE`].
    HeaderSize,
    /// `queue_stride` is not the stride the other fields imply.
    Stride,
    /// The parameters are not a valid configuration or do not fit the
    /// window.
    Layout(LayoutError),
}

impl From<LayoutError> for HeaderError {
    fn from(e: LayoutError) -> Self {
        Self::Layout(e)
    }
}

/// Layout of a whole inbound window: a header, then `queues` queue areas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowLayout {
    queues: u32,
    features: u32,
    queue: QueueLayout,
}

impl WindowLayout {
    /// Checks a window configuration.
    pub fn new(queues: u32, queue: QueueLayout, features: u32) -> Result<Self, LayoutError> {
        if queues == 0 || queues > MAX_QUEUES {
            return Err(LayoutError::Queues);
        }
        if features & !FEATURES_KNOWN != 0 {
            return Err(LayoutError::Features);
        }
        Ok(Self {
            queues,
            features,
            queue,
        })
    }

    /// The largest layout with `queues` rings of `entries` descriptors that
    /// fits a window of `window_size` bytes: each data area gets an equal
    /// share of what the header, control lines and descriptors leave, rounded
    /// down to [`DATA_ALIGN`] and capped at [`MAX_DATA_SIZE`].
    pub fn fit(
        window_size: u64,
        queues: u32,
        entries: u32,
        max_frame: u32,
        features: u32,
    ) -> Result<Self, LayoutError> {
        if queues == 0 || queues > MAX_QUEUES {
            return Err(LayoutError::Queues);
        }
        // Validate `entries` first so that the overhead below is bounded.
        QueueLayout::new(entries, MAX_DATA_SIZE, max_frame)?;
        let overhead = u64::from(entries)
            .checked_mul(u64::from(DESC_SIZE))
            .and_then(|d| d.checked_add(u64::from(Q_DESC)))
            .ok_or(LayoutError::TooLarge)?;
        let per_queue = window_size
            .checked_sub(u64::from(HEADER_SIZE))
            .and_then(|w| w.checked_div(u64::from(queues)))
            .and_then(|w| w.checked_sub(overhead))
            .ok_or(LayoutError::TooLarge)?;
        let data = per_queue.min(u64::from(MAX_DATA_SIZE)) & !u64::from(DATA_ALIGN - 1);
        let data = u32::try_from(data).map_err(|_| LayoutError::TooLarge)?;
        let queue = QueueLayout::new(entries, data, max_frame).map_err(|e| match e {
            LayoutError::DataSize => LayoutError::TooLarge,
            e => e,
        })?;
        Self::new(queues, queue, features)
    }

    /// Checks a header read from the window (a local copy, read once) and
    /// returns the layout it describes, if that layout fits a window of
    /// `window_size` bytes.
    pub fn from_header(h: &Header, window_size: u64) -> Result<Self, HeaderError> {
        if h.magic != MAGIC {
            return Err(HeaderError::Magic);
        }
        if h.major != VERSION_MAJOR {
            return Err(HeaderError::Version);
        }
        if h.header_size != HEADER_SIZE {
            return Err(HeaderError::HeaderSize);
        }
        let queue = QueueLayout::new(h.entries, h.data_size, h.max_frame)?;
        let layout = Self::new(h.queues, queue, h.features)?;
        if h.queue_stride != layout.stride() {
            return Err(HeaderError::Stride);
        }
        if layout.size() > window_size {
            return Err(HeaderError::Layout(LayoutError::TooLarge));
        }
        Ok(layout)
    }

    /// The header that describes this layout.
    pub fn header(&self) -> Header {
        Header {
            magic: MAGIC,
            major: VERSION_MAJOR,
            minor: VERSION_MINOR,
            header_size: HEADER_SIZE,
            features: self.features,
            queues: self.queues,
            entries: self.queue.entries,
            data_size: self.queue.data_size,
            max_frame: self.queue.max_frame,
            queue_stride: self.stride(),
        }
    }

    /// Number of queue areas.
    pub const fn queues(&self) -> u32 {
        self.queues
    }

    /// Feature bits in use.
    pub const fn features(&self) -> u32 {
        self.features
    }

    /// Layout of every queue area.
    pub const fn queue(&self) -> &QueueLayout {
        &self.queue
    }

    /// Bytes from one queue area to the next.
    pub const fn stride(&self) -> u32 {
        self.queue.size
    }

    /// Offset of queue `q`'s area in the window, `None` if `q >= queues()`.
    pub fn queue_base(&self, q: u32) -> Option<u64> {
        if q >= self.queues {
            return None;
        }
        u64::from(q)
            .checked_mul(u64::from(self.stride()))
            .and_then(|o| o.checked_add(u64::from(HEADER_SIZE)))
    }

    /// Bytes of the window the layout uses.
    pub fn size(&self) -> u64 {
        // At most 64 + 256 * 2^31: no overflow.
        u64::from(self.queues)
            .saturating_mul(u64::from(self.stride()))
            .saturating_add(u64::from(HEADER_SIZE))
    }
}

/// One descriptor, decoded.
///
/// Layout (little-endian, [`DESC_SIZE`] bytes):
///
/// | offset | field | meaning |
/// | --- | --- | --- |
/// | 0 | `off` | frame offset in the data area, a multiple of [`DATA_ALIGN`] |
/// | 4 | `len` | frame length in bytes |
/// | 8 | `flags` | [`DESC_F_CSUM_VALID`], `DESC_F_GSO_*` in bits 1..3, the GSO MSS in bits 16..31; other bits reserved, zero |
/// | 12 | `seq` | free-running index of this descriptor |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Desc {
    /// Offset of the frame in the data area.
    pub off: u32,
    /// Length of the frame.
    pub len: u32,
    /// `DESC_F_*` flags.
    pub flags: u32,
    /// Free-running index of the descriptor (the producer index it was
    /// published under, minus one).
    pub seq: u32,
}

impl Desc {
    /// Encodes the descriptor.
    pub fn to_le_bytes(&self) -> [u8; DESC_LEN] {
        let [a0, a1, a2, a3] = self.off.to_le_bytes();
        let [b0, b1, b2, b3] = self.len.to_le_bytes();
        let [c0, c1, c2, c3] = self.flags.to_le_bytes();
        let [d0, d1, d2, d3] = self.seq.to_le_bytes();
        [
            a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3,
        ]
    }

    /// Decodes a descriptor from a local copy of its bytes.
    pub fn from_le_bytes(raw: [u8; DESC_LEN]) -> Self {
        let [a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3] = raw;
        Self {
            off: u32::from_le_bytes([a0, a1, a2, a3]),
            len: u32::from_le_bytes([b0, b1, b2, b3]),
            flags: u32::from_le_bytes([c0, c1, c2, c3]),
            seq: u32::from_le_bytes([d0, d1, d2, d3]),
        }
    }
}

/// A bad value read from shared memory. Each kind has its own counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// `prod` went backwards or claims more than `entries` unconsumed
    /// descriptors.
    BadProducer = 0,
    /// `cons` went backwards or past what the sender published.
    BadConsumer = 1,
    /// A descriptor's `seq` is not the index it was read at (stale or torn).
    BadSequence = 2,
    /// A descriptor has reserved or unnegotiated flag bits set.
    BadFlags = 3,
    /// A descriptor's `off` is unaligned or outside the data area.
    BadOffset = 4,
    /// A descriptor's `len` is below [`MIN_FRAME`] or above `max_frame`.
    BadLength = 5,
    /// A descriptor's frame ends past the end of the data area.
    BadExtent = 6,
    /// A descriptor's GSO flags and MSS do not describe a GSO frame.
    BadGso = 7,
    /// A GSO frame's MSS is below [`MIN_GSO_SIZE`].
    SmallMss = 8,
}

impl RingError {
    /// Number of kinds.
    pub const COUNT: usize = 9;

    /// Every kind, in [`Self::index`] order.
    pub const ALL: [RingError; Self::COUNT] = [
        Self::BadProducer,
        Self::BadConsumer,
        Self::BadSequence,
        Self::BadFlags,
        Self::BadOffset,
        Self::BadLength,
        Self::BadExtent,
        Self::BadGso,
        Self::SmallMss,
    ];

    /// Index of this kind in `0..COUNT`, for an array of counters.
    pub const fn index(self) -> usize {
        match self {
            Self::BadProducer => 0,
            Self::BadConsumer => 1,
            Self::BadSequence => 2,
            Self::BadFlags => 3,
            Self::BadOffset => 4,
            Self::BadLength => 5,
            Self::BadExtent => 6,
            Self::BadGso => 7,
            Self::SmallMss => 8,
        }
    }

    /// A name for statistics (ethtool -S).
    pub const fn name(self) -> &'static str {
        match self {
            Self::BadProducer => "bad_prod",
            Self::BadConsumer => "bad_cons",
            Self::BadSequence => "bad_desc_seq",
            Self::BadFlags => "bad_desc_flags",
            Self::BadOffset => "bad_desc_off",
            Self::BadLength => "bad_desc_len",
            Self::BadExtent => "bad_desc_extent",
            Self::BadGso => "bad_desc_gso",
            Self::SmallMss => "bad_desc_mss",
        }
    }
}

/// Why [`TxRing::reserve`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxError {
    /// No free descriptor or not enough free data bytes: stop the queue.
    Full,
    /// The length is below [`MIN_FRAME`] or above `max_frame`: drop the
    /// frame.
    Length,
}

/// A reservation made by [`TxRing::reserve`]: where to write one frame and
/// its descriptor in the peer's window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxSlot {
    seq: u32,
    slot: u32,
    data_off: u32,
    len: u32,
    advance: u32,
    prev_head: u32,
}

impl TxSlot {
    /// Free-running index of the descriptor (its `seq` field).
    pub const fn seq(&self) -> u32 {
        self.seq
    }

    /// Descriptor slot (`seq & mask`); its offset is
    /// [`QueueLayout::desc_off`].
    pub const fn slot(&self) -> u32 {
        self.slot
    }

    /// Offset of the frame in the data area.
    pub const fn data_off(&self) -> u32 {
        self.data_off
    }

    /// Length of the frame.
    pub const fn frame_len(&self) -> u32 {
        self.len
    }

    /// Bytes of the data area this frame takes: its aligned length plus the
    /// tail skipped at the end of the area, if the frame did not fit there.
    pub const fn advance(&self) -> u32 {
        self.advance
    }

    /// The descriptor to write for this frame.
    pub const fn desc(&self, flags: u32) -> Desc {
        Desc {
            off: self.data_off,
            len: self.len,
            flags,
            seq: self.seq,
        }
    }
}

/// What [`TxRing::publish`] published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Publish {
    /// The producer index to write to the peer's `prod`.
    pub prod: u32,
    /// Descriptors published by this call (zero: `prod` need not be
    /// written again).
    pub count: u32,
}

/// Sender-side shadow state of one ring (this host's TX ring in the peer's
/// window).
///
/// `S` is storage for one `u32` per descriptor (a `KVec<u32>` in the
/// kernel, a `Vec<u32>` or `&mut [u32]` elsewhere) in which the ring keeps
/// how many data bytes each outstanding descriptor took, so that free space
/// comes from local state and the validated `cons` alone.
///
/// Indices: `done <= prod <= head` (wrapping), `head - done <= entries`.
/// Descriptors `[done, prod)` are published and not yet consumed,
/// `[prod, head)` reserved and not yet published.
#[derive(Debug)]
pub struct TxRing<S> {
    layout: QueueLayout,
    advance: S,
    head: u32,
    prod: u32,
    done: u32,
    // Offset in the data area where the next frame starts, in
    // `0..data_size`.
    data_head: u32,
    // Bytes of the data area held by descriptors `[done, head)`.
    data_used: u32,
    // `prod` when the peer was last interrupted.
    kick_floor: u32,
}

/// Where a frame goes.
struct Placement {
    off: u32,
    aligned: u32,
    advance: u32,
}

impl<S: Deref<Target = [u32]> + DerefMut> TxRing<S> {
    /// A ring with everything free and all indices zero. `storage` must have
    /// at least `layout.entries()` cells.
    pub fn new(layout: QueueLayout, storage: S) -> Result<Self, LayoutError> {
        Self::starting_at(layout, storage, 0)
    }

    /// Like [`Self::new`], with every index at `index` instead of zero. The
    /// protocol starts at zero (a zeroed window); other starting points let
    /// tests cross the `u32` wrap quickly. Both sides must start at the same
    /// index.
    pub fn starting_at(layout: QueueLayout, storage: S, index: u32) -> Result<Self, LayoutError> {
        match to_usize(layout.entries) {
            Some(need) if storage.len() >= need => {}
            _ => return Err(LayoutError::Storage),
        }
        Ok(Self {
            layout,
            advance: storage,
            head: index,
            prod: index,
            done: index,
            data_head: 0,
            data_used: 0,
            kick_floor: index,
        })
    }

    /// The ring's layout.
    pub const fn layout(&self) -> &QueueLayout {
        &self.layout
    }

    /// Published producer index.
    pub const fn prod(&self) -> u32 {
        self.prod
    }

    /// Completed index: the last consumer index accepted by
    /// [`Self::complete`].
    pub const fn done(&self) -> u32 {
        self.done
    }

    /// Descriptors published and not yet completed.
    pub const fn in_flight(&self) -> u32 {
        self.prod.wrapping_sub(self.done)
    }

    /// Descriptors reserved and not yet published.
    pub const fn unpublished(&self) -> u32 {
        self.head.wrapping_sub(self.prod)
    }

    /// Free descriptors.
    pub const fn free_descs(&self) -> u32 {
        self.layout
            .entries
            .saturating_sub(self.head.wrapping_sub(self.done))
    }

    /// Free bytes of the data area. A frame may still not fit when the free
    /// space is split by the end of the area; see [`Self::is_full_for`].
    pub const fn free_bytes(&self) -> u32 {
        self.layout.data_size.saturating_sub(self.data_used)
    }

    /// Where a frame of `len` bytes would go, if it fits.
    fn place(&self, len: u32) -> Option<Placement> {
        if self.free_descs() == 0 {
            return None;
        }
        let aligned = align_up(len)?;
        // With nothing outstanding, start over at offset 0: the receiver
        // holds no data, and any frame up to `max_frame` then fits.
        let start = if self.data_used == 0 {
            0
        } else {
            self.data_head
        };
        let tail = self.layout.data_size.checked_sub(start)?;
        let (off, advance) = if aligned <= tail {
            (start, aligned)
        } else {
            // The frame does not fit before the end: skip the tail, which
            // stays accounted to this frame until it completes.
            (0, tail.checked_add(aligned)?)
        };
        if advance > self.free_bytes() {
            return None;
        }
        Some(Placement {
            off,
            aligned,
            advance,
        })
    }

    /// Whether a frame of `len` bytes would not fit now (no free
    /// descriptor, or not enough contiguous free data bytes). The transmit
    /// path stops the queue when `is_full_for(max_frame)`.
    pub fn is_full_for(&self, len: u32) -> bool {
        self.place(len).is_none()
    }

    /// Reserves a descriptor and data space for a frame of `len` bytes.
    ///
    /// The caller copies the frame to [`TxSlot::data_off`] in the peer's
    /// data area, writes [`TxSlot::desc`] to descriptor slot
    /// [`TxSlot::slot`], and later calls [`Self::publish`].
    pub fn reserve(&mut self, len: u32) -> Result<TxSlot, TxError> {
        if !(MIN_FRAME..=self.layout.max_frame).contains(&len) {
            return Err(TxError::Length);
        }
        let p = self.place(len).ok_or(TxError::Full)?;
        let slot = self.head & self.layout.mask();
        let cell = to_usize(slot)
            .and_then(|i| self.advance.get_mut(i))
            .ok_or(TxError::Full)?;
        *cell = p.advance;
        let end = p.off.wrapping_add(p.aligned);
        let reserved = TxSlot {
            seq: self.head,
            slot,
            data_off: p.off,
            len,
            advance: p.advance,
            prev_head: self.data_head,
        };
        self.data_head = if end >= self.layout.data_size { 0 } else { end };
        // `place` checked advance <= data_size - data_used.
        self.data_used = self.data_used.wrapping_add(p.advance);
        self.head = self.head.wrapping_add(1);
        Ok(reserved)
    }

    /// Takes back the most recent reservation, if it is `slot` and not yet
    /// published (for a frame that could not be copied after all). Returns
    /// whether it did.
    pub fn cancel(&mut self, slot: &TxSlot) -> bool {
        if self.unpublished() == 0 || slot.seq != self.head.wrapping_sub(1) {
            return false;
        }
        self.head = slot.seq;
        self.data_used = self.data_used.saturating_sub(slot.advance);
        self.data_head = slot.prev_head;
        true
    }

    /// Publishes every reservation: returns the producer index to write to
    /// the peer's `prod`.
    ///
    /// The caller has written the frames' data and descriptors; it issues a
    /// write barrier, writes `prod`, then a full barrier, reads `rx_event`
    /// from its own window and asks [`Self::need_notify`].
    pub fn publish(&mut self) -> Publish {
        let count = self.head.wrapping_sub(self.prod);
        self.prod = self.head;
        Publish {
            prod: self.prod,
            count,
        }
    }

    /// Whether to raise the peer's queue interrupt, given `rx_event` read
    /// once from this host's window after `prod` was written.
    ///
    /// True when the event lies in `[floor, prod)`, where `floor` is the
    /// later of the `prod` of the last interrupt and [`Self::done`] (an
    /// event below either is stale); true then means "interrupt now", and
    /// the same event is not answered twice. Unlike virtio's check against
    /// the previous `prod` only, an event that arrives late is still
    /// answered by the next call: call this again from a timer while
    /// [`Self::in_flight`] is not zero.
    pub fn need_notify(&mut self, rx_event: u32) -> bool {
        let floor = later(self.kick_floor, self.done);
        let notify = need_event(rx_event, self.prod, floor);
        if notify {
            self.kick_floor = self.prod;
        }
        notify
    }

    /// Accepts the peer's consumer index `cons` (read once from this host's
    /// window) and frees what it completes. Returns the number of
    /// descriptors completed.
    ///
    /// `cons` must lie in `[done, prod]`; otherwise nothing changes and
    /// [`RingError::BadConsumer`] is returned.
    pub fn complete(&mut self, cons: u32) -> Result<u32, RingError> {
        let n = cons.wrapping_sub(self.done);
        if n > self.prod.wrapping_sub(self.done) {
            return Err(RingError::BadConsumer);
        }
        let mask = self.layout.mask();
        let mut idx = self.done;
        while idx != cons {
            let adv = to_usize(idx & mask)
                .and_then(|i| self.advance.get(i))
                .copied()
                .unwrap_or(0);
            // `data_used` is the sum of the advances of [done, head).
            self.data_used = self.data_used.saturating_sub(adv);
            idx = idx.wrapping_add(1);
        }
        self.done = cons;
        Ok(n)
    }

    /// The `tx_event` to write to the peer's window when the queue stops
    /// because the ring is full: an interrupt comes once the peer has
    /// consumed about half of what is in flight.
    ///
    /// Call [`Self::complete`] with a fresh `cons` first. After writing the
    /// event, a full barrier, then read `cons` again and call
    /// [`Self::complete`]: if the ring has room again, restart the queue at
    /// once; if `cons` moved but there is still no room, arm again. While
    /// the queue is stopped, also poll `cons` from a timer, in case the
    /// event reached the peer too late.
    pub const fn event_for_wake(&self) -> u32 {
        self.done
            .wrapping_add(self.in_flight().saturating_sub(1) >> 1)
    }
}

/// A frame accepted by [`RxRing::take`]: it lies within the data area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxFrame {
    /// Offset of the frame in the data area (aligned).
    pub off: u32,
    /// Length of the frame, in `MIN_FRAME..=max_frame`.
    pub len: u32,
    /// `DESC_F_*` flags, only negotiated ones.
    pub flags: u32,
}

impl RxFrame {
    /// Offset one past the frame's last byte in the data area (at most
    /// `data_size`).
    pub const fn end(&self) -> u32 {
        // Checked against data_size by `RxRing::parse`.
        self.off.saturating_add(self.len)
    }

    /// Whether the sender vouches for the checksums.
    pub const fn csum_valid(&self) -> bool {
        self.flags & DESC_F_CSUM_VALID != 0
    }

    /// How to segment the frame, if it is a GSO frame (validated by
    /// [`RxRing::parse`]).
    pub const fn gso(&self) -> Option<Gso> {
        match Gso::from_flags(self.flags, self.len) {
            Ok(g) => g,
            Err(_) => None,
        }
    }
}

/// What [`RxRing::consume`] released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Consume {
    /// The consumer index to write to the peer's `cons`.
    pub cons: u32,
    /// Descriptors released by this call (zero: `cons` need not be written
    /// again).
    pub count: u32,
}

/// Receiver-side shadow state of one ring (the peer's TX ring in this
/// host's window).
///
/// Indices: `cons <= next <= prod` (wrapping), `prod - cons <= entries`.
/// Descriptors `[cons, next)` are taken (parsed, their data copied or being
/// copied) and not yet released, `[next, prod)` published and not yet
/// taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxRing {
    layout: QueueLayout,
    allowed_flags: u32,
    cons: u32,
    next: u32,
    prod: u32,
    // `cons` when the peer was last interrupted.
    kick_floor: u32,
}

impl RxRing {
    /// A ring with all indices zero, for the layout and features of the
    /// window.
    pub const fn new(layout: QueueLayout, features: u32) -> Self {
        Self::starting_at(layout, features, 0)
    }

    /// Like [`Self::new`], with every index at `index` instead of zero; see
    /// [`TxRing::starting_at`].
    pub const fn starting_at(layout: QueueLayout, features: u32, index: u32) -> Self {
        let allowed_flags = if gso_in_use(features) {
            DESC_F_CSUM_VALID | DESC_F_GSO_ALL
        } else if features & FEATURE_CSUM != 0 {
            DESC_F_CSUM_VALID
        } else {
            0
        };
        Self {
            layout,
            allowed_flags,
            cons: index,
            next: index,
            prod: index,
            kick_floor: index,
        }
    }

    /// The ring's layout.
    pub const fn layout(&self) -> &QueueLayout {
        &self.layout
    }

    /// Released consumer index (the last value returned by
    /// [`Self::consume`]).
    pub const fn cons(&self) -> u32 {
        self.cons
    }

    /// Index of the next descriptor to take.
    pub const fn next(&self) -> u32 {
        self.next
    }

    /// Last producer index accepted by [`Self::available`].
    pub const fn prod(&self) -> u32 {
        self.prod
    }

    /// Descriptors accepted and not yet taken.
    pub const fn pending(&self) -> u32 {
        self.prod.wrapping_sub(self.next)
    }

    /// Accepts the peer's producer index `prod` (read once from this
    /// host's window, followed by a read barrier before descriptors are
    /// read) and returns how many descriptors are pending.
    ///
    /// `prod` must lie in `[last prod, cons + entries]`: it never goes back
    /// and never claims more descriptors than the ring holds. Otherwise
    /// nothing changes and [`RingError::BadProducer`] is returned.
    pub fn available(&mut self, prod: u32) -> Result<u32, RingError> {
        let limit = self
            .cons
            .wrapping_add(self.layout.entries)
            .wrapping_sub(self.prod);
        if prod.wrapping_sub(self.prod) > limit {
            return Err(RingError::BadProducer);
        }
        self.prod = prod;
        Ok(self.pending())
    }

    /// The slot of the next descriptor to read, if one is pending; its
    /// offset is [`QueueLayout::desc_off`].
    pub const fn next_slot(&self) -> Option<u32> {
        if self.pending() == 0 {
            None
        } else {
            Some(self.next & self.layout.mask())
        }
    }

    /// Validates `desc` as the descriptor at index [`Self::next`], without
    /// taking it.
    ///
    /// Checks, in this order: `seq` is the index ([`RingError::BadSequence`]),
    /// no flag bit outside the negotiated ones ([`RingError::BadFlags`]),
    /// `off` aligned and inside the data area ([`RingError::BadOffset`]),
    /// `len` in `MIN_FRAME..=max_frame` ([`RingError::BadLength`]),
    /// `off + len <= data_size` ([`RingError::BadExtent`]), the GSO flags
    /// and MSS consistent ([`Gso::from_flags`], [`RingError::BadGso`]).
    pub fn parse(&self, desc: &Desc) -> Result<RxFrame, RingError> {
        if desc.seq != self.next {
            return Err(RingError::BadSequence);
        }
        if desc.flags & !self.allowed_flags != 0 {
            return Err(RingError::BadFlags);
        }
        if desc.off & (DATA_ALIGN - 1) != 0 || desc.off >= self.layout.data_size {
            return Err(RingError::BadOffset);
        }
        if !(MIN_FRAME..=self.layout.max_frame).contains(&desc.len) {
            return Err(RingError::BadLength);
        }
        match desc.off.checked_add(desc.len) {
            Some(end) if end <= self.layout.data_size => {}
            _ => return Err(RingError::BadExtent),
        }
        Gso::from_flags(desc.flags, desc.len)?;
        Ok(RxFrame {
            off: desc.off,
            len: desc.len,
            flags: desc.flags,
        })
    }

    /// Takes the next descriptor: validates `desc` (a local copy, read once
    /// from slot [`Self::next_slot`]) and moves past it whether or not it
    /// is valid, so that a bad descriptor is dropped. `None` if nothing is
    /// pending (and nothing changes).
    ///
    /// The frame's data stays the receiver's until [`Self::consume`]
    /// releases it.
    pub fn take(&mut self, desc: &Desc) -> Option<Result<RxFrame, RingError>> {
        if self.pending() == 0 {
            return None;
        }
        let r = self.parse(desc);
        self.next = self.next.wrapping_add(1);
        Some(r)
    }

    /// Releases every taken descriptor to the sender: returns the consumer
    /// index to write to the peer's `cons`.
    ///
    /// The caller has finished reading the released frames' data; it issues
    /// a full barrier, writes `cons`, then a full barrier, reads `tx_event`
    /// from its own window and asks [`Self::need_notify`].
    pub fn consume(&mut self) -> Consume {
        let count = self.next.wrapping_sub(self.cons);
        self.cons = self.next;
        Consume {
            cons: self.cons,
            count,
        }
    }

    /// Whether to raise the peer's queue interrupt (the sender's TX
    /// completion), given `tx_event` read once from this host's window
    /// after `cons` was written.
    ///
    /// True when the event lies in `[floor, cons)`, where `floor` is the
    /// later of the `cons` of the last interrupt and `cons - entries` (the
    /// sender arms its event only while its queue is stopped, when no more
    /// than `entries` descriptors can be consumed past it); the same event
    /// is not answered twice, and one that arrives late is answered by the
    /// next call.
    pub fn need_notify(&mut self, tx_event: u32) -> bool {
        let floor = later(self.kick_floor, self.cons.wrapping_sub(self.layout.entries));
        let notify = need_event(tx_event, self.cons, floor);
        if notify {
            self.kick_floor = self.cons;
        }
        notify
    }

    /// The `rx_event` to write to the peer's window before going idle
    /// (NAPI complete): an interrupt when the next descriptor is published.
    ///
    /// After writing it, a full barrier, then read `prod` again and call
    /// [`Self::available`]: if something is pending, poll again.
    pub const fn event_for_next(&self) -> u32 {
        self.next
    }
}

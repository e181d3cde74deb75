// SPDX-License-Identifier: GPL-2.0

//! Link negotiation over NTB scratchpads: what each host offers, how the
//! two offers become the parameters of both rings, and the handshake words.
//!
//! Pure logic, no kernel dependencies (like `ring.rs`). Each host writes
//! its words into the *peer's* scratchpads (posted writes) and reads its
//! own, so a host only ever reads local registers or memory. The layout of
//! the words and the handshake are specified in
//! `Documentation/ring-protocol.md` ("Negotiation").

use crate::ring::{self, WindowLayout};

/// `SP_VERSION` high half: the bytes `NT`.
pub const VERSION_MAGIC: u32 = 0x4e54;

/// Scratchpad indices (of the reader's scratchpads, written by the peer).
pub const SP_VERSION: u32 = 0;
/// Feature bits offered (`ring::FEATURE_*`).
pub const SP_FEATURES: u32 = 1;
/// Queue pairs the writer wants.
pub const SP_QUEUES: u32 = 2;
/// Descriptors per ring the writer wants.
pub const SP_ENTRIES: u32 = 3;
/// Largest frame the writer can take.
pub const SP_MAX_FRAME: u32 = 4;
/// Size of the writer's inbound window in 4 KiB pages.
pub const SP_WINDOW: u32 = 5;
/// Interrupt kind (high byte) and how many trigger descriptors follow.
pub const SP_IRQ: u32 = 6;
/// Incremented by the writer every link tick.
pub const SP_HEARTBEAT: u32 = 7;
/// The reader's session that the writer acknowledges: the writer does not
/// write the reader's window (until `SP_CLEAN` names its own session).
pub const SP_ACK: u32 = 8;
/// The reader's session for which the writer zeroed its window: the reader
/// may write its header there.
pub const SP_CLEAN: u32 = 9;
/// The reader's session for which the writer wrote its header into the
/// reader's window: the reader may validate it and start.
pub const SP_READY: u32 = 10;
/// The writer's session, nonzero, new at every (re)start; written last.
pub const SP_SESSION: u32 = 11;
/// How much of the reader's window the writer can reach: the size of its
/// outbound mapping in 4 KiB pages (0: all of it, as before this word).
pub const SP_OUTBOUND: u32 = 12;
/// First trigger descriptor: queue `q`'s three words (the NTB irq
/// domain's `Trigger::to_words`) at `SP_TRIGGER + 3q`.
pub const SP_TRIGGER: u32 = 16;

/// Words per trigger descriptor.
pub const TRIGGER_WORDS: u32 = 3;

/// Interrupt kind (`SP_IRQ` high byte): trigger descriptors in the NTB irq
/// domain's encoding (an MSI write through a window, or a doorbell bit).
pub const IRQ_TRIGGERS: u32 = 2;

/// Scratchpads needed for `queues` queue pairs.
pub const fn spads_needed(queues: u32) -> u32 {
    SP_TRIGGER + TRIGGER_WORDS * queues
}

/// The scratchpad of word `w` of queue `q`'s trigger descriptor.
pub const fn sp_trigger(q: u32, w: u32) -> u32 {
    SP_TRIGGER + TRIGGER_WORDS * q + w
}

/// The `SP_IRQ` word for `count` trigger descriptors.
pub const fn irq_word(count: u32) -> u32 {
    IRQ_TRIGGERS << 24 | count & 0xffff
}

/// The version word of this implementation.
pub const fn version_word() -> u32 {
    VERSION_MAGIC << 16 | (ring::VERSION_MAJOR as u32) << 8 | ring::VERSION_MINOR as u32
}

/// What one host offers; the same fields, read from the peer, describe the
/// peer's offer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offer {
    /// Protocol version word (`SP_VERSION`).
    pub version: u32,
    /// Feature bits.
    pub features: u32,
    /// Queue pairs wanted.
    pub queues: u32,
    /// Descriptors per ring wanted.
    pub entries: u32,
    /// Largest frame.
    pub max_frame: u32,
    /// Inbound window size, bytes (a multiple of 4 KiB).
    pub window: u64,
    /// Size of the outbound mapping of the other host's window, bytes (a
    /// multiple of 4 KiB; 0: as large as that window).
    pub outbound: u64,
    /// Interrupt kind and trigger count (`SP_IRQ`).
    pub irq: u32,
}

impl Offer {
    /// The scratchpad words of the offer, as `(index, value)`.
    pub fn to_words(self) -> [(u32, u32); 8] {
        let pages = |bytes: u64| u32::try_from(bytes >> 12).unwrap_or(u32::MAX);
        [
            (SP_VERSION, self.version),
            (SP_FEATURES, self.features),
            (SP_QUEUES, self.queues),
            (SP_ENTRIES, self.entries),
            (SP_MAX_FRAME, self.max_frame),
            (SP_WINDOW, pages(self.window)),
            (SP_OUTBOUND, pages(self.outbound)),
            (SP_IRQ, self.irq),
        ]
    }

    /// The offer in the scratchpads that `read` reads.
    pub fn from_spads(read: impl Fn(u32) -> u32) -> Self {
        Self {
            version: read(SP_VERSION),
            features: read(SP_FEATURES),
            queues: read(SP_QUEUES),
            entries: read(SP_ENTRIES),
            max_frame: read(SP_MAX_FRAME),
            window: u64::from(read(SP_WINDOW)) << 12,
            outbound: u64::from(read(SP_OUTBOUND)) << 12,
            irq: read(SP_IRQ),
        }
    }
}

/// Why two offers cannot make a link. Each has a message for the one
/// dmesg line an incompatible peer gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incompatible {
    /// The peer's version word has another magic: not ntbnet.
    NotNtbnet(u32),
    /// The peer speaks another major version.
    Version(u32),
    /// The peer wants no queue, or uses an unknown interrupt kind, or has
    /// more queues than trigger descriptors.
    Interrupts(u32),
    /// The agreed parameters do not fit a window.
    Layout(ring::LayoutError),
}

/// The parameters both hosts derive from the two offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreed {
    /// Queue pairs.
    pub queues: u32,
    /// The protocol's minor version: the smaller of both hosts'.
    pub minor: u16,
    /// Layout of this host's window (the rings the peer sends on).
    pub local: WindowLayout,
    /// Layout of the peer's window (the rings this host sends on).
    pub peer: WindowLayout,
}

/// Major version of a version word, if it is ntbnet's.
pub fn major_of(version: u32) -> Option<u32> {
    (version >> 16 == VERSION_MAGIC).then_some(version >> 8 & 0xff)
}

/// The part of window `window` that its writer, whose outbound mapping of
/// it is `outbound` bytes (0: all of it), can reach.
pub fn usable(window: u64, outbound: u64) -> u64 {
    if outbound == 0 {
        window
    } else {
        window.min(outbound)
    }
}

/// Turns the two offers into the parameters of both rings: the smaller of
/// each count, the common features; each window's data areas as large as
/// the part of that window its writer can reach allows
/// (`usable(window, writer's outbound)`).
///
/// Symmetric: `agree(a, b)` on one host and `agree(b, a)` on the other give
/// the same two layouts, swapped, so the header each host writes is the
/// one the other expects, whatever the sizes of the windows and mappings.
pub fn agree(local: &Offer, peer: &Offer) -> Result<Agreed, Incompatible> {
    match major_of(peer.version) {
        None => return Err(Incompatible::NotNtbnet(peer.version)),
        Some(m) if m != u32::from(ring::VERSION_MAJOR) => {
            return Err(Incompatible::Version(peer.version))
        }
        Some(_) => {}
    }
    if peer.irq >> 24 != IRQ_TRIGGERS || peer.queues == 0 || peer.queues > peer.irq & 0xffff {
        return Err(Incompatible::Interrupts(peer.irq));
    }
    let queues = local.queues.min(peer.queues);
    let entries = local.entries.min(peer.entries);
    let max_frame = local.max_frame.min(peer.max_frame);
    let features = local.features & peer.features & ring::FEATURES_KNOWN;
    let fit = |w| WindowLayout::fit(w, queues, entries, max_frame, features);
    Ok(Agreed {
        queues,
        minor: (local.version & 0xff).min(peer.version & 0xff) as u16,
        local: fit(usable(local.window, peer.outbound)).map_err(Incompatible::Layout)?,
        peer: fit(usable(peer.window, local.outbound)).map_err(Incompatible::Layout)?,
    })
}

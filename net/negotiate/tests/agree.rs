// SPDX-License-Identifier: GPL-2.0

//! The agreement of two offers, the scratchpad words, and the refusals.

use ntbnet_negotiate::negotiate::*;
use ntbnet_negotiate::ring::{self, LayoutError, FEATURE_CSUM};

const MIB: u64 = 1 << 20;

fn offer(queues: u32, entries: u32, window: u64) -> Offer {
    Offer {
        version: version_word(),
        features: FEATURE_CSUM,
        queues,
        entries,
        max_frame: ring::MAX_FRAME,
        window,
        outbound: window,
        irq: irq_word(16),
    }
}

#[test]
fn both_sides_agree_on_the_smaller_counts() {
    let a = offer(4, 256, 16 * MIB);
    let b = offer(2, 1024, 15 * MIB);
    let ab = agree(&a, &b).unwrap();
    let ba = agree(&b, &a).unwrap();
    assert_eq!(ab.queues, 2);
    assert_eq!(ab.local.queue().entries(), 256);
    // Each side's view of the other's window is the other's own view.
    assert_eq!(ab.local, ba.peer);
    assert_eq!(ab.peer, ba.local);
    assert!(ab.local.size() <= a.window && ab.peer.size() <= b.window);
    assert_eq!(ab.local.features(), FEATURE_CSUM);
}

#[test]
fn the_outbound_mapping_bounds_the_peer_window() {
    let mut a = offer(2, 256, 16 * MIB);
    let b = offer(2, 256, 64 * MIB);
    a.outbound = 8 * MIB;
    let ab = agree(&a, &b).unwrap();
    assert!(ab.peer.size() <= 8 * MIB);
}

#[test]
fn features_are_the_common_ones() {
    let a = offer(1, 64, MIB);
    let mut b = offer(1, 64, MIB);
    b.features = 0;
    assert_eq!(agree(&a, &b).unwrap().local.features(), 0);
    b.features = !0;
    assert_eq!(agree(&a, &b).unwrap().local.features(), FEATURE_CSUM);
}

#[test]
fn offer_words_round_trip() {
    let a = offer(3, 512, 15 * MIB);
    let words = a.to_words();
    let idx: Vec<u32> = words.iter().map(|w| w.0).collect();
    assert_eq!(
        idx,
        [
            SP_VERSION,
            SP_FEATURES,
            SP_QUEUES,
            SP_ENTRIES,
            SP_MAX_FRAME,
            SP_WINDOW,
            SP_OUTBOUND,
            SP_IRQ
        ]
    );
    let back = Offer::from_spads(|i| words.iter().find(|w| w.0 == i).map_or(0, |w| w.1));
    assert_eq!(back, a);
}

#[test]
fn handshake_words_do_not_overlap_the_triggers() {
    for w in [SP_HEARTBEAT, SP_ACK, SP_CLEAN, SP_READY, SP_SESSION] {
        assert!(w < SP_TRIGGER);
    }
    assert_eq!(sp_trigger(0, 0), SP_TRIGGER);
    assert_eq!(sp_trigger(1, 0), SP_TRIGGER + TRIGGER_WORDS);
    assert_eq!(spads_needed(16), 64);
}

#[test]
fn another_protocol_is_refused() {
    let a = offer(1, 64, MIB);
    let mut b = offer(1, 64, MIB);
    b.version = 0x1234_5678;
    assert_eq!(agree(&a, &b), Err(Incompatible::NotNtbnet(0x1234_5678)));
    b.version = 0;
    assert!(matches!(agree(&a, &b), Err(Incompatible::NotNtbnet(0))));
}

#[test]
fn another_major_version_is_refused_any_minor_accepted() {
    let a = offer(1, 64, MIB);
    let mut b = offer(1, 64, MIB);
    b.version = VERSION_MAGIC << 16 | 2 << 8;
    assert!(matches!(agree(&a, &b), Err(Incompatible::Version(_))));
    b.version = version_word() | 0x7f;
    assert!(agree(&a, &b).is_ok());
    assert_eq!(
        major_of(version_word()),
        Some(u32::from(ring::VERSION_MAJOR))
    );
}

#[test]
fn bad_interrupt_words_are_refused() {
    let a = offer(2, 64, MIB);
    let mut b = offer(2, 64, MIB);
    b.irq = 1 << 24 | 16;
    assert!(matches!(agree(&a, &b), Err(Incompatible::Interrupts(_))));
    b.irq = irq_word(1); // fewer triggers than queues
    assert!(matches!(agree(&a, &b), Err(Incompatible::Interrupts(_))));
    b.irq = irq_word(2);
    b.queues = 0;
    assert!(matches!(agree(&a, &b), Err(Incompatible::Interrupts(_))));
}

#[test]
fn bad_parameters_are_refused() {
    let a = offer(2, 256, MIB);
    let mut b = offer(2, 100, MIB);
    assert_eq!(
        agree(&a, &b),
        Err(Incompatible::Layout(LayoutError::Entries))
    );
    b.entries = 64;
    b.max_frame = 10;
    assert_eq!(
        agree(&a, &b),
        Err(Incompatible::Layout(LayoutError::MaxFrame))
    );
    b.max_frame = ring::MAX_FRAME;
    // A peer window too small for two 64 KiB frames per queue.
    b.window = 64 << 10;
    assert_eq!(
        agree(&a, &b),
        Err(Incompatible::Layout(LayoutError::TooLarge))
    );
}

#[test]
fn garbage_offers_never_panic() {
    // Every field from a small generator, including the extremes.
    let vals = [0u32, 1, 7, 8, 64, 100, 4096, 65536, 1 << 31, u32::MAX];
    let a = offer(4, 256, 16 * MIB);
    for &v in &vals {
        for &q in &vals {
            for &e in &vals {
                let b = Offer {
                    version: v,
                    features: v,
                    queues: q,
                    entries: e,
                    max_frame: v,
                    window: u64::from(e) << 12,
                    outbound: u64::from(v) << 12,
                    irq: q,
                };
                let _ = agree(&a, &b);
                let b = Offer {
                    version: version_word(),
                    irq: irq_word(q),
                    ..b
                };
                if let Ok(x) = agree(&a, &b) {
                    assert!(x.queues >= 1 && x.queues <= 4);
                    assert!(x.local.size() <= 16 * MIB);
                }
            }
        }
    }
}

/// Issue 15.6: the two sides' windows and mappings differ. The header each
/// host writes must be the layout the other computes for its own window,
/// or the peer is refused forever.
#[test]
fn unequal_windows_give_the_same_layouts_on_both_sides() {
    let sizes = [
        MIB / 4,
        MIB,
        3 * MIB,
        8 * MIB,
        15 * MIB,
        16 * MIB,
        64 * MIB,
        256 * MIB,
    ];
    let mut checked = 0;
    for &wa in &sizes {
        for &wb in &sizes {
            // Each side maps all of the other's window, a part of it, or
            // more than it (the mapping is a BAR, the window a buffer).
            for oa in [wb, wb / 2, wb * 2, 0] {
                for ob in [wa, wa / 4, wa * 2, 0] {
                    let mut a = offer(2, 256, wa);
                    a.outbound = oa;
                    let mut b = offer(4, 128, wb);
                    b.outbound = ob;
                    let (ab, ba) = (agree(&a, &b), agree(&b, &a));
                    assert_eq!(ab.is_ok(), ba.is_ok(), "{a:?} {b:?}");
                    let (Ok(ab), Ok(ba)) = (ab, ba) else { continue };
                    assert_eq!(ab.peer, ba.local, "a writes what b expects: {a:?} {b:?}");
                    assert_eq!(ab.local, ba.peer, "b writes what a expects: {a:?} {b:?}");
                    // What each writes fits what it maps and the window.
                    assert!(ab.peer.size() <= wb && (oa == 0 || ab.peer.size() <= oa));
                    assert!(ba.peer.size() <= wa && (ob == 0 || ba.peer.size() <= ob));
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 400, "{checked}");
}

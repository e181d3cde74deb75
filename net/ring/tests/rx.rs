// SPDX-License-Identifier: GPL-2.0

//! Receiver side: producer validation, descriptor parsing, take and
//! consume.

use ntbnet_ring::*;

fn layout() -> QueueLayout {
    QueueLayout::new(16, 8192, 1514).unwrap()
}

fn desc(off: u32, len: u32, flags: u32, seq: u32) -> Desc {
    Desc {
        off,
        len,
        flags,
        seq,
    }
}

#[test]
fn available_validates_prod() {
    let mut r = RxRing::new(layout(), 0);
    assert_eq!(r.available(0), Ok(0));
    assert_eq!(r.available(16), Ok(16));
    // More than entries beyond cons, or backwards.
    assert_eq!(r.available(17), Err(RingError::BadProducer));
    assert_eq!(r.available(15), Err(RingError::BadProducer));
    assert_eq!(r.available(u32::MAX), Err(RingError::BadProducer));
    assert_eq!(r.available(0x8000_0000), Err(RingError::BadProducer));
    // A rejected value changes nothing.
    assert_eq!((r.cons(), r.next(), r.prod(), r.pending()), (0, 0, 16, 16));
    assert_eq!(r.available(16), Ok(16));
}

#[test]
fn available_window_moves_with_cons_not_with_next() {
    let mut r = RxRing::new(layout(), 0);
    assert_eq!(r.available(10), Ok(10));
    for i in 0..10 {
        assert!(r.take(&desc(0, 60, 0, i)).unwrap().is_ok());
    }
    assert_eq!(r.pending(), 0);
    // Taken but not released: the sender cannot have reused those slots.
    assert_eq!(r.available(17), Err(RingError::BadProducer));
    assert_eq!(r.available(16), Ok(6));
    let c = r.consume();
    assert_eq!((c.cons, c.count), (10, 10));
    assert_eq!(r.available(26), Ok(16));
    assert_eq!(r.available(27), Err(RingError::BadProducer));
}

#[test]
fn available_across_the_wrap() {
    let start = u32::MAX - 3;
    let mut r = RxRing::starting_at(layout(), 0, start);
    assert_eq!(r.available(start.wrapping_add(16)), Ok(16));
    assert_eq!(
        r.available(start.wrapping_add(17)),
        Err(RingError::BadProducer)
    );
    assert_eq!(
        r.available(start.wrapping_sub(1)),
        Err(RingError::BadProducer)
    );
    for i in 0..16u32 {
        let seq = start.wrapping_add(i);
        assert_eq!(r.next_slot(), Some(seq & 15));
        assert!(r.take(&desc(0, 60, 0, seq)).unwrap().is_ok());
    }
    assert_eq!(r.next_slot(), None);
    let c = r.consume();
    assert_eq!((c.cons, c.count), (start.wrapping_add(16), 16));
    assert_eq!(r.cons(), 12);
}

#[test]
fn parse_accepts_frames_inside_the_data_area() {
    let r = RxRing::new(layout(), FEATURE_CSUM);
    let f = r.parse(&desc(0, 60, 0, 0)).unwrap();
    assert_eq!((f.off, f.len, f.flags, f.end()), (0, 60, 0, 60));
    assert!(!f.csum_valid());
    let f = r
        .parse(&desc(8192 - 1536, 1514, DESC_F_CSUM_VALID, 0))
        .unwrap();
    assert!(f.csum_valid());
    assert!(f.end() <= 8192);
    // Exactly to the end of the data area.
    let f = r.parse(&desc(8192 - 64, 64, 0, 0)).unwrap();
    assert_eq!(f.end(), 8192);
    assert!(r.parse(&desc(0, MIN_FRAME, 0, 0)).is_ok());
    assert!(r.parse(&desc(64, 1514, 0, 0)).is_ok());
}

#[test]
fn parse_rejects_each_kind_of_bad_descriptor() {
    let r = RxRing::new(layout(), 0);
    let e = |d: Desc| r.parse(&d).unwrap_err();
    // Sequence: stale (previous lap) or from the future.
    assert_eq!(e(desc(0, 60, 0, 16)), RingError::BadSequence);
    assert_eq!(e(desc(0, 60, 0, u32::MAX)), RingError::BadSequence);
    // Flags: reserved bits, and the checksum flag when not negotiated.
    assert_eq!(e(desc(0, 60, DESC_F_CSUM_VALID, 0)), RingError::BadFlags);
    assert_eq!(e(desc(0, 60, 1 << 31, 0)), RingError::BadFlags);
    assert_eq!(e(desc(0, 60, 2, 0)), RingError::BadFlags);
    // Offset: unaligned or outside.
    assert_eq!(e(desc(1, 60, 0, 0)), RingError::BadOffset);
    assert_eq!(e(desc(32, 60, 0, 0)), RingError::BadOffset);
    assert_eq!(e(desc(8192, 60, 0, 0)), RingError::BadOffset);
    assert_eq!(e(desc(u32::MAX - 63, 60, 0, 0)), RingError::BadOffset);
    // Length.
    assert_eq!(e(desc(0, 0, 0, 0)), RingError::BadLength);
    assert_eq!(e(desc(0, MIN_FRAME - 1, 0, 0)), RingError::BadLength);
    assert_eq!(e(desc(0, 1515, 0, 0)), RingError::BadLength);
    assert_eq!(e(desc(0, u32::MAX, 0, 0)), RingError::BadLength);
    // Extent: past the end of the data area.
    assert_eq!(e(desc(8192 - 64, 65, 0, 0)), RingError::BadExtent);
    assert_eq!(e(desc(8192 - 1024, 1514, 0, 0)), RingError::BadExtent);
}

#[test]
fn parse_extent_does_not_overflow() {
    // The largest data area with the largest frame: off + len near the top
    // of the u32 range is an extent error, not an overflow.
    let l = QueueLayout::new(8, MAX_DATA_SIZE, MAX_FRAME).unwrap();
    let r = RxRing::new(l, 0);
    assert_eq!(
        r.parse(&desc(MAX_DATA_SIZE - 64, MAX_FRAME, 0, 0)),
        Err(RingError::BadExtent)
    );
    assert!(r
        .parse(&desc(MAX_DATA_SIZE - MAX_FRAME, MAX_FRAME, 0, 0))
        .is_ok());
}

#[test]
fn take_drops_bad_descriptors_and_moves_on() {
    let mut r = RxRing::new(layout(), 0);
    assert_eq!(r.take(&desc(0, 60, 0, 0)), None, "nothing pending");
    assert_eq!(r.next(), 0);
    assert_eq!(r.available(3), Ok(3));
    assert_eq!(
        r.take(&desc(0, 60, 0, 0)),
        Some(Ok(RxFrame {
            off: 0,
            len: 60,
            flags: 0
        }))
    );
    assert_eq!(r.take(&desc(3, 60, 0, 1)), Some(Err(RingError::BadOffset)));
    assert_eq!(
        r.take(&desc(64, 60, 0, 2)).map(|f| f.map(|f| f.off)),
        Some(Ok(64))
    );
    assert_eq!(r.take(&desc(128, 60, 0, 3)), None);
    assert_eq!((r.next(), r.pending()), (3, 0));
    // Releasing covers the dropped descriptor too.
    let c = r.consume();
    assert_eq!((c.cons, c.count), (3, 3));
    let c = r.consume();
    assert_eq!((c.cons, c.count), (3, 0));
}

#[test]
fn event_for_next_is_the_next_index() {
    let mut r = RxRing::new(layout(), 0);
    assert_eq!(r.event_for_next(), 0);
    assert_eq!(r.available(2), Ok(2));
    assert!(r.take(&desc(0, 60, 0, 0)).unwrap().is_ok());
    assert!(r.take(&desc(64, 60, 0, 1)).unwrap().is_ok());
    assert_eq!(r.event_for_next(), 2);
    // The sender publishing descriptor 2 (prod 2 -> 3) interrupts.
    assert!(!need_event(r.event_for_next(), 2, 1));
    assert!(need_event(r.event_for_next(), 3, 2));
}

#[test]
fn gso_frames_round_trip_when_negotiated() {
    let l = QueueLayout::new(16, 1 << 20, MAX_FRAME).unwrap();
    let r = RxRing::new(l, FEATURE_CSUM | FEATURE_GSO);
    for (proto, ecn, size) in [
        (GsoProto::TcpV4, false, 1448),
        (GsoProto::TcpV6, true, 1428),
        (GsoProto::TcpV4, false, MIN_GSO_SIZE as u16),
        (GsoProto::TcpV6, false, u16::MAX - 1),
    ] {
        let g = Gso { proto, ecn, size };
        let f = r.parse(&desc(0, MAX_FRAME, g.flags(), 0)).unwrap();
        assert!(f.csum_valid());
        assert_eq!(f.gso(), Some(g));
    }
    // A plain frame stays plain.
    let f = r.parse(&desc(0, 1514, DESC_F_CSUM_VALID, 0)).unwrap();
    assert_eq!(f.gso(), None);
}

#[test]
fn gso_flags_are_checked() {
    let l = QueueLayout::new(16, 1 << 20, MAX_FRAME).unwrap();
    let gso = RxRing::new(l, FEATURE_CSUM | FEATURE_GSO);
    let e = |r: &RxRing, len, flags| r.parse(&desc(0, len, flags, 0)).unwrap_err();
    let mss = |m: u32| m << DESC_GSO_SIZE_SHIFT;
    let c = DESC_F_CSUM_VALID;
    // Both protocols, none with an MSS or ECN, a zero MSS, an MSS not
    // below the length, no checksum flag.
    let both = DESC_F_GSO_TCPV4 | DESC_F_GSO_TCPV6;
    assert_eq!(e(&gso, 9000, c | both | mss(1448)), RingError::BadGso);
    assert_eq!(e(&gso, 9000, c | mss(1448)), RingError::BadGso);
    assert_eq!(e(&gso, 9000, c | DESC_F_GSO_ECN), RingError::BadGso);
    assert_eq!(e(&gso, 9000, c | DESC_F_GSO_TCPV4), RingError::SmallMss);
    assert_eq!(
        e(&gso, 1000, c | DESC_F_GSO_TCPV4 | mss(1000)),
        RingError::BadGso
    );
    assert_eq!(
        e(&gso, 9000, DESC_F_GSO_TCPV6 | mss(1448)),
        RingError::BadGso
    );
    // Reserved bits between the flags and the MSS.
    assert_eq!(e(&gso, 9000, c | 1 << 4), RingError::BadFlags);
    assert_eq!(e(&gso, 9000, c | 1 << 15), RingError::BadFlags);
    // Not negotiated: GSO flags and the MSS are unknown bits, and GSO
    // needs the checksum feature.
    for features in [FEATURE_CSUM, FEATURE_GSO, 0] {
        let r = RxRing::new(l, features);
        let g = Gso {
            proto: GsoProto::TcpV4,
            ecn: false,
            size: 1448,
        };
        assert_eq!(e(&r, 9000, g.flags()), RingError::BadFlags, "{features:#x}");
    }
}

#[test]
fn gso_mss_below_the_minimum_is_counted_apart() {
    // A tiny MSS makes a frame that is forwarded without TSO into tens of
    // thousands of segments: below Linux's TCP minimum it is refused, with
    // its own counter; GSO_BY_FRAGS is no size at all.
    let l = QueueLayout::new(16, 1 << 20, MAX_FRAME).unwrap();
    let r = RxRing::new(l, FEATURE_CSUM | FEATURE_GSO);
    let gso = |size: u32, len| {
        let flags = DESC_F_CSUM_VALID | DESC_F_GSO_TCPV4 | size << DESC_GSO_SIZE_SHIFT;
        r.parse(&desc(0, len, flags, 0))
    };
    assert_eq!(MIN_GSO_SIZE, 88);
    for size in [0, 1, 8, MIN_GSO_SIZE - 1] {
        assert_eq!(gso(size, MAX_FRAME), Err(RingError::SmallMss), "{size}");
    }
    assert!(gso(MIN_GSO_SIZE, MAX_FRAME).is_ok());
    assert_eq!(gso(GSO_BY_FRAGS, MAX_FRAME), Err(RingError::BadGso));
    assert!(Gso::mss_ok(MIN_GSO_SIZE) && Gso::mss_ok(1448) && Gso::mss_ok(0xfffe));
    assert!(!Gso::mss_ok(0) && !Gso::mss_ok(87) && !Gso::mss_ok(GSO_BY_FRAGS));
    assert_eq!(RingError::SmallMss.name(), "bad_desc_mss");
}

#[test]
fn gso_flags_never_panic_and_accept_only_consistent_values() {
    // Every combination of the low flag bits with a few MSS values.
    let l = QueueLayout::new(16, 1 << 20, MAX_FRAME).unwrap();
    let r = RxRing::new(l, FEATURE_CSUM | FEATURE_GSO);
    for low in 0..16u32 {
        for m in [0u32, 1, 87, 88, 1448, 8999, 9000, 0xffff] {
            let flags = low | m << DESC_GSO_SIZE_SHIFT;
            let ok = r.parse(&desc(0, 9000, flags, 0)).is_ok();
            let proto = low & (DESC_F_GSO_TCPV4 | DESC_F_GSO_TCPV6);
            let ecn = low & DESC_F_GSO_ECN != 0;
            let expect = if proto == 0 {
                m == 0 && !ecn
            } else {
                proto != DESC_F_GSO_TCPV4 | DESC_F_GSO_TCPV6
                    && low & DESC_F_CSUM_VALID != 0
                    && (MIN_GSO_SIZE..9000).contains(&m)
            };
            assert_eq!(ok, expect, "flags {flags:#x}");
        }
    }
}

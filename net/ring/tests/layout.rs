// SPDX-License-Identifier: GPL-2.0

//! Layout math: offsets, cache-line separation, rejection of bad
//! configurations, and the window header.

use ntbnet_ring::*;

#[test]
fn queue_layout_offsets() {
    let l = QueueLayout::new(256, 1 << 20, 1514).unwrap();
    assert_eq!(l.entries(), 256);
    assert_eq!(l.mask(), 255);
    assert_eq!(l.data_size(), 1 << 20);
    assert_eq!(l.max_frame(), 1514);
    assert_eq!(Q_PROD, 0);
    assert_eq!(Q_TX_EVENT, 4);
    assert_eq!(Q_CONS, 64);
    assert_eq!(Q_RX_EVENT, 68);
    assert_eq!(Q_DESC, 128);
    assert_eq!(l.desc_off(0), 128);
    assert_eq!(l.desc_off(1), 144);
    assert_eq!(l.desc_off(255), 128 + 255 * 16);
    // Free-running indices wrap onto slots.
    assert_eq!(l.desc_off(256), 128);
    assert_eq!(l.desc_off(u32::MAX), 128 + 255 * 16);
    assert_eq!(l.data_off(), 128 + 256 * 16);
    assert_eq!(l.size(), 128 + 256 * 16 + (1 << 20));
}

#[test]
fn producer_and_consumer_fields_never_share_a_line() {
    let line = |off: u32| off / CACHE_LINE;
    for entries in [8, 64, 4096, MAX_ENTRIES] {
        let l = QueueLayout::new(entries, 64 * 1024, 1514).unwrap();
        // Written by the peer as sender of this area's ring.
        let sender = [Q_PROD, Q_TX_EVENT];
        // Written by the peer as receiver of the other ring.
        let receiver = [Q_CONS, Q_RX_EVENT];
        for s in sender {
            for r in receiver {
                assert_ne!(line(s), line(r));
            }
        }
        // Descriptors and data start on lines of their own.
        assert!(line(l.desc_off(0)) > line(Q_RX_EVENT));
        assert_eq!(l.desc_off(0) % CACHE_LINE, 0);
        assert_eq!(l.data_off() % CACHE_LINE, 0);
        assert!(l.data_off() >= l.desc_off(entries - 1) + DESC_SIZE);
        assert_eq!(l.size() % CACHE_LINE, 0);
    }
}

#[test]
fn queue_layout_rejects_bad_configs() {
    use LayoutError::*;
    let ok = |e, d, m| QueueLayout::new(e, d, m);
    assert!(ok(MIN_ENTRIES, 4096, 1514).is_ok());
    assert!(ok(MAX_ENTRIES, 4096, 1514).is_ok());
    for e in [0, 1, 2, 4, 3, 100, 4095, MAX_ENTRIES * 2, 1 << 31, u32::MAX] {
        assert_eq!(ok(e, 4096, 1514), Err(Entries), "entries {e}");
    }
    for m in [0, 13, MAX_FRAME + 1, u32::MAX] {
        assert_eq!(ok(64, 1 << 20, m), Err(MaxFrame), "max_frame {m}");
    }
    assert!(ok(64, 1 << 20, MIN_FRAME).is_ok());
    assert!(ok(64, 1 << 20, MAX_FRAME).is_ok());
    // Data area: aligned, bounded, at least one aligned max frame.
    for d in [0, 1, 63, 65, 4096 + 32, MAX_DATA_SIZE + 64, u32::MAX, 1472] {
        assert_eq!(ok(64, d, 1514), Err(DataSize), "data_size {d}");
    }
    assert!(ok(64, 1536, 1514).is_ok());
    assert!(ok(64, MAX_DATA_SIZE, 1514).is_ok());
    assert_eq!(ok(64, 64, 65), Err(DataSize));
    assert!(ok(64, 128, 65).is_ok());
}

#[test]
fn window_layout_bases_and_size() {
    let ql = QueueLayout::new(64, 8192, 1514).unwrap();
    let w = WindowLayout::new(4, ql, FEATURE_CSUM).unwrap();
    let stride: u64 = 128 + 64 * 16 + 8192;
    assert_eq!(u64::from(w.stride()), stride);
    assert_eq!(w.queue_base(0), Some(u64::from(HEADER_SIZE)));
    assert_eq!(w.queue_base(3), Some(64 + 3 * stride));
    assert_eq!(w.queue_base(4), None);
    assert_eq!(w.queue_base(u32::MAX), None);
    assert_eq!(w.size(), 64 + 4 * stride);
    assert_eq!(w.queue_base(3).unwrap() + stride, w.size());
    assert_eq!(w.queue_base(1).unwrap() % u64::from(CACHE_LINE), 0);

    assert_eq!(WindowLayout::new(0, ql, 0), Err(LayoutError::Queues));
    assert_eq!(
        WindowLayout::new(MAX_QUEUES + 1, ql, 0),
        Err(LayoutError::Queues)
    );
    assert!(WindowLayout::new(MAX_QUEUES, ql, 0).is_ok());
    assert_eq!(WindowLayout::new(1, ql, 1 << 7), Err(LayoutError::Features));
}

#[test]
fn largest_layout_is_within_u64() {
    let ql = QueueLayout::new(MAX_ENTRIES, MAX_DATA_SIZE, MAX_FRAME).unwrap();
    let w = WindowLayout::new(MAX_QUEUES, ql, 0).unwrap();
    let expected = 64 + u64::from(MAX_QUEUES) * (128 + 16 * u64::from(MAX_ENTRIES) + (1 << 30));
    assert_eq!(w.size(), expected);
    assert_eq!(
        w.queue_base(MAX_QUEUES - 1),
        Some(expected - u64::from(w.stride()))
    );
}

#[test]
fn fit_fills_the_window() {
    let w = WindowLayout::fit(4 << 20, 4, 256, 9014, 0).unwrap();
    assert!(w.size() <= 4 << 20);
    let ql = w.queue();
    assert_eq!(ql.entries(), 256);
    assert_eq!(ql.data_size() % DATA_ALIGN, 0);
    // Less than one alignment unit per queue is left over.
    assert!((4 << 20) - w.size() < 4 * u64::from(DATA_ALIGN) + u64::from(HEADER_SIZE));
    let exact = 64 + 2 * (128 + 64 * 16 + 4096);
    let w = WindowLayout::fit(exact, 2, 64, 1514, 0).unwrap();
    assert_eq!(w.queue().data_size(), 4096);
    assert_eq!(w.size(), exact);
    let w = WindowLayout::fit(exact - 1, 2, 64, 1514, 0).unwrap();
    assert_eq!(w.queue().data_size(), 4096 - 64);
    // Capped at MAX_DATA_SIZE.
    let w = WindowLayout::fit(u64::MAX, 1, 64, 1514, 0).unwrap();
    assert_eq!(w.queue().data_size(), MAX_DATA_SIZE);
}

#[test]
fn fit_rejects_what_does_not_fit() {
    assert_eq!(
        WindowLayout::fit(0, 1, 64, 1514, 0),
        Err(LayoutError::TooLarge)
    );
    assert_eq!(
        WindowLayout::fit(63, 1, 64, 1514, 0),
        Err(LayoutError::TooLarge)
    );
    // Room for descriptors but not for one frame.
    assert_eq!(
        WindowLayout::fit(64 + 128 + 1024 + 1472, 1, 64, 1514, 0),
        Err(LayoutError::TooLarge)
    );
    assert!(WindowLayout::fit(64 + 128 + 1024 + 1536, 1, 64, 1514, 0).is_ok());
    assert_eq!(
        WindowLayout::fit(1 << 30, 0, 64, 1514, 0),
        Err(LayoutError::Queues)
    );
    assert_eq!(
        WindowLayout::fit(1 << 30, 1, 63, 1514, 0),
        Err(LayoutError::Entries)
    );
    assert_eq!(
        WindowLayout::fit(1 << 30, 1, 64, 1, 0),
        Err(LayoutError::MaxFrame)
    );
    assert_eq!(
        WindowLayout::fit(1 << 30, 1, 64, 1514, 1 << 2),
        Err(LayoutError::Features)
    );
}

#[test]
fn header_bytes_are_little_endian_at_documented_offsets() {
    let ql = QueueLayout::new(128, 65536, 1514).unwrap();
    let w = WindowLayout::new(2, ql, FEATURE_CSUM).unwrap();
    let h = w.header();
    let b = h.to_le_bytes();
    assert_eq!(&b[0..4], b"NTBR");
    assert_eq!(&b[4..6], &VERSION_MAJOR.to_le_bytes());
    assert_eq!(&b[6..8], &VERSION_MINOR.to_le_bytes());
    assert_eq!(&b[8..12], &64u32.to_le_bytes());
    assert_eq!(&b[12..16], &FEATURE_CSUM.to_le_bytes());
    assert_eq!(&b[16..20], &2u32.to_le_bytes());
    assert_eq!(&b[20..24], &128u32.to_le_bytes());
    assert_eq!(&b[24..28], &65536u32.to_le_bytes());
    assert_eq!(&b[28..32], &1514u32.to_le_bytes());
    assert_eq!(&b[32..36], &w.stride().to_le_bytes());
    assert!(b[36..].iter().all(|&x| x == 0));
    assert_eq!(Header::from_le_bytes(&b), h);
}

#[test]
fn from_header_accepts_own_header_and_checks_each_field() {
    let ql = QueueLayout::new(128, 65536, 1514).unwrap();
    let w = WindowLayout::new(2, ql, FEATURE_CSUM).unwrap();
    let h = w.header();
    assert_eq!(WindowLayout::from_header(&h, w.size()), Ok(w));
    assert_eq!(
        WindowLayout::from_header(&h, w.size() - 1),
        Err(HeaderError::Layout(LayoutError::TooLarge))
    );
    // A newer minor version and reserved bytes are accepted.
    let mut b = h.to_le_bytes();
    b[6] = 9;
    b[40] = 0xff;
    assert_eq!(
        WindowLayout::from_header(&Header::from_le_bytes(&b), w.size()),
        Ok(w)
    );

    let bad = |f: fn(&mut Header)| {
        let mut x = h;
        f(&mut x);
        WindowLayout::from_header(&x, u64::MAX)
    };
    assert_eq!(bad(|x| x.magic = 0), Err(HeaderError::Magic));
    assert_eq!(bad(|x| x.major = 2), Err(HeaderError::Version));
    assert_eq!(bad(|x| x.major = 0), Err(HeaderError::Version));
    assert_eq!(bad(|x| x.header_size = 128), Err(HeaderError::HeaderSize));
    assert_eq!(bad(|x| x.queue_stride += 64), Err(HeaderError::Stride));
    assert_eq!(
        bad(|x| x.features = 0x8000_0000),
        Err(HeaderError::Layout(LayoutError::Features))
    );
    assert_eq!(
        bad(|x| x.queues = 0),
        Err(HeaderError::Layout(LayoutError::Queues))
    );
    assert_eq!(
        bad(|x| x.entries = 100),
        Err(HeaderError::Layout(LayoutError::Entries))
    );
    assert_eq!(
        bad(|x| x.data_size = 65537),
        Err(HeaderError::Layout(LayoutError::DataSize))
    );
    assert_eq!(
        bad(|x| x.max_frame = 3),
        Err(HeaderError::Layout(LayoutError::MaxFrame))
    );
    // A zeroed window (peer not there yet).
    assert_eq!(
        WindowLayout::from_header(&Header::from_le_bytes(&[0; HEADER_LEN]), u64::MAX),
        Err(HeaderError::Magic)
    );
}

#[test]
fn descriptor_bytes_are_little_endian_at_documented_offsets() {
    let d = Desc {
        off: 0x0403_0201,
        len: 0x0807_0605,
        flags: 0x0c0b_0a09,
        seq: 0x100f_0e0d,
    };
    let b = d.to_le_bytes();
    assert_eq!(b, core::array::from_fn(|i| i as u8 + 1));
    assert_eq!(Desc::from_le_bytes(b), d);
    assert_eq!(Desc::from_le_bytes([0; DESC_LEN]), Desc::default());
}

#[test]
fn error_indices_and_names_are_distinct() {
    for (i, e) in RingError::ALL.iter().enumerate() {
        assert_eq!(e.index(), i);
        assert!(!e.name().is_empty());
        for f in &RingError::ALL[i + 1..] {
            assert_ne!(e.name(), f.name());
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Sender side: reserve, publish, complete, including the data-area wrap
//! skip, a full ring and bad consumer indices.

use ntbnet_ring::*;

fn ring(entries: u32, data_size: u32, max_frame: u32) -> TxRing<Vec<u32>> {
    let l = QueueLayout::new(entries, data_size, max_frame).unwrap();
    TxRing::new(l, vec![0; entries as usize]).unwrap()
}

#[test]
fn storage_must_cover_entries() {
    let l = QueueLayout::new(64, 4096, 1514).unwrap();
    assert_eq!(
        TxRing::new(l, vec![0u32; 63]).err(),
        Some(LayoutError::Storage)
    );
    let mut cells = [0u32; 64];
    let t = TxRing::new(l, &mut cells[..]).unwrap();
    assert_eq!(t.free_descs(), 64);
}

#[test]
fn reserve_places_frames_back_to_back_aligned() {
    let mut t = ring(8, 4096, 1514);
    assert_eq!(t.free_bytes(), 4096);
    let a = t.reserve(60).unwrap();
    assert_eq!(
        (a.seq(), a.slot(), a.data_off(), a.advance()),
        (0, 0, 0, 64)
    );
    let b = t.reserve(65).unwrap();
    assert_eq!(
        (b.seq(), b.slot(), b.data_off(), b.advance()),
        (1, 1, 64, 128)
    );
    let c = t.reserve(1514).unwrap();
    assert_eq!(
        (c.data_off(), c.advance(), c.frame_len()),
        (192, 1536, 1514)
    );
    assert_eq!(t.free_bytes(), 4096 - 64 - 128 - 1536);
    assert_eq!(t.free_descs(), 5);
    assert_eq!(t.unpublished(), 3);
    assert_eq!(t.in_flight(), 0);
    assert_eq!(
        c.desc(DESC_F_CSUM_VALID),
        Desc {
            off: 192,
            len: 1514,
            flags: DESC_F_CSUM_VALID,
            seq: 2
        }
    );
}

#[test]
fn reserve_rejects_bad_lengths_without_side_effects() {
    let mut t = ring(8, 4096, 1514);
    assert_eq!(t.reserve(0), Err(TxError::Length));
    assert_eq!(t.reserve(MIN_FRAME - 1), Err(TxError::Length));
    assert_eq!(t.reserve(1515), Err(TxError::Length));
    assert_eq!(t.reserve(u32::MAX), Err(TxError::Length));
    assert_eq!(t.free_descs(), 8);
    assert_eq!(t.free_bytes(), 4096);
    assert!(t.reserve(MIN_FRAME).is_ok());
    assert!(t.reserve(1514).is_ok());
}

#[test]
fn full_for_descriptors() {
    let mut t = ring(8, 1 << 16, 64);
    for i in 0..8 {
        assert_eq!(t.reserve(64).unwrap().seq(), i);
    }
    assert_eq!(t.free_descs(), 0);
    assert!(t.is_full_for(MIN_FRAME));
    assert_eq!(t.reserve(64), Err(TxError::Full));
    let p = t.publish();
    assert_eq!((p.prod, p.count), (8, 8));
    assert_eq!(t.complete(1), Ok(1));
    assert!(!t.is_full_for(64));
    assert_eq!(t.reserve(64).unwrap().slot(), 0);
}

#[test]
fn full_for_bytes_and_wrap_skip() {
    // Data area of 4 KiB, frames of 1000 bytes take 1024.
    let mut t = ring(64, 4096, 1500);
    for i in 0..4 {
        assert_eq!(t.reserve(1000).unwrap().data_off(), i * 1024);
    }
    assert_eq!(t.free_bytes(), 0);
    assert!(t.is_full_for(MIN_FRAME));
    assert_eq!(t.reserve(MIN_FRAME), Err(TxError::Full));
    let _ = t.publish();

    // Complete the first frame: 1024 bytes free at the start, the head is
    // at the end of the area.
    assert_eq!(t.complete(1), Ok(1));
    assert_eq!(t.free_bytes(), 1024);
    let s = t.reserve(1000).unwrap();
    assert_eq!((s.data_off(), s.advance()), (0, 1024));
    let _ = t.publish();

    // Free the next two frames: [1024, 3072) free; the head is at 1024.
    assert_eq!(t.complete(3), Ok(2));
    let s = t.reserve(1500).unwrap();
    assert_eq!((s.data_off(), s.advance()), (1024, 1536));
    // 512 bytes left before the oldest frame at 3072: too small.
    assert_eq!(t.free_bytes(), 512);
    assert!(t.is_full_for(1000));
    assert!(!t.is_full_for(500));
    let _ = t.publish();

    // Free the frame at 3072: the tail [2560, 4096) is free, and [0, 1024)
    // and [1024, 2560) are held. A 1500-byte frame fits at 2560.
    assert_eq!(t.complete(4), Ok(1));
    assert_eq!(t.free_bytes(), 1536);
    let s = t.reserve(1500).unwrap();
    assert_eq!((s.data_off(), s.advance()), (2560, 1536));
    assert_eq!(t.free_bytes(), 0);
}

#[test]
fn wrap_skip_is_accounted_to_the_frame() {
    let mut t = ring(64, 4096, 2048);
    // Head at 3072: frames 0..3 of 1024 bytes.
    for _ in 0..3 {
        t.reserve(1024).unwrap();
    }
    let _ = t.publish();
    assert_eq!(t.complete(2), Ok(2));
    // 1024 bytes at the end, 2048 at the start: a 2048-byte frame skips
    // the tail and takes 1024 + 2048.
    assert_eq!(t.free_bytes(), 3072);
    let s = t.reserve(2048).unwrap();
    assert_eq!((s.data_off(), s.advance()), (0, 1024 + 2048));
    assert_eq!(t.free_bytes(), 0);
    let _ = t.publish();
    // Completing the skipping frame gives its skip back too.
    assert_eq!(t.complete(4), Ok(2));
    assert_eq!(t.free_bytes(), 4096);
    assert_eq!(t.free_descs(), 64);
}

#[test]
fn skip_that_does_not_fit_is_full() {
    let mut t = ring(64, 4096, 2048);
    for _ in 0..3 {
        t.reserve(1024).unwrap();
    }
    let _ = t.publish();
    assert_eq!(t.complete(1), Ok(1));
    // Free: [3072, 4096) and [0, 1024); 2048 contiguous bytes nowhere.
    assert_eq!(t.free_bytes(), 2048);
    assert!(t.is_full_for(2048));
    assert_eq!(t.reserve(2048), Err(TxError::Full));
    // A 1024-byte frame still fits at the end.
    assert_eq!(t.reserve(1024).unwrap().data_off(), 3072);
}

#[test]
fn empty_ring_restarts_at_offset_zero() {
    // A max frame that would not fit behind the head still fits once
    // everything has completed.
    let mut t = ring(8, 4096, 4096);
    t.reserve(3000).unwrap();
    let _ = t.publish();
    assert_eq!(t.complete(1), Ok(1));
    assert_eq!(t.free_bytes(), 4096);
    let s = t.reserve(4096).unwrap();
    assert_eq!((s.data_off(), s.advance()), (0, 4096));
}

#[test]
fn complete_validates_cons() {
    let mut t = ring(16, 1 << 16, 1514);
    for _ in 0..10 {
        t.reserve(100).unwrap();
    }
    let _ = t.publish();
    // Two more reserved but not published: cons cannot cover them.
    t.reserve(100).unwrap();
    t.reserve(100).unwrap();
    assert_eq!(t.complete(11), Err(RingError::BadConsumer));
    assert_eq!(t.complete(u32::MAX), Err(RingError::BadConsumer));
    assert_eq!(t.complete(0x8000_0000), Err(RingError::BadConsumer));
    assert_eq!(t.done(), 0);
    assert_eq!(t.complete(0), Ok(0));
    assert_eq!(t.complete(4), Ok(4));
    // Going backwards is refused.
    assert_eq!(t.complete(3), Err(RingError::BadConsumer));
    assert_eq!(t.complete(10), Ok(6));
    assert_eq!(t.complete(10), Ok(0));
    assert_eq!(t.done(), 10);
    assert_eq!(t.in_flight(), 0);
    assert_eq!(t.free_descs(), 14);
}

#[test]
fn indices_wrap_at_u32_max() {
    let l = QueueLayout::new(8, 4096, 1024).unwrap();
    let start = u32::MAX - 20;
    let mut t = TxRing::starting_at(l, vec![0; 8], start).unwrap();
    assert_eq!((t.prod(), t.done(), t.in_flight()), (start, start, 0));
    let mut expected = start;
    for round in 0..10u32 {
        for _ in 0..(1 + round % 8) {
            let s = t.reserve(400).unwrap();
            assert_eq!(s.seq(), expected);
            assert_eq!(s.slot(), expected & 7);
            expected = expected.wrapping_add(1);
        }
        let p = t.publish();
        assert_eq!(p.prod, expected);
        assert_eq!(t.in_flight(), 1 + round % 8);
        // A cons from before the wrap while prod is past it, and the reverse.
        assert_eq!(
            t.complete(t.done().wrapping_sub(1)),
            Err(RingError::BadConsumer)
        );
        assert_eq!(
            t.complete(expected.wrapping_add(1)),
            Err(RingError::BadConsumer)
        );
        assert_eq!(t.complete(expected), Ok(1 + round % 8));
    }
    assert!(expected < start, "crossed the wrap");
    assert_eq!(t.free_descs(), 8);
    assert_eq!(t.free_bytes(), 4096);
}

#[test]
fn cancel_undoes_only_the_last_unpublished_reservation() {
    let mut t = ring(8, 4096, 2048);
    t.reserve(1024).unwrap();
    t.reserve(1024).unwrap();
    t.reserve(1024).unwrap();
    let _ = t.publish();
    assert_eq!(t.complete(2), Ok(2));
    // This one skips the tail.
    let a = t.reserve(1536).unwrap();
    assert_eq!((a.data_off(), a.advance()), (0, 1024 + 1536));
    let before = (t.free_descs(), t.free_bytes());
    let b = t.reserve(64).unwrap();
    assert!(!t.cancel(&a), "not the last one");
    assert!(t.cancel(&b));
    assert!(!t.cancel(&b), "already cancelled");
    assert_eq!((t.free_descs(), t.free_bytes()), before);
    assert!(t.cancel(&a));
    assert_eq!(t.free_bytes(), 3072);
    // The head is back at 3072: the same reservation comes out again.
    let again = t.reserve(1536).unwrap();
    assert_eq!(again, a);
    let _ = t.publish();
    assert!(!t.cancel(&again), "published");
}

#[test]
fn event_for_wake_is_about_half_of_what_is_in_flight() {
    let mut t = ring(16, 1 << 16, 64);
    assert_eq!(t.event_for_wake(), 0);
    for _ in 0..16 {
        t.reserve(64).unwrap();
    }
    let _ = t.publish();
    // Interrupt when cons passes 7: after 8 of 16 are consumed.
    assert_eq!(t.event_for_wake(), 7);
    assert!(!need_event(7, 7, 0));
    assert!(need_event(7, 8, 0));
    assert_eq!(t.complete(15), Ok(15));
    assert_eq!(t.event_for_wake(), 15);
}

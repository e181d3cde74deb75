// SPDX-License-Identifier: GPL-2.0

//! Event indices: `need_event` and the interrupt decisions of `publish`
//! and `consume`, including events that arrive late.

mod common;

use common::Link;
use ntbnet_ring::*;

#[test]
fn need_event_truth_table() {
    // (event, new, old, expected): true iff event in [old, new).
    let cases: &[(u32, u32, u32, bool)] = &[
        (0, 1, 0, true),
        (0, 0, 0, false),
        (1, 1, 0, false),
        (5, 10, 5, true),
        (9, 10, 5, true),
        (10, 10, 5, false),
        (4, 10, 5, false),
        (11, 10, 5, false),
        (u32::MAX, 10, 5, false),
        // Across the u32 wrap.
        (u32::MAX, 0, u32::MAX, true),
        (u32::MAX, 1, u32::MAX - 1, true),
        (0, 1, u32::MAX - 1, true),
        (1, 1, u32::MAX - 1, false),
        (u32::MAX - 2, 1, u32::MAX - 1, false),
        (u32::MAX - 1, 2, u32::MAX - 1, true),
        (u32::MAX, u32::MAX, u32::MAX - 1, false),
        (u32::MAX - 1, u32::MAX, u32::MAX - 1, true),
        // No movement never notifies.
        (7, 7, 7, false),
        (u32::MAX, u32::MAX, u32::MAX, false),
    ];
    for &(event, new, old, want) in cases {
        assert_eq!(
            need_event(event, new, old),
            want,
            "need_event({event}, {new}, {old})"
        );
    }
}

#[test]
fn need_event_matches_interval_definition() {
    let mut r = common::Xorshift::new(42);
    for _ in 0..100_000 {
        let old = r.next_u32();
        let step = r.below(300) as u32;
        let new = old.wrapping_add(step);
        let event = old.wrapping_add(r.below(600) as u32).wrapping_sub(150);
        let inside = event.wrapping_sub(old) < step;
        assert_eq!(need_event(event, new, old), inside);
    }
}

fn link(entries: u32) -> Link {
    let ql = QueueLayout::new(entries, 64 * 1024, 1514).unwrap();
    Link::new(WindowLayout::new(1, ql, 0).unwrap(), 0)
}

#[test]
fn publish_notifies_once_per_arm() {
    let mut l = link(64);
    // The zeroed window asks for an interrupt on descriptor 0.
    l.send(&[1; 60], 0).unwrap();
    assert!(l.publish().notify);
    // Receiver is polling: no more interrupts.
    l.send(&[2; 60], 0).unwrap();
    assert!(!l.publish().notify);
    assert_eq!(l.poll_prod(), Ok(2));
    assert_eq!(l.take(64).len(), 2);
    let _ = l.release();
    // Idle again: the next publish interrupts, exactly once.
    assert!(l.arm_rx());
    assert!(!l.publish().notify, "nothing new");
    l.send(&[3; 60], 0).unwrap();
    assert!(l.publish().notify);
    l.send(&[4; 60], 0).unwrap();
    assert!(!l.publish().notify);
}

#[test]
fn batched_publish_notifies_if_the_event_is_inside_the_batch() {
    let mut l = link(64);
    for _ in 0..5 {
        l.send(&[0; 60], 0).unwrap();
    }
    let p = l.publish();
    assert_eq!((p.prod, p.count, p.notify), (5, 5, true));
}

#[test]
fn rearm_that_finds_work_keeps_polling() {
    let mut l = link(64);
    l.send(&[1; 60], 0).unwrap();
    let _ = l.publish();
    assert_eq!(l.poll_prod(), Ok(1));
    l.take(64);
    let _ = l.release();
    // A frame published before the receiver re-arms: the re-check after
    // writing rx_event sees it.
    l.send(&[2; 60], 0).unwrap();
    assert!(!l.publish().notify);
    assert!(!l.arm_rx(), "prod moved: keep polling");
}

#[test]
fn late_rx_event_is_picked_up_by_the_next_publish_or_a_recheck() {
    // The receiver's rx_event write is still in flight when the sender
    // publishes: the sender sees the old event and does not notify. The
    // virtio rule (old = previous prod) would never notify for this arm;
    // here the event counts from the last interrupt.
    let mut l = link(64);
    l.send(&[1; 60], 0).unwrap();
    assert!(l.publish().notify);
    assert_eq!(l.poll_prod(), Ok(1));
    l.take(64);
    let _ = l.release();
    let event = l.rx.event_for_next();
    assert_eq!(event, 1);
    // The receiver re-arms and re-checks prod (still 1): it sleeps.
    assert_eq!(l.poll_prod(), Ok(0));
    // The sender publishes 2 and reads rx_event before the write lands.
    l.send(&[2; 60], 0).unwrap();
    let p = l.tx.publish();
    assert_eq!(p.count, 1);
    assert!(!l.tx.need_notify(0));
    assert!(
        !need_event(event, 2, 2),
        "a plain virtio re-check would miss it"
    );
    // The write lands. A re-check with nothing new catches it.
    assert_eq!(l.tx.publish().count, 0);
    assert!(l.tx.need_notify(event));
    // Only once.
    assert!(!l.tx.need_notify(event));
    // Likewise if the next publish is what comes after the late write.
    let mut l = link(64);
    l.send(&[1; 60], 0).unwrap();
    assert!(l.publish().notify);
    l.send(&[2; 60], 0).unwrap();
    let _ = l.tx.publish();
    assert!(!l.tx.need_notify(0));
    l.send(&[3; 60], 0).unwrap();
    let _ = l.tx.publish();
    assert!(l.tx.need_notify(1), "event 1 is in [1, 3)");
}

#[test]
fn stale_rx_event_below_done_does_not_notify() {
    let mut l = link(64);
    l.send(&[1; 60], 0).unwrap();
    assert!(l.publish().notify);
    assert_eq!(l.poll_prod(), Ok(1));
    l.take(64);
    let _ = l.release();
    // The receiver re-arms at 1, but the sender publishes 2 before the
    // event lands; the receiver's re-check sees prod 2 and keeps polling.
    l.send(&[2; 60], 0).unwrap();
    assert!(!l.publish().notify);
    assert!(!l.arm_rx());
    // It consumes 2 and the sender completes it. Event 1 is now stale:
    // the receiver is polling and has consumed past it.
    l.take(64);
    let _ = l.release();
    assert_eq!(l.complete(), Ok(2));
    l.send(&[3; 60], 0).unwrap();
    assert!(!l.publish().notify);
    // Once it has consumed everything and re-armed, the next publish
    // notifies.
    assert!(!l.arm_rx(), "3 is pending");
    l.take(64);
    let _ = l.release();
    assert!(l.arm_rx());
    l.send(&[4; 60], 0).unwrap();
    assert!(l.publish().notify);
}

#[test]
fn no_notify_without_a_new_arm_over_many_rounds() {
    let mut l = link(8);
    for round in 0..40u32 {
        l.send(&[0; 60], 0).unwrap();
        let p = l.publish();
        // Only the zeroed window's event 0 asked for an interrupt.
        assert_eq!(p.notify, round == 0, "round {round}");
        assert_eq!(l.poll_prod(), Ok(1));
        l.take(8);
        let _ = l.release();
        assert_eq!(l.complete(), Ok(1));
        assert!(!l.tx.need_notify(0), "round {round}");
    }
}

#[test]
fn tx_wake_interrupt_when_cons_passes_tx_event() {
    let mut l = link(8);
    for _ in 0..8 {
        l.send(&[0; 60], 0).unwrap();
    }
    let _ = l.publish();
    assert!(l.tx.is_full_for(60));
    // Sender stops: event at 3 (wake after 4 of 8 consumed).
    assert_eq!(l.arm_tx(), 3);
    assert_eq!(l.poll_prod(), Ok(8));
    l.take(3);
    let c = l.release();
    assert_eq!((c.cons, c.notify), (3, false));
    l.take(1);
    let c = l.release();
    assert_eq!((c.cons, c.notify), (4, true));
    l.take(4);
    let c = l.release();
    assert_eq!((c.cons, c.notify), (8, false));
    assert_eq!(l.complete(), Ok(8));
    assert!(!l.tx.is_full_for(1514));
}

#[test]
fn zeroed_tx_event_interrupts_the_first_consume_only() {
    let mut l = link(8);
    l.send(&[0; 60], 0).unwrap();
    let _ = l.publish();
    assert_eq!(l.poll_prod(), Ok(1));
    l.take(1);
    assert!(l.release().notify);
    l.send(&[0; 60], 0).unwrap();
    let _ = l.publish();
    assert_eq!(l.poll_prod(), Ok(1));
    l.take(1);
    assert!(!l.release().notify);
}

#[test]
fn late_tx_event_is_picked_up_by_a_later_consume() {
    let mut l = link(8);
    for _ in 0..8 {
        l.send(&[0; 60], 0).unwrap();
    }
    let _ = l.publish();
    assert_eq!(l.poll_prod(), Ok(8));
    l.take(1);
    let _ = l.rx.consume();
    assert!(l.rx.need_notify(0), "zeroed event");
    // The sender stops and arms at 3; the receiver consumes past it before
    // the event lands.
    let event = l.tx.event_for_wake();
    assert_eq!(event, 3);
    l.take(5);
    assert_eq!(l.rx.consume().cons, 6);
    assert!(!l.rx.need_notify(0));
    // The event lands; the next consume, even with nothing new, notifies.
    assert!(l.rx.need_notify(event));
    assert!(!l.rx.need_notify(event), "only once");
}

#[test]
fn tx_event_more_than_a_ring_behind_is_stale() {
    // The sender arms only while stopped, when at most `entries`
    // descriptors can be consumed past its event: an event further behind
    // is stale.
    let mut l = link(8);
    let far = u32::MAX / 2;
    for _ in 0..2 {
        for _ in 0..8 {
            l.send(&[0; 60], 0).unwrap();
        }
        let _ = l.publish();
        assert_eq!(l.poll_prod(), Ok(8));
        l.take(8);
        let c = l.rx.consume();
        assert!(!l.rx.need_notify(far));
        assert_eq!(l.tx.complete(c.cons), Ok(8));
    }
    assert_eq!(l.rx.cons(), 16);
    assert!(!l.rx.need_notify(5), "5 < 16 - 8");
    assert!(!l.rx.need_notify(7), "7 < 16 - 8");
    assert!(l.rx.need_notify(8), "8 >= 16 - 8");
}

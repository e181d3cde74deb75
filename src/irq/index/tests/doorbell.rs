// SPDX-License-Identifier: GPL-2.0

//! The queue-to-doorbell-bit map of the doorbell backend.

use ntbnet_irq_index::*;
use proptest::prelude::*;

#[test]
fn no_bits() {
    assert_eq!(DbMap::new(0), Err(DbMapError::NoBits));
}

#[test]
fn one_bit_per_queue() {
    let db = DbMap::new(0xff).unwrap();
    assert_eq!(db.bits(), 8);
    for q in 0..8 {
        assert_eq!(db.bit_for(q), Some(q));
        assert_eq!(db.queues_for_bit(q, 8).collect::<Vec<_>>(), [q]);
    }
}

#[test]
fn sparse_mask() {
    // Bits 1, 4 and 63: bit 0 kept by the owner (link), the rest unused.
    let db = DbMap::new(1 << 1 | 1 << 4 | 1 << 63).unwrap();
    assert_eq!(db.bits(), 3);
    assert_eq!(db.bit_for(0), Some(1));
    assert_eq!(db.bit_for(1), Some(4));
    assert_eq!(db.bit_for(2), Some(63));
    assert_eq!(db.bit_for(3), Some(1));
    assert_eq!(db.queues_for_bit(1, 8).collect::<Vec<_>>(), [0, 3, 6]);
    assert_eq!(db.queues_for_bit(4, 8).collect::<Vec<_>>(), [1, 4, 7]);
    assert_eq!(db.queues_for_bit(63, 8).collect::<Vec<_>>(), [2, 5]);
    // Bits the domain does not use raise nothing.
    assert_eq!(db.queues_for_bit(0, 8).count(), 0);
    assert_eq!(db.queues_for_bit(2, 8).count(), 0);
    assert_eq!(db.queues_for_bit(64, 8).count(), 0);
    assert_eq!(db.queues_for_bit(u32::MAX, 8).count(), 0);
}

#[test]
fn more_bits_than_queues() {
    let db = DbMap::new(u64::MAX).unwrap();
    assert_eq!(db.bits(), 64);
    assert_eq!(db.queues_for_bit(2, 2).count(), 0);
    assert_eq!(db.queues_for_bit(1, 2).collect::<Vec<_>>(), [1]);
    assert_eq!(db.bit_for(255), Some(63));
}

proptest! {
    /// Every queue is raised by exactly the bit it rings, and by no other.
    #[test]
    fn inverse(mask in 1u64.., queues in 1u32..=MAX_QUEUES) {
        let db = DbMap::new(mask).unwrap();
        let mut raised = vec![0u32; queues as usize];
        for bit in 0..64 {
            for q in db.queues_for_bit(bit, queues) {
                prop_assert!(q < queues);
                prop_assert_eq!(db.bit_for(q), Some(bit));
                raised[q as usize] += 1;
            }
        }
        prop_assert!(raised.iter().all(|&n| n == 1));
        for q in 0..queues {
            let bit = db.bit_for(q).unwrap();
            prop_assert!(mask & (1 << bit) != 0);
        }
    }
}

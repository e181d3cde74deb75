// SPDX-License-Identifier: GPL-2.0

//! The queue index space: claiming, releasing, bounds, and a model check
//! against a plain set.

use ntbnet_irq_index::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

#[test]
fn sizes() {
    assert_eq!(IndexSpace::new(0), Err(IndexError::BadSize));
    assert_eq!(IndexSpace::new(MAX_QUEUES + 1), Err(IndexError::BadSize));
    assert_eq!(IndexSpace::new(1).unwrap().len(), 1);
    assert_eq!(IndexSpace::new(MAX_QUEUES).unwrap().len(), MAX_QUEUES);
    assert!(!IndexSpace::new(1).unwrap().is_empty());
}

#[test]
fn claim_release() {
    let mut s = IndexSpace::new(8).unwrap();
    assert_eq!(s.count(), 0);
    s.claim(3).unwrap();
    assert!(s.is_claimed(3));
    assert!(!s.is_claimed(2));
    assert_eq!(s.claim(3), Err(IndexError::Busy));
    assert_eq!(s.count(), 1);
    s.release(3).unwrap();
    assert_eq!(s.release(3), Err(IndexError::NotClaimed));
    assert!(!s.is_claimed(3));
    assert_eq!(s.count(), 0);
}

#[test]
fn out_of_range() {
    let mut s = IndexSpace::new(8).unwrap();
    assert_eq!(s.claim(8), Err(IndexError::OutOfRange));
    assert_eq!(s.release(8), Err(IndexError::OutOfRange));
    assert_eq!(s.claim(u32::MAX), Err(IndexError::OutOfRange));
    assert!(!s.is_claimed(8));
    assert!(!s.is_claimed(u32::MAX));
}

#[test]
fn first_free_is_lowest() {
    let mut s = IndexSpace::new(4).unwrap();
    assert_eq!(s.claim_first(), Ok(0));
    s.claim(2).unwrap();
    assert_eq!(s.claim_first(), Ok(1));
    assert_eq!(s.claim_first(), Ok(3));
    assert_eq!(s.claim_first(), Err(IndexError::Exhausted));
    s.release(1).unwrap();
    assert_eq!(s.claim_first(), Ok(1));
    assert_eq!(s.claimed().collect::<Vec<_>>(), [0, 1, 2, 3]);
}

#[test]
fn word_boundaries() {
    let mut s = IndexSpace::new(MAX_QUEUES).unwrap();
    for i in [0, 63, 64, 127, 128, 191, 192, 255] {
        s.claim(i).unwrap();
    }
    assert_eq!(
        s.claimed().collect::<Vec<_>>(),
        [0, 63, 64, 127, 128, 191, 192, 255]
    );
    assert_eq!(s.count(), 8);
    for i in 0..MAX_QUEUES {
        let _ = s.claim(i);
    }
    assert_eq!(s.count(), MAX_QUEUES);
    assert_eq!(s.claim_first(), Err(IndexError::Exhausted));
}

#[derive(Clone, Debug)]
enum Op {
    Claim(u32),
    ClaimFirst,
    Release(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u32..80).prop_map(Op::Claim),
        Just(Op::ClaimFirst),
        (0u32..80).prop_map(Op::Release),
    ]
}

proptest! {
    /// Any sequence of operations behaves as on a set of `0..len`.
    #[test]
    fn model(len in 1u32..=72, ops in prop::collection::vec(op(), 0..200)) {
        let mut s = IndexSpace::new(len).unwrap();
        let mut m = BTreeSet::new();
        for op in ops {
            match op {
                Op::Claim(i) => {
                    let want = if i >= len {
                        Err(IndexError::OutOfRange)
                    } else if m.contains(&i) {
                        Err(IndexError::Busy)
                    } else {
                        m.insert(i);
                        Ok(())
                    };
                    prop_assert_eq!(s.claim(i), want);
                }
                Op::ClaimFirst => {
                    let want = (0..len).find(|i| !m.contains(i)).ok_or(IndexError::Exhausted);
                    if let Ok(i) = want {
                        m.insert(i);
                    }
                    prop_assert_eq!(s.claim_first(), want);
                }
                Op::Release(i) => {
                    let want = if i >= len {
                        Err(IndexError::OutOfRange)
                    } else if m.remove(&i) {
                        Ok(())
                    } else {
                        Err(IndexError::NotClaimed)
                    };
                    prop_assert_eq!(s.release(i), want);
                }
            }
            prop_assert_eq!(s.count() as usize, m.len());
            prop_assert_eq!(s.claimed().collect::<Vec<_>>(), m.iter().copied().collect::<Vec<_>>());
        }
    }
}

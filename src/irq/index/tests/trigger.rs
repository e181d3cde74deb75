// SPDX-License-Identifier: GPL-2.0

//! Trigger descriptors: encoding for the peer, validation of what a peer
//! published, and the packed message of the MSI backend.

use ntbnet_irq_index::*;
use proptest::prelude::*;

#[test]
fn round_trip() {
    for t in [
        Trigger::Msi {
            window: 0,
            offset: 0,
            data: 0,
        },
        Trigger::Msi {
            window: 255,
            offset: 0xffff_fffc,
            data: u32::MAX,
        },
        Trigger::Doorbell { bit: 0 },
        Trigger::Doorbell { bit: 63 },
    ] {
        assert_eq!(Trigger::from_words(t.to_words()), Ok(t));
    }
    assert_eq!(
        Trigger::Msi {
            window: 2,
            offset: 0x1000,
            data: 0x41
        }
        .to_words(),
        [0x201, 0x1000, 0x41]
    );
    assert_eq!(Trigger::Doorbell { bit: 5 }.to_words(), [0x502, 0, 0]);
}

#[test]
fn refuses_bad_words() {
    assert_eq!(Trigger::from_words([0, 0, 0]), Err(TriggerError::Kind));
    assert_eq!(Trigger::from_words([3, 0, 0]), Err(TriggerError::Kind));
    // A window index beyond 255, a misaligned offset.
    assert_eq!(
        Trigger::from_words([0x1_0001, 0, 0]),
        Err(TriggerError::Field)
    );
    assert_eq!(Trigger::from_words([0x001, 2, 0]), Err(TriggerError::Field));
    // A doorbell bit beyond 63, non-zero reserved words.
    assert_eq!(
        Trigger::from_words([0x4002, 0, 0]),
        Err(TriggerError::Field)
    );
    assert_eq!(
        Trigger::from_words([0x0002, 4, 0]),
        Err(TriggerError::Field)
    );
    assert_eq!(
        Trigger::from_words([0x0002, 0, 1]),
        Err(TriggerError::Field)
    );
}

#[test]
fn packed_message() {
    assert_eq!(PackedMsg::NONE.get(), None);
    assert_eq!(PackedMsg::new(0x1000, 0x4041).get(), Some((0x1000, 0x4041)));
    assert_eq!(PackedMsg::new(0, 0).get(), Some((0, 0)));
    let p = PackedMsg::new(0xfffc, u32::MAX);
    assert_eq!(PackedMsg::from_raw(p.raw()), p);
    assert_eq!(p.get(), Some((0xfffc, u32::MAX)));
}

proptest! {
    /// Decoding never panics; whatever decodes encodes back to the same words.
    #[test]
    fn decode_any(w in any::<[u32; TRIGGER_WORDS]>()) {
        if let Ok(t) = Trigger::from_words(w) {
            prop_assert_eq!(t.to_words(), w);
        }
    }

    /// Every valid trigger survives the trip to the peer.
    #[test]
    fn encode_valid(window in 0u32..256, off in 0u32..1 << 30, data in any::<u32>(), bit in 0u32..64) {
        let m = Trigger::Msi { window, offset: off * 4, data };
        prop_assert_eq!(Trigger::from_words(m.to_words()), Ok(m));
        let d = Trigger::Doorbell { bit };
        prop_assert_eq!(Trigger::from_words(d.to_words()), Ok(d));
    }

    #[test]
    fn pack(off in 0u32..u32::MAX, data in any::<u32>()) {
        prop_assert_eq!(PackedMsg::from_raw(PackedMsg::new(off, data).raw()).get(), Some((off, data)));
    }
}

#[test]
fn watch_takes_a_republished_trigger_only_once_it_settled() {
    let old = Trigger::Msi {
        window: 1,
        offset: 0x40,
        data: 0x21,
    }
    .to_words();
    let new = Trigger::Msi {
        window: 1,
        offset: 0x80,
        data: 0x35,
    }
    .to_words();
    // The peer is halfway through rewriting: the new offset, the old data.
    let torn = [new[0], new[1], old[2]];
    let mut w = TriggerWatch::new(old);
    assert_eq!(w.observe(old), None);
    // A torn read is not used, nor is the first read of the new value.
    assert_eq!(w.observe(torn), None);
    assert_eq!(w.observe(new), None);
    // The second read in a row of the same words is.
    assert_eq!(w.observe(new), Some(new));
    w.adopt(new);
    assert_eq!(w.used(), new);
    assert_eq!(w.observe(new), None);
}

#[test]
fn watch_retries_words_the_caller_did_not_adopt() {
    let old = Trigger::Doorbell { bit: 1 }.to_words();
    let bad = [0xff, 0, 0];
    let mut w = TriggerWatch::new(old);
    assert_eq!(w.observe(bad), None);
    assert_eq!(w.observe(bad), Some(bad));
    // Refused by the caller (not adopted): the old trigger stays in use
    // and the bad words are offered again, to be counted again.
    assert_eq!(w.observe(bad), Some(bad));
    assert_eq!(w.used(), old);
}

proptest! {
    /// Whatever the sequence of reads, a value is returned only if the read
    /// before it saw the same words.
    #[test]
    fn watch_never_returns_a_value_read_once(reads in proptest::collection::vec(
        proptest::array::uniform3(0u32..3), 1..40)) {
        let mut w = TriggerWatch::new([0; 3]);
        let mut prev = [0u32; 3];
        for r in reads {
            if let Some(words) = w.observe(r) {
                prop_assert_eq!(words, prev);
                prop_assert_eq!(words, r);
                w.adopt(words);
            }
            prev = r;
        }
    }
}

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

// SPDX-License-Identifier: GPL-2.0

//! Placement of the MSI window and trigger offsets.

use ntbnet_irq_index::*;
use proptest::prelude::*;

const MSI_BASE: u64 = 0xfee0_0000;
const MSI_SIZE: u64 = 0x10_0000;

fn align(addr_align: u64, size_align: u64, size_max: u64) -> WindowAlign {
    WindowAlign {
        addr_align,
        size_align,
        size_max,
    }
}

#[test]
fn page_aligned() {
    let w = MsiWindow::place(MSI_BASE, MSI_SIZE, &align(4096, 4096, 1 << 30)).unwrap();
    assert_eq!(
        w,
        MsiWindow {
            base: MSI_BASE,
            size: MSI_SIZE
        }
    );
    assert_eq!(w.offset(0xfee0_0000), Some(0));
    assert_eq!(w.offset(0xfee0_1000), Some(0x1000));
    assert_eq!(w.offset(0xfeef_fffc), Some(0xf_fffc));
    assert_eq!(w.offset(0xfef0_0000), None);
    assert_eq!(w.offset(0xfedf_fffc), None);
    assert_eq!(w.offset(0xfee0_1002), None);
}

#[test]
fn coarse_address_alignment_is_refused() {
    // A window that must start on a 16 MiB or 4 MiB boundary would start
    // below 0xfee00000 and expose the IOAPIC, HPET and whatever else lies
    // there: refused.
    for a in [1 << 24, 1 << 22] {
        assert_eq!(
            MsiWindow::place(MSI_BASE, MSI_SIZE, &align(a, 4096, 0)),
            Err(WindowError::NotExact)
        );
    }
    // 1 MiB alignment is exact.
    let w = MsiWindow::place(MSI_BASE, MSI_SIZE, &align(1 << 20, 1 << 20, 0)).unwrap();
    assert_eq!(
        w,
        MsiWindow {
            base: MSI_BASE,
            size: MSI_SIZE
        }
    );
}

#[test]
fn size_rounded_past_the_range_is_refused() {
    // The smallest translatable size, 2 MiB (a Switchtec LUT window of
    // that size: both alignments are its size), would cover 1 MiB above
    // the range.
    for a in [4096, 1 << 21] {
        assert_eq!(
            MsiWindow::place(MSI_BASE, MSI_SIZE, &align(a, 1 << 21, 0)),
            Err(WindowError::NotExact)
        );
    }
    // A size alignment that does not divide the range: the window stops
    // at the last aligned size inside it.
    let w = MsiWindow::place(MSI_BASE, 0x3000, &align(4096, 0x2000, 0)).unwrap();
    assert_eq!(w.size, 0x2000);
}

#[test]
fn size_max_cuts_the_range() {
    // Only 32 KiB translatable: the beginning of the range is covered.
    let w = MsiWindow::place(MSI_BASE, MSI_SIZE, &align(4096, 4096, 0x8000)).unwrap();
    assert_eq!(
        w,
        MsiWindow {
            base: MSI_BASE,
            size: 0x8000
        }
    );
    assert_eq!(w.offset(0xfee0_7ffc), Some(0x7ffc));
    assert_eq!(w.offset(0xfee0_8000), None);
}

#[test]
fn cannot_reach() {
    // Nothing translatable.
    assert_eq!(
        MsiWindow::place(MSI_BASE, MSI_SIZE, &align(4096, 4096, 2)),
        Err(WindowError::TooSmall)
    );
    assert_eq!(
        MsiWindow::place(MSI_BASE, 0, &align(4096, 4096, 0)),
        Err(WindowError::TooSmall)
    );
    assert_eq!(
        MsiWindow::place(u64::MAX - 4, 16, &align(4096, 4096, 0)),
        Err(WindowError::TooSmall)
    );
}

#[test]
fn bad_alignment() {
    assert_eq!(
        MsiWindow::place(MSI_BASE, MSI_SIZE, &align(3000, 4096, 0)),
        Err(WindowError::BadAlign)
    );
    assert_eq!(
        MsiWindow::place(MSI_BASE, MSI_SIZE, &align(4096, 3, 0)),
        Err(WindowError::BadAlign)
    );
    // Zero alignments mean none.
    let w = MsiWindow::place(MSI_BASE, MSI_SIZE, &align(0, 0, 0)).unwrap();
    assert_eq!(
        w,
        MsiWindow {
            base: MSI_BASE,
            size: MSI_SIZE
        }
    );
}

proptest! {
    /// A placed window obeys the rules, covers the start of the range and
    /// nothing outside it; every offset it gives lands back on the
    /// address. A refusal for inexactness is right: no aligned window
    /// starts at the range's base, or none fits inside it.
    #[test]
    fn obeys_rules(
        base in 0u64..1 << 40,
        size in 4u64..1 << 24,
        a in 0u32..32,
        s in 0u32..24,
        max in prop_oneof![Just(0u64), 1u64..1 << 34],
        addr in 0u64..1 << 41,
    ) {
        let al = align(1 << a, 1 << s, max);
        if let Ok(w) = MsiWindow::place(base, size, &al) {
            prop_assert_eq!(w.base % (1 << a), 0);
            prop_assert_eq!(w.size % (1 << s), 0);
            prop_assert!(max == 0 || w.size <= max);
            prop_assert!(w.size <= 1 << 32);
            prop_assert_eq!(w.base, base);
            prop_assert!(w.size >= 4 && w.size <= size);
            if let Some(off) = w.offset(addr) {
                prop_assert_eq!(w.base + u64::from(off), addr);
                prop_assert!(u64::from(off) + 4 <= w.size);
            }
        } else if MsiWindow::place(base, size, &al) == Err(WindowError::NotExact) {
            let room = if max == 0 { size } else { size.min(max) };
            prop_assert!(base % (1 << a) != 0 || room < (1 << s));
        }
    }
}

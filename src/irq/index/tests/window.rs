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
fn coarse_address_alignment() {
    // A window that must start on a 16 MiB boundary.
    let w = MsiWindow::place(MSI_BASE, MSI_SIZE, &align(1 << 24, 4096, 0)).unwrap();
    assert_eq!(w.base, 0xfe00_0000);
    assert_eq!(w.size, 0xf0_0000);
    assert_eq!(w.offset(0xfee0_1000), Some(0xe0_1000));
}

#[test]
fn size_rounded_up() {
    let w = MsiWindow::place(MSI_BASE, MSI_SIZE, &align(4096, 1 << 21, 0)).unwrap();
    assert_eq!(w.size, 1 << 21);
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
    // 16 MiB alignment but at most 1 MiB: the window ends before the range.
    assert_eq!(
        MsiWindow::place(MSI_BASE, MSI_SIZE, &align(1 << 24, 4096, 1 << 20)),
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
    /// A placed window obeys the rules and covers the start of the range;
    /// every offset it gives lands back on the address.
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
            prop_assert!(w.base <= base && w.base + w.size >= base + 4);
            if let Some(off) = w.offset(addr) {
                prop_assert_eq!(w.base + u64::from(off), addr);
                prop_assert!(u64::from(off) + 4 <= w.size);
            }
        }
    }
}

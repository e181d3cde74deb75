// SPDX-License-Identifier: GPL-2.0

//! Test modes: a misbehaving peer, a hung one, a receiver short of memory,
//! a peer writing an MSI it was never given and a transmit batch whose
//! last frame is dropped, on demand. Each is a
//! per-device debugfs knob (netdevsim style) in
//! /sys/kernel/debug/ntbnet-<interface>/, created once the interface is
//! registered and removed first when it goes:
//!
//! - `scribble`: writing 1 makes this host write garbage over the peer's
//!   whole inbound window, every link tick, and ring every queue interrupt
//!   of the peer, instead of negotiating (`scribble.rs`). Writing 0 ends
//!   the mode and starts a new session, after which the link comes back.
//!   Nothing else changes while it is 0.
//! - `hang`: writing 1 stops this host's link work and heartbeat (the data
//!   path goes on), as if its link management hung with the NTB link still
//!   up: the peer must notice the silent heartbeat within a second. Writing
//!   0 resumes them.
//! - `rx_frags`: writing 1 makes every received frame go into order-0
//!   pages, as when the receive page pool has no memory.
//! - `poke_msi`: writing `OFFSET << 32 | DATA` makes this host write `DATA`
//!   once at `OFFSET` of the peer's MSI window (its last outbound window),
//!   at the next link tick; the knob reads 0 once it is done. That is a
//!   peer writing a trigger it was never given: the peer's interrupt
//!   remapping must keep it from raising anything but the peer's own NTB
//!   interrupts (selftests/vm/switchtec_msi_safety.sh).
//! - `tx_drop`: writing N makes this host drop the next N frames that end
//!   a transmit batch: a frame the stack hands over with `xmit_more` off
//!   while frames of the same batch (handed over with `xmit_more` on) are
//!   reserved in the ring but not yet published. It is dropped as a frame
//!   the ring cannot take is (`tx_dropped`); the frames before it must
//!   still reach the peer at once (selftests/vm/ntbnet_link.sh). The knob
//!   reads how many drops are left.

use crate::klib::irq::domain::{PeerTrigger, Trigger};
use crate::klib::kern::debugfs::{self, Dir};
use crate::klib::ntb;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::fmt;
use kernel::prelude::*;
use kernel::str::{CStr, CString};
use kernel::sync::Arc;

/// The test modes of one device, all off by default.
#[derive(Default)]
pub(crate) struct TestHooks {
    scribble: AtomicBool,
    hang: AtomicBool,
    rx_frags: AtomicBool,
    /// A pending `poke_msi` write, `offset << 32 | data` (0: none).
    poke_msi: AtomicU64,
    /// Batch-ending frames still to drop (`tx_drop`).
    tx_drop: AtomicU64,
}

/// A knob's debugfs key.
#[derive(Clone, Copy)]
enum Knob {
    Scribble,
    Hang,
    RxFrags,
    PokeMsi,
    TxDrop,
}

/// The knobs: file name and which one.
const KNOBS: [(&CStr, Knob); 5] = [
    (kernel::c_str!("scribble"), Knob::Scribble),
    (kernel::c_str!("hang"), Knob::Hang),
    (kernel::c_str!("rx_frags"), Knob::RxFrags),
    (kernel::c_str!("poke_msi"), Knob::PokeMsi),
    (kernel::c_str!("tx_drop"), Knob::TxDrop),
];

impl Knob {
    fn from_key(key: u32) -> Option<Self> {
        KNOBS.get(key as usize).map(|&(_, k)| k)
    }
}

impl TestHooks {
    fn flag(&self, knob: Knob) -> Option<&AtomicBool> {
        match knob {
            Knob::Scribble => Some(&self.scribble),
            Knob::Hang => Some(&self.hang),
            Knob::RxFrags => Some(&self.rx_frags),
            Knob::PokeMsi | Knob::TxDrop => None,
        }
    }

    /// The counter behind a knob that takes a number.
    fn word(&self, knob: Knob) -> Option<&AtomicU64> {
        match knob {
            Knob::PokeMsi => Some(&self.poke_msi),
            Knob::TxDrop => Some(&self.tx_drop),
            _ => None,
        }
    }

    /// Whether the scribble test mode is on.
    pub(crate) fn scribble(&self) -> bool {
        self.scribble.load(Ordering::Relaxed)
    }

    /// Whether the hang test mode is on.
    pub(crate) fn hung(&self) -> bool {
        self.hang.load(Ordering::Relaxed)
    }

    /// Whether every frame is received into order-0 pages.
    pub(crate) fn rx_frags(&self) -> bool {
        self.rx_frags.load(Ordering::Relaxed)
    }

    /// Whether to drop the frame that ends a batch now (`tx_drop`); counts
    /// the drop off.
    pub(crate) fn take_tx_drop(&self) -> bool {
        self.tx_drop
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Publishes the knobs of `hooks` as /sys/kernel/debug/ntbnet-`name`/;
    /// dropping the result removes them.
    pub(crate) fn publish(hooks: &Arc<Self>, name: &CStr) -> Result<Dir<Self>> {
        let dname = CString::try_from_fmt(fmt!("ntbnet-{}", name))?;
        let mut dir = Dir::new(&dname, hooks.clone())?;
        let root = dir.root();
        for (key, (file, _)) in KNOBS.iter().enumerate() {
            dir.file(root, file, key as u32, true)?;
        }
        Ok(dir)
    }

    /// Performs a pending `poke_msi` write (see the module documentation).
    pub(crate) fn poke_msi(&self, dev: &ntb::Device) {
        let v = self.poke_msi.swap(0, Ordering::AcqRel);
        if v == 0 {
            return;
        }
        let trigger = Trigger::Msi {
            window: dev.peer_mw_count().saturating_sub(1),
            offset: (v >> 32) as u32,
            data: v as u32,
        };
        match PeerTrigger::new(dev, &trigger) {
            Ok(t) => {
                t.fire();
                pr_info!(
                    "{}: poke_msi: wrote {:#x} at {:#x} of the peer's MSI window\n",
                    dev.name(),
                    v as u32,
                    v >> 32
                );
            }
            Err(e) => pr_info!("{}: poke_msi: {:?}\n", dev.name(), e),
        }
    }
}

impl debugfs::Attribute for TestHooks {
    fn get(&self, key: u32) -> Result<u64> {
        let knob = Knob::from_key(key).ok_or(EINVAL)?;
        if let Some(flag) = self.flag(knob) {
            return Ok(u64::from(flag.load(Ordering::Relaxed)));
        }
        Ok(self.word(knob).map_or(0, |w| w.load(Ordering::Acquire)))
    }

    fn set(&self, key: u32, val: u64) -> Result {
        let knob = Knob::from_key(key).ok_or(EINVAL)?;
        if let Some(flag) = self.flag(knob) {
            let on = match val {
                0 => false,
                1 => true,
                _ => return Err(EINVAL),
            };
            flag.store(on, Ordering::Relaxed);
        } else if let Some(word) = self.word(knob) {
            word.store(val, Ordering::Release);
        }
        Ok(())
    }
}

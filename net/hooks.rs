// SPDX-License-Identifier: GPL-2.0

//! Test modes: a misbehaving peer, a hung one, a receiver short of memory
//! and a peer writing an MSI it was never given, on demand. Each is a
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
}

/// A knob's debugfs key.
#[derive(Clone, Copy)]
enum Knob {
    Scribble,
    Hang,
    RxFrags,
    PokeMsi,
}

/// The knobs: file name and which one.
const KNOBS: [(&CStr, Knob); 4] = [
    (kernel::c_str!("scribble"), Knob::Scribble),
    (kernel::c_str!("hang"), Knob::Hang),
    (kernel::c_str!("rx_frags"), Knob::RxFrags),
    (kernel::c_str!("poke_msi"), Knob::PokeMsi),
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
            Knob::PokeMsi => None,
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
        Ok(match self.flag(knob) {
            Some(flag) => u64::from(flag.load(Ordering::Relaxed)),
            None => self.poke_msi.load(Ordering::Acquire),
        })
    }

    fn set(&self, key: u32, val: u64) -> Result {
        let knob = Knob::from_key(key).ok_or(EINVAL)?;
        match self.flag(knob) {
            Some(flag) => {
                let on = match val {
                    0 => false,
                    1 => true,
                    _ => return Err(EINVAL),
                };
                flag.store(on, Ordering::Relaxed);
            }
            None => self.poke_msi.store(val, Ordering::Release),
        }
        Ok(())
    }
}

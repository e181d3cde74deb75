// SPDX-License-Identifier: GPL-2.0

//! The peer's side of a trigger: what a driver resolves from the trigger
//! its peer published, to raise the peer's queue interrupt.
use super::errno;
use crate::klib::bindings;
use crate::klib::irq::index::Trigger;
use crate::klib::ntb;
use kernel::error::to_result;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;

/// A peer's trigger, resolved on this side: a mapped 32-bit register of a
/// memory window and the value to write (MSI), or the doorbell bits to
/// ring (doorbell); unmapped on drop.
///
/// A doorbell is rung with `ntb_peer_db_set()`, the NTB driver's own
/// register write, rather than through `ntb_peer_db_addr()`: 6.12's
/// `ntb_hw_switchtec` computes that address from the doorbell register's
/// contents instead of its address (`(unsigned long)mmio_peer_dbmsg->odb`
/// reads the register), and its value does not fit the 32-bit write it
/// announces on one of the two partitions.
///
/// # Invariants
///
/// `Mmio`: `addr` maps 4 bytes of MMIO until drop. `Doorbell`: `ntb` is a
/// registered NTB device for as long as this lives (the caller's promise
/// in [`PeerTrigger::new`]).
pub struct PeerTrigger(How);

enum How {
    Mmio {
        addr: *mut c_void,
        data: u32,
    },
    Doorbell {
        ntb: *mut bindings::ntb_dev,
        bits: u64,
    },
}

// SAFETY: One MMIO write or one call of the NTB driver's `peer_db_set`
// (which drivers make callable from any context), from any thread.
unsafe impl Send for PeerTrigger {}
// SAFETY: See above.
unsafe impl Sync for PeerTrigger {}

impl PeerTrigger {
    /// Resolves `trigger`, as the peer published it, on NTB device `ntb`:
    /// an MSI trigger through outbound window `window` (checked against
    /// its size), a doorbell trigger as its bit (checked against the valid
    /// doorbell bits). The NTB must outlive the result (drop it in the
    /// client's `remove`).
    pub fn new(ntb: &ntb::Device, trigger: &Trigger) -> Result<Self> {
        let raw = ntb.as_raw();
        match *trigger {
            Trigger::Msi {
                window,
                offset,
                data,
            } => {
                let (mut base, mut size) = (0, 0);
                // SAFETY: The device is registered; the outputs are valid.
                to_result(unsafe {
                    bindings::ntb_peer_mw_get_addr(raw, window as c_int, &mut base, &mut size)
                })?;
                if u64::from(offset) + 4 > size {
                    return Err(ERANGE);
                }
                // SAFETY: `base + offset` is a register of the NTB's window
                // BAR; `ioremap` returns NULL on failure.
                let addr = unsafe { bindings::ioremap(base + u64::from(offset), 4) };
                if addr.is_null() {
                    return Err(ENOMEM);
                }
                // INVARIANT: `addr` maps 4 bytes.
                Ok(Self(How::Mmio { addr, data }))
            }
            Trigger::Doorbell { bit } => {
                // SAFETY: The device is registered.
                let valid = unsafe { bindings::ntb_db_valid_mask(raw) };
                let bits = 1u64.checked_shl(bit).unwrap_or(0);
                if bits == 0 || valid & bits == 0 {
                    return Err(errno(bindings::EOPNOTSUPP));
                }
                // INVARIANT: The caller keeps the device registered.
                Ok(Self(How::Doorbell { ntb: raw, bits }))
            }
        }
    }

    /// Raises the peer's interrupt: one posted write.
    pub fn fire(&self) {
        match self.0 {
            // SAFETY: `addr` maps 4 bytes of MMIO (type invariant).
            How::Mmio { addr, data } => unsafe { bindings::iowrite32(data, addr) },
            How::Doorbell { ntb, bits } => {
                // SAFETY: `ntb` is registered (type invariant).
                let _ = unsafe { bindings::ntb_peer_db_set(ntb, bits) };
            }
        }
    }
}

impl Drop for PeerTrigger {
    fn drop(&mut self) {
        if let How::Mmio { addr, .. } = self.0 {
            // SAFETY: `addr` was mapped by `ioremap` (type invariant).
            unsafe { bindings::iounmap(addr) }
        }
    }
}

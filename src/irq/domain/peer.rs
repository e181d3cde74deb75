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

/// A peer's trigger, resolved on this side: a mapped 32-bit register and the
/// value to write to raise the peer's interrupt; unmapped on drop.
///
/// # Invariants
///
/// `addr` maps 4 bytes of MMIO until drop.
pub struct PeerTrigger {
    addr: *mut c_void,
    data: u32,
}

// SAFETY: One MMIO write, from any thread.
unsafe impl Send for PeerTrigger {}
// SAFETY: See above.
unsafe impl Sync for PeerTrigger {}

impl PeerTrigger {
    /// Resolves `trigger`, as the peer published it, on NTB device `ntb`:
    /// an MSI trigger through outbound window `window` (checked against
    /// its size), a doorbell trigger with `ntb_peer_db_addr()`. The NTB
    /// must outlive the result (drop it in the client's `remove`).
    pub fn new(ntb: &ntb::Device, trigger: &Trigger) -> Result<Self> {
        let raw = ntb.as_raw();
        let (phys, data) = match *trigger {
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
                (base + u64::from(offset), data)
            }
            Trigger::Doorbell { bit } => {
                let (mut addr, mut size, mut data) = (0, 0, 0);
                // SAFETY: The device is registered; the outputs are valid.
                to_result(unsafe {
                    bindings::ntb_peer_db_addr(raw, &mut addr, &mut size, &mut data, bit as c_int)
                })?;
                if size != 4 {
                    return Err(errno(bindings::EOPNOTSUPP));
                }
                (
                    addr,
                    u32::try_from(data).map_err(|_| errno(bindings::EOPNOTSUPP))?,
                )
            }
        };
        // SAFETY: `phys` is a register of the NTB's BARs (a window or the
        // doorbell register); `ioremap` returns NULL on failure.
        let addr = unsafe { bindings::ioremap(phys, 4) };
        if addr.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `addr` maps 4 bytes.
        Ok(Self { addr, data })
    }

    /// Raises the peer's interrupt: one posted write.
    pub fn fire(&self) {
        // SAFETY: `addr` maps 4 bytes of MMIO (type invariant).
        unsafe { bindings::iowrite32(self.data, self.addr) }
    }
}

impl Drop for PeerTrigger {
    fn drop(&mut self) {
        // SAFETY: `addr` was mapped by `ioremap` (type invariant).
        unsafe { bindings::iounmap(self.addr) }
    }
}

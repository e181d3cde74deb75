// SPDX-License-Identifier: GPL-2.0

//! The peer's side of a trigger: what a driver resolves from the trigger
//! its peer published, to raise the peer's queue interrupt.
use crate::klib::io::mmio::IoMem;
use crate::klib::io::Io;
use crate::klib::irq::index::Trigger;
use crate::klib::kern::errno::eopnotsupp;
use crate::klib::ntb;
use kernel::prelude::*;
use kernel::types::ARef;

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
pub struct PeerTrigger(How);

enum How {
    Mmio { reg: IoMem, data: u32 },
    Doorbell { ntb: ARef<ntb::Device>, bits: u64 },
}

impl PeerTrigger {
    /// Resolves `trigger`, as the peer published it, on NTB device `ntb`:
    /// an MSI trigger through outbound window `window` (checked against
    /// its size), a doorbell trigger as its bit (checked against the valid
    /// doorbell bits). A doorbell trigger holds a reference to `ntb`: drop
    /// it in the client's `remove` at the latest.
    pub fn new(ntb: &ntb::Device, trigger: &Trigger) -> Result<Self> {
        match *trigger {
            Trigger::Msi {
                window,
                offset,
                data,
            } => {
                let widx = i32::try_from(window).map_err(|_| EINVAL)?;
                let (base, size) = ntb.peer_mw_addr(widx)?;
                if u64::from(offset) + 4 > size {
                    return Err(ERANGE);
                }
                let reg = IoMem::map(base + u64::from(offset), 4)?;
                Ok(Self(How::Mmio { reg, data }))
            }
            Trigger::Doorbell { bit } => {
                let bits = 1u64.checked_shl(bit).unwrap_or(0);
                if bits == 0 || ntb.db_valid_mask() & bits == 0 {
                    return Err(eopnotsupp());
                }
                Ok(Self(How::Doorbell {
                    ntb: ntb.into(),
                    bits,
                }))
            }
        }
    }

    /// Raises the peer's interrupt: one posted write. Any context.
    pub fn fire(&self) {
        // Neither fails: the register is the mapping's only word, and a
        // doorbell bit checked valid is accepted.
        let _ = match &self.0 {
            How::Mmio { reg, data } => reg.try_write32(*data, 0),
            How::Doorbell { ntb, bits } => ntb.peer_db_set(*bits),
        };
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The two memory windows of a link: this host's inbound window (a
//! coherent buffer that the peer writes through its outbound window) and
//! the peer's inbound window, mapped write-combining. Set up at the first
//! NTB link-up (the NTB API gives window sizes only then) and kept until
//! the device goes, across link sessions, so that nothing the peer may
//! still write into is freed while the device is bound; the translation is
//! removed before the buffer is freed.

use crate::klib::io::coherent::Coherent;
use crate::klib::io::mmio::IoMemWc;
use crate::klib::io::Io;
use crate::klib::kern::barrier::mb;
use crate::klib::ntb;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::ARef;

/// The peer index: ntbnet serves two-port NTBs (one peer per `ntb_dev`).
pub(crate) const PIDX: i32 = 0;
/// The memory window ntbnet uses, in both directions. The last window of
/// an NTB with several is left to the NTB irq domain's MSI backend.
pub(crate) const WIDX: i32 = 0;
/// Largest inbound window ntbnet allocates.
const MAX_WINDOW: u64 = 256 << 20;
/// Smallest inbound window worth using.
const MIN_WINDOW: u64 = 256 << 10;

/// Both memory windows. Set up when the NTB link first comes up (the NTB
/// API gives window sizes only then) and kept until the device is removed;
/// each link session's rings hold a reference.
pub(crate) struct Windows {
    ntb: ARef<ntb::Device>,
    /// This host's inbound window: the peer writes, this host reads.
    pub(crate) inbound: Coherent,
    /// The peer's inbound window, mapped write-combining: this host writes.
    pub(crate) outbound: IoMemWc,
}

impl Windows {
    /// Allocates the inbound window, translates window [`WIDX`] onto it,
    /// and maps the peer's window. The NTB link must be up.
    pub(crate) fn new(dev: &ntb::Device) -> Result<Arc<Self>> {
        if dev.mw_count(PIDX)? == 0 || dev.peer_mw_count() == 0 {
            pr_err!("{}: no memory window\n", dev.name());
            return Err(ENODEV);
        }
        let align = dev.mw_get_align(PIDX, WIDX)?;
        let mut size = align.size_max.min(MAX_WINDOW);
        size -= size.checked_rem(align.size_align).unwrap_or(0);
        // The largest buffer that can be had. The virtual NTB serves
        // coherent allocations from its windows, smallest fitting first, so
        // the window's own size is asked first.
        let inbound = loop {
            if size < MIN_WINDOW {
                pr_err!("{}: cannot allocate an inbound window\n", dev.name());
                return Err(ENOMEM);
            }
            if let Ok(buf) = dev.alloc_coherent(size as usize) {
                break buf;
            }
            size /= 2;
        };
        if inbound
            .dma_addr()
            .checked_rem(align.addr_align)
            .unwrap_or(0)
            != 0
        {
            pr_err!("{}: inbound window buffer is misaligned\n", dev.name());
            return Err(EINVAL);
        }
        let outbound = dev.peer_mw_map(WIDX)?;
        dev.mw_set_trans(PIDX, WIDX, &inbound, inbound.len())?;
        // From here on, drop clears the translation.
        Ok(Arc::new(
            Self {
                ntb: dev.into(),
                inbound,
                outbound,
            },
            GFP_KERNEL,
        )?)
    }
}

impl Windows {
    /// Reads the little-endian word at `off` of this host's window once
    /// (all ones if out of range, which validation rejects like any bad
    /// value).
    pub(crate) fn read_le(&self, off: usize) -> u32 {
        u32::from_le(self.inbound.try_read32(off).unwrap_or(!0))
    }

    /// Writes index `val` at `out_off` of the peer's window, then, after a
    /// full barrier, reads the peer's event at `event_off` of this host's
    /// window once: an index update and the check whether the peer asked
    /// to be interrupted for it.
    pub(crate) fn post_then_read(&self, out_off: usize, val: u32, event_off: usize) -> u32 {
        // An offset outside the window cannot happen (the layouts were
        // checked); the write would be dropped.
        let _ = self.outbound.try_write32(val, out_off);
        mb();
        self.read_le(event_off)
    }
}

impl Drop for Windows {
    fn drop(&mut self) {
        // The peer's writes must go nowhere before the buffer is freed.
        let _ = self.ntb.mw_clear_trans(PIDX, WIDX);
    }
}

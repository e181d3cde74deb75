// SPDX-License-Identifier: GPL-2.0

//! Mappings of bus memory: uncached (`ioremap`, registers) or
//! write-combining (`ioremap_wc`, an NTB's outbound memory window, written
//! with posted writes).

use super::Io;
use crate::klib::bindings;
use kernel::prelude::*;

/// `len` bytes of bus memory, mapped write-combining if `WC`; unmapped on
/// drop.
///
/// Through a write-combining mapping, stores may be merged and reordered
/// until a write barrier ([`crate::klib::kern::barrier::wmb`]); on an NTB a
/// read through an outbound window is a round trip across the link, so
/// ntbnet only writes there.
///
/// # Invariants
///
/// `addr` maps `len` bytes from `ioremap` (`ioremap_wc` if `WC`) until drop.
pub struct IoMem<const WC: bool = false> {
    addr: *mut u8,
    len: usize,
}

/// A write-combining mapping.
pub type IoMemWc = IoMem<true>;

// SAFETY: The mapping may be used from any thread; each access is one
// MMIO operation or a `memcpy_toio`.
unsafe impl<const WC: bool> Send for IoMem<WC> {}
// SAFETY: See above.
unsafe impl<const WC: bool> Sync for IoMem<WC> {}

impl<const WC: bool> IoMem<WC> {
    /// Maps `len` bytes at bus address `phys`.
    pub fn map(phys: u64, len: usize) -> Result<Self> {
        if len == 0 {
            return Err(EINVAL);
        }
        let size = kernel::ffi::c_ulong::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: `ioremap`/`ioremap_wc` check the range and return NULL on
        // failure.
        let addr = unsafe {
            if WC {
                bindings::ioremap_wc(phys, size)
            } else {
                bindings::ioremap(phys, size)
            }
        };
        if addr.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `addr` maps `len` bytes.
        Ok(Self {
            addr: addr.cast(),
            len,
        })
    }

    /// Size of the mapping.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never: `map` refuses that).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address of `len` checked bytes at `off`, aligned to `align`.
    fn at(&self, off: usize, len: usize, align: usize) -> Result<*mut u8> {
        let off = self.check(off, len, align)?;
        // SAFETY: `off + len <= self.len`: inside the mapping.
        Ok(unsafe { self.addr.add(off) })
    }
}

impl<const WC: bool> Io for IoMem<WC> {
    fn maxsize(&self) -> usize {
        self.len
    }

    fn try_read32(&self, offset: usize) -> Result<u32> {
        let p = self.at(offset, 4, 4)?;
        // SAFETY: `p` is an aligned word inside the mapping.
        Ok(unsafe { bindings::ioread32(p.cast()) })
    }

    fn try_write32(&self, value: u32, offset: usize) -> Result {
        let p = self.at(offset, 4, 4)?;
        // SAFETY: `p` is an aligned word inside the mapping.
        unsafe { bindings::iowrite32(value, p.cast()) };
        Ok(())
    }

    fn try_write_bytes(&self, src: &[u8], offset: usize) -> Result {
        let p = self.at(offset, src.len(), 1)?;
        if WC {
            // SAFETY: The destination range is inside the mapping, which is
            // write-combining (type invariant); `src` is a valid slice.
            unsafe { bindings::ntbnet_memcpy_to_wc(p.cast(), src.as_ptr().cast(), src.len()) };
        } else {
            // SAFETY: The destination range is inside the mapping; `src` is
            // a valid slice.
            unsafe { bindings::memcpy_toio(p.cast(), src.as_ptr().cast(), src.len()) };
        }
        Ok(())
    }
}

impl<const WC: bool> Drop for IoMem<WC> {
    fn drop(&mut self) {
        // SAFETY: `addr` came from `ioremap`/`ioremap_wc` (type invariant).
        unsafe { bindings::iounmap(self.addr.cast()) };
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Write-combined mappings of bus memory (`ioremap_wc`): an NTB's outbound
//! memory window, written with posted writes only.

use crate::klib::bindings;
use kernel::prelude::*;

/// `len` bytes of bus memory mapped write-combining; unmapped on drop.
///
/// Only writes are offered: on an NTB, a read through an outbound window
/// is a round trip across the link. Stores may be merged and reordered
/// until a write barrier ([`crate::klib::kern::barrier::wmb`]).
///
/// # Invariants
///
/// `addr` maps `len` bytes from `ioremap_wc` until drop.
pub struct IoMemWc {
    addr: *mut u8,
    len: usize,
}

// SAFETY: The mapping may be written from any thread; writes are posted.
unsafe impl Send for IoMemWc {}
// SAFETY: See above.
unsafe impl Sync for IoMemWc {}

impl IoMemWc {
    /// Maps `len` bytes at bus address `phys`.
    pub fn map(phys: u64, len: usize) -> Result<Self> {
        if len == 0 {
            return Err(EINVAL);
        }
        let size = kernel::ffi::c_ulong::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: `ioremap_wc` checks the range and returns NULL on failure.
        let addr = unsafe { bindings::ioremap_wc(phys, size) };
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

    /// Checks that `len` bytes at `off` lie inside the mapping.
    fn range(&self, off: usize, len: usize) -> Result<*mut u8> {
        match off.checked_add(len) {
            // SAFETY: `off + len <= self.len`, so the result is inside the
            // mapping.
            Some(end) if end <= self.len => Ok(unsafe { self.addr.add(off) }),
            _ => Err(EINVAL),
        }
    }

    /// Writes a little-endian 32-bit word at `off` (4-byte aligned).
    pub fn write32(&self, off: usize, val: u32) -> Result {
        if off % 4 != 0 {
            return Err(EINVAL);
        }
        let p = self.range(off, 4)?;
        // SAFETY: `p` is an aligned word inside the mapping.
        unsafe { bindings::iowrite32(val, p.cast()) };
        Ok(())
    }

    /// Copies `src` to `off` (`memcpy_toio`).
    pub fn write(&self, off: usize, src: &[u8]) -> Result {
        let p = self.range(off, src.len())?;
        // SAFETY: The destination range is inside the mapping; `src` is a
        // valid slice.
        unsafe { bindings::memcpy_toio(p.cast(), src.as_ptr().cast(), src.len()) };
        Ok(())
    }
}

impl Drop for IoMemWc {
    fn drop(&mut self) {
        // SAFETY: `addr` came from `ioremap_wc` (type invariant).
        unsafe { bindings::iounmap(self.addr.cast()) };
    }
}

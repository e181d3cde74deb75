// SPDX-License-Identifier: GPL-2.0

//! Memory shared with another machine that is not trusted.
//!
//! The peer may write any word at any time, so this memory is only ever
//! accessed through atomics (plain loads and stores on x86): a value is
//! read once into a local, and bounds are checked by the caller before the
//! value is used.

use super::Io;
use crate::klib::bindings;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::prelude::*;

/// A mapping of shared memory (a BAR mapped write-back); unmapped on drop.
///
/// # Invariants
///
/// `virt` maps `len` bytes at bus address `phys` until drop; `virt` is
/// 8-byte aligned.
pub struct SharedMem {
    virt: *mut u8,
    phys: u64,
    len: usize,
}

// SAFETY: The mapping may be used from any thread; all accesses are atomic.
unsafe impl Send for SharedMem {}
// SAFETY: See above.
unsafe impl Sync for SharedMem {}

impl SharedMem {
    /// Maps `len` bytes of memory-like bus space at `phys`, write-back.
    pub fn map(phys: u64, len: usize) -> Result<Self> {
        // SAFETY: `memremap` validates the range and returns NULL on error.
        let virt = unsafe { bindings::memremap(phys, len, bindings::MEMREMAP_WB as _) };
        if virt.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `virt` maps `len` bytes; memremap returns page-aligned
        // addresses.
        Ok(Self {
            virt: virt.cast(),
            phys,
            len,
        })
    }

    /// The mapped length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bus (physical) address of byte `off`.
    pub fn phys(&self, off: usize) -> u64 {
        self.phys + off as u64
    }

    /// The kernel virtual address of byte `off`, if inside the mapping.
    pub fn virt(&self, off: usize) -> Option<*mut u8> {
        if off < self.len {
            // SAFETY: `off < len`, so the result is inside the mapping.
            Some(unsafe { self.virt.add(off) })
        } else {
            None
        }
    }

    fn at<T>(&self, off: usize) -> Option<*mut T> {
        let size = core::mem::size_of::<T>();
        if off % size == 0 && off.checked_add(size)? <= self.len {
            // SAFETY: The access is aligned (the base is page-aligned) and
            // inside the mapping.
            Some(unsafe { self.virt.add(off) }.cast())
        } else {
            None
        }
    }

    /// The 32-bit word at `off`, if aligned and inside the mapping.
    pub fn u32_at(&self, off: usize) -> Option<&AtomicU32> {
        // SAFETY: The pointer is aligned, inside the mapping, and valid for
        // the life of `self`; atomics tolerate concurrent writes by the peer.
        self.at::<AtomicU32>(off).map(|p| unsafe { &*p })
    }

    /// The 64-bit word at `off`, if aligned and inside the mapping.
    pub fn u64_at(&self, off: usize) -> Option<&AtomicU64> {
        // SAFETY: As in `u32_at`.
        self.at::<AtomicU64>(off).map(|p| unsafe { &*p })
    }

    /// Fills `len` bytes at `off` with zeroes, if inside the mapping.
    pub fn zero(&self, off: usize, len: usize) -> Result {
        match off.checked_add(len) {
            Some(end) if end <= self.len => {
                // SAFETY: The range is inside the mapping. The peer may write
                // it concurrently; byte stores race only with its own writes,
                // which is what shared memory means.
                unsafe { core::ptr::write_bytes(self.virt.add(off), 0, len) };
                Ok(())
            }
            _ => Err(EINVAL),
        }
    }
}

impl Io for SharedMem {
    fn maxsize(&self) -> usize {
        self.len
    }

    fn try_read32(&self, offset: usize) -> Result<u32> {
        Ok(self.u32_at(offset).ok_or(EINVAL)?.load(Ordering::Acquire))
    }

    fn try_write32(&self, value: u32, offset: usize) -> Result {
        self.u32_at(offset)
            .ok_or(EINVAL)?
            .store(value, Ordering::Release);
        Ok(())
    }

    fn try_write_bytes(&self, src: &[u8], offset: usize) -> Result {
        let off = self.check(offset, src.len(), 1)?;
        for (i, b) in src.iter().enumerate() {
            // SAFETY: `off + i` is inside the checked range; a volatile byte
            // store races only with the peer's own writes.
            unsafe { self.virt.add(off + i).write_volatile(*b) };
        }
        Ok(())
    }
}

impl Drop for SharedMem {
    fn drop(&mut self) {
        // SAFETY: `virt` came from `memremap` (type invariant).
        unsafe { bindings::memunmap(self.virt.cast()) };
    }
}

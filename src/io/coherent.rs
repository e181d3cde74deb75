// SPDX-License-Identifier: GPL-2.0

//! Coherent DMA buffers (`dma_alloc_coherent`), including those another
//! host writes through an NTB window translated onto them.
//!
//! Such a writer is not trusted and writes at any time, so the contents are
//! only read into local copies (words with single volatile loads, byte
//! ranges with one copy), and every offset is checked here.

use super::{copy_from_shared, Io};
use crate::klib::{bindings, pci};
use core::mem::MaybeUninit;
use kernel::device::Device;
use kernel::prelude::*;
use kernel::types::ARef;

/// A coherent DMA buffer of a device; freed on drop.
///
/// # Invariants
///
/// `cpu` maps `size` bytes allocated with `dma_alloc_attrs` for `dev`
/// (kept valid by `_dev_ref`) at
/// bus address `handle`; `size` is a multiple of 4 and `cpu` 4-byte
/// aligned.
pub struct Coherent {
    dev: *mut bindings::device,
    _dev_ref: ARef<Device>,
    cpu: *mut u32,
    handle: u64,
    size: usize,
}

// SAFETY: The buffer is plain memory; every access is volatile.
unsafe impl Send for Coherent {}
// SAFETY: See above.
unsafe impl Sync for Coherent {}

impl Coherent {
    /// Allocates `size` bytes (rounded up to 4) for the DMA of `pdev`.
    pub fn alloc(pdev: &pci::Device, size: usize) -> Result<Self> {
        // SAFETY: The device of a valid PCI device can do DMA.
        unsafe { Self::alloc_for(pdev.as_dev(), size) }
    }

    /// Allocates `size` bytes (rounded up to 4) for the DMA of `dev_ptr`.
    ///
    /// # Safety
    ///
    /// `dev_ptr` must be a valid `struct device` that can do DMA.
    pub unsafe fn alloc_for(dev_ptr: *mut bindings::device, size: usize) -> Result<Self> {
        let size = size.checked_next_multiple_of(4).ok_or(EINVAL)?;
        if size == 0 {
            return Err(EINVAL);
        }
        // SAFETY: `dev_ptr` is a valid device (caller's contract); the
        // reference keeps it valid for the free.
        let dev_ref = unsafe { Device::get_device(dev_ptr.cast()) };
        let mut handle = 0;
        // SAFETY: `dev_ptr` is valid; `handle` is a valid output.
        let cpu = unsafe {
            bindings::dma_alloc_attrs(dev_ptr, size, &mut handle, kernel::bindings::GFP_KERNEL, 0)
        };
        if cpu.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: Coherent allocations are at least page aligned.
        Ok(Self {
            dev: dev_ptr,
            _dev_ref: dev_ref,
            cpu: cpu.cast(),
            handle,
            size,
        })
    }

    /// The bus address of the buffer, for the device.
    pub fn dma_addr(&self) -> u64 {
        self.handle
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.size
    }

    /// Whether the buffer is empty (never: `alloc` refuses that).
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The address of `len` checked bytes at `off`, aligned to `align`.
    fn at(&self, off: usize, len: usize, align: usize) -> Result<*mut u8> {
        let off = self.check(off, len, align)?;
        // SAFETY: `off + len <= size`: inside the buffer.
        Ok(unsafe { self.cpu.cast::<u8>().add(off) })
    }

    /// Copies `N` bytes at `off` into a local array, reading each once
    /// ([`copy_from_shared`]).
    pub fn read_array<const N: usize>(&self, off: usize) -> Result<[u8; N]> {
        let mut out = [MaybeUninit::<u8>::uninit(); N];
        self.read_into(off, &mut out)?;
        // SAFETY: `read_into` initialised all of `out`; `u8` arrays have the
        // layout of their `MaybeUninit` counterparts.
        Ok(unsafe { core::mem::transmute_copy::<[MaybeUninit<u8>; N], [u8; N]>(&out) })
    }

    /// Copies `dst.len()` bytes at `off` into `dst`, reading each once
    /// ([`copy_from_shared`]); initialises the whole of `dst` on success.
    pub fn read_into(&self, off: usize, dst: &mut [MaybeUninit<u8>]) -> Result {
        let p = self.at(off, dst.len(), 1)?;
        // SAFETY: The source range is inside the buffer, which stays
        // allocated while `self` lives.
        unsafe { copy_from_shared(dst, p) };
        Ok(())
    }

    /// Zeroes `len` bytes at `off`.
    pub fn zero(&self, off: usize, len: usize) -> Result {
        let p = self.at(off, len, 1)?;
        // SAFETY: The range is inside the buffer. A misbehaving peer may
        // write it concurrently; byte stores race only with its own writes,
        // and nothing is read back.
        unsafe { core::ptr::write_bytes(p, 0, len) };
        Ok(())
    }
}

impl Io for Coherent {
    fn maxsize(&self) -> usize {
        self.size
    }

    fn try_read32(&self, offset: usize) -> Result<u32> {
        let p = self.at(offset, 4, 4)?;
        // SAFETY: `p` is an aligned word inside the buffer; one volatile
        // load, whatever the peer writes meanwhile.
        Ok(unsafe { p.cast::<u32>().read_volatile() })
    }

    fn try_write32(&self, value: u32, offset: usize) -> Result {
        let p = self.at(offset, 4, 4)?;
        // SAFETY: As in `try_read32`.
        unsafe { p.cast::<u32>().write_volatile(value) };
        Ok(())
    }

    fn try_write_bytes(&self, src: &[u8], offset: usize) -> Result {
        let p = self.at(offset, src.len(), 1)?;
        for (i, b) in src.iter().enumerate() {
            // SAFETY: `p + i` is inside the checked range.
            unsafe { p.add(i).write_volatile(*b) };
        }
        Ok(())
    }
}

impl Drop for Coherent {
    fn drop(&mut self) {
        // SAFETY: The buffer was allocated for this device with these
        // parameters (type invariant).
        unsafe { bindings::dma_free_attrs(self.dev, self.size, self.cpu.cast(), self.handle, 0) };
    }
}

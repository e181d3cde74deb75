// SPDX-License-Identifier: GPL-2.0

//! Coherent DMA buffers (`dma_alloc_coherent`), including those another
//! host writes through an NTB window translated onto them.
//!
//! Such a writer is not trusted and writes at any time, so the contents are
//! only read into local copies (words with single volatile loads, byte
//! ranges with one copy), and every offset is checked here.

use crate::klib::{bindings, pci};
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

    /// The address of `len` bytes at `off`, if inside the buffer.
    fn range(&self, off: usize, len: usize) -> Result<*mut u8> {
        match off.checked_add(len) {
            // SAFETY: `off + len <= size`: inside the buffer.
            Some(end) if end <= self.size => Ok(unsafe { self.cpu.cast::<u8>().add(off) }),
            _ => Err(EINVAL),
        }
    }

    /// Copies `N` bytes at `off` into a local array, once.
    pub fn read_array<const N: usize>(&self, off: usize) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        let p = self.range(off, N)?;
        // SAFETY: The source range is inside the buffer; any byte values
        // are valid `u8`s, and `out` is private.
        unsafe { core::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), N) };
        Ok(out)
    }

    /// Copies `dst.len()` bytes at `off` into `dst`, once; initialises the
    /// whole of `dst` on success.
    pub fn read_into(&self, off: usize, dst: &mut [core::mem::MaybeUninit<u8>]) -> Result {
        let p = self.range(off, dst.len())?;
        // SAFETY: The source range is inside the buffer; `dst` is private
        // memory of that length, and any byte values are valid.
        unsafe { core::ptr::copy_nonoverlapping(p, dst.as_mut_ptr().cast::<u8>(), dst.len()) };
        Ok(())
    }

    /// Zeroes `len` bytes at `off`.
    pub fn zero(&self, off: usize, len: usize) -> Result {
        let p = self.range(off, len)?;
        // SAFETY: The range is inside the buffer. A misbehaving peer may
        // write it concurrently; byte stores race only with its own writes.
        unsafe { core::ptr::write_bytes(p, 0, len) };
        Ok(())
    }

    /// Writes the 32-bit word at byte offset `off`; out of range or
    /// misaligned writes are dropped.
    pub fn write32(&self, off: usize, val: u32) {
        if off % 4 == 0 && off < self.size {
            // SAFETY: `off / 4` words are inside the buffer (type invariant).
            unsafe { self.cpu.add(off / 4).write_volatile(val) }
        }
    }

    /// Reads the 32-bit word at byte offset `off`; all ones when out of
    /// range or misaligned.
    pub fn read32(&self, off: usize) -> u32 {
        if off % 4 == 0 && off < self.size {
            // SAFETY: As in `write32`.
            unsafe { self.cpu.add(off / 4).read_volatile() }
        } else {
            !0
        }
    }
}

impl Drop for Coherent {
    fn drop(&mut self) {
        // SAFETY: The buffer was allocated for this device with these
        // parameters (type invariant).
        unsafe { bindings::dma_free_attrs(self.dev, self.size, self.cpu.cast(), self.handle, 0) };
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Coherent DMA buffers (`dma_alloc_coherent`).

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
        let size = size.checked_next_multiple_of(4).ok_or(EINVAL)?;
        if size == 0 {
            return Err(EINVAL);
        }
        let dev_ptr = pdev.as_dev();
        // SAFETY: `dev_ptr` is the device of a valid PCI device; the
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

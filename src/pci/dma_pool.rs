// SPDX-License-Identifier: GPL-2.0

//! DMA operations for a device whose coherent buffers must come from fixed
//! slots of a memory range: the virtual NTB, where a peer's writes through
//! a memory window land in one fixed region of the shared memory, so the
//! buffer a client translates a window onto must be that region. An
//! allocation gets the smallest free slot that fits it, so slots of
//! distinct sizes are told apart by the size asked for.
//!
//! Streaming mappings are direct: bus address = physical address.

use crate::klib::io::shm::SharedMem;
use crate::klib::{bindings, pci};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::device::Device;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::{ARef, Opaque};

/// Coherent allocations served from up to 64 slots of `mem`, given as
/// `(offset, size)`; installed as the device's DMA operations, removed on
/// drop.
///
/// # Invariants
///
/// While it lives, `dev->dma_ops` points to `ops`; every slot lies inside
/// `mem`, and there are at most 64.
#[pin_data(PinnedDrop)]
pub struct SlotPool {
    #[pin]
    ops: Opaque<bindings::dma_map_ops>,
    dev: ARef<Device>,
    mem: Arc<SharedMem>,
    slots: KVec<(usize, usize)>,
    used: AtomicU64,
}

// SAFETY: The pool is shared by the DMA API callers of the device; its
// state is one atomic word.
unsafe impl Send for SlotPool {}
// SAFETY: See above.
unsafe impl Sync for SlotPool {}

impl SlotPool {
    /// Installs a pool of `slots` (`(offset, size)` in `mem`, at most 64)
    /// as the DMA operations of `pdev`, which must have none of its own (no
    /// IOMMU translating for it).
    pub fn new(
        pdev: &pci::Device,
        mem: Arc<SharedMem>,
        slots: KVec<(usize, usize)>,
    ) -> impl PinInit<Self, Error> {
        let dev_ptr = pdev.as_dev();
        let install = move |slot: *mut Self| {
            let inside = |&(off, len): &(usize, usize)| {
                len > 0 && off.checked_add(len).is_some_and(|end| end <= mem.len())
            };
            if slots.is_empty() || slots.len() > 64 || !slots.iter().all(inside) {
                return Err(EINVAL);
            }
            // SAFETY: `dev_ptr` is the `struct device` of a live PCI device;
            // taking a reference keeps it valid while the pool lives.
            let dev = unsafe { Device::get_device(dev_ptr.cast()) };
            // SAFETY: `slot` is valid pinned memory for `Self`; every field
            // is written, then the operations are installed on the device.
            unsafe {
                let ops = Opaque::raw_get(core::ptr::addr_of_mut!((*slot).ops));
                ops.write(bindings::dma_map_ops {
                    alloc: Some(Self::alloc),
                    free: Some(Self::free),
                    map_page: Some(Self::map_page),
                    unmap_page: Some(Self::unmap_page),
                    map_sg: Some(Self::map_sg),
                    unmap_sg: Some(Self::unmap_sg),
                    ..Default::default()
                });
                core::ptr::addr_of_mut!((*slot).dev).write(dev);
                core::ptr::addr_of_mut!((*slot).mem).write(mem);
                core::ptr::addr_of_mut!((*slot).slots).write(slots);
                core::ptr::addr_of_mut!((*slot).used).write(AtomicU64::new(0));
                bindings::set_dma_ops(dev_ptr, ops);
            }
            Ok(())
        };
        // SAFETY: `install` initialises all fields when it returns `Ok` and
        // leaves nothing behind when it returns `Err`.
        unsafe { kernel::init::pin_init_from_closure(install) }
    }

    /// The smallest free slot of at least `size` bytes, claimed.
    fn claim(&self, size: usize) -> Option<usize> {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let i = self
                .slots
                .iter()
                .enumerate()
                .filter(|&(i, &(_, len))| len >= size && used & (1 << i) == 0)
                .min_by_key(|&(_, &(_, len))| len)
                .map(|(i, _)| i)?;
            match self.used.compare_exchange(
                used,
                used | 1 << i,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(i),
                Err(now) => used = now,
            }
        }
    }

    /// # Safety
    ///
    /// `dev` must have this pool's operations installed.
    unsafe fn from_dev<'a>(dev: *mut bindings::device) -> &'a Self {
        // SAFETY: The caller guarantees that `dev->dma_ops` is the `ops`
        // field of a live `SlotPool` (type invariant).
        unsafe {
            let ops = bindings::get_dma_ops(dev) as *const u8;
            &*ops.sub(core::mem::offset_of!(Self, ops)).cast::<Self>()
        }
    }

    /// # Safety
    ///
    /// Called by the DMA core, with valid arguments, for a device that has
    /// this pool's operations installed.
    unsafe extern "C" fn alloc(
        dev: *mut bindings::device,
        size: usize,
        dma_handle: *mut bindings::dma_addr_t,
        _gfp: bindings::gfp_t,
        _attrs: kernel::ffi::c_ulong,
    ) -> *mut kernel::ffi::c_void {
        // SAFETY: The DMA core calls this only for a device with these ops.
        let pool = unsafe { Self::from_dev(dev) };
        if size == 0 {
            return core::ptr::null_mut();
        }
        let Some(i) = pool.claim(size) else {
            return core::ptr::null_mut();
        };
        let Some(&(off, _)) = pool.slots.get(i) else {
            return core::ptr::null_mut();
        };
        let Some(virt) = pool.mem.virt(off) else {
            return core::ptr::null_mut();
        };
        // SAFETY: The slot lies inside the mapping (type invariant) and is
        // now owned by this allocation; coherent memory is returned zeroed.
        // `dma_handle` is valid (DMA API contract).
        unsafe {
            core::ptr::write_bytes(virt, 0, size);
            *dma_handle = pool.mem.phys(off);
        }
        virt.cast()
    }

    /// # Safety
    ///
    /// Called by the DMA core, with valid arguments, for a device that has
    /// this pool's operations installed.
    unsafe extern "C" fn free(
        dev: *mut bindings::device,
        _size: usize,
        _vaddr: *mut kernel::ffi::c_void,
        dma_handle: bindings::dma_addr_t,
        _attrs: kernel::ffi::c_ulong,
    ) {
        // SAFETY: The DMA core calls this only for a device with these ops.
        let pool = unsafe { Self::from_dev(dev) };
        let slot = pool
            .slots
            .iter()
            .position(|&(off, _)| pool.mem.phys(off) == dma_handle);
        match slot {
            Some(i) => {
                pool.used.fetch_and(!(1u64 << i), Ordering::AcqRel);
            }
            None => pr_warn!(
                "dma: free of {:#x}, which this pool did not allocate\n",
                dma_handle
            ),
        }
    }

    /// # Safety
    ///
    /// Called by the DMA core, with valid arguments, for a device that has
    /// this pool's operations installed.
    unsafe extern "C" fn map_page(
        _dev: *mut bindings::device,
        page: *mut bindings::page,
        offset: kernel::ffi::c_ulong,
        _size: usize,
        _dir: bindings::dma_data_direction,
        _attrs: kernel::ffi::c_ulong,
    ) -> bindings::dma_addr_t {
        // SAFETY: The DMA core passes a valid page.
        unsafe { bindings::ntbnet_page_to_phys(page) + offset as u64 }
    }

    /// # Safety
    ///
    /// Called by the DMA core, with valid arguments, for a device that has
    /// this pool's operations installed.
    unsafe extern "C" fn unmap_page(
        _dev: *mut bindings::device,
        _addr: bindings::dma_addr_t,
        _size: usize,
        _dir: bindings::dma_data_direction,
        _attrs: kernel::ffi::c_ulong,
    ) {
    }

    /// # Safety
    ///
    /// Called by the DMA core, with valid arguments, for a device that has
    /// this pool's operations installed.
    unsafe extern "C" fn map_sg(
        _dev: *mut bindings::device,
        sg: *mut bindings::scatterlist,
        nents: kernel::ffi::c_int,
        _dir: bindings::dma_data_direction,
        _attrs: kernel::ffi::c_ulong,
    ) -> kernel::ffi::c_int {
        // SAFETY: The DMA core passes a valid list of `nents` entries.
        unsafe { bindings::ntbnet_dma_direct_map_sg(sg, nents) }
    }

    /// # Safety
    ///
    /// Called by the DMA core, with valid arguments, for a device that has
    /// this pool's operations installed.
    unsafe extern "C" fn unmap_sg(
        _dev: *mut bindings::device,
        _sg: *mut bindings::scatterlist,
        _nents: kernel::ffi::c_int,
        _dir: bindings::dma_data_direction,
        _attrs: kernel::ffi::c_ulong,
    ) {
    }
}

#[pinned_drop]
impl PinnedDrop for SlotPool {
    fn drop(self: Pin<&mut Self>) {
        let used = self.used.load(Ordering::Acquire);
        if used != 0 {
            pr_warn!(
                "dma: {} coherent buffers still allocated at teardown\n",
                used.count_ones()
            );
        }
        // `Device` wraps a `struct device` transparently.
        let dev: *const Device = &*self.dev;
        // SAFETY: The device is valid (we hold a reference); it goes back to
        // direct DMA.
        unsafe { bindings::set_dma_ops(dev.cast_mut().cast(), core::ptr::null()) };
    }
}

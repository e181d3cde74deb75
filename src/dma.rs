// SPDX-License-Identifier: GPL-2.0

//! DMA operations for a device whose coherent buffers must come from a
//! fixed memory range, cut into equal slots: the virtual NTB, where a
//! peer's writes through a memory window land in one fixed region of the
//! shared memory, so the buffer a client translates a window onto must be
//! that region.
//!
//! Streaming mappings are direct: bus address = physical address.

use crate::klib::{bindings, pci, shm::SharedMem};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::device::Device;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::{ARef, Opaque};

/// Coherent allocations served from `slots` slots of `slot_size` bytes;
/// installed as the device's DMA operations, removed on drop.
///
/// # Invariants
///
/// While it lives, `dev->dma_ops` points to `ops`; `virt`/`phys` describe
/// `slots * slot_size` bytes inside `mem`.
#[pin_data(PinnedDrop)]
pub struct SlotPool {
    #[pin]
    ops: Opaque<bindings::dma_map_ops>,
    dev: ARef<Device>,
    mem: Arc<SharedMem>,
    virt: *mut u8,
    phys: u64,
    slot_size: usize,
    slots: u32,
    used: AtomicU64,
}

// SAFETY: The pool is shared by the DMA API callers of the device; its
// state is one atomic word.
unsafe impl Send for SlotPool {}
// SAFETY: See above.
unsafe impl Sync for SlotPool {}

impl SlotPool {
    /// Installs a pool of `slots` (at most 64) slots of `slot_size` bytes,
    /// from offset `off` of `mem`, as the DMA operations of `pdev`, which
    /// must have none of its own (no IOMMU translating for it).
    pub fn new(
        pdev: &pci::Device,
        mem: Arc<SharedMem>,
        off: usize,
        slot_size: usize,
        slots: u32,
    ) -> impl PinInit<Self, Error> {
        let dev_ptr = pdev.as_dev();
        let install = move |slot: *mut Self| {
            let len = slot_size.checked_mul(slots as usize).ok_or(EINVAL)?;
            if slots == 0 || slots > 64 || slot_size == 0 || off.checked_add(len).map_or(true, |end| end > mem.len()) {
                return Err(EINVAL);
            }
            let virt = mem.virt(off).ok_or(EINVAL)?;
            let phys = mem.phys(off);
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
                core::ptr::addr_of_mut!((*slot).virt).write(virt);
                core::ptr::addr_of_mut!((*slot).phys).write(phys);
                core::ptr::addr_of_mut!((*slot).slot_size).write(slot_size);
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

    /// The bus address and size of slot `i`.
    pub fn slot(&self, i: u32) -> Option<(u64, usize)> {
        (i < self.slots).then(|| (self.phys + i as u64 * self.slot_size as u64, self.slot_size))
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

    unsafe extern "C" fn alloc(
        dev: *mut bindings::device,
        size: usize,
        dma_handle: *mut bindings::dma_addr_t,
        _gfp: bindings::gfp_t,
        _attrs: kernel::ffi::c_ulong,
    ) -> *mut kernel::ffi::c_void {
        // SAFETY: The DMA core calls this only for a device with these ops.
        let pool = unsafe { Self::from_dev(dev) };
        if size == 0 || size > pool.slot_size {
            return core::ptr::null_mut();
        }
        let all = if pool.slots == 64 { !0u64 } else { (1u64 << pool.slots) - 1 };
        let mut used = pool.used.load(Ordering::Relaxed);
        loop {
            let free = !used & all;
            if free == 0 {
                return core::ptr::null_mut();
            }
            let i = free.trailing_zeros();
            match pool.used.compare_exchange(used, used | 1 << i, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => {
                    let off = i as usize * pool.slot_size;
                    // SAFETY: Slot `i` is inside the pool (type invariant)
                    // and now owned by this allocation; coherent memory is
                    // returned zeroed. `dma_handle` is valid (DMA API).
                    unsafe {
                        core::ptr::write_bytes(pool.virt.add(off), 0, size);
                        *dma_handle = pool.phys + off as u64;
                        return pool.virt.add(off).cast();
                    }
                }
                Err(now) => used = now,
            }
        }
    }

    unsafe extern "C" fn free(
        dev: *mut bindings::device,
        _size: usize,
        _vaddr: *mut kernel::ffi::c_void,
        dma_handle: bindings::dma_addr_t,
        _attrs: kernel::ffi::c_ulong,
    ) {
        // SAFETY: The DMA core calls this only for a device with these ops.
        let pool = unsafe { Self::from_dev(dev) };
        let off = dma_handle.wrapping_sub(pool.phys);
        let i = off / pool.slot_size as u64;
        if dma_handle < pool.phys || i >= pool.slots as u64 || off % pool.slot_size as u64 != 0 {
            pr_warn!("dma: free of {:#x}, which this pool did not allocate\n", dma_handle);
            return;
        }
        pool.used.fetch_and(!(1u64 << i), Ordering::AcqRel);
    }

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

    unsafe extern "C" fn unmap_page(
        _dev: *mut bindings::device,
        _addr: bindings::dma_addr_t,
        _size: usize,
        _dir: bindings::dma_data_direction,
        _attrs: kernel::ffi::c_ulong,
    ) {
    }

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
            pr_warn!("dma: {} coherent buffers still allocated at teardown\n", used.count_ones());
        }
        // `Device` wraps a `struct device` transparently.
        let dev: *const Device = &*self.dev;
        // SAFETY: The device is valid (we hold a reference); it goes back to
        // direct DMA.
        unsafe { bindings::set_dma_ops(dev.cast_mut().cast(), core::ptr::null()) };
    }
}

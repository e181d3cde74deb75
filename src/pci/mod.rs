// SPDX-License-Identifier: GPL-2.0

//! PCI driver abstractions (`include/linux/pci.h`): registration, the
//! device, its BARs and its interrupt vectors.

pub mod dma_pool;

use crate::klib::bindings;
use crate::klib::io::Io;
use crate::klib::kern::types::try_ffi_init;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{from_result, to_result};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::{ARef, AlwaysRefCounted, ForeignOwnable, Opaque};

/// One entry of a driver's PCI ID table.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct DeviceId(bindings::pci_device_id);

impl DeviceId {
    /// Matches `vendor:device` with any subsystem IDs.
    pub const fn new(vendor: u32, device: u32) -> Self {
        Self(bindings::pci_device_id {
            vendor,
            device,
            subvendor: !0,
            subdevice: !0,
            class: 0,
            class_mask: 0,
            driver_data: 0,
            override_only: 0,
        })
    }

    /// The all-zero entry that ends a table.
    pub const END: Self = Self(bindings::pci_device_id {
        vendor: 0,
        device: 0,
        subvendor: 0,
        subdevice: 0,
        class: 0,
        class_mask: 0,
        driver_data: 0,
        override_only: 0,
    });
}

/// A PCI device (`struct pci_dev`).
///
/// # Invariants
///
/// The wrapped `pci_dev` is valid for as long as a reference to this object
/// exists; a driver's callbacks get it between probe and remove.
#[repr(transparent)]
pub struct Device(Opaque<bindings::pci_dev>);

impl Device {
    /// Creates a reference to a [`Device`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `pci_dev` for the lifetime `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::pci_dev) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of `pci_dev`; the caller
        // guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// The raw `pci_dev` pointer.
    pub fn as_raw(&self) -> *mut bindings::pci_dev {
        self.0.get()
    }

    /// The embedded `struct device`.
    pub fn as_dev(&self) -> *mut bindings::device {
        // SAFETY: The device is valid (type invariant); this only computes
        // the address of a field.
        unsafe { core::ptr::addr_of_mut!((*self.as_raw()).dev) }
    }

    /// The device's NUMA node (`NUMA_NO_NODE`, -1, if none).
    pub fn numa_node(&self) -> kernel::ffi::c_int {
        // SAFETY: `as_dev` is the valid embedded device.
        unsafe { bindings::ntbnet_dev_to_node(self.as_dev()) }
    }

    /// The device's PCI Device Serial Number, 0 if it has none.
    pub fn dsn(&self) -> u64 {
        // SAFETY: The device is valid (type invariant).
        unsafe { bindings::pci_get_dsn(self.as_raw()) }
    }

    /// The device's name (`0000:00:03.0`).
    pub fn name(&self) -> &CStr {
        // SAFETY: The device is valid (type invariant); its name lives as
        // long as it does.
        unsafe { CStr::from_char_ptr(bindings::pci_name(self.as_raw())) }
    }

    /// Enables the device (`pci_enable_device`) until the guard drops.
    pub fn enable(&self) -> Result<Enabled> {
        // SAFETY: The device is valid (type invariant).
        to_result(unsafe { bindings::pci_enable_device(self.as_raw()) })?;
        // INVARIANT: Enabled just now.
        Ok(Enabled(self.into()))
    }

    /// Turns bus mastering on until the guard drops: without it the
    /// device's DMA, and the MSI-X messages QEMU sends through the
    /// bus-master address space, are lost. Needs the device enabled.
    pub fn set_master(&self, _enabled: &Enabled) -> BusMaster {
        // SAFETY: The device is valid (type invariant).
        unsafe { bindings::pci_set_master(self.as_raw()) };
        // INVARIANT: Bus mastering is on.
        BusMaster(self.into())
    }

    /// Claims all BARs for `name` (`pci_request_regions`) until the guard
    /// drops.
    pub fn request_regions(&self, name: &'static CStr) -> Result<Regions> {
        // SAFETY: The device is valid; `name` is static, as the resource
        // tree keeps the pointer.
        to_result(unsafe { bindings::pci_request_regions(self.as_raw(), name.as_char_ptr()) })?;
        // INVARIANT: Claimed just now.
        Ok(Regions(self.into()))
    }

    /// The bus address and length of BAR `bar` (zero length if absent).
    pub fn resource(&self, bar: u32) -> (u64, u64) {
        if bar as usize >= bindings::PCI_STD_NUM_BARS as usize {
            return (0, 0);
        }
        // SAFETY: The device is valid and `bar` indexes its resource array.
        let r = unsafe { &(*self.as_raw()).resource[bar as usize] };
        if r.end <= r.start {
            (r.start, 0)
        } else {
            (r.start, r.end - r.start + 1)
        }
    }

    /// Maps BAR `bar` (`pci_iomap`), uncached.
    pub fn iomap(&self, bar: u32) -> Result<IoMem> {
        let (_, len) = self.resource(bar);
        if len == 0 {
            return Err(ENODEV);
        }
        // SAFETY: The device is valid and BAR `bar` exists.
        let addr = unsafe { bindings::pci_iomap(self.as_raw(), bar as i32, 0) };
        if addr.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `addr` maps `len` bytes until `pci_iounmap`.
        Ok(IoMem {
            addr,
            len: len as usize,
            pdev: self.into(),
        })
    }

    /// Allocates between `min` and `max` interrupt vectors of the kinds in
    /// `flags` ([`IRQ_MSIX`], ...) until the guard drops.
    pub fn alloc_irq_vectors(
        &self,
        _enabled: &Enabled,
        min: u32,
        max: u32,
        flags: u32,
    ) -> Result<IrqVectors> {
        // SAFETY: The device is valid (type invariant).
        let n = unsafe { bindings::pci_alloc_irq_vectors(self.as_raw(), min, max, flags) };
        to_result(n)?;
        // INVARIANT: `n` vectors allocated just now.
        Ok(IrqVectors {
            dev: self.into(),
            count: n as u32,
        })
    }
}

// SAFETY: A PCI device may be used from any thread.
unsafe impl Send for Device {}
// SAFETY: See above.
unsafe impl Sync for Device {}

// SAFETY: `pci_dev_get`/`pci_dev_put` count references to the `pci_dev`,
// which stays valid while one exists.
unsafe impl AlwaysRefCounted for Device {
    fn inc_ref(&self) {
        // SAFETY: The device is valid (type invariant).
        unsafe { bindings::pci_dev_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it holds.
        unsafe { bindings::pci_dev_put(obj.as_ptr().cast()) };
    }
}

/// MSI-X vectors, for [`Device::alloc_irq_vectors`].
pub const IRQ_MSIX: u32 = bindings::PCI_IRQ_MSIX;

// The resources a driver holds, in the shape of upstream's device-managed
// ones: each guard releases its resource when dropped. Keep them in the
// driver's data in the order they are to be released (fields drop in
// declaration order): interrupt handlers and mappings first, then
// `IrqVectors`, `BusMaster`, `Regions`, and `Enabled` last.

/// The device, enabled; disabled on drop.
///
/// # Invariants
///
/// `pci_enable_device` succeeded on the device, not yet undone.
pub struct Enabled(ARef<Device>);

impl Drop for Enabled {
    fn drop(&mut self) {
        // SAFETY: Enabled by `Device::enable` (type invariant).
        unsafe { bindings::pci_disable_device(self.0.as_raw()) }
    }
}

/// Bus mastering, on; turned off on drop.
///
/// # Invariants
///
/// `pci_set_master` was called on the device, not yet undone.
pub struct BusMaster(ARef<Device>);

impl Drop for BusMaster {
    fn drop(&mut self) {
        // SAFETY: The device is valid; mastering is on (type invariant).
        unsafe { bindings::pci_clear_master(self.0.as_raw()) }
    }
}

/// The device's BARs, claimed; released on drop.
///
/// # Invariants
///
/// `pci_request_regions` succeeded on the device, not yet undone.
pub struct Regions(ARef<Device>);

impl Drop for Regions {
    fn drop(&mut self) {
        // SAFETY: Claimed by `Device::request_regions` (type invariant).
        unsafe { bindings::pci_release_regions(self.0.as_raw()) }
    }
}

/// Interrupt vectors of the device; freed on drop, after every handler
/// registered on them is gone (drop those first).
///
/// # Invariants
///
/// `count` vectors were allocated with `pci_alloc_irq_vectors`, not yet
/// freed.
pub struct IrqVectors {
    dev: ARef<Device>,
    count: u32,
}

impl IrqVectors {
    /// How many vectors.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The Linux IRQ number of vector `nr`.
    pub fn irq(&self, nr: u32) -> Result<u32> {
        if nr >= self.count {
            return Err(EINVAL);
        }
        // SAFETY: The device is valid; `nr` is one of its vectors.
        let irq = unsafe { bindings::pci_irq_vector(self.dev.as_raw(), nr) };
        to_result(irq)?;
        Ok(irq as u32)
    }
}

impl Drop for IrqVectors {
    fn drop(&mut self) {
        // SAFETY: Allocated by `Device::alloc_irq_vectors` (type invariant).
        unsafe { bindings::pci_free_irq_vectors(self.dev.as_raw()) }
    }
}

/// A mapped BAR; unmapped on drop.
///
/// # Invariants
///
/// `addr` maps `len` bytes of MMIO of `pdev` until drop.
pub struct IoMem {
    addr: *mut kernel::ffi::c_void,
    len: usize,
    pdev: ARef<Device>,
}

// SAFETY: MMIO accessors may be used from any thread.
unsafe impl Send for IoMem {}
// SAFETY: Each access is a single MMIO operation, safe to run concurrently.
unsafe impl Sync for IoMem {}

impl IoMem {
    /// The mapped length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never, for a mapped BAR).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address of the checked, aligned word at `off`.
    fn word(&self, off: usize) -> Result<*mut kernel::ffi::c_void> {
        let off = self.check(off, 4, 4)?;
        // SAFETY: `off + 4 <= len`: inside the mapping (type invariant).
        Ok(unsafe { self.addr.cast::<u8>().add(off).cast() })
    }
}

impl Io for IoMem {
    fn maxsize(&self) -> usize {
        self.len
    }

    fn try_read32(&self, offset: usize) -> Result<u32> {
        let p = self.word(offset)?;
        // SAFETY: `p` is an aligned register inside the mapping.
        Ok(unsafe { bindings::ioread32(p) })
    }

    fn try_write32(&self, value: u32, offset: usize) -> Result {
        let p = self.word(offset)?;
        // SAFETY: `p` is an aligned register inside the mapping.
        unsafe { bindings::iowrite32(value, p) };
        Ok(())
    }

    fn try_write_bytes(&self, src: &[u8], offset: usize) -> Result {
        let p = self.check(offset, src.len(), 1)?;
        // SAFETY: The range is inside the mapping; `src` is a valid slice.
        unsafe {
            bindings::memcpy_toio(
                self.addr.cast::<u8>().add(p).cast(),
                src.as_ptr().cast(),
                src.len(),
            )
        };
        Ok(())
    }
}

impl Drop for IoMem {
    fn drop(&mut self) {
        // SAFETY: `addr` was mapped by `pci_iomap` for `pdev` (invariant).
        unsafe { bindings::pci_iounmap(self.pdev.as_raw(), self.addr) }
    }
}

/// A PCI driver.
pub trait Driver: 'static {
    /// Per-device data, kept from `probe` until `remove`.
    type Data: Send + Sync + 'static;

    /// The driver's name.
    const NAME: &'static CStr;

    /// The devices it binds, ending with [`DeviceId::END`].
    const ID_TABLE: &'static [DeviceId];

    /// Binds the driver to `dev`.
    fn probe(dev: &Device) -> Result<Self::Data>;

    /// Unbinds the driver; `data` is what `probe` returned. Dropping it
    /// releases everything (the resource guards in it last), which is all
    /// a driver whose data owns its resources needs.
    fn remove(data: Self::Data, _dev: &Device) {
        drop(data);
    }
}

struct Adapter<T: Driver>(PhantomData<T>);

impl<T: Driver> Adapter<T> {
    /// # Safety
    ///
    /// Called by the PCI core with a valid device being bound.
    unsafe extern "C" fn probe_callback(
        pdev: *mut bindings::pci_dev,
        _id: *const bindings::pci_device_id,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: The PCI core passes a valid device, bound until
            // `remove_callback` returns.
            let dev = unsafe { Device::from_raw(pdev) };
            let data = KBox::new(T::probe(dev)?, GFP_KERNEL)?;
            // SAFETY: `pdev` is valid; the driver data belongs to the bound
            // driver, which takes it back in `remove_callback`.
            unsafe { bindings::pci_set_drvdata(pdev, data.into_foreign() as *mut _) };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the PCI core for a device that `probe_callback` bound.
    unsafe extern "C" fn remove_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: `probe_callback` stored the result of `into_foreign` as
        // driver data; this takes it back, once.
        unsafe {
            let data =
                <KBox<T::Data> as ForeignOwnable>::from_foreign(bindings::pci_get_drvdata(pdev));
            bindings::pci_set_drvdata(pdev, core::ptr::null_mut());
            T::remove(KBox::into_inner(data), Device::from_raw(pdev));
        }
    }
}

/// A registered PCI driver; unregisters on drop.
#[pin_data(PinnedDrop)]
pub struct Registration<T: Driver> {
    #[pin]
    driver: Opaque<bindings::pci_driver>,
    _p: PhantomData<T>,
}

// SAFETY: The registration is only touched by `new` and `drop`.
unsafe impl<T: Driver> Sync for Registration<T> {}
// SAFETY: See above; nothing in it is tied to a thread.
unsafe impl<T: Driver> Send for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers driver `T` with the PCI core.
    pub fn new() -> impl PinInit<Self, Error> {
        let register = |ptr: *mut bindings::pci_driver| {
            let ids = T::ID_TABLE;
            if ids.last().map_or(true, |id| id.0.vendor != 0) {
                return Err(EINVAL);
            }
            // SAFETY: `ptr` points to memory for a `pci_driver` pinned for
            // the registration's life: zeroed, filled, then registered. The
            // name and ID table are static. Drop unregisters.
            unsafe {
                ptr.write(bindings::pci_driver::default());
                (*ptr).name = T::NAME.as_char_ptr();
                (*ptr).id_table = ids.as_ptr().cast();
                (*ptr).probe = Some(Adapter::<T>::probe_callback);
                (*ptr).remove = Some(Adapter::<T>::remove_callback);
                to_result(bindings::ntbnet_pci_register_driver(ptr))
            }
        };
        try_pin_init!(Self {
            // SAFETY: `register` fills the whole struct before registering
            // it, and a failed registration leaves nothing to clean up.
            driver <- unsafe { try_ffi_init(register) },
            _p: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: Driver> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The driver was registered in `new`; unregistering unbinds
        // every device, calling `remove` for each.
        unsafe { bindings::pci_unregister_driver(self.driver.get()) };
    }
}

// SPDX-License-Identifier: GPL-2.0

//! NTB client abstractions (`include/linux/ntb.h`).
//!
//! A [`Client`] is bound by the NTB core to every `ntb_dev` it offers; its
//! per-device data lives in the device's client context (`ntb_set_ctx`),
//! from `probe` until `remove`.

pub mod hw;

use crate::klib::bindings;
use crate::klib::io::coherent::Coherent;
use crate::klib::io::mmio::IoMemWc;
use crate::klib::kern::types::try_ffi_init;
use crate::klib::pci;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{from_result, to_result};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::{AlwaysRefCounted, ForeignOwnable, Opaque};

/// An NTB device (`struct ntb_dev`), as seen by a client.
///
/// A client borrows it in the NTB core's callbacks and keeps a counted
/// reference (`ARef<Device>`, [`AlwaysRefCounted`]) for its deferred work.
///
/// # Invariants
///
/// The wrapped `ntb_dev` is registered with the NTB core, or being
/// unregistered by `ntb_unregister_device()`, which waits for the last
/// reference to its `struct device` before the hardware driver goes on:
/// its operations are valid for as long as a reference to this object
/// exists.
#[repr(transparent)]
pub struct Device(Opaque<bindings::ntb_dev>);

impl Device {
    /// Creates a reference to a [`Device`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a registered `ntb_dev` that stays registered for
    /// the lifetime `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::ntb_dev) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of `ntb_dev`, and the
        // caller guarantees that the pointer is valid for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// The raw `ntb_dev` pointer.
    pub fn as_raw(&self) -> *mut bindings::ntb_dev {
        self.0.get()
    }

    /// The device's name in the driver model (`ntb_dev.dev`).
    pub fn name(&self) -> &CStr {
        // SAFETY: By the type invariant the device is registered, so its
        // embedded `struct device` has a name that lives as long as it does.
        unsafe {
            CStr::from_char_ptr(bindings::dev_name(core::ptr::addr_of_mut!(
                (*self.as_raw()).dev
            )))
        }
    }

    /// The PCI function that provides this NTB.
    pub fn pci_dev(&self) -> &pci::Device {
        // SAFETY: Every NTB hardware driver sets `pdev` before it registers
        // the device, and the PCI device outlives the NTB device.
        unsafe { pci::Device::from_raw((*self.as_raw()).pdev) }
    }

    /// The name of the PCI function that provides this NTB (its bus info).
    pub fn pci_name(&self) -> &CStr {
        self.pci_dev().name()
    }

    /// Whether the NTB link is up.
    pub fn link_is_up(&self) -> bool {
        // SAFETY: The device is registered (type invariant); the speed and
        // width outputs are optional.
        unsafe {
            bindings::ntb_link_is_up(self.as_raw(), core::ptr::null_mut(), core::ptr::null_mut())
                > 0
        }
    }

    /// The link's PCIe generation and lane count, when up and known.
    pub fn link_speed(&self) -> Option<(u32, u32)> {
        let mut speed: bindings::ntb_speed = 0;
        let mut width: bindings::ntb_width = 0;
        // SAFETY: The device is registered; the outputs are valid.
        let up = unsafe { bindings::ntb_link_is_up(self.as_raw(), &mut speed, &mut width) };
        match (up, u32::try_from(speed), u32::try_from(width)) {
            (1.., Ok(s @ 1..), Ok(w @ 1..)) => Some((s, w)),
            _ => None,
        }
    }

    /// Allows the link to come up (`ntb_link_enable`), at any speed.
    pub fn link_enable(&self) -> Result {
        // SAFETY: The device is registered (type invariant).
        to_result(unsafe {
            bindings::ntb_link_enable(
                self.as_raw(),
                bindings::ntb_speed_NTB_SPEED_AUTO,
                bindings::ntb_width_NTB_WIDTH_AUTO,
            )
        })
    }

    /// Takes the link down (`ntb_link_disable`).
    pub fn link_disable(&self) -> Result {
        // SAFETY: The device is registered (type invariant).
        to_result(unsafe { bindings::ntb_link_disable(self.as_raw()) })
    }

    /// This side's port number.
    pub fn port_number(&self) -> i32 {
        // SAFETY: The device is registered (type invariant).
        unsafe { bindings::ntb_port_number(self.as_raw()) }
    }

    /// The Switchtec partition of this NTB, when `ntb_hw_switchtec`
    /// registered it (Switchtec NTBs have no port numbers of their own).
    pub fn switchtec_partition(&self) -> Option<u32> {
        // SAFETY: The device is registered (type invariant).
        let p = unsafe { bindings::ntbnet_ntb_switchtec_partition(self.as_raw()) };
        u32::try_from(p).ok()
    }

    /// The port number of peer `pidx`.
    pub fn peer_port_number(&self, pidx: i32) -> i32 {
        // SAFETY: The device is registered (type invariant).
        unsafe { bindings::ntb_peer_port_number(self.as_raw(), pidx) }
    }

    /// The PCI Device Serial Number of the NTB function, 0 if it has none.
    pub fn pci_dsn(&self) -> u64 {
        self.pci_dev().dsn()
    }

    /// Inbound memory windows for peer `pidx`.
    pub fn mw_count(&self, pidx: i32) -> Result<u32> {
        // SAFETY: The device is registered; the driver checks `pidx`.
        let n = unsafe { bindings::ntb_mw_count(self.as_raw(), pidx) };
        to_result(n)?;
        Ok(n as u32)
    }

    /// The alignment rules of inbound window `widx` for peer `pidx`.
    pub fn mw_get_align(&self, pidx: i32, widx: i32) -> Result<WindowAlign> {
        let mut a = WindowAlign::default();
        // SAFETY: The device is registered; the outputs are valid.
        to_result(unsafe {
            bindings::ntb_mw_get_align(
                self.as_raw(),
                pidx,
                widx,
                &mut a.addr_align,
                &mut a.size_align,
                &mut a.size_max,
            )
        })?;
        Ok(a)
    }

    /// Allocates a coherent buffer of `size` bytes on the NTB's DMA device,
    /// to translate an inbound window onto.
    pub fn alloc_coherent(&self, size: usize) -> Result<Coherent> {
        // SAFETY: The device is registered; its DMA device (its PCI device
        // unless the driver says otherwise) is valid and can do DMA.
        unsafe { Coherent::alloc_for(bindings::ntb_get_dma_dev(self.as_raw()), size) }
    }

    /// Translates inbound window `widx` of peer `pidx` onto `buf` (its
    /// first `size` bytes): the peer's writes through its outbound window
    /// land there. Remove the translation with [`Device::mw_clear_trans`]
    /// before `buf` is freed.
    pub fn mw_set_trans(&self, pidx: i32, widx: i32, buf: &Coherent, size: usize) -> Result {
        if size > buf.len() {
            return Err(EINVAL);
        }
        // SAFETY: The device is registered; the range is a DMA buffer of
        // ours.
        to_result(unsafe {
            bindings::ntb_mw_set_trans(self.as_raw(), pidx, widx, buf.dma_addr(), size as u64)
        })
    }

    /// Translates inbound window `widx` of peer `pidx` onto the bus
    /// address range `addr..addr + size`.
    ///
    /// # Safety
    ///
    /// The peer can then write anything anywhere in that range: it must be
    /// memory or registers that tolerate it, for as long as the
    /// translation stays (the MSI address range does: a write there is an
    /// interrupt request, which the interrupt controller checks).
    pub unsafe fn mw_set_trans_addr(&self, pidx: i32, widx: i32, addr: u64, size: u64) -> Result {
        // SAFETY: The device is registered; the caller vouches for the
        // range.
        to_result(unsafe { bindings::ntb_mw_set_trans(self.as_raw(), pidx, widx, addr, size) })
    }

    /// Removes the translation of inbound window `widx` of peer `pidx`.
    pub fn mw_clear_trans(&self, pidx: i32, widx: i32) -> Result {
        // SAFETY: The device is registered (type invariant).
        to_result(unsafe { bindings::ntb_mw_clear_trans(self.as_raw(), pidx, widx) })
    }

    /// Outbound memory windows.
    pub fn peer_mw_count(&self) -> u32 {
        // SAFETY: The device is registered (type invariant).
        let n = unsafe { bindings::ntb_peer_mw_count(self.as_raw()) };
        u32::try_from(n).unwrap_or(0)
    }

    /// The physical address and size of outbound window `widx`.
    pub fn peer_mw_addr(&self, widx: i32) -> Result<(u64, u64)> {
        let mut base: bindings::phys_addr_t = 0;
        let mut size: bindings::resource_size_t = 0;
        // SAFETY: The device is registered; the outputs are valid.
        to_result(unsafe {
            bindings::ntb_peer_mw_get_addr(self.as_raw(), widx, &mut base, &mut size)
        })?;
        Ok((base, size))
    }

    /// Maps outbound window `widx` write-combining: writes to it arrive in
    /// the peer's inbound window `widx`.
    pub fn peer_mw_map(&self, widx: i32) -> Result<IoMemWc> {
        let (base, size) = self.peer_mw_addr(widx)?;
        IoMemWc::map(base, usize::try_from(size).map_err(|_| EINVAL)?)
    }

    /// Where and what to write to ring the peer's doorbell bit `bit`
    /// (`ntb_peer_db_addr`): `(physical address, register size, value)`.
    pub fn peer_db_addr(&self, bit: u32) -> Result<(u64, u64, u64)> {
        let bit = i32::try_from(bit).map_err(|_| EINVAL)?;
        let (mut addr, mut size, mut data) = (0, 0, 0);
        // SAFETY: The device is registered; the outputs are valid.
        to_result(unsafe {
            bindings::ntb_peer_db_addr(self.as_raw(), &mut addr, &mut size, &mut data, bit)
        })?;
        Ok((addr, size, data))
    }

    /// Valid doorbell bits.
    pub fn db_valid_mask(&self) -> u64 {
        // SAFETY: The device is registered (type invariant).
        unsafe { bindings::ntb_db_valid_mask(self.as_raw()) }
    }

    /// Doorbell interrupt vectors.
    pub fn db_vector_count(&self) -> u32 {
        // SAFETY: The device is registered (type invariant).
        let n = unsafe { bindings::ntb_db_vector_count(self.as_raw()) };
        u32::try_from(n).unwrap_or(0)
    }

    /// The doorbell bits that vector `vector` signals.
    pub fn db_vector_mask(&self, vector: u32) -> u64 {
        let Ok(v) = i32::try_from(vector) else {
            return 0;
        };
        // SAFETY: The device is registered; the driver checks `vector`.
        unsafe { bindings::ntb_db_vector_mask(self.as_raw(), v) }
    }

    /// Pending local doorbell bits.
    pub fn db_read(&self) -> u64 {
        // SAFETY: The device is registered (type invariant).
        unsafe { bindings::ntb_db_read(self.as_raw()) }
    }

    /// Clears pending local doorbell bits.
    pub fn db_clear(&self, bits: u64) -> Result {
        // SAFETY: The device is registered (type invariant).
        to_result(unsafe { bindings::ntb_db_clear(self.as_raw(), bits) })
    }

    /// Masks local doorbell bits.
    pub fn db_set_mask(&self, bits: u64) -> Result {
        // SAFETY: The device is registered (type invariant).
        to_result(unsafe { bindings::ntb_db_set_mask(self.as_raw(), bits) })
    }

    /// Unmasks local doorbell bits.
    pub fn db_clear_mask(&self, bits: u64) -> Result {
        // SAFETY: The device is registered (type invariant).
        to_result(unsafe { bindings::ntb_db_clear_mask(self.as_raw(), bits) })
    }

    /// Rings the peer's doorbell bits (a posted write).
    pub fn peer_db_set(&self, bits: u64) -> Result {
        // SAFETY: The device is registered (type invariant).
        to_result(unsafe { bindings::ntb_peer_db_set(self.as_raw(), bits) })
    }

    /// Number of scratchpads.
    pub fn spad_count(&self) -> u32 {
        // SAFETY: The device is registered (type invariant).
        let n = unsafe { bindings::ntb_spad_count(self.as_raw()) };
        u32::try_from(n).unwrap_or(0)
    }

    /// Reads local scratchpad `idx` (written by the peer).
    pub fn spad_read(&self, idx: u32) -> u32 {
        let Ok(i) = i32::try_from(idx) else {
            return 0;
        };
        // SAFETY: The device is registered; the driver checks `idx`.
        unsafe { bindings::ntb_spad_read(self.as_raw(), i) }
    }

    /// Writes scratchpad `idx` of peer `pidx` (a posted write; the peer
    /// reads it as its local scratchpad).
    pub fn peer_spad_write(&self, pidx: i32, idx: u32, val: u32) -> Result {
        let i = i32::try_from(idx).map_err(|_| EINVAL)?;
        // SAFETY: The device is registered; the driver checks the indices.
        to_result(unsafe { bindings::ntb_peer_spad_write(self.as_raw(), pidx, i, val) })
    }
}

/// The alignment rules of an inbound memory window (`ntb_mw_get_align`);
/// one type for the client API, the hardware-driver API and the irq
/// domain's window placement (host-tested with it).
pub use crate::klib::irq::index::WindowAlign;

// SAFETY: The NTB API may be called from any thread (the device's
// operations serialise themselves where they must).
unsafe impl Send for Device {}
// SAFETY: See above.
unsafe impl Sync for Device {}

// SAFETY: `get_device`/`put_device` on the embedded `struct device` count
// references to the `ntb_dev`; `ntb_unregister_device()` waits for the last
// one to go (its release callback completes `released`), so the device and
// its operations stay valid while a reference exists (type invariant).
unsafe impl AlwaysRefCounted for Device {
    fn inc_ref(&self) {
        // SAFETY: The device is valid (type invariant).
        unsafe { bindings::get_device(core::ptr::addr_of_mut!((*self.as_raw()).dev)) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        let raw: *mut bindings::ntb_dev = obj.as_ptr().cast();
        // SAFETY: The caller gives up a reference it holds.
        unsafe { bindings::put_device(core::ptr::addr_of_mut!((*raw).dev)) };
    }
}

/// An NTB client driver.
///
/// The client's per-device data lives from `probe` until `remove`, which
/// drops it: any counted reference to the device it holds, and any
/// deferred work using one, must be gone by the end of that drop (else
/// the hardware driver's removal waits for it).
#[vtable]
pub trait Client: 'static {
    /// The client's per-device data, kept from `probe` until `remove`.
    type Data: Send + Sync + 'static;

    /// Binds the client to `ntb`.
    fn probe(ntb: &Device) -> Result<Self::Data>;

    /// Unbinds the client from `ntb`; `data` is what `probe` returned.
    fn remove(data: Self::Data, ntb: &Device);

    /// The link went up or down (`ntb_link_event`). Called in atomic
    /// context, under the NTB core's context lock: defer real work.
    fn link_event(_data: &Self::Data, _ntb: &Device) {}

    /// A doorbell vector fired (`ntb_db_event`). Called in interrupt
    /// context, under the NTB core's context lock.
    fn db_event(_data: &Self::Data, _ntb: &Device, _vector: u32) {}
}

/// What the client context of an `ntb_dev` holds: the client's data and the
/// device, which the NTB core does not pass to the context ops.
struct Context<T: Client> {
    ntb: *mut bindings::ntb_dev,
    data: T::Data,
}

impl<T: Client> Context<T> {
    /// # Safety
    ///
    /// `ctx` must be a context set by `Adapter::<T>::probe_callback` and not
    /// yet cleared by `remove_callback`.
    unsafe fn with(ctx: *mut kernel::ffi::c_void, f: impl FnOnce(&T::Data, &Device)) {
        // SAFETY: The caller guarantees that `ctx` came from `into_foreign`
        // and is live; `borrow` does not take ownership.
        let ctx = unsafe { <KBox<Self> as ForeignOwnable>::borrow(ctx) };
        // SAFETY: The device stays registered while its context is set.
        f(&ctx.data, unsafe { Device::from_raw(ctx.ntb) });
    }
}

/// Connects the C callbacks of the NTB core to a [`Client`].
struct Adapter<T: Client>(PhantomData<T>);

impl<T: Client> Adapter<T> {
    const CTX_OPS: bindings::ntb_ctx_ops = bindings::ntb_ctx_ops {
        link_event: Some(Self::link_event_callback),
        db_event: Some(Self::db_event_callback),
        msg_event: None,
    };

    /// # Safety
    ///
    /// Called by the NTB core with a registered `ntb`.
    unsafe extern "C" fn probe_callback(
        _client: *mut bindings::ntb_client,
        ntb: *mut bindings::ntb_dev,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: The NTB core passes a registered device that stays
            // registered until `remove_callback` returns.
            let dev = unsafe { Device::from_raw(ntb) };
            let data = T::probe(dev)?;
            let ctx = KBox::new(Context::<T> { ntb, data }, GFP_KERNEL)?.into_foreign();
            // SAFETY: `ntb` is valid; `CTX_OPS` is promoted to a static, and
            // `ctx` stays valid until `remove_callback` clears the context.
            let ret = unsafe { bindings::ntb_set_ctx(ntb, ctx as *mut _, &Self::CTX_OPS) };
            if let Err(e) = to_result(ret) {
                // SAFETY: `ctx` came from `into_foreign` above and was not
                // published, since the context was not set.
                let ctx = unsafe { <KBox<Context<T>> as ForeignOwnable>::from_foreign(ctx) };
                T::remove(KBox::into_inner(ctx).data, dev);
                return Err(e);
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the NTB core for a device that `probe_callback` bound.
    unsafe extern "C" fn remove_callback(
        _client: *mut bindings::ntb_client,
        ntb: *mut bindings::ntb_dev,
    ) {
        // SAFETY: The device was bound by `probe_callback`, so `ctx` holds
        // the pointer from `into_foreign`. The NTB core calls context ops
        // under `ctx_lock`, which `ntb_clear_ctx` takes: once it returns no
        // op runs or will run, and the context can be taken back.
        unsafe {
            let ctx = (*ntb).ctx;
            bindings::ntb_clear_ctx(ntb);
            let ctx = KBox::into_inner(<KBox<Context<T>> as ForeignOwnable>::from_foreign(ctx));
            T::remove(ctx.data, Device::from_raw(ntb));
        }
    }

    /// # Safety
    ///
    /// Called by the NTB core with the context set by `probe_callback`.
    unsafe extern "C" fn link_event_callback(ctx: *mut kernel::ffi::c_void) {
        // SAFETY: The NTB core calls context ops only while the context is
        // set, i.e. between `probe_callback` and `remove_callback`.
        unsafe { Context::<T>::with(ctx, |data, ntb| T::link_event(data, ntb)) };
    }

    /// # Safety
    ///
    /// Called by the NTB core with the context set by `probe_callback`.
    unsafe extern "C" fn db_event_callback(
        ctx: *mut kernel::ffi::c_void,
        vector: kernel::ffi::c_int,
    ) {
        // SAFETY: As in `link_event_callback`.
        unsafe { Context::<T>::with(ctx, |data, ntb| T::db_event(data, ntb, vector as u32)) };
    }
}

/// A registered NTB client; unregisters on drop.
#[pin_data(PinnedDrop)]
pub struct Registration<T: Client> {
    #[pin]
    client: Opaque<bindings::ntb_client>,
    _p: PhantomData<T>,
}

// SAFETY: The registration is only touched by `new` and `drop`; the NTB core
// serialises the callbacks it makes through it.
unsafe impl<T: Client> Sync for Registration<T> {}
// SAFETY: See above; nothing in it is tied to a thread.
unsafe impl<T: Client> Send for Registration<T> {}

impl<T: Client> Registration<T> {
    /// Registers client `T` with the NTB core.
    pub fn new() -> impl PinInit<Self, Error> {
        let register = |ptr: *mut bindings::ntb_client| {
            // SAFETY: `ptr` points to memory for an `ntb_client` that is
            // pinned for the registration's life; it is zeroed, filled and
            // then registered. Drop unregisters.
            unsafe {
                ptr.write(bindings::ntb_client::default());
                (*ptr).ops.probe = Some(Adapter::<T>::probe_callback);
                (*ptr).ops.remove = Some(Adapter::<T>::remove_callback);
                to_result(bindings::ntbnet_ntb_register_client(ptr))
            }
        };
        try_pin_init!(Self {
            // SAFETY: `register` fills the whole struct before registering
            // it, and a failed registration leaves nothing to clean up.
            client <- unsafe { try_ffi_init(register) },
            _p: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: Client> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The client was registered in `new`; unregistering removes
        // it from every device, calling `remove` for each.
        unsafe { bindings::ntb_unregister_client(self.client.get()) };
    }
}

// SAFETY: `ntb_dev.dev` is registered as long as a `Device` reference is
// valid (type invariant).
unsafe impl crate::klib::net::AsDevice for Device {
    fn raw_device(&self) -> *mut bindings::device {
        // SAFETY: `as_raw` is valid (type invariant); no reference is made.
        unsafe { core::ptr::addr_of_mut!((*self.as_raw()).dev) }
    }
}

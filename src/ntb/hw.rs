// SPDX-License-Identifier: GPL-2.0

//! The hardware side of the NTB core: an `ntb_dev` provided by a driver
//! (`ntb_register_device`), whose `ntb_dev_ops` call a [`Hardware`] impl.

use crate::klib::bindings;
use crate::klib::kern::field::HasField;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::error::{from_result, to_result};
use kernel::prelude::*;
use kernel::types::Opaque;

pub use crate::klib::ntb::WindowAlign;

/// The module's `peer_timeout_ms` parameter, for a driver that watches its
/// peer's heartbeat (the virtual NTB defines it in its C helper file,
/// `ntbnet_param_peer_timeout_ms()`); 0 in modules without it.
pub fn module_peer_timeout_ms() -> u32 {
    // SAFETY: Reads a module parameter; no preconditions.
    unsafe { bindings::ntbnet_param_peer_timeout_ms() }
}

/// What a peer writes to ring one doorbell bit (`ntb_peer_db_addr`).
pub struct DbAddr {
    /// Bus address of the register.
    pub addr: u64,
    /// Size of the register in bytes.
    pub size: u64,
    /// The value to write.
    pub data: u64,
}

/// An NTB hardware driver: the operations behind `struct ntb_dev_ops`.
///
/// Index arguments come from clients and are checked by the implementation.
/// Called in any context, including interrupt context for doorbell
/// operations.
/// The type embeds its [`HwDevice`]
/// (`impl_has_field!(T, field: HwDevice<T>)`).
pub trait Hardware: HasField<HwDevice<Self>> + Send + Sync + 'static {
    /// This device's port number.
    fn port_number(&self) -> i32;
    /// How many peers this device reaches.
    fn peer_port_count(&self) -> i32;
    /// The port number of peer `pidx`.
    fn peer_port_number(&self, pidx: i32) -> Result<i32>;
    /// The peer index of port `port`.
    fn peer_port_idx(&self, port: i32) -> Result<i32>;

    /// Whether the link is up (bit per peer index).
    fn link_is_up(&self) -> u64;
    /// Allows the link to come up.
    fn link_enable(&self) -> Result;
    /// Takes the link down.
    fn link_disable(&self) -> Result;

    /// Inbound memory windows for peer `pidx`.
    fn mw_count(&self, pidx: i32) -> Result<i32>;
    /// The alignment rules of inbound window `widx`.
    fn mw_get_align(&self, pidx: i32, widx: i32) -> Result<WindowAlign>;
    /// Translates inbound window `widx` onto `addr`/`size`.
    fn mw_set_trans(&self, pidx: i32, widx: i32, addr: u64, size: u64) -> Result;
    /// Removes the translation of inbound window `widx`.
    fn mw_clear_trans(&self, pidx: i32, widx: i32) -> Result;
    /// Outbound memory windows.
    fn peer_mw_count(&self) -> i32;
    /// Bus address and size of outbound window `widx`.
    fn peer_mw_get_addr(&self, widx: i32) -> Result<(u64, u64)>;

    /// Valid doorbell bits.
    fn db_valid_mask(&self) -> u64;
    /// Doorbell interrupt vectors.
    fn db_vector_count(&self) -> i32;
    /// The doorbell bits of vector `vector`.
    fn db_vector_mask(&self, vector: i32) -> u64;
    /// Pending doorbell bits.
    fn db_read(&self) -> u64;
    /// Clears pending doorbell bits.
    fn db_clear(&self, bits: u64) -> Result;
    /// Masks doorbell bits.
    fn db_set_mask(&self, bits: u64) -> Result;
    /// Unmasks doorbell bits.
    fn db_clear_mask(&self, bits: u64) -> Result;
    /// What to write where to ring doorbell bit `bit` of the peer.
    fn peer_db_addr(&self, bit: i32) -> Result<DbAddr>;
    /// Rings doorbell bits of the peer.
    fn peer_db_set(&self, bits: u64) -> Result;

    /// Scratchpads.
    fn spad_count(&self) -> i32;
    /// Reads local scratchpad `idx`.
    fn spad_read(&self, idx: i32) -> u32;
    /// Writes local scratchpad `idx`.
    fn spad_write(&self, idx: i32, val: u32) -> Result;
    /// Reads scratchpad `idx` of peer `pidx`.
    fn peer_spad_read(&self, pidx: i32, idx: i32) -> u32;
    /// Writes scratchpad `idx` of peer `pidx`.
    fn peer_spad_write(&self, pidx: i32, idx: i32, val: u32) -> Result;
}

/// An `ntb_dev` embedded in its driver's `T`; registered with
/// [`HwDevice::register`], unregistered on drop at the latest.
///
/// # Invariants
///
/// Set up by [`HwDevice::new`], it lives in the `HwDevice<T>` field of a
/// pinned `T` ([`HasField`]); while `registered` is set, `ntb` is
/// registered with the NTB core.
#[pin_data(PinnedDrop)]
pub struct HwDevice<T> {
    #[pin]
    ntb: Opaque<bindings::ntb_dev>,
    registered: AtomicBool,
    _p: PhantomData<T>,
}

// SAFETY: The NTB core serialises registration; the events it offers are
// safe from any context.
unsafe impl<T: Hardware> Sync for HwDevice<T> {}
// SAFETY: See above.
unsafe impl<T: Hardware> Send for HwDevice<T> {}

impl<T: Hardware> HwDevice<T> {
    /// An unregistered `ntb_dev` for PCI device `pdev`.
    pub fn new(pdev: &crate::klib::pci::Device) -> impl PinInit<Self> {
        let pdev = pdev.as_raw();
        pin_init!(Self {
            // SAFETY: A zeroed `ntb_dev` with its PCI device, topology and
            // operations is what `ntb_register_device` expects.
            ntb <- Opaque::ffi_init(move |ntb: *mut bindings::ntb_dev| unsafe {
                ntb.write(bindings::ntb_dev::default());
                (*ntb).pdev = pdev;
                (*ntb).topo = bindings::ntb_topo_NTB_TOPO_SWITCH;
                (*ntb).ops = &Adapter::<T>::OPS;
            }),
            registered: AtomicBool::new(false),
            _p: PhantomData,
        })
    }
}

impl<T> HwDevice<T> {
    /// Registers the device: NTB clients probe it before this returns.
    pub fn register(&self) -> Result {
        // SAFETY: The device is set up (`new`) and pinned inside `T`, whose
        // operations are ready: the caller registers when `T` is complete.
        to_result(unsafe { bindings::ntb_register_device(self.ntb.get()) })?;
        self.registered.store(true, Ordering::Release);
        Ok(())
    }

    /// Unregisters the device: clients are removed before this returns.
    pub fn unregister(&self) {
        if self.registered.swap(false, Ordering::AcqRel) {
            // SAFETY: The device is registered; this waits for release.
            unsafe { bindings::ntb_unregister_device(self.ntb.get()) };
        }
    }

    /// Reports a doorbell vector to the client (`ntb_db_event`).
    pub fn db_event(&self, vector: u32) {
        if self.registered.load(Ordering::Acquire) {
            // SAFETY: The device is registered, so its context lock is set
            // up; `ntb_db_event` may be called from interrupt context.
            unsafe { bindings::ntb_db_event(self.ntb.get(), vector as i32) };
        }
    }

    /// Reports a link change to the client (`ntb_link_event`).
    pub fn link_event(&self) {
        if self.registered.load(Ordering::Acquire) {
            // SAFETY: As in `db_event`.
            unsafe { bindings::ntb_link_event(self.ntb.get()) };
        }
    }
}

#[pinned_drop]
impl<T> PinnedDrop for HwDevice<T> {
    fn drop(self: Pin<&mut Self>) {
        self.unregister();
    }
}

struct Adapter<T: Hardware>(PhantomData<T>);

/// Converts a `Result` of an index-returning op to the C convention.
fn int(r: Result<i32>) -> kernel::ffi::c_int {
    match r {
        Ok(v) => v,
        Err(e) => e.to_errno(),
    }
}

impl<T: Hardware> Adapter<T> {
    /// # Safety
    ///
    /// `ntb` must be the `ntb_dev` of an `HwDevice<T>` inside a live `T`.
    unsafe fn hw<'a>(ntb: *mut bindings::ntb_dev) -> &'a T {
        let hw_dev = ntb
            .cast_const()
            .cast::<u8>()
            .wrapping_sub(core::mem::offset_of!(HwDevice<T>, ntb))
            .cast::<HwDevice<T>>();
        // SAFETY: `ntb` is the `ntb` field of an `HwDevice<T>` in a live `T`
        // (the caller's contract).
        unsafe { T::container_of(hw_dev) }
    }

    const OPS: bindings::ntb_dev_ops = bindings::ntb_dev_ops {
        port_number: Some(Self::port_number),
        peer_port_count: Some(Self::peer_port_count),
        peer_port_number: Some(Self::peer_port_number),
        peer_port_idx: Some(Self::peer_port_idx),
        link_is_up: Some(Self::link_is_up),
        link_enable: Some(Self::link_enable),
        link_disable: Some(Self::link_disable),
        mw_count: Some(Self::mw_count),
        mw_get_align: Some(Self::mw_get_align),
        mw_set_trans: Some(Self::mw_set_trans),
        mw_clear_trans: Some(Self::mw_clear_trans),
        peer_mw_count: Some(Self::peer_mw_count),
        peer_mw_get_addr: Some(Self::peer_mw_get_addr),
        db_valid_mask: Some(Self::db_valid_mask),
        db_vector_count: Some(Self::db_vector_count),
        db_vector_mask: Some(Self::db_vector_mask),
        db_read: Some(Self::db_read),
        db_clear: Some(Self::db_clear),
        db_set_mask: Some(Self::db_set_mask),
        db_clear_mask: Some(Self::db_clear_mask),
        peer_db_addr: Some(Self::peer_db_addr),
        peer_db_set: Some(Self::peer_db_set),
        spad_count: Some(Self::spad_count),
        spad_read: Some(Self::spad_read),
        spad_write: Some(Self::spad_write),
        peer_spad_read: Some(Self::peer_spad_read),
        peer_spad_write: Some(Self::peer_spad_write),
        // SAFETY: All-zero is a valid `ntb_dev_ops` (every op `None`).
        ..unsafe { core::mem::zeroed() }
    };
}

/// Generates the `extern "C"` trampolines of [`Adapter`]: each converts the
/// `ntb_dev` back to its `T` and calls the same-named [`Hardware`] method.
macro_rules! trampolines {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = |$hw:ident| $body:expr;)*) => {
        impl<T: Hardware> Adapter<T> {
            $(
                /// # Safety
                ///
                /// Called by the NTB core for a registered `HwDevice<T>`.
                unsafe extern "C" fn $name(ntb: *mut bindings::ntb_dev, $($arg: $ty),*) -> $ret {
                    // SAFETY: The NTB core calls device operations only on
                    // registered devices, which live inside their `T`.
                    let $hw = unsafe { Self::hw(ntb) };
                    $body
                }
            )*
        }
    };
}

use kernel::ffi::c_int;

trampolines! {
    port_number() -> c_int = |hw| hw.port_number();
    peer_port_count() -> c_int = |hw| hw.peer_port_count();
    peer_port_number(pidx: c_int) -> c_int = |hw| int(hw.peer_port_number(pidx));
    peer_port_idx(port: c_int) -> c_int = |hw| int(hw.peer_port_idx(port));
    link_enable(_speed: bindings::ntb_speed, _width: bindings::ntb_width) -> c_int =
        |hw| from_result(|| hw.link_enable().map(|()| 0));
    link_disable() -> c_int = |hw| from_result(|| hw.link_disable().map(|()| 0));
    mw_count(pidx: c_int) -> c_int = |hw| int(hw.mw_count(pidx));
    mw_set_trans(pidx: c_int, widx: c_int, addr: bindings::dma_addr_t, size: bindings::resource_size_t) -> c_int =
        |hw| from_result(|| hw.mw_set_trans(pidx, widx, addr, size).map(|()| 0));
    mw_clear_trans(pidx: c_int, widx: c_int) -> c_int =
        |hw| from_result(|| hw.mw_clear_trans(pidx, widx).map(|()| 0));
    peer_mw_count() -> c_int = |hw| hw.peer_mw_count();
    db_valid_mask() -> u64 = |hw| hw.db_valid_mask();
    db_vector_count() -> c_int = |hw| hw.db_vector_count();
    db_vector_mask(vector: c_int) -> u64 = |hw| hw.db_vector_mask(vector);
    db_read() -> u64 = |hw| hw.db_read();
    db_clear(bits: u64) -> c_int = |hw| from_result(|| hw.db_clear(bits).map(|()| 0));
    db_set_mask(bits: u64) -> c_int = |hw| from_result(|| hw.db_set_mask(bits).map(|()| 0));
    db_clear_mask(bits: u64) -> c_int = |hw| from_result(|| hw.db_clear_mask(bits).map(|()| 0));
    peer_db_set(bits: u64) -> c_int = |hw| from_result(|| hw.peer_db_set(bits).map(|()| 0));
    spad_count() -> c_int = |hw| hw.spad_count();
    spad_read(idx: c_int) -> u32 = |hw| hw.spad_read(idx);
    spad_write(idx: c_int, val: u32) -> c_int = |hw| from_result(|| hw.spad_write(idx, val).map(|()| 0));
    peer_spad_read(pidx: c_int, idx: c_int) -> u32 = |hw| hw.peer_spad_read(pidx, idx);
    peer_spad_write(pidx: c_int, idx: c_int, val: u32) -> c_int =
        |hw| from_result(|| hw.peer_spad_write(pidx, idx, val).map(|()| 0));
}

impl<T: Hardware> Adapter<T> {
    /// # Safety
    ///
    /// Called by the NTB core for a registered `HwDevice<T>`; the output
    /// pointers are NULL or valid.
    unsafe extern "C" fn link_is_up(
        ntb: *mut bindings::ntb_dev,
        speed: *mut bindings::ntb_speed,
        width: *mut bindings::ntb_width,
    ) -> u64 {
        // SAFETY: See `trampolines!`.
        let hw = unsafe { Self::hw(ntb) };
        let up = hw.link_is_up();
        // SAFETY: The caller passes NULL or valid pointers.
        unsafe {
            if !speed.is_null() {
                *speed = if up != 0 {
                    bindings::ntb_speed_NTB_SPEED_GEN3
                } else {
                    bindings::ntb_speed_NTB_SPEED_NONE
                };
            }
            if !width.is_null() {
                *width = if up != 0 {
                    bindings::ntb_width_NTB_WIDTH_4
                } else {
                    bindings::ntb_width_NTB_WIDTH_NONE
                };
            }
        }
        up
    }

    /// # Safety
    ///
    /// As `link_is_up`.
    unsafe extern "C" fn mw_get_align(
        ntb: *mut bindings::ntb_dev,
        pidx: c_int,
        widx: c_int,
        addr_align: *mut bindings::resource_size_t,
        size_align: *mut bindings::resource_size_t,
        size_max: *mut bindings::resource_size_t,
    ) -> c_int {
        // SAFETY: See `trampolines!`.
        let hw = unsafe { Self::hw(ntb) };
        from_result(|| {
            let a = hw.mw_get_align(pidx, widx)?;
            // SAFETY: The caller passes NULL or valid pointers.
            unsafe {
                if !addr_align.is_null() {
                    *addr_align = a.addr_align;
                }
                if !size_align.is_null() {
                    *size_align = a.size_align;
                }
                if !size_max.is_null() {
                    *size_max = a.size_max;
                }
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// As `link_is_up`.
    unsafe extern "C" fn peer_mw_get_addr(
        ntb: *mut bindings::ntb_dev,
        widx: c_int,
        base: *mut bindings::phys_addr_t,
        size: *mut bindings::resource_size_t,
    ) -> c_int {
        // SAFETY: See `trampolines!`.
        let hw = unsafe { Self::hw(ntb) };
        from_result(|| {
            let (b, s) = hw.peer_mw_get_addr(widx)?;
            // SAFETY: The caller passes NULL or valid pointers.
            unsafe {
                if !base.is_null() {
                    *base = b;
                }
                if !size.is_null() {
                    *size = s;
                }
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// As `link_is_up`.
    unsafe extern "C" fn peer_db_addr(
        ntb: *mut bindings::ntb_dev,
        db_addr: *mut bindings::phys_addr_t,
        db_size: *mut bindings::resource_size_t,
        db_data: *mut u64,
        db_bit: c_int,
    ) -> c_int {
        // SAFETY: See `trampolines!`.
        let hw = unsafe { Self::hw(ntb) };
        from_result(|| {
            let a = hw.peer_db_addr(db_bit)?;
            // SAFETY: The caller passes NULL or valid pointers.
            unsafe {
                if !db_addr.is_null() {
                    *db_addr = a.addr;
                }
                if !db_size.is_null() {
                    *db_size = a.size;
                }
                if !db_data.is_null() {
                    *db_data = a.data;
                }
            }
            Ok(0)
        })
    }
}

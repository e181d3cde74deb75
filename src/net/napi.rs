// SPDX-License-Identifier: GPL-2.0

//! NAPI contexts (`struct napi_struct`) embedded in the object they poll.

use crate::klib::bindings;
use crate::klib::kern::field::HasField;
use crate::klib::net;
use crate::klib::net::skb::SkBuff;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a NAPI context polls; runs in softirq context.
pub trait Poll: Sync + Sized {
    /// Processes at most `budget` received packets; returns how many. Work
    /// below `budget` means done: call [`Napi::complete_done`].
    fn poll(&self, napi: &Napi<Self>, budget: u32) -> u32;
}

/// A NAPI context embedded in a `T` (`impl_has_field!(T, field: Napi<T>)`),
/// polling `T::poll`; deleted on drop.
///
/// # Invariants
///
/// The context is added to a `net_device` (`netif_napi_add`) by
/// [`Napi::new`] and lives in the `Napi<T>` field of a pinned `T`
/// ([`HasField`]). `enabled` tells whether `napi_enable` was called last
/// (rather than `napi_disable` or nothing).
#[pin_data(PinnedDrop)]
pub struct Napi<T> {
    #[pin]
    napi: Opaque<bindings::napi_struct>,
    enabled: AtomicBool,
    _p: PhantomData<T>,
}

// SAFETY: The NAPI core serialises polls; the other methods may be called
// from any context.
unsafe impl<T: Poll> Sync for Napi<T> {}
// SAFETY: See above.
unsafe impl<T: Poll> Send for Napi<T> {}

impl<T: HasField<Self> + Poll> Napi<T> {
    /// Adds a NAPI context to `dev`, disabled.
    ///
    /// The device must stay allocated while the context is enabled or
    /// scheduled; `free_netdev` deletes the context from a freed device
    /// first, after which dropping it touches only its own memory.
    pub fn new(dev: &net::Device) -> impl PinInit<Self> {
        let dev = dev.as_raw();
        pin_init!(Self {
            // SAFETY: The `napi_struct` is zeroed, then `netif_napi_add`
            // initialises it and lists it on the allocated device.
            napi <- Opaque::ffi_init(move |n: *mut bindings::napi_struct| unsafe {
                core::ptr::write_bytes(n, 0, 1);
                bindings::netif_napi_add(dev, n, Some(Self::poll_callback));
            }),
            enabled: AtomicBool::new(false),
            _p: PhantomData,
        })
    }

    /// # Safety
    ///
    /// Called by the NAPI core for a context added by [`Napi::new`].
    unsafe extern "C" fn poll_callback(
        napi: *mut bindings::napi_struct,
        budget: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        let this = napi
            .cast_const()
            .cast::<u8>()
            .wrapping_sub(core::mem::offset_of!(Self, napi))
            .cast::<Self>();
        // SAFETY: By the type invariant `napi` is the context of a
        // `Napi<T>` in a `T`, alive while the context is enabled (its drop
        // disables it).
        let owner = unsafe { T::container_of(this) };
        let budget = u32::try_from(budget).unwrap_or(0);
        owner.poll(owner.field(), budget).min(budget) as kernel::ffi::c_int
    }
}

impl<T> Napi<T> {
    fn as_raw(&self) -> *mut bindings::napi_struct {
        self.napi.get()
    }

    /// The device the context belongs to.
    pub fn dev(&self) -> &net::Device {
        // SAFETY: `dev` was set by `netif_napi_add`; the device outlives the
        // context's use (see `new`).
        unsafe { net::Device::from_raw((*self.as_raw()).dev) }
    }

    /// Enables polling (`napi_enable`), if disabled. Enable and disable must
    /// not race each other.
    pub fn enable(&self) {
        if !self.enabled.swap(true, Ordering::AcqRel) {
            // SAFETY: The context is added and disabled.
            unsafe { bindings::napi_enable(self.as_raw()) }
        }
    }

    /// Disables polling and waits for a running poll (`napi_disable`), if
    /// enabled. May sleep.
    pub fn disable(&self) {
        if self.enabled.swap(false, Ordering::AcqRel) {
            // SAFETY: The context is added and enabled.
            unsafe { bindings::napi_disable(self.as_raw()) }
        }
    }

    /// Schedules a poll (`napi_schedule`); does nothing while disabled. Any
    /// context.
    pub fn schedule(&self) {
        // SAFETY: The context is added; a disabled one is not scheduled.
        unsafe { bindings::napi_schedule(self.as_raw()) };
    }

    /// Ends a poll that did `work` packets (`napi_complete_done`); returns
    /// false if the poll must go on (more was scheduled meanwhile, or busy
    /// polling owns the context). From [`Poll::poll`] only.
    pub fn complete_done(&self, work: u32) -> bool {
        // SAFETY: Called from the poll, which owns the context.
        unsafe { bindings::napi_complete_done(self.as_raw(), work as kernel::ffi::c_int) }
    }

    /// Allocates a receive skb with `len` bytes of room
    /// (`napi_alloc_skb`). From [`Poll::poll`] only.
    pub fn alloc_skb(&self, len: u32) -> Option<SkBuff> {
        // SAFETY: Softirq context of this context's poll.
        let skb = unsafe { bindings::napi_alloc_skb(self.as_raw(), len) };
        if skb.is_null() {
            None
        } else {
            // SAFETY: A fresh skb that we own.
            Some(unsafe { SkBuff::from_raw(skb) })
        }
    }

    /// Hands a received packet to GRO (`napi_gro_receive`). From
    /// [`Poll::poll`] only.
    pub fn gro_receive(&self, skb: SkBuff) {
        // SAFETY: Softirq context of this context's poll; GRO takes the skb.
        unsafe { bindings::napi_gro_receive(self.as_raw(), skb.into_raw()) };
    }
}

#[pinned_drop]
impl<T> PinnedDrop for Napi<T> {
    fn drop(self: Pin<&mut Self>) {
        self.disable();
        // SAFETY: The context was added; if `free_netdev` already deleted
        // it, this returns at once (the LISTED bit is clear).
        unsafe { bindings::netif_napi_del(self.as_raw()) };
    }
}

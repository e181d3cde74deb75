// SPDX-License-Identifier: GPL-2.0

//! Kernel timers (`struct timer_list`) embedded in the object they serve.

use crate::klib::bindings;
use crate::klib::kern::field::HasField;
use core::marker::PhantomData;
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a timer calls; runs in softirq context.
pub trait TimerCallback: Sync {
    /// Runs the timer's work; returns the delay in milliseconds after which
    /// to run again, or `None` to stop.
    fn run(&self) -> Option<u32>;
}

/// A timer embedded in a `T` (`impl_has_field!(T, field: Timer<T>)`),
/// calling `T::run`; shut down on drop.
///
/// # Invariants
///
/// The timer is set up by [`Timer::new`] and lives in the `Timer<T>` field
/// of a pinned `T` ([`HasField`]).
#[repr(transparent)]
#[pin_data(PinnedDrop)]
pub struct Timer<T> {
    #[pin]
    timer: Opaque<bindings::timer_list>,
    _p: PhantomData<T>,
}

// SAFETY: The timer core serialises the callback; `start` may be called
// from any context.
unsafe impl<T: TimerCallback> Sync for Timer<T> {}
// SAFETY: See above.
unsafe impl<T: TimerCallback> Send for Timer<T> {}

impl<T: HasField<Self> + TimerCallback> Timer<T> {
    /// Sets up a timer; it runs once [`Timer::start`] is called.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `timer_setup` fully initialises the `timer_list`.
            timer <- Opaque::ffi_init(|t| unsafe {
                bindings::ntbnet_timer_setup(t, Some(Self::callback))
            }),
            _p: PhantomData,
        })
    }

    /// # Safety
    ///
    /// Called by the timer core for a timer set up by [`Timer::new`].
    unsafe extern "C" fn callback(t: *mut bindings::timer_list) {
        // `Timer<T>` is a transparent wrapper of the `timer_list`.
        let this = t.cast_const().cast::<Self>();
        // SAFETY: By the type invariant the timer lives in a `T`, which is
        // alive: its drop shuts the timer down first.
        let owner = unsafe { T::container_of(this) };
        if let Some(ms) = owner.run() {
            owner.field().start(ms);
        }
    }
}

impl<T> Timer<T> {
    /// (Re)arms the timer to run in `ms` milliseconds.
    pub fn start(&self, ms: u32) {
        // SAFETY: The timer is set up (type invariant). After shutdown,
        // `mod_timer` does nothing.
        unsafe {
            let expires = bindings::ntbnet_jiffies().wrapping_add(bindings::msecs_to_jiffies(ms));
            bindings::mod_timer(self.timer.get(), expires);
        }
    }

    /// Stops the timer for good, waiting for a running callback
    /// (`timer_shutdown_sync`); later [`Timer::start`]s do nothing.
    pub fn shutdown(&self) {
        // SAFETY: The timer is set up (type invariant); shutting down twice
        // is allowed.
        unsafe { bindings::timer_shutdown_sync(self.timer.get()) };
    }
}

#[pinned_drop]
impl<T> PinnedDrop for Timer<T> {
    fn drop(self: Pin<&mut Self>) {
        self.shutdown();
    }
}

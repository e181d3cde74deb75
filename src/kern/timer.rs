// SPDX-License-Identifier: GPL-2.0

//! Kernel timers (`struct timer_list`) embedded in the object they serve.

use crate::klib::bindings;
use core::marker::PhantomData;
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a timer calls; runs in softirq context.
pub trait TimerCallback: Sync {
    /// Runs the timer's work; returns the delay in milliseconds after which
    /// to run again, or `None` to stop.
    fn run(&self) -> Option<u32>;
}

/// Types that embed a [`Timer`] for themselves.
///
/// # Safety
///
/// `OFFSET` must be the offset of a `Timer<Self>` field in `Self`. Use
/// [`impl_has_timer!`](crate::impl_has_timer).
pub unsafe trait HasTimer: Sized {
    /// The offset of the `Timer<Self>` field.
    const OFFSET: usize;
}

/// Implements [`HasTimer`] for a type and its `Timer<Self>` field.
#[macro_export]
macro_rules! impl_has_timer {
    ($type:ty, $field:ident) => {
        // SAFETY: The offset is that of `$field`, which the function below
        // checks to be a `Timer<$type>`.
        unsafe impl $crate::klib::kern::timer::HasTimer for $type {
            const OFFSET: usize = {
                let _check: fn(&$type) -> &$crate::klib::kern::timer::Timer<$type> = |t| &t.$field;
                ::core::mem::offset_of!($type, $field)
            };
        }
    };
}

/// A timer embedded in a `T`, calling `T::run`; shut down on drop.
///
/// # Invariants
///
/// The timer is set up and lives inside a pinned `T` at `T::OFFSET`.
#[repr(transparent)]
#[pin_data(PinnedDrop)]
pub struct Timer<T: HasTimer + TimerCallback> {
    #[pin]
    timer: Opaque<bindings::timer_list>,
    _p: PhantomData<T>,
}

// SAFETY: The timer core serialises the callback; `start` may be called
// from any context.
unsafe impl<T: HasTimer + TimerCallback> Sync for Timer<T> {}
// SAFETY: See above.
unsafe impl<T: HasTimer + TimerCallback> Send for Timer<T> {}

impl<T: HasTimer + TimerCallback> Timer<T> {
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

    /// # Safety
    ///
    /// Called by the timer core for a timer set up by [`Timer::new`].
    unsafe extern "C" fn callback(t: *mut bindings::timer_list) {
        // SAFETY: By the type invariant the timer lives at `T::OFFSET` in a
        // `T`, which is alive: drop shuts the timer down first.
        let owner = unsafe { &*(t as *const u8).sub(T::OFFSET).cast::<T>() };
        if let Some(ms) = owner.run() {
            // SAFETY: As above, `owner` embeds this timer.
            let this = unsafe { &*(t as *const Self) };
            this.start(ms);
        }
    }
}

#[pinned_drop]
impl<T: HasTimer + TimerCallback> PinnedDrop for Timer<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The timer is set up; shutdown waits for a running callback
        // and makes later re-arming a no-op.
        unsafe { bindings::timer_shutdown_sync(self.timer.get()) };
    }
}

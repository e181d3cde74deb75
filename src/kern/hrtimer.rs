// SPDX-License-Identifier: GPL-2.0

//! High-resolution one-shot timers (`struct hrtimer`, relative, pinned to
//! the CPU that arms them) embedded in the object they serve.

use crate::klib::bindings;
use crate::klib::kern::field::HasField;
use core::marker::PhantomData;
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a high-resolution timer calls; runs in hard-irq context.
pub trait HrTimerCallback: Sync {
    /// Runs the timer's work (once per [`HrTimer::start`]).
    fn run(&self);
}

/// A high-resolution timer embedded in a `T`
/// (`impl_has_field!(T, field: HrTimer<T>)`), calling `T::run`; cancelled
/// on drop.
///
/// # Invariants
///
/// The timer is set up by [`HrTimer::new`] and lives in the `HrTimer<T>`
/// field of a pinned `T` ([`HasField`]).
#[repr(transparent)]
#[pin_data(PinnedDrop)]
pub struct HrTimer<T> {
    #[pin]
    timer: Opaque<bindings::ntbnet_hrtimer>,
    _p: PhantomData<T>,
}

// SAFETY: The hrtimer core serialises the callback; `start` and the
// cancels may be called from any context.
unsafe impl<T: HrTimerCallback> Sync for HrTimer<T> {}
// SAFETY: See above.
unsafe impl<T: HrTimerCallback> Send for HrTimer<T> {}

impl<T: HasField<Self> + HrTimerCallback> HrTimer<T> {
    /// Sets up a timer; it runs once [`HrTimer::start`] is called.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `ntbnet_hrtimer_setup` fully initialises the timer.
            timer <- Opaque::ffi_init(|t| unsafe {
                bindings::ntbnet_hrtimer_setup(t, Some(Self::callback))
            }),
            _p: PhantomData,
        })
    }

    /// # Safety
    ///
    /// Called by the C trampoline for a timer set up by [`HrTimer::new`].
    unsafe extern "C" fn callback(t: *mut bindings::ntbnet_hrtimer) {
        // `HrTimer<T>` is a transparent wrapper of the C struct.
        let this = t.cast_const().cast::<Self>();
        // SAFETY: By the type invariant the timer lives in a `T`, which is
        // alive: its drop cancels the timer first.
        let owner = unsafe { T::container_of(this) };
        owner.run();
    }
}

impl<T> HrTimer<T> {
    /// (Re)arms the timer to run once, `ns` nanoseconds from now, on this
    /// CPU. Any context.
    pub fn start(&self, ns: u64) {
        // SAFETY: The timer is set up (type invariant).
        unsafe { bindings::ntbnet_hrtimer_start_ns(self.timer.get(), ns) };
    }

    /// Cancels the timer if it has not started running; does not wait.
    /// Any context.
    pub fn try_cancel(&self) {
        // SAFETY: The timer is set up (type invariant).
        unsafe { bindings::ntbnet_hrtimer_try_cancel(self.timer.get()) };
    }

    /// Cancels the timer and waits for a running callback. May sleep; not
    /// from the callback.
    pub fn cancel(&self) {
        // SAFETY: The timer is set up (type invariant).
        unsafe { bindings::ntbnet_hrtimer_cancel(self.timer.get()) };
    }
}

#[pinned_drop]
impl<T> PinnedDrop for HrTimer<T> {
    fn drop(self: Pin<&mut Self>) {
        self.cancel();
    }
}

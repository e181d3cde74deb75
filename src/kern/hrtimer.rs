// SPDX-License-Identifier: GPL-2.0

//! High-resolution one-shot timers (`struct hrtimer`, relative, pinned to
//! the CPU that arms them) embedded in the object they serve.

use crate::klib::bindings;
use core::marker::PhantomData;
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a high-resolution timer calls; runs in hard-irq context.
pub trait HrTimerCallback: Sync {
    /// Runs the timer's work (once per [`HrTimer::start`]).
    fn run(&self);
}

/// Types that embed an [`HrTimer`] for themselves.
///
/// # Safety
///
/// `OFFSET` must be the offset of an `HrTimer<Self>` field in `Self`. Use
/// [`impl_has_hrtimer!`](crate::impl_has_hrtimer).
pub unsafe trait HasHrTimer: Sized {
    /// The offset of the `HrTimer<Self>` field.
    const OFFSET: usize;
}

/// Implements [`HasHrTimer`] for a type and its `HrTimer<Self>` field.
#[macro_export]
macro_rules! impl_has_hrtimer {
    ($type:ty, $field:ident) => {
        // SAFETY: The offset is that of `$field`, which the function below
        // checks to be an `HrTimer<$type>`.
        unsafe impl $crate::klib::kern::hrtimer::HasHrTimer for $type {
            const OFFSET: usize = {
                let _check: fn(&$type) -> &$crate::klib::kern::hrtimer::HrTimer<$type> =
                    |t| &t.$field;
                ::core::mem::offset_of!($type, $field)
            };
        }
    };
}

/// A high-resolution timer embedded in a `T`, calling `T::run`; cancelled
/// on drop.
///
/// # Invariants
///
/// The timer is set up and lives inside a pinned `T` at `T::OFFSET`.
#[repr(transparent)]
#[pin_data(PinnedDrop)]
pub struct HrTimer<T: HasHrTimer + HrTimerCallback> {
    #[pin]
    timer: Opaque<bindings::ntbnet_hrtimer>,
    _p: PhantomData<T>,
}

// SAFETY: The hrtimer core serialises the callback; `start` and the
// cancels may be called from any context.
unsafe impl<T: HasHrTimer + HrTimerCallback> Sync for HrTimer<T> {}
// SAFETY: See above.
unsafe impl<T: HasHrTimer + HrTimerCallback> Send for HrTimer<T> {}

impl<T: HasHrTimer + HrTimerCallback> HrTimer<T> {
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

    /// # Safety
    ///
    /// Called by the C trampoline for a timer set up by [`HrTimer::new`].
    unsafe extern "C" fn callback(t: *mut bindings::ntbnet_hrtimer) {
        // SAFETY: By the type invariant the timer lives at `T::OFFSET` in a
        // `T` (`HrTimer` is transparent over the C struct), which is alive:
        // drop cancels the timer first.
        let owner = unsafe { &*(t as *const u8).sub(T::OFFSET).cast::<T>() };
        owner.run();
    }
}

#[pinned_drop]
impl<T: HasHrTimer + HrTimerCallback> PinnedDrop for HrTimer<T> {
    fn drop(self: Pin<&mut Self>) {
        self.cancel();
    }
}

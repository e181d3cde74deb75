// SPDX-License-Identifier: GPL-2.0

//! Delayed work items (`struct delayed_work`) on the system workqueue,
//! embedded in the object they serve.
//!
//! 6.12's `kernel::workqueue` can neither cancel nor disable a work item;
//! this one is disabled on drop (`disable_delayed_work_sync`), after which
//! queueing it does nothing.

use crate::klib::bindings;
use crate::klib::kern::field::HasField;
use core::marker::PhantomData;
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a delayed work item runs; process context, may sleep.
pub trait WorkCallback: Sync {
    /// Runs the work.
    fn run(&self);
}

/// A delayed work item embedded in a `T`
/// (`impl_has_field!(T, field: DelayedWork<T>)`), running `T::run`;
/// disabled on drop.
///
/// # Invariants
///
/// The work item is initialised by [`DelayedWork::new`] and lives in the
/// `DelayedWork<T>` field of a pinned `T` ([`HasField`]).
#[repr(transparent)]
#[pin_data(PinnedDrop)]
pub struct DelayedWork<T> {
    #[pin]
    work: Opaque<bindings::delayed_work>,
    _p: PhantomData<T>,
}

// SAFETY: The workqueue core serialises the callback; queueing may be done
// from any context.
unsafe impl<T: WorkCallback> Sync for DelayedWork<T> {}
// SAFETY: See above.
unsafe impl<T: WorkCallback> Send for DelayedWork<T> {}

impl<T: HasField<Self> + WorkCallback> DelayedWork<T> {
    /// Initialises a work item; it runs once queued.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `INIT_DELAYED_WORK` fully initialises the item.
            work <- Opaque::ffi_init(|w| unsafe {
                bindings::ntbnet_init_delayed_work(w, Some(Self::callback))
            }),
            _p: PhantomData,
        })
    }

    /// # Safety
    ///
    /// Called by the workqueue core for an item set up by [`Self::new`].
    unsafe extern "C" fn callback(w: *mut bindings::work_struct) {
        // `w` is the `work` member at offset 0 of the `delayed_work`, which
        // `DelayedWork<T>` wraps transparently.
        let this = w.cast_const().cast::<Self>();
        // SAFETY: By the type invariant the item lives in a `T`, alive until
        // its drop disables the item.
        let owner = unsafe { T::container_of(this) };
        owner.run();
    }
}

impl<T> DelayedWork<T> {
    /// Queues the work to run in `ms` milliseconds, unless it is already
    /// queued. Any context.
    pub fn queue(&self, ms: u32) {
        // SAFETY: The item is initialised (type invariant); once disabled,
        // queueing is a no-op.
        unsafe {
            bindings::ntbnet_queue_delayed_work(self.work.get(), bindings::msecs_to_jiffies(ms))
        };
    }

    /// Runs the work as soon as possible, moving a pending run forward.
    /// Any context.
    pub fn run_now(&self) {
        // SAFETY: As in `queue`.
        unsafe { bindings::ntbnet_mod_delayed_work(self.work.get(), 0) };
    }

    /// Cancels the work, waits for a running instance, and makes later
    /// queueing a no-op. May sleep.
    pub fn disable_sync(&self) {
        // SAFETY: The item is initialised; disabling twice is allowed.
        unsafe { bindings::disable_delayed_work_sync(self.work.get()) };
    }
}

#[pinned_drop]
impl<T> PinnedDrop for DelayedWork<T> {
    fn drop(self: Pin<&mut Self>) {
        self.disable_sync();
    }
}

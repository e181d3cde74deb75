// SPDX-License-Identifier: GPL-2.0

//! Interrupt handlers (`request_irq`/`free_irq`).

use crate::klib::bindings;
use core::ptr::addr_of_mut;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::str::CString;

/// What a handler did with an interrupt.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum IrqReturn {
    /// The interrupt was not from this device.
    None,
    /// The interrupt was handled.
    Handled,
}

/// An interrupt handler; runs in hard interrupt context.
pub trait Handler: Send + Sync {
    /// Handles one interrupt.
    fn handle_irq(&self) -> IrqReturn;
}

/// A requested interrupt line whose handler is `H`; freed on drop.
///
/// # Invariants
///
/// `irq` is requested with this object as `dev_id` from construction until
/// drop; the object is pinned, so the pointer stays valid.
#[pin_data(PinnedDrop)]
pub struct Registration<H: Handler> {
    irq: u32,
    name: CString,
    handler: H,
    #[pin]
    _pin: core::marker::PhantomPinned,
}

impl<H: Handler> Registration<H> {
    /// Requests `irq` under `name` (shown in /proc/interrupts) for `handler`.
    pub fn new(irq: u32, name: CString, handler: H) -> impl PinInit<Self, Error> {
        let init = move |slot: *mut Self| {
            // SAFETY: `slot` is valid, pinned memory for `Self`. The fields
            // are written before the interrupt is requested, so the handler
            // sees them initialised; on failure they are dropped again and
            // the slot is left uninitialised, as `pin_init_from_closure`
            // requires.
            unsafe {
                addr_of_mut!((*slot).irq).write(irq);
                addr_of_mut!((*slot).name).write(name);
                addr_of_mut!((*slot).handler).write(handler);
                let ret = bindings::request_threaded_irq(
                    irq,
                    Some(Self::callback),
                    None,
                    0,
                    (*slot).name.as_char_ptr(),
                    slot.cast(),
                );
                if let Err(e) = to_result(ret) {
                    core::ptr::drop_in_place(addr_of_mut!((*slot).name));
                    core::ptr::drop_in_place(addr_of_mut!((*slot).handler));
                    return Err(e);
                }
            }
            Ok(())
        };
        // SAFETY: `init` initialises every field (`_pin` is a ZST) when it
        // returns `Ok`, and nothing when it returns `Err`.
        unsafe { kernel::init::pin_init_from_closure(init) }
    }

    /// The Linux IRQ number.
    pub fn irq(&self) -> u32 {
        self.irq
    }

    /// Gives the interrupt the `index`-th CPU near NUMA node `node` (as
    /// `cpumask_local_spread` counts them) as its affinity hint, and with
    /// `apply` as its affinity too. Cleared when the interrupt is freed.
    pub fn spread(&self, index: u32, node: kernel::ffi::c_int, apply: bool) -> Result {
        // SAFETY: The interrupt is requested (type invariant); the hint is a
        // static mask, cleared in drop before `free_irq`.
        to_result(unsafe { bindings::ntbnet_irq_spread_hint(self.irq, index, node, apply) })
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// # Safety
    ///
    /// Called by the IRQ core with the `dev_id` given to `request_irq`.
    unsafe extern "C" fn callback(
        _irq: kernel::ffi::c_int,
        dev_id: *mut kernel::ffi::c_void,
    ) -> bindings::irqreturn_t {
        // SAFETY: `dev_id` is the registration, valid while the interrupt
        // is requested (type invariant).
        let this = unsafe { &*(dev_id as *const Self) };
        match this.handler.handle_irq() {
            IrqReturn::None => bindings::irqreturn_IRQ_NONE,
            IrqReturn::Handled => bindings::irqreturn_IRQ_HANDLED,
        }
    }
}

#[pinned_drop]
impl<H: Handler> PinnedDrop for Registration<H> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The interrupt was requested with this `dev_id` (type
        // invariant); `free_irq` waits for running handlers. A hint (set or
        // not) is cleared first, as `free_irq` expects.
        unsafe { bindings::ntbnet_irq_clear_hint(self.irq) };
        // SAFETY: As above.
        unsafe { bindings::free_irq(self.irq, &*self as *const Self as *mut kernel::ffi::c_void) };
    }
}

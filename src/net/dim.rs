// SPDX-License-Identifier: GPL-2.0

//! Dynamic interrupt moderation with the kernel's DIM library (`lib/dim`,
//! `net_dim`): it samples a queue's event, packet and byte counters and
//! picks one of [`PROFILES`] moderation levels, climbing while the
//! traffic gets better (more bytes or packets per millisecond, or fewer
//! events for the same) and turning back when it gets worse. What a level
//! means is the driver's: an index into its own table.

use crate::klib::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// Moderation levels `net_dim` chooses between (`NET_DIM_PARAMS_NUM_PROFILES`).
pub const PROFILES: usize = 5;

/// The DIM state of one queue; its work item is cancelled on drop.
///
/// # Invariants
///
/// The `struct dim` is initialised by `ntbnet_dim_init`.
#[pin_data(PinnedDrop)]
pub struct Dim {
    #[pin]
    dim: Opaque<bindings::dim>,
}

// SAFETY: `sample` is called from one context at a time (the caller's
// contract); the DIM work item only writes the state, as in every driver.
unsafe impl Sync for Dim {}
// SAFETY: See above.
unsafe impl Send for Dim {}

impl Dim {
    /// A DIM state at level 0, measuring from the first sample.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `ntbnet_dim_init` zeroes and initialises the state.
            dim <- Opaque::ffi_init(|d| unsafe { bindings::ntbnet_dim_init(d) }),
        })
    }

    /// Feeds the queue's running counters (events: interrupts and timer
    /// polls; frames; bytes; each wrapping) and returns the level in effect,
    /// `0..PROFILES`.
    ///
    /// Calls must not run concurrently: call it from the queue's NAPI poll
    /// only, which the NAPI core serialises.
    pub fn sample(&self, events: u16, packets: u32, bytes: u32) -> usize {
        // SAFETY: Initialised (type invariant); the poll is the only caller
        // at a time (see above), and `net_dim` runs in any context.
        let ix = unsafe { bindings::ntbnet_dim_sample(self.dim.get(), events, packets, bytes) };
        usize::from(ix).min(PROFILES - 1)
    }
}

#[pinned_drop]
impl PinnedDrop for Dim {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Initialised (type invariant); waits for a queued work.
        unsafe { bindings::ntbnet_dim_cancel(self.dim.get()) };
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Per-queue interrupts, from the NTB irq domain (src/irq/domain/,
//! Documentation/irq-domain.md).
//!
//! Each queue has its own Linux IRQ, `ntb0-q<N>` in /proc/interrupts,
//! whose handler schedules the queue's NAPI context, and a trigger
//! descriptor that this host publishes to the peer in scratchpads (three
//! words per queue, `irq_index::Trigger::to_words`). The peer resolves it
//! into a [`PeerTrigger`] and raises the interrupt with one posted write.
//! The domain picks its backend: MSI messages through the NTB's last memory
//! window where the hardware allows, otherwise NTB doorbells cascaded from
//! the NTB core's `db_event` (the virtual NTB). The `irq_mode` module
//! parameter (`auto`, `msi`, `doorbell`) forces one.

use crate::klib::irq::domain::{self, Config, IrqDomain, Mode, PeerTrigger, Trigger};
use crate::klib::irq::index::TRIGGER_WORDS;
use crate::klib::irq::{self, IrqReturn};
use crate::klib::ntb;
use crate::queue::Queue;
use crate::window::WIDX;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// The words of one trigger descriptor.
pub(crate) type TriggerWords = [u32; TRIGGER_WORDS];

/// The handler of one queue's interrupt.
pub(crate) struct QueueIrq(Arc<Queue>);

impl irq::Handler for QueueIrq {
    fn handle_irq(&self) -> IrqReturn {
        self.0.interrupt();
        IrqReturn::Handled
    }
}

/// What the domain calls back into: queues whose trigger changed (an MSI
/// moved to another CPU), to publish again.
pub(crate) struct Owner {
    changed: AtomicU64,
}

impl domain::Owner for Owner {
    type Handler = QueueIrq;

    fn trigger_changed(&self, queue: u32, _trigger: Trigger) {
        if queue < 64 {
            self.changed.fetch_or(1 << queue, Ordering::AcqRel);
        }
    }
}

/// The interrupts of every queue this device can have, requested for the
/// device's life.
pub(crate) struct Irqs {
    domain: IrqDomain<Owner>,
}

impl Irqs {
    /// Creates the domain named `name` with one interrupt per queue. The
    /// NTB link must be up (for the MSI backend).
    /// `verbose`: print the informational messages (message level `probe`).
    pub(crate) fn new(
        dev: &ntb::Device,
        name: &CStr,
        queues: &[Arc<Queue>],
        verbose: bool,
    ) -> Result<Self> {
        let cfg = Config {
            name,
            queues: queues.len() as u32,
            mode: Mode::from_param()?,
            db_mask: 0,
            // ntbnet's data window comes first; the MSI backend takes the
            // last one.
            data_windows: WIDX as u32 + 1,
            verbose,
            unsafe_msi: domain::allow_unsafe_msi_param(),
        };
        let owner = Owner {
            changed: AtomicU64::new(0),
        };
        let domain = IrqDomain::new(dev, &cfg, owner)?;
        for (q, queue) in queues.iter().enumerate() {
            domain.request(q as u32, QueueIrq(queue.clone()))?;
        }
        if verbose {
            pr_info!(
                "{}: {} queue interrupts ({}{})\n",
                name,
                queues.len(),
                domain.backend().name(),
                match domain.remap() {
                    Some(domain::Remap::None) => ", not remapped",
                    Some(_) => ", remapped",
                    None => "",
                }
            );
        }
        Ok(Self { domain })
    }

    /// The NUMA node whose CPUs the queue interrupts are spread over: queue
    /// `q`'s on the `q`-th CPU near it, which transmit steering must give
    /// queue `q` too.
    pub(crate) fn node(&self) -> kernel::ffi::c_int {
        self.domain.node()
    }

    /// The trigger descriptor of local queue `q`, for the peer.
    pub(crate) fn trigger_words(&self, q: u32) -> TriggerWords {
        self.domain
            .trigger(q)
            .map_or([0; TRIGGER_WORDS], |t| t.to_words())
    }

    /// Queues whose trigger changed since the last call, as bits.
    pub(crate) fn take_changed(&self) -> u64 {
        self.domain.owner().changed.swap(0, Ordering::AcqRel)
    }

    /// Feeds the NTB core's doorbell event to the domain (interrupt
    /// context).
    pub(crate) fn db_event(&self, vector: u32) {
        self.domain.db_event(vector);
    }
}

/// Resolves a trigger descriptor the peer published (untrusted: decoded
/// with every field checked, the window offset checked against the window).
pub(crate) fn resolve(dev: &ntb::Device, words: TriggerWords) -> Result<Arc<PeerTrigger>> {
    let trigger = Trigger::from_words(words).map_err(|_| EINVAL)?;
    Ok(Arc::new(PeerTrigger::new(dev, &trigger)?, GFP_KERNEL)?)
}

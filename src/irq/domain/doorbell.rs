// SPDX-License-Identifier: GPL-2.0

//! The doorbell backend: a linear domain cascaded from the NTB doorbell
//! interrupts; queue `q` rings the doorbell bit [`DbMap`] gives it.

use super::{Hw, IrqDomain, Owner};
use crate::klib::bindings;
use kernel::c_str;
use kernel::ffi::{c_int, c_uint, c_ulong};

impl<T: Owner> IrqDomain<T> {
    /// Feeds a doorbell event to the doorbell backend: call it from the
    /// NTB client's `db_event` (interrupt context). Reads and clears the
    /// vector's pending bits that the domain uses and raises the queue
    /// interrupts of each; returns whether there were any. Bits outside
    /// [`Config::db_mask`] are left for the caller. Does nothing for the
    /// MSI backend.
    pub fn db_event(&self, vector: u32) -> bool {
        let inner = &*self.inner;
        let Hw::Doorbell { ntb, map } = &inner.hw else {
            return false;
        };
        let bits = ntb.db_read() & ntb.db_vector_mask(vector) & map.mask();
        if bits == 0 {
            return false;
        }
        // Clear before handling: a doorbell rung meanwhile stays pending.
        let _ = ntb.db_clear(bits);
        let domain = inner.domain();
        let mut rest = bits;
        while rest != 0 {
            let bit = rest.trailing_zeros();
            rest &= rest - 1;
            for queue in map.queues_for_bit(bit, inner.queues) {
                if inner.is_active(queue) {
                    // SAFETY: `domain` is this domain; an unmapped queue is
                    // refused, and an interrupt being freed has no action.
                    unsafe { bindings::generic_handle_domain_irq(domain, queue) };
                }
            }
        }
        true
    }
}

/// The chip of the doorbell backend's interrupts: raised in software from
/// the doorbell interrupt, nothing to mask or ack per queue.
const DB_CHIP: bindings::irq_chip = bindings::irq_chip {
    name: c_str!("ntb-db").as_char_ptr(),
    irq_mask: Some(db_nop),
    irq_unmask: Some(db_nop),
    flags: bindings::IRQCHIP_SKIP_SET_WAKE as c_ulong,
    // SAFETY: All-zero is a valid `irq_chip` (every operation `None`).
    ..unsafe { core::mem::zeroed() }
};

pub(super) const DB_OPS: bindings::irq_domain_ops = bindings::irq_domain_ops {
    map: Some(db_map),
    // SAFETY: All-zero is a valid `irq_domain_ops`.
    ..unsafe { core::mem::zeroed() }
};

/// # Safety
///
/// Called by the interrupt core for an interrupt of a doorbell domain.
unsafe extern "C" fn db_nop(_data: *mut bindings::irq_data) {}

/// # Safety
///
/// Called by the interrupt core when `virq` is associated with the
/// doorbell domain `d`.
unsafe extern "C" fn db_map(_d: *mut bindings::irq_domain, virq: c_uint, _hw: c_ulong) -> c_int {
    // SAFETY: `virq` is a freshly associated interrupt; the chip is static.
    unsafe {
        bindings::irq_set_chip_and_handler_name(
            virq,
            &DB_CHIP,
            Some(bindings::handle_simple_irq),
            c_str!("doorbell").as_char_ptr(),
        )
    };
    0
}

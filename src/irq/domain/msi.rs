// SPDX-License-Identifier: GPL-2.0

//! The MSI backend: a hierarchical domain on the PCI device's MSI parent
//! domain, whose chip captures each composed message for the peer, and the
//! translation of the last inbound window onto the MSI range.

use super::{Config, Hw, Inner, IrqDomain, Mode, Owner, Remap};
use crate::klib::bindings;
use crate::klib::irq::index::{MsiWindow, PackedMsg, Trigger, WindowError, MAX_QUEUES};
use crate::klib::kern::errno::{enotconn, eopnotsupp};
use crate::klib::{ntb, pci};
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::error::to_result;
use kernel::ffi::{c_int, c_uint, c_ulong, c_void};
use kernel::fmt;
use kernel::prelude::*;
use kernel::str::CStr;
/// The MSI parent domain of `pdev` (its interrupt remapping domain, or
/// the vector domain), if it has one.
fn msi_parent(pdev: &pci::Device) -> Option<*mut bindings::irq_domain> {
    // SAFETY: `pdev` is a valid PCI device.
    let parent = unsafe { bindings::ntbnet_pci_msi_parent(pdev.as_raw()) };
    (!parent.is_null()).then_some(parent)
}

/// How an MSI parent domain remaps interrupts.
fn parent_remap(parent: *mut bindings::irq_domain) -> Remap {
    // SAFETY: `parent` is a live irq domain (the caller's MSI parent).
    match unsafe { bindings::ntbnet_msi_parent_remapping(parent) } {
        1 => Remap::Intel,
        2 => Remap::Amd,
        _ => Remap::None,
    }
}

/// x86: address bit 4 of a message in Intel's remappable format.
const DMAR_FORMAT: u64 = 1 << 4;

/// The MSI address range of this machine (x86: the local APIC's 1 MiB at
/// 0xfee00000), as a window whose offsets are relative to its base: what
/// [`IrqDomain::new_msi`] takes when inbound writes arrive untranslated.
pub fn msi_range() -> Result<MsiWindow> {
    let (mut base, mut size) = (0, 0);
    // SAFETY: Both outputs are valid.
    to_result(unsafe { bindings::ntbnet_msi_address_range(&mut base, &mut size) })?;
    Ok(MsiWindow { base, size })
}

impl<T: Owner> Inner<T> {
    /// Stores the message composed for `queue` and reports a change of a
    /// requested queue's trigger. Atomic context.
    pub(super) fn capture(&self, queue: u32, addr: u64, data: u32) {
        let Hw::Msi {
            window,
            widx,
            remap,
            ..
        } = &self.hw
        else {
            return;
        };
        let Some(slot) = self.msgs.get(queue as usize) else {
            return;
        };
        let packed = match window.offset(addr) {
            // Under VT-d a message the peer may write must name a
            // remapping entry: a compatibility-format one would name a
            // vector of a CPU.
            Some(_) if *remap == Remap::Intel && addr & DMAR_FORMAT == 0 => {
                pr_warn!(
                    "{}: queue {}: MSI address {:#x} is not in remappable format; not published\n",
                    &*self.name,
                    queue,
                    addr
                );
                PackedMsg::NONE
            }
            Some(off) => PackedMsg::new(off, data),
            None => {
                pr_warn!(
                    "{}: queue {}: MSI address {:#x} is outside the window {:#x}+{:#x}\n",
                    &*self.name,
                    queue,
                    addr,
                    window.base,
                    window.size
                );
                PackedMsg::NONE
            }
        };
        // Pairs with `request`: it sets `active` and then reads the
        // message, this stores the message and then reads `active`, both
        // sequentially consistent, so a change is either reported or read.
        let old = PackedMsg::from_raw(slot.swap(packed.raw(), Ordering::SeqCst));
        if old != packed && self.is_active(queue) {
            if let Some((offset, data)) = packed.get() {
                self.owner.trigger_changed(
                    queue,
                    Trigger::Msi {
                        window: *widx,
                        offset,
                        data,
                    },
                );
            }
        }
    }
}

impl<T: Owner> IrqDomain<T> {
    /// Creates an MSI-backend domain for a PCI device whose inbound writes
    /// to `window` arrive on the MSI range, untranslated by any NTB: the
    /// trigger offsets are relative to `window.base`, window index `widx`.
    /// Used by tests, where a DMA engine plays the peer.
    pub fn new_msi(
        pdev: &pci::Device,
        name: &CStr,
        queues: u32,
        window: MsiWindow,
        widx: u32,
        owner: T,
    ) -> Result<Self> {
        if queues == 0 || queues > MAX_QUEUES {
            return Err(EINVAL);
        }
        let Some(parent) = msi_parent(pdev) else {
            pr_err!("{}: {} has no MSI parent domain\n", name, pdev.name());
            return Err(ENODEV);
        };
        let hw = Hw::Msi {
            window,
            widx,
            ntb: None,
            remap: parent_remap(parent),
        };
        Self::create(pdev, parent, hw, name, queues, owner)
    }

    /// Checks that an NTB device can do MSI safely and translates its last
    /// inbound window onto the MSI range, exactly; returns the window, its
    /// index, the parent domain and how it remaps.
    ///
    /// The window lets the peer write this host's interrupt controller
    /// (Documentation/irq-domain.md, "Safety"), so it must cover the MSI
    /// range and nothing else, and without interrupt remapping the backend
    /// is refused unless `cfg.unsafe_msi` allows it.
    pub(super) fn ntb_msi_window(
        ntb: &ntb::Device,
        cfg: &Config<'_>,
    ) -> Result<(MsiWindow, u32, *mut bindings::irq_domain, Remap)> {
        let forced = cfg.mode == Mode::Msi;
        let name = cfg.name;
        let fail = |e: Error, why: core::fmt::Arguments<'_>| {
            if forced {
                pr_err!("{}: MSI backend unavailable: {}\n", name, why);
            } else if cfg.verbose {
                pr_info!(
                    "{}: MSI backend unavailable: {}; using the doorbell backend\n",
                    name,
                    why
                );
            }
            e
        };
        let Some(parent) = msi_parent(ntb.pci_dev()) else {
            return Err(fail(
                ENODEV,
                fmt!("{} has no MSI parent domain", ntb.pci_name()),
            ));
        };
        let remap = parent_remap(parent);
        if remap == Remap::None {
            if !cfg.unsafe_msi {
                // A refusal for safety is a warning, not a mere fallback.
                let why = fmt!(
                    "no interrupt remapping for {}: through the MSI window the peer could send any interrupt vector to any CPU of this host, NMI and INIT included (allow it for a trusted peer with allow_unsafe_msi=1)",
                    ntb.pci_name()
                );
                if forced {
                    pr_err!("{}: MSI backend refused: {}\n", name, why);
                } else {
                    pr_warn!(
                        "{}: MSI backend refused: {}; using the doorbell backend\n",
                        name,
                        why
                    );
                }
                return Err(EPERM);
            }
            pr_warn!(
                "{}: MSI backend without interrupt remapping (allow_unsafe_msi=1): the peer can send any interrupt vector to any CPU of this host\n",
                name
            );
        }
        let Ok(MsiWindow { base, size }) = msi_range() else {
            return Err(fail(
                eopnotsupp(),
                fmt!("no MSI address range on this architecture"),
            ));
        };
        let spare = ntb.mw_count(0).unwrap_or(0);
        if spare <= cfg.data_windows {
            return Err(fail(
                ENOSPC,
                fmt!(
                    "no spare memory window ({} windows, {} for data)",
                    spare,
                    cfg.data_windows
                ),
            ));
        }
        let widx = spare - 1;
        // `ntb_mw_get_align()` answers only with the link up: on some NTBs
        // (Switchtec) the window depends on the peer's configuration.
        // A link that went down since the caller saw it up is transient:
        // `ENOTCONN`, not logged, for the caller to try again.
        if !ntb.link_is_up() {
            return Err(enotconn());
        }
        // `spare` came from an `int`.
        let w = widx as i32;
        let align = ntb
            .mw_get_align(0, w)
            .map_err(|e| fail(e, fmt!("window {}: no alignment ({})", widx, e.to_errno())))?;
        let window = MsiWindow::place(base, size, &align).map_err(|e| {
            let what = match e {
                WindowError::NotExact => "cannot cover exactly (it would expose addresses outside)",
                _ => "cannot reach",
            };
            fail(
                ERANGE,
                fmt!(
                    "window {} (align {:#x}, size align {:#x}, max {:#x}) {} the MSI range {:#x}+{:#x}",
                    widx,
                    align.addr_align,
                    align.size_align,
                    align.size_max,
                    what,
                    base,
                    size
                ),
            )
        })?;
        // SAFETY: `window` is exactly the MSI range (`MsiWindow::place`
        // refuses to cover anything else), where a write is an interrupt
        // request that the interrupt controller checks; the translation
        // stays until the domain is dropped.
        unsafe { ntb.mw_set_trans_addr(0, w, window.base, window.size) }.map_err(|e| {
            fail(
                e,
                fmt!(
                    "window {} cannot be translated onto the MSI range {:#x}+{:#x} ({})",
                    widx,
                    window.base,
                    window.size,
                    e.to_errno()
                ),
            )
        })?;
        if cfg.verbose {
            pr_info!(
                "{}: MSI backend: window {} translated onto {:#x}+{:#x}, interrupts {}\n",
                name,
                widx,
                window.base,
                window.size,
                match remap {
                    Remap::Intel => "remapped (VT-d)",
                    Remap::Amd => "remapped (AMD-Vi)",
                    Remap::None => "not remapped",
                }
            );
        }
        Ok((window, widx, parent, remap))
    }
}

/// The MSI backend's domain and chip callbacks.
pub(super) struct Adapter<T: Owner>(core::marker::PhantomData<T>);

impl<T: Owner> Adapter<T> {
    /// The chip of the MSI backend's level: everything is the parent's but
    /// `irq_write_msi_msg`, which captures the message for the peer, and
    /// `irq_set_affinity`, which has the message recomposed after a move.
    const MSI_CHIP: bindings::irq_chip = bindings::irq_chip {
        name: c_str!("ntb-msi").as_char_ptr(),
        irq_ack: Some(bindings::irq_chip_ack_parent),
        irq_retrigger: Some(bindings::irq_chip_retrigger_hierarchy),
        irq_set_affinity: Some(Self::msi_set_affinity),
        irq_write_msi_msg: Some(Self::msi_write_msg),
        flags: (bindings::IRQCHIP_SKIP_SET_WAKE | bindings::IRQCHIP_AFFINITY_PRE_STARTUP)
            as c_ulong,
        // SAFETY: All-zero is a valid `irq_chip` (every operation `None`).
        ..unsafe { core::mem::zeroed() }
    };

    pub(super) const MSI_OPS: bindings::irq_domain_ops = bindings::irq_domain_ops {
        alloc: Some(Self::msi_alloc),
        free: Some(Self::msi_free),
        activate: Some(Self::msi_activate),
        // SAFETY: All-zero is a valid `irq_domain_ops`.
        ..unsafe { core::mem::zeroed() }
    };

    /// # Safety
    ///
    /// `d` must be an MSI-backend domain created by `IrqDomain::create`.
    unsafe fn inner<'a>(d: *mut bindings::irq_domain) -> &'a Inner<T> {
        // SAFETY: The domain's host data is its pinned `Inner`, which
        // outlives it.
        unsafe { &*((*d).host_data as *const Inner<T>) }
    }

    /// Allocates one queue interrupt: the parent's levels, then this one.
    ///
    /// # Safety
    ///
    /// Called by the interrupt core for domain `d` with the allocation
    /// info of `Inner::map`.
    unsafe extern "C" fn msi_alloc(
        d: *mut bindings::irq_domain,
        virq: c_uint,
        nr: c_uint,
        arg: *mut c_void,
    ) -> c_int {
        // SAFETY: `d` is one of ours (the core calls its own callbacks).
        let inner = unsafe { Self::inner(d) };
        if nr != 1 || arg.is_null() {
            return EINVAL.to_errno();
        }
        // SAFETY: `arg` is the `msi_alloc_info_t` of `Inner::map`.
        let hwirq = unsafe { bindings::ntbnet_msi_info_hwirq(arg.cast()) };
        if hwirq >= inner.queues as c_ulong {
            return EINVAL.to_errno();
        }
        // SAFETY: `virq` is being allocated in `d`; the parent expects the
        // same info.
        let ret = unsafe { bindings::irq_domain_alloc_irqs_parent(d, virq, 1, arg) };
        if ret < 0 {
            return ret;
        }
        let chip_data = inner as *const Inner<T> as *mut c_void;
        // SAFETY: As above; the chip is static, `chip_data` outlives the
        // interrupt.
        let ret = unsafe {
            bindings::irq_domain_set_hwirq_and_chip(d, virq, hwirq, &Self::MSI_CHIP, chip_data)
        };
        if ret < 0 {
            // SAFETY: The parent levels were allocated above.
            unsafe { bindings::irq_domain_free_irqs_parent(d, virq, 1) };
            return ret;
        }
        // SAFETY: `virq` is allocated. Edge flow as for any MSI. The message
        // lives in the peer, not in a device register that a move could
        // tear, and the old vector stays valid until the new one is used,
        // so the interrupt can move in process context, as HPET and the
        // remapping domain's interrupts do; /proc/irq/N/smp_affinity then
        // takes effect at once.
        unsafe {
            bindings::__irq_set_handler(
                virq,
                Some(bindings::handle_edge_irq),
                0,
                c_str!("edge").as_char_ptr(),
            );
            bindings::irq_modify_status(virq, 0, bindings::IRQ_MOVE_PCNTXT as c_ulong);
        }
        0
    }

    /// # Safety
    ///
    /// Called by the interrupt core for interrupts `msi_alloc` allocated.
    unsafe extern "C" fn msi_free(d: *mut bindings::irq_domain, virq: c_uint, nr: c_uint) {
        // SAFETY: `d` is one of ours.
        let inner = unsafe { Self::inner(d) };
        for i in 0..nr {
            // SAFETY: `virq + i` belongs to `d`.
            let irqd = unsafe { bindings::irq_domain_get_irq_data(d, virq + i) };
            if !irqd.is_null() {
                // SAFETY: `irqd` is valid.
                inner.forget(unsafe { (*irqd).hwirq } as u32);
            }
        }
        // SAFETY: Frees this level and the parent's.
        unsafe { bindings::irq_domain_free_irqs_common(d, virq, nr) };
    }

    /// Composes the message of `irqd` with the first parent level that
    /// composes (`irq_chip_compose_msi_msg()`, which 6.12 does not export).
    ///
    /// # Safety
    ///
    /// `irqd` must be an activated interrupt of an MSI-backend domain.
    unsafe fn compose(irqd: *mut bindings::irq_data, msg: &mut bindings::msi_msg) -> bool {
        // SAFETY: The hierarchy of an allocated interrupt is valid; each
        // level has a chip or none.
        unsafe {
            let mut d = (*irqd).parent_data;
            while !d.is_null() {
                let chip = (*d).chip;
                if !chip.is_null() {
                    if let Some(compose) = (*chip).irq_compose_msi_msg {
                        compose(d, msg);
                        return true;
                    }
                }
                d = (*d).parent_data;
            }
        }
        false
    }

    /// Composes and captures the message when the interrupt is activated
    /// (`request_irq`), after the parents got their vector.
    ///
    /// # Safety
    ///
    /// Called by the interrupt core for an interrupt of domain `d`.
    unsafe extern "C" fn msi_activate(
        _d: *mut bindings::irq_domain,
        irqd: *mut bindings::irq_data,
        _reserve: bool,
    ) -> c_int {
        let mut msg = bindings::msi_msg::default();
        // SAFETY: The parents are activated first.
        if !unsafe { Self::compose(irqd, &mut msg) } {
            return -(bindings::ENOSYS as c_int);
        }
        // SAFETY: `irqd` is this level's data; `msg` is valid.
        unsafe { Self::msi_write_msg(irqd, &mut msg) };
        0
    }

    /// Moves the interrupt with the parents; when the message changed (a
    /// new vector or CPU without remapping), captures the new one.
    ///
    /// # Safety
    ///
    /// Called by the interrupt core, descriptor locked, for an activated
    /// interrupt of an MSI-backend domain.
    unsafe extern "C" fn msi_set_affinity(
        irqd: *mut bindings::irq_data,
        mask: *const bindings::cpumask,
        force: bool,
    ) -> c_int {
        // SAFETY: Called as the chip's own `irq_set_affinity`.
        let ret = unsafe { bindings::irq_chip_set_affinity_parent(irqd, mask, force) };
        // With remapping, the remapping entry moved and the message, its
        // handle, stays the same.
        if ret < 0 || ret == bindings::IRQ_SET_MASK_OK_DONE as c_int {
            return ret;
        }
        let mut msg = bindings::msi_msg::default();
        // SAFETY: The interrupt is activated.
        if unsafe { Self::compose(irqd, &mut msg) } {
            // SAFETY: `irqd` is this level's data; `msg` is valid.
            unsafe { Self::msi_write_msg(irqd, &mut msg) };
        }
        ret
    }

    /// Captures a composed message: the trigger the peer writes.
    ///
    /// # Safety
    ///
    /// `irqd` must be this level's data of an MSI-backend interrupt and
    /// `msg` valid.
    unsafe extern "C" fn msi_write_msg(irqd: *mut bindings::irq_data, msg: *mut bindings::msi_msg) {
        // SAFETY: The chip data of this level is the domain's `Inner`, which
        // outlives its interrupts; `msg` is valid.
        let (inner, queue, m) = unsafe {
            (
                &*((*irqd).chip_data as *const Inner<T>),
                (*irqd).hwirq as u32,
                &*msg,
            )
        };
        // SAFETY: Plain integers in unions of integers.
        let (lo, hi, data) = unsafe {
            (
                m.__bindgen_anon_1.address_lo,
                m.__bindgen_anon_2.address_hi,
                m.__bindgen_anon_3.data,
            )
        };
        inner.capture(queue, u64::from(hi) << 32 | u64::from(lo), data);
    }
}

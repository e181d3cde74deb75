// SPDX-License-Identifier: GPL-2.0

//! The NTB irq domain: per-queue interrupts that a peer raises through the
//! NTB (Documentation/irq-domain.md).
//!
//! A driver creates one [`IrqDomain`] per NTB device with a number of
//! queues and asks for "queue `q`'s interrupt" in that zero-based index
//! space ([`IrqDomain::request`]). It gets a Linux IRQ, named `<name>-q<q>`
//! in /proc/interrupts, and a [`Trigger`]: what the peer writes where to
//! raise it, which the driver publishes to the peer. The peer resolves a
//! published trigger with [`PeerTrigger::new`] and raises the interrupt
//! with [`PeerTrigger::fire`]. When a trigger changes (the interrupt moved
//! to another CPU), [`Owner::trigger_changed`] says so, and the driver
//! publishes it again.
//!
//! Two backends sit behind that interface ([`Backend`]):
//!
//! - MSI: a hierarchical irq domain whose parent is the MSI parent domain
//!   of the NTB's PCI device (the x86 vector domain, or the interrupt
//!   remapping domain). The parent composes each interrupt's MSI message;
//!   the domain's `irq_chip` captures it in `irq_write_msi_msg`. The last
//!   inbound memory window is translated onto the MSI address range, so a
//!   peer's 32-bit write of the message data at `address - window base` in
//!   its outbound window arrives as that MSI. This is the per-device NTB
//!   domain Thomas Gleixner sketched, built from the irqdomain helpers that
//!   6.12 exports (it does not export `msi_create_device_irq_domain()`).
//! - Doorbell: a linear domain cascaded from the NTB doorbell interrupts.
//!   Queue `q` rings one doorbell bit ([`DbMap`]); the driver feeds the
//!   NTB core's `db_event` into [`IrqDomain::db_event`], which raises the
//!   queues of the bits that rang (`generic_handle_domain_irq`).
//!
//! [`Mode`] chooses: MSI when the device has a spare window that can be
//! translated onto the MSI range and an MSI parent domain, doorbells
//! otherwise; either can be forced.
//!
//! The domain is visible under /sys/kernel/debug/irq/domains as
//! `<name>-msi` or `<name>-db`.

mod doorbell;
mod msi;
mod peer;

pub use msi::msi_range;
pub use peer::PeerTrigger;

use crate::klib::bindings;
use crate::klib::irq::index::{DbMap, IndexError, IndexSpace, PackedMsg, MAX_QUEUES};
pub use crate::klib::irq::index::{MsiWindow, Trigger};
use crate::klib::kern::errno::{eaddrnotavail, enotconn};
use crate::klib::{irq, ntb, pci};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use kernel::device::Device;
use kernel::error::to_result;
use kernel::ffi::{c_int, c_ulong, c_void};
use kernel::fmt;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::str::{CStr, CString};
use kernel::sync::Mutex;
use kernel::types::{ARef, Opaque};

/// Whether [`IrqDomain::new`] failed because the NTB link went down while
/// it ran (`ENOTCONN`): a transient state, to try again at the next
/// link-up.
pub fn link_went_down(e: Error) -> bool {
    e == enotconn()
}

/// Which backend a domain should use (a driver's module parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// MSI when the NTB can do it, doorbells otherwise.
    Auto,
    /// MSI, or fail.
    Msi,
    /// Doorbells.
    Doorbell,
}

impl Mode {
    /// Parses a module parameter: `auto` (or empty), `msi`, `doorbell`
    /// (or `db`).
    pub fn parse(s: &[u8]) -> Result<Self> {
        match s {
            b"" | b"auto" => Ok(Mode::Auto),
            b"msi" => Ok(Mode::Msi),
            b"doorbell" | b"db" => Ok(Mode::Doorbell),
            _ => Err(EINVAL),
        }
    }

    /// The module's `irq_mode` parameter. A module gets the parameter by
    /// defining `NTBNET_IRQ_MODE_PARAM` in its C helper file before it
    /// includes `src/bindings/helpers.c`; without it this is [`Mode::Auto`].
    pub fn from_param() -> Result<Self> {
        // SAFETY: The helper returns the parameter, read-only after load, or
        // a static string; either is NUL-terminated and lives as long as the
        // module.
        let s = unsafe { CStr::from_char_ptr(bindings::ntbnet_irq_mode_param()) };
        Self::parse(s.as_bytes()).inspect_err(|_| {
            pr_err!("irq_mode={}: expected auto, msi or doorbell\n", s);
        })
    }
}

/// The module's `allow_unsafe_msi` parameter (defined with `irq_mode`, see
/// [`Mode::from_param`]; false in modules without it): whether the MSI
/// backend may be used without interrupt remapping ([`Config::unsafe_msi`]).
pub fn allow_unsafe_msi_param() -> bool {
    // SAFETY: Reads a module parameter; no preconditions.
    unsafe { bindings::ntbnet_allow_unsafe_msi_param() }
}

/// Whether, and by which IOMMU, the MSI parent domain remaps interrupts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remap {
    /// No remapping: a message names a vector of a CPU, and whoever can
    /// write the MSI range can send any vector (or an NMI, an INIT) to any
    /// CPU.
    None,
    /// Intel VT-d: a message is in remappable format (address bit 4) and
    /// names an entry of the remapping table that checks the requester ID.
    Intel,
    /// AMD-Vi: the data names an entry of the device's own table.
    Amd,
}

/// The backend a domain uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Peer writes of MSI messages through a memory window.
    Msi,
    /// NTB doorbell bits, cascaded.
    Doorbell,
}

impl Backend {
    /// `"msi"` or `"db"`, the suffix of the domain's name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Msi => "msi",
            Backend::Doorbell => "db",
        }
    }
}

/// How to build an NTB irq domain.
pub struct Config<'a> {
    /// Name prefix: the domain is `<name>-msi` or `<name>-db`, queue `q`'s
    /// interrupt `<name>-q<q>` (e.g. `ntb0-q3`).
    pub name: &'a CStr,
    /// Queues, at most [`MAX_QUEUES`]: the index space is `0..queues`.
    pub queues: u32,
    /// Backend choice.
    pub mode: Mode,
    /// Doorbell bits the doorbell backend may use (0: all valid bits).
    /// Both hosts must use the same mask: queue `q` rings the `q % n`-th of
    /// the `n` bits set.
    pub db_mask: u64,
    /// Inbound memory windows the driver keeps for itself (from index 0):
    /// the MSI backend takes the last window and needs one beyond these.
    pub data_windows: u32,
    /// Print the backend's informational messages (the choice of backend,
    /// the MSI window); errors are printed regardless. A network driver
    /// passes its message level's `probe` class.
    pub verbose: bool,
    /// Allow the MSI backend without interrupt remapping (the module's
    /// `allow_unsafe_msi`, [`allow_unsafe_msi_param`]). Without remapping
    /// the window onto the MSI range lets the peer send any interrupt to
    /// this host, so by default such an NTB gets the doorbell backend.
    pub unsafe_msi: bool,
}

/// What an [`IrqDomain`] holds for its owner and calls back into.
pub trait Owner: Send + Sync + 'static {
    /// The handler of one queue interrupt.
    type Handler: irq::Handler + 'static;

    /// The trigger of requested queue `queue` changed: its interrupt moved
    /// (affinity change, CPU hotplug) and the parent composed a new MSI
    /// message. Publish `trigger` to the peer; until the peer uses it, the
    /// old one still raises the interrupt (the old vector is released when
    /// the first interrupt arrives through the new one).
    ///
    /// Called in atomic context (with the IRQ descriptor lock held,
    /// interrupts off, possibly in hard interrupt context and possibly
    /// while [`IrqDomain::request`] of that queue runs): store the trigger
    /// and defer anything that sleeps. Never called by the doorbell
    /// backend, whose triggers do not change.
    fn trigger_changed(&self, _queue: u32, _trigger: Trigger) {}
}

/// A requested queue interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vector {
    /// The Linux IRQ number.
    pub irq: u32,
    /// How the peer raises it.
    pub trigger: Trigger,
}

/// What the backend needs at run time.
enum Hw {
    Msi {
        /// The inbound window's translation onto the MSI range.
        window: MsiWindow,
        /// The window's index, which the peer writes through (below
        /// `ntb_mw_count()`, an `int`).
        widx: u32,
        /// The NTB device whose window is translated (`None`: a PCI device
        /// whose inbound writes arrive untranslated, as in the tests).
        ntb: Option<ARef<ntb::Device>>,
        /// How the parent remaps interrupts.
        remap: Remap,
    },
    Doorbell {
        /// The NTB device whose doorbells the domain cascades. Interrupt
        /// context borrows it; its reference is taken and dropped in
        /// process context only (`new`, drop).
        ntb: ARef<ntb::Device>,
        map: DbMap,
    },
}

/// One requested queue.
struct Slot<H: irq::Handler> {
    irq: u32,
    reg: Pin<KBox<irq::Registration<H>>>,
}

/// The requested queues.
struct Slots<H: irq::Handler> {
    index: IndexSpace,
    slots: KVec<Option<Slot<H>>>,
}

/// What the interrupt core's callbacks reach through `host_data` and
/// `chip_data`. Pinned: its address is handed to C.
#[pin_data]
struct Inner<T: Owner> {
    /// The irq domain, set once it is created, before any interrupt
    /// exists.
    domain: AtomicPtr<bindings::irq_domain>,
    hw: Hw,
    queues: u32,
    /// The captured message of each queue, a `PackedMsg` (MSI backend).
    msgs: KVec<AtomicU64>,
    /// Whether each queue is requested: its changes are reported, and
    /// doorbells raise it.
    active: KVec<AtomicBool>,
    #[pin]
    slots: Mutex<Slots<T::Handler>>,
    owner: T,
    name: CString,
    node: c_int,
    /// A stand-in MSI descriptor naming the PCI device, for the parent's
    /// allocation info: interrupt remapping programs the requester ID of
    /// `desc.dev` into each entry, and the peer's writes through the NTB
    /// carry that ID.
    #[pin]
    desc: Opaque<bindings::msi_desc>,
    _pdev: ARef<Device>,
}

impl<T: Owner> Inner<T> {
    fn domain(&self) -> *mut bindings::irq_domain {
        self.domain.load(Ordering::Acquire)
    }

    fn backend(&self) -> Backend {
        match self.hw {
            Hw::Msi { .. } => Backend::Msi,
            Hw::Doorbell { .. } => Backend::Doorbell,
        }
    }

    fn is_active(&self, queue: u32) -> bool {
        self.active
            .get(queue as usize)
            .is_some_and(|a| a.load(Ordering::SeqCst))
    }

    fn set_active(&self, queue: u32, on: bool) {
        if let Some(a) = self.active.get(queue as usize) {
            a.store(on, Ordering::SeqCst);
        }
    }

    fn trigger(&self, queue: u32) -> Option<Trigger> {
        match &self.hw {
            Hw::Msi { widx, .. } => {
                let raw = self.msgs.get(queue as usize)?.load(Ordering::SeqCst);
                let (offset, data) = PackedMsg::from_raw(raw).get()?;
                Some(Trigger::Msi {
                    window: *widx,
                    offset,
                    data,
                })
            }
            Hw::Doorbell { map, .. } => {
                if queue >= self.queues {
                    return None;
                }
                map.bit_for(queue).map(|bit| Trigger::Doorbell { bit })
            }
        }
    }
    fn forget(&self, queue: u32) {
        if let Some(slot) = self.msgs.get(queue as usize) {
            slot.store(PackedMsg::NONE.raw(), Ordering::SeqCst);
        }
    }

    /// Allocates the Linux IRQ of `queue` in the domain.
    fn map(&self, queue: u32) -> Result<u32> {
        let domain = self.domain();
        match self.hw {
            Hw::Msi { .. } => {
                let mut info = bindings::msi_alloc_info_t::default();
                // SAFETY: `info` is a valid allocation info to fill; `desc`
                // lives as long as the domain.
                to_result(unsafe {
                    bindings::ntbnet_msi_parent_info(&mut info, self.desc.get(), queue as c_ulong)
                })?;
                // SAFETY: `domain` is this hierarchical domain; `info` is the
                // argument its `alloc` callback (`Adapter::msi_alloc`) and
                // the parent's expect, and lives across the call.
                let virq = unsafe {
                    bindings::ntbnet_irq_domain_alloc_spread(
                        domain,
                        (&mut info as *mut bindings::msi_alloc_info_t).cast(),
                        queue,
                        self.node,
                    )
                };
                to_result(virq)?;
                Ok(virq as u32)
            }
            Hw::Doorbell { .. } => {
                // SAFETY: `domain` is this linear domain; `queue` is below
                // its size.
                let virq = unsafe { bindings::irq_create_mapping(domain, queue as c_ulong) };
                if virq == 0 {
                    return Err(ENOMEM);
                }
                Ok(virq)
            }
        }
    }

    /// Requests `queue`'s interrupt, already claimed in the index space.
    fn setup(&self, queue: u32, handler: T::Handler) -> Result<(Slot<T::Handler>, Trigger)> {
        let name = CString::try_from_fmt(fmt!("{}-q{}", &*self.name, queue))?;
        let virq = self.map(queue)?;
        // SAFETY: `virq` was just allocated in this domain and has no
        // handler; disposing of it frees it in every level.
        let dispose =
            kernel::types::ScopeGuard::new(|| unsafe { bindings::irq_dispose_mapping(virq) });
        let reg = KBox::pin_init(irq::Registration::new(virq, name, handler), GFP_KERNEL)?;
        // The CPU the MSI backend allocated the interrupt on (and that
        // transmit steering gives the queue, `IrqDomain::node`), as the hint
        // for irqbalance; it does not move the interrupt. With the doorbell
        // backend the queue's handler runs where the NTB driver's vector
        // fires, and the hint says where that should be.
        let _ = reg.spread(queue, self.node, false);
        self.set_active(queue, true);
        let Some(trigger) = self.trigger(queue) else {
            self.set_active(queue, false);
            drop(reg);
            pr_err!(
                "{}: queue {}: no trigger for the peer\n",
                &*self.name,
                queue
            );
            return Err(eaddrnotavail());
        };
        dispose.dismiss();
        Ok((Slot { irq: virq, reg }, trigger))
    }

    /// Frees a requested queue's interrupt: the handler, then the IRQ.
    fn teardown(&self, queue: u32, slot: Slot<T::Handler>) {
        self.set_active(queue, false);
        let Slot { irq, reg } = slot;
        drop(reg);
        // SAFETY: `irq` was allocated in this domain by `map` and its
        // handler is freed.
        unsafe { bindings::irq_dispose_mapping(irq) };
        self.forget(queue);
    }
}

/// A per-device NTB irq domain; see the module documentation.
///
/// # Invariants
///
/// `inner.domain` is an irq domain created on `fwnode` whose host data and
/// chip data point to `inner`; it is removed, with every interrupt in it,
/// before `inner` is freed.
pub struct IrqDomain<T: Owner> {
    inner: Pin<KBox<Inner<T>>>,
    fwnode: *mut bindings::fwnode_handle,
}

// SAFETY: The raw pointers are the domain's own C objects, usable from any
// thread; the interrupt core serialises its callbacks, the slots are under
// a mutex, the rest is atomics or immutable.
unsafe impl<T: Owner> Send for IrqDomain<T> {}
// SAFETY: See above.
unsafe impl<T: Owner> Sync for IrqDomain<T> {}
// SAFETY: `Inner` is reached from interrupt callbacks on any CPU; see above.
unsafe impl<T: Owner> Send for Inner<T> {}
// SAFETY: See above.
unsafe impl<T: Owner> Sync for Inner<T> {}

impl<T: Owner> IrqDomain<T> {
    /// Creates the domain of an NTB device (peer index 0).
    ///
    /// With [`Mode::Auto`] an NTB that cannot do MSI gets the doorbell
    /// backend and a log line saying why; with [`Mode::Msi`] that is an
    /// error. The MSI backend needs the link up (the NTB API gives a
    /// window's alignment only then): create the domain in the link-up
    /// work, before publishing triggers. If the link is down (again) by
    /// then, this fails with `ENOTCONN` in every mode, without a log
    /// line: try again when the link is up. The MSI backend translates the last inbound
    /// window now and clears it when the domain is dropped. Drop the domain
    /// in the client's `remove` at the latest: it holds the NTB device.
    pub fn new(ntb: &ntb::Device, cfg: &Config<'_>, owner: T) -> Result<Self> {
        if cfg.queues == 0 || cfg.queues > MAX_QUEUES {
            return Err(EINVAL);
        }
        let pdev = ntb.pci_dev();
        if cfg.mode != Mode::Doorbell {
            match Self::ntb_msi_window(ntb, cfg) {
                Ok((window, widx, parent, remap)) => {
                    let hw = Hw::Msi {
                        window,
                        widx,
                        ntb: Some(ntb.into()),
                        remap,
                    };
                    let created = Self::create(pdev, parent, hw, cfg.name, cfg.queues, owner);
                    if created.is_err() {
                        let _ = ntb.mw_clear_trans(0, widx as i32);
                    }
                    return created;
                }
                // The link went down meanwhile: no fallback for good on
                // a transient state; the caller tries again with the link
                // up.
                Err(e) if cfg.mode == Mode::Msi || link_went_down(e) => return Err(e),
                Err(_) => {}
            }
        }
        let valid = ntb.db_valid_mask();
        let mask = if cfg.db_mask == 0 {
            valid
        } else {
            cfg.db_mask & valid
        };
        let map = DbMap::new(mask).map_err(|_| {
            pr_err!(
                "{}: no doorbell bits for the irq domain (mask {:#x}, valid {:#x})\n",
                cfg.name,
                cfg.db_mask,
                valid
            );
            EINVAL
        })?;
        let bits = map.mask();
        let hw = Hw::Doorbell {
            ntb: ntb.into(),
            map,
        };
        let domain = Self::create(pdev, null_mut(), hw, cfg.name, cfg.queues, owner)?;
        // The domain owns these bits now: a previous client may have left
        // them masked (ntb_transport masks its bits when it goes) or
        // pending. Drop masks them again.
        let _ = ntb.db_clear(bits);
        let _ = ntb.db_clear_mask(bits);
        Ok(domain)
    }

    fn create(
        pdev: &pci::Device,
        parent: *mut bindings::irq_domain,
        hw: Hw,
        name: &CStr,
        queues: u32,
        owner: T,
    ) -> Result<Self> {
        let index = IndexSpace::new(queues).map_err(|_| EINVAL)?;
        let mut msgs = KVec::with_capacity(queues as usize, GFP_KERNEL)?;
        let mut active = KVec::with_capacity(queues as usize, GFP_KERNEL)?;
        let mut slots = KVec::with_capacity(queues as usize, GFP_KERNEL)?;
        for _ in 0..queues {
            msgs.push(AtomicU64::new(PackedMsg::NONE.raw()), GFP_KERNEL)?;
            active.push(AtomicBool::new(false), GFP_KERNEL)?;
            slots.push(None, GFP_KERNEL)?;
        }
        let backend = match hw {
            Hw::Msi { .. } => Backend::Msi,
            Hw::Doorbell { .. } => Backend::Doorbell,
        };
        let dev = pdev.as_dev();
        // SAFETY: `dev` is the device of a valid PCI device; the reference
        // keeps it valid for the stand-in descriptor.
        let pdev_ref = unsafe { Device::get_device(dev.cast()) };
        let node = pdev.numa_node();
        let inner = KBox::pin_init(
            try_pin_init!(Inner {
                domain: AtomicPtr::new(null_mut()),
                hw,
                queues,
                msgs,
                active,
                slots <- new_mutex!(Slots { index, slots }),
                owner,
                name: name.to_cstring()?,
                node,
                // SAFETY: A zeroed `msi_desc` that names the device is all
                // the parents read from it.
                desc <- Opaque::ffi_init(move |d: *mut bindings::msi_desc| unsafe {
                    d.write(bindings::msi_desc::default());
                    (*d).dev = dev;
                }),
                _pdev: pdev_ref,
            }),
            GFP_KERNEL,
        )?;

        let dname = CString::try_from_fmt(fmt!("{}-{}", name, backend.name()))?;
        // SAFETY: `dname` is a valid string; the fwnode copies it.
        let fwnode = unsafe { bindings::irq_domain_alloc_named_fwnode(dname.as_char_ptr()) };
        if fwnode.is_null() {
            return Err(ENOMEM);
        }
        let host = &*inner as *const Inner<T> as *mut c_void;
        // SAFETY: `fwnode` is ours; the operations are static; `host` is
        // the pinned `inner`, which outlives the domain (invariant of
        // `IrqDomain`). `parent` is the device's MSI parent domain.
        let domain = unsafe {
            match backend {
                Backend::Msi => bindings::irq_domain_create_hierarchy(
                    parent,
                    0,
                    queues,
                    fwnode,
                    &msi::Adapter::<T>::MSI_OPS,
                    host,
                ),
                Backend::Doorbell => {
                    bindings::irq_domain_create_linear(fwnode, queues, &doorbell::DB_OPS, host)
                }
            }
        };
        if domain.is_null() {
            // SAFETY: `fwnode` is unused.
            unsafe { bindings::irq_domain_free_fwnode(fwnode) };
            return Err(ENOMEM);
        }
        inner.domain.store(domain, Ordering::Release);
        // INVARIANT: The domain was created on `fwnode` with `inner`.
        Ok(Self { inner, fwnode })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.inner.backend()
    }

    /// How the MSI backend's messages are remapped (`None` for the
    /// doorbell backend).
    pub fn remap(&self) -> Option<Remap> {
        match self.inner.hw {
            Hw::Msi { remap, .. } => Some(remap),
            Hw::Doorbell { .. } => None,
        }
    }

    /// The size of the index space.
    pub fn queues(&self) -> u32 {
        self.inner.queues
    }

    /// The owner given at creation.
    pub fn owner(&self) -> &T {
        &self.inner.owner
    }

    /// Requests queue `queue`'s interrupt for `handler`: allocates its IRQ
    /// (named `<name>-q<queue>`, on a CPU of its own when there are enough)
    /// and returns it with the trigger to publish to the peer.
    ///
    /// `EBUSY` if the queue is requested, `EINVAL` if out of range.
    pub fn request(&self, queue: u32, handler: T::Handler) -> Result<Vector> {
        let inner = &*self.inner;
        let mut slots = inner.slots.lock();
        slots.index.claim(queue).map_err(|e| match e {
            IndexError::Busy => EBUSY,
            _ => EINVAL,
        })?;
        match inner.setup(queue, handler) {
            Ok((slot, trigger)) => {
                let irq = slot.irq;
                if let Some(s) = slots.slots.get_mut(queue as usize) {
                    *s = Some(slot);
                }
                Ok(Vector { irq, trigger })
            }
            Err(e) => {
                let _ = slots.index.release(queue);
                Err(e)
            }
        }
    }

    /// The current trigger of a requested queue.
    pub fn trigger(&self, queue: u32) -> Option<Trigger> {
        if !self.inner.is_active(queue) {
            return None;
        }
        self.inner.trigger(queue)
    }

    /// The NUMA node whose CPUs the queue interrupts are spread over (the
    /// NTB's): queue `q` on the `q`-th CPU near it (`cpumask_local_spread`).
    pub fn node(&self) -> kernel::ffi::c_int {
        self.inner.node
    }

    /// The Linux IRQ of a requested queue.
    pub fn irq(&self, queue: u32) -> Option<u32> {
        let slots = self.inner.slots.lock();
        slots.slots.get(queue as usize)?.as_ref().map(|s| s.irq)
    }

    /// Frees queue `queue`'s interrupt; `EINVAL` if it is not requested.
    pub fn free(&self, queue: u32) -> Result {
        let inner = &*self.inner;
        let mut slots = inner.slots.lock();
        slots.index.release(queue).map_err(|_| EINVAL)?;
        if let Some(slot) = slots.slots.get_mut(queue as usize).and_then(Option::take) {
            inner.teardown(queue, slot);
        }
        Ok(())
    }

    /// Frees every requested interrupt.
    pub fn free_all(&self) {
        let inner = &*self.inner;
        let mut slots = inner.slots.lock();
        for queue in 0..inner.queues {
            if slots.index.release(queue).is_ok() {
                if let Some(slot) = slots.slots.get_mut(queue as usize).and_then(Option::take) {
                    inner.teardown(queue, slot);
                }
            }
        }
    }
}

impl<T: Owner> Drop for IrqDomain<T> {
    fn drop(&mut self) {
        // Close the door first: once the window no longer reaches the MSI
        // range (or the doorbell bits are masked), no write of the peer
        // reaches an interrupt of this domain, and none can reach a vector
        // or a remapping entry that freeing the interrupts below hands back
        // to the system.
        match &self.inner.hw {
            Hw::Msi {
                widx,
                ntb: Some(ntb),
                ..
            } => {
                let _ = ntb.mw_clear_trans(0, *widx as i32);
            }
            Hw::Doorbell { ntb, map } => {
                let _ = ntb.db_set_mask(map.mask());
            }
            Hw::Msi { ntb: None, .. } => {}
        }
        self.free_all();
        // SAFETY: Every interrupt of the domain is freed; the domain and its
        // fwnode are ours (type invariant) and used no more.
        unsafe {
            bindings::irq_domain_remove(self.inner.domain());
            bindings::irq_domain_free_fwnode(self.fwnode);
        }
    }
}

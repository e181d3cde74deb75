// SPDX-License-Identifier: GPL-2.0

//! ntb_hw_ivshmem: a virtual NTB on QEMU's ivshmem-doorbell device.
//!
//! Each VM's ivshmem-doorbell function (1af4:1110) shares one memory region
//! with the other VMs on the same ivshmem server and can ring their MSI-X
//! vectors. This driver turns it into a standard `ntb_dev`, so that
//! unmodified NTB clients (ntb_transport, ntb_tool, ntb_perf, ntbnet) run
//! between VMs. Documentation/ivshmem-ntb.md describes the shared-memory
//! layout; in short:
//!
//! - a versioned header, then one control block per port (this VM's
//!   ivshmem peer ID is its port) holding its session, heartbeat, link
//!   enable, the peer session it has seen, and scratchpads;
//! - memory windows: each port's inbound windows are fixed regions of the
//!   shared memory. The device's coherent DMA allocations come from this
//!   port's windows, so a client that allocates its inbound buffer and
//!   translates a window onto it gets the peer's writes there; any other
//!   translation fails;
//! - doorbells: one MSI-X vector per bit, rung through the Doorbell
//!   register;
//! - link: up once both sides enabled it, the peer's heartbeat moves and
//!   the peer has seen this port's current session, without a break for
//!   the peer timeout (a hardware link takes as long to train: clients
//!   such as ntb_transport need the time); down within a second of the
//!   peer stopping. The link is symmetric: a port that takes the
//!   link down for a reason the peer cannot see (the peer went silent, a
//!   client disabled the link) starts a new session, and the peer reports
//!   the link down when it sees that.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::c_str;
use kernel::fmt;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::Arc;

#[path = "../../src/lib.rs"]
#[allow(dead_code)] // Each module uses only part of the shared abstractions.
pub mod klib;

mod layout;
mod regs;

use klib::io::shm::SharedMem;
use klib::io::Io;
use klib::kern::ratelimit::RateLimit;
use klib::kern::timer::Timer;
use klib::ntb::hw::{self, DbAddr, HwDevice, WindowAlign};
use klib::pci::dma_pool::SlotPool;
use klib::{irq, pci};
use layout::Layout;

module! {
    type: NtbHwIvshmem,
    name: "ntb_hw_ivshmem",
    author: "The ntbnet developers",
    description: "Virtual NTB on QEMU ivshmem-doorbell",
    license: "GPL",
}

/// Heartbeat period.
const TICK_MS: u32 = 100;
/// Ticks without a peer heartbeat after which the link goes down: the
/// `peer_timeout_ms` parameter (500 by default) in ticks, within these.
const STALE_TICKS_MIN: u32 = 2;
/// See [`STALE_TICKS_MIN`].
const STALE_TICKS_MAX: u32 = 600;
/// At most this many link messages per [`LINK_LOG_INTERVAL_MS`].
const LINK_LOG_BURST: u32 = 10;
/// See [`LINK_LOG_BURST`].
const LINK_LOG_INTERVAL_MS: u64 = 5000;
/// Most doorbell vectors (bits of a 64-bit doorbell register).
const MAX_VECTORS: u32 = 64;

/// The link as the heartbeat timer sees it; only the timer writes it,
/// except `reset`.
struct LinkWatch {
    /// A client disabled the link since the last tick (set by
    /// `link_disable`, taken by the timer): the next tick starts a new
    /// session, so that `ntb_link_disable` followed by `ntb_link_enable`
    /// within a tick does not pass unseen by the peer.
    reset: AtomicBool,
    /// This port's session (in our block, where the peer could overwrite
    /// it: never read back from there).
    session: AtomicU32,
    peer_session: AtomicU32,
    peer_heartbeat: AtomicU32,
    stale: AtomicU32,
    /// Consecutive ticks, up to the last one, in which the link could
    /// have been up; it comes up when this reaches `stale_ticks`.
    ready: AtomicU32,
    /// Ticks without a heartbeat after which the peer is down.
    stale_ticks: u32,
}

/// Everything the NTB operations, the interrupt handlers and the heartbeat
/// share. Field order is drop order: the timer stops first, then the
/// `ntb_dev` is gone, then the DMA operations are removed.
#[pin_data]
struct Shared {
    #[pin]
    heartbeat: Timer<Shared>,
    #[pin]
    ntb: HwDevice<Shared>,
    #[pin]
    dma: SlotPool,
    regs: pci::IoMem,
    shm: Arc<SharedMem>,
    layout: Layout,
    name: CString,
    regs_phys: u64,
    port: u32,
    peer: u32,
    vectors: u32,
    link_enabled: AtomicBool,
    link_up: AtomicBool,
    watch: LinkWatch,
    db_status: AtomicU64,
    db_mask: AtomicU64,
    /// The link messages, which a peer that comes and goes can cause.
    link_log: RateLimit,
}

crate::impl_has_field!(Shared, heartbeat: Timer<Shared>);
crate::impl_has_field!(Shared, ntb: HwDevice<Shared>);

impl Shared {
    /// A word of this or another port's block.
    fn port_word(&self, port: u32, field: usize) -> Option<&AtomicU32> {
        self.shm.u32_at(self.layout.port_block(port) + field)
    }

    fn set_own(&self, field: usize, val: u32) {
        if let Some(w) = self.port_word(self.port, field) {
            w.store(val, Ordering::Release);
        }
    }

    fn peer_word(&self, field: usize) -> u32 {
        self.port_word(self.peer, field)
            .map_or(0, |w| w.load(Ordering::Acquire))
    }

    fn db_valid(&self) -> u64 {
        if self.vectors >= 64 {
            !0
        } else {
            (1u64 << self.vectors) - 1
        }
    }

    /// Rings doorbell vector `vector` of port `port`.
    fn ring(&self, port: u32, vector: u32) {
        // A register of a mapped BAR: cannot fail.
        let _ = self.regs.try_write32(port << 16 | vector, regs::DOORBELL);
    }

    /// The doorbell interrupt of vector `vector`.
    ///
    /// The two sides see the link come up up to a heartbeat apart, unlike
    /// a physical link; a doorbell that arrives before this side's link is
    /// up stays pending and is signalled right after the link-up event, so
    /// that clients never see a doorbell from a peer they think is absent.
    fn doorbell(&self, vector: u32) {
        let bit = 1u64 << vector;
        self.db_status.fetch_or(bit, Ordering::AcqRel);
        if self.db_mask.load(Ordering::Acquire) & bit == 0 && self.link_up.load(Ordering::Acquire) {
            self.ntb.db_event(vector);
        }
    }

    /// Signals again, by ringing our own vectors, the pending doorbells in
    /// `bits` that are not masked.
    fn resignal(&self, bits: u64) {
        let mask = self.db_mask.load(Ordering::Acquire);
        let mut pending = self.db_status.load(Ordering::Acquire) & bits & !mask & self.db_valid();
        while pending != 0 {
            let v = pending.trailing_zeros();
            pending &= pending - 1;
            self.ring(self.port, v);
        }
    }

    fn check_pidx(&self, pidx: i32) -> Result {
        if pidx == 0 {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }
}

/// A new session value: random, non-zero, and not `old`.
fn new_session(old: u32) -> u32 {
    loop {
        let s = klib::kern::random::u32();
        if s != 0 && s != old {
            return s;
        }
    }
}

impl klib::kern::timer::TimerCallback for Shared {
    /// The heartbeat: advance ours, watch the peer's, report link changes
    /// (Documentation/ivshmem-ntb.md, "Link", says what each step is for).
    fn run(&self) -> Option<u32> {
        if let Some(hb) = self.port_word(self.port, layout::PORT_HEARTBEAT) {
            hb.fetch_add(1, Ordering::Release);
        }
        // Each of the peer's words is read once.
        let session = self.peer_word(layout::PORT_SESSION);
        let heartbeat = self.peer_word(layout::PORT_HEARTBEAT);
        let enabled = self.peer_word(layout::PORT_LINK_ENABLED) != 0;
        let seen = self.peer_word(layout::PORT_SEEN);

        let w = &self.watch;
        // The peer started a new session (it came back, or it took the
        // link down on its side): reported down once, as a hardware link
        // goes down on both sides, so that clients renegotiate.
        let restarted = w.peer_session.swap(session, Ordering::Relaxed) != session;
        let stale = if restarted || w.peer_heartbeat.swap(heartbeat, Ordering::Relaxed) != heartbeat
        {
            0
        } else {
            w.stale.load(Ordering::Relaxed).saturating_add(1)
        };
        w.stale.store(stale, Ordering::Relaxed);
        let alive = session != 0 && stale < w.stale_ticks;
        // The peer went silent just now (a dead VM, or one that its host
        // does not run), or a client disabled the link here since the
        // last tick: either is invisible to the peer, which may still see
        // the link up. A new session of ours tells it to take the link
        // down too (and stay down until it has seen the new session).
        let silenced = session != 0 && stale == w.stale_ticks;
        let reset = w.reset.swap(false, Ordering::AcqRel);
        let mut own = w.session.load(Ordering::Relaxed);
        if silenced || reset {
            own = new_session(own);
            w.session.store(own, Ordering::Relaxed);
            self.set_own(layout::PORT_SESSION, own);
        }
        let could = self.link_enabled.load(Ordering::Acquire)
            && alive
            && enabled
            && !restarted
            && !reset
            && seen == own;
        let ready = if could {
            w.ready.load(Ordering::Relaxed).saturating_add(1)
        } else {
            0
        };
        w.ready.store(ready, Ordering::Relaxed);
        // Up only once the conditions held for the peer timeout (a link
        // that is up stays up while they hold). A client's work for the
        // link-down, or for its probe, must run before the link-up:
        // ntb_transport's probe reports the link down (queueing its
        // link_cleanup work), and a link_cleanup that runs after the
        // link-up cancels the link_work that the link-up queued, for good.
        // A tick later was too soon on a loaded TCG machine.
        let up = could && (self.link_up.load(Ordering::Acquire) || ready >= w.stale_ticks);
        if self.link_up.swap(up, Ordering::AcqRel) != up {
            if !self.link_log.allow_from(&self.name) {
                // Rate-limited.
            } else if up {
                pr_info!("{}: link up\n", &*self.name);
            } else if session == 0 {
                pr_info!("{}: link down (peer left)\n", &*self.name);
            } else if !alive {
                // How long the peer's heartbeat has been still: the time
                // it took to notice a dead peer.
                pr_info!(
                    "{}: link down (peer silent for {} ms)\n",
                    &*self.name,
                    stale.saturating_mul(TICK_MS)
                );
            } else if restarted {
                pr_info!("{}: link down (peer reset the link)\n", &*self.name);
            } else if reset {
                pr_info!("{}: link down (reset here)\n", &*self.name);
            } else {
                pr_info!("{}: link down\n", &*self.name);
            }
            self.ntb.link_event();
            if up {
                self.resignal(!0);
            }
        }
        // After the link event: the peer may come up once it reads this,
        // and our clients have by then been told that the link went down.
        self.set_own(layout::PORT_SEEN, session);
        Some(TICK_MS)
    }
}

impl hw::Hardware for Shared {
    fn port_number(&self) -> i32 {
        self.port as i32
    }

    fn peer_port_count(&self) -> i32 {
        1
    }

    fn peer_port_number(&self, pidx: i32) -> Result<i32> {
        self.check_pidx(pidx)?;
        Ok(self.peer as i32)
    }

    fn peer_port_idx(&self, port: i32) -> Result<i32> {
        if port == self.peer as i32 {
            Ok(0)
        } else {
            Err(EINVAL)
        }
    }

    fn link_is_up(&self) -> u64 {
        self.link_up.load(Ordering::Acquire) as u64
    }

    fn link_enable(&self) -> Result {
        self.link_enabled.store(true, Ordering::Release);
        self.set_own(layout::PORT_LINK_ENABLED, 1);
        Ok(())
    }

    fn link_disable(&self) -> Result {
        self.link_enabled.store(false, Ordering::Release);
        self.set_own(layout::PORT_LINK_ENABLED, 0);
        // The peer must see this even if a client enables the link again
        // before the next tick: the tick starts a new session.
        self.watch.reset.store(true, Ordering::Release);
        Ok(())
    }

    fn mw_count(&self, pidx: i32) -> Result<i32> {
        self.check_pidx(pidx)?;
        Ok(self.layout.mws as i32)
    }

    fn mw_get_align(&self, pidx: i32, widx: i32) -> Result<WindowAlign> {
        self.check_pidx(pidx)?;
        Ok(WindowAlign {
            addr_align: 4096,
            size_align: 4096,
            size_max: self.layout.window_size(self.port, widx).ok_or(EINVAL)?,
        })
    }

    fn mw_set_trans(&self, pidx: i32, widx: i32, addr: u64, size: u64) -> Result {
        self.check_pidx(pidx)?;
        let off = self.layout.window(self.port, widx).ok_or(EINVAL)?;
        let region = self.shm.phys(off);
        let region_size = self.layout.window_size(self.port, widx).ok_or(EINVAL)?;
        if addr != region || size > region_size {
            pr_err!(
                "{}: mw{}: cannot translate to {:#x}+{:#x}: the peer's writes arrive at \
                 {:#x}+{:#x}; allocate a buffer of the window's size with the DMA API \
                 on the NTB's DMA device\n",
                &*self.name,
                widx,
                addr,
                size,
                region,
                region_size
            );
            return Err(EINVAL);
        }
        Ok(())
    }

    fn mw_clear_trans(&self, pidx: i32, widx: i32) -> Result {
        self.check_pidx(pidx)?;
        self.layout.window(self.port, widx).ok_or(EINVAL)?;
        Ok(())
    }

    fn peer_mw_count(&self) -> i32 {
        self.layout.mws as i32
    }

    fn peer_mw_get_addr(&self, widx: i32) -> Result<(u64, u64)> {
        let off = self.layout.window(self.peer, widx).ok_or(EINVAL)?;
        Ok((
            self.shm.phys(off),
            self.layout.window_size(self.peer, widx).ok_or(EINVAL)?,
        ))
    }

    fn db_valid_mask(&self) -> u64 {
        self.db_valid()
    }

    fn db_vector_count(&self) -> i32 {
        self.vectors as i32
    }

    fn db_vector_mask(&self, vector: i32) -> u64 {
        match u32::try_from(vector) {
            Ok(v) if v < self.vectors => 1 << v,
            _ => 0,
        }
    }

    fn db_read(&self) -> u64 {
        self.db_status.load(Ordering::Acquire)
    }

    fn db_clear(&self, bits: u64) -> Result {
        self.db_status.fetch_and(!bits, Ordering::AcqRel);
        Ok(())
    }

    fn db_set_mask(&self, bits: u64) -> Result {
        self.db_mask
            .fetch_or(bits & self.db_valid(), Ordering::AcqRel);
        Ok(())
    }

    fn db_clear_mask(&self, bits: u64) -> Result {
        self.db_mask.fetch_and(!bits, Ordering::AcqRel);
        // Bits that rang while masked interrupt again once unmasked, as on
        // hardware.
        self.resignal(bits);
        Ok(())
    }

    fn peer_db_addr(&self, bit: i32) -> Result<DbAddr> {
        let bit = u32::try_from(bit)
            .ok()
            .filter(|&b| b < self.vectors)
            .ok_or(EINVAL)?;
        Ok(DbAddr {
            addr: self.regs_phys + regs::DOORBELL as u64,
            size: 4,
            data: (self.peer << 16 | bit) as u64,
        })
    }

    fn peer_db_set(&self, bits: u64) -> Result {
        let mut bits = bits & self.db_valid();
        while bits != 0 {
            let v = bits.trailing_zeros();
            bits &= bits - 1;
            self.ring(self.peer, v);
        }
        Ok(())
    }

    fn spad_count(&self) -> i32 {
        self.layout.spads as i32
    }

    fn spad_read(&self, idx: i32) -> u32 {
        self.layout
            .spad(self.port, idx)
            .and_then(|off| self.shm.u32_at(off))
            .map_or(0, |w| w.load(Ordering::Acquire))
    }

    fn spad_write(&self, idx: i32, val: u32) -> Result {
        let off = self.layout.spad(self.port, idx).ok_or(EINVAL)?;
        self.shm
            .u32_at(off)
            .ok_or(EINVAL)?
            .store(val, Ordering::Release);
        Ok(())
    }

    fn peer_spad_read(&self, pidx: i32, idx: i32) -> u32 {
        if self.check_pidx(pidx).is_err() {
            return 0;
        }
        self.layout
            .spad(self.peer, idx)
            .and_then(|off| self.shm.u32_at(off))
            .map_or(0, |w| w.load(Ordering::Acquire))
    }

    fn peer_spad_write(&self, pidx: i32, idx: i32, val: u32) -> Result {
        self.check_pidx(pidx)?;
        let off = self.layout.spad(self.peer, idx).ok_or(EINVAL)?;
        self.shm
            .u32_at(off)
            .ok_or(EINVAL)?
            .store(val, Ordering::Release);
        Ok(())
    }
}

/// The interrupt handler of one doorbell vector.
struct Vector {
    shared: Arc<Shared>,
    vector: u32,
}

impl irq::Handler for Vector {
    fn handle_irq(&self) -> irq::IrqReturn {
        self.shared.doorbell(self.vector);
        irq::IrqReturn::Handled
    }
}

/// One bound ivshmem-doorbell device.
///
/// Field order is drop order, after `drop` unregistered the NTB device:
/// the interrupt handlers (the last references to `Shared`, whose drop
/// stops the heartbeat and unmaps the memory), then the PCI resources in
/// the reverse order of `probe`: vectors, bus mastering, BARs, the device.
struct Ivshmem {
    shared: Arc<Shared>,
    /// The doorbell interrupts, freed on drop.
    irqs: KVec<Pin<KBox<irq::Registration<Vector>>>>,
    irq_vectors: pci::IrqVectors,
    _master: pci::BusMaster,
    _regions: pci::Regions,
    _enabled: pci::Enabled,
}

impl Drop for Ivshmem {
    fn drop(&mut self) {
        // Clients go first, while interrupts and heartbeat still run; the
        // peer then sees this port leave.
        self.shared.ntb.unregister();
        // The heartbeat stops before the session is cleared: a tick
        // after it (a client's link disable at unregister starts a new
        // session in the next tick) would write a live session again.
        self.shared.heartbeat.shutdown();
        self.shared.set_own(layout::PORT_LINK_ENABLED, 0);
        self.shared.set_own(layout::PORT_SESSION, 0);
        // `irqs`, then `shared` (DMA ops, mappings) drop next.
    }
}

/// Sets up the header of a fresh shared memory, or checks the one another
/// port wrote against ours.
///
/// There are no atomics across hosts (nor on a real NTB): two ports that
/// find the memory empty at the same time both write the header, with the
/// same values, magic last; a port then checks what is there.
fn claim_header(name: &CStr, shm: &SharedMem, l: &Layout) -> Result {
    let word = |off| shm.u32_at(off).ok_or(EINVAL);
    let dword = |off| shm.u64_at(off).ok_or(EINVAL);
    if dword(layout::HDR_MAGIC)?.load(Ordering::Acquire) == 0 {
        dword(layout::HDR_SIZE)?.store(l.size, Ordering::Relaxed);
        word(layout::HDR_PORTS)?.store(l.ports, Ordering::Relaxed);
        word(layout::HDR_SPADS)?.store(l.spads, Ordering::Relaxed);
        word(layout::HDR_MWS)?.store(l.mws, Ordering::Relaxed);
        dword(layout::HDR_MW_SIZE)?.store(l.mw_size, Ordering::Relaxed);
        dword(layout::HDR_MW_OFFSET)?.store(l.mw_offset, Ordering::Relaxed);
        word(layout::HDR_VERSION)?.store(layout::VERSION, Ordering::Relaxed);
        dword(layout::HDR_MAGIC)?.store(layout::MAGIC, Ordering::Release);
        pr_info!(
            "{}: initialised shared memory layout v{}\n",
            name,
            layout::VERSION
        );
    }

    let magic = dword(layout::HDR_MAGIC)?.load(Ordering::Acquire);
    let version = word(layout::HDR_VERSION)?.load(Ordering::Relaxed);
    if magic != layout::MAGIC {
        pr_err!(
            "{}: shared memory has an unknown header (magic {:#018x})\n",
            name,
            magic
        );
        return Err(EINVAL);
    }
    if version != layout::VERSION {
        pr_err!(
            "{}: shared memory uses layout version {}; this driver speaks version {}\n",
            name,
            version,
            layout::VERSION
        );
        return Err(EINVAL);
    }
    let theirs = Layout {
        size: dword(layout::HDR_SIZE)?.load(Ordering::Relaxed),
        ports: word(layout::HDR_PORTS)?.load(Ordering::Relaxed),
        spads: word(layout::HDR_SPADS)?.load(Ordering::Relaxed),
        mws: word(layout::HDR_MWS)?.load(Ordering::Relaxed),
        mw_size: dword(layout::HDR_MW_SIZE)?.load(Ordering::Relaxed),
        mw_offset: dword(layout::HDR_MW_OFFSET)?.load(Ordering::Relaxed),
    };
    if theirs != *l {
        pr_err!(
            "{}: shared memory layout differs from ours (size {:#x}/{:#x}, ports {}/{}, \
             windows {}x{:#x}/{}x{:#x})\n",
            name,
            theirs.size,
            l.size,
            theirs.ports,
            l.ports,
            theirs.mws,
            theirs.mw_size,
            l.mws,
            l.mw_size
        );
        return Err(EINVAL);
    }
    Ok(())
}

struct Driver;

impl pci::Driver for Driver {
    type Data = Ivshmem;
    const NAME: &'static CStr = c_str!("ntb_hw_ivshmem");
    const ID_TABLE: &'static [pci::DeviceId] = &[
        pci::DeviceId::new(
            regs::PCI_VENDOR_ID_REDHAT_QUMRANET,
            regs::PCI_DEVICE_ID_IVSHMEM,
        ),
        pci::DeviceId::END,
    ];

    fn probe(dev: &pci::Device) -> Result<Ivshmem> {
        let name = dev.name();
        let enabled = dev.enable()?;
        let regions = dev.request_regions(c_str!("ntb_hw_ivshmem"))?;
        let regs = dev.iomap(regs::BAR_REGS)?;
        let (regs_phys, _) = dev.resource(regs::BAR_REGS);
        let (shm_phys, shm_len) = dev.resource(regs::BAR_SHM);
        if shm_len == 0 {
            pr_err!(
                "{}: no shared memory (BAR 2): is the device ivshmem-doorbell on a server?\n",
                name
            );
            return Err(ENODEV);
        }
        let layout = Layout::for_size(shm_len).map_err(|_| {
            pr_err!(
                "{}: shared memory of {:#x} bytes is too small for the NTB layout\n",
                name,
                shm_len
            );
            EINVAL
        })?;
        let port = regs.try_read32(regs::IVPOSITION)?;
        if port >= layout.ports {
            pr_err!(
                "{}: peer id {} is beyond the layout's {} ports\n",
                name,
                port,
                layout.ports
            );
            return Err(EINVAL);
        }
        let shm = Arc::new(SharedMem::map(shm_phys, shm_len as usize)?, GFP_KERNEL)?;
        claim_header(name, &shm, &layout)?;

        let master = dev.set_master(&enabled);
        let irq_vectors = dev.alloc_irq_vectors(&enabled, 1, MAX_VECTORS, pci::IRQ_MSIX)?;
        let vectors = irq_vectors.count();

        // This port's block starts clean for the new session.
        let block = layout.port_block(port);
        shm.zero(block, layout::PORT_BLOCK)?;
        let session = new_session(0);
        let mut windows = KVec::new();
        for w in 0..layout.mws as i32 {
            let off = layout.window(port, w).ok_or(EINVAL)?;
            let len = layout.window_size(port, w).ok_or(EINVAL)?;
            windows.push((off, len as usize), GFP_KERNEL)?;
        }
        let peer = 1 - port;
        let stale_ticks = hw::module_peer_timeout_ms()
            .div_ceil(TICK_MS)
            .clamp(STALE_TICKS_MIN, STALE_TICKS_MAX);
        let shared = Arc::pin_init(
            try_pin_init!(Shared {
                heartbeat <- Timer::new(),
                ntb <- HwDevice::new(dev),
                dma <- SlotPool::new(dev, shm.clone(), windows),
                regs,
                shm,
                layout,
                name: CString::try_from_fmt(fmt!("{}", name))?,
                regs_phys,
                port,
                peer,
                vectors,
                link_enabled: AtomicBool::new(false),
                link_up: AtomicBool::new(false),
                watch: LinkWatch {
                    reset: AtomicBool::new(false),
                    session: AtomicU32::new(session),
                    peer_session: AtomicU32::new(0),
                    peer_heartbeat: AtomicU32::new(0),
                    stale: AtomicU32::new(stale_ticks),
                    ready: AtomicU32::new(0),
                    stale_ticks,
                },
                db_status: AtomicU64::new(0),
                db_mask: AtomicU64::new(0),
                link_log: RateLimit::new(LINK_LOG_INTERVAL_MS, LINK_LOG_BURST),
            }),
            GFP_KERNEL,
        )?;
        let mut ivshmem = Ivshmem {
            shared,
            irqs: KVec::with_capacity(vectors as usize, GFP_KERNEL)?,
            irq_vectors,
            _master: master,
            _regions: regions,
            _enabled: enabled,
        };
        // From here on, a failure unwinds through `Ivshmem`'s drop, as
        // `remove` does: this port leaves the shared memory, then the
        // interrupts, the heartbeat and the PCI resources go.
        ivshmem.shared.set_own(layout::PORT_SESSION, session);
        ivshmem.shared.heartbeat.start(TICK_MS);
        for v in 0..vectors {
            let irq = ivshmem.irq_vectors.irq(v)?;
            let name = CString::try_from_fmt(fmt!("ntb-ivshmem{}-db{}", port, v))?;
            let handler = Vector {
                shared: ivshmem.shared.clone(),
                vector: v,
            };
            let reg = KBox::pin_init(irq::Registration::new(irq, name, handler), GFP_KERNEL)?;
            // Vector `v` on the `v`-th CPU near the device, as multiqueue
            // NIC drivers spread theirs: a client's queue `q` rung on
            // vector `q` is then handled on the CPU that ntbnet's transmit
            // steering gives queue `q` (the same spread). Best effort.
            let _ = reg.spread(v, dev.numa_node(), true);
            ivshmem.irqs.push(reg, GFP_KERNEL)?;
        }
        ivshmem.shared.ntb.register()?;
        pr_info!(
            "{}: virtual NTB port {} of {}, {} doorbells, {} windows of {} MiB and less, {} MiB shared\n",
            name,
            port,
            layout.ports,
            vectors,
            layout.mws,
            layout.mw_size >> 20,
            shm_len >> 20
        );
        Ok(ivshmem)
    }
}

struct NtbHwIvshmem {
    _driver: Pin<KBox<pci::Registration<Driver>>>,
}

impl kernel::Module for NtbHwIvshmem {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _driver: KBox::pin_init(pci::Registration::new(), GFP_KERNEL)?,
        })
    }
}

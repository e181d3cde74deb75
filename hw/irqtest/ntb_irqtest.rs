// SPDX-License-Identifier: GPL-2.0

//! ntb_irqtest: end-to-end tests of the NTB irq domain
//! (src/irq/domain/, Documentation/irq-domain.md), driven from debugfs
//! by selftests/vm/irq_*.sh.
//!
//! MSI backend, on QEMU's `edu` device (1234:11e8). The module binds edu
//! and creates an MSI-backend domain for it; edu's DMA engine plays the NTB
//! peer, whose posted write of a message's data arrives at the MSI address
//! exactly as a write through a memory window translated onto the MSI
//! range would. With no NTB, the "window" is the MSI range itself: trigger
//! offsets are relative to 0xfee00000. /sys/kernel/debug/ntb_irqtest_edu/:
//!
//! - `queues`, `backend` (1 MSI, 2 doorbell): read;
//! - `fire` (write `q`): edu DMA-writes queue `q`'s current message;
//! - `fire_prev` (write `q`): the message `q` had before its last change;
//! - `request`, `free` (write `q`), `free_all` (write anything);
//! - `q<N>/`: `irq`, `count` (handler runs), `changes` (trigger change
//!   callbacks), `offset`/`data` (the domain's current trigger),
//!   `pub_offset`/`pub_data` (what the owner was given and told).
//!
//! Any backend, on an NTB (two VMs on the virtual NTB: the doorbell
//! backend, after the MSI backend's fallback). The module is also an NTB
//! client: it creates the domain with the `irq_mode` parameter, requests
//! the queues, enables the link and feeds the NTB's doorbell events to the
//! domain. Each host resolves the peer's triggers (the same on both sides
//! with the same configuration: they go through the encoding a real
//! driver publishes) and fires them. /sys/kernel/debug/ntb_irqtest_ntb/:
//!
//! - `backend`, `link` (1 when up): read;
//! - `fire_peer` (write `q`): raises the peer's queue `q`;
//! - `free_all` (write anything);
//! - `q<N>/`: `irq`, `count`.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::c_str;
use kernel::fmt;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{Arc, Mutex};

#[path = "../../src/lib.rs"]
#[allow(dead_code)] // Each module uses only part of the shared abstractions.
pub mod klib;

use klib::io::coherent::Coherent;
use klib::io::Io;
use klib::irq;
use klib::irq::domain::{self, Backend, IrqDomain, MsiWindow, PeerTrigger, Trigger};
use klib::kern::debugfs::{self, Dir};
use klib::{ntb, pci};

module! {
    type: NtbIrqTest,
    name: "ntb_irqtest",
    author: "The ntbnet developers",
    description: "Tests of the NTB irq domain (MSI backend on QEMU edu, any backend on an NTB)",
    license: "GPL",
}

/// Queue interrupts each test domain requests.
const QUEUES: u32 = 8;

/// How long an NTB probe waits for the link.
const LINK_WAIT_MS: u32 = 5000;

/// The edu device: registers of BAR 0 and its DMA engine.
mod edu {
    pub(crate) const VENDOR: u32 = 0x1234;
    pub(crate) const DEVICE: u32 = 0x11e8;
    pub(crate) const ID: usize = 0x00;
    /// Low half of the identification register: 0x010000ed is version 1.0.
    pub(crate) const ID_MAGIC: u32 = 0xed;
    pub(crate) const DMA_SRC: usize = 0x80;
    pub(crate) const DMA_DST: usize = 0x88;
    pub(crate) const DMA_CNT: usize = 0x90;
    pub(crate) const DMA_CMD: usize = 0x98;
    pub(crate) const CMD_START: u32 = 1;
    /// Direction edu -> bus; clear: bus -> edu.
    pub(crate) const CMD_TO_BUS: u32 = 2;
    /// edu's own 4 KiB buffer in its DMA address space.
    pub(crate) const BUF: u32 = 0x40000;
}

/// A message as `offset << 32 | data`.
fn pack(offset: u32, data: u32) -> u64 {
    u64::from(offset) << 32 | u64::from(data)
}

fn unpack(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

/// Per-queue observations, shared by the handlers, the owner callback and
/// debugfs.
struct Queues {
    count: [AtomicU32; QUEUES as usize],
    changes: [AtomicU32; QUEUES as usize],
    /// The trigger the owner holds: given by `request`, then updated by
    /// `trigger_changed`.
    published: [AtomicU64; QUEUES as usize],
    /// The trigger before the last change.
    previous: [AtomicU64; QUEUES as usize],
}

impl Queues {
    fn new() -> Self {
        Self {
            count: [const { AtomicU32::new(0) }; QUEUES as usize],
            changes: [const { AtomicU32::new(0) }; QUEUES as usize],
            published: [const { AtomicU64::new(0) }; QUEUES as usize],
            previous: [const { AtomicU64::new(0) }; QUEUES as usize],
        }
    }

    fn publish(&self, queue: u32, trigger: Trigger) {
        if let (Trigger::Msi { offset, data, .. }, Some(p)) =
            (trigger, self.published.get(queue as usize))
        {
            let old = p.swap(pack(offset, data), Ordering::SeqCst);
            if let Some(prev) = self.previous.get(queue as usize) {
                prev.store(old, Ordering::SeqCst);
            }
        }
    }
}

/// A queue's handler: counts.
struct Counter {
    queues: Arc<Queues>,
    queue: u32,
}

impl irq::Handler for Counter {
    fn handle_irq(&self) -> irq::IrqReturn {
        if let Some(c) = self.queues.count.get(self.queue as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        irq::IrqReturn::Handled
    }
}

/// The domain's owner: records republished triggers.
struct Owner(Arc<Queues>);

impl domain::Owner for Owner {
    type Handler = Counter;

    fn trigger_changed(&self, queue: u32, trigger: Trigger) {
        self.0.publish(queue, trigger);
        if let Some(c) = self.0.changes.get(queue as usize) {
            c.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// edu's DMA engine, one transfer at a time.
struct Dma {
    regs: pci::IoMem,
    buf: Coherent,
}

impl Dma {
    /// Runs one transfer and waits for it (edu's DMA takes 100 ms of
    /// virtual time).
    fn transfer(&self, src: u64, dst: u64, cmd: u32) -> Result {
        // 32-bit writes of these registers set all 64 bits; every address
        // used here is below 4 GiB.
        let (src, dst) = (
            u32::try_from(src).map_err(|_| ERANGE)?,
            u32::try_from(dst).map_err(|_| ERANGE)?,
        );
        self.regs.try_write32(src, edu::DMA_SRC)?;
        self.regs.try_write32(dst, edu::DMA_DST)?;
        self.regs.try_write32(4, edu::DMA_CNT)?;
        self.regs.try_write32(cmd | edu::CMD_START, edu::DMA_CMD)?;
        for _ in 0..500 {
            if self.regs.try_read32(edu::DMA_CMD)? & edu::CMD_START == 0 {
                return Ok(());
            }
            klib::kern::delay::msleep(10);
        }
        pr_err!("edu: DMA did not complete\n");
        Err(EIO)
    }

    /// Has edu write the 32-bit `data` at bus address `addr`: from RAM
    /// into its buffer, then from its buffer to `addr`.
    fn write(&self, addr: u64, data: u32) -> Result {
        self.buf.try_write32(data, 0)?;
        self.transfer(self.buf.dma_addr(), u64::from(edu::BUF), 0)?;
        self.transfer(u64::from(edu::BUF), addr, edu::CMD_TO_BUS)
    }
}

/// Attribute keys: `kind << 8 | queue`.
mod key {
    pub(crate) const QUEUES: u32 = 0;
    pub(crate) const BACKEND: u32 = 1;
    pub(crate) const FIRE: u32 = 2;
    pub(crate) const FIRE_PREV: u32 = 3;
    pub(crate) const REQUEST: u32 = 4;
    pub(crate) const FREE: u32 = 5;
    pub(crate) const FREE_ALL: u32 = 6;
    pub(crate) const LINK: u32 = 7;
    pub(crate) const FIRE_PEER: u32 = 8;
    pub(crate) const IRQ: u32 = 0x10;
    pub(crate) const COUNT: u32 = 0x11;
    pub(crate) const CHANGES: u32 = 0x12;
    pub(crate) const OFFSET: u32 = 0x13;
    pub(crate) const DATA: u32 = 0x14;
    pub(crate) const PUB_OFFSET: u32 = 0x15;
    pub(crate) const PUB_DATA: u32 = 0x16;
}

/// The per-queue files.
const QUEUE_FILES: [(&kernel::str::CStr, u32); 7] = [
    (c_str!("irq"), key::IRQ),
    (c_str!("count"), key::COUNT),
    (c_str!("changes"), key::CHANGES),
    (c_str!("offset"), key::OFFSET),
    (c_str!("data"), key::DATA),
    (c_str!("pub_offset"), key::PUB_OFFSET),
    (c_str!("pub_data"), key::PUB_DATA),
];

/// The edu test: the domain, edu, and what the handlers saw.
#[pin_data]
struct EduTest {
    queues: Arc<Queues>,
    domain: IrqDomain<Owner>,
    window: MsiWindow,
    #[pin]
    dma: Mutex<Dma>,
}

impl EduTest {
    fn request(&self, queue: u32) -> Result {
        let v = self.domain.request(
            queue,
            Counter {
                queues: self.queues.clone(),
                queue,
            },
        )?;
        self.queues.publish(queue, v.trigger);
        Ok(())
    }

    fn fire(&self, (offset, data): (u32, u32)) -> Result {
        let addr = self.window.base + u64::from(offset);
        self.dma.lock().write(addr, data)
    }
}

fn queue_of(v: u64) -> Result<u32> {
    u32::try_from(v).ok().filter(|&q| q < QUEUES).ok_or(EINVAL)
}

impl debugfs::Attribute for EduTest {
    fn get(&self, k: u32) -> Result<u64> {
        let (kind, q) = (k >> 8, (k & 0xff) as usize);
        let atomic32 = |a: &[AtomicU32; QUEUES as usize]| {
            a.get(q).map(|c| u64::from(c.load(Ordering::SeqCst)))
        };
        let published = || {
            self.queues
                .published
                .get(q)
                .map(|p| unpack(p.load(Ordering::SeqCst)))
        };
        let current = || match self.domain.trigger(q as u32) {
            Some(Trigger::Msi { offset, data, .. }) => Some((offset, data)),
            _ => None,
        };
        let v = match kind {
            key::QUEUES => Some(u64::from(self.domain.queues())),
            key::BACKEND => Some(match self.domain.backend() {
                Backend::Msi => 1,
                Backend::Doorbell => 2,
            }),
            key::IRQ => Some(u64::from(self.domain.irq(q as u32).unwrap_or(0))),
            key::COUNT => atomic32(&self.queues.count),
            key::CHANGES => atomic32(&self.queues.changes),
            key::OFFSET => current().map(|(o, _)| u64::from(o)),
            key::DATA => current().map(|(_, d)| u64::from(d)),
            key::PUB_OFFSET => published().map(|(o, _)| u64::from(o)),
            key::PUB_DATA => published().map(|(_, d)| u64::from(d)),
            _ => None,
        };
        v.ok_or(ENOENT)
    }

    fn set(&self, k: u32, val: u64) -> Result {
        match k >> 8 {
            key::FIRE => {
                let q = queue_of(val)?;
                match self.domain.trigger(q) {
                    Some(Trigger::Msi { offset, data, .. }) => self.fire((offset, data)),
                    _ => Err(ENOENT),
                }
            }
            key::FIRE_PREV => {
                let q = queue_of(val)?;
                let prev = self.queues.previous.get(q as usize).ok_or(EINVAL)?;
                self.fire(unpack(prev.load(Ordering::SeqCst)))
            }
            key::REQUEST => self.request(queue_of(val)?),
            key::FREE => self.domain.free(queue_of(val)?),
            key::FREE_ALL => {
                self.domain.free_all();
                Ok(())
            }
            _ => Err(EPERM),
        }
    }
}

/// A bound edu device. Field order is drop order: debugfs goes first, the
/// test (its domain and DMA buffer) before bus mastering, the BARs and the
/// device.
struct Edu {
    _dir: Dir<EduTest>,
    _test: Arc<EduTest>,
    _master: pci::BusMaster,
    _regions: pci::Regions,
    _enabled: pci::Enabled,
}

fn edu_debugfs(test: &Arc<EduTest>) -> Result<Dir<EduTest>> {
    let mut dir = Dir::new(c_str!("ntb_irqtest_edu"), test.clone())?;
    let root = dir.root();
    for (name, k, w) in [
        (c_str!("queues"), key::QUEUES, false),
        (c_str!("backend"), key::BACKEND, false),
        (c_str!("fire"), key::FIRE, true),
        (c_str!("fire_prev"), key::FIRE_PREV, true),
        (c_str!("request"), key::REQUEST, true),
        (c_str!("free"), key::FREE, true),
        (c_str!("free_all"), key::FREE_ALL, true),
    ] {
        dir.file(root, name, k << 8, w)?;
    }
    for q in 0..QUEUES {
        let name = CString::try_from_fmt(fmt!("q{}", q))?;
        let sub = dir.subdir(root, &name)?;
        for (name, k) in QUEUE_FILES {
            dir.file(sub, name, k << 8 | q, false)?;
        }
    }
    Ok(dir)
}

struct EduDriver;

impl pci::Driver for EduDriver {
    type Data = Edu;
    const NAME: &'static CStr = c_str!("ntb_irqtest_edu");
    const ID_TABLE: &'static [pci::DeviceId] = &[
        pci::DeviceId::new(edu::VENDOR, edu::DEVICE),
        pci::DeviceId::END,
    ];

    fn probe(dev: &pci::Device) -> Result<Edu> {
        let enabled = dev.enable()?;
        let regions = dev.request_regions(c_str!("ntb_irqtest_edu"))?;
        let regs = dev.iomap(0)?;
        let id = regs.try_read32(edu::ID)?;
        if id & 0xff != edu::ID_MAGIC {
            pr_err!("{}: not an edu device (id {:#x})\n", dev.name(), id);
            return Err(ENODEV);
        }
        // Bus mastering: edu's DMA, like an NTB's, goes out through it.
        let master = dev.set_master(&enabled);
        let buf = Coherent::alloc(dev, 4096)?;

        let queues = Arc::new(Queues::new(), GFP_KERNEL)?;
        let window = domain::msi_range()?;
        let domain = IrqDomain::new_msi(
            dev,
            c_str!("edu0"),
            QUEUES,
            window,
            0,
            Owner(queues.clone()),
        )?;
        let test = Arc::pin_init(
            try_pin_init!(EduTest {
                queues,
                domain,
                window,
                dma <- new_mutex!(Dma { regs, buf }),
            }),
            GFP_KERNEL,
        )?;
        for q in 0..QUEUES {
            test.request(q)?;
        }
        let dir = edu_debugfs(&test)?;
        pr_info!(
            "{}: edu0: {} queue interrupts from an MSI-backend domain, offsets from {:#x}\n",
            dev.name(),
            QUEUES,
            window.base
        );
        Ok(Edu {
            _dir: dir,
            _test: test,
            _master: master,
            _regions: regions,
            _enabled: enabled,
        })
    }
}

/// The NTB test: a domain of the NTB device and the peer's triggers.
struct NtbTest {
    queues: Arc<Queues>,
    domain: IrqDomain<Owner>,
    link: AtomicU32,
    peer: KVec<PeerTrigger>,
}

impl debugfs::Attribute for NtbTest {
    fn get(&self, k: u32) -> Result<u64> {
        let (kind, q) = (k >> 8, (k & 0xff) as usize);
        let v = match kind {
            key::BACKEND => Some(match self.domain.backend() {
                Backend::Msi => 1,
                Backend::Doorbell => 2,
            }),
            key::LINK => Some(u64::from(self.link.load(Ordering::SeqCst))),
            key::IRQ => Some(u64::from(self.domain.irq(q as u32).unwrap_or(0))),
            key::COUNT => self
                .queues
                .count
                .get(q)
                .map(|c| u64::from(c.load(Ordering::SeqCst))),
            _ => None,
        };
        v.ok_or(ENOENT)
    }

    fn set(&self, k: u32, val: u64) -> Result {
        match k >> 8 {
            key::FIRE_PEER => {
                let q = queue_of(val)?;
                self.peer.get(q as usize).ok_or(EINVAL)?.fire();
                Ok(())
            }
            key::FREE_ALL => {
                self.domain.free_all();
                Ok(())
            }
            _ => Err(EPERM),
        }
    }
}

/// A bound NTB device. Field order is drop order: debugfs goes first.
struct NtbBound {
    _dir: Dir<NtbTest>,
    test: Arc<NtbTest>,
}

struct NtbClient;

#[vtable]
impl ntb::Client for NtbClient {
    type Data = NtbBound;

    fn probe(dev: &ntb::Device) -> Result<NtbBound> {
        // The MSI backend needs the link up: wait for it here, as a driver
        // would create its domain in its link-up work.
        dev.link_enable()?;
        let linked = kernel::types::ScopeGuard::new(|| {
            let _ = dev.link_disable();
        });
        for _ in 0..LINK_WAIT_MS / 10 {
            if dev.link_is_up() {
                break;
            }
            klib::kern::delay::msleep(10);
        }
        let queues = Arc::new(Queues::new(), GFP_KERNEL)?;
        let cfg = domain::Config {
            name: c_str!("ntb0"),
            queues: QUEUES,
            mode: domain::Mode::from_param()?,
            db_mask: 0,
            // As ntbnet: window 0 carries the data, a spare one can be MSI's.
            data_windows: 1,
            verbose: true,
            unsafe_msi: domain::allow_unsafe_msi_param(),
        };
        let domain = IrqDomain::new(dev, &cfg, Owner(queues.clone()))?;
        let mut peer = KVec::with_capacity(QUEUES as usize, GFP_KERNEL)?;
        for q in 0..QUEUES {
            let v = domain.request(
                q,
                Counter {
                    queues: queues.clone(),
                    queue: q,
                },
            )?;
            // Both hosts configure their domains alike, so this host's
            // trigger of queue `q` is the one the peer would publish; it goes
            // through the words a driver would publish and decode.
            let published = Trigger::from_words(v.trigger.to_words()).map_err(|_| EINVAL)?;
            peer.push(PeerTrigger::new(dev, &published)?, GFP_KERNEL)?;
        }
        let test = Arc::new(
            NtbTest {
                queues,
                domain,
                // Changes from now on come through `link_event`.
                link: AtomicU32::new(u32::from(dev.link_is_up())),
                peer,
            },
            GFP_KERNEL,
        )?;
        let mut dir = Dir::new(c_str!("ntb_irqtest_ntb"), test.clone())?;
        let root = dir.root();
        for (name, k, w) in [
            (c_str!("backend"), key::BACKEND, false),
            (c_str!("link"), key::LINK, false),
            (c_str!("fire_peer"), key::FIRE_PEER, true),
            (c_str!("free_all"), key::FREE_ALL, true),
        ] {
            dir.file(root, name, k << 8, w)?;
        }
        for q in 0..QUEUES {
            let name = CString::try_from_fmt(fmt!("q{}", q))?;
            let sub = dir.subdir(root, &name)?;
            dir.file(sub, c_str!("irq"), key::IRQ << 8 | q, false)?;
            dir.file(sub, c_str!("count"), key::COUNT << 8 | q, false)?;
        }
        linked.dismiss();
        pr_info!(
            "{}: ntb0: {} queue interrupts from the {} backend\n",
            dev.name(),
            QUEUES,
            test.domain.backend().name()
        );
        Ok(NtbBound { _dir: dir, test })
    }

    fn remove(data: NtbBound, dev: &ntb::Device) {
        let _ = dev.link_disable();
        drop(data);
    }

    fn link_event(data: &NtbBound, dev: &ntb::Device) {
        data.test
            .link
            .store(u32::from(dev.link_is_up()), Ordering::SeqCst);
    }

    fn db_event(data: &NtbBound, _dev: &ntb::Device, vector: u32) {
        data.test.domain.db_event(vector);
    }
}

struct NtbIrqTest {
    _edu: Pin<KBox<pci::Registration<EduDriver>>>,
    _ntb: Pin<KBox<ntb::Registration<NtbClient>>>,
}

impl kernel::Module for NtbIrqTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _edu: KBox::pin_init(pci::Registration::new(), GFP_KERNEL)?,
            _ntb: KBox::pin_init(ntb::Registration::new(), GFP_KERNEL)?,
        })
    }
}

// SPDX-License-Identifier: GPL-2.0

//! One ntbnet interface per NTB device: the netdev, its windows, its
//! queues and its link.
//!
//! Lifetimes: the netdev, its queues and their NAPI contexts live from
//! probe to remove. The inbound window (a coherent buffer the peer writes
//! through its outbound window), the outbound mapping and the queue
//! interrupts are set up at the first NTB link-up (the NTB API gives window
//! sizes only then) and kept until remove, across link sessions, so that
//! nothing the peer may still write into is ever freed while the device is
//! bound; the translation is removed before the buffer is freed. The data
//! path state (rings) lives for one link session (see `link.rs`).

use crate::klib::io::coherent::Coherent;
use crate::klib::io::mmio::IoMemWc;
use crate::klib::kern::barrier::mb;
use crate::klib::kern::once::OnceBox;
use crate::klib::kern::params;
use crate::klib::kern::random;
use crate::klib::kern::timer::{Timer, TimerCallback};
use crate::klib::kern::work::DelayedWork;
use crate::klib::net::skb::SkBuff;
use crate::klib::net::{self, MsgLevel, Rtnl, TxResult};
use crate::klib::ntb;
use crate::link::{Heartbeat, Link};
use crate::notify::Irqs;
use crate::queue::Queue;
use crate::stats::{ErrorTotals, LinkStats};
use crate::{negotiate, ring};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::{c_str, new_mutex};

/// The peer index: ntbnet serves two-port NTBs (one peer per `ntb_dev`).
pub(crate) const PIDX: i32 = 0;
/// The memory window ntbnet uses, in both directions. The last window of
/// an NTB with several is left to the NTB irq domain's MSI backend.
pub(crate) const WIDX: i32 = 0;
/// Largest inbound window ntbnet allocates.
const MAX_WINDOW: u64 = 256 << 20;
/// Smallest inbound window worth using.
const MIN_WINDOW: u64 = 256 << 10;
/// Most queue pairs.
pub(crate) const MAX_QUEUES: u32 = 16;
/// Descriptors per ring by default.
pub(crate) const DEFAULT_ENTRIES: u32 = 256;
/// Largest MTU: a 64 KiB IP packet in one frame.
pub(crate) const MAX_MTU: u32 = 65535 - net::ETH_HLEN;
/// Period of the ticker (heartbeat, peer watch, recovery).
pub(crate) const TICK_MS: u32 = 50;

/// Both memory windows. Set up when the NTB link first comes up (the NTB
/// API gives window sizes only then) and kept until the device is removed;
/// each link session's rings hold a reference.
pub(crate) struct Windows {
    ntb: ntb::Handle,
    /// This host's inbound window: the peer writes, this host reads.
    pub(crate) inbound: Coherent,
    /// The peer's inbound window, mapped write-combining: this host writes.
    pub(crate) outbound: IoMemWc,
}

impl Windows {
    /// Allocates the inbound window, translates window [`WIDX`] onto it,
    /// and maps the peer's window. The NTB link must be up.
    pub(crate) fn new(dev: &ntb::Device) -> Result<Arc<Self>> {
        if dev.mw_count(PIDX)? == 0 || dev.peer_mw_count() == 0 {
            pr_err!("{}: no memory window\n", dev.name());
            return Err(ENODEV);
        }
        let align = dev.mw_get_align(PIDX, WIDX)?;
        let mut size = align.size_max.min(MAX_WINDOW);
        size -= size.checked_rem(align.size_align).unwrap_or(0);
        // The largest buffer that can be had. The virtual NTB serves
        // coherent allocations from its windows, smallest fitting first, so
        // the window's own size is asked first.
        let inbound = loop {
            if size < MIN_WINDOW {
                pr_err!("{}: cannot allocate an inbound window\n", dev.name());
                return Err(ENOMEM);
            }
            if let Ok(buf) = dev.alloc_coherent(size as usize) {
                break buf;
            }
            size /= 2;
        };
        if inbound
            .dma_addr()
            .checked_rem(align.addr_align)
            .unwrap_or(0)
            != 0
        {
            pr_err!("{}: inbound window buffer is misaligned\n", dev.name());
            return Err(EINVAL);
        }
        let outbound = dev.peer_mw_map(WIDX)?;
        dev.mw_set_trans(PIDX, WIDX, &inbound, inbound.len())?;
        // From here on, drop clears the translation.
        Ok(Arc::new(
            Self {
                ntb: dev.handle(),
                inbound,
                outbound,
            },
            GFP_KERNEL,
        )?)
    }
}

impl Windows {
    /// Reads the little-endian word at `off` of this host's window once
    /// (all ones if out of range, which validation rejects like any bad
    /// value).
    pub(crate) fn read_le(&self, off: usize) -> u32 {
        u32::from_le(self.inbound.read32(off))
    }

    /// Writes index `val` at `out_off` of the peer's window, then, after a
    /// full barrier, reads the peer's event at `event_off` of this host's
    /// window once: an index update and the check whether the peer asked
    /// to be interrupted for it.
    pub(crate) fn post_then_read(&self, out_off: usize, val: u32, event_off: usize) -> u32 {
        // An offset outside the window cannot happen (the layouts were
        // checked); the write would be dropped.
        let _ = self.outbound.write32(out_off, val);
        mb();
        self.read_le(event_off)
    }
}

impl Drop for Windows {
    fn drop(&mut self) {
        // The peer's writes must go nowhere before the buffer is freed.
        let _ = self.ntb.get().mw_clear_trans(PIDX, WIDX);
    }
}

/// The MAC address: locally administered and unicast (`02`), then 32 bits
/// of FNV-1a over the NTB function's PCI Device Serial Number (or, if it
/// has none, its PCI address), then the low byte of the NTB port number,
/// on Switchtec the partition number (its partitions share the switch's
/// serial number and have no port numbers). The two ends of one NTB share
/// the first five bytes and differ in the last; the address is the same at
/// every load.
///
/// When the two ends still have the same port number, those bytes would
/// be the same on both ends: then the five bytes after `02` are random,
/// different at every load, as `eth_random_addr()` makes them.
fn mac_address(dev: &ntb::Device) -> [u8; 6] {
    let port = match dev.switchtec_partition() {
        Some(p) => p as i32,
        None => {
            let port = dev.port_number();
            if port == dev.peer_port_number(PIDX) {
                let mut mac = [0x02u8; 6];
                random::fill(mac.get_mut(1..).unwrap_or(&mut []));
                pr_info!(
                    "{}: both ends of the NTB have port number {}: random MAC address\n",
                    dev.name(),
                    port
                );
                return mac;
            }
            port
        }
    };
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |b: u8| h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    let dsn = dev.pci_dsn();
    if dsn != 0 {
        dsn.to_le_bytes().into_iter().for_each(&mut eat);
    } else {
        dev.pci_name().as_bytes().iter().copied().for_each(&mut eat);
    }
    let [a, b, c, d] = h.to_be_bytes();
    [0x02, a, b, c, d, port as u8]
}

/// One ntbnet interface.
///
/// Field order is drop order after [`PinnedDrop`] has stopped the work,
/// the ticker and the netdev: the queue interrupts, then the queues (their
/// NAPI contexts) go before the netdev is freed, the windows last.
#[pin_data(PinnedDrop)]
pub(crate) struct Nic {
    #[pin]
    pub(crate) link_work: DelayedWork<Nic>,
    #[pin]
    ticker: Timer<Nic>,
    /// The queue interrupts, from the first NTB link-up (their handlers
    /// hold the queues).
    pub(crate) irqs: OnceBox<Irqs>,
    pub(crate) queues: KVec<Arc<Queue>>,
    pub(crate) netdev: net::Registration<Nic>,
    /// The link state; taken under RTNL (lock order: RTNL, then this).
    #[pin]
    pub(crate) link: Mutex<Link>,
    /// The NTB device.
    pub(crate) ntb: ntb::Handle,
    /// Queue pairs this device can have.
    pub(crate) max_queues: u32,
    /// Queue pairs running (0 while the link is down).
    pub(crate) active: AtomicU32,
    /// The largest GSO frame the running link carries (0: no GSO).
    pub(crate) gso_max: AtomicU32,
    /// Set by the ticker when the peer's heartbeat stopped.
    pub(crate) peer_silent: AtomicBool,
    /// The heartbeats (ticker).
    pub(crate) heartbeat: Heartbeat,
    /// Device-wide counters.
    pub(crate) stats: LinkStats,
    /// Which non-error messages to print (`ethtool -s ntb0 msglvl`).
    pub(crate) msg: MsgLevel,
}

crate::impl_has_delayed_work!(Nic, link_work);
crate::impl_has_timer!(Nic, ticker);
crate::impl_has_registration!(Nic, netdev);

impl Nic {
    /// Sets up the interface of `dev` and registers it; the link comes up
    /// by itself once the peer is there and the interface is up.
    pub(crate) fn new(dev: &ntb::Device) -> Result<Arc<Self>> {
        let spad_room =
            dev.spad_count().saturating_sub(negotiate::SP_TRIGGER) / negotiate::TRIGGER_WORDS;
        // One interrupt per queue: with doorbells, as many as the NTB has
        // doorbell vectors (more queues would share them, and every
        // doorbell would run the handlers of two queues); with MSI (one
        // vector of doorbells, as on Switchtec), as many as there are
        // queues.
        let vectors = match dev.db_vector_count() {
            0 | 1 => MAX_QUEUES,
            n => n,
        };
        let max_queues = spad_room.min(MAX_QUEUES).min(vectors);
        if max_queues == 0 {
            pr_err!(
                "{}: needs at least {} scratchpads\n",
                dev.name(),
                negotiate::spads_needed(1)
            );
            return Err(ENODEV);
        }
        let default_queues = net::online_cpus().clamp(1, max_queues);

        let reg = net::Registration::<Nic>::new(c_str!("ntb%d"), max_queues, max_queues)?;
        reg.set_parent(dev)?;
        let nd = reg.device();
        nd.set_mac(&mac_address(dev));
        nd.set_mtu_range(net::ETH_MIN_MTU, MAX_MTU);
        // TSO: a large TCP segment crosses the link as one frame when the
        // peer takes GSO frames (`features_check` segments the others).
        let features = net::features::SG
            | net::features::HW_CSUM
            | net::features::TSO
            | net::features::TSO6
            | net::features::TSO_ECN;
        // HIGHDMA is a fact of a copying driver, not a setting (`[fixed]`).
        nd.set_features(
            features | net::features::RXCSUM | net::features::HIGHDMA,
            features | net::features::RXCSUM,
        );

        // No carrier until the link is negotiated.
        nd.carrier_off();

        let mut qs = KVec::with_capacity(max_queues as usize, GFP_KERNEL)?;
        for q in 0..max_queues {
            qs.push(
                Arc::pin_init(Queue::new(nd, q as u16), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        let nic = Arc::pin_init(
            try_pin_init!(Nic {
                link_work <- DelayedWork::new(),
                ticker <- Timer::new(),
                irqs: OnceBox::new(),
                queues: qs,
                netdev: reg,
                link <- new_mutex!(Link::new(default_queues, DEFAULT_ENTRIES), "ntbnet_link"),
                ntb: dev.handle(),
                max_queues,
                active: AtomicU32::new(0),
                gso_max: AtomicU32::new(0),
                peer_silent: AtomicBool::new(false),
                heartbeat: Heartbeat::default(),
                stats: LinkStats::default(),
                msg: MsgLevel::new(MsgLevel::from_debug(params::debug(), MsgLevel::DEFAULT)),
            }),
            GFP_KERNEL,
        )?;
        net::Registration::register(&nic)?;
        dev.link_enable()?;
        nic.ticker.start(TICK_MS);
        nic.link_work.queue(0);
        if nic.msg.on(MsgLevel::PROBE) {
            pr_info!(
                "{}: {} on {} (port {}), up to {} queues\n",
                nic.netdev.device().name(),
                dev.name(),
                dev.pci_name(),
                dev.port_number(),
                max_queues
            );
        }
        Ok(nic)
    }

    /// The peer rang doorbell vector `vector` (interrupt context).
    pub(crate) fn db_event(&self, vector: u32) {
        if let Some(irqs) = self.irqs.get() {
            irqs.db_event(vector);
        }
    }

    /// The NTB link changed (atomic context).
    pub(crate) fn link_event(&self) {
        self.link_work.run_now();
    }

    /// The running queues.
    pub(crate) fn active_queues(&self) -> &[Arc<Queue>] {
        let n = self.active.load(Ordering::Acquire) as usize;
        self.queues.get(..n).unwrap_or(&[])
    }
}

impl TimerCallback for Nic {
    /// The ticker: heartbeat to the peer, watch of the peer's, and the
    /// data path's recovery poll.
    fn run(&self) -> Option<u32> {
        if crate::scribble::hung() {
            return Some(TICK_MS);
        }
        if self.tick_heartbeat() {
            // The peer stopped: carrier off now, the link work does the rest.
            self.netdev.device().carrier_off();
            self.peer_silent.store(true, Ordering::Release);
            self.link_work.run_now();
        }
        for q in self.active_queues() {
            q.recover();
        }
        Some(TICK_MS)
    }
}

#[vtable]
impl net::Driver for Nic {
    fn open(&self, _dev: &net::Device, rtnl: &Rtnl) -> Result {
        self.link.lock().set_open(self, rtnl, true);
        self.link_work.run_now();
        Ok(())
    }

    fn stop(&self, _dev: &net::Device, rtnl: &Rtnl) -> Result {
        self.link.lock().set_open(self, rtnl, false);
        Ok(())
    }

    fn start_xmit(&self, dev: &net::Device, skb: SkBuff) -> TxResult {
        match self.queues.get(usize::from(skb.queue_mapping())) {
            Some(q) => q.xmit(dev, skb),
            None => TxResult::Ok,
        }
    }

    fn features_check(&self, _dev: &net::Device, skb: &SkBuff, features: u64) -> u64 {
        // A GSO packet the link cannot carry as one frame (too long, or an
        // MSS the ring protocol does not allow) is segmented by the core.
        let fits = skb.len() <= self.gso_max.load(Ordering::Relaxed)
            && match skb.tcp_gso() {
                Ok(Some(g)) => ring::Gso::mss_ok(u32::from(g.mss)),
                Ok(None) => true,
                Err(_) => false,
            };
        if fits {
            features
        } else {
            features & !net::features::GSO_MASK
        }
    }

    fn select_queue(&self, _dev: &net::Device, _skb: &SkBuff, current: Option<u16>) -> Option<u16> {
        // A socket stays on its queue while that queue has frames on the
        // ring (`Queue::keeps_flows`); otherwise XPS picks the sending
        // CPU's queue, or the flow hash.
        let q = current?;
        self.active_queues()
            .get(usize::from(q))
            .filter(|queue| queue.keeps_flows())
            .map(|_| q)
    }

    fn get_stats64(&self, _dev: &net::Device, s: &mut net::Stats64) {
        for q in self.queues.iter() {
            let st = &q.stats;
            let add = |sum: &mut u64, v: u64| *sum = sum.wrapping_add(v);
            add(&mut s.rx_packets, st.rx_packets.get());
            add(&mut s.rx_bytes, st.rx_bytes.get());
            add(&mut s.rx_dropped, st.rx_dropped.get());
            add(&mut s.tx_packets, st.tx_packets.get());
            add(&mut s.tx_bytes, st.tx_bytes.get());
            add(&mut s.tx_dropped, st.tx_dropped.get());
        }
        let e = ErrorTotals::of(self.queues.iter().map(|q| &q.stats));
        s.rx_errors = e.rx_errors;
        s.rx_length_errors = e.rx_length_errors;
        s.rx_frame_errors = e.rx_frame_errors;
        s.tx_errors = e.tx_errors;
    }

    fn change_mtu(&self, _dev: &net::Device, change: net::MtuChange<'_>) -> Result {
        // The rings carry frames up to the agreed `max_frame`, whatever the
        // MTU, so the MTU changes without touching the link.
        if let Some(max) = self.link.lock().max_frame() {
            if change.new_mtu() + net::ETH_HLEN > max {
                return Err(EINVAL);
            }
        }
        change.commit();
        Ok(())
    }
}

#[pinned_drop]
impl PinnedDrop for Nic {
    fn drop(self: Pin<&mut Self>) {
        self.link_work.disable_sync();
        self.ticker.shutdown();
        // Closes the interface (which takes the link down and tells the
        // peer); no callback runs after this.
        self.netdev.unregister();
        let _ = self.ntb.get().link_disable();
    }
}

/// `ring::MAX_FRAME` as offered: a 64 KiB frame.
pub(crate) const MAX_FRAME: u32 = ring::MAX_FRAME;

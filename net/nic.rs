// SPDX-License-Identifier: GPL-2.0

//! One ntbnet interface per NTB device: the netdev, its queues, its link,
//! and the netdev operations (ethtool's are in `nic/ethtool.rs`).
//!
//! Lifetimes: the netdev, its queues and their NAPI contexts live from
//! probe to remove. The windows (`window.rs`) and the queue interrupts are
//! set up at the first NTB link-up and kept until remove, across link
//! sessions. The data path state (rings) lives for one link session: the
//! link (`link.rs`) starts and stops it through [`Port`].

mod ethtool;

use crate::hooks::TestHooks;
use crate::klib::irq::domain::PeerTrigger;
use crate::klib::kern::debugfs::Dir;
use crate::klib::kern::once::OnceBox;
use crate::klib::kern::random;
use crate::klib::kern::timer::{Timer, TimerCallback};
use crate::klib::kern::work::{DelayedWork, WorkCallback};
use crate::klib::net::skb::SkBuff;
use crate::klib::net::{self, MsgLevel, Rtnl, TxResult};
use crate::klib::ntb;
use crate::link::{Heartbeat, Link, Port, HEARTBEAT_MS, LINK_TICK_MS};
use crate::negotiate::{self, Agreed};
use crate::notify::Irqs;
use crate::queue::{Queue, RxState, TxState};
use crate::ring;
use crate::stats::{ErrorTotals, LinkStats};
use crate::window::{Windows, PIDX};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::{Arc, Mutex};
use kernel::types::ARef;
use kernel::{c_str, new_mutex};

/// Most queue pairs.
pub(crate) const MAX_QUEUES: u32 = 16;
/// Descriptors per ring by default.
const DEFAULT_ENTRIES: u32 = 256;

/// No NUMA node preference (`NUMA_NO_NODE`).
const NUMA_NO_NODE: kernel::ffi::c_int = -1;
/// Largest MTU: a 64 KiB IP packet in one frame.
const MAX_MTU: u32 = 65535 - net::ETH_HLEN;

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
/// the ticker and the netdev: the knobs, then the queue interrupts, then
/// the queues (their NAPI contexts) go before the netdev is freed, the
/// windows last.
#[pin_data(PinnedDrop)]
pub(crate) struct Nic {
    #[pin]
    link_work: DelayedWork<Nic>,
    #[pin]
    ticker: Timer<Nic>,
    /// The test modes' debugfs knobs, once the interface has its name;
    /// removed first (removal waits for a running read or write).
    knobs: OnceBox<Dir<TestHooks>>,
    /// The queue interrupts, from the first NTB link-up (their handlers
    /// hold the queues).
    irqs: OnceBox<Irqs>,
    queues: KVec<Arc<Queue>>,
    netdev: net::Registration<Nic>,
    /// The link state; taken under RTNL (lock order: RTNL, then this).
    #[pin]
    link: Mutex<Link>,
    /// The NTB device.
    ntb: ARef<ntb::Device>,
    /// Queue pairs this device can have.
    max_queues: u32,
    /// Queue pairs running (0 while the link is down).
    active: AtomicU32,
    /// The largest GSO frame the running link carries (0: no GSO).
    gso_max: AtomicU32,
    /// The heartbeats (ticker).
    heartbeat: Heartbeat,
    /// Device-wide counters.
    stats: LinkStats,
    /// Which non-error messages to print (`ethtool -s ntb0 msglvl`).
    msg: MsgLevel,
    /// The test modes, shared with the queues and the knobs.
    hooks: Arc<TestHooks>,
}

crate::impl_has_field!(Nic, link_work: DelayedWork<Nic>);
crate::impl_has_field!(Nic, ticker: Timer<Nic>);
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

        let hooks = Arc::new(TestHooks::default(), GFP_KERNEL)?;
        let mut qs = KVec::with_capacity(max_queues as usize, GFP_KERNEL)?;
        for q in 0..max_queues {
            qs.push(
                Arc::pin_init(Queue::new(nd, q as u16, hooks.clone()), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        let mtu = nd.mtu();
        let nic = Arc::pin_init(
            try_pin_init!(Nic {
                link_work <- DelayedWork::new(),
                ticker <- Timer::new(),
                irqs: OnceBox::new(),
                queues: qs,
                netdev: reg,
                link <- new_mutex!(
                    Link::new(default_queues, max_queues, DEFAULT_ENTRIES, mtu),
                    "ntbnet_link"
                ),
                ntb: dev.into(),
                max_queues,
                active: AtomicU32::new(0),
                gso_max: AtomicU32::new(0),
                heartbeat: Heartbeat::default(),
                stats: LinkStats::default(),
                msg: MsgLevel::new(MsgLevel::from_debug(MsgLevel::module_debug(), MsgLevel::DEFAULT)),
                hooks,
                knobs: OnceBox::new(),
            }),
            GFP_KERNEL,
        )?;
        net::Registration::register(&nic)?;
        // Without debugfs the test modes stay off; the interface works.
        if let Ok(knobs) = TestHooks::publish(&nic.hooks, nic.netdev.device().name()) {
            if let Ok(knobs) = KBox::new(knobs, GFP_KERNEL) {
                let _ = nic.knobs.set(knobs);
            }
        }
        dev.link_enable()?;
        nic.ticker.start(HEARTBEAT_MS);
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

    /// Which non-error messages to print (`ethtool -s ntb0 msglvl`).
    pub(crate) fn msg(&self) -> &MsgLevel {
        &self.msg
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
        if self.hooks.hung() {
            return Some(HEARTBEAT_MS);
        }
        let running = self.active.load(Ordering::Acquire) != 0;
        if self.heartbeat.tick(&self.ntb, running) {
            // The peer stopped: carrier off now, the link work does the rest.
            self.netdev.device().carrier_off();
            self.link_work.run_now();
        }
        for q in self.active_queues() {
            q.recover();
        }
        Some(HEARTBEAT_MS)
    }
}

impl WorkCallback for Nic {
    /// The link work: one link tick, then again in a while.
    fn run(&self) {
        if !self.hooks.hung() {
            let rtnl = Rtnl::lock();
            self.link.lock().tick(self, &rtnl);
        }
        self.link_work.queue(LINK_TICK_MS);
    }
}

impl Port for Nic {
    fn ntb(&self) -> &ntb::Device {
        &self.ntb
    }

    fn name(&self) -> &CStr {
        self.netdev.device().name()
    }

    fn queues(&self) -> &[Arc<Queue>] {
        &self.queues
    }

    fn irqs(&self) -> &OnceBox<Irqs> {
        &self.irqs
    }

    fn stats(&self) -> &LinkStats {
        &self.stats
    }

    fn heartbeat(&self) -> &Heartbeat {
        &self.heartbeat
    }

    fn msg(&self) -> &MsgLevel {
        &self.msg
    }

    fn hooks(&self) -> &TestHooks {
        &self.hooks
    }

    fn netdev(&self) -> &net::Device {
        self.netdev.device()
    }

    /// Starts the data path of an agreed link: rings, queues, carrier.
    fn go_up(
        &self,
        rtnl: &Rtnl,
        win: &Arc<Windows>,
        agreed: &Agreed,
        kicks: &[Arc<PeerTrigger>],
    ) -> Result {
        let dev = self.netdev.device();
        let n = agreed.queues.min(self.max_queues);
        let mut states = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for q in 0..n {
            let kick = kicks.get(q as usize).ok_or(EINVAL)?;
            states.push(
                (
                    TxState::new(win.clone(), q, &agreed.local, &agreed.peer, kick.clone())?,
                    RxState::new(win.clone(), q, &agreed.local, &agreed.peer, kick.clone())?,
                ),
                GFP_KERNEL,
            )?;
        }
        dev.set_real_num_queues(rtnl, n, n)?;
        // A flow's packets leave on its sending CPU's queue, whose
        // interrupt is on that CPU too (the irq domain spreads them alike),
        // so a flow is sent, completed and received on one CPU. A failure
        // here only leaves the choice to the flow hash.
        let node = self.irqs.get().map_or(NUMA_NO_NODE, |i| i.node());
        let _ = dev.set_xps_spread(rtnl, n, node);
        dev.tx_reset_all();
        for (queue, (tx, rx)) in self.queues.iter().zip(states) {
            queue.start(tx, rx);
        }
        self.heartbeat.reset(&self.ntb);
        // The largest frame the transmit rings (in the peer's window) take
        // as one GSO frame, if the peer agreed to them.
        let gso_max = if ring::gso_in_use(agreed.peer.features()) {
            agreed.peer.queue().max_frame()
        } else {
            0
        };
        self.gso_max.store(gso_max, Ordering::Relaxed);
        self.active.store(n, Ordering::Release);
        dev.tx_wake_all();
        dev.carrier_on();
        Ok(())
    }

    /// Stops the data path: carrier off, transmission and polling stopped,
    /// the session's rings forgotten. The windows stay.
    fn go_down(&self, _rtnl: &Rtnl) {
        let dev = self.netdev.device();
        dev.carrier_off();
        dev.tx_disable();
        self.gso_max.store(0, Ordering::Relaxed);
        self.active.store(0, Ordering::Release);
        for q in self.queues.iter() {
            q.stop();
        }
        dev.tx_reset_all();
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
        // ring and for a while after (`Queue::keeps_flows`); otherwise XPS
        // picks the sending CPU's queue, or the flow hash.
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
        // MTU, so the MTU changes without touching a running link; one
        // refused for the MTU is tried again.
        let mut link = self.link.lock();
        let mtu = change.new_mtu();
        if let Some(max) = link.max_frame() {
            if mtu + net::ETH_HLEN > max {
                return Err(EINVAL);
            }
        }
        link.set_mtu(self, change.rtnl(), mtu);
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
        let _ = self.ntb.link_disable();
    }
}

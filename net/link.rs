// SPDX-License-Identifier: GPL-2.0

//! The link: negotiation over scratchpads, bring-up and tear-down of the
//! data path, peer watch.
//!
//! Every word goes into the *peer's* scratchpads (a posted write) and each
//! host reads only its own. The handshake (Documentation/ring-protocol.md,
//! "Negotiation") is driven by [`Link::tick`], from a work item that runs
//! every [`LINK_TICK_MS`] and on every NTB link event, under RTNL and the
//! link lock:
//!
//! 1. Each host publishes its offer and, last, a fresh random session.
//! 2. On a new peer session a host stops writing the peer's window (takes
//!    its link down if it was up) and acknowledges it (`SP_ACK`).
//! 3. Acknowledged, a host zeroes its own window and says so (`SP_CLEAN`).
//! 4. Told the peer's window is clean, a host agrees the parameters from
//!    both offers, writes its header into the peer's window and says so
//!    (`SP_READY`).
//! 5. Told the peer's header is in its window, a host checks it against
//!    the agreement and starts the data path: carrier on.
//!
//! Handshake words name the session of the host they are written to, so a
//! word of an earlier session is never taken for a current one. A host
//! that restarts (interface down and up, new channel or ring sizes, peer
//! silent) picks a new session; one whose peer restarted keeps its own.

use crate::klib::irq::domain::PeerTrigger;
use crate::klib::irq::index::TriggerWatch;
use crate::klib::kern::barrier::{rmb, wmb};
use crate::klib::kern::random;
use crate::klib::kern::work::WorkCallback;
use crate::klib::net::{trace, MsgLevel, Rtnl};
use crate::klib::ntb;
use crate::negotiate::{self, Agreed, Incompatible, Offer};
use crate::nic::{Nic, Windows, MAX_FRAME, PIDX, TICK_MS};
use crate::notify::{self, Irqs, TriggerWords};
use crate::queue::{RxState, TxState};
use crate::ring::{self, Header, WindowLayout, HEADER_LEN};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// Period of the link work.
pub(crate) const LINK_TICK_MS: u32 = 100;

/// Ticker periods without a change of the peer's heartbeat after which a
/// running link is taken down (1 s).
const PEER_TIMEOUT_TICKS: u32 = 1000 / TICK_MS;

/// The heartbeat this host sends and the one it watches (ticker context).
#[derive(Default)]
pub(crate) struct Heartbeat {
    mine: AtomicU32,
    peer: AtomicU32,
    stale: AtomicU32,
}

/// A consistent copy of the peer's words: read `SP_SESSION` first and last,
/// the rest in between (the peer writes `SP_SESSION` last).
struct Snapshot {
    session: u32,
    ack: u32,
    clean: u32,
    ready: u32,
    offer: Offer,
}

impl Snapshot {
    fn read(dev: &ntb::Device) -> Option<Self> {
        let session = dev.spad_read(negotiate::SP_SESSION);
        rmb();
        let snap = Self {
            session,
            ack: dev.spad_read(negotiate::SP_ACK),
            clean: dev.spad_read(negotiate::SP_CLEAN),
            ready: dev.spad_read(negotiate::SP_READY),
            offer: Offer::from_spads(|i| dev.spad_read(i)),
        };
        rmb();
        (dev.spad_read(negotiate::SP_SESSION) == session).then_some(snap)
    }
}

/// Why the link went down, for the log.
#[derive(Clone, Copy)]
enum Why {
    NtbDown,
    PeerRestarted,
    PeerLeft,
    PeerSilent,
    InterfaceDown,
    Reconfigured,
    ScribbleEnded,
    Failed,
}

impl Why {
    fn as_cstr(self) -> &'static CStr {
        match self {
            Self::NtbDown => c_str!("NTB link down"),
            Self::PeerRestarted => c_str!("peer restarted"),
            Self::PeerLeft => c_str!("peer left"),
            Self::PeerSilent => c_str!("peer stopped answering"),
            Self::InterfaceDown => c_str!("interface down"),
            Self::Reconfigured => c_str!("reconfigured"),
            Self::ScribbleEnded => c_str!("scribble test ended"),
            Self::Failed => c_str!("setup failed"),
        }
    }
}

/// The link state, under the link lock (and RTNL).
pub(crate) struct Link {
    /// The interface is up (open).
    open: bool,
    /// Queue pairs and ring size this host offers.
    want_queues: u32,
    want_entries: u32,
    /// This host's session, and the peer's it tracks (0: none).
    session: u32,
    peer_session: u32,
    /// The NTB link is up.
    ntb_up: bool,
    /// Ticks since the NTB link was last seen up (or since the start).
    ntb_down_ticks: u32,
    /// This host zeroed its window for `peer_session` and said so.
    clean_sent: bool,
    /// This host wrote its header into the peer's window and said so.
    ready_sent: bool,
    /// The parameters of this session, once agreed.
    agreed: Option<Agreed>,
    /// The peer's version word of this session (`SP_VERSION`), once agreed.
    peer_version: u32,
    /// The data path runs.
    up: bool,
    /// The peer session last refused (logged once per session).
    refused: u32,
    /// The scribble test mode ran: restart when it ends.
    scribbled: bool,
    /// Both windows, from the first NTB link-up until the device goes.
    windows: Option<Arc<Windows>>,
    /// Setting up the windows or the interrupts failed (logged once).
    setup_failed: bool,
    /// The peer's trigger descriptors of the running link, to notice a
    /// republished one.
    peer_triggers: KVec<TriggerWatch>,
}

impl Link {
    /// A closed link offering `queues` queue pairs of `entries` descriptors.
    pub(crate) fn new(queues: u32, entries: u32) -> Self {
        Self {
            open: false,
            want_queues: queues,
            want_entries: entries,
            session: 0,
            peer_session: 0,
            ntb_up: false,
            ntb_down_ticks: 0,
            clean_sent: false,
            ready_sent: false,
            agreed: None,
            peer_version: 0,
            up: false,
            refused: 0,
            scribbled: false,
            windows: None,
            setup_failed: false,
            peer_triggers: KVec::new(),
        }
    }

    /// The protocol version the running link speaks: the common major, and
    /// the smaller of the two minors (`ethtool -i`, firmware-version).
    pub(crate) fn protocol(&self) -> Option<(u16, u16)> {
        self.agreed()?;
        let peer_minor = (self.peer_version & 0xff) as u16;
        // VERSION_MINOR is 0 today, which makes the minimum trivial; it is
        // what the link speaks once a minor version is added.
        #[allow(clippy::unnecessary_min_or_max)]
        let minor = ring::VERSION_MINOR.min(peer_minor);
        Some((ring::VERSION_MAJOR, minor))
    }

    /// Queue pairs offered (`ethtool -l`).
    pub(crate) fn want_queues(&self) -> u32 {
        self.want_queues
    }

    /// Ring size offered, and in use if the link is up (`ethtool -g`).
    pub(crate) fn entries(&self) -> (u32, Option<u32>) {
        (
            self.want_entries,
            self.agreed.map(|a| a.local.queue().entries()),
        )
    }

    /// The agreed parameters, while the link is up.
    pub(crate) fn agreed(&self) -> Option<&Agreed> {
        self.agreed.as_ref().filter(|_| self.up)
    }

    /// The largest frame of the running link.
    pub(crate) fn max_frame(&self) -> Option<u32> {
        self.agreed()
            .map(|a| a.local.queue().max_frame().min(a.peer.queue().max_frame()))
    }

    /// This host's offer.
    fn offer(&self, nic: &Nic) -> Offer {
        let window = self.windows.as_ref().map_or(0, |w| w.inbound.len() as u64);
        Offer {
            version: negotiate::version_word(),
            features: ring::FEATURE_CSUM | ring::FEATURE_GSO,
            queues: self.want_queues,
            entries: self.want_entries,
            max_frame: MAX_FRAME,
            window,
            irq: negotiate::irq_word(nic.max_queues),
        }
    }

    fn put(nic: &Nic, idx: u32, val: u32) {
        // A write the peer misses shows as a stalled handshake, which the
        // next restart repeats.
        let _ = nic.ntb.get().peer_spad_write(PIDX, idx, val);
    }

    /// Starts a new session of this host: publishes the offer and resets
    /// the handshake words, session last.
    fn restart(&mut self, nic: &Nic) {
        let mut s = random::u32();
        while s == 0 || s == self.session {
            s = random::u32();
        }
        self.session = s;
        self.clean_sent = false;
        self.ready_sent = false;
        self.agreed = None;
        for (idx, val) in self.offer(nic).to_words() {
            Self::put(nic, idx, val);
        }
        for q in 0..nic.max_queues {
            Self::publish_trigger(nic, q);
        }
        Self::put(nic, negotiate::SP_ACK, self.peer_session);
        Self::put(nic, negotiate::SP_CLEAN, 0);
        Self::put(nic, negotiate::SP_READY, 0);
        wmb();
        Self::put(nic, negotiate::SP_SESSION, self.session);
    }

    /// Publishes local queue `q`'s trigger descriptor to the peer.
    fn publish_trigger(nic: &Nic, q: u32) {
        let words = nic.irqs.get().map_or([0; 3], |i| i.trigger_words(q));
        for (w, val) in words.iter().enumerate() {
            Self::put(nic, negotiate::sp_trigger(q, w as u32), *val);
        }
    }

    /// The peer's trigger descriptor of queue `q`, if two reads in a row
    /// agree (the peer may be rewriting it: see [`TriggerWatch`]).
    fn peer_trigger(dev: &ntb::Device, q: u32) -> Option<TriggerWords> {
        let read = || {
            let mut words = [0; 3];
            for (w, val) in words.iter_mut().enumerate() {
                *val = dev.spad_read(negotiate::sp_trigger(q, w as u32));
            }
            words
        };
        let first = read();
        rmb();
        let second = read();
        (first == second).then_some(first)
    }

    /// While up: republishes triggers of this host that changed, and
    /// follows those the peer republished.
    fn follow_triggers(&mut self, nic: &Nic, dev: &ntb::Device) {
        let mut changed = nic.irqs.get().map_or(0, |i| i.take_changed());
        while changed != 0 {
            let q = changed.trailing_zeros();
            changed &= changed - 1;
            Self::publish_trigger(nic, q);
        }
        for (q, watch) in self.peer_triggers.iter_mut().enumerate() {
            // A changed descriptor is used once it reads the same on two
            // ticks in a row: never half of a rewrite.
            let Some(words) = Self::peer_trigger(dev, q as u32).and_then(|w| watch.observe(w))
            else {
                continue;
            };
            match notify::resolve(dev, words) {
                Ok(t) => {
                    watch.adopt(words);
                    if let Some(queue) = nic.queues.get(q) {
                        queue.set_kick(&t);
                    }
                }
                // A bad one is ignored: the old trigger still works, or the
                // peer is misbehaving and its queue stalls.
                Err(_) => nic.stats.peer_refused.inc(),
            }
        }
    }

    /// Stops the data path, if it runs.
    fn down(&mut self, nic: &Nic, rtnl: &Rtnl, why: Why) {
        if !self.up {
            return;
        }
        self.up = false;
        nic.go_down(rtnl);
        nic.stats.link_down.inc();
        let dev = nic.netdev.device();
        trace::link(dev, false, 0, why.as_cstr());
        if nic.msg.on(MsgLevel::LINK) {
            pr_info!("{}: link down: {}\n", dev.name(), why.as_cstr());
        }
    }

    /// Takes the link down for a reason of this host and starts over.
    fn reset(&mut self, nic: &Nic, rtnl: &Rtnl, why: Why) {
        self.down(nic, rtnl, why);
        if self.ntb_up {
            self.restart(nic);
        }
    }

    /// The interface went up or down.
    pub(crate) fn set_open(&mut self, nic: &Nic, rtnl: &Rtnl, open: bool) {
        if self.open != open {
            self.open = open;
            self.reset(nic, rtnl, Why::InterfaceDown);
        }
    }

    /// `ethtool -L`/`-G`: offer new counts and renegotiate.
    pub(crate) fn reconfigure(&mut self, nic: &Nic, rtnl: &Rtnl, queues: u32, entries: u32) {
        if (queues, entries) != (self.want_queues, self.want_entries) {
            self.want_queues = queues;
            self.want_entries = entries;
            self.reset(nic, rtnl, Why::Reconfigured);
            nic.link_work.run_now();
        }
    }

    /// Logs a refused peer once per peer session.
    fn refuse(&mut self, nic: &Nic, what: Incompatible) {
        if self.refused == self.peer_session {
            return;
        }
        self.refused = self.peer_session;
        nic.stats.peer_refused.inc();
        let name = nic.netdev.device().name();
        match what {
            Incompatible::NotNtbnet(v) => {
                pr_err!(
                    "{}: incompatible peer: not ntbnet (version word {:#010x}); no link\n",
                    name,
                    v
                )
            }
            Incompatible::Version(v) => pr_err!(
                "{}: incompatible peer: protocol {}.{}, this host speaks {}.{}; no link\n",
                name,
                v >> 8 & 0xff,
                v & 0xff,
                ring::VERSION_MAJOR,
                ring::VERSION_MINOR
            ),
            Incompatible::Interrupts(v) => {
                pr_err!(
                    "{}: incompatible peer: interrupt setup {:#010x}; no link\n",
                    name,
                    v
                )
            }
            Incompatible::Layout(e) => {
                pr_err!(
                    "{}: incompatible peer: parameters do not fit ({:?}); no link\n",
                    name,
                    e
                )
            }
        }
    }

    /// Sets up what needs the NTB link up once: the windows and the queue
    /// interrupts. Both stay until the device goes.
    fn setup(&mut self, nic: &Nic, dev: &ntb::Device) -> Option<Arc<Windows>> {
        let name = nic.netdev.device().name();
        let win = match &self.windows {
            Some(w) => w.clone(),
            None => match Windows::new(dev) {
                Ok(w) => {
                    self.windows = Some(w.clone());
                    w
                }
                Err(e) => {
                    if !self.setup_failed {
                        self.setup_failed = true;
                        pr_err!("{}: no memory window: {:?}\n", name, e);
                    }
                    return None;
                }
            },
        };
        if nic.irqs.get().is_none() {
            let irqs = match Irqs::new(dev, name, &nic.queues, nic.msg.on(MsgLevel::PROBE)) {
                Ok(i) => KBox::new(i, GFP_KERNEL).ok()?,
                Err(e) => {
                    if !self.setup_failed {
                        self.setup_failed = true;
                        pr_err!("{}: no queue interrupts: {:?}\n", name, e);
                    }
                    return None;
                }
            };
            // Only the link work sets it.
            let _ = nic.irqs.set(irqs);
        }
        Some(win)
    }

    /// One step of the handshake; see the module documentation.
    pub(crate) fn tick(&mut self, nic: &Nic, rtnl: &Rtnl) {
        let dev = nic.ntb.get();
        if !dev.link_is_up() {
            if self.ntb_up {
                self.ntb_up = false;
                self.down(nic, rtnl, Why::NtbDown);
                self.peer_session = 0;
            }
            // Enable the link again every 2 s while it is down: 6.12's
            // ntb_hw_switchtec can lose the peer's link-up message (it
            // arrives while its link work handles a "force down" from the
            // peer's probe, and the work drops it), and then stays down
            // while the peer is up; enabling re-reads the link state and
            // tells the peer again. Harmless elsewhere.
            self.ntb_down_ticks = self.ntb_down_ticks.wrapping_add(1);
            if self.ntb_down_ticks % (2000 / LINK_TICK_MS) == 0 {
                let _ = dev.link_enable();
            }
            return;
        }
        self.ntb_down_ticks = 0;
        let Some(win) = self.setup(nic, dev) else {
            return;
        };
        if !self.ntb_up {
            self.ntb_up = true;
            self.restart(nic);
        }
        if nic.peer_silent.swap(false, Ordering::AcqRel) {
            self.reset(nic, rtnl, Why::PeerSilent);
        }
        crate::scribble::poke_msi(dev);
        if self.scribble(nic, rtnl, &win) {
            return;
        }
        let Some(snap) = Snapshot::read(dev) else {
            return;
        };
        if snap.session != self.peer_session {
            let why = if snap.session == 0 {
                Why::PeerLeft
            } else {
                Why::PeerRestarted
            };
            self.down(nic, rtnl, why);
            self.peer_session = snap.session;
            self.clean_sent = false;
            self.ready_sent = false;
            self.agreed = None;
            if snap.session != 0 {
                // This host does not write the peer's window now.
                Self::put(nic, negotiate::SP_ACK, snap.session);
            }
        }
        if self.up {
            self.follow_triggers(nic, dev);
            return;
        }
        if !self.open || snap.session == 0 {
            return;
        }
        if !self.clean_sent {
            if snap.ack != self.session {
                return;
            }
            // The peer stopped writing: start from a zeroed window.
            let _ = win.inbound.zero(0, win.inbound.len());
            wmb();
            Self::put(nic, negotiate::SP_CLEAN, self.peer_session);
            self.clean_sent = true;
        }
        if !self.ready_sent {
            if snap.clean != self.session {
                return;
            }
            let peer_window = snap.offer.window.min(win.outbound.len() as u64);
            let agreed = match negotiate::agree(&self.offer(nic), &snap.offer, peer_window) {
                Ok(a) => a,
                Err(e) => return self.refuse(nic, e),
            };
            let header = agreed.peer.header().to_le_bytes();
            if win.outbound.write(0, &header).is_err() {
                return self.refuse(nic, Incompatible::Layout(ring::LayoutError::TooLarge));
            }
            wmb();
            Self::put(nic, negotiate::SP_READY, self.peer_session);
            self.ready_sent = true;
            self.agreed = Some(agreed);
            self.peer_version = snap.offer.version;
        }
        if snap.ready != self.session {
            return;
        }
        let Some(agreed) = self.agreed else {
            return;
        };
        // The peer's header, read once, must describe the agreed layout.
        let raw = win
            .inbound
            .read_array::<HEADER_LEN>(0)
            .unwrap_or([0; HEADER_LEN]);
        let window = win.inbound.len() as u64;
        match WindowLayout::from_header(&Header::from_le_bytes(&raw), window) {
            Ok(l) if l == agreed.local => {}
            Ok(_) => return self.refuse(nic, Incompatible::Layout(ring::LayoutError::TooLarge)),
            Err(ring::HeaderError::Layout(e)) => return self.refuse(nic, Incompatible::Layout(e)),
            Err(_) => return self.refuse(nic, Incompatible::NotNtbnet(snap.offer.version)),
        }
        let mut kicks = KVec::new();
        let mut seen = KVec::new();
        for q in 0..agreed.queues {
            // Being rewritten: again at the next tick.
            let Some(words) = Self::peer_trigger(dev, q) else {
                return;
            };
            let Ok(kick) = notify::resolve(dev, words) else {
                return self.refuse(nic, Incompatible::Interrupts(words[0]));
            };
            if kicks.push(kick, GFP_KERNEL).is_err()
                || seen.push(TriggerWatch::new(words), GFP_KERNEL).is_err()
            {
                return;
            }
        }
        self.peer_triggers = seen;
        match nic.go_up(rtnl, &win, &agreed, &kicks) {
            Ok(()) => {
                self.up = true;
                nic.stats.link_up.inc();
                let dev = nic.netdev.device();
                trace::link(dev, true, agreed.queues, c_str!(""));
                if nic.msg.on(MsgLevel::LINK) {
                    pr_info!(
                        "{}: link up: {} queues, {} descriptors, max frame {}, windows {}/{} KiB\n",
                        dev.name(),
                        agreed.queues,
                        agreed.local.queue().entries(),
                        agreed.local.queue().max_frame(),
                        agreed.local.size() >> 10,
                        agreed.peer.size() >> 10
                    );
                }
            }
            Err(e) => {
                pr_err!(
                    "{}: cannot start the link: {:?}\n",
                    nic.netdev.device().name(),
                    e
                );
                self.up = true;
                self.reset(nic, rtnl, Why::Failed);
            }
        }
    }

    /// The `scribble` test mode (module parameter): while set, writes
    /// random bytes over the peer's whole window and rings its queue
    /// interrupts instead of negotiating; when cleared, starts over.
    /// Returns whether the mode is on.
    fn scribble(&mut self, nic: &Nic, rtnl: &Rtnl, win: &Windows) -> bool {
        if !crate::scribble::enabled() {
            if self.scribbled {
                self.scribbled = false;
                self.reset(nic, rtnl, Why::ScribbleEnded);
            }
            return false;
        }
        if !self.scribbled {
            pr_warn!(
                "{}: scribble test mode: writing garbage over the peer's window\n",
                nic.netdev.device().name()
            );
        }
        self.scribbled = true;
        crate::scribble::scribble(nic, win, self.agreed().map(|a| a.peer));
        true
    }
}

impl Nic {
    /// Starts the data path of an agreed link: rings, queues, carrier.
    pub(crate) fn go_up(
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
        // A flow's packets leave on its sending CPU's queue (and a failure
        // here only leaves the choice to the flow hash).
        let _ = dev.set_xps_spread(rtnl, n);
        dev.tx_reset_all();
        for (queue, (tx, rx)) in self.queues.iter().zip(states) {
            queue.start(tx, rx);
        }
        self.heartbeat_reset();
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
    pub(crate) fn go_down(&self, _rtnl: &Rtnl) {
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

    fn heartbeat_reset(&self) {
        let hb = &self.heartbeat;
        hb.stale.store(0, Ordering::Relaxed);
        hb.peer.store(
            self.ntb.get().spad_read(negotiate::SP_HEARTBEAT),
            Ordering::Relaxed,
        );
    }

    /// The ticker's heartbeat: sends ours, watches the peer's while the
    /// link is up. Returns true once when the peer has been silent for a
    /// second.
    pub(crate) fn tick_heartbeat(&self) -> bool {
        let dev = self.ntb.get();
        let hb = &self.heartbeat;
        let mine = hb.mine.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let _ = dev.peer_spad_write(PIDX, negotiate::SP_HEARTBEAT, mine);
        if self.active.load(Ordering::Acquire) == 0 {
            hb.stale.store(0, Ordering::Relaxed);
            return false;
        }
        let peer = dev.spad_read(negotiate::SP_HEARTBEAT);
        if hb.peer.swap(peer, Ordering::Relaxed) != peer {
            hb.stale.store(0, Ordering::Relaxed);
            return false;
        }
        hb.stale.fetch_add(1, Ordering::Relaxed).wrapping_add(1) == PEER_TIMEOUT_TICKS
    }
}

impl WorkCallback for Nic {
    /// The link work: one handshake step, then again in a while.
    fn run(&self) {
        if !crate::scribble::hung() {
            let rtnl = Rtnl::lock();
            self.link.lock().tick(self, &rtnl);
        }
        self.link_work.queue(LINK_TICK_MS);
    }
}

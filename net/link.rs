// SPDX-License-Identifier: GPL-2.0

//! The link's I/O: it feeds the handshake state machine (`handshake.rs`)
//! with events (link ticks with the peer's scratchpad words, restarts of
//! this host, the NTB link going down) and carries out the actions it
//! returns: scratchpad writes, cleaning this host's window, the header of
//! the peer's window, starting and stopping the data path. It also keeps
//! the heartbeat and what needs the NTB link up once (the windows, the
//! queue interrupts).
//!
//! The link work runs [`Link::tick`] every [`LINK_TICK_MS`] and on every
//! NTB link event, under RTNL and the link lock. The device it drives is a
//! [`Port`] (the interface, `nic.rs`).

use crate::handshake::{clean_ranges, Action, Down, Event, Handshake, Phase, Refusal, Snapshot};
use crate::hooks::TestHooks;
use crate::klib::io::Io;
use crate::klib::irq::domain::{self, PeerTrigger};
use crate::klib::irq::index::TriggerWatch;
use crate::klib::kern::barrier::{rmb, wmb};
use crate::klib::kern::once::OnceBox;
use crate::klib::kern::random;
use crate::klib::kern::ratelimit::RateLimit;
use crate::klib::net::{self, trace, MsgLevel, Rtnl};
use crate::klib::ntb;
use crate::negotiate::{self, Agreed, Incompatible, Offer};
use crate::notify::{self, Irqs, TriggerWords};
use crate::queue::Queue;
use crate::ring::{self, HEADER_LEN};
use crate::stats::LinkStats;
use crate::window::{Windows, PIDX};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;
use kernel::time::Ktime;

/// Period of the link work.
pub(crate) const LINK_TICK_MS: u32 = 100;
/// Period of the heartbeat (the interface's ticker).
pub(crate) const HEARTBEAT_MS: u32 = 50;
/// Heartbeat periods without a change of the peer's heartbeat after which
/// a running link is taken down (1 s).
const PEER_TIMEOUT_TICKS: u32 = 1000 / HEARTBEAT_MS;
/// `ring::MAX_FRAME` as offered: a 64 KiB frame.
pub(crate) const MAX_FRAME: u32 = ring::MAX_FRAME;

/// The device a link drives: its NTB, queues and data path.
pub(crate) trait Port {
    /// The NTB device.
    fn ntb(&self) -> &ntb::Device;
    /// The interface's name, for the log.
    fn name(&self) -> &CStr;
    /// The interface.
    fn netdev(&self) -> &net::Device;
    /// Every queue the device can have.
    fn queues(&self) -> &[Arc<Queue>];
    /// The queue interrupts, set up at the first NTB link-up.
    fn irqs(&self) -> &OnceBox<Irqs>;
    /// Device-wide counters.
    fn stats(&self) -> &LinkStats;
    /// The heartbeats.
    fn heartbeat(&self) -> &Heartbeat;
    /// Which non-error messages to print (`ethtool -s ntb0 msglvl`).
    fn msg(&self) -> &MsgLevel;
    /// The test modes.
    fn hooks(&self) -> &TestHooks;
    /// Starts the data path of an agreed link.
    fn go_up(
        &self,
        rtnl: &Rtnl,
        win: &Arc<Windows>,
        agreed: &Agreed,
        kicks: &[Arc<PeerTrigger>],
    ) -> Result;
    /// Stops the data path.
    fn go_down(&self, rtnl: &Rtnl);
}

/// The heartbeat this host sends and the one it watches (ticker context).
#[derive(Default)]
pub(crate) struct Heartbeat {
    mine: AtomicU32,
    peer: AtomicU32,
    stale: AtomicU32,
    /// Set when the peer's heartbeat stopped; the link work restarts.
    silent: AtomicBool,
}

impl Heartbeat {
    /// Starts watching the peer's heartbeat afresh (at link-up).
    pub(crate) fn reset(&self, dev: &ntb::Device) {
        self.stale.store(0, Ordering::Relaxed);
        self.peer
            .store(dev.spad_read(negotiate::SP_HEARTBEAT), Ordering::Relaxed);
    }

    /// One heartbeat period: sends ours, watches the peer's while the data
    /// path runs. Returns true once when the peer has been silent for a
    /// second.
    pub(crate) fn tick(&self, dev: &ntb::Device, running: bool) -> bool {
        let mine = self.mine.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let _ = dev.peer_spad_write(PIDX, negotiate::SP_HEARTBEAT, mine);
        if !running {
            self.stale.store(0, Ordering::Relaxed);
            return false;
        }
        let peer = dev.spad_read(negotiate::SP_HEARTBEAT);
        if self.peer.swap(peer, Ordering::Relaxed) != peer {
            self.stale.store(0, Ordering::Relaxed);
            return false;
        }
        let silent =
            self.stale.fetch_add(1, Ordering::Relaxed).wrapping_add(1) == PEER_TIMEOUT_TICKS;
        if silent {
            self.silent.store(true, Ordering::Release);
        }
        silent
    }
}

/// The link, under the link lock (and RTNL).
pub(crate) struct Link {
    hs: Handshake,
    /// Queue pairs this device can have (the trigger descriptors offered).
    max_queues: u32,
    /// Both windows, from the first NTB link-up until the device goes.
    windows: Option<Arc<Windows>>,
    /// Setting up the windows or the interrupts failed (logged once).
    setup_failed: bool,
    /// The scribble test mode ran: restart when it ends.
    scribbled: bool,
    /// The peer's trigger descriptors of the running link, to notice a
    /// republished one.
    peer_triggers: KVec<TriggerWatch>,
    /// Log lines the peer can cause (link up and down, refusals).
    log: RateLimit,
    /// Ticks since the NTB link was last seen up (or since the start).
    ntb_down_ticks: u32,
}

/// At most this many peer-caused log lines per [`LOG_INTERVAL_MS`].
const LOG_BURST: u32 = 10;
/// See [`LOG_BURST`].
const LOG_INTERVAL_MS: u64 = 5000;

impl Link {
    /// A closed link offering `queues` of at most `max_queues` queue pairs
    /// of `entries` descriptors, for an interface of MTU `mtu`.
    pub(crate) fn new(queues: u32, max_queues: u32, entries: u32, mtu: u32) -> Self {
        let offer = Offer {
            version: negotiate::version_word(),
            features: ring::FEATURE_CSUM | ring::FEATURE_GSO,
            queues,
            entries,
            max_frame: MAX_FRAME,
            window: 0,
            outbound: 0,
            irq: negotiate::irq_word(max_queues),
        };
        Self {
            hs: Handshake::new(offer, mtu),
            max_queues,
            windows: None,
            setup_failed: false,
            scribbled: false,
            peer_triggers: KVec::new(),
            log: RateLimit::new(LOG_INTERVAL_MS, LOG_BURST),
            ntb_down_ticks: 0,
        }
    }

    /// Queue pairs offered (`ethtool -l`).
    pub(crate) fn want_queues(&self) -> u32 {
        self.hs.offer().queues
    }

    /// Ring size offered, and in use if agreed (`ethtool -g`).
    pub(crate) fn entries(&self) -> (u32, Option<u32>) {
        (
            self.hs.offer().entries,
            self.hs.pending().map(|a| a.local.queue().entries()),
        )
    }

    /// The protocol version the running link speaks: the common major, and
    /// the smaller of the two minors (`ethtool -i`, firmware-version).
    pub(crate) fn protocol(&self) -> Option<(u16, u16)> {
        self.agreed().map(|a| (ring::VERSION_MAJOR, a.minor))
    }

    /// The agreed parameters, while the link is up.
    pub(crate) fn agreed(&self) -> Option<&Agreed> {
        self.hs.agreed()
    }

    /// The largest frame of the running link.
    pub(crate) fn max_frame(&self) -> Option<u32> {
        self.agreed()
            .map(|a| a.local.queue().max_frame().min(a.peer.queue().max_frame()))
    }

    /// The interface went up or down.
    pub(crate) fn set_open(&mut self, port: &impl Port, rtnl: &Rtnl, open: bool) {
        self.run(port, rtnl, Event::SetOpen(open));
    }

    /// The MTU changed (checked against a running link's frames).
    pub(crate) fn set_mtu(&mut self, port: &impl Port, rtnl: &Rtnl, mtu: u32) {
        self.run(port, rtnl, Event::SetMtu(mtu));
    }

    /// `ethtool -L`/`-G`: offer new counts and renegotiate. Returns whether
    /// anything changed.
    pub(crate) fn reconfigure(
        &mut self,
        port: &impl Port,
        rtnl: &Rtnl,
        queues: u32,
        entries: u32,
    ) -> bool {
        let offer = Offer {
            queues,
            entries,
            ..*self.hs.offer()
        };
        if offer == *self.hs.offer() {
            return false;
        }
        self.run(port, rtnl, Event::SetOffer(offer));
        true
    }

    /// One link tick.
    pub(crate) fn tick(&mut self, port: &impl Port, rtnl: &Rtnl) {
        let dev = port.ntb();
        if !dev.link_is_up() {
            self.run(port, rtnl, Event::NtbDown);
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
        let Some(win) = self.setup(port) else {
            return;
        };
        if port.heartbeat().silent.swap(false, Ordering::AcqRel) {
            self.run(port, rtnl, Event::Restart(Down::PeerSilent));
        }
        port.hooks().poke_msi(dev);
        if self.scribble(port, rtnl, &win) {
            return;
        }
        let snap = Snapshot::read(|i| dev.spad_read(i), rmb);
        // The header is read after the words that say it is there.
        rmb();
        let header = win
            .inbound
            .read_array::<HEADER_LEN>(0)
            .unwrap_or([0; HEADER_LEN]);
        let now_ms = u64::try_from(Ktime::ktime_get().to_ms()).unwrap_or(0);
        self.run(
            port,
            rtnl,
            Event::Tick {
                now_ms,
                snap,
                header,
            },
        );
    }

    /// Gives `event` to the handshake and carries out what it says; the
    /// outcome of an action that can fail is the next event.
    fn run(&mut self, port: &impl Port, rtnl: &Rtnl, event: Event) {
        let mut next = Some(event);
        // Each event leads to at most one more; the bound is a safeguard.
        for _ in 0..4 {
            let Some(event) = next.take() else {
                return;
            };
            let actions = self.hs.handle(event, &mut random::u32);
            for action in actions.iter() {
                next = self.act(port, rtnl, action);
                if next.is_some() {
                    // The rest assumed this action succeeded.
                    break;
                }
            }
        }
    }

    fn put(port: &impl Port, idx: u32, val: u32) {
        // A write the peer misses shows as a stalled handshake, which the
        // next restart repeats.
        let _ = port.ntb().peer_spad_write(PIDX, idx, val);
    }

    /// Carries out one action; returns the event its outcome is, if any.
    fn act(&mut self, port: &impl Port, rtnl: &Rtnl, action: Action) -> Option<Event> {
        match action {
            Action::TakeDown(why) => {
                port.go_down(rtnl);
                port.stats().link_down.inc();
                trace::link(port.netdev(), false, 0, down_cstr(why));
                if port.msg().on(MsgLevel::LINK) && self.log.allow() {
                    pr_info!("{}: link down: {}\n", port.name(), why.as_str());
                }
            }
            Action::Publish { session, ack } => {
                for (idx, val) in self.hs.offer().to_words() {
                    Self::put(port, idx, val);
                }
                for q in 0..self.max_queues {
                    Self::publish_trigger(port, q);
                }
                Self::put(port, negotiate::SP_ACK, ack);
                Self::put(port, negotiate::SP_CLEAN, 0);
                Self::put(port, negotiate::SP_READY, 0);
                wmb();
                Self::put(port, negotiate::SP_SESSION, session);
            }
            Action::Ack(peer) => Self::put(port, negotiate::SP_ACK, peer),
            Action::Clean { layout, peer } => {
                let win = self.windows.as_ref()?;
                for (off, len) in clean_ranges(&layout) {
                    let (Ok(off), Ok(len)) = (usize::try_from(off), usize::try_from(len)) else {
                        continue;
                    };
                    let _ = win.inbound.zero(off, len);
                }
                wmb();
                Self::put(port, negotiate::SP_CLEAN, peer);
            }
            Action::Ready { layout, peer } => {
                let win = self.windows.as_ref()?;
                let header = layout.header().to_le_bytes();
                if win.outbound.try_write_bytes(&header, 0).is_err() {
                    return Some(Event::Refuse(Refusal::HeaderWrite));
                }
                wmb();
                Self::put(port, negotiate::SP_READY, peer);
            }
            Action::Start(agreed) => return Some(self.start(port, rtnl, &agreed)),
            Action::FollowTriggers => self.follow_triggers(port),
            Action::Refuse(why) => self.refused(port, why),
        }
        None
    }

    /// Resolves the peer's triggers and starts the data path.
    fn start(&mut self, port: &impl Port, rtnl: &Rtnl, agreed: &Agreed) -> Event {
        let Some(win) = self.windows.clone() else {
            return Event::StartFailed;
        };
        let dev = port.ntb();
        let mut kicks = KVec::new();
        let mut seen = KVec::new();
        for q in 0..agreed.queues {
            // Being rewritten: again at the next tick.
            let Some(words) = Self::peer_trigger(dev, q) else {
                return Event::StartLater;
            };
            let kick = match notify::resolve(dev, words) {
                Ok(kick) => kick,
                // This host's memory, not the peer's descriptor: a refusal
                // would wait for a new session of the peer, which (having
                // refused ours meanwhile, or waiting for us) may never come.
                Err(e) if e == ENOMEM => {
                    pr_err!("{}: cannot start the link: {:?}\n", port.name(), e);
                    return Event::StartFailed;
                }
                Err(_) => {
                    return Event::Refuse(Refusal::Trigger {
                        queue: q,
                        word: words[0],
                    })
                }
            };
            if kicks.push(kick, GFP_KERNEL).is_err()
                || seen.push(TriggerWatch::new(words), GFP_KERNEL).is_err()
            {
                return Event::StartFailed;
            }
        }
        if let Err(e) = port.go_up(rtnl, &win, agreed, &kicks) {
            pr_err!("{}: cannot start the link: {:?}\n", port.name(), e);
            return Event::StartFailed;
        }
        self.peer_triggers = seen;
        port.stats().link_up.inc();
        trace::link(port.netdev(), true, agreed.queues, c_str!(""));
        if port.msg().on(MsgLevel::LINK) && self.log.allow() {
            pr_info!(
                "{}: link up: {} queues, {} descriptors, max frame {}, windows {}/{} KiB\n",
                port.name(),
                agreed.queues,
                agreed.local.queue().entries(),
                agreed.local.queue().max_frame(),
                agreed.local.size() >> 10,
                agreed.peer.size() >> 10
            );
        }
        Event::Started
    }

    /// Counts a refusal and logs it (the handshake reports each peer
    /// session once; the log is rate-limited on top).
    fn refused(&mut self, port: &impl Port, why: Refusal) {
        let stats = port.stats();
        stats.peer_refused.inc();
        stats.refused(why.kind());
        if !self.log.allow() {
            return;
        }
        let name = port.name();
        match why {
            Refusal::Offer(Incompatible::NotNtbnet(v)) => pr_err!(
                "{}: incompatible peer: not ntbnet (version word {:#010x}); no link\n",
                name,
                v
            ),
            Refusal::Offer(Incompatible::Version(v)) => pr_err!(
                "{}: incompatible peer: protocol {}.{}, this host speaks {}.{}; no link\n",
                name,
                v >> 8 & 0xff,
                v & 0xff,
                ring::VERSION_MAJOR,
                ring::VERSION_MINOR
            ),
            Refusal::Offer(Incompatible::Interrupts(v)) => pr_err!(
                "{}: incompatible peer: interrupt setup {:#010x}; no link\n",
                name,
                v
            ),
            Refusal::Offer(Incompatible::Layout(e)) => pr_err!(
                "{}: incompatible peer: parameters do not fit a window ({:?}); no link\n",
                name,
                e
            ),
            Refusal::MaxFrame { max_frame, mtu } => pr_err!(
                "{}: peer takes frames of at most {} bytes, below MTU {} + 14; no link (lower the MTU to {})\n",
                name,
                max_frame,
                mtu,
                max_frame.saturating_sub(14)
            ),
            Refusal::HeaderWrite => pr_err!(
                "{}: cannot write the header into the peer's window; no link\n",
                name
            ),
            Refusal::Header(e) => pr_err!(
                "{}: peer wrote an invalid window header ({:?}); no link\n",
                name,
                e
            ),
            Refusal::HeaderMismatch => pr_err!(
                "{}: peer's window header differs from the agreed layout; no link\n",
                name
            ),
            Refusal::Trigger { queue, word } => pr_err!(
                "{}: peer's interrupt trigger of queue {} is unusable ({:#010x}); no link\n",
                name,
                queue,
                word
            ),
        }
    }

    /// Publishes local queue `q`'s trigger descriptor to the peer.
    fn publish_trigger(port: &impl Port, q: u32) {
        let words = port.irqs().get().map_or([0; 3], |i| i.trigger_words(q));
        for (w, val) in words.iter().enumerate() {
            Self::put(port, negotiate::sp_trigger(q, w as u32), *val);
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
    fn follow_triggers(&mut self, port: &impl Port) {
        let mut changed = port.irqs().get().map_or(0, |i| i.take_changed());
        while changed != 0 {
            let q = changed.trailing_zeros();
            changed &= changed - 1;
            Self::publish_trigger(port, q);
        }
        let dev = port.ntb();
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
                    if let Some(queue) = port.queues().get(q) {
                        queue.set_kick(&t);
                    }
                }
                // A bad one is ignored: the old trigger still works, or the
                // peer is misbehaving and its queue stalls.
                Err(_) => port.stats().peer_refused.inc(),
            }
        }
    }

    /// Sets up what needs the NTB link up once: the windows and the queue
    /// interrupts. Both stay until the device goes. The offer then carries
    /// the window sizes.
    fn setup(&mut self, port: &impl Port) -> Option<Arc<Windows>> {
        let dev = port.ntb();
        let name = port.name();
        let win = match &self.windows {
            Some(w) => w.clone(),
            None => match Windows::new(dev) {
                Ok(w) => {
                    self.windows = Some(w.clone());
                    // Offline still: this only sets the offer.
                    let offer = Offer {
                        window: w.inbound.len() as u64,
                        outbound: w.outbound.len() as u64,
                        ..*self.hs.offer()
                    };
                    let _ = self.hs.handle(Event::SetOffer(offer), &mut random::u32);
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
        if port.irqs().get().is_none() {
            let verbose = port.msg().on(MsgLevel::PROBE);
            let irqs = match Irqs::new(dev, name, port.queues(), verbose) {
                Ok(i) => KBox::new(i, GFP_KERNEL).ok()?,
                // The link went down again: the next link-up retries.
                Err(e) if domain::link_went_down(e) => return None,
                Err(e) => {
                    if !self.setup_failed {
                        self.setup_failed = true;
                        pr_err!("{}: no queue interrupts: {:?}\n", name, e);
                    }
                    return None;
                }
            };
            // Only the link work sets it.
            let _ = port.irqs().set(irqs);
        }
        Some(win)
    }

    /// The `scribble` test mode: while on, writes random bytes over the
    /// peer's whole window and rings its queue interrupts instead of
    /// negotiating; when it ends, starts over. Returns whether it is on.
    fn scribble(&mut self, port: &impl Port, rtnl: &Rtnl, win: &Windows) -> bool {
        if !port.hooks().scribble() {
            if self.scribbled {
                self.scribbled = false;
                self.run(port, rtnl, Event::Restart(Down::ScribbleEnded));
            }
            return false;
        }
        if !self.scribbled {
            pr_warn!(
                "{}: scribble test mode: writing garbage over the peer's window\n",
                port.name()
            );
        }
        self.scribbled = true;
        let layout = match self.hs.phase() {
            Phase::Up(a) => Some(a.peer),
            _ => None,
        };
        crate::scribble::scribble(port.ntb(), port.queues(), win, layout);
        true
    }
}

/// Why the link went down, for the `ntbnet_link` tracepoint.
fn down_cstr(why: Down) -> &'static CStr {
    match why {
        Down::NtbDown => c_str!("NTB link down"),
        Down::PeerRestarted => c_str!("peer restarted"),
        Down::PeerLeft => c_str!("peer left"),
        Down::PeerSilent => c_str!("peer stopped answering"),
        Down::InterfaceDown => c_str!("interface down"),
        Down::Reconfigured => c_str!("reconfigured"),
        Down::MtuChanged => c_str!("MTU changed"),
        Down::ScribbleEnded => c_str!("scribble test ended"),
    }
}

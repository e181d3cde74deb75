// SPDX-License-Identifier: GPL-2.0

//! The link handshake as a state machine (Documentation/ring-protocol.md,
//! "Handshake").
//!
//! Pure logic, no kernel dependencies (like `negotiate.rs`, beside which it
//! is tested on the host). [`Handshake::handle`] takes one [`Event`] (a
//! tick with a consistent copy of the peer's words, the NTB link going
//! down, a restart of this host, the outcome of starting the data path) and
//! returns the [`Action`]s that `link.rs` carries out, in order: it keeps
//! the I/O, this file keeps the decisions.
//!
//! The state is this host's session, the peer's session it tracks, and a
//! [`Phase`], which holds the agreed parameters once there are any:
//!
//! ```text
//!  Offline --NTB up--> Idle (interface closed) or WaitAck (open)
//!  WaitAck   --peer acks S, agreement ok--> WaitClean{agreed}   [Clean]
//!  WaitClean --peer's window clean for S--> WaitReady{agreed}   [Ready]
//!  WaitReady --peer's header valid, ready for S--> Starting      [Start]
//!  Starting  --data path started--> Up{agreed}
//!  any       --new peer session--> WaitAck (Idle)   [TakeDown if Up, Ack]
//!  any       --restart of this host--> WaitAck (Idle) [TakeDown if Up, Publish]
//!  any       --NTB down--> Offline                   [TakeDown if Up]
//!  WaitAck..Starting --refusal--> Refused{why} until a new session  [Refuse]
//! ```
//!
//! A peer that cycles its session makes this host acknowledge each one, but
//! zeroing the window (the one costly step) is rate-limited ([`Bucket`]),
//! and a refusal is reported once per peer session.

use crate::negotiate::{self, Agreed, Incompatible, Offer};
use crate::ring::{Header, HeaderError, WindowLayout, HEADER_LEN};

/// A consistent copy of the peer's handshake words (`SP_SESSION` read first
/// and last, equal both times) and of its offer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// `SP_SESSION`: the peer's session, 0 if there is no peer.
    pub session: u32,
    /// `SP_ACK`: the session of this host that the peer acknowledges.
    pub ack: u32,
    /// `SP_CLEAN`: the session of this host for which the peer's window is
    /// clean.
    pub clean: u32,
    /// `SP_READY`: the session of this host for which the peer wrote the
    /// header of this host's window.
    pub ready: u32,
    /// The peer's offer.
    pub offer: Offer,
}

impl Snapshot {
    /// Reads the words with `read` (a scratchpad read) and `rmb` (a read
    /// barrier); `None` if `SP_SESSION` changed meanwhile.
    pub fn read(read: impl Fn(u32) -> u32, rmb: impl Fn()) -> Option<Self> {
        let session = read(negotiate::SP_SESSION);
        rmb();
        let snap = Self {
            session,
            ack: read(negotiate::SP_ACK),
            clean: read(negotiate::SP_CLEAN),
            ready: read(negotiate::SP_READY),
            offer: Offer::from_spads(&read),
        };
        rmb();
        (read(negotiate::SP_SESSION) == session).then_some(snap)
    }
}

/// Why the data path stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Down {
    /// The NTB link went down.
    NtbDown,
    /// The peer published a new session.
    PeerRestarted,
    /// The peer withdrew its session.
    PeerLeft,
    /// The peer's heartbeat stopped.
    PeerSilent,
    /// The interface went down (or up).
    InterfaceDown,
    /// The offered queue count or ring size changed.
    Reconfigured,
    /// The MTU changed.
    MtuChanged,
    /// The scribble test mode ended.
    ScribbleEnded,
}

impl Down {
    /// For the log line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NtbDown => "NTB link down",
            Self::PeerRestarted => "peer restarted",
            Self::PeerLeft => "peer left",
            Self::PeerSilent => "peer stopped answering",
            Self::InterfaceDown => "interface down",
            Self::Reconfigured => "reconfigured",
            Self::MtuChanged => "MTU changed",
            Self::ScribbleEnded => "scribble test ended",
        }
    }
}

/// Why this host refuses the peer's session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The two offers cannot make a link (`negotiate::agree`).
    Offer(Incompatible),
    /// The agreed largest frame is below this host's MTU plus the Ethernet
    /// header: frames of the MTU could not cross (issue 15.5).
    MaxFrame {
        /// The agreed largest frame.
        max_frame: u32,
        /// This host's MTU.
        mtu: u32,
    },
    /// The header could not be written into the peer's window (the
    /// outbound mapping is smaller than the layout).
    HeaderWrite,
    /// The header the peer wrote into this host's window is invalid.
    Header(HeaderError),
    /// The header is valid but describes another layout than the agreed one.
    HeaderMismatch,
    /// The trigger descriptor of a queue cannot be resolved.
    Trigger {
        /// The queue.
        queue: u32,
        /// Its first word (kind and index).
        word: u32,
    },
}

impl Refusal {
    /// The counter a refusal is counted in (`ethtool -S`).
    pub fn kind(self) -> RefusalKind {
        match self {
            Self::Offer(Incompatible::NotNtbnet(_) | Incompatible::Version(_)) => {
                RefusalKind::Version
            }
            Self::Offer(_) => RefusalKind::Offer,
            Self::MaxFrame { .. } => RefusalKind::MaxFrame,
            Self::HeaderWrite | Self::Header(_) | Self::HeaderMismatch => RefusalKind::Header,
            Self::Trigger { .. } => RefusalKind::Trigger,
        }
    }
}

/// Classes of refusals, one counter each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// Not ntbnet, or another major version.
    Version,
    /// The parameters cannot be agreed.
    Offer,
    /// The agreed largest frame is below the MTU.
    MaxFrame,
    /// The window header.
    Header,
    /// A trigger descriptor.
    Trigger,
}

impl RefusalKind {
    /// Number of kinds.
    pub const COUNT: usize = 5;
    /// Every kind, in counter order.
    pub const ALL: [RefusalKind; Self::COUNT] = [
        Self::Version,
        Self::Offer,
        Self::MaxFrame,
        Self::Header,
        Self::Trigger,
    ];

    /// Index of the counter.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Name of the counter (`ethtool -S`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Version => "refused_version",
            Self::Offer => "refused_offer",
            Self::MaxFrame => "refused_max_frame",
            Self::Header => "refused_header",
            Self::Trigger => "refused_trigger",
        }
    }
}

/// Where the handshake is. Phases after the agreement hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The NTB link is down: no session published.
    Offline,
    /// A session is published, the interface is closed: the peer is
    /// acknowledged, nothing more.
    Idle,
    /// Waiting for the peer to acknowledge this host's session (`SP_ACK`).
    WaitAck,
    /// Agreed; this host's window is clean and `SP_CLEAN` sent. Waiting
    /// for the peer's window to be clean (`SP_CLEAN` from the peer).
    WaitClean(Agreed),
    /// The header of the peer's window is written and `SP_READY` sent.
    /// Waiting for the peer's header in this host's window (`SP_READY`).
    WaitReady(Agreed),
    /// The header checked; the data path is being started.
    Starting(Agreed),
    /// The data path runs.
    Up(Agreed),
    /// The peer's session is refused, until it or this host restarts.
    Refused(Refusal),
}

/// What [`Handshake::handle`] takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A link tick with the NTB link up.
    Tick {
        /// Milliseconds on a monotonic clock.
        now_ms: u64,
        /// The peer's words, if a consistent copy could be read.
        snap: Option<Snapshot>,
        /// A copy of the first bytes of this host's window, read once after
        /// the snapshot.
        header: [u8; HEADER_LEN],
    },
    /// The NTB link is down.
    NtbDown,
    /// This host starts a new session (it needs the NTB link up to publish
    /// it).
    Restart(Down),
    /// The interface went up (`true`) or down.
    SetOpen(bool),
    /// This host's MTU changed.
    SetMtu(u32),
    /// This host's offer changed (queue count, ring size): restart with it.
    SetOffer(Offer),
    /// [`Action::Start`] succeeded.
    Started,
    /// [`Action::Start`] or [`Action::Ready`] failed for a reason of the
    /// peer's.
    Refuse(Refusal),
    /// [`Action::Start`] failed for a reason of this host's (no memory).
    StartFailed,
    /// [`Action::Start`] could not read the peer's triggers consistently
    /// (being rewritten): start again at the next tick.
    StartLater,
}

/// What `link.rs` does for [`Handshake::handle`], in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Stop the data path, which ran; log why.
    TakeDown(Down),
    /// Publish a new session of this host: the offer, the trigger
    /// descriptors, `SP_ACK` = `ack`, `SP_CLEAN` = `SP_READY` = 0, a write
    /// barrier, `SP_SESSION` = `session` last.
    Publish {
        /// The new session.
        session: u32,
        /// The peer's session (0: none).
        ack: u32,
    },
    /// Write `SP_ACK` = the peer's new session: this host does not write
    /// the peer's window.
    Ack(u32),
    /// Zero the header and the control and descriptor areas of `layout` in
    /// this host's window ([`clean_ranges`]), a write barrier, then
    /// `SP_CLEAN` = `peer`.
    Clean {
        /// This host's window layout.
        layout: WindowLayout,
        /// The peer's session.
        peer: u32,
    },
    /// Write `layout`'s header at offset 0 of the peer's window, a write
    /// barrier, then `SP_READY` = `peer`. A failed write is
    /// [`Event::Refuse`]`(`[`Refusal::HeaderWrite`]`)`.
    Ready {
        /// The peer's window layout.
        layout: WindowLayout,
        /// The peer's session.
        peer: u32,
    },
    /// Resolve the peer's trigger descriptors of the agreed queues and
    /// start the data path; report [`Event::Started`], [`Event::Refuse`]
    /// or [`Event::StartFailed`].
    Start(Agreed),
    /// While up: republish changed triggers of this host, follow the
    /// peer's.
    FollowTriggers,
    /// Count the refusal and log it (once per peer session).
    Refuse(Refusal),
}

/// Most actions one event gives.
const MAX_ACTIONS: usize = 6;

/// The actions of one event, in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Actions {
    items: [Option<Action>; MAX_ACTIONS],
    len: usize,
}

impl Actions {
    fn push(&mut self, a: Action) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = Some(a);
            self.len += 1;
        }
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The actions, in order.
    pub fn iter(&self) -> impl Iterator<Item = Action> + '_ {
        self.items.iter().take(self.len).filter_map(|a| *a)
    }
}

/// A token bucket: at most `burst` events at once, then one per
/// `interval_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    tokens: u32,
    burst: u32,
    interval_ms: u64,
    /// When the last token was added (or the bucket last found full).
    last_ms: u64,
}

impl Bucket {
    /// A full bucket.
    pub const fn new(burst: u32, interval_ms: u64) -> Self {
        Self {
            tokens: burst,
            burst,
            interval_ms,
            last_ms: 0,
        }
    }

    /// Takes a token at time `now_ms` if there is one.
    pub fn take(&mut self, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        let add = elapsed.checked_div(self.interval_ms).unwrap_or(u64::MAX);
        if add > 0 {
            let tokens = u64::from(self.tokens).saturating_add(add);
            self.tokens = u32::try_from(tokens).unwrap_or(u32::MAX).min(self.burst);
            self.last_ms = if self.tokens == self.burst {
                now_ms
            } else {
                self.last_ms
                    .saturating_add(add.saturating_mul(self.interval_ms))
            };
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

/// How many window cleanings a peer can have at once, and how often after
/// that (a restarting peer needs one per session).
pub const CLEAN_BURST: u32 = 4;
/// See [`CLEAN_BURST`].
pub const CLEAN_INTERVAL_MS: u64 = 2000;

/// The ranges of a window of layout `layout` that are zeroed before the
/// peer writes it (`(offset, length)`): the header, and each queue area's
/// control lines and descriptors. The data areas are not: a receiver reads
/// data only where a checked descriptor of the current session points.
pub fn clean_ranges(layout: &WindowLayout) -> impl Iterator<Item = (u64, u64)> + '_ {
    let q = *layout.queue();
    let head = core::iter::once((0, u64::from(crate::ring::HEADER_SIZE)));
    head.chain(
        (0..layout.queues())
            .filter_map(move |i| Some((layout.queue_base(i)?, u64::from(q.data_off())))),
    )
}

/// Checks the header the peer wrote into this host's window (a copy, read
/// once) against the agreed layout of that window.
pub fn check_header(agreed: &Agreed, raw: &[u8; HEADER_LEN], window: u64) -> Result<(), Refusal> {
    match WindowLayout::from_header(&Header::from_le_bytes(raw), window) {
        Ok(l) if l == agreed.local => Ok(()),
        Ok(_) => Err(Refusal::HeaderMismatch),
        Err(e) => Err(Refusal::Header(e)),
    }
}

/// The handshake of one host; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// This host's session (0 before the first).
    session: u32,
    /// The peer's session as last seen (0: none).
    peer: u32,
    phase: Phase,
    /// The interface is up.
    open: bool,
    /// This host's offer.
    offer: Offer,
    /// This host's MTU.
    mtu: u32,
    /// Window cleanings.
    cleanings: Bucket,
}

impl Handshake {
    /// A closed interface with the NTB link down, offering `offer`, with
    /// MTU `mtu`.
    pub fn new(offer: Offer, mtu: u32) -> Self {
        Self {
            session: 0,
            peer: 0,
            phase: Phase::Offline,
            open: false,
            offer,
            mtu,
            cleanings: Bucket::new(CLEAN_BURST, CLEAN_INTERVAL_MS),
        }
    }

    /// Where the handshake is.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// This host's session (0: none yet).
    pub fn session(&self) -> u32 {
        self.session
    }

    /// The peer's session as last seen.
    pub fn peer(&self) -> u32 {
        self.peer
    }

    /// This host's offer.
    pub fn offer(&self) -> &Offer {
        &self.offer
    }

    /// Whether the interface is up.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// The agreed parameters while the data path runs.
    pub fn agreed(&self) -> Option<&Agreed> {
        match &self.phase {
            Phase::Up(a) => Some(a),
            _ => None,
        }
    }

    /// The agreed parameters from the agreement on (the rings being set
    /// up or running).
    pub fn pending(&self) -> Option<&Agreed> {
        match &self.phase {
            Phase::WaitClean(a) | Phase::WaitReady(a) | Phase::Starting(a) | Phase::Up(a) => {
                Some(a)
            }
            _ => None,
        }
    }

    /// The phase a (re)started or newly tracked session waits in.
    fn waiting(&self) -> Phase {
        if self.open {
            Phase::WaitAck
        } else {
            Phase::Idle
        }
    }

    /// Stops the data path if it runs (or is being started).
    fn stop(&mut self, why: Down, out: &mut Actions) {
        if matches!(self.phase, Phase::Up(_)) {
            out.push(Action::TakeDown(why));
        }
    }

    /// Starts a new session of this host, if the NTB link is up.
    fn restart(&mut self, why: Down, rng: &mut impl FnMut() -> u32, out: &mut Actions) {
        self.stop(why, out);
        if self.phase == Phase::Offline {
            return;
        }
        self.publish(rng, out);
    }

    /// Publishes a new session: random, nonzero, not the previous one.
    fn publish(&mut self, rng: &mut impl FnMut() -> u32, out: &mut Actions) {
        let old = self.session;
        let mut s = rng();
        // A random source that keeps repeating itself still ends.
        let mut tries = 0u32;
        while s == 0 || s == old {
            tries += 1;
            s = if tries < 16 {
                rng()
            } else {
                old.wrapping_add(tries)
            };
        }
        self.session = s;
        self.phase = self.waiting();
        out.push(Action::Publish {
            session: s,
            ack: self.peer,
        });
    }

    fn refuse(&mut self, why: Refusal, out: &mut Actions) {
        self.phase = Phase::Refused(why);
        out.push(Action::Refuse(why));
    }

    /// Takes one event; returns what to do.
    pub fn handle(&mut self, event: Event, rng: &mut impl FnMut() -> u32) -> Actions {
        let mut out = Actions::default();
        match event {
            Event::Tick {
                now_ms,
                snap,
                header,
            } => self.tick(now_ms, snap, &header, rng, &mut out),
            Event::NtbDown => {
                self.stop(Down::NtbDown, &mut out);
                self.phase = Phase::Offline;
                self.peer = 0;
            }
            Event::Restart(why) => self.restart(why, rng, &mut out),
            Event::SetOpen(open) => {
                if open != self.open {
                    self.open = open;
                    self.restart(Down::InterfaceDown, rng, &mut out);
                }
            }
            Event::SetMtu(mtu) => {
                if mtu != self.mtu {
                    self.mtu = mtu;
                    // A link that runs carries the new MTU (the caller
                    // checked it against the agreed frames); one refused for
                    // the old MTU gets another chance.
                    if !matches!(self.phase, Phase::Up(_) | Phase::Offline) {
                        self.restart(Down::MtuChanged, rng, &mut out);
                    }
                }
            }
            Event::SetOffer(offer) => {
                if offer != self.offer {
                    self.offer = offer;
                    self.restart(Down::Reconfigured, rng, &mut out);
                }
            }
            Event::Started => {
                if let Phase::Starting(a) = self.phase {
                    self.phase = Phase::Up(a);
                }
            }
            Event::Refuse(why) => {
                if matches!(
                    self.phase,
                    Phase::WaitClean(_) | Phase::WaitReady(_) | Phase::Starting(_)
                ) {
                    self.refuse(why, &mut out);
                }
            }
            Event::StartLater => {
                if let Phase::Starting(a) = self.phase {
                    self.phase = Phase::WaitReady(a);
                }
            }
            Event::StartFailed => {
                if matches!(self.phase, Phase::Starting(_)) {
                    self.publish(rng, &mut out);
                }
            }
        }
        out
    }

    fn tick(
        &mut self,
        now_ms: u64,
        snap: Option<Snapshot>,
        header: &[u8; HEADER_LEN],
        rng: &mut impl FnMut() -> u32,
        out: &mut Actions,
    ) {
        if self.phase == Phase::Offline {
            // The NTB link came up.
            self.phase = Phase::Idle;
            self.publish(rng, out);
        }
        let Some(snap) = snap else {
            return;
        };
        if snap.session != self.peer {
            let why = if snap.session == 0 {
                Down::PeerLeft
            } else {
                Down::PeerRestarted
            };
            self.stop(why, out);
            self.peer = snap.session;
            self.phase = self.waiting();
            if snap.session != 0 {
                out.push(Action::Ack(snap.session));
            }
        }
        if matches!(self.phase, Phase::Up(_)) {
            out.push(Action::FollowTriggers);
            return;
        }
        if self.peer == 0 {
            return;
        }
        if self.phase == Phase::WaitAck && snap.ack == self.session {
            if !self.cleanings.take(now_ms) {
                return;
            }
            let agreed = match negotiate::agree(&self.offer, &snap.offer) {
                Ok(a) => a,
                Err(e) => return self.refuse(Refusal::Offer(e), out),
            };
            let max_frame = agreed
                .local
                .queue()
                .max_frame()
                .min(agreed.peer.queue().max_frame());
            if u64::from(max_frame) < u64::from(self.mtu) + u64::from(ETH_HLEN) {
                return self.refuse(
                    Refusal::MaxFrame {
                        max_frame,
                        mtu: self.mtu,
                    },
                    out,
                );
            }
            out.push(Action::Clean {
                layout: agreed.local,
                peer: self.peer,
            });
            self.phase = Phase::WaitClean(agreed);
        }
        if let Phase::WaitClean(agreed) = self.phase {
            if snap.clean != self.session {
                return;
            }
            out.push(Action::Ready {
                layout: agreed.peer,
                peer: self.peer,
            });
            self.phase = Phase::WaitReady(agreed);
        }
        if let Phase::WaitReady(agreed) = self.phase {
            if snap.ready != self.session {
                return;
            }
            if let Err(why) = check_header(&agreed, header, self.offer.window) {
                return self.refuse(why, out);
            }
            out.push(Action::Start(agreed));
            self.phase = Phase::Starting(agreed);
        }
    }
}

/// Length of an Ethernet header: a frame of the MTU is this much longer.
pub const ETH_HLEN: u32 = 14;

// SPDX-License-Identifier: GPL-2.0

//! The handshake state machine: each transition, a peer restarting at each
//! step, a model of two hosts over simulated scratchpads and windows
//! (random interleavings, restarts, link flaps: never a write into a window
//! of another session, always a link once the chaos stops), and hostile
//! peers (session cycling, a small `max_frame`).

use ntbnet_negotiate::handshake::*;
use ntbnet_negotiate::negotiate::*;
use ntbnet_negotiate::ring::{self, HeaderError, WindowLayout, HEADER_LEN};

const MIB: u64 = 1 << 20;
const MTU: u32 = 1500;

fn offer(queues: u32, window: u64) -> Offer {
    Offer {
        version: version_word(),
        features: ring::FEATURE_CSUM | ring::FEATURE_GSO,
        queues,
        entries: 256,
        max_frame: ring::MAX_FRAME,
        window,
        outbound: window,
        irq: irq_word(16),
    }
}

/// A deterministic random source (xorshift).
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }

    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

fn sessions() -> impl FnMut() -> u32 {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    move || r.next()
}

fn list(a: Actions) -> Vec<Action> {
    a.iter().collect()
}

fn tick(now_ms: u64, snap: Snapshot, header: [u8; HEADER_LEN]) -> Event {
    Event::Tick {
        now_ms,
        snap: Some(snap),
        header,
    }
}

const NO_HEADER: [u8; HEADER_LEN] = [0; HEADER_LEN];

/// A host brought to `WaitAck` with a peer of session `peer` whose offer is
/// `peer_offer`; returns it and its session.
fn waiting_host(peer: u32, peer_offer: Offer) -> (Handshake, u32) {
    let mut rng = sessions();
    let mut h = Handshake::new(offer(2, 16 * MIB), MTU);
    assert!(list(h.handle(Event::SetOpen(true), &mut rng)).is_empty());
    let snap = Snapshot {
        session: peer,
        offer: peer_offer,
        ..Default::default()
    };
    let acts = list(h.handle(tick(0, snap, NO_HEADER), &mut rng));
    let s = h.session();
    assert_eq!(
        acts,
        [Action::Publish { session: s, ack: 0 }, Action::Ack(peer)]
    );
    assert_eq!(*h.phase(), Phase::WaitAck);
    (h, s)
}

#[test]
fn offline_until_the_ntb_link_comes_up() {
    let mut rng = sessions();
    let mut h = Handshake::new(offer(2, 16 * MIB), MTU);
    assert_eq!(*h.phase(), Phase::Offline);
    // Restarts and interface changes while offline publish nothing.
    assert!(h.handle(Event::SetOpen(true), &mut rng).is_empty());
    assert!(h
        .handle(Event::Restart(Down::Reconfigured), &mut rng)
        .is_empty());
    assert_eq!(h.session(), 0);
}

#[test]
fn ntb_up_publishes_a_session_closed_interface_stays_idle() {
    let mut rng = sessions();
    let mut h = Handshake::new(offer(2, 16 * MIB), MTU);
    let acts = list(h.handle(
        Event::Tick {
            now_ms: 0,
            snap: None,
            header: NO_HEADER,
        },
        &mut rng,
    ));
    let s = h.session();
    assert_ne!(s, 0);
    assert_eq!(acts, [Action::Publish { session: s, ack: 0 }]);
    assert_eq!(*h.phase(), Phase::Idle);
    // A peer is acknowledged but nothing more happens while closed.
    let snap = Snapshot {
        session: 77,
        ack: s,
        clean: s,
        ready: s,
        offer: offer(2, 16 * MIB),
    };
    assert_eq!(
        list(h.handle(tick(0, snap, NO_HEADER), &mut rng)),
        [Action::Ack(77)]
    );
    assert_eq!(*h.phase(), Phase::Idle);
    assert!(h.handle(tick(100, snap, NO_HEADER), &mut rng).is_empty());
}

#[test]
fn opening_restarts_with_a_new_session() {
    let mut rng = sessions();
    let mut h = Handshake::new(offer(2, 16 * MIB), MTU);
    h.handle(
        Event::Tick {
            now_ms: 0,
            snap: None,
            header: NO_HEADER,
        },
        &mut rng,
    );
    let s0 = h.session();
    let acts = list(h.handle(Event::SetOpen(true), &mut rng));
    let s1 = h.session();
    assert_ne!(s1, s0);
    assert_eq!(
        acts,
        [Action::Publish {
            session: s1,
            ack: 0
        }]
    );
    assert_eq!(*h.phase(), Phase::WaitAck);
}

#[test]
fn a_torn_snapshot_changes_nothing() {
    let (mut h, _) = waiting_host(5, offer(2, 16 * MIB));
    let before = h;
    let acts = h.handle(
        Event::Tick {
            now_ms: 0,
            snap: None,
            header: NO_HEADER,
        },
        &mut sessions(),
    );
    assert!(acts.is_empty());
    assert_eq!(h, before);
}

#[test]
fn ack_leads_to_agreement_and_a_clean_window() {
    let peer_offer = offer(4, 8 * MIB);
    let (mut h, s) = waiting_host(5, peer_offer);
    // Not acknowledged yet: wait.
    let snap = Snapshot {
        session: 5,
        ack: 0,
        offer: peer_offer,
        ..Default::default()
    };
    assert!(h
        .handle(tick(0, snap, NO_HEADER), &mut sessions())
        .is_empty());
    let snap = Snapshot { ack: s, ..snap };
    let acts = list(h.handle(tick(0, snap, NO_HEADER), &mut sessions()));
    let agreed = agree(h.offer(), &peer_offer).unwrap();
    assert_eq!(
        acts,
        [Action::Clean {
            layout: agreed.local,
            peer: 5
        }]
    );
    assert_eq!(*h.phase(), Phase::WaitClean(agreed));
    assert_eq!(h.pending(), Some(&agreed));
    assert_eq!(h.agreed(), None);
}

#[test]
fn clean_peer_window_leads_to_the_header() {
    let peer_offer = offer(4, 8 * MIB);
    let (mut h, s) = waiting_host(5, peer_offer);
    let snap = Snapshot {
        session: 5,
        ack: s,
        offer: peer_offer,
        ..Default::default()
    };
    h.handle(tick(0, snap, NO_HEADER), &mut sessions());
    let agreed = agree(h.offer(), &peer_offer).unwrap();
    // Clean for another session of this host: wait.
    let stale = Snapshot {
        clean: s ^ 1,
        ..snap
    };
    assert!(h
        .handle(tick(0, stale, NO_HEADER), &mut sessions())
        .is_empty());
    let snap = Snapshot { clean: s, ..snap };
    assert_eq!(
        list(h.handle(tick(0, snap, NO_HEADER), &mut sessions())),
        [Action::Ready {
            layout: agreed.peer,
            peer: 5
        }]
    );
    assert_eq!(*h.phase(), Phase::WaitReady(agreed));
}

/// A host in `WaitReady`, the peer's snapshot, the agreement.
fn ready_host() -> (Handshake, Snapshot, Agreed) {
    let peer_offer = offer(4, 8 * MIB);
    let (mut h, s) = waiting_host(5, peer_offer);
    let snap = Snapshot {
        session: 5,
        ack: s,
        clean: s,
        offer: peer_offer,
        ..Default::default()
    };
    h.handle(tick(0, snap, NO_HEADER), &mut sessions());
    let agreed = agree(h.offer(), &peer_offer).unwrap();
    assert_eq!(*h.phase(), Phase::WaitReady(agreed));
    (h, snap, agreed)
}

#[test]
fn ready_with_the_agreed_header_starts() {
    let (mut h, snap, agreed) = ready_host();
    let header = agreed.local.header().to_le_bytes();
    // Not ready yet: the header is not looked at.
    assert!(h
        .handle(tick(0, snap, NO_HEADER), &mut sessions())
        .is_empty());
    let snap = Snapshot {
        ready: h.session(),
        ..snap
    };
    assert_eq!(
        list(h.handle(tick(0, snap, header), &mut sessions())),
        [Action::Start(agreed)]
    );
    assert_eq!(*h.phase(), Phase::Starting(agreed));
    assert!(h.handle(Event::Started, &mut sessions()).is_empty());
    assert_eq!(*h.phase(), Phase::Up(agreed));
    assert_eq!(h.agreed(), Some(&agreed));
    // Up: each tick follows the triggers.
    assert_eq!(
        list(h.handle(tick(0, snap, header), &mut sessions())),
        [Action::FollowTriggers]
    );
}

#[test]
fn a_bad_header_is_refused_with_its_reason() {
    let (h0, snap, agreed) = ready_host();
    let snap = Snapshot {
        ready: h0.session(),
        ..snap
    };
    // Another valid layout than the agreed one.
    let other = WindowLayout::fit(MIB, 1, 64, 2048, 0).unwrap();
    let mut garbage = agreed.local.header().to_le_bytes();
    garbage[0] ^= 1;
    for (header, why) in [
        (other.header().to_le_bytes(), Refusal::HeaderMismatch),
        (garbage, Refusal::Header(HeaderError::Magic)),
        (NO_HEADER, Refusal::Header(HeaderError::Magic)),
    ] {
        let mut h = h0;
        assert_eq!(
            list(h.handle(tick(0, snap, header), &mut sessions())),
            [Action::Refuse(why)]
        );
        assert_eq!(*h.phase(), Phase::Refused(why));
        assert_eq!(why.kind(), RefusalKind::Header);
        // Once: the same session is not looked at again.
        assert!(h
            .handle(tick(100, snap, header), &mut sessions())
            .is_empty());
    }
}

#[test]
fn failures_of_the_io_are_refusals_or_restarts() {
    // The header write failed.
    let (mut h, _, _) = ready_host();
    assert_eq!(
        list(h.handle(Event::Refuse(Refusal::HeaderWrite), &mut sessions())),
        [Action::Refuse(Refusal::HeaderWrite)]
    );
    // A trigger could not be resolved.
    let (mut h, snap, agreed) = ready_host();
    let snap = Snapshot {
        ready: h.session(),
        ..snap
    };
    h.handle(
        tick(0, snap, agreed.local.header().to_le_bytes()),
        &mut sessions(),
    );
    let why = Refusal::Trigger { queue: 1, word: 9 };
    assert_eq!(
        list(h.handle(Event::Refuse(why), &mut sessions())),
        [Action::Refuse(why)]
    );
    assert_eq!(why.kind(), RefusalKind::Trigger);
    // No memory: a new session.
    let (mut h, snap, agreed) = ready_host();
    let snap = Snapshot {
        ready: h.session(),
        ..snap
    };
    h.handle(
        tick(0, snap, agreed.local.header().to_le_bytes()),
        &mut sessions(),
    );
    let s = h.session();
    let acts = list(h.handle(Event::StartFailed, &mut sessions()));
    assert_ne!(h.session(), s);
    assert_eq!(
        acts,
        [Action::Publish {
            session: h.session(),
            ack: 5
        }]
    );
    assert_eq!(*h.phase(), Phase::WaitAck);
    // Outcomes that come late (another phase) change nothing.
    assert!(h.handle(Event::Started, &mut sessions()).is_empty());
    assert!(h
        .handle(Event::Refuse(Refusal::HeaderWrite), &mut sessions())
        .is_empty());
    assert_eq!(*h.phase(), Phase::WaitAck);
}

#[test]
fn an_incompatible_offer_is_refused_once_per_peer_session() {
    let mut bad = offer(2, 16 * MIB);
    bad.version = 0x1234_0100;
    let (mut h, s) = waiting_host(5, bad);
    let snap = Snapshot {
        session: 5,
        ack: s,
        offer: bad,
        ..Default::default()
    };
    let why = Refusal::Offer(Incompatible::NotNtbnet(0x1234_0100));
    assert_eq!(
        list(h.handle(tick(0, snap, NO_HEADER), &mut sessions())),
        [Action::Refuse(why)]
    );
    assert_eq!(why.kind(), RefusalKind::Version);
    for t in 1..50 {
        assert!(h
            .handle(tick(t * 100, snap, NO_HEADER), &mut sessions())
            .is_empty());
    }
    // A new session of the peer is looked at again.
    let snap = Snapshot {
        session: 6,
        ack: 0,
        ..snap
    };
    assert_eq!(
        list(h.handle(tick(5000, snap, NO_HEADER), &mut sessions())),
        [Action::Ack(6)]
    );
}

/// Issue 15.5: a peer's `max_frame` below the MTU would black-hole every
/// larger frame. It is refused with its own reason, and a lower MTU gets
/// another try.
#[test]
fn a_max_frame_below_the_mtu_is_refused() {
    for (peer_max, refused) in [
        (100, true),
        (576, true),
        (1000, true),
        (1513, true),
        (1514, false),
        (9000, false),
    ] {
        let mut p = offer(2, 16 * MIB);
        p.max_frame = peer_max;
        let (mut h, s) = waiting_host(5, p);
        let snap = Snapshot {
            session: 5,
            ack: s,
            offer: p,
            ..Default::default()
        };
        let acts = list(h.handle(tick(0, snap, NO_HEADER), &mut sessions()));
        if !refused {
            assert!(matches!(acts[..], [Action::Clean { .. }]), "{peer_max}");
            continue;
        }
        let why = Refusal::MaxFrame {
            max_frame: peer_max,
            mtu: MTU,
        };
        assert_eq!(acts, [Action::Refuse(why)], "{peer_max}");
        assert_eq!(why.kind(), RefusalKind::MaxFrame);
        // The administrator lowers the MTU: a new session, which the peer
        // acknowledges, and then the link is agreed.
        let acts = list(h.handle(Event::SetMtu(peer_max - 14), &mut sessions()));
        let s = h.session();
        assert_eq!(acts, [Action::Publish { session: s, ack: 5 }]);
        let snap = Snapshot { ack: s, ..snap };
        let acts = list(h.handle(tick(100, snap, NO_HEADER), &mut sessions()));
        assert!(matches!(acts[..], [Action::Clean { .. }]), "{peer_max}");
    }
}

#[test]
fn the_mtu_of_a_running_link_changes_without_a_restart() {
    let (mut h, snap, agreed) = ready_host();
    let snap = Snapshot {
        ready: h.session(),
        ..snap
    };
    h.handle(
        tick(0, snap, agreed.local.header().to_le_bytes()),
        &mut sessions(),
    );
    h.handle(Event::Started, &mut sessions());
    assert!(h.handle(Event::SetMtu(9000), &mut sessions()).is_empty());
    assert_eq!(*h.phase(), Phase::Up(agreed));
}

#[test]
fn restarts_of_this_host_take_the_link_down_and_publish() {
    for (event, why) in [
        (Event::SetOpen(false), Down::InterfaceDown),
        (Event::Restart(Down::PeerSilent), Down::PeerSilent),
        (Event::Restart(Down::ScribbleEnded), Down::ScribbleEnded),
        (Event::SetOffer(offer(1, 16 * MIB)), Down::Reconfigured),
    ] {
        let (mut h, snap, agreed) = ready_host();
        let snap = Snapshot {
            ready: h.session(),
            ..snap
        };
        h.handle(
            tick(0, snap, agreed.local.header().to_le_bytes()),
            &mut sessions(),
        );
        h.handle(Event::Started, &mut sessions());
        let s = h.session();
        let acts = list(h.handle(event, &mut sessions()));
        assert_ne!(h.session(), s);
        assert_eq!(
            acts,
            [
                Action::TakeDown(why),
                Action::Publish {
                    session: h.session(),
                    ack: 5
                }
            ]
        );
        let closed = matches!(event, Event::SetOpen(false));
        assert_eq!(
            *h.phase(),
            if closed { Phase::Idle } else { Phase::WaitAck }
        );
    }
}

#[test]
fn ntb_down_takes_the_link_down_and_forgets_the_peer() {
    let (mut h, snap, agreed) = ready_host();
    let snap = Snapshot {
        ready: h.session(),
        ..snap
    };
    h.handle(
        tick(0, snap, agreed.local.header().to_le_bytes()),
        &mut sessions(),
    );
    h.handle(Event::Started, &mut sessions());
    assert_eq!(
        list(h.handle(Event::NtbDown, &mut sessions())),
        [Action::TakeDown(Down::NtbDown)]
    );
    assert_eq!(*h.phase(), Phase::Offline);
    assert_eq!(h.peer(), 0);
    // Down again: nothing to take down.
    assert!(h.handle(Event::NtbDown, &mut sessions()).is_empty());
    // Up again: a new session, acknowledging no peer.
    let s = h.session();
    let acts = list(h.handle(
        Event::Tick {
            now_ms: 0,
            snap: None,
            header: NO_HEADER,
        },
        &mut sessions(),
    ));
    assert_ne!(h.session(), s);
    assert_eq!(
        acts,
        [Action::Publish {
            session: h.session(),
            ack: 0
        }]
    );
}

#[test]
fn a_peer_leaving_takes_the_link_down() {
    let (mut h, snap, agreed) = ready_host();
    let snap = Snapshot {
        ready: h.session(),
        ..snap
    };
    let header = agreed.local.header().to_le_bytes();
    h.handle(tick(0, snap, header), &mut sessions());
    h.handle(Event::Started, &mut sessions());
    let gone = Snapshot { session: 0, ..snap };
    assert_eq!(
        list(h.handle(tick(0, gone, header), &mut sessions())),
        [Action::TakeDown(Down::PeerLeft)]
    );
    assert_eq!(*h.phase(), Phase::WaitAck);
    // No peer: nothing happens, whatever the words say.
    assert!(h
        .handle(tick(100, gone, header), &mut sessions())
        .is_empty());
}

/// A peer restarting at each step of this host's handshake: this host goes
/// back to acknowledging it, keeps its own session, and takes the link down
/// only if it ran.
#[test]
fn a_peer_restarting_at_each_step() {
    let peer_offer = offer(4, 8 * MIB);
    for step in 0..5 {
        let (mut h, s) = waiting_host(5, peer_offer);
        let agreed = agree(h.offer(), &peer_offer).unwrap();
        let header = agreed.local.header().to_le_bytes();
        let mut snap = Snapshot {
            session: 5,
            offer: peer_offer,
            ..Default::default()
        };
        // Advance `step` steps: ack, clean, ready, started.
        let words = [
            |sn: &mut Snapshot, s| sn.ack = s,
            |sn: &mut Snapshot, s| sn.clean = s,
            |sn: &mut Snapshot, s| sn.ready = s,
        ];
        for w in words.iter().take(step.min(3)) {
            w(&mut snap, s);
            h.handle(tick(0, snap, header), &mut sessions());
        }
        if step >= 4 {
            h.handle(Event::Started, &mut sessions());
            assert_eq!(*h.phase(), Phase::Up(agreed));
        }
        let was_up = matches!(h.phase(), Phase::Up(_));
        // The peer restarts: new session, its handshake words cleared.
        let restarted = Snapshot {
            session: 6,
            offer: peer_offer,
            ..Default::default()
        };
        let acts = list(h.handle(tick(100, restarted, header), &mut sessions()));
        let mut expect = vec![];
        if was_up {
            expect.push(Action::TakeDown(Down::PeerRestarted));
        }
        expect.push(Action::Ack(6));
        assert_eq!(acts, expect, "step {step}");
        assert_eq!(h.session(), s, "step {step}: this host keeps its session");
        assert_eq!(*h.phase(), Phase::WaitAck, "step {step}");
        // And the handshake runs again with the new peer session.
        let mut snap = Snapshot {
            ack: s,
            ..restarted
        };
        assert!(matches!(
            list(h.handle(tick(5000, snap, header), &mut sessions()))[..],
            [Action::Clean { peer: 6, .. }]
        ));
        snap.clean = s;
        snap.ready = s;
        assert_eq!(
            list(h.handle(tick(5000, snap, header), &mut sessions())),
            [
                Action::Ready {
                    layout: agreed.peer,
                    peer: 6
                },
                Action::Start(agreed)
            ]
        );
    }
}

/// Issue 15.4: a peer that publishes a new session on every tick, and
/// acknowledges this host's at once, gets this host's window cleaned at
/// most `CLEAN_BURST` times, then once per `CLEAN_INTERVAL_MS` (before:
/// on every other tick, each time a memset of the whole window).
#[test]
fn a_peer_cycling_its_session_gets_few_cleanings() {
    let peer_offer = offer(2, 16 * MIB);
    let (mut h, s) = waiting_host(1, peer_offer);
    let mut cleanings = 0u64;
    let ticks = 300u64; // 30 s of 100 ms ticks
    for t in 0..ticks {
        let snap = Snapshot {
            session: 2 + t as u32,
            ack: s,
            offer: peer_offer,
            ..Default::default()
        };
        for a in h
            .handle(tick(t * 100, snap, NO_HEADER), &mut sessions())
            .iter()
        {
            if matches!(a, Action::Clean { .. }) {
                cleanings += 1;
            }
        }
    }
    let bound = u64::from(CLEAN_BURST) + ticks * 100 / CLEAN_INTERVAL_MS + 1;
    assert!(cleanings <= bound, "{cleanings} cleanings, at most {bound}");
    assert!(cleanings >= u64::from(CLEAN_BURST), "{cleanings}");
}

#[test]
fn the_bucket_refills_at_its_rate() {
    let mut b = Bucket::new(2, 1000);
    assert!(b.take(0) && b.take(0) && !b.take(0));
    assert!(!b.take(999));
    assert!(b.take(1000) && !b.take(1000));
    // A long pause refills only up to the burst.
    assert!(b.take(100_000) && b.take(100_000) && !b.take(100_000));
    // Time going backwards (a wrapped clock) takes nothing extra.
    assert!(!b.take(5));
}

#[test]
fn clean_ranges_cover_the_control_areas_only() {
    let l = WindowLayout::fit(16 * MIB, 3, 256, 65536, 0).unwrap();
    let r: Vec<_> = clean_ranges(&l).collect();
    assert_eq!(r.len(), 4);
    assert_eq!(r[0], (0, 64));
    for (q, &(off, len)) in r[1..].iter().enumerate() {
        assert_eq!(off, l.queue_base(q as u32).unwrap());
        assert_eq!(len, u64::from(l.queue().data_off()));
        assert!(off + len <= l.size());
    }
    let total: u64 = r.iter().map(|x| x.1).sum();
    assert!(total < 64 << 10, "{total} bytes of a 16 MiB window");
}

// --- A model of two hosts ------------------------------------------------

const SPADS: usize = 64;

/// One simulated host: its own scratchpads (written by the peer), its own
/// window (written by the peer), its handshake.
#[derive(Clone)]
struct Host {
    hs: Handshake,
    spads: [u32; SPADS],
    window: Vec<u8>,
    /// Which session of this host the header in its window was written
    /// for (0: none, or zeroed since).
    header_for: u32,
    /// The data path runs.
    running: bool,
    /// Windows cleaned.
    cleanings: u32,
    rng: Rng,
}

impl Host {
    fn new(seed: u64, offer: Offer) -> Self {
        Self {
            hs: Handshake::new(offer, MTU),
            spads: [0; SPADS],
            window: vec![0xa5; offer.window as usize],
            header_for: 0,
            running: false,
            cleanings: 0,
            rng: Rng(seed),
        }
    }

    fn snapshot(&self) -> Snapshot {
        let read = |i: u32| self.spads[i as usize];
        Snapshot::read(read, || {}).unwrap()
    }

    fn header(&self) -> [u8; HEADER_LEN] {
        self.window[..HEADER_LEN].try_into().unwrap()
    }
}

struct Model {
    h: [Host; 2],
    now: u64,
    ntb_up: bool,
    log: Vec<String>,
}

impl Model {
    fn new(seed: u64, a: Offer, b: Offer) -> Self {
        Self {
            h: [
                Host::new(seed | 1, a),
                Host::new(seed.rotate_left(7) | 1, b),
            ],
            now: 0,
            ntb_up: true,
            log: vec![],
        }
    }

    /// Gives event `ev` to host `i` and carries out its actions.
    fn event(&mut self, i: usize, ev: Event) {
        let j = 1 - i;
        let acts = {
            let host = &mut self.h[i];
            let mut rng = |/* session */| host.rng.next();
            let mut hs = host.hs;
            let acts = hs.handle(ev, &mut rng);
            self.h[i].hs = hs;
            acts
        };
        for a in acts.iter() {
            self.log.push(format!("{i}: {a:?}"));
            self.act(i, j, a);
        }
    }

    fn act(&mut self, i: usize, j: usize, a: Action) {
        match a {
            Action::TakeDown(_) => {
                assert!(self.h[i].running, "{:#?}", self.log);
                self.h[i].running = false;
            }
            Action::Publish { session, ack } => {
                let offer = *self.h[i].hs.offer();
                let p = &mut self.h[j].spads;
                for (idx, v) in offer.to_words() {
                    p[idx as usize] = v;
                }
                p[SP_ACK as usize] = ack;
                p[SP_CLEAN as usize] = 0;
                p[SP_READY as usize] = 0;
                p[SP_SESSION as usize] = session;
            }
            Action::Ack(s) => {
                // This host stopped writing the peer's window.
                assert!(!self.h[i].running, "{:#?}", self.log);
                self.h[j].spads[SP_ACK as usize] = s;
            }
            Action::Clean { layout, peer } => {
                // The peer acknowledged this host's session, so it does not
                // write this window for an earlier session of this host.
                let (me, other) = (&self.h[i], &self.h[j]);
                let writer_stale = other.running && other.hs.peer() != me.hs.session();
                assert!(!writer_stale, "cleaning under a writer: {:#?}", self.log);
                assert_eq!(peer, me.hs.peer());
                let host = &mut self.h[i];
                for (off, len) in clean_ranges(&layout) {
                    host.window[off as usize..(off + len) as usize].fill(0);
                }
                host.header_for = 0;
                host.cleanings += 1;
                self.h[j].spads[SP_CLEAN as usize] = peer;
            }
            Action::Ready { layout, peer } => {
                // Only into a window cleaned for this session of the writer
                // (the peer said so with SP_CLEAN, read consistently).
                let other = &self.h[j];
                assert_eq!(other.hs.session(), peer, "{:#?}", self.log);
                assert!(
                    matches!(
                        other.hs.phase(),
                        Phase::WaitClean(_) | Phase::WaitReady(_) | Phase::Starting(_)
                    ) && other.hs.peer() == self.h[i].hs.session(),
                    "writing a window not cleaned for us: {:#?}",
                    self.log
                );
                let other = &mut self.h[j];
                other.window[..HEADER_LEN].copy_from_slice(&layout.header().to_le_bytes());
                other.header_for = peer;
                other.spads[SP_READY as usize] = peer;
            }
            Action::Start(agreed) => {
                let me = &self.h[i];
                assert_eq!(me.header_for, me.hs.session(), "{:#?}", self.log);
                // Both hosts computed the same layouts.
                if let Some(theirs) = self.h[j].hs.pending() {
                    if self.h[j].hs.peer() == me.hs.session() {
                        assert_eq!(theirs.local, agreed.peer);
                        assert_eq!(theirs.peer, agreed.local);
                    }
                }
                self.h[i].running = true;
                self.event(i, Event::Started);
            }
            Action::FollowTriggers => assert!(self.h[i].running),
            Action::Refuse(r) => panic!("refused {r:?}: {:#?}", self.log),
        }
    }

    fn tick(&mut self, i: usize) {
        if !self.ntb_up {
            return;
        }
        self.now += 50;
        let snap = Some(self.h[i].snapshot());
        let header = self.h[i].header();
        let now_ms = self.now;
        self.event(
            i,
            Event::Tick {
                now_ms,
                snap,
                header,
            },
        );
    }

    fn both_up(&self) -> bool {
        self.h.iter().all(|h| h.running && h.hs.agreed().is_some())
    }

    /// Ticks both hosts in a random order until both are up.
    fn settle(&mut self, r: &mut Rng) -> usize {
        for n in 0..400 {
            if self.both_up() {
                let (a, b) = (
                    self.h[0].hs.agreed().unwrap(),
                    self.h[1].hs.agreed().unwrap(),
                );
                assert_eq!(a.local, b.peer);
                assert_eq!(a.peer, b.local);
                assert_eq!(self.h[0].hs.peer(), self.h[1].hs.session());
                assert_eq!(self.h[1].hs.peer(), self.h[0].hs.session());
                return n;
            }
            let i = r.below(2) as usize;
            self.tick(i);
        }
        panic!(
            "no link after 400 ticks: {:#?}",
            &self.log[self.log.len().saturating_sub(40)..]
        );
    }
}

#[test]
fn model_two_hosts_come_up_in_lockstep() {
    let mut m = Model::new(1, offer(4, 2 * MIB), offer(2, MIB));
    m.event(0, Event::SetOpen(true));
    m.event(1, Event::SetOpen(true));
    let mut r = Rng(3);
    let n = m.settle(&mut r);
    assert!(n < 40, "{n} ticks");
    let a = m.h[0].hs.agreed().unwrap();
    assert_eq!(a.queues, 2);
}

/// Random interleavings of ticks, restarts, interface changes, NTB link
/// flaps and torn snapshots; after each burst of chaos both hosts come up
/// with the same parameters, and no window is ever written outside its
/// session (the asserts in `Model::act`).
#[test]
fn model_random_chaos_then_a_link() {
    for seed in 1..150u64 {
        let mut r = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        let wa = [MIB, 2 * MIB, 3 * MIB / 2][r.below(3) as usize];
        let wb = [MIB, 2 * MIB][r.below(2) as usize];
        let mut a = offer(1 + r.below(4), wa);
        let mut b = offer(1 + r.below(4), wb);
        // Unequal outbound mappings (issue 15.6).
        a.outbound = [wb, wb / 2][r.below(2) as usize];
        b.outbound = [wa, wa / 2, 0][r.below(3) as usize];
        let mut m = Model::new(seed, a, b);
        for round in 0..4 {
            for _ in 0..60 {
                let i = r.below(2) as usize;
                match r.below(24) {
                    0 => m.event(i, Event::Restart(Down::PeerSilent)),
                    1 => {
                        let open = !m.h[i].hs.is_open();
                        m.event(i, Event::SetOpen(open));
                    }
                    2 if m.ntb_up => {
                        m.ntb_up = false;
                        m.event(0, Event::NtbDown);
                        m.event(1, Event::NtbDown);
                    }
                    3 => m.ntb_up = true,
                    4 => {
                        let mut o = *m.h[i].hs.offer();
                        o.queues = 1 + r.below(4);
                        m.event(i, Event::SetOffer(o));
                    }
                    5 => {
                        // A torn read: nothing happens.
                        let header = m.h[i].header();
                        if m.ntb_up {
                            m.event(
                                i,
                                Event::Tick {
                                    now_ms: m.now,
                                    snap: None,
                                    header,
                                },
                            );
                        }
                    }
                    _ => m.tick(i),
                }
            }
            // The chaos stops: both up, open, and the link comes.
            m.ntb_up = true;
            for i in 0..2 {
                if !m.h[i].hs.is_open() {
                    m.event(i, Event::SetOpen(true));
                }
            }
            // Leave time for the cleaning budget to refill.
            m.now += 10_000;
            m.settle(&mut r);
            let _ = round;
        }
    }
}

/// A hostile peer writes random words into this host's scratchpads and
/// random bytes into its window: this host never panics, never starts on
/// a bad header, and cleans its window at the bounded rate.
#[test]
fn model_hostile_peer_garbage() {
    let mut r = Rng(77);
    let mut h = Host::new(5, offer(2, MIB));
    let mut rng = sessions();
    h.hs.handle(Event::SetOpen(true), &mut rng);
    let mut cleanings = 0u64;
    let ticks = 3000u64;
    for t in 0..ticks {
        // Mostly plausible words, sometimes this host's session.
        for i in 0..20 {
            h.spads[i] = match r.below(4) {
                0 => h.hs.session(),
                1 => r.next(),
                2 => r.below(8),
                _ => h.spads[i],
            };
        }
        if r.below(3) == 0 {
            h.spads[SP_VERSION as usize] = version_word();
            h.spads[SP_IRQ as usize] = irq_word(r.below(20));
        }
        if r.below(5) == 0 {
            for b in h.window[..HEADER_LEN].iter_mut() {
                *b = r.next() as u8;
            }
        }
        let snap = Snapshot::read(|i| h.spads[i as usize], || {});
        let header = h.header();
        let acts = h.hs.handle(
            Event::Tick {
                now_ms: t * 100,
                snap,
                header,
            },
            &mut rng,
        );
        for a in acts.iter() {
            match a {
                Action::Clean { .. } => cleanings += 1,
                Action::Start(agreed) => {
                    // Only with a header that describes the agreement.
                    assert_eq!(check_header(&agreed, &header, MIB), Ok(()));
                    h.hs.handle(Event::Started, &mut rng);
                }
                _ => {}
            }
        }
    }
    let bound = u64::from(CLEAN_BURST) + ticks * 100 / CLEAN_INTERVAL_MS + 1;
    assert!(cleanings <= bound, "{cleanings} > {bound}");
}

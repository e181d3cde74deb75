// SPDX-License-Identifier: GPL-2.0
//! The attacks, one per layer of the victim. Each runs for a while, then
//! puts the peer back into a state from which a correct peer recovers the
//! link (most of them by restarting the session).

use std::time::{Duration, Instant};

use crate::frames::{self, BROADCAST};
use crate::peer::Peer;
use crate::spec::*;

/// The attacks; the command number is the index + 1.
pub const ATTACKS: &[(&str, &str)] = &[
    (
        "port-session",
        "NTB port session word changes every 200 ms (link flaps)",
    ),
    (
        "port-heartbeat",
        "NTB port heartbeat stands still 700 ms of every 1 s",
    ),
    (
        "port-link-enable",
        "NTB port link-enable word toggles every 200 ms",
    ),
    (
        "spad-garbage",
        "random values in all of the victim's scratchpads, every 5 ms",
    ),
    (
        "session-cycle",
        "a correct new session every 100 ms, acking the victim's",
    ),
    (
        "agreement-extremes",
        "each offer word at its extremes, one new session each",
    ),
    (
        "header-garbage",
        "a correct handshake with a bad window header",
    ),
    (
        "trigger-garbage",
        "bad trigger descriptors, at link-up and while up",
    ),
    (
        "ethertypes",
        "wrong EtherTypes, runts, bad IP headers, GSO on non-TCP",
    ),
    (
        "gso-tiny-mss",
        "64 KiB TCP GSO frames with MSS 1, 8, 64, 87 and 88, most to be forwarded",
    ),
    (
        "flood-max",
        "maximum-size frames as fast as the ring takes them",
    ),
    ("prod-jump", "producer index jumps: ahead, back, far"),
    (
        "desc-garbage",
        "descriptors with each field wrong, published correctly",
    ),
    (
        "cons-garbage",
        "consumer and event indices of the victim's ring garbled",
    ),
    (
        "irq-storm",
        "every doorbell vector of the victim rung as fast as possible",
    ),
    (
        "window-garbage",
        "random bytes over the victim's whole window every 100 ms",
    ),
    (
        "max-frame-small",
        "a max_frame offer of 1000, below the victim's MTU, held",
    ),
    (
        "small-outbound",
        "lays out only 4 MiB of the victim's window (SP_OUTBOUND), as a smaller BAR would",
    ),
];

pub fn by_name(name: &str) -> Option<usize> {
    ATTACKS.iter().position(|(n, _)| *n == name)
}

/// How long each variant of a negotiation attack is held: the victim
/// needs a few link ticks (100 ms) to reach the check.
const VARIANT_PERIOD: Duration = Duration::from_millis(600);

/// A running attack.
pub struct Attack {
    pub id: usize,
    started: Instant,
    pub duration: Duration,
    last: Instant,
    step: u32,
    seq: u32,
}

/// Offer variants of the agreement-extremes attack: (what, change).
type OfferChange = fn(&mut Offer);
const OFFER_VARIANTS: &[(&str, OfferChange)] = &[
    ("version 0", |o| o.version = 0),
    ("major 2", |o| o.version = version_word(2, 0)),
    ("minor 255", |o| o.version = version_word(1, 255)),
    ("features all", |o| o.features = u32::MAX),
    ("queues 0", |o| o.queues = 0),
    ("queues max", |o| o.queues = u32::MAX),
    ("entries 0", |o| o.entries = 0),
    ("entries 7", |o| o.entries = 7),
    ("entries 12", |o| o.entries = 12),
    ("entries 65536", |o| o.entries = 65536),
    ("entries max", |o| o.entries = u32::MAX),
    ("max_frame 0", |o| o.max_frame = 0),
    ("max_frame 13", |o| o.max_frame = 13),
    ("max_frame 14", |o| o.max_frame = 14),
    ("max_frame 65537", |o| o.max_frame = 65537),
    ("max_frame max", |o| o.max_frame = u32::MAX),
    ("window 0", |o| o.window = 0),
    ("window 1 page", |o| o.window = 1),
    ("window max", |o| o.window = u32::MAX),
    ("irq kind 0", |o| o.irq = o.queues),
    ("irq kind 1", |o| o.irq = 1 << 24 | o.queues),
    ("irq count 0", |o| o.irq = 2 << 24),
    ("irq count max", |o| o.irq = 2 << 24 | 0xff_ffff),
    ("all max", |o| {
        *o = Offer {
            version: u32::MAX,
            features: u32::MAX,
            queues: u32::MAX,
            entries: u32::MAX,
            max_frame: u32::MAX,
            window: u32::MAX,
            irq: u32::MAX,
        }
    }),
];

/// Header variants of the header-garbage attack.
type HeaderChange = fn(&mut Header);
const HEADER_VARIANTS: &[(&str, HeaderChange)] = &[
    ("magic", |h| h.magic = 0x12345678),
    ("major 2", |h| h.major = 2),
    ("header size 128", |h| h.header_size = 128),
    ("features unknown", |h| h.features |= 1 << 7),
    ("features more than agreed", |h| h.features = 0),
    ("queues 256", |h| h.queues = 256),
    ("queues 0", |h| h.queues = 0),
    ("entries 32768", |h| h.entries = 32768),
    ("entries 3", |h| h.entries = 3),
    ("data size 2^30", |h| h.data_size = 1 << 30),
    ("data size 64", |h| h.data_size = 64),
    ("data size unaligned", |h| h.data_size -= 1),
    ("max_frame 65536+64", |h| h.max_frame += 64),
    ("stride", |h| h.queue_stride += 64),
    ("stride overflow", |h| {
        h.entries = 32768;
        h.data_size = (1 << 30) - 64;
        h.queue_stride = 128u32.wrapping_add(32768 * 16).wrapping_add(h.data_size)
    }),
];

/// Trigger variants of the trigger-garbage attack (queue 0's words).
const TRIGGER_VARIANTS: &[[u32; 3]] = &[
    [0, 0, 0],
    [3, 0, 0],
    [0xff, 0xffff_ffff, 0xffff_ffff],
    [2 | 8 << 8, 0, 0],
    [2 | 63 << 8, 0, 0],
    [2 | 64 << 8, 0, 0],
    [2 | 0xff_ffff << 8, 0, 0],
    [1, 0xffff_fffc, 0],
    [1, 0x0100_0000, 0],
    [1 | 1 << 8, 0, 0],
    [1 | 0xff_ffff << 8, 0xffff_ffff, 0xffff_ffff],
];

impl Attack {
    /// Attack `id` for `duration`, or longer when it has variants to go
    /// through (each one held long enough for the victim to act on it).
    pub fn new(id: usize, duration: Duration) -> Self {
        let now = Instant::now();
        let variants = match ATTACKS[id].0 {
            "agreement-extremes" => OFFER_VARIANTS.len(),
            "header-garbage" => HEADER_VARIANTS.len(),
            "trigger-garbage" => TRIGGER_VARIANTS.len(),
            _ => 0,
        };
        let duration = duration.max(VARIANT_PERIOD * variants as u32);
        Self {
            id,
            started: now,
            duration,
            last: now,
            step: 0,
            seq: 0,
        }
    }

    pub fn name(&self) -> &'static str {
        ATTACKS[self.id].0
    }

    pub fn done(&self) -> bool {
        self.started.elapsed() >= self.duration
    }

    /// Whether `every` passed since the last action (and notes the time).
    fn every(&mut self, every: Duration) -> bool {
        if self.last.elapsed() >= every {
            self.last = Instant::now();
            true
        } else {
            false
        }
    }

    pub fn start(&mut self, p: &mut Peer) {
        p.log(&format!(
            "attack {}: {} for {:?}",
            self.name(),
            ATTACKS[self.id].1,
            self.duration
        ));
        // The first action right away.
        self.last = Instant::now()
            .checked_sub(Duration::from_secs(10))
            .unwrap_or(self.started);
        match self.name() {
            "spad-garbage" => p.negotiate = false,
            "max-frame-small" => {
                p.offer.max_frame = 1000;
                p.restart();
            }
            "small-outbound" => {
                p.outbound_limit = Some(4 << 20);
                p.restart();
            }
            _ => {}
        }
    }

    /// One step; called from the main loop as often as it runs.
    pub fn step(&mut self, p: &mut Peer) {
        let period = match self.name() {
            "port-session" => 200,
            "port-link-enable" => 200,
            "spad-garbage" | "desc-garbage" => 5,
            "session-cycle" | "window-garbage" => 100,
            "agreement-extremes" | "header-garbage" | "trigger-garbage" => {
                VARIANT_PERIOD.as_millis() as u64
            }
            "ethertypes" => 20,
            "gso-tiny-mss" => 100,
            "prod-jump" | "cons-garbage" => 2,
            _ => 0,
        };
        if !self.every(Duration::from_millis(period)) {
            return;
        }
        match self.name() {
            "port-session" => {
                let s = p.rng.nonzero();
                p.set_port_session(s);
            }
            "port-heartbeat" => {
                let ms = self.started.elapsed().as_millis() % 1000;
                p.port_heartbeat_on = ms >= 700;
            }
            "port-link-enable" => {
                p.link_enable = !p.link_enable;
            }
            "spad-garbage" => {
                for i in 0..p.iv.spads as usize {
                    let v = p.rng.u32();
                    p.vm_spad_write(i, v);
                }
            }
            "session-cycle" => {
                p.restart();
            }
            "agreement-extremes" => {
                let (what, change) = OFFER_VARIANTS[self.step as usize % OFFER_VARIANTS.len()];
                p.offer = default_offer(p);
                change(&mut p.offer);
                p.log(&format!("offer: {what}"));
                p.restart();
                self.step += 1;
            }
            "header-garbage" => {
                let (what, change) = HEADER_VARIANTS[self.step as usize % HEADER_VARIANTS.len()];
                let default = default_offer(p);
                let mut h = Layout::fit(p.vm_window().1, 2, 256, MAX_FRAME, FEATURES_KNOWN)
                    .map(|l| l.header())
                    .unwrap_or_default();
                // The victim's own offer decides the agreed layout: take
                // it from its scratchpads when they are readable.
                let theirs = Offer {
                    version: p.spad(SP_VERSION),
                    features: p.spad(SP_FEATURES),
                    queues: p.spad(SP_QUEUES),
                    entries: p.spad(SP_ENTRIES),
                    max_frame: p.spad(SP_MAX_FRAME),
                    window: p.spad(SP_WINDOW),
                    irq: p.spad(SP_IRQ),
                };
                if let Ok(ag) = agree(&default, &theirs, p.vm_window().1, p.my_window().1) {
                    h = ag.theirs.header();
                }
                change(&mut h);
                p.log(&format!("header: {what}"));
                p.header_override = Some(h);
                p.restart();
                self.step += 1;
            }
            "trigger-garbage" => {
                let t = TRIGGER_VARIANTS[self.step as usize % TRIGGER_VARIANTS.len()];
                p.log(&format!("trigger words {t:#x?}"));
                for q in 0..p.triggers.len() {
                    p.triggers[q] = if q % 2 == 0 {
                        t
                    } else {
                        Trigger::Doorbell { bit: q as u32 }.to_words()
                    };
                }
                // Odd steps: at link-up (a new session); even steps:
                // rewritten under a link that is up.
                if self.step.is_multiple_of(2) || !p.up() {
                    p.restart();
                } else {
                    p.write_offer();
                }
                self.step += 1;
            }
            "ethertypes" => {
                self.ethertypes(p);
            }
            "gso-tiny-mss" => {
                self.gso_tiny_mss(p);
            }
            "flood-max" => self.flood_max(p),
            "prod-jump" => {
                self.prod_jump(p);
            }
            "desc-garbage" => {
                self.desc_garbage(p);
            }
            "cons-garbage" => {
                self.cons_garbage(p);
            }
            "irq-storm" => {
                // Every vector once per step (the main loop's 0.2 ms): an
                // interrupt pending on every vector at any time, without
                // taking a host core from the victim's vCPUs.
                for v in 0..p.vm_vectors() {
                    p.ring_vm(v);
                }
            }
            "window-garbage" => {
                let (base, size) = p.vm_window();
                let mut buf = vec![0u8; size as usize];
                p.rng.fill(&mut buf);
                p.c.shm.write(base, &buf);
                for v in 0..p.vm_vectors() {
                    p.ring_vm(v);
                }
            }
            _ => {}
        }
    }

    /// Ends the attack: back to a correct peer.
    pub fn stop(&mut self, p: &mut Peer) {
        p.log(&format!("attack {} ends ({:?})", self.name(), p.stats));
        p.port_heartbeat_on = true;
        p.link_enable = true;
        p.negotiate = true;
        p.header_override = None;
        p.outbound_limit = None;
        p.offer = default_offer(p);
        p.triggers = (0..p.offer.queues)
            .map(|q| Trigger::Doorbell { bit: q }.to_words())
            .collect();
        match self.name() {
            // The NTB link comes back by itself; the peer restarts on its
            // link-up. Frames and ring attacks that left the indices
            // consistent need nothing: the link must go on.
            "port-session" | "port-heartbeat" | "port-link-enable" => {}
            "ethertypes" | "gso-tiny-mss" | "flood-max" | "desc-garbage" | "irq-storm" => {}
            "prod-jump" | "cons-garbage" => self.restore_indices(p),
            "max-frame-small" | "small-outbound" => p.restart(),
            _ => p.restart(),
        }
    }

    fn ethertypes(&mut self, p: &mut Peer) {
        let (me, vm) = (p.mac, p.vm_mac);
        let ip = frames::ipv4(p.ip, p.vm_ip, frames::IPPROTO_UDP, 1, &[0u8; 28]);
        let mut bad_ihl = ip.clone();
        bad_ihl[0] = 0x4f;
        let mut bad_len = ip.clone();
        bad_len[2..4].copy_from_slice(&0xffffu16.to_be_bytes());
        let mut frag = ip.clone();
        frag[6..8].copy_from_slice(&0x3fffu16.to_be_bytes());
        let tcp = frames::ipv4(
            p.ip,
            p.vm_ip,
            frames::IPPROTO_TCP,
            2,
            &frames::tcp4(p.ip, p.vm_ip, 1, 22, 0, 0, &[0u8; 1400], true),
        );
        let mut garbage = vec![0u8; 1500];
        p.rng.fill(&mut garbage);
        let variants: Vec<(Vec<u8>, u32)> = vec![
            (
                frames::eth(vm, me, 0x0000, &garbage[..46]),
                DESC_F_CSUM_VALID,
            ),
            (frames::eth(vm, me, 0x05dc, &garbage[..100]), 0),
            (frames::eth(vm, me, 0x0600, &garbage[..100]), 0),
            (frames::eth(vm, me, 0xffff, &garbage), DESC_F_CSUM_VALID),
            (frames::eth(BROADCAST, me, 0x88b5, &garbage), 0),
            (frames::eth(vm, me, frames::ETH_P_8021Q, &garbage[..64]), 0),
            (
                frames::eth(vm, me, frames::ETH_P_IPV6, &garbage),
                DESC_F_CSUM_VALID,
            ),
            (
                frames::eth(vm, me, frames::ETH_P_IP, &garbage),
                DESC_F_CSUM_VALID,
            ),
            (frames::eth(vm, me, frames::ETH_P_ARP, &garbage[..28]), 0),
            (
                frames::eth(vm, me, frames::ETH_P_IP, &bad_ihl),
                DESC_F_CSUM_VALID,
            ),
            (
                frames::eth(vm, me, frames::ETH_P_IP, &bad_len),
                DESC_F_CSUM_VALID,
            ),
            (
                frames::eth(vm, me, frames::ETH_P_IP, &frag),
                DESC_F_CSUM_VALID,
            ),
            (
                frames::eth(vm, me, frames::ETH_P_IP, &[]),
                DESC_F_CSUM_VALID,
            ),
            (
                frames::eth(BROADCAST, me, frames::ETH_P_IP, &ip),
                DESC_F_CSUM_VALID,
            ),
            // GSO on frames that are not what the flag says.
            (
                frames::eth(vm, me, frames::ETH_P_ARP, &garbage),
                gso_flags(false, 100),
            ),
            (
                frames::eth(vm, me, frames::ETH_P_IP, &tcp),
                gso_flags(true, 100),
            ),
            (
                frames::eth(vm, me, frames::ETH_P_IPV6, &tcp),
                gso_flags(false, 100),
            ),
            (
                frames::eth(vm, me, frames::ETH_P_IP, &ip),
                gso_flags(false, 100),
            ),
            (
                frames::eth(vm, me, frames::ETH_P_IP, &garbage),
                gso_flags(false, 536),
            ),
        ];
        for (i, (f, flags)) in variants.iter().enumerate() {
            let q = (self.seq as usize + i) % p.queues().max(1);
            p.send(q, f, *flags);
        }
        self.seq = self.seq.wrapping_add(1);
    }

    fn gso_tiny_mss(&mut self, p: &mut Peer) {
        // To an address the victim forwards (the test routes
        // 10.98.0.0/24 out of an interface without TSO), and to itself;
        // MSS 88 is the smallest the document allows.
        let fwd = [10, 98, 0, 2];
        // The legal MSS 88 every fourth round: 750 segments each, what
        // 1 MiB of ordinary TCP makes.
        let cases = [(1u16, fwd), (8, p.vm_ip), (64, fwd), (87, fwd), (88, fwd)];
        let n = if self.step.is_multiple_of(4) { 5 } else { 4 };
        self.step += 1;
        for (i, (mss, dst)) in cases.into_iter().take(n).enumerate() {
            let data = vec![0x5au8; 65536 - 14 - 20 - 20];
            let seg = frames::tcp4(p.ip, dst, 40000, 9, self.seq, 1, &data, true);
            let f = frames::eth(
                p.vm_mac,
                p.mac,
                frames::ETH_P_IP,
                &frames::ipv4(p.ip, dst, frames::IPPROTO_TCP, 3, &seg),
            );
            self.seq = self.seq.wrapping_add(data.len() as u32);
            p.send(i % p.queues().max(1), &f, gso_flags(false, mss));
        }
    }

    fn flood_max(&mut self, p: &mut Peer) {
        let Some(max) = p.data.as_ref().map(|d| d.ag.theirs.max_frame as usize) else {
            return;
        };
        let udp_len = max.min(14 + 65535) - 14 - 20;
        let data = vec![0xa5u8; udp_len - 8];
        let ip = frames::ipv4(
            p.ip,
            p.vm_ip,
            frames::IPPROTO_UDP,
            4,
            &frames::udp4(p.ip, p.vm_ip, 9, 9, &data),
        );
        let udp = frames::eth(p.vm_mac, p.mac, frames::ETH_P_IP, &ip);
        let mut junk = vec![0u8; max - 14];
        p.rng.fill(&mut junk[..64]);
        let junk = frames::eth(BROADCAST, p.mac, 0x88b5, &junk);
        // Until every queue is full, then let the victim drain.
        for q in 0..p.queues() {
            for _ in 0..64 {
                let f = if self.seq.is_multiple_of(2) {
                    &udp
                } else {
                    &junk
                };
                if !p.send(q, f, DESC_F_CSUM_VALID) {
                    break;
                }
                self.seq = self.seq.wrapping_add(1);
            }
        }
    }

    fn prod_jump(&mut self, p: &mut Peer) {
        let (vbase, _) = p.vm_window();
        let Some(d) = p.data.as_ref() else {
            return;
        };
        let l = d.ag.theirs;
        for q in 0..d.queues.len() {
            let tx = &d.queues[q].tx;
            let bad = match self.seq % 5 {
                // Past any room the victim may see: its cons is at most prod.
                0 => tx.prod.wrapping_add(l.entries + 1),
                1 => tx.prod.wrapping_sub(1),
                2 => tx.prod.wrapping_add(0x8000_0000),
                3 => tx.prod.wrapping_sub(l.entries),
                _ => p.rng.u32(),
            };
            p.c.shm
                .w32(vbase + l.queue_base(q as u32) + Q_PROD as u64, bad);
        }
        self.seq = self.seq.wrapping_add(1);
        for q in 0..p.queues() {
            p.kick(q);
        }
    }

    fn desc_garbage(&mut self, p: &mut Peer) {
        let Some(l) = p.data.as_ref().map(|d| d.ag.theirs) else {
            return;
        };
        let f = frames::eth(p.vm_mac, p.mac, 0x88b5, &[0x77u8; 100]);
        for q in 0..p.queues() {
            let Some(slot) = p.reserve(q, f.len() as u32) else {
                continue;
            };
            let good = slot.desc(0);
            let bad = match self.seq % 9 {
                0 => Desc {
                    seq: good.seq.wrapping_add(1),
                    ..good
                },
                1 => Desc {
                    flags: 1 << 5,
                    ..good
                },
                2 => Desc {
                    off: good.off + 8,
                    ..good
                },
                3 => Desc {
                    off: l.data_size,
                    ..good
                },
                4 => Desc { len: 0, ..good },
                5 => Desc {
                    len: l.max_frame + 1,
                    ..good
                },
                6 => Desc {
                    off: l.data_size - 64,
                    len: l.max_frame.min(l.data_size),
                    ..good
                },
                7 => Desc {
                    flags: DESC_F_GSO_TCPV4 | DESC_F_GSO_TCPV6 | DESC_F_CSUM_VALID | 1 << 16,
                    ..good
                },
                _ => Desc {
                    off: u32::MAX - 63,
                    len: u32::MAX,
                    flags: u32::MAX,
                    ..good
                },
            };
            let (vbase, _) = p.vm_window();
            p.c.shm
                .write(vbase + l.data_off(q as u32) + slot.off as u64, &f);
            p.c.shm
                .write(vbase + l.desc_off(q as u32, slot.index), &bad.to_bytes());
            p.publish(q);
            self.seq = self.seq.wrapping_add(1);
        }
    }

    fn cons_garbage(&mut self, p: &mut Peer) {
        let (vbase, _) = p.vm_window();
        let Some(d) = p.data.as_ref() else {
            return;
        };
        let l = d.ag.theirs;
        for q in 0..d.queues.len() {
            let rx = &d.queues[q].rx;
            let cons = match self.seq % 4 {
                0 => rx.cons.wrapping_add(l.entries * 4),
                1 => rx.cons.wrapping_sub(l.entries * 4),
                2 => 0x8000_0000u32.wrapping_add(rx.cons),
                _ => p.rng.u32(),
            };
            let base = vbase + l.queue_base(q as u32);
            p.c.shm.w32(base + Q_CONS as u64, cons);
            p.c.shm.w32(base + Q_RX_EVENT as u64, cons ^ 0x5555_5555);
        }
        self.seq = self.seq.wrapping_add(1);
        for q in 0..p.queues() {
            p.kick(q);
        }
    }

    /// Writes back the true indices after prod-jump and cons-garbage.
    fn restore_indices(&mut self, p: &mut Peer) {
        let (vbase, _) = p.vm_window();
        let Some(d) = p.data.as_ref() else {
            return;
        };
        let l = d.ag.theirs;
        for (q, queue) in d.queues.iter().enumerate() {
            let base = vbase + l.queue_base(q as u32);
            p.c.shm.w32(base + Q_PROD as u64, queue.tx.prod);
            p.c.shm.w32(base + Q_CONS as u64, queue.rx.cons);
            p.c.shm.w32(base + Q_RX_EVENT as u64, queue.rx.next);
        }
        for q in 0..p.queues() {
            p.kick(q);
        }
    }
}

/// The offer of a correct peer.
pub fn default_offer(p: &Peer) -> Offer {
    let queues = 8;
    Offer {
        version: version_word(VERSION_MAJOR, VERSION_MINOR),
        features: FEATURES_KNOWN,
        queues,
        entries: 256,
        max_frame: MAX_FRAME,
        window: (p.iv.window_size(p.me, 0) / WINDOW_PAGE) as u32,
        irq: IRQ_KIND_TRIGGERS << 24 | queues,
    }
}

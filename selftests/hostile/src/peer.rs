// SPDX-License-Identifier: GPL-2.0
//! An ntbnet peer on the virtual NTB: the NTB port (session, heartbeat,
//! link), the scratchpad handshake and the data path, as
//! Documentation/ring-protocol.md ("Link-up and reset", "Negotiation",
//! "Sending", "Receiving") describes them. Every knob an attack turns is a
//! public field or method.

use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use crate::frames::{Ip4, Mac};
use crate::ivshmem::{self, Client, IvLayout};
use crate::spec::*;

/// Ticks of the link work (the document's "every 100 ms").
pub const TICK: Duration = Duration::from_millis(100);
/// The scratchpad heartbeat period.
pub const HEARTBEAT: Duration = Duration::from_millis(50);
/// Port heartbeat ticks after which a silent peer is down (ivshmem-ntb.md),
/// on a victim as fast as the test kernel; times `Peer::slowdown`.
const PORT_STALE_TICKS: u32 = 5;
/// How long the peer's scratchpad heartbeat may stand still while up, on
/// a victim as fast as the test kernel; times `Peer::slowdown`.
const SP_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(1);

/// xorshift64*: enough randomness for garbage and sessions.
pub struct Rng(u64);

impl Rng {
    pub fn new() -> Self {
        let mut seed = [0u8; 8];
        // SAFETY: getrandom writes at most 8 bytes into a live buffer.
        unsafe { libc::getrandom(seed.as_mut_ptr().cast(), 8, 0) };
        Self(u64::from_ne_bytes(seed) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn u32(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }

    pub fn nonzero(&mut self) -> u32 {
        loop {
            let v = self.u32();
            if v != 0 {
                return v;
            }
        }
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_ne_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

impl Default for Rng {
    fn default() -> Self {
        Self::new()
    }
}

/// Counters of what the peer saw.
#[derive(Default, Debug, Clone)]
pub struct Stats {
    pub rx_frames: u64,
    pub rx_errors: u64,
    pub tx_frames: u64,
    pub tx_full: u64,
    pub kicks: u64,
    pub irqs: u64,
    pub bad_cons: u64,
    pub link_ups: u64,
    pub refusals: u64,
}

/// One queue pair of the data path.
pub struct Queue {
    pub tx: TxRing,
    pub rx: RxRing,
}

/// The data path of an agreed link.
pub struct DataPath {
    pub ag: Agreement,
    pub queues: Vec<Queue>,
    /// The victim's trigger per queue.
    pub triggers: Vec<Trigger>,
}

pub struct Peer {
    pub c: Client,
    pub iv: IvLayout,
    pub me: u32,
    pub vm: u32,
    pub mac: Mac,
    pub ip: Ip4,
    pub rng: Rng,
    pub stats: Stats,
    pub start: Instant,
    /// The offer this peer writes at each (re)start; attacks change it.
    pub offer: Offer,
    /// The trigger words it publishes, per queue offered.
    pub triggers: Vec<[u32; 3]>,
    /// Header this peer writes into the victim's window, if not the
    /// agreed one (an attack).
    pub header_override: Option<Header>,
    /// Pretend that the outbound mapping onto the victim's window is this
    /// small (`SP_OUTBOUND`), as a Switchtec host with a smaller BAR would.
    pub outbound_limit: Option<u64>,
    /// How much slower than the test kernel the victim runs (vm.sh's
    /// NTBNET_VM_SLOWDOWN: 3 on the debug kernel), at least 1. The limits
    /// for the victim's heartbeats are multiplied by it, as the victim's
    /// own `ntb_hw_ivshmem.peer_timeout_ms` is (500 ms times it): a KASAN
    /// victim busy with an attack (gso-tiny-mss: segmenting 750 MSS-88
    /// frames in software) let its port heartbeat stand still for 500 ms,
    /// and this peer took the link down 3 times in one attack, which then
    /// measured link restarts instead of what it meant to.
    pub slowdown: u32,
    /// Port block knobs.
    pub port_heartbeat_on: bool,
    pub link_enable: bool,
    /// Whether the handshake runs (attacks that write scratchpads
    /// themselves turn it off).
    pub negotiate: bool,
    port_session: u32,
    port_hb: u32,
    vm_port_session: u32,
    vm_port_hb: u32,
    vm_stale: u32,
    pub ntb_up: bool,
    /// Own and peer session.
    pub s: u32,
    pub p: u32,
    zeroed: bool,
    header_written: bool,
    refused_logged: u32,
    sp_hb: u32,
    vm_sp_hb: u32,
    vm_sp_hb_at: Instant,
    pub data: Option<DataPath>,
    /// The victim's addresses, as learnt from its frames.
    pub vm_mac: Mac,
    pub vm_ip: Ip4,
}

impl Peer {
    pub fn new(c: Client, mac: Mac, ip: Ip4) -> Result<Self, String> {
        let size = c.shm.len() as u64;
        let mut iv = IvLayout::for_size(size).ok_or("shared memory too small")?;
        let me = c.id;
        if me >= iv.ports {
            return Err(format!("peer id {me} is not a port of the virtual NTB"));
        }
        let vm = 1 - me;
        // The header: the first port to find magic 0 writes it (magic
        // last); else it must be what we compute.
        let shm = &c.shm;
        if shm.r64(ivshmem::HDR_MAGIC as u64) == 0 {
            shm.w32(ivshmem::HDR_VERSION as u64, ivshmem::VERSION);
            shm.w64(ivshmem::HDR_SIZE as u64, size);
            shm.w32(ivshmem::HDR_PORTS as u64, iv.ports);
            shm.w32(ivshmem::HDR_SPADS as u64, iv.spads);
            shm.w32(ivshmem::HDR_MWS as u64, iv.mws);
            shm.w64(ivshmem::HDR_MW_SIZE as u64, iv.mw_size);
            shm.w64(ivshmem::HDR_MW_OFFSET as u64, iv.mw_offset);
            fence(Ordering::SeqCst);
            shm.w64(ivshmem::HDR_MAGIC as u64, ivshmem::MAGIC);
        } else {
            let got = IvLayout {
                size: shm.r64(ivshmem::HDR_SIZE as u64),
                ports: shm.r32(ivshmem::HDR_PORTS as u64),
                spads: shm.r32(ivshmem::HDR_SPADS as u64),
                mws: shm.r32(ivshmem::HDR_MWS as u64),
                mw_size: shm.r64(ivshmem::HDR_MW_SIZE as u64),
                mw_offset: shm.r64(ivshmem::HDR_MW_OFFSET as u64),
            };
            if shm.r64(ivshmem::HDR_MAGIC as u64) != ivshmem::MAGIC
                || shm.r32(ivshmem::HDR_VERSION as u64) != ivshmem::VERSION
                || got != iv
            {
                return Err(format!("shared memory header {got:?}, expected {iv:?}"));
            }
            iv = got;
        }
        let window = iv.window_size(me, 0);
        let queues = 8;
        let offer = Offer {
            version: version_word(VERSION_MAJOR, VERSION_MINOR),
            features: FEATURES_KNOWN,
            queues,
            entries: 256,
            max_frame: MAX_FRAME,
            window: (window / WINDOW_PAGE) as u32,
            irq: IRQ_KIND_TRIGGERS << 24 | queues,
        };
        let triggers = (0..queues)
            .map(|q| Trigger::Doorbell { bit: q }.to_words())
            .collect();
        let mut rng = Rng::new();
        let port_session = rng.nonzero();
        let now = Instant::now();
        let mut peer = Self {
            c,
            iv,
            me,
            vm,
            mac,
            ip,
            rng,
            stats: Stats::default(),
            start: now,
            offer,
            triggers,
            header_override: None,
            outbound_limit: None,
            slowdown: 1,
            port_heartbeat_on: true,
            link_enable: true,
            negotiate: true,
            port_session,
            port_hb: 0,
            vm_port_session: 0,
            vm_port_hb: 0,
            vm_stale: 0,
            ntb_up: false,
            s: 0,
            p: 0,
            zeroed: false,
            header_written: false,
            refused_logged: 0,
            sp_hb: 0,
            vm_sp_hb: 0,
            vm_sp_hb_at: now,
            data: None,
            vm_mac: [0xff; 6],
            vm_ip: [0; 4],
        };
        // "A port zeroes its own block when it binds, then sets its
        // session."
        let block = peer.iv.port_block(me) as u64;
        peer.c.shm.fill(block, 0x1000, 0);
        fence(Ordering::SeqCst);
        peer.set_port_session(port_session);
        peer.c.shm.w32(block + ivshmem::PORT_LINK_ENABLED as u64, 1);
        Ok(peer)
    }

    pub fn log(&self, msg: &str) {
        let t = self.start.elapsed();
        eprintln!("[{:4}.{:03}] {msg}", t.as_secs(), t.subsec_millis());
    }

    // --- NTB port -----------------------------------------------------------

    fn port_word(&self, port: u32, field: usize) -> u64 {
        (self.iv.port_block(port) + field) as u64
    }

    pub fn set_port_session(&mut self, v: u32) {
        self.port_session = v;
        self.c
            .shm
            .w32(self.port_word(self.me, ivshmem::PORT_SESSION), v);
    }

    pub fn my_window(&self) -> (u64, u64) {
        (self.iv.window(self.me, 0), self.iv.window_size(self.me, 0))
    }

    pub fn vm_window(&self) -> (u64, u64) {
        (self.iv.window(self.vm, 0), self.iv.window_size(self.vm, 0))
    }

    /// How much of the victim's window this peer reaches.
    pub fn outbound(&self) -> u64 {
        let full = self.vm_window().1;
        self.outbound_limit.map_or(full, |l| l.min(full))
    }

    /// How much of this peer's window the victim says it reaches
    /// (`SP_OUTBOUND`, 0 = all of it), at most the window.
    fn vm_outbound(&self, w: &[u32; 64]) -> u64 {
        let (_, mine) = self.my_window();
        match w[SP_OUTBOUND] as u64 * WINDOW_PAGE {
            0 => mine,
            o => o.min(mine),
        }
    }

    pub fn vm_spad_write(&self, idx: usize, v: u32) {
        self.c.shm.w32(self.iv.spad(self.vm, idx) as u64, v);
    }

    pub fn spad(&self, idx: usize) -> u32 {
        self.c.shm.r32(self.iv.spad(self.me, idx) as u64)
    }

    /// Rings the victim's doorbell vector `v` (no-op if it has none).
    pub fn ring_vm(&mut self, v: u32) {
        if let Some(fd) = self.c.peers.get(&self.vm).and_then(|f| f.get(v as usize)) {
            ivshmem::ring(fd);
        }
    }

    pub fn vm_vectors(&self) -> u32 {
        self.c.peers.get(&self.vm).map_or(0, |f| f.len() as u32)
    }

    /// Drains this peer's own eventfds; how many had rung.
    pub fn take_irqs(&mut self) -> u32 {
        let n = self
            .c
            .peers
            .get(&self.me)
            .map_or(0, |fds| fds.iter().filter(|fd| ivshmem::drain(fd)).count())
            as u32;
        self.stats.irqs += n as u64;
        n
    }

    /// One port heartbeat tick (ivshmem-ntb.md "Link"); returns whether the
    /// NTB link is up.
    fn port_tick(&mut self) -> bool {
        if self.port_heartbeat_on {
            self.port_hb = self.port_hb.wrapping_add(1);
            self.c.shm.w32(
                self.port_word(self.me, ivshmem::PORT_HEARTBEAT),
                self.port_hb,
            );
        }
        self.c.shm.w32(
            self.port_word(self.me, ivshmem::PORT_LINK_ENABLED),
            self.link_enable as u32,
        );
        let session = self
            .c
            .shm
            .r32(self.port_word(self.vm, ivshmem::PORT_SESSION));
        let hb = self
            .c
            .shm
            .r32(self.port_word(self.vm, ivshmem::PORT_HEARTBEAT));
        let enabled = self
            .c
            .shm
            .r32(self.port_word(self.vm, ivshmem::PORT_LINK_ENABLED))
            != 0;
        let seen = self.c.shm.r32(self.port_word(self.vm, ivshmem::PORT_SEEN));
        let restarted = session != self.vm_port_session;
        self.vm_port_session = session;
        if restarted || hb != self.vm_port_hb {
            self.vm_stale = 0;
        } else {
            self.vm_stale = self.vm_stale.saturating_add(1);
        }
        self.vm_port_hb = hb;
        let alive = session != 0 && self.vm_stale < PORT_STALE_TICKS * self.slowdown.max(1);
        // (This peer never resets the link itself, except by the session
        // changes of the attacks.)
        let up = self.link_enable && alive && enabled && !restarted && seen == self.port_session;
        self.c
            .shm
            .w32(self.port_word(self.me, ivshmem::PORT_SEEN), session);
        up
    }

    // --- Handshake ----------------------------------------------------------

    /// Step 1: a new session of this host.
    pub fn restart(&mut self) {
        self.go_down("restart");
        self.s = self.rng.nonzero();
        self.zeroed = false;
        self.header_written = false;
        self.refused_logged = 0;
        self.write_offer();
        self.vm_spad_write(SP_ACK, self.p);
        self.vm_spad_write(SP_CLEAN, 0);
        self.vm_spad_write(SP_READY, 0);
        fence(Ordering::SeqCst);
        self.vm_spad_write(SP_SESSION, self.s);
    }

    pub fn write_offer(&self) {
        let o = &self.offer;
        for (i, v) in [
            o.version,
            o.features,
            o.queues,
            o.entries,
            o.max_frame,
            o.window,
            o.irq,
        ]
        .into_iter()
        .enumerate()
        {
            self.vm_spad_write(SP_VERSION + i, v);
        }
        let outbound = self.outbound_limit.map_or(0, |l| (l / WINDOW_PAGE) as u32);
        self.vm_spad_write(SP_OUTBOUND, outbound);
        for (q, t) in self.triggers.iter().enumerate() {
            for (w, v) in t.iter().enumerate() {
                let idx = SP_TRIGGER + 3 * q + w;
                if idx < self.iv.spads as usize {
                    self.vm_spad_write(idx, *v);
                }
            }
        }
    }

    /// Stops writing the victim's window.
    pub fn go_down(&mut self, why: &str) {
        if self.data.take().is_some() {
            self.log(&format!("link down: {why}"));
        }
    }

    /// The victim's words, read consistently (session before and after).
    fn read_words(&self) -> Option<[u32; 64]> {
        let s1 = self.spad(SP_SESSION);
        fence(Ordering::SeqCst);
        let mut w = [0u32; 64];
        for (i, v) in w.iter_mut().enumerate().take(self.iv.spads as usize) {
            *v = self.spad(i);
        }
        fence(Ordering::SeqCst);
        (self.spad(SP_SESSION) == s1).then_some(w)
    }

    /// One tick of the link work.
    pub fn tick(&mut self) {
        let up = self.port_tick();
        if up != self.ntb_up {
            self.ntb_up = up;
            self.log(&format!("NTB link {}", if up { "up" } else { "down" }));
            if up {
                if self.negotiate {
                    self.restart();
                }
            } else {
                self.go_down("NTB link down");
            }
        }
        if !self.ntb_up || !self.negotiate {
            return;
        }
        let Some(w) = self.read_words() else {
            return;
        };
        // Step 2.
        if w[SP_SESSION] != self.p {
            self.go_down("peer restarted");
            self.p = w[SP_SESSION];
            self.zeroed = false;
            self.header_written = false;
            self.refused_logged = 0;
            self.vm_spad_write(SP_ACK, self.p);
        }
        if self.p == 0 {
            return;
        }
        // Step 3.
        if w[SP_ACK] == self.s && !self.zeroed {
            let (base, size) = self.my_window();
            self.c.shm.fill(base, size, 0);
            fence(Ordering::SeqCst);
            self.vm_spad_write(SP_CLEAN, self.p);
            self.zeroed = true;
        }
        let theirs = Offer {
            version: w[SP_VERSION],
            features: w[SP_FEATURES],
            queues: w[SP_QUEUES],
            entries: w[SP_ENTRIES],
            max_frame: w[SP_MAX_FRAME],
            window: w[SP_WINDOW],
            irq: w[SP_IRQ],
        };
        // Step 4.
        if w[SP_CLEAN] == self.s && !self.header_written {
            match agree(&self.offer, &theirs, self.outbound(), self.vm_outbound(&w)) {
                Ok(ag) => {
                    let (base, _) = self.vm_window();
                    let h = self.header_override.unwrap_or_else(|| ag.theirs.header());
                    self.c.shm.write(base, &h.to_bytes());
                    fence(Ordering::SeqCst);
                    self.vm_spad_write(SP_READY, self.p);
                    self.header_written = true;
                }
                Err(e) => self.refuse(&format!("cannot agree: {e} ({theirs:x?})")),
            }
        }
        // Step 5.
        if w[SP_READY] == self.s && self.header_written && self.data.is_none() {
            match self.start_data(&theirs, &w) {
                Ok(d) => {
                    self.stats.link_ups += 1;
                    self.log(&format!(
                        "link up: {} queues, {} descriptors, max frame {}, features {:#x}, data {}/{} bytes",
                        d.ag.mine.queues,
                        d.ag.mine.entries,
                        d.ag.mine.max_frame,
                        d.ag.mine.features,
                        d.ag.mine.data_size,
                        d.ag.theirs.data_size
                    ));
                    self.data = Some(d);
                    self.vm_sp_hb_at = Instant::now();
                }
                Err(e) => self.refuse(&e),
            }
        }
        // While up: the victim's heartbeat, and changed triggers.
        if self.data.is_some() {
            if w[SP_HEARTBEAT] != self.vm_sp_hb {
                self.vm_sp_hb = w[SP_HEARTBEAT];
                self.vm_sp_hb_at = Instant::now();
            } else if self.vm_sp_hb_at.elapsed() > SP_HEARTBEAT_TIMEOUT * self.slowdown.max(1) {
                self.log("peer heartbeat stopped");
                self.restart();
                return;
            }
            if let Some(d) = self.data.as_mut() {
                for (q, t) in d.triggers.iter_mut().enumerate() {
                    let i = SP_TRIGGER + 3 * q;
                    if let Some(n) = Trigger::from_words([w[i], w[i + 1], w[i + 2]]) {
                        *t = n;
                    }
                }
            }
        }
    }

    fn refuse(&mut self, why: &str) {
        if self.refused_logged != self.p {
            self.refused_logged = self.p;
            self.stats.refusals += 1;
            self.log(&format!("refused: {why}"));
        }
    }

    fn start_data(&mut self, theirs: &Offer, w: &[u32; 64]) -> Result<DataPath, String> {
        let ag = agree(&self.offer, theirs, self.outbound(), self.vm_outbound(w))
            .map_err(|e| format!("cannot agree: {e}"))?;
        let (base, size) = self.my_window();
        let mut hb = [0u8; 64];
        self.c.shm.read(base, &mut hb);
        let got = Header::from_bytes(&hb)
            .validate(size)
            .map_err(|e| format!("bad header ({e})"))?;
        if got != ag.mine {
            return Err(format!("header {got:?} is not the agreement {:?}", ag.mine));
        }
        let mut triggers = Vec::new();
        for q in 0..ag.mine.queues as usize {
            let i = SP_TRIGGER + 3 * q;
            let words = [w[i], w[i + 1], w[i + 2]];
            let t = Trigger::from_words(words)
                .ok_or_else(|| format!("queue {q}: bad trigger {words:x?}"))?;
            match t {
                Trigger::Doorbell { bit } if bit < self.vm_vectors() => {}
                Trigger::Msi {
                    window: 0, offset, ..
                } if (offset as u64) + 4 <= self.vm_window().1 => {}
                _ => return Err(format!("queue {q}: unusable trigger {t:?}")),
            }
            triggers.push(t);
        }
        let queues = (0..ag.mine.queues)
            .map(|_| Queue {
                tx: TxRing::new(&ag.theirs),
                rx: RxRing::new(&ag.mine),
            })
            .collect();
        Ok(DataPath {
            ag,
            queues,
            triggers,
        })
    }

    /// The scratchpad heartbeat.
    pub fn heartbeat(&mut self) {
        if self.ntb_up && self.negotiate {
            self.sp_hb = self.sp_hb.wrapping_add(1);
            self.vm_spad_write(SP_HEARTBEAT, self.sp_hb);
        }
    }

    // --- Data path ----------------------------------------------------------

    /// Raises the victim's interrupt of queue `q`.
    pub fn kick(&mut self, q: usize) {
        let Some(t) = self.data.as_ref().and_then(|d| d.triggers.get(q).copied()) else {
            return;
        };
        self.stats.kicks += 1;
        match t {
            Trigger::Doorbell { bit } => self.ring_vm(bit),
            Trigger::Msi { offset, data, .. } => {
                let (base, _) = self.vm_window();
                self.c.shm.w32(base + offset as u64, data);
            }
        }
    }

    /// Sends one frame on queue `q` with descriptor `flags`; false when the
    /// link is down or the ring is full.
    pub fn send(&mut self, q: usize, frame: &[u8], flags: u32) -> bool {
        let Some(slot) = self.reserve(q, frame.len() as u32) else {
            return false;
        };
        let d = self.data.as_ref().expect("reserved on a data path");
        let (vbase, _) = self.vm_window();
        let theirs = d.ag.theirs;
        self.c
            .shm
            .write(vbase + theirs.data_off(q as u32) + slot.off as u64, frame);
        self.c.shm.write(
            vbase + theirs.desc_off(q as u32, slot.index),
            &slot.desc(flags).to_bytes(),
        );
        self.publish(q);
        self.stats.tx_frames += 1;
        true
    }

    /// Reserves room on queue `q` (completing first).
    pub fn reserve(&mut self, q: usize, len: u32) -> Option<TxSlot> {
        self.complete(q);
        let d = self.data.as_mut()?;
        let slot = d.queues.get_mut(q)?.tx.reserve(len);
        if slot.is_none() {
            self.stats.tx_full += 1;
        }
        slot
    }

    /// Publishes what was reserved on queue `q` and kicks if asked to.
    pub fn publish(&mut self, q: usize) {
        let (mbase, _) = self.my_window();
        let (vbase, _) = self.vm_window();
        let Some(d) = self.data.as_mut() else {
            return;
        };
        let (mine, theirs) = (d.ag.mine, d.ag.theirs);
        let ring = &mut d.queues[q].tx;
        fence(Ordering::SeqCst);
        let prod = ring.publish();
        self.c
            .shm
            .w32(vbase + theirs.queue_base(q as u32) + Q_PROD as u64, prod);
        fence(Ordering::SeqCst);
        let ev = self
            .c
            .shm
            .r32(mbase + mine.queue_base(q as u32) + Q_RX_EVENT as u64);
        if ring.need_notify(ev) {
            self.kick(q);
        }
    }

    /// Reads `cons` and completes queue `q`'s transmissions.
    pub fn complete(&mut self, q: usize) {
        let (mbase, _) = self.my_window();
        let Some(d) = self.data.as_mut() else {
            return;
        };
        let Some(queue) = d.queues.get_mut(q) else {
            return;
        };
        let cons = self
            .c
            .shm
            .r32(mbase + d.ag.mine.queue_base(q as u32) + Q_CONS as u64);
        if !queue.tx.complete(cons) {
            self.stats.bad_cons += 1;
        }
    }

    /// Polls every queue's receive ring; returns the frames received.
    pub fn poll_rx(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let n = self.data.as_ref().map_or(0, |d| d.queues.len());
        for q in 0..n {
            self.poll_queue(q, &mut out);
            // Resend tx kicks a late event may want (the recovery timer).
            let (mbase, _) = self.my_window();
            let Some(d) = self.data.as_mut() else {
                break;
            };
            let ev = self
                .c
                .shm
                .r32(mbase + d.ag.mine.queue_base(q as u32) + Q_RX_EVENT as u64);
            let queue = &mut d.queues[q];
            if queue.tx.in_flight() > 0 && queue.tx.need_notify(ev) {
                self.kick(q);
            }
            self.complete(q);
        }
        out
    }

    fn poll_queue(&mut self, q: usize, out: &mut Vec<Vec<u8>>) {
        let (mbase, _) = self.my_window();
        let (vbase, _) = self.vm_window();
        let Some(d) = self.data.as_mut() else {
            return;
        };
        let (mine, theirs) = (d.ag.mine, d.ag.theirs);
        let qi = q as u32;
        let rx = &mut d.queues[q].rx;
        let prod = self.c.shm.r32(mbase + mine.queue_base(qi) + Q_PROD as u64);
        if rx.available(prod).is_err() {
            self.stats.rx_errors += 1;
            return;
        }
        fence(Ordering::SeqCst);
        let mut took = false;
        while let Some(i) = rx.next_slot() {
            let mut b = [0u8; 16];
            self.c.shm.read(mbase + mine.desc_off(qi, i), &mut b);
            match rx.take(&Desc::from_bytes(&b)) {
                Ok(f) => {
                    let mut frame = vec![0u8; f.len as usize];
                    self.c
                        .shm
                        .read(mbase + mine.data_off(qi) + f.off as u64, &mut frame);
                    self.stats.rx_frames += 1;
                    out.push(frame);
                }
                Err(_) => self.stats.rx_errors += 1,
            }
            took = true;
        }
        if took {
            fence(Ordering::SeqCst);
            let cons = rx.consume();
            self.c
                .shm
                .w32(vbase + theirs.queue_base(qi) + Q_CONS as u64, cons);
            fence(Ordering::SeqCst);
            let ev = self
                .c
                .shm
                .r32(mbase + mine.queue_base(qi) + Q_TX_EVENT as u64);
            let kick = rx.need_notify(ev);
            let next = rx.next;
            self.c
                .shm
                .w32(vbase + theirs.queue_base(qi) + Q_RX_EVENT as u64, next);
            if kick {
                self.kick(q);
            }
        }
    }

    pub fn up(&self) -> bool {
        self.data.is_some()
    }

    pub fn queues(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.queues.len())
    }
}

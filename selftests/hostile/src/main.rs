// SPDX-License-Identifier: GPL-2.0
//! ntbnet-hostile: an ntbnet peer of the project's own, written from
//! Documentation/ring-protocol.md and Documentation/ivshmem-ntb.md, that
//! joins the ivshmem server as a second client (in place of a second VM),
//! brings up a correct link with the ntbnet in the VM, answers ARP and
//! ICMP echo for its address, and attacks the victim on command.
//!
//! The victim commands the attacks over the link itself: an ICMP echo
//! request to the peer's address with `1200 + N` data bytes starts attack
//! N (numbered from 1 as listed by `--list`). The peer answers it, waits
//! a moment (so that the reply is delivered), attacks for the attack's
//! duration and then becomes a correct peer again. See
//! Documentation/testing.md ("The hostile peer").

mod attack;
mod frames;
mod ivshmem;
mod peer;
mod spec;

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use attack::{Attack, ATTACKS};
use frames::Rx;
use peer::{Peer, HEARTBEAT, TICK};

/// Echo data lengths that command attacks.
const COMMAND_BASE: usize = 1200;
/// The echo data length of a status request: answered only when no
/// attack is pending or running.
const STATUS: usize = 1199;
/// Delay between the command's reply and the attack.
const COMMAND_DELAY: Duration = Duration::from_millis(300);

struct Args {
    socket: PathBuf,
    ip: [u8; 4],
    seconds: f64,
    attack: Option<(usize, f64)>,
    slowdown: u32,
}

fn usage() -> ! {
    eprintln!(
        "usage: ntbnet-hostile [--socket PATH] [--ip A.B.C.D] [--seconds S] [--attack NAME@T] [--slowdown N] [--list]\n\
         \n\
         --socket  the ivshmem server's socket (default: $IVSHMEM_SOCKET)\n\
         --ip      the address this peer answers ARP and ICMP echo for (default 10.99.0.2)\n\
         --seconds how long each attack lasts (default 5)\n\
         --attack  also run attack NAME T seconds after the link first came up\n\
         --slowdown how much slower than the test kernel the VM runs; scales the limits\n\
         \x20         for its heartbeats (default: $NTBNET_VM_SLOWDOWN, else 1)\n\
         --list    list the attacks with their command numbers"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        socket: std::env::var_os("IVSHMEM_SOCKET")
            .map(PathBuf::from)
            .unwrap_or_default(),
        ip: [10, 99, 0, 2],
        seconds: 5.0,
        attack: None,
        slowdown: std::env::var("NTBNET_VM_SLOWDOWN")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--socket" => a.socket = PathBuf::from(val()),
            "--ip" => {
                let v: Vec<u8> = val().split('.').filter_map(|x| x.parse().ok()).collect();
                a.ip = v.try_into().unwrap_or_else(|_| usage());
            }
            "--seconds" => a.seconds = val().parse().unwrap_or_else(|_| usage()),
            "--attack" => {
                let v = val();
                let (name, t) = v.split_once('@').unwrap_or((&v, "5"));
                let id = attack::by_name(name).unwrap_or_else(|| usage());
                a.attack = Some((id, t.parse().unwrap_or_else(|_| usage())));
            }
            "--slowdown" => a.slowdown = val().parse().unwrap_or_else(|_| usage()),
            "--list" => {
                for (i, (name, what)) in ATTACKS.iter().enumerate() {
                    println!("{:2} {name:20} {what}", i + 1);
                }
                std::process::exit(0);
            }
            _ => usage(),
        }
    }
    if a.socket.as_os_str().is_empty() {
        usage();
    }
    a
}

/// Waits for an interrupt of this peer or the server's socket, at most
/// `timeout`.
fn wait(p: &Peer, timeout: Duration) {
    let mut fds: Vec<libc::pollfd> =
        p.c.peers
            .get(&p.me)
            .into_iter()
            .flatten()
            .chain(std::iter::empty())
            .map(|fd| libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
    fds.push(libc::pollfd {
        fd: p.c.sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    });
    let ms = timeout.as_millis().min(1000) as libc::c_int;
    // SAFETY: a live array of pollfds of the given length.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
}

fn main() -> ExitCode {
    let args = parse_args();
    let client = match ivshmem::Client::connect(&args.socket) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ntbnet-hostile: {}: {e}", args.socket.display());
            return ExitCode::FAILURE;
        }
    };
    let id = client.id;
    let mac = [0x02, 0x48, 0x4f, 0x53, 0x54, id as u8];
    let mut p = match Peer::new(client, mac, args.ip) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ntbnet-hostile: {e}");
            return ExitCode::FAILURE;
        }
    };
    p.slowdown = args.slowdown.max(1);
    p.log(&format!(
        "peer {id} of the virtual NTB, {} MiB shared, answering {}.{}.{}.{}, heartbeat limits times {}",
        p.c.shm.len() >> 20,
        args.ip[0],
        args.ip[1],
        args.ip[2],
        args.ip[3],
        p.slowdown
    ));
    let seconds = Duration::from_secs_f64(args.seconds);
    let mut next_tick = Instant::now();
    let mut next_hb = Instant::now();
    let mut pending: Option<(usize, Instant)> = None;
    let mut running: Option<Attack> = None;
    let mut first_up: Option<Instant> = None;
    let mut scheduled = args.attack;
    loop {
        if !p.c.poll_server() {
            p.log("server gone");
            return ExitCode::SUCCESS;
        }
        let now = Instant::now();
        if now >= next_hb {
            p.heartbeat();
            next_hb = now + HEARTBEAT;
        }
        if now >= next_tick {
            p.tick();
            next_tick = now + TICK;
        }
        if first_up.is_none() && p.up() {
            first_up = Some(now);
        }
        if let (Some((id, t)), Some(up)) = (scheduled, first_up) {
            if now >= up + Duration::from_secs_f64(t) && running.is_none() {
                scheduled = None;
                pending = Some((id, now));
            }
        }
        if let Some((id, at)) = pending {
            if now >= at && running.is_none() {
                pending = None;
                let mut a = Attack::new(id, seconds);
                a.start(&mut p);
                running = Some(a);
            }
        }
        if let Some(a) = running.as_mut() {
            a.step(&mut p);
            if a.done() {
                a.stop(&mut p);
                running = None;
            }
        }
        let irqs = p.take_irqs();
        let frames = p.poll_rx();
        for f in &frames {
            match frames::parse(f) {
                Rx::ArpRequest {
                    sender_mac,
                    sender_ip,
                    target,
                } if target == p.ip => {
                    p.vm_mac = sender_mac;
                    p.vm_ip = sender_ip;
                    let r = frames::arp_reply(p.mac, p.ip, sender_mac, sender_ip);
                    p.send(0, &r, 0);
                }
                Rx::Echo { dst, data_len } if dst == p.ip => {
                    p.vm_mac = f[6..12].try_into().unwrap_or(p.vm_mac);
                    p.vm_ip = f[26..30].try_into().unwrap_or(p.vm_ip);
                    // Commands and status requests are answered only when
                    // the peer is idle (and then takes the command), so
                    // that the victim can retry until it is.
                    let idle = running.is_none() && pending.is_none();
                    let cmd = data_len.wrapping_sub(COMMAND_BASE);
                    let answer = if (1..=ATTACKS.len()).contains(&cmd) {
                        if idle {
                            p.log(&format!("command: attack {}", ATTACKS[cmd - 1].0));
                            pending = Some((cmd - 1, Instant::now() + COMMAND_DELAY));
                        }
                        idle
                    } else {
                        data_len != STATUS || idle
                    };
                    if let Some(r) = frames::echo_reply(f, p.mac).filter(|_| answer) {
                        p.send(0, &r, 0);
                    }
                }
                _ => {}
            }
        }
        // Sleep only when nothing happened and no attack runs.
        if frames.is_empty() && irqs == 0 && running.is_none() {
            let until = next_tick.min(next_hb);
            wait(
                &p,
                until
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(5)),
            );
        } else if running.is_some() {
            // Attacks step at most every 0.2 ms: the host's two cores are
            // shared with the victim's.
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

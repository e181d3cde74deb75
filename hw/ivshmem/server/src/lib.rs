// SPDX-License-Identifier: GPL-2.0
//! An ivshmem server speaking QEMU's ivshmem server protocol.
//!
//! QEMU VMs started with
//!
//! ```text
//! -chardev socket,path=SOCK,id=ivsh -device ivshmem-doorbell,chardev=ivsh,vectors=N
//! ```
//!
//! connect to this server, receive one shared-memory descriptor and, for
//! every peer (themselves included), one eventfd per interrupt vector.
//! Writing a peer's eventfd for vector `v` raises MSI-X vector `v` in that
//! peer; QEMU does so when the guest writes `(peer << 16) | v` to the
//! doorbell register.  The wire format and the order of the messages are
//! QEMU's (`docs/specs/ivshmem-spec.rst`, `contrib/ivshmem-server`); see
//! [`proto`].
//!
//! The server is a single-threaded `poll(2)` loop over the listening socket
//! and the client sockets ([`Server::run`]).  It creates `vectors` eventfds
//! per peer (`eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)`, as QEMU's
//! `event_notifier_init()` does), and on connection of a new client sends,
//! exactly in QEMU's order:
//!
//! 1. to the new client: protocol version 0, its peer ID, `-1` with the
//!    shared-memory descriptor;
//! 2. to every existing peer: the new ID with each of the new peer's
//!    eventfds, vector 0 first;
//! 3. to the new client: for every existing peer (in order of arrival), its
//!    ID with each of its eventfds;
//! 4. to the new client: its own ID with each of its own eventfds.
//!
//! When a client disconnects (or sends anything at all, which QEMU's server
//! also treats as a disconnect), every remaining peer receives the departed
//! ID without a descriptor and the server closes that peer's eventfds.
//! With `--keep-vectors` ([`Config::keep_vectors`]) the departure is not
//! announced and the eventfds are kept for the next client that gets the
//! ID; the peers that knew the ID are not told it again (QEMU 7.2 corrupts
//! its heap when a departed ID connects again).
//!
//! Differences from QEMU's `ivshmem-server`:
//!
//! * Peer IDs: the lowest free ID in `0..=65535` is assigned, so the first
//!   VM is 0, the second 1, and a VM that restarts after its slot was
//!   freed gets its old ID back.  QEMU's server keeps counting upward from
//!   the last ID it handed out.  When every ID is taken the client is
//!   refused (its connection is closed at once).
//! * Messages are queued per client and written as the socket accepts
//!   them (`POLLOUT`), instead of being dropped when a client's socket
//!   buffer is full.  A client whose queue grows past 65536 messages is
//!   considered stuck and disconnected.
//! * The shared memory is a sealed memfd (or a plain file the caller
//!   names) rather than a POSIX `shm_open()` object, and its size must be a
//!   power of two of at least 4 KiB instead of being rounded up.

pub mod proto;

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Interrupt vectors per peer when none are given.
pub const DEFAULT_VECTORS: u32 = 8;
/// Most interrupt vectors per peer (QEMU's server has the same limit).
pub const MAX_VECTORS: u32 = 64;
/// Number of peer IDs: the doorbell register carries a 16-bit peer ID.
pub const MAX_PEERS: usize = 1 << 16;
/// Smallest accepted shared-memory size (one page).
pub const MIN_SHM_SIZE: u64 = 4096;

/// Messages queued for one client before it is deemed stuck.
const MAX_QUEUED_MSGS: usize = 1 << 16;
/// How long to stop accepting after `accept()` failed (e.g. `EMFILE`).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn invalid_input(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Checks that `size` is usable as an ivshmem BAR: a power of two (PCI BAR
/// sizes are), at least [`MIN_SHM_SIZE`], and representable as `off_t`.
pub fn check_shm_size(size: u64) -> Result<(), String> {
    if !size.is_power_of_two() {
        return Err(format!(
            "shared memory size {size} is not a power of two (ivshmem BAR sizes must be)"
        ));
    }
    if size < MIN_SHM_SIZE {
        return Err(format!(
            "shared memory size {size} is below the minimum of {MIN_SHM_SIZE} bytes"
        ));
    }
    if i64::try_from(size).is_err() {
        return Err(format!("shared memory size {size} is too large"));
    }
    Ok(())
}

/// Reads whatever count a (non-blocking) eventfd holds.
fn drain_eventfd(fd: &OwnedFd) {
    let mut count = 0u64;
    // SAFETY: reads 8 bytes into a live buffer from our eventfd; an empty
    // one fails with EAGAIN, which is fine.
    unsafe {
        libc::read(
            fd.as_raw_fd(),
            (&mut count as *mut u64).cast(),
            core::mem::size_of::<u64>(),
        )
    };
}

/// Creates an eventfd as QEMU's `event_notifier_init()` does.
fn new_eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes no pointers; a non-negative result is a new
    // descriptor owned by nobody else.
    let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    // SAFETY: `fd` is a freshly created, valid descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The memory shared by all peers.
#[derive(Debug)]
pub struct SharedMemory {
    fd: OwnedFd,
    size: u64,
}

impl SharedMemory {
    /// Creates anonymous shared memory with `memfd_create()`, sized and
    /// then sealed against growing, shrinking and further sealing, so no
    /// client can truncate it under the others' mappings.
    pub fn memfd(size: u64) -> io::Result<Self> {
        check_shm_size(size).map_err(invalid_input)?;
        let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
        // SAFETY: the name is a valid NUL-terminated string; a non-negative
        // result is a new descriptor.
        let fd = cvt(unsafe { libc::memfd_create(c"ivshmem".as_ptr(), flags) })?;
        // SAFETY: `fd` is a freshly created, valid descriptor.
        let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        file.set_len(size)?;
        let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
        // SAFETY: F_ADD_SEALS takes an integer argument; `file` is valid.
        cvt(unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) })?;
        Ok(Self {
            fd: file.into(),
            size,
        })
    }

    /// Creates (or truncates) the file `path` and sizes it, so that a tool
    /// on the host can open and inspect the shared memory.  Any previous
    /// contents are discarded: the memory starts zeroed, as a memfd does.
    pub fn file(path: &Path, size: u64) -> io::Result<Self> {
        check_shm_size(size).map_err(invalid_input)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        file.set_len(size)?;
        Ok(Self {
            fd: file.into(),
            size,
        })
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl AsFd for SharedMemory {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Interrupt vectors (eventfds) per peer, `1..=MAX_VECTORS`.
    pub vectors: u32,
    /// Log joins and leaves (and dropped clients) to stderr.
    pub verbose: bool,
    /// Number of peer IDs handed out, `1..=MAX_PEERS`; IDs are
    /// `0..max_peers`.  Only tests want anything but [`MAX_PEERS`].
    pub max_peers: usize,
    /// Keep a departed peer's eventfds for the next client that gets its
    /// ID, and do not announce the departure.  QEMU 7.2's ivshmem frees a
    /// departed peer's eventfd array without forgetting it and writes the
    /// next connect of the same ID into the freed memory (heap corruption,
    /// "malloc_consolidate(): unaligned fastbin chunk detected"), so a VM
    /// that restarts and takes its old ID back must not be announced
    /// again to the QEMUs that knew it: they keep its (same) eventfds.
    pub keep_vectors: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            vectors: DEFAULT_VECTORS,
            verbose: false,
            max_peers: MAX_PEERS,
            keep_vectors: false,
        }
    }
}

/// Wakes a running [`Server`] up and makes [`Server::run`] return.
///
/// Cheap to clone and usable from any thread.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Arc<OwnedFd>);

impl ShutdownHandle {
    /// Asks the server to stop.  Idempotent.
    pub fn shutdown(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to our eventfd.  It can
        // only fail if the counter would overflow, in which case a
        // shutdown is pending anyway.
        unsafe {
            libc::write(self.0.as_raw_fd(), one.as_ptr().cast(), one.len());
        }
    }
}

/// Binds a listening UNIX socket at `path`.
///
/// A stale socket left behind by a previous run is removed first; an
/// existing socket that still accepts connections, or a path that is not
/// a socket at all, is an error.  The returned [`SocketPath`] unlinks the
/// socket again when dropped.
pub fn bind_socket(path: &Path) -> io::Result<(UnixListener, SocketPath)> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => match UnixStream::connect(path) {
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{}: another server is listening there", path.display()),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => fs::remove_file(path)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        },
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: exists and is not a socket", path.display()),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    let meta = fs::symlink_metadata(path)?;
    Ok((
        listener,
        SocketPath {
            path: path.to_owned(),
            dev: meta.dev(),
            ino: meta.ino(),
        },
    ))
}

/// A socket file created by [`bind_socket`]; removed when dropped, unless
/// something else has replaced it meanwhile.
#[derive(Debug)]
pub struct SocketPath {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl SocketPath {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        if let Ok(meta) = fs::symlink_metadata(&self.path) {
            if meta.dev() == self.dev && meta.ino() == self.ino {
                let _ = fs::remove_file(&self.path);
            }
        }
    }
}

/// Lowest-free allocator over `0..limit`.
#[derive(Debug)]
struct IdAllocator {
    words: Vec<u64>,
    limit: usize,
}

impl IdAllocator {
    fn new(limit: usize) -> Self {
        Self {
            words: vec![0; limit.div_ceil(64)],
            limit,
        }
    }

    fn alloc(&mut self) -> Option<u16> {
        let (w, word) = self
            .words
            .iter_mut()
            .enumerate()
            .find(|(_, w)| **w != u64::MAX)?;
        let bit = (!*word).trailing_zeros() as usize;
        let id = w * 64 + bit;
        if id >= self.limit {
            return None;
        }
        *word |= 1 << bit;
        Some(id as u16)
    }

    fn free(&mut self, id: u16) {
        let id = usize::from(id);
        self.words[id / 64] &= !(1 << (id % 64));
    }
}

/// A message waiting to be written to a client.
#[derive(Debug)]
struct Outgoing {
    value: i64,
    fd: Option<Arc<OwnedFd>>,
}

/// A connected client.
#[derive(Debug)]
struct Peer {
    id: u16,
    sock: UnixStream,
    /// Eventfd per vector; shared with queued messages that carry them.
    vectors: Vec<Arc<OwnedFd>>,
    outq: VecDeque<Outgoing>,
    /// Set when the client is gone or misbehaved; removed by `reap()`.
    dead: bool,
    /// The peer IDs this client was given eventfds for (itself included).
    known: Vec<u16>,
}

impl Peer {
    fn push(&mut self, value: i64, fd: Option<Arc<OwnedFd>>, verbose: bool) {
        if self.dead {
            return;
        }
        if self.outq.len() >= MAX_QUEUED_MSGS {
            if verbose {
                log(format_args!(
                    "peer {} is not reading its socket, dropping it",
                    self.id
                ));
            }
            self.dead = true;
            return;
        }
        self.outq.push_back(Outgoing { value, fd });
    }

    /// Writes queued messages until done or the socket is full.
    fn try_flush(&mut self) -> io::Result<()> {
        while let Some(msg) = self.outq.front() {
            let fd = msg.fd.as_ref().map(|fd| fd.as_fd());
            match proto::send_msg(&self.sock, msg.value, fd) {
                Ok(()) => {
                    self.outq.pop_front();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Like `try_flush`, but a failure marks the peer dead.
    fn flush(&mut self, verbose: bool) {
        if self.dead {
            return;
        }
        if let Err(e) = self.try_flush() {
            if verbose {
                log(format_args!("peer {}: send failed: {e}", self.id));
            }
            self.dead = true;
        }
    }
}

fn log(args: std::fmt::Arguments<'_>) {
    eprintln!("ivshmem-server: {args}");
}

fn pollfd(fd: &impl AsRawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    }
}

/// The ivshmem server: shared memory, a listening socket and its peers.
#[derive(Debug)]
pub struct Server {
    listener: UnixListener,
    shm: Arc<OwnedFd>,
    config: Config,
    /// Connected peers in order of arrival.
    peers: Vec<Peer>,
    ids: IdAllocator,
    /// With [`Config::keep_vectors`]: departed peers' eventfds, by ID.
    kept: Vec<(u16, Vec<Arc<OwnedFd>>)>,
    shutdown: ShutdownHandle,
    stop_fds: Vec<OwnedFd>,
    accept_paused_until: Option<Instant>,
}

impl Server {
    /// Creates a server that will accept clients on `listener` and hand
    /// them `shm`.  Nothing happens until [`Server::run`].
    pub fn new(listener: UnixListener, shm: SharedMemory, config: Config) -> io::Result<Self> {
        if !(1..=MAX_VECTORS).contains(&config.vectors) {
            return Err(invalid_input(format!(
                "vectors must be between 1 and {MAX_VECTORS}, not {}",
                config.vectors
            )));
        }
        if !(1..=MAX_PEERS).contains(&config.max_peers) {
            return Err(invalid_input(format!(
                "max_peers must be between 1 and {MAX_PEERS}, not {}",
                config.max_peers
            )));
        }
        listener.set_nonblocking(true)?;
        Ok(Self {
            listener,
            shm: Arc::new(shm.fd),
            ids: IdAllocator::new(config.max_peers),
            kept: Vec::new(),
            config,
            peers: Vec::new(),
            shutdown: ShutdownHandle(Arc::new(new_eventfd()?)),
            stop_fds: Vec::new(),
            accept_paused_until: None,
        })
    }

    /// A handle that makes [`Server::run`] return, from any thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Makes [`Server::run`] return as soon as `fd` becomes readable, e.g.
    /// a `signalfd` for `SIGTERM`.  The descriptor is not read.
    pub fn add_stop_fd(&mut self, fd: OwnedFd) {
        self.stop_fds.push(fd);
    }

    /// Serves clients until shut down (see [`Server::shutdown_handle`] and
    /// [`Server::add_stop_fd`]).  On the way out every client is
    /// disconnected, the remaining ones being told as usual.
    ///
    /// Errors from individual clients never end the loop; only a failing
    /// `poll()` does.
    pub fn run(mut self) -> io::Result<()> {
        let result = self.event_loop();
        if self.config.verbose {
            log(format_args!("shutting down"));
        }
        while let Some(peer) = self.peers.first_mut() {
            peer.dead = true;
            self.reap();
        }
        result
    }

    fn event_loop(&mut self) -> io::Result<()> {
        let mut pfds: Vec<libc::pollfd> = Vec::new();
        loop {
            pfds.clear();
            pfds.push(pollfd(&*self.shutdown.0, libc::POLLIN));
            pfds.extend(self.stop_fds.iter().map(|fd| pollfd(fd, libc::POLLIN)));
            let nstop = pfds.len();

            let mut timeout: libc::c_int = -1;
            let listen_idx = match self.accept_paused_until {
                Some(until) if until > Instant::now() => {
                    let left = until - Instant::now();
                    timeout = left.as_millis() as libc::c_int + 1;
                    None
                }
                _ => {
                    self.accept_paused_until = None;
                    pfds.push(pollfd(&self.listener, libc::POLLIN));
                    Some(pfds.len() - 1)
                }
            };

            let first_peer = pfds.len();
            pfds.extend(self.peers.iter().map(|peer| {
                let mut events = libc::POLLIN;
                if !peer.outq.is_empty() {
                    events |= libc::POLLOUT;
                }
                pollfd(&peer.sock, events)
            }));

            // SAFETY: `pfds` is a live array of `pfds.len()` pollfds.
            let ret = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout) };
            if ret < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }

            if pfds[..nstop].iter().any(|p| p.revents != 0) {
                return Ok(());
            }

            // `self.peers` has not changed since `pfds` was built.
            let verbose = self.config.verbose;
            for (peer, pfd) in self.peers.iter_mut().zip(&pfds[first_peer..]) {
                let gone = libc::POLLIN | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;
                if pfd.revents & gone != 0 {
                    // Clients never talk: input or hang-up means goodbye.
                    peer.dead = true;
                } else if pfd.revents & libc::POLLOUT != 0 {
                    peer.flush(verbose);
                }
            }
            // Departures first, so that a VM reconnecting in the same
            // round gets its old ID back.
            self.reap();

            if let Some(idx) = listen_idx {
                if pfds[idx].revents != 0 {
                    self.accept_all();
                }
            }
        }
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((sock, _)) => {
                    self.add_peer(sock);
                    self.reap();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    log(format_args!("accept: {e}; pausing for {ACCEPT_BACKOFF:?}"));
                    self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    fn add_peer(&mut self, sock: UnixStream) {
        let verbose = self.config.verbose;
        if let Err(e) = sock.set_nonblocking(true) {
            log(format_args!("new client: {e}; closing it"));
            return;
        }
        let Some(id) = self.ids.alloc() else {
            log(format_args!(
                "all {} peer IDs are in use; refusing a new client",
                self.config.max_peers
            ));
            return;
        };
        let kept = self
            .kept
            .iter()
            .position(|(k, _)| *k == id)
            .map(|i| self.kept.swap_remove(i).1);
        let reused = kept.is_some();
        let vectors = match kept.map_or_else(
            || {
                (0..self.config.vectors)
                    .map(|_| new_eventfd().map(Arc::new))
                    .collect::<io::Result<Vec<_>>>()
            },
            Ok,
        ) {
            Ok(v) => v,
            Err(e) => {
                log(format_args!(
                    "cannot create eventfds for peer {id}: {e}; closing it"
                ));
                self.ids.free(id);
                return;
            }
        };
        let mut peer = Peer {
            id,
            sock,
            vectors,
            outq: VecDeque::new(),
            dead: false,
            known: Vec::new(),
        };
        let wire_id = i64::from(id);

        peer.push(proto::PROTOCOL_VERSION, None, verbose);
        peer.push(wire_id, None, verbose);
        peer.push(proto::SHM_MESSAGE, Some(self.shm.clone()), verbose);
        if let Err(e) = peer.try_flush() {
            // As QEMU: a client that is gone before it got its setup is
            // dropped without ever being announced.
            if verbose {
                log(format_args!(
                    "client went away before joining as peer {id}: {e}"
                ));
            }
            self.ids.free(id);
            if reused {
                self.kept.push((id, peer.vectors));
            }
            return;
        }
        if reused {
            // Interrupts rung while the ID was vacant are stale.
            for fd in &peer.vectors {
                drain_eventfd(fd);
            }
        }

        // The new peer to everybody else that does not have its eventfds
        // already (a kept ID's are the ones they were given before)...
        for other in &mut self.peers {
            if other.known.contains(&id) {
                continue;
            }
            for fd in &peer.vectors {
                other.push(wire_id, Some(fd.clone()), verbose);
            }
            other.known.push(id);
            other.flush(verbose);
        }
        // ...everybody else to the new peer...
        for other in &self.peers {
            for fd in &other.vectors {
                peer.push(i64::from(other.id), Some(fd.clone()), verbose);
            }
            peer.known.push(other.id);
        }
        // ...and the new peer to itself.
        for i in 0..peer.vectors.len() {
            let fd = peer.vectors[i].clone();
            peer.push(wire_id, Some(fd), verbose);
        }
        peer.known.push(id);
        peer.flush(verbose);

        self.peers.push(peer);
        if verbose {
            log(format_args!(
                "peer {id} joined ({} connected)",
                self.peers.len()
            ));
        }
    }

    /// Removes dead peers, telling the others, until none is left (telling
    /// may reveal more dead ones).
    fn reap(&mut self) {
        let verbose = self.config.verbose;
        while let Some(idx) = self.peers.iter().position(|p| p.dead) {
            let gone = self.peers.remove(idx);
            self.ids.free(gone.id);
            if self.config.keep_vectors {
                // Not announced: the others keep its eventfds for the
                // client that gets the ID next.
                self.kept.push((gone.id, gone.vectors));
            } else {
                for other in &mut self.peers {
                    other.push(i64::from(gone.id), None, verbose);
                    other.known.retain(|k| *k != gone.id);
                    other.flush(verbose);
                }
            }
            if verbose {
                log(format_args!(
                    "peer {} left ({} connected)",
                    gone.id,
                    self.peers.len()
                ));
            }
            // Dropping `gone` closes its socket and the server's references
            // to its eventfds.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lowest_free() {
        let mut ids = IdAllocator::new(MAX_PEERS);
        assert_eq!(ids.alloc(), Some(0));
        assert_eq!(ids.alloc(), Some(1));
        assert_eq!(ids.alloc(), Some(2));
        ids.free(1);
        assert_eq!(ids.alloc(), Some(1));
        assert_eq!(ids.alloc(), Some(3));
        ids.free(0);
        ids.free(2);
        assert_eq!(ids.alloc(), Some(0));
        assert_eq!(ids.alloc(), Some(2));
    }

    #[test]
    fn ids_cover_16_bits_and_run_out() {
        let mut ids = IdAllocator::new(MAX_PEERS);
        for want in 0..MAX_PEERS {
            assert_eq!(ids.alloc(), Some(want as u16));
        }
        assert_eq!(ids.alloc(), None);
        ids.free(40000);
        assert_eq!(ids.alloc(), Some(40000));
        assert_eq!(ids.alloc(), None);

        let mut small = IdAllocator::new(3);
        assert_eq!(small.alloc(), Some(0));
        assert_eq!(small.alloc(), Some(1));
        assert_eq!(small.alloc(), Some(2));
        assert_eq!(small.alloc(), None);
    }

    #[test]
    fn shm_size_checks() {
        assert!(check_shm_size(4096).is_ok());
        assert!(check_shm_size(1 << 30).is_ok());
        assert!(check_shm_size(1 << 62).is_ok());
        assert!(check_shm_size(0).is_err());
        assert!(check_shm_size(2048).is_err());
        assert!(check_shm_size(3 << 20).is_err());
        assert!(check_shm_size(1 << 63).is_err());
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ivshmem-server-unit-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn memfd_is_sized_and_sealed() {
        let shm = SharedMemory::memfd(1 << 16).unwrap();
        assert_eq!(shm.size(), 1 << 16);
        let file = File::from(shm.fd.try_clone().unwrap());
        assert_eq!(file.metadata().unwrap().len(), 1 << 16);
        let err = file.set_len(1 << 12).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        let err = file.set_len(1 << 17).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        assert!(SharedMemory::memfd(5000).is_err());
    }

    #[test]
    fn shm_file_is_created_and_truncated() {
        let dir = temp_dir("shmfile");
        let path = dir.join("shm");
        fs::write(&path, vec![0xaa; 100_000]).unwrap();
        let shm = SharedMemory::file(&path, 8192).unwrap();
        assert_eq!(shm.size(), 8192);
        let data = fs::read(&path).unwrap();
        assert_eq!(data.len(), 8192);
        assert!(data.iter().all(|&b| b == 0), "old contents survived");
        // Writes through the descriptor show up in the file.
        let file = File::from(shm.fd.try_clone().unwrap());
        std::os::unix::fs::FileExt::write_at(&file, b"hi", 100).unwrap();
        assert_eq!(&fs::read(&path).unwrap()[100..102], b"hi");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bind_socket_replaces_stale_and_refuses_live() {
        let dir = temp_dir("bind");
        let path = dir.join("sock");

        // A stale socket (nobody listening) is replaced.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let (listener, guard) = bind_socket(&path).unwrap();

        // A live one is not.
        let err = bind_socket(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);

        drop(listener);
        drop(guard);
        assert!(!path.exists(), "socket not removed on drop");

        // A regular file is never removed.
        fs::write(&path, b"x").unwrap();
        let err = bind_socket(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"x");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn config_is_validated() {
        let dir = temp_dir("config");
        let shm = || SharedMemory::memfd(4096).unwrap();
        let n = std::cell::Cell::new(0);
        let listener = || {
            n.set(n.get() + 1);
            UnixListener::bind(dir.join(format!("s{}", n.get()))).unwrap()
        };
        for vectors in [0, MAX_VECTORS + 1] {
            let config = Config {
                vectors,
                ..Config::default()
            };
            assert!(Server::new(listener(), shm(), config).is_err());
        }
        let config = Config {
            max_peers: MAX_PEERS + 1,
            ..Config::default()
        };
        assert!(Server::new(listener(), shm(), config).is_err());
        let config = Config {
            vectors: MAX_VECTORS,
            ..Config::default()
        };
        assert!(Server::new(listener(), shm(), config).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }
}

// SPDX-License-Identifier: GPL-2.0
//! Test harness: a [`Server`] running in a thread on a temporary socket,
//! and protocol-speaking test clients with bounded waits everywhere.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use ivshmem_server::proto::{self, Message};
use ivshmem_server::{bind_socket, Config, Server, SharedMemory, ShutdownHandle, SocketPath};

/// Upper bound for any single wait for a message that should arrive.
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// How long "nothing more arrives" is watched for.
pub const QUIET: Duration = Duration::from_millis(50);

pub struct TestServer {
    pub path: PathBuf,
    pub size: u64,
    pub vectors: u32,
    dir: PathBuf,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
    socket: Option<SocketPath>,
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

impl TestServer {
    pub fn start(size: u64, vectors: u32) -> Self {
        Self::start_with(
            size,
            Config {
                vectors,
                ..Config::default()
            },
        )
    }

    pub fn start_with(size: u64, config: Config) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "ivshmem-server-test-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        let path = dir.join("ivshmem.sock");
        let (listener, socket) = bind_socket(&path).unwrap();
        let vectors = config.vectors;
        let server = Server::new(listener, SharedMemory::memfd(size).unwrap(), config).unwrap();
        let handle = server.shutdown_handle();
        let thread = std::thread::spawn(move || server.run());
        Self {
            path,
            size,
            vectors,
            dir,
            handle,
            thread: Some(thread),
            socket: Some(socket),
        }
    }

    /// Connects a client and checks its greeting.
    pub fn connect(&self) -> Client {
        Client::connect(&self.path, self.vectors)
    }

    /// Stops the server and checks that `run()` returned `Ok`.
    pub fn stop(mut self) {
        self.handle.shutdown();
        let result = self
            .thread
            .take()
            .unwrap()
            .join()
            .expect("server thread panicked");
        result.expect("server failed");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        drop(self.socket.take());
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A client speaking the protocol, as QEMU's ivshmem device does.
pub struct Client {
    pub sock: UnixStream,
    pub id: i64,
    pub shm: OwnedFd,
    pub vectors: u32,
    /// Eventfds received per peer ID, in vector order.
    pub peers: BTreeMap<i64, Vec<OwnedFd>>,
}

impl Client {
    pub fn connect(path: &Path, vectors: u32) -> Self {
        Self::handshake(UnixStream::connect(path).unwrap(), vectors)
    }

    /// Reads and checks the greeting on a connected socket.
    pub fn handshake(sock: UnixStream, vectors: u32) -> Self {
        let version = recv(&sock);
        assert_eq!(version.value, proto::PROTOCOL_VERSION, "protocol version");
        assert!(version.fd.is_none(), "version came with a descriptor");
        let id = recv(&sock);
        assert!((0..=65535).contains(&id.value), "bad peer id {}", id.value);
        assert!(id.fd.is_none(), "peer id came with a descriptor");
        let shm = recv(&sock);
        assert_eq!(shm.value, proto::SHM_MESSAGE, "shm message");
        let shm_fd = shm.fd.expect("shm message without descriptor");
        Self {
            sock,
            id: id.value,
            shm: shm_fd,
            vectors,
            peers: BTreeMap::new(),
        }
    }

    pub fn recv(&self) -> Message {
        recv(&self.sock)
    }

    /// Expects `vectors` messages announcing peer `id`, each with an fd.
    pub fn expect_join(&mut self, id: i64) {
        for v in 0..self.vectors {
            let msg = self.recv();
            assert_eq!(msg.value, id, "client {}: vector {v} of peer {id}", self.id);
            let fd = msg
                .fd
                .unwrap_or_else(|| panic!("client {}: peer {id} vector {v} without fd", self.id));
            self.peers.entry(id).or_default().push(fd);
        }
        assert_eq!(self.peers[&id].len(), self.vectors as usize);
    }

    /// Expects the message telling that peer `id` left.
    pub fn expect_leave(&mut self, id: i64) {
        let msg = self.recv();
        assert_eq!(msg.value, id, "client {}: expected leave of {id}", self.id);
        assert!(msg.fd.is_none(), "leave of {id} came with a descriptor");
        self.peers.remove(&id);
    }

    /// Asserts that nothing arrives for a short while.
    pub fn expect_quiet(&self) {
        match proto::recv_msg_timeout(&self.sock, QUIET) {
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
            other => panic!("client {}: unexpected {other:?}", self.id),
        }
    }

    /// Rings vector `v` of peer `id` through the eventfd we received.
    pub fn ring(&self, id: i64, v: usize) {
        write_eventfd(&self.peers[&id][v], 1);
    }

    /// Reads our own eventfd for vector `v`; `None` if not signalled.
    pub fn take_irq(&self, v: usize) -> Option<u64> {
        read_eventfd(&self.peers[&self.id][v])
    }
}

pub fn recv(sock: &UnixStream) -> Message {
    proto::recv_msg_timeout(sock, TIMEOUT)
        .expect("receiving from the server")
        .expect("server closed the connection")
}

pub fn write_eventfd(fd: &OwnedFd, value: u64) {
    let buf = value.to_ne_bytes();
    // SAFETY: writes 8 bytes from a live buffer to a valid descriptor.
    let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    assert_eq!(n, 8, "eventfd write: {}", io::Error::last_os_error());
}

/// Non-blocking read of an eventfd (the server creates them with
/// `EFD_NONBLOCK`, which the received descriptors share).
pub fn read_eventfd(fd: &OwnedFd) -> Option<u64> {
    let mut buf = [0u8; 8];
    // SAFETY: reads at most 8 bytes into a live buffer.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        let err = io::Error::last_os_error();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "eventfd read: {err}");
        return None;
    }
    assert_eq!(n, 8);
    Some(u64::from_ne_bytes(buf))
}

/// A shared mapping of a descriptor.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    pub fn new(fd: &impl AsFd, len: usize) -> Self {
        // SAFETY: a fresh shared mapping; the kernel picks the address.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_fd().as_raw_fd(),
                0,
            )
        };
        assert_ne!(
            ptr,
            libc::MAP_FAILED,
            "mmap: {}",
            io::Error::last_os_error()
        );
        Self {
            ptr: ptr.cast(),
            len,
        }
    }

    pub fn write(&self, off: usize, value: u8) {
        assert!(off < self.len);
        // SAFETY: `off` is inside the mapping; volatile because another
        // mapping of the same memory is read independently.
        unsafe { ptr::write_volatile(self.ptr.add(off), value) }
    }

    pub fn read(&self, off: usize) -> u8 {
        assert!(off < self.len);
        // SAFETY: as in `write`.
        unsafe { ptr::read_volatile(self.ptr.add(off)) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

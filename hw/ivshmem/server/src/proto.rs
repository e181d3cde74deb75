// SPDX-License-Identifier: GPL-2.0
//! Wire format of QEMU's ivshmem server protocol.
//!
//! Every message on the UNIX stream socket is one little-endian `int64`,
//! optionally accompanied by exactly one file descriptor passed as
//! `SCM_RIGHTS` ancillary data (QEMU `docs/specs/ivshmem-spec.rst`).
//!
//! The server sends, in this order, to a client that connects:
//!
//! 1. [`PROTOCOL_VERSION`] without a descriptor;
//! 2. the client's own peer ID without a descriptor;
//! 3. [`SHM_MESSAGE`] (`-1`) with the shared-memory descriptor;
//! 4. any number of peer messages: a peer ID with an eventfd announces one
//!    more interrupt vector of that peer (vectors are numbered by arrival
//!    order, per peer), a peer ID without a descriptor announces that the
//!    peer left.
//!
//! Clients never send anything; the server treats any input, or hang-up,
//! on a client socket as a disconnect.
//!
//! Both directions are implemented here: [`send_msg`] is what the server
//! uses, [`recv_msg`] / [`recv_msg_timeout`] are for clients (the tests, or
//! a future Rust client).

use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::time::{Duration, Instant};

/// Protocol version sent as the very first message.
pub const PROTOCOL_VERSION: i64 = 0;

/// Value of the message that carries the shared-memory descriptor.
pub const SHM_MESSAGE: i64 = -1;

/// Size of one message on the wire.
pub const MSG_SIZE: usize = mem::size_of::<i64>();

/// Most descriptors accepted in one `recvmsg()` before we call it a
/// protocol error; room for a few so that excess ones are received and
/// closed rather than silently truncated.
const MAX_RECV_FDS: usize = 4;

/// One protocol message.
#[derive(Debug)]
pub struct Message {
    /// The little-endian `int64` payload.
    pub value: i64,
    /// The descriptor passed along with it, if any.
    pub fd: Option<OwnedFd>,
}

/// Control-message buffer, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// `CMSG_SPACE()` for `n` descriptors.
fn cmsg_space(n: usize) -> usize {
    let len = (n * mem::size_of::<RawFd>()) as libc::c_uint;
    // SAFETY: CMSG_SPACE only does arithmetic on its argument.
    unsafe { libc::CMSG_SPACE(len) as usize }
}

/// `CMSG_LEN()` for `n` descriptors.
fn cmsg_len(n: usize) -> usize {
    let len = (n * mem::size_of::<RawFd>()) as libc::c_uint;
    // SAFETY: CMSG_LEN only does arithmetic on its argument.
    unsafe { libc::CMSG_LEN(len) as usize }
}

/// Sends one message, with `fd` attached if given.
///
/// Uses `MSG_NOSIGNAL`, so a peer that went away yields `EPIPE` instead of
/// killing the process with `SIGPIPE`.  On a non-blocking socket a full
/// send buffer yields [`io::ErrorKind::WouldBlock`] and nothing was sent.
/// An 8-byte message on a UNIX stream socket is never split by the kernel;
/// should a short write ever happen it is reported as
/// [`io::ErrorKind::WriteZero`] because the stream is then unusable.
pub fn send_msg(sock: &impl AsFd, value: i64, fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
    let mut payload = value.to_le_bytes();
    let mut iov = libc::iovec {
        iov_base: payload.as_mut_ptr().cast(),
        iov_len: payload.len(),
    };
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: msghdr is a plain C struct for which all-zeroes is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = cmsg_space(1) as _;
        // SAFETY: msg_control points at a zeroed, suitably aligned buffer
        // of at least CMSG_SPACE(sizeof(int)) bytes (64 > 24), so the first
        // header exists and its data area has room for one int.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = cmsg_len(1) as _;
            ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd.as_raw_fd());
        }
    }
    loop {
        // SAFETY: msg and everything it points to (iov, payload, cbuf) are
        // live for the duration of the call; the socket fd is borrowed.
        let ret = unsafe { libc::sendmsg(sock.as_fd().as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if ret < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if ret as usize != MSG_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write of {ret} bytes on ivshmem socket"),
            ));
        }
        return Ok(());
    }
}

/// Outcome of one `recvmsg()` call.
struct Chunk {
    len: usize,
    fds: Vec<OwnedFd>,
}

/// One `recvmsg()` into `buf`, collecting any `SCM_RIGHTS` descriptors.
fn recv_chunk(sock: &impl AsFd, buf: &mut [u8]) -> io::Result<Chunk> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = CmsgBuf([0; 64]);
    debug_assert!(cmsg_space(MAX_RECV_FDS) <= cbuf.0.len());
    // SAFETY: msghdr is a plain C struct for which all-zeroes is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cmsg_space(MAX_RECV_FDS) as _;
    let ret = loop {
        // SAFETY: msg points at live buffers (buf via iov, cbuf) whose sizes
        // are given in iov_len and msg_controllen.
        let ret =
            unsafe { libc::recvmsg(sock.as_fd().as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if ret < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        break ret as usize;
    };

    let mut fds = Vec::new();
    // SAFETY: the kernel filled msg_control/msg_controllen; CMSG_FIRSTHDR
    // and CMSG_NXTHDR stay within that area and return NULL past its end.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: cmsg is non-null and points inside cbuf (see above).
        let hdr = unsafe { ptr::read_unaligned(cmsg) };
        if hdr.cmsg_level == libc::SOL_SOCKET && hdr.cmsg_type == libc::SCM_RIGHTS {
            let data_len = (hdr.cmsg_len as usize).saturating_sub(cmsg_len(0));
            let n = data_len / mem::size_of::<RawFd>();
            // SAFETY: CMSG_DATA of a valid header; the kernel wrote `n`
            // ints there (cmsg_len says so) and they are new descriptors
            // now owned by this process, so wrapping each in an OwnedFd
            // exactly once is sound.
            unsafe {
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                for i in 0..n {
                    let raw = ptr::read_unaligned(data.add(i));
                    fds.push(OwnedFd::from_raw_fd(raw));
                }
            }
        }
        // SAFETY: msg and cmsg are valid as above.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "ancillary data truncated (too many descriptors)",
        ));
    }
    Ok(Chunk { len: ret, fds })
}

/// Receives one message, blocking as the socket does.
///
/// Returns `Ok(None)` on a clean end of stream (no byte of a new message
/// read).  A message carrying more than one descriptor is an
/// [`io::ErrorKind::InvalidData`] error (the descriptors are closed).
pub fn recv_msg(sock: &impl AsFd) -> io::Result<Option<Message>> {
    recv_inner(sock, None)
}

/// Like [`recv_msg`], but waits at most `timeout` for the whole message;
/// fails with [`io::ErrorKind::TimedOut`] if it does not arrive in time.
pub fn recv_msg_timeout(sock: &impl AsFd, timeout: Duration) -> io::Result<Option<Message>> {
    recv_inner(sock, Some(Instant::now() + timeout))
}

/// Waits until `sock` is readable or `deadline` passes.
fn wait_readable(sock: &impl AsFd, deadline: Instant) -> io::Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // Round up so that a sub-millisecond remainder still waits.
        let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
        let mut pfd = libc::pollfd {
            fd: sock.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, count 1.
        let ret = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ret < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        return Ok(ret > 0);
    }
}

fn recv_inner(sock: &impl AsFd, deadline: Option<Instant>) -> io::Result<Option<Message>> {
    let mut buf = [0u8; MSG_SIZE];
    let mut got = 0;
    let mut fds: Vec<OwnedFd> = Vec::new();
    while got < MSG_SIZE {
        if let Some(deadline) = deadline {
            if !wait_readable(sock, deadline)? {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "timed out waiting for an ivshmem message",
                ));
            }
        }
        let chunk = recv_chunk(sock, &mut buf[got..])?;
        fds.extend(chunk.fds);
        if chunk.len == 0 {
            if got == 0 && fds.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "ivshmem socket closed in the middle of a message",
            ));
        }
        got += chunk.len;
    }
    if fds.len() > 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("ivshmem message carried {} descriptors", fds.len()),
        ));
    }
    Ok(Some(Message {
        value: i64::from_le_bytes(buf),
        fd: fds.pop(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn roundtrip_with_and_without_fd() {
        let (a, b) = UnixStream::pair().unwrap();
        let (x, y) = UnixStream::pair().unwrap();
        send_msg(&a, 0x1122_3344_5566_7788, None).unwrap();
        send_msg(&a, -1, Some(x.as_fd())).unwrap();
        send_msg(&a, 7, None).unwrap();

        let m = recv_msg_timeout(&b, Duration::from_secs(2))
            .unwrap()
            .unwrap();
        assert_eq!(m.value, 0x1122_3344_5566_7788);
        assert!(m.fd.is_none());

        let m = recv_msg_timeout(&b, Duration::from_secs(2))
            .unwrap()
            .unwrap();
        assert_eq!(m.value, -1);
        let fd = m.fd.expect("descriptor expected");
        // The received descriptor refers to the same socket as `x`: data
        // written through it arrives at `y`.
        let dup = UnixStream::from(fd);
        send_msg(&dup, 42, None).unwrap();
        assert_eq!(
            recv_msg_timeout(&y, Duration::from_secs(2))
                .unwrap()
                .unwrap()
                .value,
            42
        );

        // The descriptor is not merged into the following message.
        let m = recv_msg_timeout(&b, Duration::from_secs(2))
            .unwrap()
            .unwrap();
        assert_eq!(m.value, 7);
        assert!(m.fd.is_none());
    }

    #[test]
    fn wire_format_is_little_endian_int64() {
        let (a, b) = UnixStream::pair().unwrap();
        send_msg(&a, 0x0102, None).unwrap();
        let mut raw = [0u8; 8];
        std::io::Read::read_exact(&mut &b, &mut raw).unwrap();
        assert_eq!(raw, [2, 1, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn eof_and_timeout() {
        let (a, b) = UnixStream::pair().unwrap();
        let err = recv_msg_timeout(&b, Duration::from_millis(20)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        drop(a);
        assert!(recv_msg_timeout(&b, Duration::from_secs(2))
            .unwrap()
            .is_none());
    }

    #[test]
    fn partial_message_then_eof_is_an_error() {
        let (a, b) = UnixStream::pair().unwrap();
        std::io::Write::write_all(&mut &a, &[1, 2, 3]).unwrap();
        drop(a);
        let err = recv_msg_timeout(&b, Duration::from_secs(2)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn send_to_closed_peer_is_epipe_not_sigpipe() {
        // The test harness ignores SIGPIPE, and an ignored signal would be
        // discarded unseen; a blocked one stays pending, so block it in
        // this thread and check that none was raised.
        // SAFETY: sigset_t is plain data; the sig* calls only touch `set`
        // and this thread's signal mask.
        unsafe {
            let mut set: libc::sigset_t = mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
            assert_eq!(
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, ptr::null_mut()),
                0
            );
        }
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        let err = send_msg(&a, 1, None).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPIPE));
        // SAFETY: as above; sigtimedwait with a zero timeout only consumes
        // a pending SIGPIPE of this thread, if any.
        let raised = unsafe {
            let mut set: libc::sigset_t = mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
            let zero = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            libc::sigtimedwait(&set, ptr::null_mut(), &zero) == libc::SIGPIPE
        };
        assert!(!raised, "send_msg raised SIGPIPE");
    }
}

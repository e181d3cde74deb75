// SPDX-License-Identifier: GPL-2.0
//! The `ivshmem-server` binary: start-up, serving, clean exit on signals.

mod common;

use std::fs;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{Client, Mapping};

const BIN: &str = env!("CARGO_BIN_EXE_ivshmem-server");

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ivshmem-server-cli-{}-{tag}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir(&dir).unwrap();
    dir
}

/// Held while a test creates a process or holds a listener it means to
/// leave stale. The tests run in parallel threads, and a child forked by
/// one of them keeps every descriptor of the test process until its
/// `exec` closes it (close-on-exec): a listener bound at that moment lives
/// on in the child for a while, so the "stale" socket of
/// `serves_and_exits_cleanly_on_sigterm` can be live: its server refuses
/// the path, or the test's client connects to the child's copy and is
/// reset when the `exec` closes it (seen: "receiving from the server:
/// Connection reset by peer" in the handshake, 2 runs of 200 on a busy
/// machine).
static FORK: Mutex<()> = Mutex::new(());

fn fork_lock() -> MutexGuard<'static, ()> {
    FORK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `cmd.output()` with no listener of another test open meanwhile.
fn output(cmd: &mut Command) -> Output {
    let _fork = fork_lock();
    cmd.output().unwrap()
}

/// Kills the child on drop so a failing test leaves nothing behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Running {
    let _fork = fork_lock();
    Running(
        Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Waits until a client can connect (the socket replaces any stale one).
fn wait_listening(path: &Path, vectors: u32) -> Client {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Ok(sock) = std::os::unix::net::UnixStream::connect(path) {
            return Client::handshake(sock, vectors);
        }
        assert!(Instant::now() < deadline, "server did not start listening");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal_and_wait(child: &mut Running, sig: libc::c_int) -> ExitStatus {
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.0.id() as libc::pid_t, sig) }, 0);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "server did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn serves_and_exits_cleanly_on_sigterm() {
    let dir = temp_dir("term");
    let sock = dir.join("ivsh.sock");
    // A stale socket from an earlier run is replaced.
    {
        let _fork = fork_lock();
        drop(UnixListener::bind(&sock).unwrap());
    }
    let mut child = spawn(&[
        "--socket",
        sock.to_str().unwrap(),
        "--size",
        "64K",
        "--vectors",
        "2",
        "--verbose",
    ]);
    let mut c0 = wait_listening(&sock, 2);
    assert_eq!(c0.id, 0);
    c0.expect_join(0);
    let mut c1 = Client::connect(&sock, 2);
    assert_eq!(c1.id, 1);
    c0.expect_join(1);
    c1.expect_join(0);
    c1.expect_join(1);
    c0.ring(1, 1);
    assert_eq!(c1.take_irq(1), Some(1));
    drop(c1);
    c0.expect_leave(1);

    let status = signal_and_wait(&mut child, libc::SIGTERM);
    assert!(status.success(), "exit status {status:?}");
    assert!(!sock.exists(), "socket left behind");
    let mut log = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut log).unwrap();
    for line in ["peer 0 joined", "peer 1 joined", "peer 1 left"] {
        assert!(log.contains(line), "no '{line}' in log:\n{log}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shm_file_is_shared_and_sigint_exits() {
    let dir = temp_dir("shm");
    let sock = dir.join("ivsh.sock");
    let shm = dir.join("shm");
    let mut child = spawn(&[
        "--socket",
        sock.to_str().unwrap(),
        "--size=8192",
        "--shm",
        shm.to_str().unwrap(),
    ]);
    let c0 = wait_listening(&sock, ivshmem_server::DEFAULT_VECTORS);
    assert_eq!(fs::metadata(&shm).unwrap().len(), 8192);
    let map = Mapping::new(&c0.shm, 8192);
    map.write(1000, 0x42);
    // A host-side tool reading the file sees what the peer wrote.
    assert_eq!(fs::read(&shm).unwrap()[1000], 0x42);

    let status = signal_and_wait(&mut child, libc::SIGINT);
    assert!(status.success(), "exit status {status:?}");
    assert!(!sock.exists(), "socket left behind");
    // The file stays for inspection.
    assert_eq!(fs::read(&shm).unwrap()[1000], 0x42);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn refuses_bad_arguments_and_non_socket_paths() {
    let dir = temp_dir("bad");
    let sock = dir.join("ivsh.sock");
    let out = output(Command::new(BIN).args(["--socket", sock.to_str().unwrap(), "--size", "3M"]));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a power of two"), "{err}");
    assert!(!sock.exists());

    // A regular file where the socket should go is left alone.
    fs::write(&sock, b"keep").unwrap();
    let out = output(Command::new(BIN).args(["--socket", sock.to_str().unwrap(), "--size", "4K"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a socket"));
    assert_eq!(fs::read(&sock).unwrap(), b"keep");

    let out = output(Command::new(BIN).arg("--help"));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Usage: ivshmem-server --socket PATH"));
    fs::remove_dir_all(&dir).unwrap();
}

// SPDX-License-Identifier: GPL-2.0
//! `ivshmem-server`: command-line front end of the [`ivshmem_server`]
//! library.
//!
//! Creates the shared memory, binds the socket (replacing a stale one),
//! serves QEMU `ivshmem-doorbell` clients in the foreground until `SIGINT`,
//! `SIGTERM` or `SIGHUP`, then removes the socket and exits 0.

use std::ffi::OsString;
use std::io;
use std::mem;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::ExitCode;
use std::ptr;

use ivshmem_server::{
    bind_socket, check_shm_size, Config, Server, SharedMemory, DEFAULT_VECTORS, MAX_VECTORS,
};

const USAGE: &str = "\
Usage: ivshmem-server --socket PATH --size SIZE [--vectors N] [--shm FILE] [--keep-vectors]
                      [--verbose]

Serve shared memory and doorbell eventfds to QEMU VMs started with
  -chardev socket,path=PATH,id=ivsh -device ivshmem-doorbell,chardev=ivsh,vectors=N

Options:
  --socket PATH   UNIX socket to listen on (a stale one is replaced;
                  removed again on exit)
  --size SIZE     shared memory size in bytes; K, M or G suffix allowed
                  (powers of 1024); must be a power of two, at least 4K
  --vectors N     interrupt vectors per peer, 1..=64 (default 8); should
                  match the devices' vectors=N
  --shm FILE      back the memory with FILE (created or truncated) instead
                  of an anonymous memfd, so host tools can inspect it
  --keep-vectors  do not announce a departed peer; keep its eventfds for
                  the next VM that gets its ID (QEMU 7.2's ivshmem corrupts
                  its heap when a departed ID connects again)
  --verbose, -v   log peers joining and leaving to stderr
  --help, -h      show this help

Peer IDs are the lowest free ones in 0..=65535: the first VM gets 0, a
VM that reconnects after leaving gets its old ID back.  Options may also
be written --option=VALUE.  Stop with SIGINT, SIGTERM or SIGHUP.
";

/// Parsed command line.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    socket: PathBuf,
    size: u64,
    vectors: u32,
    shm: Option<PathBuf>,
    keep_vectors: bool,
    verbose: bool,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Run(Options),
    Help,
}

/// Parses a size: decimal bytes, optionally followed by `K`, `M` or `G`
/// (binary multiples, either case), which must satisfy [`check_shm_size`].
fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'k' | b'K') => (&text[..text.len() - 1], 10),
        Some(b'm' | b'M') => (&text[..text.len() - 1], 20),
        Some(b'g' | b'G') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "invalid size '{text}': expected a number of bytes, optionally with K, M or G"
        ));
    }
    let size = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("invalid size '{text}': too large"))?;
    check_shm_size(size).map_err(|e| format!("invalid size '{text}': {e}"))?;
    Ok(size)
}

fn parse_vectors(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if text.bytes().all(|b| b.is_ascii_digit()) && (1..=MAX_VECTORS).contains(&n) => {
            Ok(n)
        }
        _ => Err(format!(
            "invalid vector count '{text}': expected 1 to {MAX_VECTORS}"
        )),
    }
}

fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let mut socket = None;
    let mut size = None;
    let mut vectors = DEFAULT_VECTORS;
    let mut shm = None;
    let mut verbose = false;
    let mut keep_vectors = false;

    while let Some(arg) = args.next() {
        let arg_str = arg
            .to_str()
            .ok_or_else(|| format!("unexpected argument '{}'", arg.to_string_lossy()))?;
        let (name, inline) = match arg_str.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(OsString::from(value))),
            _ => (arg_str, None),
        };
        match name {
            "--help" | "-h" => return Ok(Command::Help),
            "--verbose" | "-v" if inline.is_none() => verbose = true,
            "--keep-vectors" if inline.is_none() => keep_vectors = true,
            "--socket" | "--size" | "--vectors" | "--shm" => {
                let value = match inline {
                    Some(value) => value,
                    None => args
                        .next()
                        .ok_or_else(|| format!("option {name} needs a value"))?,
                };
                let text = || {
                    value
                        .to_str()
                        .ok_or_else(|| format!("invalid value for {name}"))
                };
                match name {
                    "--socket" => socket = Some(PathBuf::from(&value)),
                    "--shm" => shm = Some(PathBuf::from(&value)),
                    "--size" => size = Some(parse_size(text()?)?),
                    _ => vectors = parse_vectors(text()?)?,
                }
            }
            _ => return Err(format!("unexpected argument '{arg_str}'")),
        }
    }

    let socket = socket.ok_or("missing --socket PATH")?;
    if socket.as_os_str().is_empty() {
        return Err("empty socket path".into());
    }
    if shm
        .as_ref()
        .is_some_and(|p: &PathBuf| p.as_os_str().is_empty())
    {
        return Err("empty shm file path".into());
    }
    let size = size.ok_or("missing --size SIZE")?;
    Ok(Command::Run(Options {
        socket,
        size,
        vectors,
        shm,
        verbose,
        keep_vectors,
    }))
}

fn with_context(what: impl std::fmt::Display) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Blocks the terminating signals and returns a signalfd reporting them,
/// so that the poll loop sees them and the socket gets cleaned up.
fn termination_signalfd() -> io::Result<OwnedFd> {
    // SAFETY: sigset_t is plain data; the sig* calls only write to `set`
    // and the (single) thread's signal mask; signalfd returns a new
    // descriptor on success, which we then own.
    unsafe {
        let mut set: libc::sigset_t = mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        let err = libc::pthread_sigmask(libc::SIG_BLOCK, &set, ptr::null_mut());
        if err != 0 {
            return Err(io::Error::from_raw_os_error(err));
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Each peer costs `vectors + 1` descriptors (and more in flight), so use
/// the hard limit rather than the usual soft 1024.  Best effort.
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only access the struct we pass.
    unsafe {
        let mut lim: libc::rlimit = mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn run(opts: Options) -> io::Result<()> {
    // Rust already ignores SIGPIPE, and every send uses MSG_NOSIGNAL; be
    // explicit anyway: a client vanishing mid-send must not kill us.
    // SAFETY: installing SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let stop = termination_signalfd().map_err(with_context("signalfd"))?;
    raise_fd_limit();

    let shm = match &opts.shm {
        Some(path) => SharedMemory::file(path, opts.size).map_err(with_context(path.display()))?,
        None => SharedMemory::memfd(opts.size).map_err(with_context("memfd"))?,
    };
    let (listener, socket_path) =
        bind_socket(&opts.socket).map_err(with_context(opts.socket.display()))?;
    let config = Config {
        vectors: opts.vectors,
        verbose: opts.verbose,
        keep_vectors: opts.keep_vectors,
        ..Config::default()
    };
    let mut server = Server::new(listener, shm, config)?;
    server.add_stop_fd(stop);
    if opts.verbose {
        eprintln!(
            "ivshmem-server: listening on {}, shm {} bytes ({}), {} vectors per peer",
            socket_path.path().display(),
            opts.size,
            match &opts.shm {
                Some(path) => path.display().to_string(),
                None => "memfd".to_string(),
            },
            opts.vectors
        );
    }
    let result = server.run();
    drop(socket_path);
    result
}

fn main() -> ExitCode {
    match parse_args(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Run(opts)) => match run(opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ivshmem-server: {e}");
                ExitCode::FAILURE
            }
        },
        Err(msg) => {
            eprintln!("ivshmem-server: {msg}\nTry 'ivshmem-server --help'.");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(OsString::from))
    }

    fn run_opts(args: &[&str]) -> Options {
        match parse(args) {
            Ok(Command::Run(opts)) => opts,
            other => panic!("{args:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn sizes_accepted() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("16m"), Ok(16 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
    }

    #[test]
    fn bad_sizes_rejected() {
        for bad in [
            "",
            "0",
            "1",
            "2048",
            "3000",
            "12M",
            "3K",
            "1.5M",
            "abc",
            "M",
            "-1",
            "+4096",
            " 4096",
            "4096 ",
            "1T",
            "4KB",
            "0x1000",
            "8589934592G",
            "99999999999999999999",
        ] {
            assert!(parse_size(bad).is_err(), "size '{bad}' accepted");
            let err = parse(&["--socket", "/s", "--size", bad]).unwrap_err();
            assert!(err.contains("size"), "unclear message for '{bad}': {err}");
        }
    }

    #[test]
    fn full_command_line() {
        let opts = run_opts(&[
            "--socket",
            "/run/ivsh.sock",
            "--size",
            "4M",
            "--vectors",
            "2",
            "--shm",
            "/dev/shm/x",
            "--keep-vectors",
            "--verbose",
        ]);
        assert_eq!(
            opts,
            Options {
                socket: "/run/ivsh.sock".into(),
                size: 4 << 20,
                vectors: 2,
                shm: Some("/dev/shm/x".into()),
                keep_vectors: true,
                verbose: true,
            }
        );
    }

    #[test]
    fn defaults_and_equals_form() {
        let opts = run_opts(&["--size=1M", "--socket=/tmp/s"]);
        assert_eq!(opts.socket, PathBuf::from("/tmp/s"));
        assert_eq!(opts.size, 1 << 20);
        assert_eq!(opts.vectors, DEFAULT_VECTORS);
        assert_eq!(opts.shm, None);
        assert!(!opts.verbose);
        assert!(!opts.keep_vectors);
        assert_eq!(
            run_opts(&["--size", "1M", "--socket", "s", "--vectors=64"]).vectors,
            64
        );
    }

    #[test]
    fn help() {
        assert_eq!(parse(&["--help"]), Ok(Command::Help));
        assert_eq!(parse(&["--socket", "/s", "-h"]), Ok(Command::Help));
        assert!(USAGE.contains("--socket PATH --size SIZE"));
    }

    #[test]
    fn bad_command_lines_rejected() {
        for bad in [
            &[][..],
            &["--size", "1M"],
            &["--socket", "/s"],
            &["--socket", "/s", "--size"],
            &["--socket", "", "--size", "1M"],
            &["--socket", "/s", "--size", "1M", "--vectors", "0"],
            &["--socket", "/s", "--size", "1M", "--vectors", "65"],
            &["--socket", "/s", "--size", "1M", "--vectors", "x"],
            &["--socket", "/s", "--size", "1M", "--vectors", "+1"],
            &["--socket", "/s", "--size", "1M", "--shm", ""],
            &["--socket", "/s", "--size", "1M", "--bogus"],
            &["--socket", "/s", "--size", "1M", "extra"],
            &["--socket", "/s", "--size", "1M", "--verbose=yes"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}

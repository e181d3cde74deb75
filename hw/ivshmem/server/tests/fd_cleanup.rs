// SPDX-License-Identifier: GPL-2.0
//! The server closes a departed peer's eventfds (and its socket).
//!
//! Counts this process's open descriptors, which include the server's as
//! it runs in a thread; hence a test binary of its own, with one test.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn departed_peers_resources_are_released() {
    let vectors = 16;
    let server = TestServer::start(4096, vectors);
    let mut watcher = server.connect();
    watcher.expect_join(0);
    let baseline = open_fds();

    for round in 0..3 {
        let mut clients = Vec::new();
        for n in 1..=3 {
            let mut c = server.connect();
            assert_eq!(c.id, n, "round {round}");
            watcher.expect_join(n);
            for id in 0..=n {
                c.expect_join(id);
            }
            clients.push(c);
        }
        // While they are connected, the server holds their sockets and
        // eventfds: more than the clients' and the watcher's own fds.
        assert!(open_fds() >= baseline + 3 * (2 * vectors as usize + 2));
        drop(clients);
        for n in 1..=3 {
            watcher.expect_leave(n);
        }
        // The leave message is sent just before the server drops the
        // peer, so allow it a moment.
        let deadline = Instant::now() + Duration::from_secs(2);
        while open_fds() != baseline {
            assert!(
                Instant::now() < deadline,
                "round {round}: {} descriptors open, {baseline} before",
                open_fds()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    server.stop();
}

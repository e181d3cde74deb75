// SPDX-License-Identifier: GPL-2.0
//! End-to-end protocol tests: the server runs in a thread on a temporary
//! socket and test clients check exactly what QEMU's ivshmem device would
//! receive.

mod common;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;

use common::{Client, Mapping, TestServer, TIMEOUT};
use ivshmem_server::{proto, Config};

#[test]
fn first_client_greeting_and_shm_size() {
    let size = 1 << 20;
    let server = TestServer::start(size, 8);
    let mut c0 = server.connect();
    assert_eq!(c0.id, 0);

    // The shared memory is exactly SIZE bytes and can be mapped whole.
    let meta = std::fs::File::from(c0.shm.try_clone().unwrap())
        .metadata()
        .unwrap();
    assert_eq!(meta.size(), size);
    let map = Mapping::new(&c0.shm, size as usize);
    map.write(size as usize - 1, 0x5a);
    assert_eq!(map.read(size as usize - 1), 0x5a);

    // A lone peer only learns about itself.
    c0.expect_join(0);
    c0.expect_quiet();
    server.stop();
}

#[test]
fn second_client_sequence_doorbell_and_shared_memory() {
    let size = 64 << 10;
    let vectors = 8;
    let server = TestServer::start(size, vectors);
    let mut c0 = server.connect();
    assert_eq!(c0.id, 0);
    c0.expect_join(0);

    let mut c1 = server.connect();
    assert_eq!(c1.id, 1);
    // Existing peer: the newcomer's ID × vectors, each with an fd.
    c0.expect_join(1);
    c0.expect_quiet();
    // Newcomer: the existing peer first, then itself.
    c1.expect_join(0);
    c1.expect_join(1);
    c1.expect_quiet();

    // Doorbell: c0 rings (peer 1, vector 3); it arrives on c1's own
    // eventfd for vector 3 and nowhere else.
    c0.ring(1, 3);
    for v in 0..vectors as usize {
        let got = c1.take_irq(v);
        if v == 3 {
            assert_eq!(got, Some(1), "vector 3 not signalled");
        } else {
            assert_eq!(got, None, "vector {v} signalled");
        }
        assert_eq!(c0.take_irq(v), None, "c0's own vector {v} signalled");
    }
    // And back: c1 rings (peer 0, vector 0).
    c1.ring(0, 0);
    assert_eq!(c0.take_irq(0), Some(1));
    assert_eq!(c1.take_irq(0), None);

    // Shared memory: a byte written through c0's mapping is seen by c1.
    let m0 = Mapping::new(&c0.shm, size as usize);
    let m1 = Mapping::new(&c1.shm, size as usize);
    assert_eq!(m1.read(4321), 0);
    m0.write(4321, 0xa5);
    assert_eq!(m1.read(4321), 0xa5);
    m1.write(size as usize - 1, 0x3c);
    assert_eq!(m0.read(size as usize - 1), 0x3c);

    server.stop();
}

#[test]
fn kept_vectors_are_not_announced_again() {
    let vectors = 3;
    let server = TestServer::start_with(
        4096,
        Config {
            vectors,
            keep_vectors: true,
            ..Config::default()
        },
    );
    let mut c0 = server.connect();
    c0.expect_join(0);
    let mut c1 = server.connect();
    assert_eq!(c1.id, 1);
    c0.expect_join(1);
    c1.expect_join(0);
    c1.expect_join(1);

    // Peer 1 leaves: peer 0 is not told, and keeps ringing its eventfds.
    drop(c1);
    c0.expect_quiet();
    c0.ring(1, 1);

    // The next client gets ID 1 with the same eventfds; peer 0 is not
    // told about it again (QEMU 7.2 would write into freed memory).
    let mut c1b = server.connect();
    assert_eq!(c1b.id, 1);
    c1b.expect_join(0);
    c1b.expect_join(1);
    c0.expect_quiet();
    // What was rung while the ID was vacant is gone...
    assert_eq!(c1b.take_irq(1), None);
    // ...and peer 0's old eventfds reach the new client.
    c0.ring(1, 2);
    assert_eq!(c1b.take_irq(2), Some(1));
    c1b.ring(0, 0);
    assert_eq!(c0.take_irq(0), Some(1));

    // A client that joins later is told about everybody present.
    let mut c2 = server.connect();
    assert_eq!(c2.id, 2);
    c2.expect_join(0);
    c2.expect_join(1);
    c2.expect_join(2);
    c0.expect_join(2);
    c1b.expect_join(2);

    server.stop();
}

#[test]
fn disconnect_is_announced_and_lowest_id_is_reused() {
    let vectors = 4;
    let server = TestServer::start(4096, vectors);
    let mut c0 = server.connect();
    c0.expect_join(0);
    let mut c1 = server.connect();
    assert_eq!(c1.id, 1);
    c0.expect_join(1);
    c1.expect_join(0);
    c1.expect_join(1);

    drop(c1);
    c0.expect_leave(1);
    c0.expect_quiet();

    // The freed ID 1 is handed out again (QEMU's server would give 2).
    let mut c1b = server.connect();
    assert_eq!(c1b.id, 1);
    c0.expect_join(1);
    c1b.expect_join(0);
    c1b.expect_join(1);
    // The new eventfds work.
    c0.ring(1, 2);
    assert_eq!(c1b.take_irq(2), Some(1));

    // Peer 0 leaving frees ID 0, which the next client gets although 1
    // is still taken.
    drop(c0);
    c1b.expect_leave(0);
    let c0b = server.connect();
    assert_eq!(c0b.id, 0);
    c1b.expect_join(0);

    // A client that sends anything is dropped, as by QEMU's server.
    (&c0b.sock).write_all(&[0]).unwrap();
    c1b.expect_leave(0);
    // ...and its connection is closed (reset, since the server leaves
    // the byte unread; possibly after some of the unread setup).
    let mut unread = 0;
    loop {
        match proto::recv_msg_timeout(&c0b.sock, TIMEOUT) {
            Ok(Some(_)) => unread += 1,
            Ok(None) => break,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("connection not closed: {e}"),
        }
        assert!(unread <= 2 * vectors, "connection not closed");
    }
    server.stop();
}

#[test]
fn several_peers_full_mesh() {
    let vectors = 2;
    let server = TestServer::start(8192, vectors);
    let mut clients: Vec<Client> = Vec::new();
    for n in 0..4 {
        let mut c = server.connect();
        assert_eq!(c.id, n);
        for old in clients.iter_mut() {
            old.expect_join(n);
        }
        for old in 0..n {
            c.expect_join(old);
        }
        c.expect_join(n);
        clients.push(c);
    }
    for c in &clients {
        c.expect_quiet();
        assert_eq!(c.peers.keys().copied().collect::<Vec<_>>(), [0, 1, 2, 3]);
    }

    // Every peer can ring every vector of every other peer, and only the
    // targeted vector of the targeted peer fires.
    for from in &clients {
        for to in &clients {
            for v in 0..vectors as usize {
                from.ring(to.id, v);
                for c in &clients {
                    for w in 0..vectors as usize {
                        let hit = c.id == to.id && w == v;
                        assert_eq!(
                            c.take_irq(w),
                            hit.then_some(1),
                            "{} -> ({}, {v}) seen at ({}, {w})",
                            from.id,
                            to.id,
                            c.id
                        );
                    }
                }
            }
        }
    }

    // The middle peer leaves; the rest are told.
    let gone = clients.remove(1);
    drop(gone);
    for c in clients.iter_mut() {
        c.expect_leave(1);
    }
    // A newcomer gets ID 1 and learns the others in order of arrival
    // (0, 2, 3), then itself.
    let mut c = server.connect();
    assert_eq!(c.id, 1);
    for old in clients.iter_mut() {
        old.expect_join(1);
    }
    for msg_peer in [0, 2, 3, 1] {
        c.expect_join(msg_peer);
    }
    c.expect_quiet();
    // And the next one gets 4.
    let c4 = server.connect();
    assert_eq!(c4.id, 4);
    server.stop();
}

#[test]
fn refuses_clients_when_ids_run_out() {
    let server = TestServer::start_with(
        4096,
        Config {
            vectors: 1,
            max_peers: 2,
            ..Config::default()
        },
    );
    let mut c0 = server.connect();
    let mut c1 = server.connect();
    assert_eq!((c0.id, c1.id), (0, 1));
    c0.expect_join(0);
    c0.expect_join(1);

    // No free ID: the connection is closed without a single message.
    let refused = UnixStream::connect(&server.path).unwrap();
    let got = proto::recv_msg_timeout(&refused, TIMEOUT).unwrap();
    assert!(got.is_none(), "refused client got {got:?}");
    c0.expect_quiet();

    // Once a slot is free, it is handed out again.
    c1.expect_join(0);
    c1.expect_join(1);
    drop(c1);
    c0.expect_leave(1);
    let c1b = server.connect();
    assert_eq!(c1b.id, 1);
    server.stop();
}

#[test]
fn clients_vanishing_mid_setup_do_not_hurt() {
    let vectors = 8;
    let server = TestServer::start(4096, vectors);
    let mut watcher = server.connect();
    watcher.expect_join(0);

    // Clients that read their greeting but not the peer messages and go
    // away: announced (the greeting went through), then reported gone.
    for _ in 0..5 {
        let ephemeral = server.connect();
        drop(ephemeral);
        watcher.expect_join(1);
        watcher.expect_leave(1);
    }

    // Clients that disconnect at once: whether they get announced depends
    // on timing, but every announcement is complete and followed by its
    // leave, and the server goes on serving.
    for _ in 0..5 {
        drop(UnixStream::connect(&server.path).unwrap());
    }
    let mut c = server.connect();
    // c's setup: the peers connected at that time, then itself (last).
    while c.peers.get(&c.id).map_or(0, Vec::len) < vectors as usize {
        absorb(&mut c);
    }
    // The watcher sees complete joins, matching leaves, and c's join,
    // recognised by its eventfd reaching c.
    let mut found_c = false;
    while !found_c || watcher.peers.keys().copied().collect::<Vec<_>>() != [0, c.id] {
        let id = absorb(&mut watcher);
        if id == c.id && watcher.peers.get(&id).map_or(0, Vec::len) == vectors as usize {
            watcher.ring(id, 0);
            found_c |= c.take_irq(0) == Some(1);
        }
    }
    watcher.expect_quiet();
    // c is told about ephemeral peers it saw that have left since.
    while c.peers.len() > 2 {
        absorb(&mut c);
    }
    assert_eq!(c.peers.keys().copied().collect::<Vec<_>>(), [0, c.id]);
    c.expect_quiet();

    c.ring(0, 5);
    assert_eq!(watcher.take_irq(5), Some(1));
    server.stop();
}

/// Receives one message into `c.peers`: an fd is the next vector of its
/// peer, no fd is a leave (of a fully announced peer).  Returns the ID.
fn absorb(c: &mut Client) -> i64 {
    let msg = c.recv();
    let vectors = c.vectors as usize;
    match msg.fd {
        Some(fd) => {
            let fds = c.peers.entry(msg.value).or_default();
            assert!(fds.len() < vectors, "too many vectors for {}", msg.value);
            fds.push(fd);
        }
        None => {
            let fds = c.peers.remove(&msg.value);
            assert_eq!(
                fds.map(|f| f.len()),
                Some(vectors),
                "leave of {} without complete join",
                msg.value
            );
        }
    }
    msg.value
}

#[test]
fn slow_reader_gets_everything_in_order() {
    // A peer that does not read for a while must neither block the
    // server nor lose messages: they wait in the server's queue until its
    // socket has room again (QEMU's server would drop them).
    let vectors = 64;
    let rounds = 8;
    let server = TestServer::start(4096, vectors);
    let slow = UnixStream::connect(&server.path).unwrap();
    let mut watcher = server.connect();
    assert_eq!(watcher.id, 1);
    watcher.expect_join(0);
    watcher.expect_join(1);
    for _ in 0..rounds {
        let mut j = server.connect();
        assert_eq!(j.id, 2);
        watcher.expect_join(2);
        j.expect_join(0);
        j.expect_join(1);
        j.expect_join(2);
        drop(j);
        watcher.expect_leave(2);
    }
    // With default socket buffers only about 280 of these fit in the
    // slow peer's socket; the rest wait in the server.
    let mut slow = Client::handshake(slow, vectors);
    assert_eq!(slow.id, 0);
    slow.expect_join(0);
    slow.expect_join(1);
    for _ in 0..rounds {
        slow.expect_join(2);
        slow.expect_leave(2);
    }
    slow.expect_quiet();
    watcher.expect_quiet();
    server.stop();
}

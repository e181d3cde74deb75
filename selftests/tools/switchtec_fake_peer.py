#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A misbehaving second partition for the Switchtec model's test.

Run by `vm.sh --ntb switchtec -n 1 --host-peer`. Connects to partition
0's socket (SWITCHTEC_SOCKET) the way partition 1's QEMU would,
and sends what a broken or hostile peer might: an unknown message type, a
length that does not fit the type, a message before the hello, a bad
hello, a window outside the BAR, a truncated message. After each, QEMU must
close the connection (and log one line saying why, in QEMU_LOG), and stay
up. If one was not dropped or not logged, it exits 1 at once (vm.sh fails
the run). Otherwise it connects properly and rings doorbell 5 every half
second, for the guest to see, until the guest powers off.
"""
import os
import socket
import struct
import sys
import time

SOCK = os.environ["SWITCHTEC_SOCKET"]
QEMU_LOG = os.environ["QEMU_LOG"]

MAGIC, VERSION = 0x4E545357, 1
HELLO, DOORBELL, MESSAGE, WINDOW = 1, 2, 3, 4
MiB = 1 << 20


def msg(mtype, payload, length=None):
    return struct.pack("<II", mtype, len(payload) if length is None else length) + payload


def hello(magic=MAGIC, partition=1):
    return msg(HELLO, struct.pack("<IIIIQQQ", magic, VERSION, partition, 0, 0, 4 * MiB, 2 * MiB))


def connect(deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(SOCK)
            return s
        except OSError:
            s.close()
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def dropped(s, timeout=30):
    """True when QEMU closes the connection (after its own hello)."""
    s.settimeout(timeout)
    try:
        while s.recv(4096):
            pass
        return True
    except (socket.timeout, OSError):
        return False
    finally:
        s.close()


CASES = [
    ("unknown message type", msg(99, b"\0" * 8)),
    ("length that does not fit the type", msg(DOORBELL, b"\0" * 8, length=4000)),
    ("message before the hello", msg(DOORBELL, struct.pack("<Q", 1))),
    ("hello with a bad magic", hello(magic=0xDEADBEEF)),
    ("hello claiming partition 0", hello(partition=0)),
    ("window outside the BAR",
     hello() + msg(WINDOW, struct.pack("<BBBBIQQQQ", 0, 2, 1, 0, 0, 4 * MiB, 64 * 1024, 0x100000, 0))),
    ("second hello", hello() + hello()),
]


def main():
    deadline = time.time() + 240
    failures = []
    for name, data in CASES:
        s = connect(deadline)
        s.sendall(data)
        if not dropped(s):
            failures.append("not dropped: " + name)
    # A truncated message, then the peer goes away: nothing to drop, no crash.
    s = connect(deadline)
    s.sendall(hello() + msg(DOORBELL, struct.pack("<Q", 1))[:7])
    s.close()
    time.sleep(1)
    with open(QEMU_LOG, errors="replace") as f:
        logged = f.read().count("dropping the connection to the peer")
    if logged < len(CASES):
        failures.append("%d drops logged, %d expected" % (logged, len(CASES)))
    print("fake peer: %d malformed connections, %d drops logged, failures: %s"
          % (len(CASES), logged, failures or "none"), flush=True)
    if failures:
        return 1
    # A proper peer: doorbell 5 of partition 0 (its bits 0..27), repeatedly.
    # (Until the guest powers off and its QEMU closes the socket.)
    s = connect(deadline)
    try:
        s.sendall(hello())
        while True:
            s.sendall(msg(DOORBELL, struct.pack("<Q", 1 << 5)))
            time.sleep(0.5)
    except OSError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""
A TLS client for tests/e2e/test_inspect_attack.sh (stdlib only): sends
HTTP/1.1 bytes exactly as given, cut into TLS records as asked, from a chosen
source address, so the inspector sees the reads an attacker would make nginx
do.

    tlsclient.py send SRC DST [--record N]      bytes from stdin, N bytes per
                                                TLS record (0: one write); prints
                                                the number of responses read
    tlsclient.py fdreuse ATTACKER VICTIM DST4 DST6
        a victim and an attacker on one nginx worker: the victim's connection
        closes and the attacker's next one takes its fd; the attacker's attack
        is also cut in two around the victim's request on another connection.
        Prints what it did; responses counted per connection.

    tlsclient.py flood SRC DST N SIZE [M]
        N keep-alive POSTs with a body of SIZE bytes each on one
        connection, then M on a second one (default 0); prints "flooded",
        waits for a line on stdin, then sends the attack on each connection
        and prints the number of responses to it.

SRC/VICTIM/ATTACKER are local addresses (v4 or v6); the certificate is not
checked (a self-signed lab one).
"""
import socket
import ssl
import sys
import time

CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
CTX.set_alpn_protocols(["http/1.1"])


def connect(src, dst):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(5)
    s.bind((src, 0))
    s.connect((dst, 443))
    return CTX.wrap_socket(s)


def send(t, data, record=0):
    if record <= 0:
        t.sendall(data)
        return
    for i in range(0, len(data), record):
        t.sendall(data[i:i + record])  # one TLS record each


def responses(t, want, timeout=5):
    """Reads until want responses' status lines came, or the peer closed."""
    got = b""
    end = time.time() + timeout
    while got.count(b"HTTP/1.1 ") < want and time.time() < end:
        try:
            b = t.recv(65536)
        except (socket.timeout, ssl.SSLError, OSError):
            break
        if not b:
            break
        got += b
    return got.count(b"HTTP/1.1 ")


def get(path, close=False):
    return (f"GET {path} HTTP/1.1\r\nHost: gw\r\n"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n").encode()


ATTACK = "/search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E"


def fdreuse(attacker, victim, dst4, dst6):
    def dst(a):
        return dst6 if ":" in a else dst4

    n = 0
    v1 = connect(victim, dst(victim))
    send(v1, get("/victim-1"))
    n += responses(v1, 1)
    a1 = connect(attacker, dst(attacker))
    send(a1, get("/attacker-1"))
    n += responses(a1, 1)
    send(v1, get("/victim-2"))
    n += responses(v1, 1)
    v1.close()  # its fd is free: the attacker's next connection takes it
    a2 = connect(attacker, dst(attacker))
    v2 = connect(victim, dst(victim))
    # The attack on the reused fd, cut in two around the victim's request.
    req = get(ATTACK, close=True)
    send(a2, req[:20])
    send(v2, get("/victim-3"))
    send(a2, req[20:])
    n += responses(v2, 1)
    n += responses(a2, 1)
    # The victim keeps talking on its connection after the attack.
    send(v2, get("/victim-4", close=True))
    n += responses(v2, 1)
    for t in (a1, a2, v2):
        t.close()
    print(f"responses: {n} (want 6)")
    return 0 if n == 6 else 1


def flood(src, dst, n, size, m=0):
    conns = [(connect(src, dst), n)]
    if m:
        conns.append((connect(src, dst), m))
    for t, k in conns:
        req = (f"POST /flood HTTP/1.1\r\nHost: gw\r\nContent-Length: {size}\r\n\r\n"
               f"{'p' * size}").encode()
        got = 0
        for i in range(0, k, 50):  # in batches: nginx's answers drain meanwhile
            b = min(50, k - i)
            send(t, req * b)
            got += responses(t, b, timeout=30)
        if got != k:
            print(f"flood: {got} of {k} answered", flush=True)
            return 1
    print("flooded", flush=True)
    sys.stdin.readline()
    got = 0
    for t, _ in conns:
        send(t, get(ATTACK, close=True))
        got += responses(t, 1)
        t.close()
    print(got, flush=True)
    return 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "send":
        record = 0
        if len(argv) == 5 and argv[3] == "--record":
            record = int(argv[4])
        data = sys.stdin.buffer.read()
        t = connect(argv[1], argv[2])
        send(t, data, record)
        n = responses(t, data.count(b" HTTP/1.1\r\n"))
        t.close()
        print(n)
        return 0 if n > 0 else 1
    if len(argv) in (5, 6) and argv[0] == "flood":
        return flood(argv[1], argv[2], *map(int, argv[3:]))
    if len(argv) == 5 and argv[0] == "fdreuse":
        return fdreuse(*argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

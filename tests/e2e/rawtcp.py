#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""
A raw-packet TCP client for tests/e2e/test_attack.sh (stdlib only).

It sends hand-built Ethernet/IPv4|IPv6/TCP frames on an AF_PACKET socket and
reads the answers on the same socket, so it can speak from an address no
interface holds (the local kernel then never resets the connection) and send
what no socket API would: bad checksums, data without ACK, old ACKs,
overlapping segments, first fragments, spoofed SYNs and RSTs.

    rawtcp.py --dev eth0 --dmac MAC --src ADDR --sport N --dst ADDR --dport N \
              [--isn N] [--timeout S] STEP...

Each STEP is one argument, its words separated by spaces. Sequence numbers
are relative: data/rst OFF is ISN + 1 + OFF (the first byte of the stream is
OFF 0), an ACK number REL is the peer's ISN + 1 + REL.

  syn [HEX]                 SYN at ISN (with HEX as payload: TCP Fast Open style)
  synack                    wait for the peer's SYN-ACK, learn its ISN
  ack [REL]                 a pure ACK at OFF 0, acking the peer's ISN + 1 + REL
  data OFF HEX [OPT...]     ACK|PSH segment at OFF; OPT: ack=REL (default: what the
                            peer sent so far), noack (no ACK flag), badsum (TCP
                            checksum off by one), frag (IPv4 first fragment, MF),
                            urg=N (URG flag, urgent pointer N)
  rst OFF|far               RST at OFF (far: 2^30 away)
  expect-ack N [SECS]       the peer acknowledges the first N bytes of the stream
  no-ack N [SECS]           ... and here it must not, within SECS (default 1)
  wait-ack N [SECS]         waits up to SECS for that ACK, whether it comes or not
  expect-rst [SECS]         the peer answers with a RST
  synsweep FIRST COUNT HEX  SYNs with payload HEX from source ports FIRST..FIRST+COUNT-1
  flood-build COUNT         builds COUNT SYNs (IPv4) for flood, from the addresses after
                            --src (+1, +2...), 64512 source ports each
  flood COUNT               sends the next COUNT of them from each CPU in turn (building
                            what is missing), as fast as the device takes them
  learn-seq [SECS]          wait for a segment that --src sends to --dst (the local
                            kernel's own connection) and learn its next sequence number
  rst-near DELTA...         RSTs at that learnt sequence number + each DELTA (never 0)
  rst-sweep COUNT           COUNT RSTs spread over the whole sequence space, none at
                            the learnt number

Prints one line per step; exits 1 at the first step whose expectation fails.
"""
import errno
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Conn:
    def __init__(self, a):
        self.dev = a["dev"]
        self.v6 = ":" in a["dst"]
        self.fam = socket.AF_INET6 if self.v6 else socket.AF_INET
        self.src = socket.inet_pton(self.fam, a["src"])
        self.dst = socket.inet_pton(self.fam, a["dst"])
        self.sport = int(a["sport"])
        self.dport = int(a["dport"])
        self.dmac = bytes.fromhex(a["dmac"].replace(":", ""))
        self.isn = int(a["isn"]) if "isn" in a else struct.unpack("!I", os.urandom(4))[0]
        self.timeout = float(a.get("timeout", 3))
        self.peer_isn = None
        self.peer_nxt = None    # what the peer sent so far (its next seq)
        self.acked = None       # highest ACK the peer sent, relative to ISN + 1
        self.learnt = None
        self.flood_frames = []  # flood: built SYN frames
        self.flood_built = self.flood_sent = 0
        self.ipid = 1
        self.open()
        self.smac = self.s.getsockname()[4]

    # --- building ---------------------------------------------------------------
    def tcp(self, seq, ack, flags, payload=b"", badsum=False, sport=None, src=None, urg=0):
        sport = self.sport if sport is None else sport
        src = self.src if src is None else src
        hdr = struct.pack("!HHIIBBHHH", sport, self.dport, seq & 0xFFFFFFFF,
                          ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, urg)
        seg = hdr + payload
        if self.v6:
            pseudo = src + self.dst + struct.pack("!IxxxB", len(seg), socket.IPPROTO_TCP)
        else:
            pseudo = src + self.dst + struct.pack("!xBH", socket.IPPROTO_TCP, len(seg))
        c = csum(pseudo + seg)
        if badsum:
            c = (c + 1) & 0xFFFF or 1
        return seg[:16] + struct.pack("!H", c) + seg[18:]

    def send_seg(self, seg, frag=False, src=None):
        src = self.src if src is None else src
        if self.v6:
            if frag:
                raise SystemExit("frag: IPv4 only")
            ip = struct.pack("!IHBB", 6 << 28, len(seg), socket.IPPROTO_TCP, 64) + src + self.dst
            etype = ETH_P_IPV6
        else:
            self.ipid = (self.ipid + 1) & 0xFFFF
            fl = 0x2000 if frag else 0x4000     # MF, offset 0 | DF
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), self.ipid, fl, 64,
                             socket.IPPROTO_TCP, 0, src, self.dst)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            etype = ETH_P_IP
        self.tx(self.dmac + self.smac + struct.pack("!H", etype) + ip + seg)

    def tx(self, frame):
        """Sends a frame; while the device is busy (ENOBUFS), tries again."""
        end = time.monotonic() + 5
        while True:
            try:
                self.s.send(frame)
                return
            except OSError as e:
                if e.errno != errno.ENOBUFS or time.monotonic() > end:
                    raise
                time.sleep(0.0002)

    def seq(self, off):
        return self.isn + 1 + off

    def ackno(self, rel=None):
        if rel is None:
            return self.peer_nxt if self.peer_nxt is not None else 0
        if self.peer_isn is None:
            raise SystemExit("no SYN-ACK learnt yet")
        return self.peer_isn + 1 + rel

    # --- reading -----------------------------------------------------------------
    def parse(self, frame):
        """(src, dst, sport, dport, seq, ack, flags, payload) of a TCP frame, else None."""
        if len(frame) < 14:
            return None
        etype = struct.unpack("!H", frame[12:14])[0]
        p = frame[14:]
        if etype == ETH_P_IP and not self.v6 and len(p) >= 20:
            ihl = (p[0] & 15) * 4
            if p[9] != socket.IPPROTO_TCP:
                return None
            tot = struct.unpack("!H", p[2:4])[0]
            src, dst, l4 = p[12:16], p[16:20], p[ihl:tot]
        elif etype == ETH_P_IPV6 and self.v6 and len(p) >= 40:
            if p[6] != socket.IPPROTO_TCP:
                return None
            plen = struct.unpack("!H", p[4:6])[0]
            src, dst, l4 = p[8:24], p[24:40], p[40:40 + plen]
        else:
            return None
        if len(l4) < 20:
            return None
        sp, dp, seq, ack, off, flags = struct.unpack("!HHIIBB", l4[:14])
        return src, dst, sp, dp, seq, ack, flags, l4[(off >> 4) * 4:]

    def frames(self, secs):
        """Yields (parsed, outgoing) for TCP frames until secs pass."""
        end = time.monotonic() + secs
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return
            data, addr = self.s.recvfrom(65535)
            t = self.parse(data)
            if t:
                yield t, addr[2] == PACKET_OUTGOING

    def from_peer(self, secs):
        """Segments the peer sends to us (our address and port)."""
        for t, outgoing in self.frames(secs):
            src, dst, sp, dp, seq, ack, flags, payload = t
            if outgoing or src != self.dst or dst != self.src or sp != self.dport or dp != self.sport:
                continue
            if flags & ACK:
                rel = (ack - self.seq(0)) & 0xFFFFFFFF
                if rel < 1 << 31 and (self.acked is None or rel > self.acked):
                    self.acked = rel
            if self.peer_isn is not None and not flags & (SYN | RST):
                end = (seq + len(payload) + (1 if flags & FIN else 0)) & 0xFFFFFFFF
                if ((end - self.peer_nxt) & 0xFFFFFFFF) < 1 << 31:
                    self.peer_nxt = end
            yield seq, ack, flags, payload

    def open(self):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        # Room for the frames of other connections (a flood's answers) in between.
        self.s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
        self.s.bind((self.dev, ETH_P_ALL))

    def reopen(self):
        """A fresh capture socket: what queued up in the old one is gone."""
        self.s.close()
        self.open()

    def flood_build(self, count):
        """Builds count more SYNs for flood (IPv4): from the addresses after
        src (src + 1, + 2...), source ports 1024-65535 each. Only the source
        port and sequence number change within an address: the checksum is
        patched, not recomputed."""
        if self.v6:
            raise SystemExit("flood: IPv4 only")
        base = struct.unpack("!I", self.src)[0]
        eth = self.dmac + self.smac + struct.pack("!H", ETH_P_IP)
        pack, frames = struct.pack, self.flood_frames
        for _ in range(count):
            n = self.flood_built
            block, i = divmod(n, 64512)
            if i == 0 or not frames:
                src = pack("!I", base + 1 + block)
                ip = pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, socket.IPPROTO_TCP, 0,
                          src, self.dst)
                head = eth + ip[:10] + pack("!H", csum(ip)) + ip[12:]
                # the TCP sum without source port and sequence number
                tsum = sum(struct.unpack("!4H", src + self.dst)) + socket.IPPROTO_TCP + 20 + \
                    self.dport + (5 << 12 | SYN) + 65535
            sport, seq = 1024 + i, (0x5EED0000 + n) & 0xFFFFFFFF
            c = tsum + sport + (seq >> 16) + (seq & 0xFFFF)
            c = (c & 0xFFFF) + (c >> 16)
            c = ~((c & 0xFFFF) + (c >> 16)) & 0xFFFF
            frames.append(head + pack("!HHIIBBHHH", sport, self.dport, seq, 0, 5 << 4, SYN,
                                      65535, c, 0))
            self.flood_built += 1
        return "flood-build %d SYNs (%d built, %d to send)" % (count, self.flood_built,
                                                             len(frames) - self.flood_sent)

    def flood(self, count):
        """Sends count SYNs of flood_build (building what is missing) from
        each CPU this process may run on in turn, as fast as the device takes
        them: the host answers on the CPU that sent, so every CPU's share of
        per-CPU tables gets its count, as with a flood spread by RSS."""
        cpus = sorted(os.sched_getaffinity(0))
        missing = self.flood_sent + count * len(cpus) - len(self.flood_frames)
        if missing > 0:
            self.flood_build(missing)
        t = time.monotonic()
        send = self.s.send
        for cpu in cpus:
            os.sched_setaffinity(0, {cpu})
            for f in self.flood_frames[self.flood_sent:self.flood_sent + count]:
                try:
                    send(f)
                except OSError:     # ENOBUFS: the device is busy
                    self.tx(f)
            self.flood_sent += count
        os.sched_setaffinity(0, cpus)
        took = time.monotonic() - t
        self.reopen()   # the answers to the flood, unread: not ours
        return "flood %d SYNs from each of CPUs %s (%d so far) in %.1fs" % (
            count, ",".join(map(str, cpus)), self.flood_sent, took)

    # --- steps ---------------------------------------------------------------------
    def step(self, words):
        op, args = words[0], words[1:]
        if op == "syn":
            payload = bytes.fromhex(args[0]) if args else b""
            self.send_seg(self.tcp(self.isn, 0, SYN, payload))
            return "syn isn=%d payload=%d" % (self.isn, len(payload))
        if op == "synack":
            for seq, ack, flags, _ in self.from_peer(self.timeout):
                if flags & (SYN | ACK) == SYN | ACK:
                    self.peer_isn = seq
                    self.peer_nxt = (seq + 1) & 0xFFFFFFFF
                    return "synack peer_isn=%d acks=%+d" % (seq, (ack - self.seq(0)) & 0xFFFFFFFF)
                if flags & RST:
                    raise Fail("RST instead of SYN-ACK")
            raise Fail("no SYN-ACK within %gs" % self.timeout)
        if op == "ack":
            rel = int(args[0]) if args else 0
            self.send_seg(self.tcp(self.seq(0), self.ackno(rel), ACK))
            return "ack ack=peer_isn+1%+d" % rel
        if op == "data":
            off, payload = int(args[0]), bytes.fromhex(args[1])
            opts = args[2:]
            ack = self.ackno()
            flags = ACK | PSH
            badsum = frag = False
            urg = 0
            for o in opts:
                if o.startswith("ack="):
                    ack = self.ackno(int(o[4:]))
                elif o == "noack":
                    flags &= ~ACK
                    ack = 0
                elif o == "badsum":
                    badsum = True
                elif o == "frag":
                    frag = True
                elif o.startswith("urg="):
                    flags |= URG
                    urg = int(o[4:])
                else:
                    raise SystemExit("data: unknown option " + o)
            self.send_seg(self.tcp(self.seq(off), ack, flags, payload, badsum, urg=urg), frag)
            return "data off=%d len=%d %s" % (off, len(payload), " ".join(opts))
        if op == "rst":
            off = 1 << 30 if args[0] == "far" else int(args[0])
            self.send_seg(self.tcp(self.seq(off), 0, RST))
            return "rst off=%d" % off
        if op in ("expect-ack", "no-ack"):
            n = int(args[0])
            secs = float(args[1]) if len(args) > 1 else (self.timeout if op == "expect-ack" else 1.0)
            if self.acked is None or self.acked < n:
                for _ in self.from_peer(secs):
                    if self.acked is not None and self.acked >= n:
                        break
            got = self.acked is not None and self.acked >= n
            what = "peer acked %s of the stream" % (self.acked if self.acked is not None else "none")
            if got != (op == "expect-ack"):
                raise Fail("%s (wanted %s %d)" % (what, ">=" if got is False else "<", n))
            return "%s %d: %s" % (op, n, what)
        if op == "wait-ack":
            n = int(args[0])
            secs = float(args[1]) if len(args) > 1 else self.timeout
            if self.acked is None or self.acked < n:
                for _ in self.from_peer(secs):
                    if self.acked is not None and self.acked >= n:
                        break
            return "wait-ack %d: peer acked %s of the stream" % (
                n, self.acked if self.acked is not None else "none")
        if op == "expect-rst":
            secs = float(args[0]) if args else self.timeout
            for _, _, flags, _ in self.from_peer(secs):
                if flags & RST:
                    return "expect-rst: got RST"
            raise Fail("no RST within %gs" % secs)
        if op == "synsweep":
            first, count, payload = int(args[0]), int(args[1]), bytes.fromhex(args[2])
            for p in range(first, first + count):
                if not 0 < p < 65536:
                    continue
                isn = struct.unpack("!I", os.urandom(4))[0]
                self.send_seg(self.tcp(isn, 0, SYN, payload, sport=p))
            return "synsweep %d..%d payload=%d" % (first, first + count - 1, len(payload))
        if op == "flood-build":
            return self.flood_build(int(args[0]))
        if op == "flood":
            return self.flood(int(args[0]))
        if op == "learn-seq":
            secs = float(args[0]) if args else self.timeout
            for t, outgoing in self.frames(secs):
                src, dst, sp, dp, seq, ack, flags, payload = t
                if outgoing and src == self.src and dst == self.dst and \
                        sp == self.sport and dp == self.dport and payload:
                    self.learnt = (seq + len(payload)) & 0xFFFFFFFF
                    return "learn-seq next=%d" % self.learnt
            raise Fail("saw no data from the local connection within %gs" % secs)
        if op == "rst-near":
            if self.learnt is None:
                raise SystemExit("rst-near: learn-seq first")
            for d in args:
                if int(d) == 0:
                    raise SystemExit("rst-near: 0 is the exact sequence number")
                self.send_seg(self.tcp(self.learnt + int(d), 0, RST))
            return "rst-near %s" % " ".join(args)
        if op == "rst-sweep":
            if self.learnt is None:
                raise SystemExit("rst-sweep: learn-seq first")
            count = int(args[0])
            step = (1 << 32) // count
            for i in range(count):
                seq = (self.learnt + (1 << 20) + i * step) & 0xFFFFFFFF
                if seq != self.learnt:
                    self.send_seg(self.tcp(seq, 0, RST))
            return "rst-sweep %d RSTs, %d apart, none at the learnt number" % (count, step)
        raise SystemExit("unknown step: " + " ".join(words))


class Fail(Exception):
    pass


def main(argv):
    a = {}
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        a[argv[i][2:]] = argv[i + 1]
        i += 2
    for k in ("dev", "dmac", "src", "sport", "dst", "dport"):
        if k not in a:
            raise SystemExit("usage: see the top of " + sys.argv[0])
    c = Conn(a)
    print("rawtcp %s:%d -> %s:%d" % (a["src"], c.sport, a["dst"], c.dport), flush=True)
    for st in argv[i:]:
        try:
            print(c.step(st.split()), flush=True)
        except Fail as e:
            print("FAIL %s: %s" % (st.split()[0], e), flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

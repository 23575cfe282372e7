# SPDX-License-Identifier: GPL-2.0
"""A whole TLS ClientHello in one handshake record (record version 3.1), for
the e2e tests' byte-exact probes. As a script: its hex, for the version given
(e.g. 0x0303)."""
import os
import struct
import sys


def hello(version):
    ciphers = b"".join(struct.pack("!H", c) for c in (0xc02f, 0xc030, 0xc013, 0x002f, 0x0035))
    groups = struct.pack("!HH", 0x0017, 0x001d)
    ext = struct.pack("!HHH", 10, len(groups) + 2, len(groups)) + groups
    ext += struct.pack("!HHB", 11, 2, 1) + b"\x00"
    body = (struct.pack("!H", version) + os.urandom(32) + b"\x00" +
            struct.pack("!H", len(ciphers)) + ciphers + b"\x01\x00" +
            struct.pack("!H", len(ext)) + ext)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


if __name__ == "__main__":
    print(hello(int(sys.argv[1], 0)).hex())

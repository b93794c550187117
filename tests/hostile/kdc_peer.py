#!/usr/bin/env python3
"""A hostile domain controller for tests/hostile_server.rs: accepts LDAP on 389 (and holds the
connection), and answers Kerberos on TCP port 88 according to CASE. Runs inside a private
network namespace (unshare -rn), so it needs no root and touches no real port.

Usage: kdc_peer.py CASE READY_FILE
Cases: close, huge, garbage, drip, split, flood.
"""
import os
import socket
import sys
import threading
import time

case, ready = sys.argv[1], sys.argv[2]


def listen(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    return s


def read_request(c):
    head = b""
    while len(head) < 4:
        b = c.recv(4 - len(head))
        if not b:
            return None
        head += b
    n = int.from_bytes(head, "big")
    body = b""
    while len(body) < n:
        b = c.recv(n - len(body))
        if not b:
            return None
        body += b
    return body


def kdc_conn(c):
    try:
        if read_request(c) is None:
            return
        if case == "close":
            pass
        elif case == "huge":
            c.sendall((0x7FFFFFF0).to_bytes(4, "big") + b"\x7e" * 1024)
        elif case == "garbage":
            body = b"\x7e\x82\x01\x00" + os.urandom(64)
            c.sendall(len(body).to_bytes(4, "big") + body)
        elif case == "drip":
            for b in (200).to_bytes(4, "big") + b"\x6b" * 200:
                c.sendall(bytes([b]))
                time.sleep(0.5)
        elif case == "split":
            # A KRB-ERROR-shaped reply (APPLICATION 30) of nonsense, one byte per write.
            body = b"\x7e\x03\x02\x01\x05"
            for b in len(body).to_bytes(4, "big") + body:
                c.sendall(bytes([b]))
                time.sleep(0.01)
        elif case == "flood":
            c.sendall((3 << 20).to_bytes(4, "big"))
            chunk = b"\x00" * 65536
            while True:
                c.sendall(chunk)
    except OSError:
        pass
    finally:
        try:
            c.close()
        except OSError:
            pass


def serve(sock, handler):
    while True:
        c, _ = sock.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def ldap_conn(c):
    # Accept and hold: the client reaches Kerberos before it says anything on LDAP.
    try:
        while c.recv(4096):
            pass
    except OSError:
        pass


ldap = listen(389)
kdc = listen(88)
threading.Thread(target=serve, args=(ldap, ldap_conn), daemon=True).start()
threading.Thread(target=serve, args=(kdc, kdc_conn), daemon=True).start()
open(ready, "w").close()
time.sleep(60)

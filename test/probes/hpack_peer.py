#!/usr/bin/env python3
"""HPACK peer for Rapid's tests (python3-hpack). Usage: hpack_peer.py IN.json
IN: {"sets": [[[name, value], ...], ...], "blocks": ["hex", ...]}
Encodes every set with python's encoder (Huffman on, one encoder: the dynamic table carries
over) and decodes every block with python's decoder (likewise). Prints one JSON line:
{"encoded": ["hex", ...], "decoded": [[[name, value], ...], ...]}."""
import json
import sys

import hpack

data = json.load(open(sys.argv[1]))
enc = hpack.Encoder()
encoded = [enc.encode([tuple(f) for f in s], huffman=True).hex() for s in data['sets']]
dec = hpack.Decoder()
decoded = [[list(f) for f in dec.decode(bytes.fromhex(b), raw=False)] for b in data['blocks']]
print(json.dumps({'encoded': encoded, 'decoded': decoded}))

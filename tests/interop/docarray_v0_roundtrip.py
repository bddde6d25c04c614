#!/usr/bin/python3
"""Reads each file docfs exported (proto_formats_test with DOCFS_EXPORT_DIR=DIR) with DocArray
0.21.1's own code and writes it back with DocArray (stream format, no compression) as FILE.docarray,
for the same test to compare with what docfs wrote. Needs ../shared/interop (peers.py).
Usage: docarray_v0_roundtrip.py SHARED_INTEROP_DIR EXPORT_DIR"""
import os, sys
sys.path.insert(0, sys.argv[1])
import peers
peers.use('docarray-v0.21.1')
from docarray import DocumentArray

out = sys.argv[2]
for name in sorted(os.listdir(out)):
    if name.endswith('.docarray') or name.endswith('.json'):
        continue
    stem, comp, kind = name.rsplit('.', 2)
    comp = None if comp == 'none' else comp
    data = open(os.path.join(out, name), 'rb').read()
    da = DocumentArray.from_bytes(data, protocol='protobuf' if kind == 'stream' else kind, compress=comp)
    open(os.path.join(out, name + '.docarray'), 'wb').write(da.to_bytes(protocol='protobuf'))
    print(f'{name}: {len(da)} docs')

#!/usr/bin/env python3
"""docarray_v2_same.py PROTO_DIR A.docs B.docs [ID...]: two DocArray file:// streams (u32
big-endian length + gzip(DocProto), u32 0 at the end) hold equal documents, field by field:
each DocProto is printed by protoc (map entries sorted by key) and compared by id. Without
IDs every document is compared and both must hold the same ids."""
import gzip, struct, subprocess, sys

proto, a, b, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]


def docs(path):
    buf, o, out = open(path, 'rb').read(), 0, {}
    while True:
        (n,) = struct.unpack('>I', buf[o:o + 4])
        o += 4
        if n == 0:
            assert o == len(buf), f'{path}: bytes after the end marker'
            return out
        text = subprocess.run(['protoc', f'-I{proto}', '--decode=docfs.interop.docarray_v2.DocProto',
                               f'{proto}/docarray_v2.proto'], input=gzip.decompress(buf[o:o + n]),
                              capture_output=True, check=True).stdout.decode()
        o += n
        doc_id = text.split('key: "id"', 1)[1].split('text: "', 1)[1].split('"', 1)[0]
        out[doc_id] = text


da, db = docs(a), docs(b)
if not ids:
    assert sorted(da) == sorted(db), (sorted(da), sorted(db))
    ids = sorted(da)
for i in ids:
    assert da[i] == db[i], f'{i} differs:\n{da[i]}\nvs\n{db[i]}'
print(f'{len(ids)} documents equal field by field')

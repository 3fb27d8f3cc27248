"""fsx-style checker: random read, write, truncate and mmap read/write on one file against an in-memory model.

  proof-fsx.py FILE SEED OPS     prints "OK <ops>" or exits 1 naming the first mismatch
"""
import mmap
import os
import random
import sys

path, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
with open(path, 'rb') as f:
    model = bytearray(f.read())
MAX = 600 * 1024
fd = os.open(path, os.O_RDWR)


def fail(i, what):
    print(f'op {i}: {what}')
    sys.exit(1)


for i in range(count):
    op = rng.choice(['read', 'read', 'write', 'write', 'truncate', 'mapread', 'mapwrite'])
    size = len(model)
    if op == 'read':
        off = rng.randrange(0, size + 1)
        n = rng.randrange(0, 70000)
        got = os.pread(fd, n, off)
        if got != bytes(model[off:off + n]):
            fail(i, f'read {n}@{off} of {size}: data differs')
    elif op == 'write':
        off = rng.randrange(0, MAX)
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 9000)))
        os.pwrite(fd, data, off)
        if off > len(model):
            model.extend(bytes(off - len(model)))
        model[off:off + len(data)] = data
    elif op == 'truncate':
        n = rng.randrange(0, MAX)
        os.ftruncate(fd, n)
        del model[n:]
        model.extend(bytes(n - len(model)))
    elif size > 0:
        with mmap.mmap(fd, size) as m:
            off = rng.randrange(0, size)
            n = min(rng.randrange(1, 20000), size - off)
            if op == 'mapread':
                if m[off:off + n] != bytes(model[off:off + n]):
                    fail(i, f'mmap read {n}@{off} of {size}: data differs')
            else:
                data = bytes(rng.getrandbits(8) for _ in range(n))
                m[off:off + n] = data
                m.flush()
                model[off:off + n] = data
    if os.fstat(fd).st_size != len(model):
        fail(i, f'after {op}: size {os.fstat(fd).st_size}, model {len(model)}')
os.close(fd)
with open(path, 'rb') as f:
    if f.read() != bytes(model):
        fail(count, 'final content differs')
print(f'OK {count}')

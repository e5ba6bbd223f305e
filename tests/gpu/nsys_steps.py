#!/usr/bin/env python3
"""Per-step GPU timeline from an nsys SQLite export: steps are cut at a marker kernel (by name), and for the middle
steps it prints the median step span on the GPU, the kernels' busy time per stream, the idle time (no kernel running
on any stream), the number of kernels, and the host's period between graph launches.
Usage: nsys_steps.py FILE.sqlite MARKER_SUBSTRING"""
import sqlite3, sys, statistics as st

db = sqlite3.connect(sys.argv[1])
marker = sys.argv[2].lower()
names = dict(db.execute("select id, value from StringIds"))
# The demangled name (template arguments included: ATen's fused AdamW is a multi_tensor_apply_kernel of an Adam
# functor) is matched and printed.
k = [(s, e, stream, names.get(n, "?")) for s, e, stream, n in
     db.execute("select start, end, streamId, demangledName from CUPTI_ACTIVITY_KIND_KERNEL order by start")]
marks = [i for i, (_, _, _, n) in enumerate(k) if marker in n.lower()]
# A marker may be several kernels in a row (one per parameter group): the first of each run starts a step.
starts = [m for j, m in enumerate(marks) if j == 0 or m != marks[j - 1] + 1]
steps = []
for a, b in zip(starts, starts[1:]):
    ks = k[a:b]
    t0, t1 = ks[0][0], k[b][0]
    busy, idle, last_end = {}, 0, t0
    for s, e, stream, _ in ks:
        busy[stream] = busy.get(stream, 0) + (e - s)
        if s > last_end: idle += s - last_end
        last_end = max(last_end, e)
    steps.append((t1 - t0, idle, len(ks), busy))
mid = steps[len(steps) // 4: 3 * len(steps) // 4] or steps
print(f"steps {len(steps)} (middle {len(mid)}): span {st.median(s[0] for s in mid) / 1e3:.1f} us, "
      f"idle {st.median(s[1] for s in mid) / 1e3:.1f} us, kernels {st.median(s[2] for s in mid):.0f}")
streams = sorted({x for s in mid for x in s[3]})
for x in streams:
    print(f"  stream {x}: busy {st.median(s[3].get(x, 0) for s in mid) / 1e3:.1f} us")
try:
    launches = [s for s, n in db.execute("select start, nameId from CUPTI_ACTIVITY_KIND_RUNTIME order by start")
                if names.get(n, "").startswith("cudaGraphLaunch")]
    if len(launches) > 4:
        gaps = [b - a for a, b in zip(launches, launches[1:])]
        gaps = gaps[len(gaps) // 4: 3 * len(gaps) // 4]
        print(f"  host: {len(launches)} graph launches, median period {st.median(gaps) / 1e3:.1f} us")
except sqlite3.Error as e:
    print("  no runtime table:", e)
# The kernels of one middle step in order (start offset, duration, stream, name), for reading by hand.
if mid:
    a = starts[len(steps) // 2]
    b = starts[len(steps) // 2 + 1]
    t0 = k[a][0]
    with open(sys.argv[1] + ".step.txt", "w") as f:
        for s, e, stream, n in k[a:b]:
            f.write(f"{(s - t0) / 1e3:9.1f} {(e - s) / 1e3:7.1f} {stream:4d} {n[:140]}\n")

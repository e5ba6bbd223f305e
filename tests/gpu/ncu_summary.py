#!/usr/bin/env python3
"""Sums Nsight Compute's raw CSV (--csv --page raw --metrics gpu__time_duration.sum) by kernel name.
Usage: ncu_summary.py FILE.csv [STEPS]   — prints the kernels by total time, per step when STEPS is given."""
import csv, re, sys
from collections import defaultdict
path = sys.argv[1]; steps = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
lines = open(path, encoding='utf-8', errors='replace').read().splitlines()
start = next((i for i, l in enumerate(lines) if l.startswith('"ID"')), None)
if start is None:
    print('no ncu table in', path); print('\n'.join(lines[-5:])); sys.exit(0)
rows = list(csv.reader(lines[start:]))
head = rows[0]
name_col = next(i for i, h in enumerate(head) if h in ('Kernel Name', 'Function Name'))
t_col = next(i for i, h in enumerate(head) if h.startswith('gpu__time_duration'))
unit = rows[1][t_col] if len(rows) > 1 else ''
scale = {'nsecond': 1e-6, 'usecond': 1e-3, 'msecond': 1.0, 'second': 1e3}.get(unit, None)
body = rows[2:] if scale is not None else rows[1:]
scale = scale or 1e-6
total = defaultdict(float); count = defaultdict(int)
for r in body:
    if len(r) <= max(name_col, t_col): continue
    try: v = float(r[t_col].replace(',', ''))
    except ValueError: continue
    n = re.sub(r'\(.*', '', r[name_col])[:90]
    total[n] += v * scale; count[n] += 1
s = sum(total.values())
print(f'{len(body)} kernels, {s:.2f} ms in all ({s/steps:.2f} ms per step over {steps:g} steps; includes model set-up)')
for n, v in sorted(total.items(), key=lambda kv: -kv[1])[:35]:
    print(f'{v/steps:9.3f} ms/step {count[n]/steps:6.1f} launches  {100*v/s:5.1f}%  {n}')

#!/usr/bin/env python3
"""Sums Nsight Compute's raw CSV (--csv --page raw --metrics gpu__time_duration.sum) by kernel name.
Usage: ncu_summary.py FILE.csv [STEPS]   — prints the kernels by total time, per step when STEPS is given.
       ncu_summary.py --last-step FILE.csv — the last training step's kernels in launch order (a step starts at the
       attention mask's comparison, the first kernel of the model's forward), with their count and total time."""
import csv, re, sys
from collections import defaultdict
last_step = len(sys.argv) > 1 and sys.argv[1] == '--last-step'
args = sys.argv[2:] if last_step else sys.argv[1:]
path = args[0]; steps = float(args[1]) if len(args) > 1 else 1.0
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
kernels = []
for r in body:
    if len(r) <= max(name_col, t_col): continue
    try: v = float(r[t_col].replace(',', ''))
    except ValueError: continue
    kernels.append((re.sub(r'\(.*', '', r[name_col])[:90], v * scale))
if last_step:
    marks = [i for i, (n, _) in enumerate(kernels) if 'AUnaryFunctor<long, long, bool' in n]
    step = kernels[marks[-1]:] if marks else kernels
    print(f'last step: {len(step)} kernels, {sum(v for _, v in step) * 1e3:.1f} us')
    for n, v in step: print(f'{v * 1e3:8.2f} us  {n}')
    sys.exit(0)
total = defaultdict(float); count = defaultdict(int)
for n, v in kernels:
    total[n] += v; count[n] += 1
s = sum(total.values())
print(f'{len(kernels)} kernels, {s:.2f} ms in all ({s/steps:.2f} ms per step over {steps:g} steps; includes model set-up)')
for n, v in sorted(total.items(), key=lambda kv: -kv[1])[:35]:
    print(f'{v/steps:9.3f} ms/step {count[n]/steps:6.1f} launches  {100*v/s:5.1f}%  {n}')

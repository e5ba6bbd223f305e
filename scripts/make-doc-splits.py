#!/usr/bin/env python3
"""Writes the long-document data of issue #10's reproduction (docs/RESULTS.md) into OUT:
  hp-paper/{train,dev,test}.jsonl   Hyperpartisan in the paper's split (a copy)
  hp-dedup/{train,dev,test}.jsonl   the same articles de-duplicated by exact text and split anew, stratified by label
  brown/{train,dev,test}.jsonl      Brown's 500 documents, 15 genres, stratified 70/15/15
  pretrain.jsonl                    the pre-training corpus: SOTU + Moby-Dick + Brown's *training* documents only
Usage: make-doc-splits.py HYPERPARTISAN_DIR PONET_DATASETS_DIR OUT   (datasets from `ponet data fetch`)"""
import hashlib, json, os, random, sys
from collections import defaultdict

hp_dir, ds_dir, out = sys.argv[1:4]
def read(p): return [json.loads(l) for l in open(p, encoding='utf-8') if l.strip()]
def write(p, rows):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'w', encoding='utf-8') as f:
        for r in rows: f.write(json.dumps(r, ensure_ascii=False) + '\n')
def stratified(rows, fractions, seed):
    by = defaultdict(list)
    for r in rows: by[r['label']].append(r)
    parts = [[] for _ in fractions]
    rng = random.Random(seed)
    for label in sorted(by):
        group = by[label]; rng.shuffle(group)
        n = len(group); cuts = []; acc = 0.0
        for f in fractions[:-1]:
            acc += f; cuts.append(round(acc * n))
        # every split gets at least one example of a label that has enough of them
        if n >= len(fractions):
            for i in range(len(cuts)):
                lo = (cuts[i - 1] if i else 0) + 1
                cuts[i] = min(max(cuts[i], lo), n - (len(cuts) - i))
        bounds = [0] + cuts + [n]
        for i in range(len(fractions)): parts[i] += group[bounds[i]:bounds[i + 1]]
    for p in parts: rng.shuffle(p)
    return parts

splits = {s: read(f'{hp_dir}/{s}.jsonl') for s in ('train', 'dev', 'test')}
for s, rows in splits.items(): write(f'{out}/hp-paper/{s}.jsonl', [{'text': r['text'], 'label': r['label']} for r in rows])
unique = {}
conflicts = 0
for s in ('train', 'dev', 'test'):
    for r in splits[s]:
        h = hashlib.sha256(r['text'].encode('utf-8')).hexdigest()
        if h in unique and unique[h]['label'] != r['label']: conflicts += 1
        unique.setdefault(h, {'text': r['text'], 'label': r['label']})
rows = [unique[h] for h in sorted(unique)]
tr, dv, te = stratified(rows, [0.8, 0.1, 0.1], seed=0)
for name, part in (('train', tr), ('dev', dv), ('test', te)): write(f'{out}/hp-dedup/{name}.jsonl', part)
print(f'hyperpartisan: {sum(map(len, splits.values()))} articles, {len(rows)} unique texts '
      f'({conflicts} duplicates with a different label kept with their first label); dedup split {len(tr)}/{len(dv)}/{len(te)}')

brown = read(f'{ds_dir}/brown/brown.jsonl')
btr, bdv, bte = stratified([{'text': r['text'], 'label': r['label']} for r in brown], [0.7, 0.15, 0.15], seed=0)
for name, part in (('train', btr), ('dev', bdv), ('test', bte)): write(f'{out}/brown/{name}.jsonl', part)
print(f'brown: {len(brown)} documents, {len({r["label"] for r in brown})} genres; split {len(btr)}/{len(bdv)}/{len(bte)}')

corpus = [{'text': r['text']} for r in read(f'{ds_dir}/sotu/sotu.jsonl')]
corpus += [{'text': r['text']} for r in read(f'{ds_dir}/moby-dick/moby-dick.jsonl')]
corpus += [{'text': r['text']} for r in btr]
write(f'{out}/pretrain.jsonl', corpus)
words = sum(len(r['text'].split()) for r in corpus)
print(f'pre-training corpus: {len(corpus)} documents, {words:,} words (SOTU + Moby-Dick + Brown train)')

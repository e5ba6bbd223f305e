#!/usr/bin/env python3
"""How far a ListOps model is from the cheapest rule: answer by the outermost operator alone (the first token), with
the most frequent value seen for that operator in the training split (MAX -> 9, MIN -> 0, ...). A model that scores
below this rule has not yet learnt to read the first token; the LRA ListOps numbers of the literature sit a little
above it. Also prints the label shares and the label entropy with and without the operator known.
Input: the JSON Lines of `ponet data generate --seed S --count N listops` in the order the trainer splits them.
Usage: listops-baseline.py FILE TRAIN DEV TEST   (e.g. FILE 96000 2000 10000 for
       `ponet lra --set data.dataset=listops:train=96000,dev=2000,test=10000,seed=0`)"""
import collections, json, math, sys

path, n_train, n_dev, n_test = sys.argv[1], *map(int, sys.argv[2:5])
rows = [json.loads(line) for line in open(path, encoding='utf-8') if line.strip()]
if len(rows) < n_train + n_dev + n_test:
    sys.exit(f'{path} has {len(rows)} examples, fewer than {n_train + n_dev + n_test}')

def outer(text):  # the first operator token; parentheses are not tokens
    return next(t for t in text.replace('(', ' ').replace(')', ' ').split() if t.startswith('['))

train = rows[:n_train]
splits = {'train': train, 'dev': rows[n_train:n_train + n_dev],
          'test': rows[n_train + n_dev:n_train + n_dev + n_test]}
by_op = collections.defaultdict(collections.Counter)
for r in train: by_op[outer(r['text'])][r['label']] += 1
rule = {op: c.most_common(1)[0][0] for op, c in by_op.items()}
print('rule (outer operator -> answer):',
      ', '.join(f'{op} -> {v} ({by_op[op][v] / sum(by_op[op].values()):.1%})' for op, v in sorted(rule.items())))
labels = collections.Counter(r['label'] for r in train)
print('label shares in train:', ' '.join(f'{k}:{v / n_train:.3f}' for k, v in sorted(labels.items())))
entropy = lambda c: -sum(v / sum(c.values()) * math.log(v / sum(c.values())) for v in c.values())
cond = sum(sum(c.values()) / n_train * entropy(c) for c in by_op.values())
print(f'label entropy {entropy(labels):.3f} nats; knowing the outer operator {cond:.3f} nats')
for name, split in splits.items():
    hits = sum(rule[outer(r['text'])] == r['label'] for r in split)
    top = labels.most_common(1)[0][0]
    major = sum(r['label'] == top for r in split)
    print(f'{name:5s} {len(split):6d} examples: outer-operator rule {hits / len(split):.2%}, '
          f'majority class ({top}) {major / len(split):.2%}')

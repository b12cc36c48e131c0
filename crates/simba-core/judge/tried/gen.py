#!/usr/bin/env python3
"""Generate in-place swap pairs for the judge (true synonyms + false related-word traps).
Inputs: swaps_same_*.txt, swaps_trap_*.txt  (x|y|domain|tmpl;tmpl...)."""
import glob, json, random, re
random.seed(20261206)
HERE = '/work/judge-data2/'

def load(pattern):
    out = []
    for f in sorted(glob.glob(HERE + pattern)):
        for l in open(f):
            l = l.rstrip('\n')
            if not l.strip() or l.startswith('#'): continue
            p = l.split('|')
            if len(p) != 4 or p[2] == 'skip' or not p[3].strip(): continue
            x, y, dom, t = p
            if x.lower() == y.lower(): continue
            tm = [t.strip() for t in t.split(';') if '{}' in t]
            if tm: out.append((x, y, dom, tm))
    return out

# safe secondary swaps used to build some double-swap variants
SECOND = [("last month", "in the previous month"), ("last year", "in the prior year"),
          ("HR", "human resources"), ("biggest", "largest"), ("nearest", "closest"),
          ("right now", "currently"), ("Show me", "Give me"),
          ("need", "require"), ("kids", "children"), ("buy", "purchase"), ("Q2", "the second quarter"),
          ("customers", "clients"), ("A&E", "the emergency department")]
TIME = [' last month', ' last week', ' yesterday', ' this year', ' last year', ' last quarter',
        ' this quarter', ' in 2023', ' in May', ' in March', ' in June', ' in Q2', ' this month', ' this season', ' last season']

def cap(s):
    return s[0].upper() + s[1:] if s else s

def lowfirst(s):
    if len(s) > 1 and s[0].isupper() and s[1].islower():
        return s[0].lower() + s[1:]
    return s

PREFIX = ["Hey, ", "Quick question: ", "Hi! ", "Can you check: ", "Sorry to bother you, ", "For the weekly report: "]
SUFFIX = [" Thanks!", " thx", " Cheers.", " ty", " Need it for the board deck.", " Thanks in advance."]

def style(a, b, plain_only=False):
    r = random.random()
    if plain_only and 0.70 <= r < 0.85: r = 0.9
    if r < 0.55: return a, b
    if r < 0.70:  # terse lowercase, no question mark
        f = lambda s: lowfirst(s).rstrip('?')
        return f(a), f(b)
    if r < 0.85:
        p = random.choice(PREFIX)
        return p + lowfirst(a), p + lowfirst(b)
    sfx = random.choice(SUFFIX)
    j = lambda s: s + sfx if s[-1] in '?.!' else s + '.' + sfx
    return j(a), j(b)

def reorder(s):
    # move a trailing time phrase to the front: "How many X last week?" -> "Last week, how many X?"
    for t in TIME:
        if s.endswith(t + '?'):
            core = s[:-len(t) - 1]
            return cap(t.strip()) + ', ' + lowfirst(core) + '?'
    return None

def second_swap(tmpl, used):
    cands = []
    for p, q in SECOND:
        if p.lower() in used: continue
        if re.search(r'(?<![\w-])' + re.escape(p) + r'(?![\w-])', tmpl):
            cands.append((p, q))
    return random.choice(cands) if cands else None

def build(entries, label, catbase):
    pairs = []
    for x, y, dom, tms in entries:
        for t in tms:
            a = t.replace('{}', x, 1); b = t.replace('{}', y, 1)
            a, b = cap(a), cap(b)
            variants = [(a, b, catbase)]
            ss = None if re.search(r'\b(Q[1-4]|quarter|Jan|January|last year|last month|prior|previous|year to date|so far this year)\b', x + ' ' + y + ' ' + t.replace('last year', '').replace('last month', '')) and False else second_swap(t, {x.lower(), y.lower()})
            if ss and re.search(r'\b(Q[1-4]|quarter|Jan|January)\b', t + x + y): ss = None
            if ss and (x.lower() in ('last month', 'last year', 'ytd', 'so far this year') or 'previous' in y or 'prior' in y): ss = None
            if ss:
                p, q = ss
                rx = r'(?<![\w-])' + re.escape(p) + r'(?![\w-])'
                b2 = cap(re.sub(rx, q, b, count=1))
                variants.append((a, b2, catbase + '+second_swap'))
            ro = reorder(b)
            if ro: variants.append((a, ro, catbase + '+reorder'))
            for va, vb, cat in variants:
                pairs.append({'swap': (x, y), 'dom': dom, 'a': va, 'b': vb, 'cat': cat})
    return pairs

def norm(s):
    return re.sub(r'[^a-z0-9&]+', ' ', s.lower()).strip()

existing = set()
for f in glob.glob('/work/main/crates/simba-core/judge/pairs/*.jsonl'):
    for l in open(f):
        try: d = json.loads(l)
        except Exception: continue
        existing.add((norm(d['a']), norm(d['b']))); existing.add((norm(d['b']), norm(d['a'])))

def finalize(pairs, target, label):
    random.shuffle(pairs)
    # guarantee coverage: first one pair per swap, then fill
    by = {}
    for p in pairs: by.setdefault(p['swap'], []).append(p)
    chosen, seen = [], set()
    def add(p):
        a, b = style(p['a'], p['b'], '+' in p['cat'])
        if random.random() < 0.5: a, b = b, a
        k = frozenset([norm(a), norm(b)])
        if k in seen or (norm(a), norm(b)) in existing or norm(a) == norm(b): return False
        seen.add(k)
        chosen.append({'a': a, 'b': b, 'same_answer': label, 'category': p['cat'], '_swap': p['swap'], '_dom': p['dom']})
        return True
    for sw, lst in by.items():
        add(lst[0])
    rest = [p for sw, lst in by.items() for p in lst[1:]]
    random.shuffle(rest)
    # prefer plain (non-variant) pairs first, then variants
    rest.sort(key=lambda p: 0 if '+' not in p['cat'] else 1)
    i = 0
    while len(chosen) < target and i < len(rest):
        add(rest[i]); i += 1
    # if still short, re-render existing bases with other styles
    tries = 0
    while len(chosen) < target and tries < 20000:
        add(random.choice(pairs)); tries += 1
    random.shuffle(chosen)
    return chosen

def abbrev_tag(x, y):
    isab = lambda w: bool(re.search(r'\b[A-Z0-9&]{2,}\b', w)) or w in ('vulns', 'creds', 'k8s', 'repo', 'prod', 'config', 'meds', 'subs', 'eps', 'uni', 'prof', 'grads', 'doc', 'env vars', 'merch', 'infosec', 'sq ft')
    return 'inplace_abbrev' if (isab(x) != isab(y)) else 'inplace_synonym'

same = load('swaps_same_*.txt'); traps = load('swaps_trap_*.txt')
sp = build(same, True, 'X'); tp = build(traps, False, 'inplace_trap')
for p in sp: p['cat'] = p['cat'].replace('X', abbrev_tag(*p['swap']))
T = finalize(sp, 1400, True); F = finalize(tp, 700, False)

def write(rows, fn):
    with open(HERE + fn, 'w') as f:
        for r in rows:
            f.write(json.dumps({k: r[k] for k in ('a', 'b', 'same_answer', 'category')}, ensure_ascii=False) + '\n')
write(T, 'train_inplace_same.jsonl'); write(F, 'train_inplace_traps.jsonl')
stats = {
  'true_pairs': len(T), 'true_distinct_swaps': len({r['_swap'] for r in T}), 'true_domains': len({r['_dom'] for r in T}),
  'trap_pairs': len(F), 'trap_distinct_swaps': len({r['_swap'] for r in F}), 'trap_domains': len({r['_dom'] for r in F}),
  'true_categories': {}, 'trap_categories': {},
  'true_swap_entries': len(same), 'trap_swap_entries': len(traps),
  'true_candidates': len(sp), 'trap_candidates': len(tp)}
for r in T: stats['true_categories'][r['category']] = stats['true_categories'].get(r['category'], 0) + 1
for r in F: stats['trap_categories'][r['category']] = stats['trap_categories'].get(r['category'], 0) + 1
json.dump(stats, open(HERE + 'stats.json', 'w'), indent=1)
print(json.dumps(stats, indent=1))

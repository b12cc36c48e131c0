"""Shared helpers for the judge training-data generators.

Only hand-written lexicons live in the gen_*.py files; this module holds the
register/noise transforms (which never change the meaning of a question),
lexicon parsing and the final filtering/writing logic.
"""
import json
import random
import re

# ---------------------------------------------------------------- registers
PREFIXES = [
    "Quick question: ", "Hi, ", "Hey, ", "Hello team, ", "Hi there! ",
    "Question: ", "Hey quick one - ", "Morning! ", "hi ", "Sorry to bother, ",
    "Not urgent, but ", "One more thing: ", "Hey assistant, ", "ok so ",
]
CONTEXTS = [
    "For the board deck tomorrow, ", "My manager just asked me this: ",
    "Sorry if this was asked before, but ", "Before my next meeting, ",
    "I'm putting together a slide, ", "For a report I'm writing, ",
    "Need this for a status update: ", "Following up on yesterday's call, ",
    "Just curious, ", "For my own understanding, ",
    "I'm new here so bear with me, ", "Trying to answer an email, ",
]
SUFFIXES = [
    " Thanks in advance!", " thanks", " Thank you.", " pls", " Cheers.",
    " thx", " Much appreciated.", " Thanks!", " please", " ty",
]
FILLERS = ["um ", "uh so ", "okay so ", "so um ", "right so ", "er ", "so like "]
POLITE = ["Could you please tell me ", "Can you tell me ", "Would you mind telling me ",
          "I'd like to know ", "Please let me know ", "Can you check "]

WH = ("what", "which", "how", "who", "when", "where", "why", "is", "are", "do",
      "does", "did", "can", "should", "was", "were", "has", "have", "list",
      "show", "give")


def lc_first(s):
    if len(s) > 1 and not s[:2].isupper():
        return s[0].lower() + s[1:]
    return s


def strip_end(s):
    return s.rstrip(" ?.!")


def typo(s, rng, protect=()):
    words = s.split()
    prot = set(w.lower() for p in protect for w in p.split())
    cand = [i for i, w in enumerate(words)
            if len(w) >= 6 and w.isalpha() and w.lower() not in prot]
    if not cand:
        return s
    i = rng.choice(cand)
    w = words[i]
    k = rng.randrange(1, len(w) - 2)
    mode = rng.random()
    if mode < 0.5:
        w = w[:k] + w[k + 1] + w[k] + w[k + 2:]      # swap letters
    elif mode < 0.8:
        w = w[:k] + w[k + 1:]                        # drop a letter
    else:
        w = w[:k] + w[k] + w[k:]                     # double a letter
    words[i] = w
    return " ".join(words)


def style(s, rng, kind=None, protect=()):
    """Render a question in a random register without changing its meaning."""
    kinds = ["plain", "lower", "prefix", "context", "suffix", "filler",
             "polite", "typo", "dictated", "shout"]
    kind = kind or rng.choice(kinds)
    if kind == "plain":
        return s
    if kind == "lower":
        return strip_end(s).lower()
    if kind == "prefix":
        return rng.choice(PREFIXES) + lc_first(s)
    if kind == "context":
        return rng.choice(CONTEXTS) + lc_first(s)
    if kind == "suffix":
        return s + rng.choice(SUFFIXES)
    if kind == "filler":
        return rng.choice(FILLERS) + lc_first(strip_end(s))
    if kind == "polite":
        q = strip_end(s)
        if q.split()[0].lower() in ("what", "which", "how", "who", "when", "where", "why"):
            return rng.choice(POLITE) + lc_first(q) + "?"
        return q + ", please?"
    if kind == "typo":
        return typo(s, rng, protect)
    if kind == "dictated":
        q = re.sub(r"[,?!.]", "", strip_end(s)).lower()
        return rng.choice(["so ", "okay ", "um ", "hey so ", ""]) + q + rng.choice(["", " question mark", " thanks"])
    if kind == "shout":
        return strip_end(s) + rng.choice(["??", "?!", " ?"])
    return s


def nwords(s):
    return len(s.split())


def norm(s):
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


# ---------------------------------------------------------------- lexicons
def parse_lines(block):
    """Lines of 'template | x | y [| alt_template]'. Returns list of tuples."""
    out = []
    for line in block.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ")]
        out.append(parts)
    return out


def parse_blocks(block):
    """Blank-line separated families of lines."""
    fams = []
    for chunk in re.split(r"\n\s*\n", block.strip()):
        lines = [l.strip() for l in chunk.strip().splitlines()
                 if l.strip() and not l.strip().startswith("#")]
        if len(lines) >= 2:
            fams.append(lines)
    return fams


def fill(t, x, y=None):
    if "{0}" in t:
        return t.format(x, y)
    return t.replace("{}", x)


def cap(s):
    return s[0].upper() + s[1:] if s and s[0].islower() else s


def pair(a, b, same, cat):
    return {"a": a, "b": b, "same_answer": same, "category": cat}


def substitution_traps(entries, cat, rng, per_entry=2, reword_cat=None, reword_rate=0.6):
    """entries: (template, x, y[, alt_template]). A uses x, B uses y.
    Templates with {0} and {1} are positional swaps: A=(x,y), B=(y,x)."""
    out = []
    for e in entries:
        t, x, y = e[0], e[1], e[2]
        alt = e[3] if len(e) > 3 else None
        if "{0}" in t:
            a0, b0 = cap(t.format(x, y)), cap(t.format(y, x))
        else:
            a0, b0 = cap(fill(t, x)), cap(fill(t, y))
        out.append(pair(a0, b0, False, cat))
        for _ in range(per_entry - 1):
            ka = rng.choice(["plain", "lower", "prefix", "suffix", "filler", "polite",
                             "typo", "dictated", "context", "shout"])
            kb = ka if rng.random() < 0.5 else rng.choice(["plain", "lower", "prefix", "suffix", "typo", "polite"])
            out.append(pair(style(a0, rng, ka, (x, y)), style(b0, rng, kb, (x, y)), False, cat))
        if not alt and rng.random() < reword_rate:
            b1 = reword(b0, rng)
            if b1 != b0:
                out.append(pair(style(a0, rng, rng.choice(["plain", "lower", "prefix", "suffix"]), (x, y)),
                                b1, False, reword_cat or cat))
        if alt:
            if "{0}" in alt:
                b1 = cap(alt.format(y, x))
            else:
                b1 = cap(fill(alt, y))
            out.append(pair(style(a0, rng, rng.choice(["plain", "lower", "prefix"]), (x, y)),
                            b1, False, reword_cat or cat))
    return out


def substitution_trues(entries, cat, rng, per_entry=2):
    out = []
    for e in entries:
        t, x, y = e[0], e[1], e[2]
        a0, b0 = cap(fill(t, x)), cap(fill(t, y))
        out.append(pair(a0, b0, True, cat))
        for _ in range(per_entry - 1):
            ka = rng.choice(["plain", "lower", "prefix", "suffix", "filler", "polite", "typo", "context"])
            kb = rng.choice(["plain", "lower", "prefix", "suffix", "typo", "polite", "dictated"])
            out.append(pair(style(a0, rng, ka), style(b0, rng, kb), True, cat))
    return out


def explicit_pairs(block, same, cat, rng, per_entry=1):
    """Lines 'A || B'."""
    out = []
    for line in block.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        a, b = [p.strip() for p in line.split("||")]
        out.append(pair(a, b, same, cat))
        for _ in range(per_entry - 1):
            out.append(pair(style(a, rng), style(b, rng), same, cat))
    return out


REWORDS = [
    (r"^How do I ", ["What's the way to ", "How can I ", "What are the steps to ", "how would i "]),
    (r"^How can I ", ["How do I ", "What's the best way to "]),
    (r"^Which ", ["What "]),
    (r"^Show me ", ["List ", "Give me ", "Pull up ", "Can I see "]),
    (r"^Show ", ["List ", "Give me ", "Display "]),
    (r"^List ", ["Show me ", "Give me a list of "]),
    (r" last month\b", [" in the previous month", " over the last month"]),
    (r" last week\b", [" in the previous week", " over the past week"]),
    (r" this year\b", [" so far this year", " year to date"]),
    (r"^What's ", ["What is "]),
    (r"^What is ", ["What's "]),
    (r"^How many ", ["how many "]),
]


def reword(s, rng):
    """Light meaning-preserving rewording; returns s unchanged if nothing applies."""
    opts = [(p, r) for p, r in REWORDS if re.search(p, s)]
    if not opts:
        return s
    rng.shuffle(opts)
    out = s
    for p, r in opts[:2]:
        out = re.sub(p, rng.choice(r), out, count=1)
    return cap(out) if rng.random() < 0.7 else out

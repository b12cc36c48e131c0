//! WordNet 3.0 (Princeton; Debian's `wordnet-base` puts its plain data files in /usr/share/wordnet),
//! read by [`crate::Knowledge::load`]: the general English knowledge the checks rely on instead of word lists.
//! - lemmas: WordNet's own morphology (`*.exc` irregular forms, then its suffix rules) to base forms
//!   found in the index ("sold" -> sell, "cities" -> city, "cheapest" -> cheap);
//! - synonyms: two words in one synset, taken from a word's common senses (those seen in the sense-
//!   tagged corpus, `tagsense_cnt`) so a rare sense ("bill" as a beak) does not make rewordings of
//!   everything; derivationally related forms ("renewal" / "renew") count as the same word;
//! - antonyms: `!` pointers, and for adjective satellites the antonym of their head ("soaking" vs
//!   "dry" through "wet");
//! - co-hyponyms (two kinds of one thing: two beverages, two colours) and hypernyms (a kind and the
//!   wider class), on common noun senses: another entity, or a wider or narrower scope.
//!
//! Only the files' words and the pointers above are kept (no glosses). Missing files are an error
//! of `load`; the caller may go on with an empty database (`WordNet::default()`), and the checks
//! then fall back to stems and exact words.

use std::collections::HashMap;
use std::path::Path;

/// Parts of speech, as the files name them.
const POS: [&str; 4] = ["noun", "verb", "adj", "adv"];
const NOUN: u8 = 0;
const VERB: u8 = 1;
const ADJ: u8 = 2;
const ADV: u8 = 3;

/// Most senses of one word counted as "common" when the tagged counts say more.
const MAX_COMMON: usize = 3;
/// Hypernym steps climbed from each verb when asking whether two verbs name one action.
const VERB_STEPS: usize = 1;
/// WordNet's lexicographer files (`lexnames`) the checks read: kinds of people (`noun.person`),
/// and the kinds of nouns one measures rather than counts (see `counted_plural`).
const NOUN_PERSON: u8 = 18;
const NOUN_ATTRIBUTE: u8 = 7;
const NOUN_FOOD: u8 = 13;
const NOUN_POSSESSION: u8 = 21;
const NOUN_QUANTITY: u8 = 23;
const NOUN_SUBSTANCE: u8 = 27;
const NOUN_TIME: u8 = 28;

#[derive(Default)]
struct Synset {
    pos: u8,
    /// WordNet's lexicographer file (`NOUN_PERSON` …).
    lex_file: u8,
    /// Lemma ids, in the synset's order.
    words: Box<[u32]>,
    /// Direct hypernyms, class and instance (`@`, `@i`).
    hypernyms: Box<[u32]>,
    /// Similar-to (`&`): for an adjective satellite, its head.
    similar: Box<[u32]>,
    /// Antonyms at synset level (`!`, source and target words ignored; they are lexical anyway).
    antonyms: Box<[Lexical]>,
    /// Derivationally related forms (`+`) and pertainyms (`\`), word to word.
    derived: Box<[Lexical]>,
}

#[derive(Clone, Copy)]
struct Lexical {
    target: u32,
    /// 1-based word numbers in source and target synset; 0 means the whole synset.
    src: u8,
    dst: u8,
}

/// A pointer as read from a data file, before its target is resolved: (kind, target part of
/// speech, target byte offset, source word, target word).
type Pointer = (char, u8, u32, u8, u8);

#[derive(Clone)]
struct Senses {
    pos: u8,
    /// Senses seen in the tagged corpus (the first `tagged` synsets are the frequent ones).
    tagged: u16,
    synsets: Box<[u32]>,
}

#[derive(Default)]
pub struct WordNet {
    ids: HashMap<Box<str>, u32>,
    /// Lemma id -> its text.
    names: Vec<Box<str>>,
    senses: Vec<Vec<Senses>>,
    synsets: Vec<Synset>,
    /// Irregular forms to their bases, per part of speech.
    exceptions: [HashMap<Box<str>, Vec<Box<str>>>; 4],
}

fn pos_of(c: &str) -> Option<u8> {
    match c {
        "n" => Some(NOUN),
        "v" => Some(VERB),
        "a" | "s" => Some(ADJ),
        "r" => Some(ADV),
        _ => None,
    }
}

impl WordNet {
    pub fn is_empty(&self) -> bool {
        self.synsets.is_empty()
    }

    fn intern(&mut self, w: &str) -> u32 {
        if let Some(&id) = self.ids.get(w) {
            return id;
        }
        let id = self.senses.len() as u32;
        self.ids.insert(w.into(), id);
        self.names.push(w.into());
        self.senses.push(Vec::new());
        id
    }

    /// Reads the data, index and exception files of `dir`.
    pub fn load(dir: &Path) -> std::io::Result<WordNet> {
        let mut db = WordNet::default();
        // Synsets first: (pos, byte offset) -> id, pointers resolved once every file is read.
        let mut by_offset: HashMap<(u8, u32), u32> = HashMap::new();
        let mut pending: Vec<Vec<Pointer>> = Vec::new();
        for (p, name) in POS.iter().enumerate() {
            let text = std::fs::read_to_string(dir.join(format!("data.{name}")))?;
            for line in text.lines() {
                if line.starts_with(' ') {
                    continue; // licence header
                }
                let body = line.split(" | ").next().unwrap_or(line);
                let mut f = body.split(' ');
                let (Some(off), Some(lex_file), Some(_ty), Some(wcnt)) = (f.next(), f.next(), f.next(), f.next())
                else {
                    continue;
                };
                let (Ok(off), Ok(wcnt)) = (off.parse::<u32>(), usize::from_str_radix(wcnt, 16)) else { continue };
                let mut words = Vec::with_capacity(wcnt);
                for _ in 0..wcnt {
                    let (Some(w), Some(_)) = (f.next(), f.next()) else { break };
                    // Adjective markers: "open(a)", "galore(ip)".
                    let w = w.split('(').next().unwrap_or(w).to_lowercase();
                    words.push(db.intern(&w));
                }
                let pcnt: usize = f.next().and_then(|c| c.parse().ok()).unwrap_or(0);
                let mut ptrs = Vec::new();
                for _ in 0..pcnt {
                    let (Some(sym), Some(toff), Some(tpos), Some(st)) = (f.next(), f.next(), f.next(), f.next()) else {
                        break;
                    };
                    let kind = match sym {
                        "@" | "@i" => 'h',
                        "&" => 's',
                        "!" => 'a',
                        "+" | "\\" => 'd',
                        _ => continue,
                    };
                    let (Ok(toff), Some(tpos)) = (toff.parse::<u32>(), pos_of(tpos)) else { continue };
                    let src = u8::from_str_radix(st.get(..2).unwrap_or("0"), 16).unwrap_or(0);
                    let dst = u8::from_str_radix(st.get(2..).unwrap_or("0"), 16).unwrap_or(0);
                    ptrs.push((kind, tpos, toff, src, dst));
                }
                let id = db.synsets.len() as u32;
                by_offset.insert((p as u8, off), id);
                db.synsets.push(Synset {
                    pos: p as u8,
                    lex_file: lex_file.parse().unwrap_or(0),
                    words: words.into(),
                    ..Default::default()
                });
                pending.push(ptrs);
            }
        }
        for (id, ptrs) in pending.into_iter().enumerate() {
            let (mut h, mut s, mut a, mut d) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (kind, tpos, toff, src, dst) in ptrs {
                let Some(&target) = by_offset.get(&(tpos, toff)) else { continue };
                let lexical = Lexical { target, src, dst };
                match kind {
                    'h' => h.push(target),
                    's' => s.push(target),
                    'a' => a.push(lexical),
                    _ => d.push(lexical),
                }
            }
            let syn = &mut db.synsets[id];
            syn.hypernyms = h.into();
            syn.similar = s.into();
            syn.antonyms = a.into();
            syn.derived = d.into();
        }
        for (p, name) in POS.iter().enumerate() {
            let text = std::fs::read_to_string(dir.join(format!("index.{name}")))?;
            for line in text.lines() {
                if line.starts_with(' ') {
                    continue;
                }
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() < 6 {
                    continue;
                }
                let Ok(pcnt) = f[3].parse::<usize>() else { continue };
                let (Some(tagged), Some(offsets)) = (f.get(5 + pcnt), f.get(6 + pcnt..)) else { continue };
                let synsets: Box<[u32]> = offsets
                    .iter()
                    .filter_map(|o| o.parse::<u32>().ok())
                    .filter_map(|o| by_offset.get(&(p as u8, o)).copied())
                    .collect();
                let id = db.intern(f[0]);
                db.senses[id as usize].push(Senses { pos: p as u8, tagged: tagged.parse().unwrap_or(0), synsets });
            }
            // Irregular forms; a missing file only costs those forms.
            if let Ok(text) = std::fs::read_to_string(dir.join(format!("{name}.exc"))) {
                for line in text.lines() {
                    let mut f = line.split_whitespace();
                    if let (Some(form), Some(base)) = (f.next(), f.next()) {
                        db.exceptions[p].entry(form.into()).or_default().push(base.into());
                    }
                }
            }
        }
        if db.synsets.is_empty() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "no synsets in the data files"));
        }
        Ok(db)
    }

    fn id(&self, w: &str) -> Option<u32> {
        self.ids.get(w).copied()
    }

    fn has_pos(&self, w: &str, pos: u8) -> bool {
        self.id(w).is_some_and(|id| self.senses[id as usize].iter().any(|s| s.pos == pos))
    }

    /// Base forms of `w` in one part of speech, by WordNet's morphy: exceptions, the word itself,
    /// then suffix rules, keeping only forms the index knows.
    fn morphy(&self, w: &str, pos: u8, out: &mut Vec<u32>) {
        let push = |out: &mut Vec<u32>, base: &str| {
            if self.has_pos(base, pos) {
                if let Some(id) = self.id(base) {
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
            }
        };
        if let Some(bases) = self.exceptions[pos as usize].get(w) {
            for b in bases {
                push(out, b);
            }
        }
        push(out, w);
        let rules: &[(&str, &str)] = match pos {
            NOUN => &[
                ("s", ""),
                ("ses", "s"),
                ("xes", "x"),
                ("zes", "z"),
                ("ches", "ch"),
                ("shes", "sh"),
                ("men", "man"),
                ("ies", "y"),
            ],
            VERB => {
                &[("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")]
            }
            ADJ => &[("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
            _ => &[],
        };
        for (suffix, ending) in rules {
            if let Some(stem) = w.strip_suffix(suffix).filter(|s| s.len() >= 2) {
                push(out, &format!("{stem}{ending}"));
                // Doubled consonants: "shipped" -> ship, "biggest" -> big. Compared as letters, not
                // bytes: two equal trailing bytes may be one multi-byte character ("蠠").
                let mut last = stem.chars().rev();
                let doubled =
                    matches!((last.next(), last.next()), (Some(x), Some(y)) if x == y && x.is_ascii_alphabetic());
                if ending.is_empty() && stem.len() >= 3 && doubled && (pos == VERB || pos == ADJ) {
                    push(out, &stem[..stem.len() - 1]);
                }
            }
        }
    }

    /// Base forms of `w` in one part of speech (see `morphy`).
    fn bases(&self, w: &str, pos: u8) -> Vec<u32> {
        let mut out = Vec::new();
        self.morphy(w, pos, &mut out);
        out
    }

    /// The most frequent noun sense of the first of `nouns` (noun base forms) that has one.
    fn first_noun_sense(&self, nouns: &[u32]) -> Option<u32> {
        nouns.iter().find_map(|&l| {
            self.senses[l as usize].iter().find(|s| s.pos == NOUN).and_then(|s| s.synsets.first().copied())
        })
    }

    /// Every base form of `w` in any part of speech (lower-case input).
    pub fn lemmas(&self, w: &str) -> Vec<u32> {
        let mut out = Vec::new();
        if self.is_empty() || w.is_empty() || w.len() > 40 {
            return out;
        }
        for pos in 0..4 {
            self.morphy(w, pos, &mut out);
        }
        out
    }

    /// The irregular base of a form ("sold" -> "sell", "children" -> "child"), verbs first.
    pub fn irregular(&self, w: &str) -> Option<&str> {
        [VERB, NOUN, ADJ, ADV]
            .iter()
            .find_map(|&p| self.exceptions[p as usize].get(w).and_then(|b| b.first()).map(|b| &**b))
    }

    pub fn irregular_verb(&self, w: &str) -> bool {
        self.exceptions[VERB as usize].contains_key(w)
    }

    /// Whether `w` is a form of some verb (always, without WordNet).
    pub fn can_be_verb(&self, w: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        let verbs = self.bases(w, VERB);
        !verbs.is_empty()
    }

    /// Whether `w` is the superlative of an adjective WordNet knows ("tallest", "cheapest",
    /// "biggest"), not a word that only ends so ("interest", "forest").
    pub fn superlative(&self, w: &str) -> bool {
        let adjectives = self.bases(w, ADJ);
        adjectives.iter().any(|&id| self.names.get(id as usize).is_some_and(|base| &**base != w))
    }

    /// Whether `w` is read as a verb first: an inflected verb form ("paid", "beating"), or a word
    /// whose verb senses are seen in the tagged corpus at least as often as its noun senses. Without
    /// WordNet every word may be one.
    pub fn mostly_verb(&self, w: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        let verbs = self.bases(w, VERB);
        if verbs.is_empty() {
            return false;
        }
        if self.exceptions[VERB as usize].contains_key(w) || w.ends_with("ed") || w.ends_with("ing") {
            return true;
        }
        let nouns = self.bases(w, NOUN);
        let tagged = |ids: &[u32], pos: u8| -> u16 {
            ids.iter()
                .flat_map(|&l| self.senses[l as usize].iter())
                .filter(|s| s.pos == pos)
                .map(|s| s.tagged)
                .max()
                .unwrap_or(0)
        };
        tagged(&verbs, VERB) >= tagged(&nouns, NOUN)
    }

    /// The synsets of a lemma: its common senses (seen in the tagged corpus, at most `MAX_COMMON`
    /// per part of speech; the first when none was seen), or all of them.
    fn senses_of(&self, lemma: u32, common: bool, pos: Option<u8>) -> impl Iterator<Item = u32> + '_ {
        self.senses[lemma as usize].iter().filter(move |s| pos.is_none_or(|p| p == s.pos)).flat_map(move |s| {
            let n = if common { (s.tagged as usize).clamp(1, MAX_COMMON) } else { s.synsets.len() };
            s.synsets.iter().take(n).copied()
        })
    }

    /// Same meaning: a common sense of one is a synset holding the other, or one is derived from
    /// the other ("renewal" / "renew", "accessible" / "access").
    pub fn synonyms(&self, a: &[u32], b: &[u32]) -> bool {
        let one_way = |a: &[u32], b: &[u32]| {
            a.iter().any(|&la| {
                self.senses_of(la, true, None).any(|s| {
                    let syn = &self.synsets[s as usize];
                    syn.words.iter().any(|w| b.contains(w))
                        // An adjective and the head of its cluster ("huge" / "large", "quick" / "fast").
                        || (syn.pos == ADJ && syn.similar.iter().any(|&h| self.synsets[h as usize].words.iter().any(|w| b.contains(w))))
                        || self.derived_in(s, la, b)
                })
            })
        };
        // Antonym pointers are word to word and outrank a shared rare sense ("king" / "queen" as
        // famous people).
        a.iter().any(|x| b.contains(x)) || ((one_way(a, b) || one_way(b, a)) && !self.antonyms(a, b))
    }

    /// Whether synset `s` links its word `la` to one of `b` by a derivation or pertainym pointer.
    fn derived_in(&self, s: u32, la: u32, b: &[u32]) -> bool {
        let syn = &self.synsets[s as usize];
        syn.derived.iter().any(|d| {
            (d.src == 0 || syn.words.get(d.src as usize - 1) == Some(&la))
                && self.synsets[d.target as usize]
                    .words
                    .iter()
                    .enumerate()
                    .any(|(k, w)| b.contains(w) && (d.dst == 0 || d.dst as usize == k + 1))
        })
    }

    /// One derived from the other ("Brazilian" / "Brazil", "renewal" / "renew"), in a common
    /// sense: a derivation or pertainym pointer only, not a shared synset.
    pub fn derived(&self, a: &[u32], b: &[u32]) -> bool {
        let one_way = |a: &[u32], b: &[u32]| {
            a.iter().any(|&la| self.senses_of(la, true, None).any(|s| self.derived_in(s, la, b)))
        };
        one_way(a, b) || one_way(b, a)
    }

    /// One meaning shared in any sense, however rare ("output" / "production", "homes" / "houses"):
    /// weaker than `synonyms`, for two words that stand in the same place of two questions.
    pub fn share_a_sense(&self, a: &[u32], b: &[u32]) -> bool {
        let all = |lemmas: &[u32]| -> Vec<u32> {
            let mut v: Vec<u32> = lemmas.iter().flat_map(|&l| self.senses_of(l, false, None)).collect();
            v.sort_unstable();
            v
        };
        let sb = all(b);
        all(a).iter().any(|s| sb.binary_search(s).is_ok()) && !self.antonyms(a, b)
    }

    /// One verb a manner of the other in some sense (a direct hypernym, any sense): "cultivate" is
    /// a way to "grow", "employ" to make "work". Not antonyms.
    pub fn verb_manner_of(&self, a: &[u32], b: &[u32]) -> bool {
        let all = |lemmas: &[u32]| -> Vec<u32> {
            lemmas.iter().flat_map(|&l| self.senses_of(l, false, Some(VERB))).collect()
        };
        let (sa, sb) = (all(a), all(b));
        let up =
            |x: &[u32], y: &[u32]| x.iter().any(|&s| self.synsets[s as usize].hypernyms.iter().any(|h| y.contains(h)));
        (up(&sa, &sb) || up(&sb, &sa)) && !self.antonyms(a, b)
    }

    /// Opposite words: an antonym pointer from a sense of one to the other, directly or through
    /// the head of an adjective cluster.
    pub fn antonyms(&self, a: &[u32], b: &[u32]) -> bool {
        let one_way = |a: &[u32], b: &[u32]| {
            a.iter().any(|&la| {
                self.senses_of(la, false, None).any(|s| {
                    let syn = &self.synsets[s as usize];
                    let lexical = syn.antonyms.iter().any(|x| {
                        (x.src == 0 || syn.words.get(x.src as usize - 1) == Some(&la))
                            && self.synsets[x.target as usize].words.iter().any(|w| b.contains(w))
                    });
                    // A satellite's head has the antonym; the other side may be that head's antonym or one of its satellites.
                    lexical
                        || (syn.pos == ADJ
                            && b.iter().any(|&lb| {
                                let heads =
                                    |s: u32| std::iter::once(s).chain(self.synsets[s as usize].similar.iter().copied());
                                heads(s).any(|h| {
                                    self.synsets[h as usize].antonyms.iter().any(|x| {
                                        self.senses_of(lb, false, Some(ADJ)).any(|t| heads(t).any(|h2| h2 == x.target))
                                    })
                                })
                            }))
                })
            })
        };
        one_way(a, b) || one_way(b, a)
    }

    /// Two verbs for one action: a common sense of each within two steps of a shared hypernym
    /// ("ship" / "dispatch", "drop" / "fall"). Verbs that differ in more than wording are antonyms
    /// or sit in other parts of the hierarchy.
    pub fn verbs_related(&self, a: &[u32], b: &[u32]) -> bool {
        let up = |lemmas: &[u32]| -> Vec<u32> {
            let mut out: Vec<u32> = lemmas.iter().flat_map(|&l| self.senses_of(l, true, Some(VERB))).collect();
            for _ in 0..VERB_STEPS {
                let next: Vec<u32> =
                    out.iter().flat_map(|&s| self.synsets[s as usize].hypernyms.iter().copied()).collect();
                out.extend(next);
            }
            out.sort_unstable();
            out.dedup();
            out
        };
        let (ua, ub) = (up(a), up(b));
        !ua.is_empty() && ua.iter().any(|s| ub.binary_search(s).is_ok())
    }

    fn noun_senses(&self, lemmas: &[u32]) -> Vec<u32> {
        lemmas.iter().flat_map(|&l| self.senses_of(l, true, Some(NOUN))).collect()
    }

    /// Two kinds of one thing, on common noun senses: the shared class's first word.
    pub fn cohyponyms(&self, a: &[u32], b: &[u32]) -> Option<String> {
        let (sa, sb) = (self.noun_senses(a), self.noun_senses(b));
        for &x in &sa {
            for &h in self.synsets[x as usize].hypernyms.iter() {
                if sb.iter().any(|&y| y != x && self.synsets[y as usize].hypernyms.contains(&h)) {
                    return Some(self.first_word(h));
                }
            }
        }
        None
    }

    /// `a` is directly a kind of person `b` (a common sense of `b` in `noun.person` is the hypernym
    /// of one of `a`'s): "policyholder" / "customer", "footballer" / "player". Questions name the
    /// same people by their role in the question; for things ("sedan" / "car") a kind narrows.
    pub fn person_kind_of(&self, a: &[u32], b: &[u32]) -> bool {
        let sb = self.noun_senses(b);
        self.noun_senses(a).iter().any(|&x| {
            self.synsets[x as usize]
                .hypernyms
                .iter()
                .any(|&h| self.synsets[h as usize].lex_file == NOUN_PERSON && sb.contains(&h))
        })
    }

    /// Whether the most frequent adjective senses of `a` and `b` share one cluster ("tiniest" and
    /// "smallest" through "small"; not "deepest" and "largest", which only meet in rarer senses).
    pub fn same_adjective(&self, a: &str, b: &str) -> bool {
        let first = |w: &str| {
            let adj = self.bases(w, ADJ);
            adj.iter().find_map(|&l| self.senses_of(l, false, Some(ADJ)).next())
        };
        let (Some(x), Some(y)) = (first(a), first(b)) else { return false };
        let (sx, sy) = (&self.synsets[x as usize].similar, &self.synsets[y as usize].similar);
        x == y || sx.contains(&y) || sy.contains(&x) || sx.iter().any(|h| sy.contains(h))
    }

    /// Whether the most frequent noun sense of `w` is a unit of measurement ("hectares", "miles",
    /// "calories"), not the word "unit" itself: "how many hectares" asks for an amount.
    pub fn measure_unit(&self, w: &str) -> bool {
        let nouns = self.bases(w, NOUN);
        let Some(first) = self.first_noun_sense(&nouns) else { return false };
        // Climb the first hypernyms; the unit synset must be at least two steps up.
        let mut at = first;
        for step in 0..8 {
            let syn = &self.synsets[at as usize];
            if step >= 2 && syn.words.first().is_some_and(|&id| &*self.names[id as usize] == "unit_of_measurement") {
                return true;
            }
            let Some(&up) = syn.hypernyms.first() else { return false };
            at = up;
        }
        false
    }

    /// For a plural noun (no lemma as written), whether its most frequent sense is a thing one
    /// counts: not money, a measure, a substance, food, a period or an attribute (WordNet's
    /// `noun.possession`, `noun.quantity`, `noun.substance`, `noun.food`, `noun.time`,
    /// `noun.attribute`). None when `w` is no plural noun ("revenue", "sales" as a lemma).
    pub fn counted_plural(&self, w: &str) -> Option<bool> {
        const AMOUNTS: [u8; 6] = [NOUN_ATTRIBUTE, NOUN_FOOD, NOUN_POSSESSION, NOUN_QUANTITY, NOUN_SUBSTANCE, NOUN_TIME];
        let nouns = self.bases(w, NOUN);
        if nouns.is_empty() || nouns.iter().any(|&l| &*self.names[l as usize] == w) {
            return None;
        }
        let first = self.first_noun_sense(&nouns)?;
        Some(!AMOUNTS.contains(&self.synsets[first as usize].lex_file))
    }

    /// Whether the most frequent noun sense of `w` names a kind of person ("drivers", "astronaut").
    pub fn person_noun(&self, w: &str) -> bool {
        let nouns = self.bases(w, NOUN);
        nouns
            .iter()
            .filter_map(|&l| self.senses[l as usize].iter().find(|s| s.pos == NOUN))
            .any(|s| s.synsets.first().is_some_and(|&x| self.synsets[x as usize].lex_file == NOUN_PERSON))
    }

    fn first_word(&self, syn: u32) -> String {
        let id = self.synsets[syn as usize].words.first().copied().unwrap_or(0);
        self.names.get(id as usize).map(|k| k.replace('_', " ")).unwrap_or_default()
    }

    /// Whether `w` is written exactly as a lemma of WordNet (no inflection undone).
    pub fn is_lemma(&self, w: &str) -> bool {
        self.id(w).is_some_and(|id| !self.senses[id as usize].is_empty())
    }

    /// Whether WordNet knows `w` in some form.
    pub fn knows(&self, w: &str) -> bool {
        !self.lemmas(w).is_empty()
    }

    /// Rough heap size, for the record.
    #[cfg(test)]
    pub fn approx_bytes(&self) -> usize {
        let ids: usize = self.ids.keys().map(|k| 2 * (k.len() + 16) + 8).sum();
        let senses: usize =
            self.senses.iter().map(|v| 24 + v.iter().map(|s| 24 + s.synsets.len() * 4).sum::<usize>()).sum();
        let syn: usize = self
            .synsets
            .iter()
            .map(|s| {
                88 + s.words.len() * 4
                    + s.hypernyms.len() * 4
                    + s.similar.len() * 4
                    + (s.antonyms.len() + s.derived.len()) * 8
            })
            .sum();
        let exc: usize = self
            .exceptions
            .iter()
            .flat_map(|m| m.iter())
            .map(|(k, v)| k.len() + 40 + v.iter().map(|b| b.len() + 16).sum::<usize>())
            .sum();
        ids + senses + syn + exc
    }
}

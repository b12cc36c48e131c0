//! What the checks know of English beyond the fixed word lists: a WordNet, and the lexicon's
//! tables keyed by stems (which the WordNet's irregular forms decide). Built once and passed to
//! every check, so the caller decides where WordNet comes from and how long it stays loaded, and
//! a test can hand in an empty or a small one.

use crate::lexicon::Tables;
use crate::token::stem_regular;
use crate::wordnet::WordNet;
use std::path::Path;

pub struct Knowledge {
    pub(crate) wn: WordNet,
    tables: Tables,
}

impl Knowledge {
    pub fn new(wn: WordNet) -> Self {
        let tables = Tables::new(|w| stem_with(&wn, w));
        Self { wn, tables }
    }

    /// WordNet 3.0's plain data files from `dir` (Debian's `wordnet-base`: /usr/share/wordnet).
    pub fn load(dir: &Path) -> std::io::Result<Self> {
        WordNet::load(dir).map(Self::new)
    }

    /// No WordNet at all: the checks run on stems and exact words, and refuse more rewordings.
    pub fn without_wordnet() -> Self {
        Self::new(WordNet::default())
    }

    pub fn wordnet(&self) -> &WordNet {
        &self.wn
    }

    /// A word's stem, after WordNet's base of an irregular form ("sold" -> "sell").
    pub fn stem(&self, w: &str) -> String {
        stem_with(&self.wn, w)
    }

    /// The form two words are compared in exactly: their stem (WordNet relates the others), the
    /// word a listed one names the same thing as ("vendor" is "supplier"), or the direction a word
    /// of change names.
    pub fn concept(&self, word: &str) -> String {
        self.tables.concept(self.stem(word))
    }

    /// The listed opposites of a concept (function words and directions; WordNet has the rest).
    pub fn antonyms(&self, concept: &str) -> &[String] {
        self.tables.antonyms.get(concept).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn phrases(&self) -> &[(Vec<String>, Vec<String>)] {
        &self.tables.phrases
    }
}

fn stem_with(wn: &WordNet, w: &str) -> String {
    match wn.irregular(w) {
        Some(base) => stem_regular(base),
        None => stem_regular(w),
    }
}

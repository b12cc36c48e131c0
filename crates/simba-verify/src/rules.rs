//! The checks' rules, in the order they are evaluated: one line each, with whether the judge may
//! overrule it, why it exists, pairs it must refuse and near misses it must let through (the test
//! below walks the table, clippy's one-lint-one-test). An `Objection` names its rule, so `cache
//! eval` counts per rule what it cost (same-answer pairs refused) and what it caught (traps).
//!
//! The rules live in `facts` (numbers, dates, figures, scope, quantifiers, opposite states),
//! `align` (negation, names, WordNet relations, what changed in place or was added) and `roles`;
//! the chat rules in `cache::decide` and `cache::conversation`.

/// Why a candidate must not answer a query: the rule that objects and what it saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Objection {
    /// The rule that objects (an id of [`RULES`]).
    pub rule: &'static str,
    /// What differs, for a person: "numbers differ (500 vs 50)".
    pub detail: String,
}

impl Objection {
    pub fn new(rule: &'static str, detail: String) -> Self {
        Self { rule, detail }
    }

    /// Whether the judge, reading both texts, may overrule it: the objection is about wording
    /// (a content word one side changes in place or adds, two kinds of one thing in WordNet),
    /// which is lexical knowledge the checks lack. Numbers, dates, negation, names, opposites,
    /// roles: never. Decided by the rule.
    pub fn judge_may_overrule(&self) -> bool {
        judge_may_overrule(self.rule)
    }
}

impl std::fmt::Display for Objection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// What the judge, reading both texts, may do about a rule's objection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JudgeRole {
    /// A fact: never overruled.
    Never,
    /// A matter of wording the checks cannot settle: served if the judge is sure they are the
    /// same (`judge_min_score`).
    Overrules,
    /// The checks matched every word, some only loosely: served if the judge leans towards the
    /// same (the bar of checks that agree), at any similarity.
    Confirms,
}

/// One rule of the checks.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub judge: JudgeRole,
    pub why: &'static str,
    /// (query, cached) pairs this rule refuses.
    pub refuses: &'static [(&'static str, &'static str)],
    /// Near misses it lets through (no objection of this rule).
    pub serves: &'static [(&'static str, &'static str)],
}

pub const RULES: &[Rule] = &[
    Rule {
        id: "too_long",
        judge: JudgeRole::Never,
        why: "the checks read a bounded text; a longer one could hide any change past the bound",
        refuses: &[],
        serves: &[],
    },
    Rule {
        id: "numbers",
        judge: JudgeRole::Never,
        why: "a different amount, count or threshold is a different question",
        refuses: &[("Orders over $500 last week", "Orders over $50 last week")],
        serves: &[("Stays longer than two weeks", "Stays longer than 14 days")],
    },
    Rule {
        id: "dates",
        judge: JudgeRole::Never,
        why: "another year, month, quarter or day asks about other records",
        refuses: &[("Revenue in 2023", "Revenue in 2024")],
        serves: &[("Sales in Q1 2024", "Sales in the first quarter of 2024")],
    },
    Rule {
        id: "one_day_or_every",
        judge: JudgeRole::Never,
        why: "\"this Sunday\" is one day, \"Sundays\" every such day",
        refuses: &[("Is the store open this Sunday?", "Is the store open on Sundays?")],
        serves: &[("Is the store open this Sunday?", "Is the store open on Sunday?")],
    },
    Rule {
        id: "figure_asked",
        judge: JudgeRole::Never,
        why: "a count, a sum and an average of the same records are different answers",
        refuses: &[("Average order value in March", "Maximum order value in March")],
        serves: &[("What share of orders were late?", "What percentage of orders were late?")],
    },
    Rule {
        id: "which_one",
        judge: JudgeRole::Never,
        why: "the first and the last (or newest and oldest) of a series are different records",
        refuses: &[(
            "Give me data usage for the current billing cycle.",
            "Give me data usage for the previous billing cycle.",
        )],
        serves: &[("Data usage for the current billing cycle", "Data usage for this billing cycle")],
    },
    Rule {
        id: "comparison",
        judge: JudgeRole::Never,
        why: "above and below a threshold select opposite sets",
        refuses: &[("Customers who spent more than $100", "Customers who spent less than $100")],
        serves: &[("Customers who spent more than $100", "Customers who spent over $100")],
    },
    Rule {
        id: "scope_words",
        judge: JudgeRole::Never,
        why: "\"only\", \"both\", \"either\" change which records count",
        refuses: &[("Which customers bought only shoes?", "Which customers bought shoes?")],
        serves: &[("Which customers bought only shoes?", "Which customers bought solely shoes?")],
    },
    Rule {
        id: "quantifiers",
        judge: JudgeRole::Never,
        why: "\"all\" and \"some\", \"every\" and \"a\" ask different things",
        refuses: &[("Name a river that crosses Spain", "Name every river that crosses Spain")],
        serves: &[("Name every river that crosses Spain", "Name all rivers that cross Spain")],
    },
    Rule {
        id: "and_or",
        judge: JudgeRole::Never,
        why: "\"A and B\" and \"A or B\" select different sets",
        refuses: &[("Which students take French or German?", "Which students take French and German?")],
        serves: &[("Which students take French or German?", "Which students take German or French?")],
    },
    Rule {
        id: "opposite_states",
        judge: JudgeRole::Never,
        why: "a state and its opposite (\"in stock\" / \"out of stock\") select opposite records",
        refuses: &[("Which printers are in service?", "Which printers are out of service?")],
        serves: &[("Which laptops are under warranty?", "Which laptops are still under warranty?")],
    },
    Rule {
        id: "negation",
        judge: JudgeRole::Never,
        why: "a negated question asks for the complement",
        refuses: &[("Which stores are open on Sundays?", "Which stores are not open on Sundays?")],
        serves: &[("Which stores don't close on Sundays?", "Which stores do not close on Sundays?")],
    },
    Rule {
        id: "names",
        judge: JudgeRole::Never,
        why: "another person, place or product is another question",
        refuses: &[("Sales in Germany last year", "Sales in France last year")],
        serves: &[("Sales in Germany last year", "German sales last year")],
    },
    Rule {
        id: "opposite_words",
        judge: JudgeRole::Never,
        why: "WordNet antonyms (\"increase\" / \"decrease\") ask for opposite things",
        refuses: &[("Which products had increased sales?", "Which products had decreased sales?")],
        serves: &[("Which products had increased sales?", "Which products saw sales go up?")],
    },
    Rule {
        id: "two_kinds",
        judge: JudgeRole::Overrules,
        why: "two kinds of one thing in WordNet may be two things or one thing named twice",
        refuses: &[("How much coffee did the office drink in May?", "How much tea did the office drink in May?")],
        serves: &[("Which physicians work at the clinic?", "Which doctors work at the clinic?")],
    },
    Rule {
        id: "changed_in_place",
        judge: JudgeRole::Overrules,
        why: "one short run of words changed in place: a synonym or another detail, for the judge",
        refuses: &[("How many trial users signed up?", "How many paying users signed up?")],
        serves: &[("How many users signed up?", "How many users registered?")],
    },
    Rule {
        id: "added_word",
        judge: JudgeRole::Overrules,
        why: "a detail only one side names (\"paying users\" / \"users\") may narrow the question",
        refuses: &[("How many paying users do we have?", "How many users do we have?")],
        serves: &[("How many orders were made in March?", "How many orders in March?")],
    },
    Rule {
        id: "roles",
        judge: JudgeRole::Never,
        why: "the same words in other roles: who pays whom, from where to where",
        refuses: &[("Flights from Paris to London", "Flights from London to Paris")],
        serves: &[("Flights from Paris to London", "Flights to London from Paris")],
    },
    Rule {
        id: "figure_named_once",
        judge: JudgeRole::Overrules,
        why:
            "a figure only one side names (\"how many are left\" / \"the remaining stock\") may be in the other's words",
        refuses: &[("How many units are left in the warehouse?", "What is the remaining stock in the warehouse?")],
        serves: &[("How many units are left in the warehouse?", "What is the number of units left in the warehouse?")],
    },
    Rule {
        id: "comparison_named_once",
        judge: JudgeRole::Overrules,
        why: "a comparison only one side names (\"more than ten years\" / \"a tenure past ten years\") may be in the other's words",
        refuses: &[("Flights that took longer than five hours", "Flights that took five hours")],
        serves: &[
            ("Employees with more than ten years of tenure", "Employees with over ten years of tenure"),
            ("Employees with more than ten years of tenure", "Employees whose tenure exceeds ten years"),
        ],
    },
    Rule {
        id: "related_words",
        judge: JudgeRole::Confirms,
        why: "words matched only as related (two verbs under one broader verb, one shared sense of many) \
              may be opposites WordNet does not list (\"tighten\" / \"widen\"): the judge confirms, even above the threshold",
        refuses: &[("Which accounts tightened their spending limits?", "Which accounts widened their spending limits?")],
        serves: &[("Which orders shipped last week?", "Which orders were shipped last week?")],
    },
    Rule {
        id: "earlier_turns",
        judge: JudgeRole::Never,
        why: "in two chats, earlier turns the question depends on that differ in a fact or in number",
        refuses: &[],
        serves: &[],
    },
    Rule {
        id: "earlier_details",
        judge: JudgeRole::Never,
        why: "in two chats, earlier turns the question leans on without saying so that name another amount, date or name",
        refuses: &[],
        serves: &[],
    },
    Rule {
        id: "reworded_turns",
        judge: JudgeRole::Overrules,
        why: "earlier turns only reworded: the judge reads each",
        refuses: &[],
        serves: &[],
    },
    Rule {
        id: "beyond_reach",
        judge: JudgeRole::Never,
        why: "a question depending on more turns than the cache reads could mean anything",
        refuses: &[],
        serves: &[],
    },
];

/// What the judge may do about `rule` (an unknown id: never overrule it).
pub fn judge_role(rule: &str) -> JudgeRole {
    RULES.iter().find(|r| r.id == rule).map_or(JudgeRole::Never, |r| r.judge)
}

/// Whether the judge may overrule `rule` at all (an unknown id: never).
pub fn judge_may_overrule(rule: &str) -> bool {
    judge_role(rule) != JudgeRole::Never
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_refuses_its_pairs_and_serves_its_near_misses() {
        for rule in RULES {
            for (q, c) in rule.refuses {
                let o = crate::objection(crate::tests::knowledge(), q, c);
                assert_eq!(o.as_ref().map(|o| o.rule), Some(rule.id), "{}: {q} / {c}: {o:?}", rule.id);
            }
            for (q, c) in rule.serves {
                let o = crate::objection(crate::tests::knowledge(), q, c);
                assert!(o.as_ref().is_none_or(|o| o.rule != rule.id), "{}: {q} / {c}: {o:?}", rule.id);
            }
        }
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len(), "rule ids are unique");
    }
}

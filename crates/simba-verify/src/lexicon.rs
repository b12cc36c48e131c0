//! Small, general-English word lists the checks rely on. Nothing here is specific to one data set:
//! function words, negators, quantifiers and aggregations, comparatives, directions, common
//! abbreviations, number and calendar words. Content words (synonyms, opposites, kinds of things,
//! irregular forms) come from WordNet (`wordnet.rs`), not from lists here.

use std::collections::HashMap;

/// Words that never change an answer on their own: function words, pronouns, politeness and the
/// verbs people use to ask for something ("show me", "can you tell me").
pub const FILLERS: &[&str] = &[
    "a",
    "an",
    "the",
    "of",
    "in",
    "on",
    "at",
    "for",
    "with",
    "about",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "am",
    "do",
    "does",
    "did",
    "done",
    "doing",
    "have",
    "has",
    "had",
    "having",
    "will",
    "would",
    "shall",
    "should",
    "can",
    "could",
    "may",
    "might",
    "must",
    "i",
    "me",
    "my",
    "mine",
    "we",
    "us",
    "our",
    "ours",
    "you",
    "your",
    "yours",
    "it",
    "its",
    "they",
    "them",
    "their",
    "he",
    "him",
    "his",
    "she",
    "her",
    "that",
    "these",
    "those",
    "there",
    "here",
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "whether",
    "if",
    "then",
    "so",
    "and",
    "or",
    "but",
    "also",
    "just",
    "still",
    "yet",
    "already",
    "ever",
    "please",
    // The wrapping of a polite request: "Kindly advise how many…", "I would appreciate
    // confirmation of…", "Please indicate which…".
    "advise",
    "indicate",
    "confirm",
    "confirmation",
    "quantify",
    "grateful",
    "obliged",
    "thanks",
    "thank",
    "hey",
    "hi",
    "yo",
    "hello",
    "um",
    "uh",
    "ok",
    "okay",
    "quick",
    "question",
    "show",
    "list",
    "give",
    "tell",
    "find",
    "display",
    "get",
    "see",
    "know",
    "want",
    "need",
    "like",
    "let",
    "help",
    "provide",
    "fetch",
    "pull",
    "view",
    "look",
    "check",
    "identify",
    "calculate",
    "compute",
    "determine",
    "plot",
    "chart",
    "summarise",
    "summarize",
    "way",
    "possible",
    "able",
    "all",
    "really",
    "actually",
    "currently",
    "now",
    "right",
    "moment",
    "exactly",
    "roughly",
    "approximately",
    "around",
    "during",
    "throughout",
    "trailing",
    "rolling",
    "some",
    "any",
    "much",
    "many",
    "something",
    "anything",
    "someone",
    "somebody",
    "thing",
    "things",
    "kind",
    "sort",
    "to",
    "from",
    "by",
    "than",
    "into",
    "onto",
    "via",
    "through",
    "per",
    "each",
    "every",
    "between",
    "against",
    "versus",
    "vs",
    "after",
    "before",
    "since",
    "until",
    "till",
    "over",
    "under",
    "above",
    "below",
    "within",
    "out",
    "up",
    "down",
    "off",
    "again",
    "too",
    "very",
    "whats",
    "one's",
    "etc",
    "whom's",
    "wonder",
    "wondering",
    "curious",
    "kindly",
    "mind",
    "appreciate",
    "appreciated",
    "cheers",
    "assist",
    "explain",
    "remind",
    "interested",
    "hoping",
    "basically",
    "whole",
    "entire",
    "across",
];

/// Verbs that only carry the request ("show", "list") are fillers; these are the stems of a few
/// more that people add without changing what they ask.
pub const LIGHT_VERBS: &[&str] = &["go", "make", "take", "come", "want", "like", "ask"];

/// Multi-word expressions rewritten to one token before anything else, matched on stems.
/// Abbreviations and their spelled-out forms meet on one token; idioms become one concept.
const PHRASES: &[(&str, &str)] = &[
    // Aggregations and counts.
    ("total number of", "count"),
    ("number of", "count"),
    ("how many", "count"),
    ("largest number of", "most"),
    ("highest number of", "most"),
    ("greatest number of", "most"),
    ("smallest number of", "least"),
    ("lowest number of", "least"),
    ("highest count of", "most"),
    ("largest count of", "most"),
    ("greatest count of", "most"),
    ("lowest count of", "least"),
    ("smallest count of", "least"),
    ("most recent", "latest"),
    ("on average", "average"),
    ("in total", "total"),
    ("all together", "total"),
    ("altogether", "total"),
    ("combined", "total"),
    ("running total", "cumulative"),
    ("cumulative total", "cumulative"),
    ("descending order", "descending"),
    ("ascending order", "ascending"),
    ("what time", "when"),
    ("highest to lowest", "descending"),
    ("lowest to highest", "ascending"),
    ("largest to smallest", "descending"),
    ("smallest to largest", "ascending"),
    ("most to least", "descending"),
    ("least to most", "ascending"),
    // Comparisons.
    ("at least", "atleast"),
    ("or more", "atleast"),
    ("no less than", "atleast"),
    ("not less than", "atleast"),
    ("at most", "atmost"),
    ("no more than", "atmost"),
    ("not more than", "atmost"),
    ("up to", "atmost"),
    ("or less", "atmost"),
    ("or fewer", "atmost"),
    ("prior to", "before"),
    ("compared with", "versus"),
    ("compared to", "versus"),
    ("as well as", "and"),
    ("other than", "except"),
    ("apart from", "except"),
    ("aside from", "except"),
    // Calendar.
    ("first half", "h1"),
    ("second half", "h2"),
    ("every single", "every"),
    // "fall" is the autumn only before a word of the school or sales year.
    ("fall term", "autumn term"),
    ("fall semester", "autumn semester"),
    ("fall season", "autumn season"),
    ("fall collection", "autumn collection"),
    ("first quarter", "q1"),
    ("second quarter", "q2"),
    ("third quarter", "q3"),
    ("fourth quarter", "q4"),
    ("day of the week", "weekday"),
    ("day of week", "weekday"),
    ("year over year", "yoy"),
    ("month over month", "mom"),
    ("quarter over quarter", "qoq"),
    ("week over week", "wow"),
    // The period so far is the period as a question about it means it: "sales YTD", "sales
    // this year".
    ("year to date", "this year"),
    ("month to date", "this month"),
    ("quarter to date", "this quarter"),
    ("at the moment", "now"),
    ("right now", "now"),
    ("so far", "now"),
    // "did not pass QC" is "failed QC" (a fail is no negation: "fail to" is).
    ("not pass", "fail"),
    ("as of today", "now"),
    // States and actions.
    ("log in to", "login"),
    ("sign in to", "login"),
    ("log in", "login"),
    ("log into", "login"),
    ("log on", "login"),
    ("sign in", "login"),
    ("sign into", "login"),
    ("log out", "logout"),
    ("sign out", "logout"),
    ("log off", "logout"),
    ("sign up", "register"),
    ("opt out of", "optout from"),
    ("opt out", "optout"),
    ("unsubscribe", "optout"),
    ("opt in", "optin"),
    ("subscribe", "optin"),
    ("turn on", "enable"),
    ("switch on", "enable"),
    ("turn off", "disable"),
    ("switch off", "disable"),
    ("out of stock", "outofstock"),
    ("sold out", "outofstock"),
    ("in stock", "instock"),
    ("in a row", "consecutive"),
    ("web site", "website"),
    ("e mail", "email"),
    // A change of direction said with a particle ("went up") is the one-word change ("rose").
    ("go up", "increase"),
    ("go down", "decrease"),
    ("per cent", "percent"),
    // Pleasantries.
    ("thanks in advance", "thanks"),
    ("in advance", "please"),
    ("any idea", "please"),
    ("no idea", "please"),
];

/// Abbreviations of general business, tech and geography, spelled out before anything else so that
/// "AOV" and "average order value" are read alike (and "average" still counts as an average).
pub const ABBREVIATIONS: &[(&str, &str)] = &[
    ("nyc", "new york city"),
    ("us", "united states"),
    ("usa", "united states"),
    ("uk", "united kingdom"),
    ("la", "los angeles"),
    ("sf", "san francisco"),
    ("eu", "european union"),
    ("uae", "united arab emirates"),
    ("hr", "human resources"),
    ("r&d", "research and development"),
    ("p&l", "profit and loss"),
    ("kpi", "key performance indicator"),
    ("nps", "net promoter score"),
    ("mrr", "monthly recurring revenue"),
    ("arr", "annual recurring revenue"),
    ("aov", "average order value"),
    ("ltv", "lifetime value"),
    ("dau", "daily active user"),
    ("mau", "monthly active user"),
    ("wau", "weekly active user"),
    ("cogs", "cost of goods sold"),
    ("cac", "customer acquisition cost"),
    ("roi", "return on investment"),
    ("ctr", "click through rate"),
    ("cpc", "cost per click"),
    ("cpa", "cost per acquisition"),
    ("sla", "service level agreement"),
    ("gmv", "gross merchandise value"),
    ("csat", "customer satisfaction"),
    ("ceo", "chief executive officer"),
    ("cfo", "chief financial officer"),
    ("cto", "chief technology officer"),
    ("2fa", "two factor authentication"),
    ("mfa", "multi factor authentication"),
    ("faq", "frequently asked question"),
    ("eta", "estimated time of arrival"),
    ("api", "application programming interface"),
    ("seo", "search engine optimization"),
    ("pos", "point of sale"),
    ("b2b", "business to business"),
    ("b2c", "business to consumer"),
    ("ai", "artificial intelligence"),
    ("ml", "machine learning"),
    ("os", "operating system"),
    ("ui", "user interface"),
    ("vat", "value added tax"),
    ("gdp", "gross domestic product"),
    ("ye", "year end"),
    ("eod", "end of day"),
    ("asap", "as soon as possible"),
    // Reporting shorthand.
    ("yoy", "year over year"),
    ("mom", "month over month"),
    ("qoq", "quarter over quarter"),
    ("ytd", "year to date"),
    ("mtd", "month to date"),
    ("qtd", "quarter to date"),
    ("fte", "full time equivalent"),
    ("arpu", "average revenue per user"),
    ("adr", "average daily rate"),
    ("revpar", "revenue per available room"),
    ("oee", "overall equipment effectiveness"),
    ("mtbf", "mean time between failures"),
    ("sku", "stock keeping unit"),
    ("wip", "work in progress"),
    ("pto", "paid time off"),
    ("wfh", "work from home"),
    ("hq", "headquarters"),
    ("qty", "quantity"),
    ("amt", "amount"),
    ("dept", "department"),
    ("depts", "department"),
    ("mgr", "manager"),
    ("mgmt", "management"),
    ("acct", "account"),
    ("approx", "approximately"),
    ("intl", "international"),
    ("perm", "permanent"),
    ("perms", "permanent"),
];

/// Chat spellings, read only when written in lower case.
pub const CHAT_SPELLINGS: &[(&str, &str)] = &[
    ("r", "are"),
    ("u", "you"),
    ("ur", "your"),
    ("pls", "please"),
    ("plz", "please"),
    ("thx", "thanks"),
    ("ty", "thanks"),
    ("b4", "before"),
    ("cuz", "because"),
    ("coz", "because"),
    ("wanna", "want to"),
    ("gonna", "going to"),
    ("gimme", "give me"),
    ("abt", "about"),
    ("w/", "with"),
    ("w/o", "without"),
    ("rn", "right now"),
    ("tmrw", "tomorrow"),
    ("yday", "yesterday"),
    ("ppl", "people"),
    ("thru", "through"),
];

/// Abbreviated units of measure, spelled out so "ha" meets "hectares" and "kWh" "kilowatt-hours".
pub const UNIT_ABBREVIATIONS: &[(&str, &str)] = &[
    ("ha", "hectare"),
    ("km", "kilometer"),
    ("kms", "kilometer"),
    ("kg", "kilogram"),
    ("kgs", "kilogram"),
    ("lb", "pound"),
    ("lbs", "pound"),
    ("oz", "ounce"),
    ("ft", "foot"),
    ("sqft", "square foot"),
    ("mi", "mile"),
    ("cm", "centimeter"),
    ("mg", "milligram"),
    ("gal", "gallon"),
    ("mph", "mile per hour"),
    ("kph", "kilometer per hour"),
    ("kw", "kilowatt"),
    ("kwh", "kilowatt hour"),
    ("mw", "megawatt"),
    ("mwh", "megawatt hour"),
    ("ml", "milliliter"),
    ("kb", "kilobyte"),
    ("mb", "megabyte"),
    ("gb", "gigabyte"),
    ("tb", "terabyte"),
    ("ms", "millisecond"),
    // ISO currency codes.
    ("usd", "dollar"),
    ("eur", "euro"),
    ("gbp", "pound"),
    ("jpy", "yen"),
    ("cad", "canadian dollar"),
    ("aud", "australian dollar"),
    ("chf", "swiss franc"),
    ("cny", "yuan"),
    ("inr", "rupee"),
];

/// Words after which "a minute", "a year" is one unit's length ("under a minute", "older than a
/// decade", "took a week"), not "per minute".
pub const BEFORE_A_LENGTH: &[&str] = &[
    "under", "over", "than", "within", "for", "about", "around", "nearly", "almost", "least", "most", "past", "last",
    "took", "take", "takes", "lasted", "lasting", "only", "just",
];

/// Words between a number and its unit that do not change the duration ("three consecutive
/// months" is three months in a row).
pub const IN_A_ROW: &[&str] = &["consecutive", "straight", "successive", "full"];

/// Words that make a following "to" part of a preposition ("close to the airport", "due to"),
/// not the goal of a movement.
pub const TO_PREPOSITIONS: &[&str] = &[
    "close",
    "next",
    "near",
    "due",
    "according",
    "similar",
    "relative",
    "thanks",
    "owing",
    "adjacent",
    "compared",
    "prior",
];

/// Nouns that count with a numeral after them, which may be a Roman one ("phase II", "World War I").
pub const COUNTING_NOUNS: &[&str] = &[
    "phase", "stage", "type", "level", "tier", "class", "grade", "part", "chapter", "volume", "war", "book", "act",
    "article", "title", "schedule", "category",
];

/// Nouns that only restate a question word of the other text: "what is the date" asks "when",
/// "the process for" asks "how", "what quantity" asks "how much".
pub const QUESTION_NOUNS: &[(&str, &[&str])] = &[
    ("date", &["when"]),
    ("time", &["when", "long"]),
    ("moment", &["when"]),
    ("process", &["how"]),
    ("step", &["how"]),
    ("steps", &["how"]),
    ("method", &["how"]),
    ("procedure", &["how"]),
    ("instructions", &["how"]),
    ("manner", &["how"]),
    ("amount", &["much", "many"]),
    ("quantity", &["much", "many"]),
    ("place", &["where"]),
    ("location", &["where"]),
    ("person", &["who"]),
    ("people", &["who"]),
    ("reason", &["why"]),
    ("reasons", &["why"]),
    ("cause", &["why"]),
];

/// Times of day said in words, read as the clock time they are.
pub const CLOCK_WORDS: &[(&str, &str)] = &[("noon", "12pm"), ("midday", "12pm"), ("midnight", "12am")];

/// Opposite function words (order, extremes, ends); opposite content words come from WordNet.
const ANTONYMS: &[(&str, &str)] = &[
    ("earliest", "latest"),
    ("ascending", "descending"),
    ("min", "max"),
    ("first", "last"),
    ("inbound", "outbound"),
    ("incoming", "outgoing"),
    ("inside", "outside"),
    ("upper", "lower"),
    ("top", "bottom"),
    // The one-token forms the phrases above produce ("opt out" -> optout), which WordNet cannot know.
    ("optin", "optout"),
    ("instock", "outofstock"),
    ("login", "logout"),
    // Directions.
    ("above", "below"),
    ("over", "under"),
    ("before", "after"),
    ("for", "against"),
    ("more", "less"),
    ("more", "fewer"),
    ("on", "off"),
    ("increase", "decrease"),
];

/// Words for a change in one direction, read as that direction ("rose", "grew", "climbed" are an
/// increase; "fell", "dropped" a decrease). Up and down stay opposites (`ANTONYMS`).
/// Words of business and public-service English that name the same thing in any context, where
/// WordNet has them apart (a vendor is a kind of seller there, a lorry a kind of truck): each is
/// read as the second. Only words with no other common sense in such questions ("principal" is
/// also a loan's; "holiday" also a public one; "flat" also a fee): those stay the judge's.
pub const SAME_THING: &[(&str, &str)] = &[
    ("vendor", "supplier"),
    ("staff", "employee"),
    ("personnel", "employee"),
    ("lorry", "truck"),
    ("handset", "phone"),
    ("basket", "cart"),
    ("takings", "revenue"),
    ("disbursement", "payout"),
    ("headteacher", "principal"),
    ("pupil", "student"),
    ("streetcar", "tram"),
    ("timetable", "schedule"),
    ("parcel", "package"),
    ("consignment", "shipment"),
    ("client", "customer"),
    ("fee", "charge"),
    ("reservation", "booking"),
    ("faulty", "defective"),
    ("medication", "drug"),
];

const CHANGE_DIRECTIONS: &[(&str, &str)] = &[
    ("increase", "increase"),
    ("rise", "increase"),
    ("grow", "increase"),
    ("growth", "increase"),
    ("climb", "increase"),
    ("surge", "increase"),
    ("soar", "increase"),
    ("decrease", "decrease"),
    ("fall", "decrease"),
    ("drop", "decrease"),
    ("decline", "decrease"),
    ("shrink", "decrease"),
    ("dip", "decrease"),
    ("plunge", "decrease"),
];

pub const NEGATORS: &[&str] = &[
    "not",
    "no",
    "never",
    "none",
    "nobody",
    "nothing",
    "neither",
    "nor",
    "without",
    "except",
    "excluding",
    "exclude",
    "lack",
    "lacking",
    "absent",
    "unless",
    "nowhere",
];

/// Prefixes that negate the word they are glued to ("unpaid", "inactive", "non-members").
pub const NEGATIVE_PREFIXES: &[&str] = &["non", "un", "in", "im", "il", "ir", "dis"];
/// Suffixes that negate the word they are glued to ("cashless", "wireless").
pub const NEGATIVE_SUFFIXES: &[&str] = &["less"];

/// Superlatives and aggregations: the kind of number asked for.
pub const AGGREGATIONS: &[(&str, &str)] = &[
    ("average", "average"),
    ("avg", "average"),
    ("mean", "average"),
    ("median", "median"),
    ("total", "total"),
    ("sum", "total"),
    ("overall", "total"),
    ("aggregate", "total"),
    ("cumulative", "cumulative"),
    ("count", "count"),
    ("headcount", "count"),
    ("distinct", "distinct"),
    ("unique", "distinct"),
    ("max", "max"),
    ("maximum", "max"),
    ("highest", "max"),
    ("largest", "max"),
    ("biggest", "max"),
    ("most", "max"),
    ("top", "max"),
    ("best", "max"),
    ("greatest", "max"),
    ("peak", "max"),
    ("longest", "max"),
    ("min", "min"),
    ("minimum", "min"),
    ("lowest", "min"),
    ("smallest", "min"),
    ("least", "min"),
    ("fewest", "min"),
    ("bottom", "min"),
    ("worst", "min"),
    ("shortest", "min"),
    ("percentage", "share"),
    ("percent", "share"),
    ("share", "share"),
    ("proportion", "share"),
    ("fraction", "share"),
    ("ratio", "ratio"),
    ("variance", "variance"),
    ("deviation", "deviation"),
    ("percentile", "percentile"),
];

/// Comparison words and the direction they bound a quantity in.
pub const COMPARATORS: &[(&str, &str)] = &[
    ("more", "above"),
    ("over", "above"),
    ("above", "above"),
    // The verb in every form: the table is read by the raw word and by its stem, and the stem of
    // "exceeds" ("exc") is neither.
    ("exceed", "above"),
    ("exceeds", "above"),
    ("exceeded", "above"),
    ("exceeding", "above"),
    ("greater", "above"),
    ("higher", "above"),
    ("larger", "above"),
    ("longer", "above"),
    ("bigger", "above"),
    ("older", "above"),
    ("after", "above"),
    ("since", "above"),
    ("later", "above"),
    ("beyond", "above"),
    ("atleast", "above"),
    ("less", "below"),
    ("fewer", "below"),
    ("under", "below"),
    ("below", "below"),
    ("lower", "below"),
    ("smaller", "below"),
    ("shorter", "below"),
    ("younger", "below"),
    ("within", "below"),
    ("before", "below"),
    ("until", "below"),
    ("till", "below"),
    ("earlier", "below"),
    ("atmost", "below"),
];

/// Quantifiers: "all" and "some" answer different questions when both sides name one.
pub const QUANTIFIERS: &[(&str, &str)] = &[
    ("all", "all"),
    ("every", "all"),
    ("everyone", "all"),
    ("everything", "all"),
    ("some", "some"),
    ("any", "some"),
    ("anyone", "some"),
    ("anything", "some"),
    ("several", "some"),
    ("whole", "all"),
    ("entire", "all"),
];

/// Scope words: each answers a different set.
pub const SCOPE: &[(&str, &str)] =
    &[("only", "only"), ("both", "both"), ("either", "either"), ("solely", "only"), ("exclusively", "only")];

/// Prepositions that mark a role (source, goal, agent, standard of comparison).
pub const ROLE_MARKERS: &[(&str, &str)] = &[
    ("from", "source"),
    ("to", "goal"),
    ("into", "goal"),
    ("onto", "goal"),
    ("toward", "goal"),
    ("towards", "goal"),
    ("by", "agent"),
    ("versus", "versus"),
    ("vs", "versus"),
    ("against", "versus"),
    ("of", "of"),
    // "since" and "following" (as a preposition) mark the same point in time as "after".
    ("after", "after"),
    ("since", "after"),
    ("following", "after"),
    ("before", "before"),
    ("between", "between"),
    ("per", "group"),
    ("each", "group"),
    ("every", "group"),
    ("than", "standard"),
    ("over", "standard"),
];

pub const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
pub const MONTH_ABBR: &[&str] = &["jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"];
pub const WEEKDAYS: &[&str] =
    &["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "weekend", "weekday"];
/// A weekday, one or many ("Sunday", "Sundays", "weekends").
pub fn is_weekday(raw: &str) -> bool {
    WEEKDAYS.contains(&raw.trim_end_matches('s'))
}

/// A month, written out or abbreviated ("november", "nov", "sept").
pub fn is_month_name(raw: &str) -> bool {
    MONTHS.contains(&raw) || MONTH_ABBR.contains(&raw)
}

/// The key a month is compared by: its first three letters ("sept" and "september" are "sep").
pub fn month_key(name: &'static str) -> &'static str {
    &name[..3]
}

/// Calendar words that name one period by themselves.
pub const CALENDAR: &[&str] = &[
    "today",
    "tomorrow",
    "yesterday",
    "tonight",
    "morning",
    "afternoon",
    "evening",
    "night",
    "overnight",
    "midnight",
    "noon",
    "summer",
    "winter",
    "spring",
    "autumn",
    "fiscal",
    "ytd",
    "mtd",
    "qtd",
    "yoy",
    "mom",
    "qoq",
    "wow",
    "h1",
    "h2",
    "q1",
    "q2",
    "q3",
    "q4",
    "holiday",
    "christmas",
    "easter",
    "weekly",
    "daily",
    "monthly",
    "quarterly",
    "yearly",
    "annually",
    "hourly",
    "biweekly",
];
/// "last/this/next" words, to one of three.
pub const RELATIVE: &[(&str, &str)] = &[
    ("last", "last"),
    ("past", "last"),
    ("previous", "last"),
    ("prior", "last"),
    ("preceding", "last"),
    ("this", "this"),
    ("current", "this"),
    ("next", "next"),
    ("coming", "next"),
    ("upcoming", "next"),
    ("following", "next"),
];
/// Period units in hours, so "24 hours" and "a day", "two weeks" and "a fortnight" agree.
pub const UNITS: &[(&str, f64)] = &[
    ("millisecond", 1.0 / 3_600_000.0),
    ("milliseconds", 1.0 / 3_600_000.0),
    ("second", 1.0 / 3600.0),
    ("seconds", 1.0 / 3600.0),
    ("sec", 1.0 / 3600.0),
    ("secs", 1.0 / 3600.0),
    ("minute", 1.0 / 60.0),
    ("minutes", 1.0 / 60.0),
    ("min", 1.0 / 60.0),
    ("mins", 1.0 / 60.0),
    ("hour", 1.0),
    ("hours", 1.0),
    ("hr", 1.0),
    ("hrs", 1.0),
    ("day", 24.0),
    ("days", 24.0),
    ("week", 168.0),
    ("weeks", 168.0),
    ("wk", 168.0),
    ("wks", 168.0),
    ("fortnight", 336.0),
    ("fortnights", 336.0),
    ("month", 720.0),
    ("months", 720.0),
    ("quarter", 2160.0),
    ("quarters", 2160.0),
    ("qtr", 2160.0),
    ("qtrs", 2160.0),
    ("year", 8760.0),
    ("years", 8760.0),
    ("yr", 8760.0),
    ("yrs", 8760.0),
    ("decade", 87600.0),
];
/// Words that, between an amount and a unit of time, make the amount something other than that
/// length of time: a rate ("2 per hour"), a count of other things ("3 times a day", "5 more
/// shifts"), a range or list ("2 or 3 days", "4 to 6 weeks"), or a unit that counts only some
/// of its hours ("10 working days" is no fortnight of hours).
pub const NOT_BEFORE_A_UNIT: &[&str] = &[
    "business",
    "working",
    "work",
    "calendar",
    "school",
    "trading",
    "banking",
    "week",
    "weekday",
    "these",
    "those",
    "that",
    "same",
    "per",
    "each",
    "every",
    "the",
    "and",
    "or",
    "nor",
    "of",
    "for",
    "to",
    "in",
    "on",
    "at",
    "by",
    "from",
    "times",
    "than",
    "out",
    "off",
    "with",
    "into",
    "over",
    "under",
    "within",
    "after",
    "before",
    "later",
    "ago",
    "more",
    "less",
    "fewer",
    "extra",
    "additional",
    "other",
    "another",
    "whole",
    "full",
    "such",
];

/// Units written onto a number ("24h", "30d", "2GB", "5km") and the word each stands for; a
/// number with one of these reads as the number and the unit apart. Not "m" (million in "5m"),
/// "s" ("the 90s") or "g" ("5G").
pub const NUMBER_SUFFIXES: &[(&str, &str)] = &[
    ("h", "hour"),
    ("hr", "hour"),
    ("hrs", "hour"),
    ("min", "minute"),
    ("mins", "minute"),
    ("sec", "second"),
    ("secs", "second"),
    ("ms", "millisecond"),
    ("d", "day"),
    ("wk", "week"),
    ("wks", "week"),
    ("mo", "month"),
    ("mos", "month"),
    ("yr", "year"),
    ("yrs", "year"),
    ("km", "kilometer"),
    ("cm", "centimeter"),
    ("kg", "kilogram"),
    ("kgs", "kilogram"),
    ("mg", "milligram"),
    ("ml", "milliliter"),
    ("l", "liter"),
    ("kb", "kilobyte"),
    ("mb", "megabyte"),
    ("gb", "gigabyte"),
    ("tb", "terabyte"),
    ("lb", "pound"),
    ("lbs", "pound"),
];

/// Units of measure with one base per kind (kilograms, litres, metres, gigabytes), so "2 tonnes"
/// meets "2000 kg" and "250 ml" "0.25 litres". Imperial units stay as words: converting them
/// would make near amounts equal ("5 miles" / "8 km").
pub const MEASURES: &[(&str, &str, f64)] = &[
    ("milligram", "kg", 1e-6),
    ("gram", "kg", 1e-3),
    ("kilogram", "kg", 1.0),
    ("kilo", "kg", 1.0),
    ("l", "l", 1.0),
    ("tonne", "kg", 1e3),
    ("milliliter", "l", 1e-3),
    ("millilitre", "l", 1e-3),
    ("liter", "l", 1.0),
    ("litre", "l", 1.0),
    ("millimeter", "m", 1e-3),
    ("millimetre", "m", 1e-3),
    ("centimeter", "m", 1e-2),
    ("centimetre", "m", 1e-2),
    ("meter", "m", 1.0),
    ("metre", "m", 1.0),
    ("kilometer", "m", 1e3),
    ("kilometre", "m", 1e3),
    ("kilobyte", "gb", 1e-6),
    ("megabyte", "gb", 1e-3),
    ("gigabyte", "gb", 1.0),
    ("terabyte", "gb", 1e3),
    ("petabyte", "gb", 1e6),
];

/// A unit of measure ("kilograms") as its base and how many of the base one is.
pub fn measure(raw: &str) -> Option<(&'static str, f64)> {
    let find = |w: &str| MEASURES.iter().find(|(k, _, _)| *k == w).map(|(_, base, f)| (*base, *f));
    find(raw).or_else(|| raw.strip_suffix('s').and_then(find))
}

/// Adjectives of frequency to the unit they group by.
pub const PER_UNIT: &[(&str, &str)] = &[
    ("hourly", "hour"),
    ("daily", "day"),
    ("weekly", "week"),
    ("biweekly", "fortnight"),
    ("monthly", "month"),
    ("quarterly", "quarter"),
    ("yearly", "year"),
    ("annually", "year"),
    ("annual", "year"),
];

pub const SPELLED: &[(&str, f64)] = &[
    ("zero", 0.0),
    ("one", 1.0),
    ("two", 2.0),
    ("three", 3.0),
    ("four", 4.0),
    ("five", 5.0),
    ("six", 6.0),
    ("seven", 7.0),
    ("eight", 8.0),
    ("nine", 9.0),
    ("ten", 10.0),
    ("eleven", 11.0),
    ("twelve", 12.0),
    ("thirteen", 13.0),
    ("fourteen", 14.0),
    ("fifteen", 15.0),
    ("sixteen", 16.0),
    ("seventeen", 17.0),
    ("eighteen", 18.0),
    ("nineteen", 19.0),
    ("twenty", 20.0),
    ("thirty", 30.0),
    ("forty", 40.0),
    ("fifty", 50.0),
    ("sixty", 60.0),
    ("seventy", 70.0),
    ("eighty", 80.0),
    ("ninety", 90.0),
    ("dozen", 12.0),
    ("twice", 2.0),
    ("thrice", 3.0),
    ("once", 1.0),
    ("single", 1.0),
    ("half", 0.5),
];
/// Ordinal words, for days of the month ("the first of November").
pub const ORDINALS: &[(&str, u32)] = &[
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
    ("eleventh", 11),
    ("twelfth", 12),
    ("thirteenth", 13),
    ("fourteenth", 14),
    ("fifteenth", 15),
    ("sixteenth", 16),
    ("seventeenth", 17),
    ("eighteenth", 18),
    ("nineteenth", 19),
    ("twentieth", 20),
    ("thirtieth", 30),
];
/// Words naming the parts of a whole ("a quarter of", "two thirds of"); "half" is a spelled number.
pub const FRACTIONS: &[(&str, u32)] = &[
    ("third", 3),
    ("thirds", 3),
    ("quarter", 4),
    ("quarters", 4),
    ("fifth", 5),
    ("fifths", 5),
    ("sixth", 6),
    ("sixths", 6),
    ("eighth", 8),
    ("eighths", 8),
    ("tenth", 10),
    ("tenths", 10),
];
/// Decades in words; "twenties" and earlier leave the century open, so they are not listed.
pub const DECADES: &[(&str, u32)] = &[
    ("thirties", 1930),
    ("forties", 1940),
    ("fifties", 1950),
    ("sixties", 1960),
    ("seventies", 1970),
    ("eighties", 1980),
    ("nineties", 1990),
];
/// Possessives that make "80s" an age ("in their 80s"), not a decade.
pub const POSSESSIVES: &[&str] = &["my", "your", "his", "her", "its", "our", "their"];
pub const SCALES: &[(&str, f64)] = &[
    ("hundred", 100.0),
    ("thousand", 1e3),
    ("grand", 1e3),
    ("million", 1e6),
    ("mln", 1e6),
    ("mn", 1e6),
    ("billion", 1e9),
    ("bn", 1e9),
    ("bln", 1e9),
];

/// Currency symbols become the word for the currency, so "$50" meets "fifty dollars".
pub const CURRENCY: &[(char, &str)] = &[('$', "dollar"), ('€', "euro"), ('£', "pound"), ('¥', "yen")];

/// The closed vocabularies the facts are read from (figures, comparisons, scope, quantifiers,
/// periods, negators, number words): a misspelling of one of them is corrected before reading.
pub fn keywords() -> impl Iterator<Item = &'static str> {
    let keys = |t: &'static [(&'static str, &'static str)]| t.iter().map(|(k, _)| *k);
    let nums = |t: &'static [(&'static str, f64)]| t.iter().map(|(k, _)| *k);
    keys(AGGREGATIONS)
        .chain(keys(COMPARATORS))
        .chain(keys(QUANTIFIERS))
        .chain(keys(SCOPE))
        .chain(keys(RELATIVE))
        .chain(keys(PER_UNIT))
        .chain(nums(UNITS))
        .chain(nums(SPELLED))
        .chain(nums(SCALES))
        .chain(NEGATORS.iter().copied())
        .chain(MONTHS.iter().copied())
        .chain(WEEKDAYS.iter().copied())
        .chain(CALENDAR.iter().copied())
}

/// "Following the launch" is "after the launch"; "the following week" is the next one.
pub fn following_is_preposition(prev: Option<&str>) -> bool {
    !prev.is_some_and(|p| matches!(p, "the" | "this" | "that"))
}

/// A quarter or half of a year by its short name ("q3", "h1").
pub fn is_quarter_or_half(w: &str) -> bool {
    matches!(w, "q1" | "q2" | "q3" | "q4" | "h1" | "h2")
}

pub fn is_filler(w: &str) -> bool {
    FILLERS.contains(&w) || LIGHT_VERBS.contains(&w)
}

/// The tables whose keys are stems: built by [`crate::Knowledge`] with its stemmer (irregular
/// forms come from WordNet, so the keys depend on the WordNet in use).
pub(crate) struct Tables {
    pub antonyms: HashMap<String, Vec<String>>,
    pub directions: HashMap<String, &'static str>,
    /// Stems of `SAME_THING` to the stem they are read as.
    pub same_thing: HashMap<String, String>,
    /// Multi-word expressions (stems) and the tokens they become, longest first.
    pub phrases: Vec<(Vec<String>, Vec<String>)>,
}

impl Tables {
    pub fn new(stem: impl Fn(&str) -> String) -> Tables {
        let directions: HashMap<String, &'static str> = CHANGE_DIRECTIONS.iter().map(|(w, d)| (stem(w), *d)).collect();
        // The plural too: its stem may differ from the singular's ("fees" / "fee").
        let same_thing = SAME_THING
            .iter()
            .flat_map(|(w, as_)| [(stem(w), stem(as_)), (stem(&format!("{w}s")), stem(as_))])
            .collect();
        let mut phrases: Vec<(Vec<String>, Vec<String>)> = PHRASES
            .iter()
            .map(|(p, r)| (p.split(' ').map(&stem).collect(), r.split(' ').map(String::from).collect()))
            .collect();
        // Longest first, so "total number of" wins over "number of".
        phrases.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        let mut tables = Tables { antonyms: HashMap::new(), directions, same_thing, phrases };
        // Keyed by concept, as the words they are looked up for.
        for (a, b) in ANTONYMS {
            let (a, b) = (tables.concept(stem(a)), tables.concept(stem(b)));
            tables.antonyms.entry(a.clone()).or_default().push(b.clone());
            tables.antonyms.entry(b).or_default().push(a);
        }
        tables
    }

    /// The form a word's stem is compared in exactly (`Knowledge::concept`): the word a listed one
    /// names the same thing as ("vendor" is "supplier"), or the direction a word of change names.
    pub fn concept(&self, stem: String) -> String {
        let s = self.same_thing.get(&stem).cloned().unwrap_or(stem);
        self.directions.get(&s).map_or(s, |d| d.to_string())
    }
}

/// A unit of time's length in hours ("week" is 168).
pub fn is_unit(raw: &str) -> Option<f64> {
    lookup(UNITS, raw)
}

pub fn lookup<'a, T: Copy>(table: &'a [(&'a str, T)], w: &str) -> Option<T> {
    table.iter().find(|(k, _)| *k == w).map(|(_, v)| *v)
}

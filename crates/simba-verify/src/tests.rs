//! Pass/refuse examples written for these checks (none come from the eval files).

use super::{Knowledge, Objection, WordNet};
use std::sync::LazyLock;

/// What the tests read: WordNet from `SIMBA_WORDNET_DIR` (else /usr/share/wordnet), or none.
pub(crate) fn knowledge() -> &'static Knowledge {
    static K: LazyLock<Knowledge> = LazyLock::new(|| {
        let dir = std::env::var_os("SIMBA_WORDNET_DIR").unwrap_or_else(|| "/usr/share/wordnet".into());
        Knowledge::load(std::path::Path::new(&dir)).unwrap_or_else(|_| Knowledge::without_wordnet())
    });
    &K
}

fn objection(query: &str, candidate: &str) -> Option<Objection> {
    super::objection(knowledge(), query, candidate)
}

/// Why the checks refuse `candidate` for `query`, or None: an objection only the judge's
/// confirmation settles (words matched loosely) lets it pass the checks.
fn disagreement(query: &str, candidate: &str) -> Option<String> {
    objection(query, candidate)
        .filter(|o| crate::rules::judge_role(o.rule) != crate::rules::JudgeRole::Confirms)
        .map(|o| o.detail)
}

/// Every pair passes the checks (the failures listed with their reasons).
fn assert_served(pairs: &[(&str, &str)]) {
    let failed: Vec<String> =
        pairs.iter().filter_map(|(a, b)| disagreement(a, b).map(|why| format!("{a} / {b}: {why}"))).collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn paraphrases_pass() {
    assert_served(&[
        ("How many orders did we get in March?", "What is the number of orders in March?"),
        ("What was total revenue in 2023?", "Total revenue for 2023?"),
        ("Show the top 5 customers by sales", "Which 5 customers have the highest sales?"),
        ("average order value last month", "What was the mean order value last month?"),
        ("Which stores are in Berlin?", "List the stores located in Berlin"),
        ("Tickets closed in the last 48 hours", "tickets closed in the past two days"),
        ("Orders above $2,000", "orders over two thousand dollars"),
        ("What's the AOV in Canada?", "what is the average order value in canada"),
        ("Refunds issued per week this year", "weekly refunds issued this year"),
        ("Which products are out of stock?", "Which products are sold out?"),
        ("How do I turn on dark mode?", "How do I enable dark mode?"),
        ("How many accounts are unverified?", "How many accounts are not verified?"),
        ("Quick question: how many invoices are overdue?", "how many invoices are overdue"),
        (
            "Sorry to bother you so late, and apologies in advance if this is a silly question, but how do I reset my PIN?",
            "How do I reset my PIN?",
        ),
        ("Hi there, hope you're having a good week! How many lockers are free?", "How many lockers are free?"),
        ("Please indicate which depots ran out of diesel.", "Which depots ran out of diesel?"),
        ("I would appreciate confirmation of how many lockers are free.", "How many lockers are free?"),
        ("Kindly advise how many parcels are held at customs.", "yo how many parcels are held at customs"),
        ("How many seats are left on the 9am ferry?", "How many seats are left on the 9 am ferry?"),
        ("Any idea how many tickets were sold?", "How many tickets were sold? Thanks in advance."),
        (
            "I was wondering, could you share the opening hours of the library?",
            "What are the opening hours of the library?",
        ),
        ("What is the delivery time to Spain?", "What is the delivry time to Spain?"),
        ("Upgrade rate from basic to premium by week", "Weekly basic-to-premium upgrade rate"),
        ("Which courses does the college offer online?", "Which online courses does the college offer?"),
        ("Which players were signed by the coach?", "Which players did the coach sign?"),
        ("List cities by population, from largest to smallest", "List cities in descending order of population"),
    ]);
}

#[test]
fn traps_are_refused() {
    let mut failed = Vec::new();
    for (a, b) in [
        ("Which stores are open on Sundays?", "Which stores are closed on Sundays?"),
        ("Total revenue in 2023", "Total revenue in 2024"),
        ("Show the top 5 customers", "Show the top 10 customers"),
        ("Which tenants on the fifth floor pay late?", "Which tenants on the 6th floor pay late?"),
        ("Pupils excluded in 2023-24", "Pupils excluded in 2022/23"),
        ("Orders placed on 12/13", "Orders placed in 2012-13"),
        ("Enrolment in Algebra II classes", "Enrolment in Algebra 1 classes"),
        ("Which batches failed quality control in 2021?", "Which batches passed quality control in 2021?"),
        ("Requests answered within 3 business days", "Requests answered within 3 days"),
        ("Missed bin collections in Ward 7 this month", "Missed bin collections in Ward 7 this year"),
        ("Listings with zero photos", "Listings with at least one photo"),
        ("Teachers with more than 1,500 contact minutes a week", "Teachers with more than 20 contact hours a week"),
        ("Ferries leaving at half past seven", "Ferries leaving at a quarter past seven"),
        ("Which managers do I report to?", "Which managers report to me?"),
        ("Orders shipped to Germany", "Orders shipped to France"),
        ("Customers who bought in May", "Customers who bought in June"),
        ("Users who logged in", "Users who have not logged in"),
        ("average order value", "total order value"),
        ("orders above $100", "orders below $100"),
        ("sales last week", "sales this week"),
        ("revenue by region for SKU-1042", "revenue by region for SKU-2211"),
        ("Tickets closed in the last 48 hours", "Tickets closed in the last 72 hours"),
        ("Which files are shared?", "Which files are unshared?"),
        ("Customers with at least 2 orders", "Customers with at most 2 orders"),
        ("Train tickets from Lyon to Nice", "Train tickets from Nice to Lyon"),
        ("Did Ajax beat Feyenoord?", "Did Feyenoord beat Ajax?"),
        ("Which students did Ms Park tutor?", "Which students tutored Ms Park?"),
        ("Invoices approved by Omar", "Invoices that approved Omar"),
        ("Show paid orders from the web shop", "Show paid orders from the mobile shop"),
        ("Which senators voted for the bill?", "Which senators voted against the bill?"),
        ("Which wells hold arsenic above the limit?", "Which wells hold arsenic below the limit?"),
        ("How many pupils prefer chess over checkers?", "How many pupils prefer checkers over chess?"),
        ("How much did the landlord refund the tenant?", "How much did the tenant refund the landlord?"),
        ("Which students passed the final exam?", "Which students failed the final exam?"),
        ("Which buses leave before noon?", "Which buses leave after noon?"),
        ("Which beaches allow dogs off leash?", "Which beaches allow dogs on leash?"),
        ("How many active members are there?", "How many members are there?"),
        ("Orders with gift wrapping", "Orders without gift wrapping"),
        ("Employees who failed to submit timesheets", "Employees who submitted timesheets"),
        ("Show only refunded orders", "Show refunded orders"),
        ("Sales in the morning", "Sales in the evening"),
    ] {
        if disagreement(a, b).is_none() {
            failed.push(format!("{a} / {b}"));
        }
    }
    assert!(failed.is_empty(), "passed: {failed:#?}");
}

#[test]
fn reasons_are_readable() {
    let why = disagreement("Total revenue in 2023", "Total revenue in 2024").unwrap();
    assert!(why.contains("2023") && why.contains("2024"), "{why}");
    let why = disagreement("flights from Rome to Oslo", "flights from Oslo to Rome").unwrap();
    assert!(why.contains("role") || why.contains("swap"), "{why}");
}

#[test]
fn odd_input_never_panics() {
    let long = "revenue ".repeat(5000);
    let odd = [
        "",
        " ",
        "?",
        "🙂🙂",
        "naïve café résumé",
        "$",
        "$$$5",
        "5%",
        "%",
        "1,,2",
        "1.2.3",
        "-",
        "--x--",
        "n't",
        "'s",
        "a-",
        "-1",
        "q",
        "Q5",
        "h9",
        "١٢٣",
        "日本の売上は?",
        "ＡＢＣ",
        "x_y_z",
        "don't won't can't",
        "0.000000001",
        "99999999999999999999999999999999",
        "1e400",
        "half half half",
        "a dozen dozen",
        "one hundred thousand million",
        long.as_str(),
        "last",
        "per",
        "by",
        "who",
        "whom did",
        "from to from to",
    ];
    for a in odd {
        for b in odd {
            let _ = disagreement(a, b);
        }
    }
}

/// The cost of one check is printed, not asserted (a loaded machine would fail a timed assert;
/// the benchmarks in docs/BENCHMARKS.md measure it): what is asserted is that a long rewording
/// checked many times gives the same answer each time.
#[test]
fn cost_per_candidate_is_small() {
    let (q, c) = (
        "Which customers in the Northeast region spent more than $500 on electronics in Q3 2024, excluding refunds?",
        "In Q3 2024, which Northeast customers spent over $500 on electronics, not counting refunds?",
    );
    let first = disagreement(q, c);
    let n = 200;
    let t = std::time::Instant::now();
    for _ in 0..n {
        let again = disagreement(std::hint::black_box(q), std::hint::black_box(c));
        assert_eq!(again, first);
    }
    eprintln!("verify cost: {:?} per candidate (debug build)", t.elapsed() / n);
}

/// Rewordings WordNet knows: synonyms, derived forms, irregular forms, an adjective and its
/// cluster's head, two verbs for one action, typos of short or function words.
#[test]
fn wordnet_rewordings_pass() {
    if knowledge().wordnet().is_empty() {
        eprintln!("WordNet missing: skipped");
        return;
    }
    assert_served(&[
        ("Which physicians work at the clinic?", "Which doctors work at the clinic?"),
        ("Which clients signed up in June?", "Which customers registered in June?"),
        ("How many automobiles were sold in Ohio?", "How many cars were sold in Ohio?"),
        ("When does my membership renew?", "What is the renewal date of my membership?"),
        ("Is the museum wheelchair accessible?", "Does the museum have wheelchair access?"),
        ("Which rooms are huge?", "Which rooms are large?"),
        ("How many parcels were shipped to Norway?", "How many parcels were dispatched to Norway?"),
        ("Which teachers bought new laptops?", "Which teachers purchased new laptops?"),
        ("How many children attended the course?", "How many kids attended the course?"),
        ("Which farms grew barley?", "Which farms grow barley?"),
        ("Which warehouses hold the most pallets?", "Which warehouses hold the most palets?"),
        ("What is teh boiling point of ethanol?", "What is the boiling point of ethanol?"),
        ("How many tractors did the cooperative buy?", "How many tractors did the co-operative purchase?"),
    ]);
}

/// Swaps WordNet relates without making them the same: opposites, two kinds of one thing, a kind
/// and its wider class (another scope), wherever they stand in the sentence.
#[test]
fn wordnet_swaps_are_refused() {
    if knowledge().wordnet().is_empty() {
        eprintln!("WordNet missing: skipped");
        return;
    }
    let mut failed = Vec::new();
    for (a, b, want) in [
        // Antonyms (direct, and through an adjective cluster's head).
        ("Which rooms are heated?", "Which rooms are unheated?", ""),
        ("Which files are visible to guests?", "Which files are invisible to guests?", ""),
        ("Which drinks are served hot?", "Which drinks are served cold?", "opposite"),
        ("Which wells are wet in August?", "In August which wells are arid?", "opposite"),
        ("How many volunteers did the charity hire?", "How many volunteers did the charity fire?", "opposite"),
        ("Did the bakery's profits increase?", "Did the bakery's profits decrease?", "opposite"),
        // Co-hyponyms: two kinds of one thing, also when the sentence is reordered.
        ("How much coffee did the office drink in May?", "In May, how much tea did the office drink?", "kinds"),
        ("Which cars are painted red?", "Painted blue, which cars are there?", "kinds"),
        ("How many violins does the school own?", "How many cellos does the school own?", ""),
        // A kind of thing against its wider class: another scope (refused as a detail only one
        // side names; kinds of people are matched, see `rewordings_are_served`).
        ("How many dogs live in the shelter?", "How many animals live in the shelter?", ""),
        ("How many sedans are parked outside?", "Parked outside, how many cars are there?", "sedans"),
        // Function-word opposites and quantifiers.
        ("Are all stores open on holidays?", "Are any stores open on holidays?", "quantifiers"),
        ("Which customers opted in to texts?", "Which customers opted out of texts?", ""),
        ("Which shops take cashless payments?", "Which shops take cash payments?", "negated"),
        // An antonym outranks a rare shared sense ("king" and "queen" as famous people).
        ("Which king built the castle?", "Which queen built the castle?", ""),
        // Roles around "than".
        ("Do cats sleep longer than dogs?", "Do dogs sleep longer than cats?", ""),
    ] {
        match disagreement(a, b) {
            None => failed.push(format!("{a} / {b}: served")),
            Some(why) if !why.contains(want) => failed.push(format!("{a} / {b}: {why} (wanted \"{want}\")")),
            Some(_) => {}
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Questions reworded the way people write them: acronyms against their words, joined against split
/// words, chat spellings, a role noun for its kind of person, a noun restating the question word.
#[test]
fn rewordings_are_served() {
    if knowledge().wordnet().is_empty() {
        eprintln!("WordNet missing: skipped");
        return;
    }
    assert_served(&[
        (
            "How many ER visits did we have on New Year's Eve?",
            "How many emergency room visits did we have on New Year's Eve?",
        ),
        (
            "What is the GPA cutoff for the honours list?",
            "What is the grade point average cutoff for the honours list?",
        ),
        ("List account holders whose DOB is missing.", "List account holders whose date of birth is missing."),
        ("How does a heat pump work?", "How does a heatpump work?"),
        ("how do i setup voicemail", "How do I set up voicemail?"),
        ("Why is my phone bill so high this month?", "why is my phone bill sooo high this month"),
        ("How many parcels are stuck in customs?", "how many parcels r stuck in customs"),
        ("Which deliveries arrived after 12pm?", "Which deliveries arrived after noon?"),
        (
            "How many policyholders filed a claim after the hailstorm?",
            "How many customers filed a claim after the hailstorm?",
        ),
        ("When was the Magna Carta signed?", "What is the date on which the Magna Carta was signed?"),
        ("What is the churn rate of prepaid customers?", "What percentage of prepaid customers churn?"),
        ("List the books checked out by member 88417.", "List the books checked out by member no. 88417."),
        (
            "List appointments that lasted longer than half an hour.",
            "List appointments that lasted longer than 30 minutes.",
        ),
        (
            "Which properties sold for more than two and a half million?",
            "Which properties sold for more than 2.5 million?",
        ),
        ("Which players were transferred in FY2022?", "Which players were transferred in fiscal year 2022?"),
    ]);
}

/// The same words with two parts trading places across a word that stays: another question.
#[test]
fn parts_trading_places_are_refused() {
    for (a, b) in [
        ("Products where sales exceeded forecast in Q1", "Products where forecast exceeded sales in Q1"),
        ("What's 20 pounds in yen?", "What's 20 yen in pounds?"),
        ("Is Lisbon west of Madrid?", "Is Madrid west of Lisbon?"),
    ] {
        assert!(disagreement(a, b).is_some(), "{a} / {b}: served");
    }
    // A figure only implied on one side still differs from another figure, or from an opposite.
    assert!(disagreement("Cheapest room rate at the Vegas property", "Most expensive room rate at the Vegas property")
        .is_some());
    assert!(disagreement("Which is the deepest lake in Europe?", "Which is the largest lake in Europe?").is_some());
    // "current" against "previous" of anything, not only of a period.
    assert!(disagreement(
        "Give me data usage for the current billing cycle.",
        "Give me data usage for the previous billing cycle."
    )
    .is_some());
    // Parts joined by "and" or "or" may trade places freely.
    assert_eq!(disagreement("How many farms grow wheat and barley?", "How many farms grow barley and wheat?"), None);
}

/// Without WordNet the checks still work on stems and exact words, and never panic.
#[test]
fn missing_wordnet_is_not_fatal() {
    let dir = std::env::temp_dir().join("simba-no-wordnet-here");
    assert!(WordNet::load(&dir).is_err());
    let empty = WordNet::default();
    assert!(empty.is_empty() && empty.lemmas("cars").is_empty() && !empty.synonyms(&[], &[]));
}

/// WordNet is read once; its load time and size are reported here (debug build).
#[test]
fn wordnet_load_cost() {
    let dir = std::path::Path::new("/usr/share/wordnet");
    if !dir.join("data.noun").exists() {
        eprintln!("WordNet missing: skipped");
        return;
    }
    let t = std::time::Instant::now();
    let db = WordNet::load(dir).unwrap();
    eprintln!("WordNet load: {:?}, about {} MB (debug build)", t.elapsed(), db.approx_bytes() / 1_000_000);
    assert!(!db.is_empty());
    assert!(db.irregular("sold") == Some("sell"));
}

/// Checks added in session 7, each with sentences of its own: operators, determiners, states,
/// modifiers, and WordNet rewordings that stand in the same place.
#[test]
fn connectives_determiners_and_states_are_refused() {
    for (a, b, want) in [
        // "or" asks about either, "and" about both.
        ("Which students take French or German?", "Which students take French and German?", "joined"),
        // One of a kind against all of them.
        ("Name a river that crosses Spain", "Name every river that crosses Spain", "quantifiers"),
        // Inside a state against out of it.
        ("Which laptops are under guarantee?", "Which laptops are out of guarantee?", "opposite states"),
        ("Which printers are in service?", "Which printers are out of service?", "opposite states"),
        // A participle before the noun narrows it.
        ("Average spend per returning visitor", "Average spend per visitor", "returning"),
        // A running total is another figure than the amounts themselves.
        ("Running total of parcels sorted per day in May", "Parcels sorted per day in May", "figure"),
        // "Which employees report to X" asks for the subordinates, "who does X report to" the boss.
        ("Which nurses report to Dr Osei?", "Who does Dr Osei report to?", ""),
    ] {
        match disagreement(a, b) {
            None => panic!("{a} / {b}: served"),
            Some(why) => assert!(why.contains(want), "{a} / {b}: {why} (wanted \"{want}\")"),
        }
    }
    // The same connective, determiner or state on both sides is no difference.
    assert_served(&[
        ("Which students take French or German?", "Which students take German or French?"),
        ("Is there a pharmacy open once a week on Sundays?", "Is there a pharmacy open every week on Sundays?"),
        ("How many parcels were delivered to the whole country?", "How many parcels were delivered to the country?"),
        ("How many orders were made in March?", "How many orders in March?"),
        ("How many lemons were shipped in 2-kilo bags?", "How many lemons were shipped in two-kilo bags?"),
    ]);
}

/// WordNet rewordings added in session 7: a word sharing a rarer sense, or a verb a manner of the
/// other, in the same place; "least" with the opposite; a superlative against the figure's word;
/// a kind of person after "which" against "who"; an amount of a unit of measurement; durations a
/// few hours apart.
#[test]
fn same_place_and_figure_rewordings_pass() {
    if knowledge().wordnet().is_empty() {
        eprintln!("WordNet missing: skipped");
        return;
    }
    assert_served(&[
        ("What was the output of the mill in June?", "What was the production of the mill in June?"),
        ("Which gardens cultivate tulips in Delft?", "Which gardens grow tulips in Delft?"),
        ("What is the least expensive hostel in Porto?", "What is the cheapest hostel in Porto?"),
        ("Which is the tiniest island in the archipelago?", "Which is the smallest island in the archipelago?"),
        ("Which sailor first crossed the Atlantic alone?", "Who first crossed the Atlantic alone?"),
        ("How many litres of milk did the dairy sell in 2020?", "Total litres of milk the dairy sold in 2020"),
        ("How many loans were approved in the last 12 months?", "How many loans were approved in the past year?"),
        ("Which chefs had the most complaints in May?", "Which chefs had the highest count of complaints in May?"),
    ]);
    // Still refused: two kinds of one thing in the same place, a narrower kind of a thing, and
    // "least" in front of the same word as the other side's.
    for (a, b) in [
        ("How much coffee did the office drink in May?", "How much tea did the office drink in May?"),
        ("How many sedans are parked outside?", "How many cars are parked outside?"),
        ("What is the least expensive hostel in Porto?", "What is the most expensive hostel in Porto?"),
        ("Which is the deepest lake in Europe?", "Which is the largest lake in Europe?"),
        ("How many units did the dairy sell in 2020?", "Total units the dairy sold in 2020"),
        ("How many loans were approved in the last 11 months?", "How many loans were approved in the past year?"),
    ] {
        assert!(disagreement(a, b).is_some(), "{a} / {b}: served");
    }
}

/// Shorthand, spelling and word-formation the checks read through: WordNet lemmas of several words
/// ("cash machine"), initials across a compound ("GHG"), misspelt keywords, chat and unit
/// abbreviations, names and the words derived from them, Roman numerals after a counting noun, a
/// bare unit of time, "total" before a plural of things counted, codes in the plural.
#[test]
fn shorthand_and_derived_forms_pass() {
    if knowledge().wordnet().is_empty() {
        eprintln!("WordNet missing: skipped");
        return;
    }
    assert_served(&[
        ("Attendance of tenth-grade students in May", "Attendance of 10th grade students in May"),
        ("Which tickets cost more than $4.20?", "Which tickets cost more than four dollars and twenty cents?"),
        ("Which lessons start at 13:15?", "Which lessons start at a quarter past one in the afternoon?"),
        ("Refunds issued in Q3 2024", "refunds issued q3 24"),
        ("Average class size in the fall semester", "Average class size in the autumn semester"),
        ("Which ferries leave late every single day?", "Which ferries leave late every day?"),
        ("What is the patient-to-nurse ratio in each ward?", "For each ward, how many patients are there per nurse?"),
        ("What percent of tickets close within 2 days?", "what % of tickets close within 2 days"),
        (
            "I need the invoices from March that were paid late.",
            "can u get me the invoices from March that were paid late",
        ),
        ("Trains arriving after half eight in the morning", "Trains arriving after 8:30am"),
        ("Deliveries booked for a quarter to nine", "Deliveries booked for 8:45"),
        ("Which tenants on the fifth floor pay late?", "Which tenants on the 5th floor pay late?"),
        ("Orders weighing under 500 g", "Orders weighing under half a kilo"),
        ("Is the staging DB down?", "Is the staging database down?"),
        ("What was the pass rate in Algebra I?", "What was the pass rate in Algebra 1?"),
        ("Enrolment in Algebra II classes", "Enrolment in Algebra 2 classes"),
        ("Hi Tom I need the May sales report", "hi tom, i need the May sales report"),
        ("Which vendors delivered late last month?", "Which suppliers delivered late last month?"),
        ("How many lorries are in our fleet?", "How many trucks are in our fleet?"),
        ("Which clients paid their fees late?", "Which customers paid their charges late?"),
        ("Which batches failed quality control in 2021?", "Which batches did not pass quality control in 2021?"),
        ("Sales in the Garden category month-to-date", "Sales in the Garden category this month"),
        ("Pupils excluded in 23/24", "Pupils excluded in 2023-24"),
        ("Listings with no sales in the past 90 days", "listings with zero sales last 90 days"),
        ("Teachers with more than 1,500 contact minutes a week", "Teachers with more than 25 contact hours a week"),
        ("Is there a cash machine near the ferry terminal?", "Is there an ATM near the ferry terminal?"),
        ("What were our GHG emissions in 2022?", "What were our greenhouse gas emissions in 2022?"),
        ("What is the maximun wait time at the clinic?", "What is the maximum wait time at the clinic?"),
        ("What is the balance of my savings acount?", "What is the balance of my savings account?"),
        ("Orders w/ gift cards from Leeds", "Orders with gift cards from Leeds"),
        ("is the rooftop pool open rn", "Is the rooftop pool open right now?"),
        ("How many kg of flour did the bakery use?", "How many kilograms of flour did the bakery use?"),
        ("How many Canadian customers ordered in June?", "How many customers in Canada ordered in June?"),
        ("Which drugs reached stage III trials?", "Which drugs reached stage 3 trials?"),
        ("Sales in the first week of the campaign", "Sales in the first seven days of the campaign"),
        ("Total complaints filed in April", "How many complaints were filed in April?"),
        (
            "Following March's outage, how many tickets were opened?",
            "How many tickets were opened since the outage in March?",
        ),
        ("Which airlines fly A350s to Lima?", "Which airlines fly the A350 to Lima?"),
    ]);
}

#[test]
fn shorthand_does_not_hide_a_changed_detail() {
    let mut failed = Vec::new();
    for (a, b) in [
        ("Orders w/o gift cards", "Orders with gift cards"),
        ("How many km did the fleet drive?", "How many miles did the fleet drive?"),
        ("Which drugs reached stage II trials?", "Which drugs reached stage 3 trials?"),
        ("Sales in the first week of the campaign", "Sales in the first ten days of the campaign"),
        ("Which Swiss banks opened branches?", "Which Swedish banks opened branches?"),
        ("Cost per machine hour", "Cost per machine day"),
        ("Total revenue in April", "How many sales were made in April?"),
    ] {
        if disagreement(a, b).is_none() {
            failed.push(format!("{a} / {b}"));
        }
    }
    assert!(failed.is_empty(), "passed: {failed:#?}");
}

/// What is about the asker, not the question (purpose, thanks, greetings, emoticons), ranges of
/// months that are a quarter or a half, "since" / "following" as "after", "close to", "N
/// consecutive <unit>", currency codes and a name misspelt in lower case.
#[test]
fn asides_ranges_and_prepositions_pass() {
    assert_served(&[
        (
            "Which depots ran out of diesel in April? I need it for a report.",
            "Which depots ran out of diesel in April?",
        ),
        (
            "How many kayaks did we rent last weekend? Asking for the weekly standup :)",
            "How many kayaks did we rent last weekend?",
        ),
        ("How many kayaks did we rent last weekend? Thanks a lot!", "How many kayaks did we rent last weekend?"),
        ("How many kayaks did we rent last weekend for my manager", "How many kayaks did we rent last weekend?"),
        ("How many kayaks did we rent last weekend :D", "How many kayaks did we rent last weekend?"),
        ("Hey team, how many kayaks did we rent last weekend?", "How many kayaks did we rent last weekend?"),
        ("Following the fare change, how many riders left?", "How many riders left after the fare change?"),
        ("How many riders left since the fare change?", "How many riders left after the fare change?"),
        (
            "Which kiosks sold the most maps between January and June 2021?",
            "Which kiosks sold the most maps in the first half of 2021?",
        ),
        ("Kiosk sales from October to December", "Kiosk sales in Q4"),
        ("Which cafes are close to the harbour?", "Which cafes are near the harbour?"),
        ("Which pumps were idle for four consecutive days?", "Which pumps were idle four days in a row?"),
        ("What did the ferry ticket cost in GBP?", "What did the ferry ticket cost in pounds?"),
        ("At what temperature in farenheit does butter melt?", "At what temperature in Fahrenheit does butter melt?"),
    ]);
}

#[test]
fn conditions_after_the_question_still_count() {
    let mut failed = Vec::new();
    for (a, b) in [
        ("How many kayaks did we rent last weekend? Only for members.", "How many kayaks did we rent last weekend?"),
        ("How many kayaks did we rent last weekend, excluding tandems?", "How many kayaks did we rent last weekend?"),
        (
            "How many kayaks did we rent last weekend? I need the ones for the lake.",
            "How many kayaks did we rent last weekend?",
        ),
        ("Which kiosks sold maps in January and June?", "Which kiosks sold maps in the first half of the year?"),
        ("Kiosk sales from January to March", "Kiosk sales in Q2"),
        ("How many riders left before the fare change?", "How many riders left after the fare change?"),
        ("Which pumps were idle for four consecutive days?", "Which pumps were idle for four days?"),
        ("What did the ferry ticket cost in USD?", "What did the ferry ticket cost in CAD?"),
        ("Tickets closed by agent Maria Lopez", "Tickets closed by agent Mario Lopez"),
    ] {
        if disagreement(a, b).is_none() {
            failed.push(format!("{a} / {b}"));
        }
    }
    assert!(failed.is_empty(), "passed: {failed:#?}");
}

/// Days of a month, decades, parts of a whole, words of change and "this <weekday>" are read as
/// one fact however they are written (`dates`, `fractions`, `lexicon::concept`, `facts`).
#[test]
fn dates_fractions_and_changes_pass() {
    assert_served(&[
        ("Deliveries on the first of March", "Deliveries on March 1st"),
        ("Deliveries on Mar. 1", "deliveries on 1 March"),
        ("Deliveries on the twenty first of March", "Deliveries on March 21"),
        ("Deliveries on 3/25/2024", "Deliveries on March 25, 2024"),
        ("Deliveries on 2024-03-25", "Deliveries on March 25 2024"),
        ("Music sales in the eighties", "Music sales in the 1980s"),
        ("Music sales in the '70s", "music sales in the 1970's"),
        ("A third of members renewed", "33% of members renewed"),
        ("One in four members renewed", "25% of members renewed"),
        ("1 out of every 5 members renewed", "20% of members renewed"),
        ("a quarter of our revenue", "25% of our revenue"),
        ("Which fees went up last year?", "Which fees increased last year?"),
        ("Which fees rose last year?", "Which fees grew last year?"),
        ("Membership growth in 2022", "How much did membership increase in 2022?"),
        ("Is the pool open this Saturday?", "Is the pool open on Saturday?"),
    ]);
}

#[test]
fn dates_fractions_and_changes_are_refused() {
    for (a, b) in [
        ("Deliveries on March 1", "Deliveries on March 2"),
        ("Deliveries in March", "Deliveries on March 1"),
        // Day and month order is open when both are 12 or less.
        ("Deliveries on 3/4/2024", "Deliveries on March 4, 2024"),
        ("Residents in their 80s", "Residents in the 1980s"),
        ("Music sales in the 80s", "Music sales in the 1990s"),
        ("A third of members renewed", "30% of members renewed"),
        ("one in four members renewed", "one in five members renewed"),
        ("Which fees went up last year?", "Which fees went down last year?"),
        ("Which fees fell last year?", "Which fees rose last year?"),
        ("Is the pool open this Saturday?", "Is the pool open on Saturdays?"),
        ("Is the pool open this Saturday?", "Is the pool open next Saturday?"),
    ] {
        assert!(disagreement(a, b).is_some(), "{a} / {b} passed");
    }
}

#[test]
fn amounts_written_other_ways_pass() {
    assert_served(&[
        ("orders over twelve pounds fifty", "orders over £12.50"),
        ("tickets under 5 dollars 99", "tickets under $5.99"),
        ("shipments heavier than two tonnes", "shipments heavier than 2000 kg"),
        ("batches of 250 ml bottles", "batches of 0.25 l bottles"),
        ("rides under 5 km", "rides under five kilometres"),
        ("devices with more than 2GB of memory", "devices with more than 2 GB of memory"),
        ("sessions longer than 90 minutes", "sessions longer than an hour and a half"),
        ("sessions longer than 2.5 hours", "sessions longer than two hours and a half"),
        ("delays of more than a quarter of an hour", "delays of more than 15 minutes"),
        ("flights delayed by 2h", "flights delayed by 2 hours"),
        ("churn in the last 30d", "churn in the last 30 days"),
        ("p99 latency above 200ms", "p99 latency above 0.2 seconds"),
        ("orders placed after 6pm", "orders placed after 18:00"),
        ("shifts starting at 09:00", "shifts starting at 9am"),
        ("shifts starting at 9:30 pm", "shifts starting at 21:30"),
        ("growth of 0.5%", "growth of half a percent"),
        ("customers spending 2k+ per year", "customers spending 2000 or more per year"),
        ("vehicles older than a decade", "vehicles older than 10 years"),
        ("users who have not logged in for a year", "users who went a year without logging in"),
        ("orders from 2019 to 2021", "orders from 2019 through 2021"),
        ("orders in twenty twenty-four", "orders in 2024"),
        ("sales in nineteen ninety-nine", "sales in 1999"),
        ("jobs that ran 2 hours 30 minutes", "jobs that ran 2.5 hours"),
        ("jobs that ran 2 hrs and 30 mins", "jobs that ran 150 minutes"),
        ("deals worth 5 grand", "deals worth 5000"),
        ("revenue of 2.3 bn", "revenue of 2.3 billion"),
        ("revenue of 4 mln euros", "revenue of 4 million euros"),
        ("orders of a hundred and fifty units", "orders of 150 units"),
        ("half a million users", "500,000 users"),
    ]);
}

#[test]
fn amounts_written_other_ways_still_differ() {
    for (a, b) in [
        ("p99 latency above 10ms", "p99 latency above 12 ms"),
        ("shipments over 20 kg", "shipments over 20 lb"),
        ("trucks that drove 600 miles", "trucks that drove 600 km"),
        ("shifts starting at 9:00", "shifts starting at 21:00"),
        ("shifts starting at 18:00", "shifts starting at 8pm"),
        ("orders over twelve pounds fifty", "orders over £12"),
        ("clients with 25+ seats", "clients with 25 seats"),
        ("batches of 250 ml", "batches of 250 l"),
        ("plans with 2GB", "plans with 2TB"),
        ("sessions longer than an hour and a half", "sessions longer than an hour"),
        ("orders in twenty twenty-four", "orders in 2023"),
        ("jobs that ran between 2 hours and 30 minutes", "jobs that ran 2.5 hours"),
        ("orders of a hundred and fifty units", "orders of 100 units"),
        ("twenty-five orders", "twenty orders"),
    ] {
        assert!(disagreement(a, b).is_some(), "{a} / {b} passed");
    }
}

/// Strings a user may type that no question looks like: each runs both ways against every other
/// and against a normal question, and must not panic.
fn hostile_strings() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "\t\n  \r",
        "?!.,;:",
        "...",
        "!!!???",
        "🙂🙂🙂",
        "👍🏽👨‍👩‍👧",
        "e\u{301}\u{301}\u{301}",
        "\u{301}\u{308}",
        "a\u{200d}b",
        "مرحبا كم عدد الطلبات",
        "שלום עולם",
        "\u{202e}abc\u{202c}",
        "日本の売上は?",
        "销售总额是多少",
        "ＡＢＣ１２３",
        "1e999",
        "99999999999999999999999999",
        "-0",
        "1/0",
        "0/0",
        "3/4/",
        "13/13/2023",
        "Nov 31",
        "31st of February",
        "2023-13-45",
        "'80s'80s",
        "MMMMCMXCIX",
        "phase MMMM",
        "w/o w/ w/",
        ":) :( <3 :D",
        "a quarter of of of",
        "1 in 0",
        "one in zero",
        "first of",
        "the the the",
        "Sunday this",
        "the of a an to is are was",
        "ToTaL nUmBeR",
        "a-b-c-d-e",
        "''''",
        "٣٤٥",
        "No.",
        "no.",
        "No. ",
        "$",
        "$$",
        "$1e999",
        "€",
        "1,000,000,000,000,000,000,000",
        "0.5.5.5",
        "9 am pm",
        "half a",
        "a dozen",
        "two and a half",
        "and a half",
        "in a row",
        "per",
        "every",
        "each per by",
        "between and",
        "from to",
        "from January to",
        "between January and",
        "January through",
        "q1",
        "fy",
        "fy2",
        "FY99999",
        "1980's",
        "0's",
        "'s",
        "n't",
        "w/",
        "w",
        "x-",
        "-x",
        "--",
        "&&",
        "_",
        "__init__",
        "ࠠs",
        "aࠠed",
        "蠠蠠ed",
        "ǅǅǅ",
        "İİİ",
        "ßßß",
        "ﬀ",
        "Ⅻ",
        "phase Ⅻ",
        "½ of",
        "¼",
        "²³",
        "১২৩",
        "一二三",
        "⁴⁵",
        "32nd",
        "0th",
        "00",
        "0000-00-00",
        "2023-02-30",
        "30/02/2023",
        "12/12/2012",
        "31/31/2031",
        "Feb 0",
        "the 0th of May",
        "the 99th of may",
        "May may May",
        "twenty first",
        "twenty thirtieth",
        "the 80s their their",
        "nineties eighties",
        "1 out of",
        "out of",
        "1 out of every",
        "one in every",
        "a third of a third of",
        "two thirds",
        "thirds of",
        "least less lessest",
        "un",
        "non-",
        "un-un-un",
        "dis",
        "less",
        "cashlessless",
        "total number of number of",
        "how many how many",
        "at least at most",
        "not not not not",
        "this Sunday Sundays every Sunday",
        "sooooooooooooooo",
        "iiiiiiii",
        "xxxxxxxxx",
        "III IV",
        "phase iiii",
        "level ix",
        "ER ER ER",
        "ABCDEFGHIJ",
        "heat pump heatpump",
        "co-co-co-operative",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("revenue ".repeat(2048)); // 16 KB of one word
    v.push("x".repeat(16 * 1024)); // 16 KB without spaces
    v.push("é".repeat(8 * 1024)); // 16 KB of a two-byte letter
    v.push("蠠".repeat(5462)); // 16 KB of a three-byte letter
    v.push("1".repeat(16 * 1024));
    v.push("1,".repeat(8 * 1024));
    v.push("a-".repeat(8 * 1024));
    v.push("./".repeat(8 * 1024));
    v
}

#[test]
fn hostile_input_cannot_panic() {
    let normal = "How many orders did we ship to Germany in March 2023?";
    let odd = hostile_strings();
    for a in &odd {
        let _ = disagreement(a, normal);
        let _ = disagreement(normal, a);
        for b in &odd {
            // The long strings against each other only once each: they are slow in a debug build.
            if a.len() > 1000 && b.len() > 1000 && a != b {
                continue;
            }
            let _ = disagreement(a, b);
        }
    }
}

/// A small xorshift generator: the same strings on every run, no crate needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// Random strings from the closed word lists, digits, punctuation and non-ASCII letters.
fn random_strings(n: usize, seed: u64) -> Vec<String> {
    use crate::lexicon as lex;
    let mut words: Vec<&str> = Vec::new();
    words.extend(lex::FILLERS);
    words.extend(lex::keywords());
    words.extend(lex::ORDINALS.iter().map(|(w, _)| *w));
    words.extend(lex::FRACTIONS.iter().map(|(w, _)| *w));
    words.extend(lex::DECADES.iter().map(|(w, _)| *w));
    words.extend(lex::MONTH_ABBR);
    words.extend(lex::ABBREVIATIONS.iter().map(|(w, _)| *w));
    words.extend(lex::CHAT_SPELLINGS.iter().map(|(w, _)| *w));
    words.extend(lex::UNIT_ABBREVIATIONS.iter().map(|(w, _)| *w));
    words.extend(lex::COUNTING_NOUNS);
    words.extend(lex::NEGATIVE_PREFIXES);
    words.extend([
        "orders",
        "revenue",
        "customers",
        "shipped",
        "Germany",
        "Paris",
        "SKU-1042",
        "ix",
        "iv",
        "xii",
        "phase",
    ]);
    let bits = [
        "0", "1", "7", "12", "13", "31", "80s", "1980s", "'80s", "2023", "1e9", "3/4", "/", "-", "'", ".", ",", "?",
        "!", ":", ";", "(", ")", "%", "$", "€", "&", "_", ":)", "<3", "w/", "é", "\u{301}", "蠠", "ࠠ", "٣", "🙂", "İ",
        "ß", "’", "\"", "No.",
    ];
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let len = 1 + rng.below(14);
            let mut s = String::new();
            for _ in 0..len {
                match rng.below(10) {
                    0..=5 => {
                        let w = *rng.pick(&words);
                        // Some words capitalised, some glued to the next piece.
                        if rng.below(5) == 0 {
                            let mut c = w.chars();
                            s.extend(c.next().map(|f| f.to_ascii_uppercase()));
                            s.push_str(c.as_str());
                        } else {
                            s.push_str(w);
                        }
                    }
                    6..=8 => {
                        let bit: &&str = rng.pick(&bits[..]);
                        s.push_str(bit);
                    }
                    _ => s.push_str(&rng.below(100_000).to_string()),
                }
                if rng.below(4) != 0 {
                    s.push(' ');
                }
            }
            s
        })
        .collect()
}

#[test]
fn random_input_cannot_panic() {
    let normal = "How many orders did we ship to Germany in March 2023?";
    let strings = random_strings(3000, 0x9e37_79b9_7f4a_7c15);
    for pair in strings.chunks(2) {
        let a = &pair[0];
        let b = pair.get(1).unwrap_or(a);
        let _ = disagreement(a, b);
        let _ = disagreement(b, a);
        let _ = disagreement(a, normal);
        let _ = disagreement(normal, a);
    }
}

/// The first `n` bytes of `s`, ending on a character boundary.
fn cut(s: &str, n: usize) -> String {
    s.char_indices().take_while(|(i, c)| i + c.len_utf8() <= n).map(|(_, c)| c).collect()
}

#[test]
fn long_input_stays_fast() {
    let cases = [
        "revenue ".repeat(2048),
        "x".repeat(16 * 1024),
        cut(&random_strings(3000, 7).join(" "), 16 * 1024),
        cut(&random_strings(3000, 11).join(" "), 16 * 1024),
        // Distinct words on both sides, the same words in another order: every word matches, so
        // the role checks run over all of them.
        (0..640).map(|i| format!("w{i}q")).collect::<Vec<_>>().join(" "),
        (0..640).rev().map(|i| format!("w{i}q")).collect::<Vec<_>>().join(" "),
        // The same two words alternating, starting with either: many ways to split into parts.
        "apple pear ".repeat(340),
        "pear apple ".repeat(340),
    ];
    let normal = "How many orders did we ship to Germany in March 2023?";
    let _ = disagreement(normal, normal);
    for a in &cases {
        for b in cases.iter().map(String::as_str).chain([normal]) {
            let t = std::time::Instant::now();
            let _ = disagreement(a, b);
            let _ = disagreement(b, a);
            let took = t.elapsed();
            assert!(took < std::time::Duration::from_millis(1000), "{took:?} for {} / {} bytes", a.len(), b.len());
        }
    }
}

/// The worst case for the role checks: hundreds of distinct dictionary words, all matched, in
/// opposite orders on the two sides (verbs, which stop at the first swap found, and nouns that
/// are no verbs, which never do).
#[test]
fn long_reordered_words_stay_fast() {
    let dir = std::env::var("SIMBA_WORDNET_DIR").unwrap_or_else(|_| "/usr/share/wordnet".into());
    let (Ok(verbs), Ok(nouns)) =
        (std::fs::read_to_string(format!("{dir}/index.verb")), std::fs::read_to_string(format!("{dir}/index.noun")))
    else {
        eprintln!("WordNet missing: skipped");
        return;
    };
    let verb_set: std::collections::HashSet<&str> = verbs.lines().filter_map(|l| l.split(' ').next()).collect();
    let words = |index: &str, skip: usize| -> Vec<String> {
        index
            .lines()
            .skip(skip)
            .filter_map(|l| l.split(' ').next())
            .filter(|w| {
                (4..=8).contains(&w.len()) && w.chars().all(|c| c.is_ascii_lowercase()) && !crate::lexicon::is_filler(w)
            })
            .filter(|w| std::ptr::eq(index, verbs.as_str()) || !verb_set.contains(w))
            .step_by(7)
            // Within the length read (4000 characters), so both sides keep the same words.
            .scan(0, |len, w| {
                *len += w.len() + 1;
                (*len < 3900).then(|| w.to_string())
            })
            .collect()
    };
    for (list, other) in [(words(&verbs, 0), words(&verbs, 3)), (words(&nouns, 0), words(&nouns, 3))] {
        let a = list.join(" ");
        let b = list.iter().rev().cloned().collect::<Vec<_>>().join(" ");
        // Unrelated words throughout (another slice of the dictionary).
        let other = other.join(" ");
        for (x, y) in [(&a, &other), (&other, &a)] {
            let t = std::time::Instant::now();
            let why = disagreement(x, y);
            let took = t.elapsed();
            eprintln!(
                "unrelated {} / {} bytes: {took:?} {:?}",
                x.len(),
                y.len(),
                why.map(|w| w.chars().take(80).collect::<String>())
            );
        }
        for (x, y) in [(&a, &b), (&b, &a), (&a, &a)] {
            let t = std::time::Instant::now();
            let why = disagreement(x, y);
            let took = t.elapsed();
            eprintln!(
                "{} / {} bytes: {took:?} {:?}",
                x.len(),
                y.len(),
                why.map(|w| w.chars().take(80).collect::<String>())
            );
            assert!(took < std::time::Duration::from_millis(1000), "{took:?}");
        }
    }
}

/// `typo_apart` is the one-edit case of `edit_distance`, written as a single pass.
#[test]
fn typo_is_edit_distance_one() {
    use crate::token::{edit_distance, typo_apart};
    let mut rng = Rng(42);
    let letters = ['a', 'b', 'c', 'é'];
    let word = |rng: &mut Rng| -> String { (0..rng.below(6)).map(|_| *rng.pick(&letters[..])).collect() };
    for _ in 0..20_000 {
        let (a, b) = (word(&mut rng), word(&mut rng));
        assert_eq!(typo_apart(&a, &b, 0), edit_distance(&a, &b) == 1, "{a} / {b}");
    }
}

#[test]
fn long_texts_that_differ_past_the_read_limit_are_refused() {
    let head = "total revenue by region for the last quarter ".repeat(100);
    let (a, b) = (format!("{head} in euros"), format!("{head} in dollars"));
    assert!(a.chars().count() > crate::token::MAX_CHARS);
    assert!(disagreement(&a, &b).is_some());
    assert_eq!(disagreement(&a, &a), None, "the same text is the same question");
}

/// The WordNet is the caller's: a small one written here (two synonyms, one pair of opposites)
/// serves a rewording that no WordNet refuses, and refuses the opposites.
#[test]
fn a_small_wordnet_passed_in_is_the_one_read() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    // data.POS: offset, lexicographer file, type, word count (hex), words with their lex ids,
    // pointer count, pointers; index.POS: lemma, pos, synset count, pointer count, sense count,
    // tagged sense count, offsets. Offsets only name synsets here.
    write("data.noun", "00000001 18 n 02 physician 0 doctor 0 000 | a licensed medical practitioner\n");
    write("index.noun", "physician n 1 0 1 1 00000001\ndoctor n 1 0 1 1 00000001\n");
    write("data.verb", "");
    write("index.verb", "");
    write(
        "data.adj",
        "00000002 00 a 01 open 0 001 ! 00000003 a 0101 | not closed\n00000003 00 a 01 shut 0 001 ! 00000002 a 0101 | closed\n",
    );
    write("index.adj", "open a 1 1 ! 1 1 00000002\nshut a 1 1 ! 1 1 00000003\n");
    write("data.adv", "");
    write("index.adv", "");
    let small = Knowledge::load(dir.path()).unwrap();
    let none = Knowledge::without_wordnet();
    let (a, b) = ("Which physicians work at the clinic?", "Which doctors work at the clinic?");
    assert_eq!(super::objection(&small, a, b), None);
    assert!(super::objection(&none, a, b).is_some(), "without WordNet the two words are two details");
    let without = super::objection(&none, "Which gates are open?", "Which gates are shut?").map(|o| o.rule);
    assert_ne!(without, Some("opposite_words"), "only a WordNet knows these two are opposites");
    let o = super::objection(&small, "Which gates are open?", "Which gates are shut?").expect("opposites refused");
    assert_eq!(o.rule, "opposite_words", "{o:?}");
    // Facts need no WordNet at all.
    assert_eq!(super::objection(&none, "Orders over $500", "Orders over $50").map(|o| o.rule), Some("numbers"));
}

/// The layers lib.rs names hold: outside its tests, a module refers only to modules before it in
/// this order (a name re-exported at the top counts as its module's).
#[test]
fn modules_use_only_those_before_them() {
    const ORDER: &[&str] = &[
        "token",
        "rules",
        "lexicon",
        "wordnet",
        "knowledge",
        "aside",
        "fractions",
        "dates",
        "analyse",
        "facts",
        "spelling",
        "roles",
        "align",
        "lib",
    ];
    let module_of = |name: &str| -> Option<&str> {
        match name {
            "Knowledge" => Some("knowledge"),
            "WordNet" => Some("wordnet"),
            "Objection" | "Rule" | "RULES" => Some("rules"),
            "objection" | "explain" | "Explanation" => Some("lib"),
            other => ORDER.iter().copied().find(|m| *m == other),
        }
    };
    let mut wrong = Vec::new();
    for (at, module) in ORDER.iter().enumerate() {
        let source = std::fs::read_to_string(format!("{}/src/{module}.rs", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, prefix) in line.match_indices("crate::") {
                let rest = &line[i + prefix.len()..];
                // `crate::x`, or each name of `crate::{x, y}`.
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group.split('}').next().unwrap_or_default().split(',').collect(),
                    None => vec![rest],
                };
                for name in names {
                    let name: String = name.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    let used = module_of(&name).unwrap_or_else(|| panic!("{module}.rs: unknown crate::{name}"));
                    if ORDER.iter().position(|m| *m == used).is_some_and(|u| u >= at) && used != *module {
                        wrong.push(format!("{module}.rs uses {used} (crate::{name})"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

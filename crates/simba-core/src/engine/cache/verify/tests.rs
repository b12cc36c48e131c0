//! Pass/refuse examples written for these checks (none come from the eval files).

use super::disagreement;

#[test]
fn paraphrases_pass() {
    let mut failed = Vec::new();
    for (a, b) in [
        ("How many orders did we get in March?", "What is the number of orders in March?"),
        ("What was total revenue in 2023?", "Total revenue for 2023?"),
        ("Show the top 5 customers by sales", "Which 5 customers have the highest sales?"),
        ("average order value last month", "What was the mean order value last month?"),
        ("Which stores are in Berlin?", "List the stores located in Berlin"),
        ("Which clients signed up in June?", "Which customers registered in June?"),
        ("Tickets closed in the last 48 hours", "tickets closed in the past two days"),
        ("Orders above $2,000", "orders over two thousand dollars"),
        ("What's the AOV in Canada?", "what is the average order value in canada"),
        ("Refunds issued per week this year", "weekly refunds issued this year"),
        ("Which products are out of stock?", "Which products are sold out?"),
        ("How do I turn on dark mode?", "How do I enable dark mode?"),
        ("How many accounts are unverified?", "How many accounts are not verified?"),
        ("Quick question: how many invoices are overdue?", "how many invoices are overdue"),
        ("What is the delivery time to Spain?", "What is the delivry time to Spain?"),
    ] {
        if let Some(why) = disagreement(a, b) {
            failed.push(format!("{a} / {b}: {why}"));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn traps_are_refused() {
    let mut failed = Vec::new();
    for (a, b) in [
        ("Which stores are open on Sundays?", "Which stores are closed on Sundays?"),
        ("Total revenue in 2023", "Total revenue in 2024"),
        ("Show the top 5 customers", "Show the top 10 customers"),
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
        "", " ", "?", "🙂🙂", "naïve café résumé", "$", "$$$5", "5%", "%", "1,,2", "1.2.3", "-", "--x--", "n't", "'s",
        "a-", "-1", "q", "Q5", "h9", "١٢٣", "日本の売上は?", "ＡＢＣ", "x_y_z", "don't won't can't", "0.000000001",
        "99999999999999999999999999999999", "1e400", "half half half", "a dozen dozen", "one hundred thousand million",
        long.as_str(), "last", "per", "by", "who", "whom did", "from to from to",
    ];
    for a in odd {
        for b in odd {
            let _ = disagreement(a, b);
        }
    }
}

#[test]
fn cost_per_candidate_is_small() {
    let (q, c) = (
        "Which customers in the Northeast region spent more than $500 on electronics in Q3 2024, excluding refunds?",
        "In Q3 2024, which Northeast customers spent over $500 on electronics, not counting refunds?",
    );
    let _ = disagreement(q, c);
    let n = 200;
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(disagreement(std::hint::black_box(q), std::hint::black_box(c)));
    }
    let per = t.elapsed() / n;
    // Debug builds are slow; this still has to stay far below one embedding (milliseconds).
    assert!(per < std::time::Duration::from_millis(2), "{per:?} per check");
    eprintln!("verify cost: {per:?} per candidate (debug build)");
}

//! `simba-tuner explain` against a real PostgreSQL: the plan of a read, and writes refused before
//! they reach the server.

mod common;

use common::Cli;
use simba_testkit::PostgresServer;

#[test]
fn explains_reads_and_refuses_writes_before_sending_them() {
    let pg = PostgresServer::start().unwrap();
    pg.psql(
        "CREATE TABLE items(id int PRIMARY KEY, price int);
         INSERT INTO items SELECT g, g % 100 FROM generate_series(1, 20000) g;
         CREATE SEQUENCE s; ANALYZE; SELECT pg_stat_statements_reset();",
    )
    .unwrap();
    let cli = Cli::new();
    let url = pg.url();

    let r = cli.json(&[
        "explain",
        "--postgres",
        &url,
        "SELECT i.price, count(*) FROM items i JOIN items j ON j.id = i.id WHERE i.price > 10 GROUP BY 1",
        "--json",
    ]);
    assert!(r["execution_ms"].as_f64().unwrap() > 0.0);
    // Exactly one node is marked, and it is the one slowest_path leads to.
    fn count(n: &serde_json::Value) -> usize {
        (n["slowest"] == true) as usize + n["children"].as_array().unwrap().iter().map(count).sum::<usize>()
    }
    assert_eq!(count(&r["plan"]), 1);
    let mut node = &r["plan"];
    for i in r["slowest_path"].as_array().unwrap() {
        node = &node["children"][i.as_u64().unwrap() as usize];
    }
    assert_eq!(node["slowest"], true);
    let text = r["plan"].to_string();
    assert!(text.contains("\"relation\":\"items\""), "{text}");
    assert!(text.contains("Filter: (price > 10)"), "{text}");

    let out = cli.run(&["explain", "--postgres", &url, "SELECT count(*) FROM items"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("<- slowest") && text.contains("rolled back"), "{text}");

    for (sql, why) in [
        ("DELETE FROM items", "starts with DELETE"),
        ("WITH d AS (DELETE FROM items RETURNING id) SELECT count(*) FROM d", "contains DELETE"),
        ("SELECT nextval('s')", "nextval"),
        ("SELECT pg_terminate_backend(pg_backend_pid())", "pg_terminate_backend"),
    ] {
        let out = cli.run(&["explain", "--postgres", &url, sql, "--json"]);
        assert_eq!(out.status.code(), Some(1), "{sql}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not explained") && err.contains(why), "{sql}: {err}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("read_only"));
    }
    // None of them reached the server: the rows and the sequence are untouched, and
    // pg_stat_statements never saw them.
    assert_eq!(pg.psql("SELECT count(*) FROM items").unwrap().trim(), "20000");
    assert_eq!(pg.psql("SELECT last_value || ' ' || is_called FROM s").unwrap().trim(), "1 false");
    let seen = pg.psql("SELECT count(*) FROM pg_stat_statements WHERE query ILIKE '%delete%' OR query ILIKE '%nextval%' OR query ILIKE '%terminate%'").unwrap();
    assert_eq!(seen.trim(), "0");

    // statement_timeout applies.
    let out = cli.run(&["explain", "--postgres", &url, "SELECT pg_sleep(2)", "--timeout-ms", "200"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("statement_timeout"));
}

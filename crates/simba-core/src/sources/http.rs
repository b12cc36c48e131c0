//! What the HTTP collectors (Prometheus, Kubernetes) share: a client with timeouts, and one reading
//! of a transport failure (refused, timed out, TLS, DNS) as a message that says what to check.
//! Messages never hold the URL reqwest saw: it may carry a password; callers name the server by
//! its redacted `display`.

use super::{CONNECT_TIMEOUT, QUERY_TIMEOUT};
use crate::error::{ApiError, ErrorCode};

/// A client for one collector call: connect and whole-request timeouts, no redirects (a redirect
/// to a login page is a wrong URL, not an answer).
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(QUERY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
}

/// The innermost cause of an error (e.g. "Connection refused (os error 111)").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// A request that got no HTTP answer, as a message naming `what` at `display` and what to check.
pub fn transport_error(what: &str, display: &str, e: reqwest::Error) -> ApiError {
    let e = e.without_url();
    let cause = root_cause(&e);
    let hint = if e.is_timeout() {
        format!(
            "{what} at {display} did not answer within {} s; check the address and any firewall",
            QUERY_TIMEOUT.as_secs()
        )
    } else if cause.contains("certificate") || cause.contains("tls") || cause.contains("TLS") {
        format!(
            "TLS with {what} at {display} failed ({cause}); check the CA certificate, or use http:// if the server \
             has no TLS"
        )
    } else if e.is_connect() {
        format!("cannot reach {what} at {display} ({cause}); check the URL, the port and that {what} is running")
    } else {
        format!("the request to {what} at {display} failed ({cause})")
    };
    ApiError::new(ErrorCode::Unreachable, hint)
}

/// The first `n` characters of a body, on one line, for an error message.
pub fn snippet(body: &str, n: usize) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

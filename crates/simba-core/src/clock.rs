//! The wall clock, in the units the stores and reports keep (one place, so tests and readers
//! find it once).

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Unix time in seconds, with fractions (Celery's event timestamps).
pub fn now_secs() -> f64 {
    now_ms() as f64 / 1000.0
}

//! What every online provider's requests share (embeddings and chat alike): reading
//! `Retry-After`, back-off, error chains in one line, and a provider's own error message scrubbed
//! of the key.

use serde_json::Value;
use std::time::Duration;
use url::Url;

/// No back-off is longer, whatever a provider asks.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Whether `url` names this machine (plain http is allowed only there, and no proxy is used).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Exponential from `base` with ±25% jitter, or what the provider asked for; both capped.
pub fn backoff(base: Duration, retry: u32, asked: Option<Duration>) -> Duration {
    if let Some(d) = asked {
        return d.min(MAX_BACKOFF);
    }
    let base = base.saturating_mul(1 << retry.saturating_sub(1).min(10));
    base.mul_f64(0.75 + rand::random::<f64>() * 0.5).min(MAX_BACKOFF)
}

/// `Retry-After` in seconds, or OpenAI/Azure's `retry-after-ms`.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok());
    get("retry-after-ms")
        .map(|ms| ms / 1000.0)
        .or_else(|| get("retry-after"))
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(MAX_BACKOFF.as_secs_f64())))
}

/// An error and its causes, one line, without duplicates.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The provider's own error message (`{"error": {"message": ..}}` for all three), clipped and
/// scrubbed of the key.
pub fn provider_message(body: &[u8], key: &str) -> Option<String> {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v["error"]["message"]
            .as_str()
            .or_else(|| v["message"].as_str())
            .or_else(|| v["error"].as_str())
            .map(str::to_string),
        Err(_) => std::str::from_utf8(body).ok().map(str::to_string),
    }?;
    let text = scrub(text.split_whitespace().collect::<Vec<_>>().join(" ").as_str(), key);
    if text.is_empty() {
        return None;
    }
    let mut clipped: String = text.chars().take(300).collect();
    if clipped.len() < text.len() {
        clipped.push('…');
    }
    Some(clipped)
}

/// Removes the key from a provider's message, and any word that shares its first six or last
/// four characters (providers echo refused keys half-masked, like `sk-pro****wxyz`).
pub fn scrub(text: &str, key: &str) -> String {
    if key.is_empty() {
        return text.to_string();
    }
    let text = text.replace(key, "***");
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 10 {
        return text;
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    text.split(' ')
        .map(|w| if w.contains(&head) || w.contains(&tail) { "***" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_messages_never_carry_the_key() {
        let key = "sk-proj-abcdefghijklmnop1234";
        let body = br#"{"error": {"message": "Incorrect API key provided: sk-proj-abcdefghijklmnop1234. Or sk-pro*****1234.", "type": "invalid_request_error"}}"#;
        let m = provider_message(body, key).unwrap();
        assert!(!m.contains(key) && !m.contains("sk-pro") && !m.contains("1234"), "{m}");
        assert!(m.starts_with("Incorrect API key provided"), "{m}");
        assert_eq!(provider_message(b"upstream down", "k").as_deref(), Some("upstream down"));
        assert_eq!(provider_message(b"", "k"), None);
    }

    #[test]
    fn retry_after_headers() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        h.insert("retry-after-ms", "99999999".parse().unwrap());
        assert_eq!(retry_after(&h), Some(MAX_BACKOFF));
    }
}

//! Google service-account credentials for Vertex AI: the OAuth 2.0 JWT bearer grant (RFC 7523) as
//! Google's own libraries do it. From the key file Google hands out (`"type": "service_account"`,
//! `client_email`, `private_key` in PKCS#8 PEM, `private_key_id`, `token_uri`), a JWT signed with
//! RS256 (`iss` the account, `scope` cloud-platform, `aud` the token URI, an hour at most) is
//! exchanged at `token_uri` for an access token (`{"access_token", "expires_in", "token_type"}`),
//! kept until a minute before it expires. ring (already in the tree through rustls) signs.
//!
//! Secrets: the private key never leaves this module and is never shown; the access token is a
//! [`Secret`]; errors name the key file and Google's own error code, never key material.

use crate::engine::provider::http::{chain, is_loopback};
use crate::secret::Secret;
use base64::Engine as _;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What Vertex AI needs (Google's libraries ask the same for it).
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Google's token endpoint, when the key file names none.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The longest a signed assertion may live (Google refuses longer).
const ASSERTION_LIFETIME: Duration = Duration::from_secs(3600);
/// A token this close to its end is fetched anew rather than sent.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// The key file's fields this flow reads (others, such as `client_id`, are ignored).
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

/// Whether `text` is a service-account key file (rather than a bare access token).
pub fn is_service_account_key(text: &str) -> bool {
    serde_json::from_str::<KeyFile>(text.trim()).is_ok_and(|k| k.kind.as_deref() == Some("service_account"))
}

/// One service account: its signing key and the token it last got.
pub struct ServiceAccount {
    path: PathBuf,
    client_email: String,
    key_id: Option<String>,
    key: RsaKeyPair,
    token_uri: reqwest::Url,
    http: reqwest::Client,
    cached: tokio::sync::Mutex<Option<(Secret, Instant)>>,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("path", &self.path)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri.as_str())
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Reads and checks the key file (a missing field, a key that is not PKCS#8 RSA, a token URI
    /// that is not https: each a message naming the file).
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| format!("the key file {shown} could not be read: {e}"))?;
        let file: KeyFile = serde_json::from_str(text.trim())
            .map_err(|e| format!("the key file {shown} is not a Google service-account key (JSON): {e}"))?;
        if file.kind.as_deref() != Some("service_account") {
            return Err(format!(
                "the key file {shown} is not a service-account key (its \"type\" is {:?}); create one with `gcloud iam \
                 service-accounts keys create`",
                file.kind.unwrap_or_default()
            ));
        }
        let field = |v: Option<String>, name: &str| {
            v.filter(|s| !s.trim().is_empty()).ok_or_else(|| format!("the key file {shown} has no \"{name}\""))
        };
        let client_email = field(file.client_email, "client_email")?;
        let pem = field(file.private_key, "private_key")?;
        let der = pem_body(&pem, "PRIVATE KEY")
            .ok_or_else(|| format!("the \"private_key\" of {shown} is not a PEM \"PRIVATE KEY\" (PKCS#8)"))?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| format!("the \"private_key\" of {shown} is not a usable RSA key ({e})"))?;
        let uri = file.token_uri.filter(|u| !u.trim().is_empty()).unwrap_or_else(|| DEFAULT_TOKEN_URI.into());
        let token_uri =
            reqwest::Url::parse(uri.trim()).map_err(|e| format!("the \"token_uri\" of {shown} is not a URL ({e})"))?;
        let local = is_loopback(&token_uri);
        if token_uri.scheme() != "https" && !(token_uri.scheme() == "http" && local) {
            return Err(format!("the \"token_uri\" of {shown} must be https (plain http only to this machine)"));
        }
        let mut http = reqwest::Client::builder().timeout(TOKEN_TIMEOUT);
        if local {
            http = http.no_proxy();
        }
        let http = http.build().map_err(|e| format!("could not set up the HTTP client: {}", chain(&e)))?;
        Ok(Self {
            path: path.to_path_buf(),
            client_email,
            key_id: file.private_key_id.filter(|s| !s.is_empty()),
            key,
            token_uri,
            http,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// An access token: the one kept while it has more than a minute left, else a new one.
    pub async fn token(&self) -> Result<Secret, String> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() + REFRESH_MARGIN < *until {
                return Ok(token.clone());
            }
        }
        let (token, lifetime) = self.exchange().await?;
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// Forgets the kept token (after the provider refused it: revoked, or the clock was off).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    /// The signed JWT for the grant, at `now` (seconds since the epoch).
    fn assertion(&self, now: u64) -> Result<String, String> {
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = kid.clone().into();
        }
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": CLOUD_PLATFORM_SCOPE,
            "aud": self.token_uri.as_str(),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME.as_secs(),
        });
        let signing_input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signing_input.as_bytes(), &mut signature)
            .map_err(|_| format!("could not sign with the key of {}", self.path.display()))?;
        Ok(format!("{signing_input}.{}", b64(&signature)))
    }

    async fn exchange(&self) -> Result<(Secret, Duration), String> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        let assertion = self.assertion(now)?;
        let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion.as_str())];
        let uri = self.token_uri.as_str();
        let resp = self
            .http
            .post(self.token_uri.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("could not reach Google's token endpoint {uri}: {}", chain(&e.without_url())))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("the token endpoint {uri} broke off: {}", chain(&e)))?;
        #[derive(Deserialize)]
        struct Answer {
            access_token: Option<String>,
            expires_in: Option<f64>,
            error: Option<String>,
            error_description: Option<String>,
        }
        let answer: Option<Answer> = serde_json::from_slice(&body).ok();
        match answer {
            Some(Answer { access_token: Some(token), expires_in, .. }) if status.is_success() && !token.is_empty() => {
                let secs = expires_in.filter(|s| s.is_finite() && *s > 0.0).unwrap_or(3600.0).min(86_400.0);
                Ok((Secret::new(token), Duration::from_secs_f64(secs)))
            }
            Some(Answer { error: Some(code), error_description, .. }) => {
                let why = error_description.map(|d| format!(": {d}")).unwrap_or_default();
                let hint = match code.as_str() {
                    "invalid_grant" => {
                        " (a deleted or disabled key, a wrong key for the account, or this machine's clock more than \
                         a few minutes off)"
                    }
                    "unauthorized_client" | "access_denied" => " (the account may not use this scope)",
                    _ => "",
                };
                Err(format!(
                    "Google's token endpoint refused the service account {} of {} (HTTP {}, {code}{why}){hint}",
                    self.client_email,
                    self.path.display(),
                    status.as_u16()
                ))
            }
            _ => Err(format!(
                "the token endpoint {uri} answered HTTP {} without a token: {}",
                status.as_u16(),
                String::from_utf8_lossy(&body).chars().take(120).collect::<String>()
            )),
        }
    }
}

/// The DER bytes inside `-----BEGIN {label}-----` … `-----END {label}-----`.
fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let b64: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_told_from_tokens_and_checked() {
        assert!(is_service_account_key(r#"{"type": "service_account", "client_email": "a@b"}"#));
        assert!(!is_service_account_key("ya29.a0AfH6SMB"));
        assert!(!is_service_account_key(r#"{"type": "authorized_user"}"#));
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let e = ServiceAccount::from_file(&write("user.json", r#"{"type": "authorized_user"}"#)).unwrap_err();
        assert!(e.contains("not a service-account key"), "{e}");
        let e = ServiceAccount::from_file(&write("no-email.json", r#"{"type": "service_account"}"#)).unwrap_err();
        assert!(e.contains("no \"client_email\""), "{e}");
        let bad_key = r#"{"type": "service_account", "client_email": "a@b", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#;
        let e = ServiceAccount::from_file(&write("bad-key.json", bad_key)).unwrap_err();
        assert!(e.contains("not a usable RSA key"), "{e}");
        assert!(!e.contains("AAAA"), "no key material in messages: {e}");
        let e = ServiceAccount::from_file(&dir.path().join("missing.json")).unwrap_err();
        assert!(e.contains("could not be read"), "{e}");
    }

    #[test]
    fn pem_bodies() {
        let pem = "junk\n-----BEGIN PRIVATE KEY-----\nAQID\nBA==\n-----END PRIVATE KEY-----\n";
        assert_eq!(pem_body(pem, "PRIVATE KEY"), Some(vec![1, 2, 3, 4]));
        assert_eq!(pem_body(pem, "RSA PRIVATE KEY"), None);
    }
}

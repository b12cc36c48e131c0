//! Connection profiles: which Redis, PostgreSQL, Prometheus, Kubernetes API and Celery broker a
//! profile watches, and whether it may write. Non-secret settings live in `profiles.toml` in the
//! config folder; passwords and tokens are split out of URLs into `secrets.toml`, which only the
//! user can read (mode 0600). Environment variables (`SIMBA_REDIS_URL`, …) give a profile named
//! `env`; the built-in `embedded` profile is the local engine and needs nothing.

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use ts_rs::TS;
use url::Url;

pub const EMBEDDED: &str = "embedded";
pub const ENV: &str = "env";

/// The kinds of endpoint a profile can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Service {
    Redis,
    Postgres,
    Prometheus,
    Kubernetes,
    CeleryBroker,
}

impl Service {
    pub const ALL: [Service; 5] =
        [Service::Redis, Service::Postgres, Service::Prometheus, Service::Kubernetes, Service::CeleryBroker];

    pub fn label(self) -> &'static str {
        match self {
            Service::Redis => "Redis",
            Service::Postgres => "PostgreSQL",
            Service::Prometheus => "Prometheus",
            Service::Kubernetes => "Kubernetes API",
            Service::CeleryBroker => "Celery broker",
        }
    }
    fn schemes(self) -> &'static [&'static str] {
        match self {
            Service::Redis | Service::CeleryBroker => &["redis", "rediss"],
            Service::Postgres => &["postgres", "postgresql"],
            Service::Prometheus | Service::Kubernetes => &["http", "https"],
        }
    }
    fn env_var(self) -> &'static str {
        match self {
            Service::Redis => "SIMBA_REDIS_URL",
            Service::Postgres => "SIMBA_POSTGRES_URL",
            Service::Prometheus => "SIMBA_PROMETHEUS_URL",
            Service::Kubernetes => "SIMBA_KUBERNETES_URL",
            Service::CeleryBroker => "SIMBA_CELERY_BROKER_URL",
        }
    }
    fn key(self) -> &'static str {
        match self {
            Service::Redis => "redis",
            Service::Postgres => "postgres",
            Service::Prometheus => "prometheus",
            Service::Kubernetes => "kubernetes",
            Service::CeleryBroker => "celery_broker",
        }
    }
}

/// What the form (or CLI) submits. URLs may carry a password; it is moved to the secrets file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ProfileInput {
    pub name: String,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub redis_url: Option<String>,
    #[serde(default)]
    pub postgres_url: Option<String>,
    #[serde(default)]
    pub prometheus_url: Option<String>,
    #[serde(default)]
    pub kubernetes_url: Option<String>,
    /// Bearer token for the Kubernetes API; stored as a secret. `None` keeps the stored one.
    #[serde(default)]
    pub kubernetes_token: Option<String>,
    #[serde(default)]
    pub celery_broker_url: Option<String>,
}

/// How a profile is shown: URLs without secrets, and whether a secret is stored for each.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct ProfileView {
    pub name: String,
    pub read_only: bool,
    /// `embedded`, `env` or `file`.
    pub origin: String,
    pub endpoints: Vec<EndpointView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct EndpointView {
    pub service: Service,
    /// The URL with any password replaced by `***`.
    pub url: String,
    pub has_secret: bool,
}

/// One endpoint ready to connect: the full URL is a [`Secret`]; `display` is safe to print.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub service: Service,
    pub url: Secret,
    pub display: String,
    /// Bearer token (Kubernetes).
    pub token: Option<Secret>,
}

/// A profile with its secrets joined back in, ready for the collectors.
#[derive(Debug, Clone)]
pub struct ResolvedProfile {
    pub name: String,
    pub read_only: bool,
    pub endpoints: Vec<Endpoint>,
}

impl ResolvedProfile {
    pub fn endpoint(&self, service: Service) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.service == service)
    }
    /// The built-in profile: only the local engine and this host.
    pub fn embedded() -> Self {
        Self { name: EMBEDDED.into(), read_only: false, endpoints: vec![] }
    }
    /// An ad-hoc profile from URLs given on the command line (`status --redis URL`).
    pub fn ad_hoc(urls: &[(Service, &str)]) -> ApiResult<Self> {
        let mut endpoints = Vec::new();
        for (service, raw) in urls {
            let (stored, secret) = split_secret(*service, raw)?;
            endpoints.push(join_secret(*service, &stored, secret.as_ref(), None));
        }
        Ok(Self { name: "command-line".into(), read_only: true, endpoints })
    }
}

/// On disk: `profiles.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct StoredProfile {
    name: String,
    #[serde(default)]
    read_only: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    urls: BTreeMap<String, String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ProfilesFile {
    #[serde(default, rename = "profile")]
    profiles: Vec<StoredProfile>,
}

/// On disk: `secrets.toml`, `[profile_name] service = "password"`.
type SecretsFile = BTreeMap<String, BTreeMap<String, String>>;

/// Reads and writes the profile files in one config folder.
#[derive(Debug, Clone)]
pub struct ProfileStore {
    dir: PathBuf,
}

impl ProfileStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    fn profiles_path(&self) -> PathBuf {
        self.dir.join("profiles.toml")
    }
    fn secrets_path(&self) -> PathBuf {
        self.dir.join("secrets.toml")
    }

    fn read_profiles(&self) -> ApiResult<ProfilesFile> {
        let path = self.profiles_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                ApiError::new(
                    ErrorCode::BadConfig,
                    format!("{} is not valid profile TOML: {}. Fix or remove the file.", path.display(), e.message()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ProfilesFile::default()),
            Err(e) => Err(ApiError::new(ErrorCode::BadConfig, format!("cannot read {}: {e}", path.display()))),
        }
    }

    fn read_secrets(&self) -> ApiResult<SecretsFile> {
        let path = self.secrets_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                // The parser's message can quote the offending line, which may hold a secret.
                let _ = e;
                ApiError::new(
                    ErrorCode::BadConfig,
                    format!("{} is not valid TOML; fix it or remove it and re-enter the passwords", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SecretsFile::default()),
            Err(e) => Err(ApiError::new(ErrorCode::BadConfig, format!("cannot read {}: {e}", path.display()))),
        }
    }

    fn write_file(&self, path: &Path, text: &str, private: bool) -> ApiResult<()> {
        let io =
            |e: std::io::Error| ApiError::new(ErrorCode::BadConfig, format!("cannot write {}: {e}", path.display()));
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        // Write beside, then rename: a crash never leaves half a file.
        let tmp = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            if private {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let _ = private;
            let mut f = opts.open(&tmp).map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }

    /// All profiles: the built-in `embedded`, `env` when its variables are set, then the saved ones.
    pub fn list(&self) -> ApiResult<Vec<ProfileView>> {
        let mut out =
            vec![ProfileView { name: EMBEDDED.into(), read_only: false, origin: "embedded".into(), endpoints: vec![] }];
        if let Some(env) = env_profile()? {
            out.push(view_of(&env, "env"));
        }
        for p in self.read_profiles()?.profiles {
            let secrets = self.read_secrets()?;
            let resolved = resolve_stored(&p, secrets.get(&p.name));
            out.push(view_of(&resolved, "file"));
        }
        Ok(out)
    }

    /// The profile with its secrets, ready to connect.
    pub fn resolve(&self, name: &str) -> ApiResult<ResolvedProfile> {
        if name == EMBEDDED {
            return Ok(ResolvedProfile::embedded());
        }
        if name == ENV {
            return env_profile()?.ok_or_else(|| {
                ApiError::not_found(
                    "profile 'env' needs at least one SIMBA_*_URL environment variable (e.g. SIMBA_REDIS_URL)",
                )
            });
        }
        let file = self.read_profiles()?;
        let p = file.profiles.iter().find(|p| p.name == name).ok_or_else(|| {
            let known: Vec<_> = file.profiles.iter().map(|p| p.name.as_str()).collect();
            ApiError::not_found(format!(
                "no profile named '{name}' (known: embedded{}{}); add one in the app or with `simba-tuner profile add`",
                if known.is_empty() { "" } else { ", " },
                known.join(", ")
            ))
        })?;
        let secrets = self.read_secrets()?;
        Ok(resolve_stored(p, secrets.get(name)))
    }

    /// Creates or replaces a profile. Validates every URL first; nothing is written on error.
    pub fn save(&self, input: &ProfileInput) -> ApiResult<ProfileView> {
        let name = input.name.trim();
        validate_name(name)?;
        let mut stored = StoredProfile { name: name.to_string(), read_only: input.read_only, urls: BTreeMap::new() };
        let mut secrets = self.read_secrets()?;
        let previous_secrets = secrets.get(name).cloned().unwrap_or_default();
        let mut new_secrets = BTreeMap::new();
        let fields = [
            (Service::Redis, &input.redis_url),
            (Service::Postgres, &input.postgres_url),
            (Service::Prometheus, &input.prometheus_url),
            (Service::Kubernetes, &input.kubernetes_url),
            (Service::CeleryBroker, &input.celery_broker_url),
        ];
        for (service, value) in fields {
            let Some(raw) = value.as_deref().map(str::trim).filter(|s| !s.is_empty()) else { continue };
            let (url, secret) = split_secret(service, raw)?;
            // A URL re-submitted with `***` (as the form shows it) keeps the stored password.
            let secret = match secret {
                Some(s) if s.expose() == "***" => previous_secrets.get(service.key()).cloned().map(Secret::new),
                other => other,
            };
            if let Some(s) = secret {
                new_secrets.insert(service.key().to_string(), s.expose().to_string());
            }
            stored.urls.insert(service.key().to_string(), url);
        }
        match input.kubernetes_token.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => {
                new_secrets.insert("kubernetes_token".into(), t.to_string());
            }
            Some(_) => {}
            None => {
                if let Some(t) = previous_secrets.get("kubernetes_token") {
                    new_secrets.insert("kubernetes_token".into(), t.clone());
                }
            }
        }
        let mut file = self.read_profiles()?;
        file.profiles.retain(|p| p.name != name);
        file.profiles.push(stored.clone());
        file.profiles.sort_by(|a, b| a.name.cmp(&b.name));
        if new_secrets.is_empty() {
            secrets.remove(name);
        } else {
            secrets.insert(name.to_string(), new_secrets);
        }
        self.write_file(
            &self.secrets_path(),
            &toml::to_string(&secrets).map_err(|e| ApiError::internal(e.to_string()))?,
            true,
        )?;
        self.write_file(
            &self.profiles_path(),
            &toml::to_string(&file).map_err(|e| ApiError::internal(e.to_string()))?,
            false,
        )?;
        Ok(view_of(&resolve_stored(&stored, secrets.get(name)), "file"))
    }

    pub fn delete(&self, name: &str) -> ApiResult<()> {
        let mut file = self.read_profiles()?;
        let before = file.profiles.len();
        file.profiles.retain(|p| p.name != name);
        if file.profiles.len() == before {
            return Err(ApiError::not_found(format!("no saved profile named '{name}'")));
        }
        let mut secrets = self.read_secrets()?;
        secrets.remove(name);
        self.write_file(
            &self.secrets_path(),
            &toml::to_string(&secrets).map_err(|e| ApiError::internal(e.to_string()))?,
            true,
        )?;
        self.write_file(
            &self.profiles_path(),
            &toml::to_string(&file).map_err(|e| ApiError::internal(e.to_string()))?,
            false,
        )?;
        Ok(())
    }
}

fn validate_name(name: &str) -> ApiResult<()> {
    if name.is_empty() || name.len() > 64 {
        return Err(ApiError::invalid("a profile name needs 1 to 64 characters"));
    }
    if name == EMBEDDED || name == ENV {
        return Err(ApiError::invalid(format!("'{name}' is a built-in profile name; choose another")));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(ApiError::invalid(format!(
            "profile name '{name}' may only hold letters, digits, '-', '_' and '.'"
        )));
    }
    Ok(())
}

/// Parses and checks a URL for `service`; returns it without its password, and the password.
pub fn split_secret(service: Service, raw: &str) -> ApiResult<(String, Option<Secret>)> {
    let mut url = Url::parse(raw).map_err(|e| {
        ApiError::invalid(format!(
            "{} URL '{}' is not a valid URL ({e}); expected e.g. {}",
            service.label(),
            redact_url(raw),
            example(service)
        ))
    })?;
    if !service.schemes().contains(&url.scheme()) {
        return Err(ApiError::invalid(format!(
            "{} URL '{}' has scheme '{}'; expected {} (e.g. {})",
            service.label(),
            redact_url(raw),
            url.scheme(),
            service.schemes().iter().map(|s| format!("{s}://")).collect::<Vec<_>>().join(" or "),
            example(service)
        )));
    }
    if url.host_str().map_or(true, str::is_empty) {
        return Err(ApiError::invalid(format!("{} URL '{}' names no host", service.label(), redact_url(raw))));
    }
    let secret = url.password().map(|p| Secret::new(percent_decode(p)));
    if secret.is_some() {
        let _ = url.set_password(None);
    }
    Ok((url.to_string(), secret))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

fn example(service: Service) -> &'static str {
    match service {
        Service::Redis => "redis://127.0.0.1:6379/0",
        Service::CeleryBroker => "redis://127.0.0.1:6379/1",
        Service::Postgres => "postgres://user@127.0.0.1:5432/dbname",
        Service::Prometheus => "http://127.0.0.1:9090",
        Service::Kubernetes => "https://127.0.0.1:6443",
    }
}

/// A URL safe to show: any password becomes `***`. Unparseable text is cut at the last '@'.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => match raw.rfind('@') {
            Some(i) => format!("***{}", &raw[i..]),
            None => raw.to_string(),
        },
    }
}

fn join_secret(service: Service, stored_url: &str, secret: Option<&Secret>, token: Option<Secret>) -> Endpoint {
    let mut full = Url::parse(stored_url).expect("stored URLs were validated on save");
    if let Some(s) = secret {
        if full.username().is_empty() && matches!(service, Service::Redis | Service::CeleryBroker) {
            // redis://:password@host is the usual form for a password without a user.
            let _ = full.set_username("");
        }
        let _ = full.set_password(Some(s.expose()));
    }
    Endpoint { service, url: Secret::new(full.to_string()), display: redact_url(full.as_str()), token }
}

fn resolve_stored(p: &StoredProfile, secrets: Option<&BTreeMap<String, String>>) -> ResolvedProfile {
    let mut endpoints = Vec::new();
    for service in Service::ALL {
        if let Some(url) = p.urls.get(service.key()) {
            let secret = secrets.and_then(|s| s.get(service.key())).map(|s| Secret::new(s.clone()));
            let token = if service == Service::Kubernetes {
                secrets.and_then(|s| s.get("kubernetes_token")).map(|s| Secret::new(s.clone()))
            } else {
                None
            };
            if Url::parse(url).is_ok() {
                endpoints.push(join_secret(service, url, secret.as_ref(), token));
            }
        }
    }
    ResolvedProfile { name: p.name.clone(), read_only: p.read_only, endpoints }
}

fn env_profile() -> ApiResult<Option<ResolvedProfile>> {
    let mut endpoints = Vec::new();
    for service in Service::ALL {
        if let Ok(raw) = std::env::var(service.env_var()) {
            if raw.trim().is_empty() {
                continue;
            }
            let (url, secret) = split_secret(service, raw.trim()).map_err(|e| {
                ApiError::new(e.code, format!("environment variable {}: {}", service.env_var(), e.message))
            })?;
            let token = if service == Service::Kubernetes {
                std::env::var("SIMBA_KUBERNETES_TOKEN").ok().map(Secret::new)
            } else {
                None
            };
            endpoints.push(join_secret(service, &url, secret.as_ref(), token));
        }
    }
    if endpoints.is_empty() {
        return Ok(None);
    }
    let read_only = matches!(std::env::var("SIMBA_READ_ONLY").as_deref(), Ok("1" | "true" | "yes"));
    Ok(Some(ResolvedProfile { name: ENV.into(), read_only, endpoints }))
}

fn view_of(p: &ResolvedProfile, origin: &str) -> ProfileView {
    ProfileView {
        name: p.name.clone(),
        read_only: p.read_only,
        origin: origin.into(),
        endpoints: p
            .endpoints
            .iter()
            .map(|e| EndpointView {
                service: e.service,
                url: e.display.clone(),
                has_secret: e.display.contains("***") || e.token.is_some(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ProfileStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::new(dir.path().join("cfg"));
        (dir, store)
    }

    #[test]
    fn passwords_go_to_the_private_secrets_file_only() {
        let (_d, store) = store();
        let view = store
            .save(&ProfileInput {
                name: "prod".into(),
                redis_url: Some("redis://:s3cr%40t@127.0.0.1:6380/0".into()),
                postgres_url: Some("postgres://admin:pw123@127.0.0.1:5432/app".into()),
                kubernetes_url: Some("https://127.0.0.1:6443".into()),
                kubernetes_token: Some("tok-abc".into()),
                ..Default::default()
            })
            .unwrap();
        assert!(view.endpoints.iter().all(|e| e.has_secret));
        let profiles = std::fs::read_to_string(store.dir().join("profiles.toml")).unwrap();
        assert!(
            !profiles.contains("s3cr") && !profiles.contains("pw123") && !profiles.contains("tok-abc"),
            "{profiles}"
        );
        let secrets_path = store.dir().join("secrets.toml");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&secrets_path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let resolved = store.resolve("prod").unwrap();
        let redis = resolved.endpoint(Service::Redis).unwrap();
        assert_eq!(redis.url.expose(), "redis://:s3cr%40t@127.0.0.1:6380/0");
        assert_eq!(redis.display, "redis://:***@127.0.0.1:6380/0");
        assert_eq!(resolved.endpoint(Service::Kubernetes).unwrap().token.as_ref().unwrap().expose(), "tok-abc");
        assert!(!format!("{resolved:?}").contains("pw123"));
    }

    #[test]
    fn resubmitting_the_redacted_url_keeps_the_password() {
        let (_d, store) = store();
        let input = ProfileInput {
            name: "p".into(),
            postgres_url: Some("postgres://u:pw@127.0.0.1/db".into()),
            ..Default::default()
        };
        store.save(&input).unwrap();
        let shown = store.list().unwrap().into_iter().find(|p| p.name == "p").unwrap();
        let again = ProfileInput { postgres_url: Some(shown.endpoints[0].url.clone()), read_only: true, ..input };
        store.save(&again).unwrap();
        let r = store.resolve("p").unwrap();
        assert!(r.read_only);
        assert_eq!(r.endpoint(Service::Postgres).unwrap().url.expose(), "postgres://u:pw@127.0.0.1/db");
    }

    #[test]
    fn bad_urls_say_what_is_expected_and_write_nothing() {
        let (_d, store) = store();
        let err = store
            .save(&ProfileInput { name: "x".into(), redis_url: Some("http://:pw@h:1".into()), ..Default::default() })
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("redis://"), "{}", err.message);
        assert!(!err.message.contains("pw"), "{}", err.message);
        let err = store
            .save(&ProfileInput { name: "x".into(), postgres_url: Some("not a url".into()), ..Default::default() })
            .unwrap_err();
        assert!(err.message.contains("PostgreSQL URL"), "{}", err.message);
        assert!(!store.dir().join("profiles.toml").exists());
        assert!(store.save(&ProfileInput { name: "embedded".into(), ..Default::default() }).is_err());
        assert!(store.save(&ProfileInput { name: "a b".into(), ..Default::default() }).is_err());
    }

    #[test]
    fn malformed_config_is_a_clear_error() {
        let (_d, store) = store();
        std::fs::create_dir_all(store.dir()).unwrap();
        std::fs::write(store.dir().join("profiles.toml"), "[[profile]\nname=").unwrap();
        let err = store.list().unwrap_err();
        assert_eq!(err.code, ErrorCode::BadConfig);
        assert!(err.message.contains("profiles.toml"), "{}", err.message);
        assert_eq!(store.resolve("embedded").unwrap().name, "embedded");
    }

    #[test]
    fn unknown_profile_names_the_known_ones() {
        let (_d, store) = store();
        store.save(&ProfileInput { name: "staging".into(), ..Default::default() }).unwrap();
        let err = store.resolve("prod").unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        assert!(err.message.contains("staging"));
        store.delete("staging").unwrap();
        assert!(store.delete("staging").is_err());
    }
}

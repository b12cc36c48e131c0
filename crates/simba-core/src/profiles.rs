//! Connection profiles: which Redis, PostgreSQL, Prometheus, Kubernetes API and Celery broker a
//! profile watches, and whether it may write. Non-secret settings live in `profiles.toml` in the
//! config folder; passwords and tokens are split out of URLs into `secrets.toml`, which only the
//! user can read (mode 0600). Environment variables (`SIMBA_REDIS_URL`, …) give a profile named
//! `env`; the built-in `embedded` profile is the local engine and needs nothing.

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::keyring_store::SecretStore;
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
            let (stored, secrets) = split_secret(*service, raw)?;
            endpoints.push(join_secret(*service, &stored, &secrets, None));
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
    /// `keyring` when the profile's secrets are in the OS keyring; absent for the secrets file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secrets_in: Option<String>,
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
    /// Where secrets of profiles saved from now on go.
    secret_store: SecretStore,
}

impl ProfileStore {
    /// Profiles in `dir`, with secrets in its 0600 file.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::with_secret_store(dir, SecretStore::File)
    }

    pub fn with_secret_store(dir: impl Into<PathBuf>, secret_store: SecretStore) -> Self {
        Self { dir: dir.into(), secret_store }
    }

    /// The user's profiles, with secrets in the OS keyring where one answers (`SIMBA_SECRET_STORE`).
    pub fn for_user(dir: impl Into<PathBuf>) -> ApiResult<Self> {
        Ok(Self::with_secret_store(dir, SecretStore::from_env()?))
    }

    pub fn secret_store(&self) -> SecretStore {
        self.secret_store
    }

    /// A profile's secrets, from wherever it keeps them.
    fn secrets_of(&self, p: &StoredProfile, file: &SecretsFile) -> ApiResult<Option<BTreeMap<String, String>>> {
        if p.secrets_in.as_deref() == Some(KEYRING) {
            crate::keyring_store::get(&p.name)
        } else {
            Ok(file.get(&p.name).cloned())
        }
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
        check_private(&path)?;
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

    fn write_file(&self, path: &Path, text: &str) -> ApiResult<()> {
        crate::paths::write_file_atomic(path, text)
            .map_err(|e| ApiError::new(ErrorCode::BadConfig, format!("cannot write {}: {e}", path.display())))
    }

    /// All profiles: the built-in `embedded`, `env` when its variables are set, then the saved ones.
    pub fn list(&self) -> ApiResult<Vec<ProfileView>> {
        let mut out =
            vec![ProfileView { name: EMBEDDED.into(), read_only: false, origin: "embedded".into(), endpoints: vec![] }];
        if let Some(env) = env_profile()? {
            out.push(view_of(&env, "env"));
        }
        let file = self.read_secrets()?;
        for p in self.read_profiles()?.profiles {
            // A keyring that does not answer hides the secrets, not the profile.
            let secrets = self.secrets_of(&p, &file).unwrap_or_default();
            out.push(view_of(&resolve_stored(&p, secrets.as_ref()), "file"));
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
        let secrets = self.secrets_of(p, &self.read_secrets()?)?;
        Ok(resolve_stored(p, secrets.as_ref()))
    }

    /// Creates or replaces a profile. Validates every URL first; nothing is written on error.
    /// A password shown as `***` and sent back keeps the stored one only while the URL still
    /// points at the same server and user: a stored secret never goes to another server.
    pub fn save(&self, input: &ProfileInput) -> ApiResult<ProfileView> {
        let name = input.name.trim();
        validate_name(name)?;
        let _lock = self.lock()?;
        let mut file = self.read_profiles()?;
        let mut secrets = self.read_secrets()?;
        let previous = file.profiles.iter().find(|p| p.name == name).cloned().unwrap_or_default();
        let previous_secrets = self.secrets_of(&previous, &secrets)?.unwrap_or_default();
        let mut stored = StoredProfile { name: name.to_string(), read_only: input.read_only, ..Default::default() };
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
            let (url, url_secrets) = split_secret(service, raw)?;
            let same_server = previous.urls.get(service.key()).is_some_and(|old| same_target(old, &url));
            for (slot, secret) in url_secrets.slots(service) {
                let value = if secret.expose() == REDACTED {
                    match previous_secrets.get(&slot) {
                        Some(old) if same_server => old.clone(),
                        Some(_) => return Err(secret_not_carried(service, &slot, &url)),
                        None => {
                            return Err(ApiError::invalid(format!(
                                "{} URL '{}' holds '***' where a password goes, and none is stored for it: \
                                 enter the password",
                                service.label(),
                                redact_url(&url)
                            )))
                        }
                    }
                } else {
                    secret.expose().to_string()
                };
                new_secrets.insert(slot, value);
            }
            stored.urls.insert(service.key().to_string(), url);
        }
        let kubernetes_same =
            match (previous.urls.get(Service::Kubernetes.key()), stored.urls.get(Service::Kubernetes.key())) {
                (Some(old), Some(new)) => same_target(old, new),
                _ => false,
            };
        match input.kubernetes_token.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() && t != REDACTED => {
                new_secrets.insert(KUBERNETES_TOKEN.into(), t.to_string());
            }
            Some("") => {}
            _ => {
                if let Some(t) = previous_secrets.get(KUBERNETES_TOKEN) {
                    if !kubernetes_same {
                        let url = stored.urls.get(Service::Kubernetes.key()).cloned().unwrap_or_default();
                        return Err(secret_not_carried(Service::Kubernetes, KUBERNETES_TOKEN, &url));
                    }
                    new_secrets.insert(KUBERNETES_TOKEN.into(), t.clone());
                }
            }
        }
        secrets.remove(name);
        match self.secret_store {
            SecretStore::Keyring if !new_secrets.is_empty() => {
                crate::keyring_store::set(name, &new_secrets)?;
                stored.secrets_in = Some(KEYRING.into());
            }
            _ => {
                if !new_secrets.is_empty() {
                    secrets.insert(name.to_string(), new_secrets.clone());
                }
                if previous.secrets_in.as_deref() == Some(KEYRING) {
                    forget_in_keyring(name);
                }
            }
        }
        file.profiles.retain(|p| p.name != name);
        file.profiles.push(stored.clone());
        file.profiles.sort_by(|a, b| a.name.cmp(&b.name));
        self.write_secrets(&secrets)?;
        self.write_profiles(&file)?;
        let shown = (!new_secrets.is_empty()).then_some(&new_secrets);
        Ok(view_of(&resolve_stored(&stored, shown), "file"))
    }

    pub fn delete(&self, name: &str) -> ApiResult<()> {
        let _lock = self.lock()?;
        let mut file = self.read_profiles()?;
        let Some(gone) = file.profiles.iter().position(|p| p.name == name).map(|i| file.profiles.remove(i)) else {
            return Err(ApiError::not_found(format!("no saved profile named '{name}'")));
        };
        if gone.secrets_in.as_deref() == Some(KEYRING) {
            forget_in_keyring(name);
        }
        let mut secrets = self.read_secrets()?;
        secrets.remove(name);
        self.write_secrets(&secrets)?;
        self.write_profiles(&file)?;
        Ok(())
    }

    fn write_secrets(&self, secrets: &SecretsFile) -> ApiResult<()> {
        let text = toml::to_string(secrets).map_err(|e| ApiError::internal(e.to_string()))?;
        self.write_file(&self.secrets_path(), &text)
    }

    fn write_profiles(&self, file: &ProfilesFile) -> ApiResult<()> {
        let text = toml::to_string(file).map_err(|e| ApiError::internal(e.to_string()))?;
        self.write_file(&self.profiles_path(), &text)
    }

    /// Saves from two processes at once (the app and the CLI) take turns: each reads, changes and
    /// writes both files while it holds this lock, so neither loses the other's profile.
    fn lock(&self) -> ApiResult<std::fs::File> {
        let path = self.dir.join(".profiles.lock");
        let io =
            |e: std::io::Error| ApiError::new(ErrorCode::BadConfig, format!("cannot lock {}: {e}", path.display()));
        crate::paths::create_private_dir(&self.dir).map_err(io)?;
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io)?;
        file.lock().map_err(io)?;
        Ok(file)
    }
}

const REDACTED: &str = "***";
const KEYRING: &str = "keyring";

/// Removes a profile's keyring entry; a keyring that does not answer leaves it there (it is still
/// protected by the keyring) and says so in the log.
fn forget_in_keyring(name: &str) {
    if let Err(e) = crate::keyring_store::delete(name) {
        tracing::warn!(profile = name, "could not remove the profile's entry from the OS keyring: {}", e.message);
    }
}
const KUBERNETES_TOKEN: &str = "kubernetes_token";

fn secret_not_carried(service: Service, slot: &str, url: &str) -> ApiError {
    let what = if slot == KUBERNETES_TOKEN { "token" } else { "password" };
    ApiError::invalid(format!(
        "{} URL '{}' points at another server or user than before, so the stored {what} is not sent there: \
         enter the {what} for the new address",
        service.label(),
        redact_url(url)
    ))
}

/// Whether two stored (secret-free) URLs reach the same server as the same user: scheme, host,
/// port and user, and the query parameters that can name another host (libpq's `host`, `hostaddr`, `port`).
fn same_target(old: &str, new: &str) -> bool {
    let (Ok(a), Ok(b)) = (Url::parse(old), Url::parse(new)) else { return false };
    let routing = |u: &Url| -> Vec<(String, String)> {
        let mut v: Vec<_> = u
            .query_pairs()
            .filter(|(k, _)| matches!(k.to_ascii_lowercase().as_str(), "host" | "hostaddr" | "port"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect();
        v.sort();
        v
    };
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
        && a.username() == b.username()
        && routing(&a) == routing(&b)
}

/// Refuses a secrets file that other users can read: its passwords may already be known, and
/// using it silently would hide that.
fn check_private(path: &Path) -> ApiResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(ApiError::new(
                    ErrorCode::BadConfig,
                    format!(
                        "{} can be read by other users (mode {mode:o}); run `chmod 600 {}`, and change the \
                         passwords in it if others may have read them",
                        path.display(),
                        path.display()
                    ),
                ));
            }
        }
    }
    let _ = path;
    Ok(())
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

/// The secret parts of one URL: the password of its user info, and query parameters that carry a
/// secret (`?password=`, `?sslpassword=`, …).
#[derive(Debug, Clone, Default)]
pub struct UrlSecrets {
    pub password: Option<Secret>,
    pub params: Vec<(String, Secret)>,
}

impl UrlSecrets {
    /// Each secret with the name it is kept under in the secrets file: the service's key for the
    /// password (as before), `service?param` for a query parameter.
    fn slots(&self, service: Service) -> Vec<(String, Secret)> {
        let mut out: Vec<_> = self.password.iter().map(|p| (service.key().to_string(), p.clone())).collect();
        out.extend(self.params.iter().map(|(k, v)| (format!("{}?{k}", service.key()), v.clone())));
        out
    }

    fn from_slots(service: Service, stored: Option<&BTreeMap<String, String>>) -> Self {
        let mut out = Self::default();
        for (slot, value) in stored.into_iter().flatten() {
            if slot == service.key() {
                out.password = Some(Secret::new(value.clone()));
            } else if let Some(param) = slot.strip_prefix(service.key()).and_then(|r| r.strip_prefix('?')) {
                out.params.push((param.to_string(), Secret::new(value.clone())));
            }
        }
        out
    }
}

/// Query parameters whose value is a secret: libpq's `password` and `sslpassword`, and the names
/// other clients use for passwords and tokens.
const SECRET_PARAMS: &[&str] =
    &["password", "sslpassword", "pass", "passwd", "pwd", "token", "access_token", "api_key", "apikey", "secret"];

fn is_secret_param(name: &str) -> bool {
    SECRET_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// Parses and checks a URL for `service`; returns it without its secrets, and the secrets.
pub fn split_secret(service: Service, raw: &str) -> ApiResult<(String, UrlSecrets)> {
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
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::invalid(format!("{} URL '{}' names no host", service.label(), redact_url(raw))));
    }
    let mut secrets = UrlSecrets { password: url.password().map(|p| Secret::new(percent_decode(p))), params: vec![] };
    if secrets.password.is_some() {
        let _ = url.set_password(None);
    }
    if url.query_pairs().any(|(k, _)| is_secret_param(&k)) {
        let mut kept = Vec::new();
        for (k, v) in url.query_pairs() {
            if is_secret_param(&k) {
                secrets.params.push((k.into_owned(), Secret::new(v.into_owned())));
            } else {
                kept.push((k.into_owned(), v.into_owned()));
            }
        }
        set_query(&mut url, &kept);
    }
    Ok((url.to_string(), secrets))
}

fn set_query(url: &mut Url, pairs: &[(String, String)]) {
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
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

/// A URL safe to show: any password, and any secret query parameter, becomes `***`.
/// Unparseable text is cut at the last '@' and before any query.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some(REDACTED));
            }
            if u.query_pairs().any(|(k, _)| is_secret_param(&k)) {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if is_secret_param(&k) { REDACTED.to_string() } else { v.into_owned() };
                        (k.into_owned(), v)
                    })
                    .collect();
                set_query(&mut u, &pairs);
            }
            // The query encoder writes `*` as `%2A`; the placeholder reads better as typed.
            u.to_string().replace("%2A%2A%2A", REDACTED)
        }
        Err(_) => {
            let text = raw.split(['?', '#']).next().unwrap_or_default();
            match text.rfind('@') {
                Some(i) => format!("***{}", &text[i..]),
                None => text.to_string(),
            }
        }
    }
}

fn join_secret(service: Service, stored_url: &str, secrets: &UrlSecrets, token: Option<Secret>) -> Endpoint {
    let mut full = Url::parse(stored_url).expect("stored URLs were validated on save");
    if let Some(s) = &secrets.password {
        if full.username().is_empty() && matches!(service, Service::Redis | Service::CeleryBroker) {
            // redis://:password@host is the usual form for a password without a user.
            let _ = full.set_username("");
        }
        let _ = full.set_password(Some(s.expose()));
    }
    if !secrets.params.is_empty() {
        let mut pairs: Vec<(String, String)> =
            full.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        pairs.extend(secrets.params.iter().map(|(k, v)| (k.clone(), v.expose().to_string())));
        set_query(&mut full, &pairs);
    }
    Endpoint { service, url: Secret::new(full.to_string()), display: redact_url(full.as_str()), token }
}

fn resolve_stored(p: &StoredProfile, secrets: Option<&BTreeMap<String, String>>) -> ResolvedProfile {
    let mut endpoints = Vec::new();
    for service in Service::ALL {
        if let Some(url) = p.urls.get(service.key()) {
            let url_secrets = UrlSecrets::from_slots(service, secrets);
            let token = if service == Service::Kubernetes {
                secrets.and_then(|s| s.get(KUBERNETES_TOKEN)).map(|s| Secret::new(s.clone()))
            } else {
                None
            };
            if Url::parse(url).is_ok() {
                endpoints.push(join_secret(service, url, &url_secrets, token));
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
            let (url, secrets) = split_secret(service, raw.trim()).map_err(|e| {
                ApiError::new(e.code, format!("environment variable {}: {}", service.env_var(), e.message))
            })?;
            let token = if service == Service::Kubernetes {
                std::env::var("SIMBA_KUBERNETES_TOKEN").ok().map(Secret::new)
            } else {
                None
            };
            endpoints.push(join_secret(service, &url, &secrets, token));
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

    #[test]
    fn a_stored_password_never_goes_to_another_server() {
        let (_d, store) = store();
        let first = ProfileInput {
            name: "p".into(),
            redis_url: Some("redis://:hunter2@127.0.0.1:6380/0".into()),
            kubernetes_url: Some("https://127.0.0.1:6443".into()),
            kubernetes_token: Some("tok-1".into()),
            ..Default::default()
        };
        store.save(&first).unwrap();
        // The form shows the redacted URL; pointed elsewhere, it must not carry the stored password.
        for moved in [
            "redis://:***@10.9.9.9:6380/0",
            "redis://:***@127.0.0.1:6390/0",
            "rediss://:***@127.0.0.1:6380/0",
            "redis://admin:***@127.0.0.1:6380/0",
        ] {
            let err = store.save(&ProfileInput { redis_url: Some(moved.into()), ..first.clone() }).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput);
            assert!(err.message.contains("enter the password"), "{}", err.message);
            assert!(!err.message.contains("hunter2"), "{}", err.message);
        }
        let err = store
            .save(&ProfileInput {
                redis_url: Some("redis://:***@127.0.0.1:6380/0".into()),
                kubernetes_url: Some("https://evil.example:6443".into()),
                kubernetes_token: None,
                ..first.clone()
            })
            .unwrap_err();
        assert!(err.message.contains("enter the token"), "{}", err.message);
        // Nothing was changed by the refused saves.
        let r = store.resolve("p").unwrap();
        assert_eq!(r.endpoint(Service::Redis).unwrap().url.expose(), "redis://:hunter2@127.0.0.1:6380/0");
        // The same server keeps it; a new address with a new password is fine.
        store.save(&ProfileInput { redis_url: Some("redis://:***@127.0.0.1:6380/0".into()), ..first.clone() }).unwrap();
        store
            .save(&ProfileInput { redis_url: Some("redis://:other@10.9.9.9:6380/0".into()), ..first.clone() })
            .unwrap();
        let r = store.resolve("p").unwrap();
        assert_eq!(r.endpoint(Service::Redis).unwrap().url.expose(), "redis://:other@10.9.9.9:6380/0");
        // `***` with nothing stored is not a password.
        let err = store
            .save(&ProfileInput {
                name: "q".into(),
                postgres_url: Some("postgres://u:***@127.0.0.1/db".into()),
                ..Default::default()
            })
            .unwrap_err();
        assert!(err.message.contains("none is stored"), "{}", err.message);
        // libpq's host parameter names the server too.
        store
            .save(&ProfileInput {
                name: "pg".into(),
                postgres_url: Some("postgres://u:pw@db1/app".into()),
                ..Default::default()
            })
            .unwrap();
        let err = store
            .save(&ProfileInput {
                name: "pg".into(),
                postgres_url: Some("postgres://u:***@db1/app?host=evil.example".into()),
                ..Default::default()
            })
            .unwrap_err();
        assert!(err.message.contains("enter the password"), "{}", err.message);
    }

    #[test]
    fn passwords_in_the_query_string_are_secrets_too() {
        let (_d, store) = store();
        let raw = "postgres://app@127.0.0.1:5432/db?sslmode=require&password=pw-q1&sslpassword=pw%26q2";
        let view = store
            .save(&ProfileInput { name: "p".into(), postgres_url: Some(raw.into()), ..Default::default() })
            .unwrap();
        let shown = &view.endpoints[0].url;
        assert!(
            shown.contains("password=***") && shown.contains("sslpassword=***") && shown.contains("sslmode=require"),
            "{shown}"
        );
        assert!(view.endpoints[0].has_secret);
        let profiles = std::fs::read_to_string(store.dir().join("profiles.toml")).unwrap();
        assert!(
            !profiles.contains("pw-q1") && !profiles.contains("pw&q2") && !profiles.contains("pw%26q2"),
            "{profiles}"
        );
        let listed = serde_json::to_string(&store.list().unwrap()).unwrap();
        assert!(!listed.contains("pw-q1") && !listed.contains("q2"), "{listed}");
        let url = store.resolve("p").unwrap().endpoint(Service::Postgres).unwrap().url.expose().to_string();
        let parsed = Url::parse(&url).unwrap();
        let pairs: BTreeMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(pairs.get("password").map(String::as_str), Some("pw-q1"));
        assert_eq!(pairs.get("sslpassword").map(String::as_str), Some("pw&q2"));
        // Saved again as shown, the secrets stay.
        store
            .save(&ProfileInput { name: "p".into(), postgres_url: Some(shown.clone()), ..Default::default() })
            .unwrap();
        assert_eq!(store.resolve("p").unwrap().endpoint(Service::Postgres).unwrap().url.expose(), url);
        // Errors show the URL redacted.
        let err = split_secret(Service::Redis, "http://h/?password=pw-q3").unwrap_err();
        assert!(!err.message.contains("pw-q3"), "{}", err.message);
        assert!(!redact_url("not a url?password=pw-q4").contains("pw-q4"));
        assert!(!redact_url("postgres://h/db?PassWord=pw-q5").contains("pw-q5"));
    }

    #[test]
    fn saves_from_many_writers_at_once_lose_nothing() {
        let (_d, store) = store();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..15 {
                        store
                            .save(&ProfileInput {
                                name: format!("p{t}-{i}"),
                                redis_url: Some(format!("redis://:pw{t}x{i}@127.0.0.1:{}/0", 6000 + i)),
                                ..Default::default()
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let names: Vec<_> = store.list().unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names.len(), 1 + 8 * 15, "{names:?}");
        for t in 0..8 {
            for i in 0..15 {
                let r = store.resolve(&format!("p{t}-{i}")).unwrap();
                assert!(r.endpoint(Service::Redis).unwrap().url.expose().contains(&format!("pw{t}x{i}@")));
            }
        }
        let leftovers: Vec<_> = std::fs::read_dir(store.dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_secrets_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, store) = store();
        store
            .save(&ProfileInput { name: "p".into(), redis_url: Some("redis://:pw@h:1".into()), ..Default::default() })
            .unwrap();
        let path = store.dir().join("secrets.toml");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = store.resolve("p").unwrap_err();
        assert_eq!(err.code, ErrorCode::BadConfig);
        assert!(err.message.contains("chmod 600"), "{}", err.message);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(store.resolve("p").is_ok());
        assert_eq!(std::fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777, 0o700);
    }
}

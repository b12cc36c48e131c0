//! An online provider's endpoint, shared by the chat models (engine/llm/remote.rs) and the
//! embeddings (engine/embed/provider.rs): which API (OpenAI-compatible, Azure OpenAI, Vertex AI),
//! where, which model, the key, timeouts and retries; read from the environment under a prefix
//! (`SIMBA_LLM`, `SIMBA_EMBEDDINGS`); the base URL checked, and the HTTP client every request goes
//! through (no redirects, no proxy for this machine, never plain http to another).

pub mod http;

use crate::engine::google_auth::{is_service_account_key, ServiceAccount};
use crate::secret::Secret;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

pub const DEFAULT_OPENAI_URL: &str = "https://api.openai.com";
/// A setting ([`ProviderEndpoint::api_version`]): Azure retires versions.
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";
pub const DEFAULT_VERTEX_LOCATION: &str = "us-central1";

/// Which API an endpoint talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI or any server with the same API (Ollama, vLLM, llama.cpp's server).
    OpenAi,
    Azure,
    Vertex,
}

impl ProviderKind {
    /// The name used in `SIMBA_LLM`, `SIMBA_EMBEDDINGS` and in model ids (`openai:…`).
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Azure => "azure",
            ProviderKind::Vertex => "vertex",
        }
    }

    /// What the key is called in messages.
    pub fn credential(self) -> &'static str {
        match self {
            ProviderKind::Vertex => "access token",
            _ => "API key",
        }
    }
}

/// Where the key (OpenAI, Azure) or OAuth access token (Vertex) comes from.
#[derive(Debug, Clone)]
pub enum ProviderKey {
    Value(Secret),
    /// Read before every request, so a token refreshed in the file is picked up.
    File(PathBuf),
    /// Vertex only: a service-account key file, exchanged for access tokens as they expire.
    ServiceAccount(std::sync::Arc<ServiceAccount>),
}

impl ProviderKey {
    /// The key from the environment, for the variables starting with `prefix` (`SIMBA_LLM`,
    /// `SIMBA_EMBEDDINGS`): `{prefix}_KEY`, else the file named by `{prefix}_KEY_FILE` (a key or
    /// token; for Vertex also a service-account key file), else for Vertex Google's own
    /// `GOOGLE_APPLICATION_CREDENTIALS` (a service-account key file). None when nothing is set; a
    /// file that cannot be used is refused now, not at the first query.
    pub fn from_vars(
        prefix: &str,
        kind: ProviderKind,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, String> {
        if let Some(k) = var(&format!("{prefix}_KEY")) {
            return Ok(Some(Self::Value(Secret::new(k))));
        }
        let file_var = format!("{prefix}_KEY_FILE");
        let adc = "GOOGLE_APPLICATION_CREDENTIALS";
        let (path, named) = match (var(&file_var), kind) {
            (Some(p), _) => (PathBuf::from(p), file_var.as_str()),
            (None, ProviderKind::Vertex) => match var(adc) {
                Some(p) => (PathBuf::from(p), adc),
                None => return Ok(None),
            },
            (None, _) => return Ok(None),
        };
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{named} {} could not be read: {e}", path.display()))?;
        if kind == ProviderKind::Vertex && is_service_account_key(&text) {
            return ServiceAccount::from_file(&path).map(|sa| Some(Self::ServiceAccount(std::sync::Arc::new(sa))));
        }
        if named == adc {
            return Err(format!(
                "{adc} names {}, which is not a service-account key (a user's `gcloud auth application-default` \
                 file is not supported: create a service-account key, or put an access token in {prefix}_KEY_FILE)",
                path.display()
            ));
        }
        read_key_file(&path, named)?;
        Ok(Some(Self::File(path)))
    }

    /// The key or token to send now (`prefix` as for [`Self::from_vars`], for messages).
    pub async fn current(&self, prefix: &str) -> Result<Secret, String> {
        match self {
            Self::Value(s) if s.is_empty() => Err(format!("{prefix}_KEY is empty")),
            Self::Value(s) => Ok(s.clone()),
            Self::File(p) => read_key_file(p, &format!("{prefix}_KEY_FILE")),
            Self::ServiceAccount(sa) => sa.token().await,
        }
    }
}

/// A key or token kept in a file (read anew each time: a refreshed token is picked up).
pub fn read_key_file(path: &std::path::Path, named: &str) -> Result<Secret, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{named} {} could not be read: {e}", path.display()))?;
    let key = text.trim();
    if key.is_empty() {
        return Err(format!("{named} {} is empty", path.display()));
    }
    Ok(Secret::new(key))
}

/// What an endpoint is used for: its variables' prefix, the words its messages use and its
/// defaults.
#[derive(Debug)]
pub struct ProviderUse {
    /// `SIMBA_LLM` or `SIMBA_EMBEDDINGS`.
    pub prefix: &'static str,
    /// "chat" or "embedding", as in "name the chat model".
    pub noun: &'static str,
    /// A model to name as an example, per kind (OpenAI, Vertex).
    pub openai_example: &'static str,
    pub vertex_example: &'static str,
    /// An OpenAI-compatible server on this machine (Ollama) may want no key at all.
    pub openai_key_optional: bool,
    pub timeout: Duration,
    pub max_retries: u32,
}

/// One provider's endpoint and model. `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct ProviderEndpoint {
    pub kind: ProviderKind,
    /// OpenAI: the API base, with or without `/v1` (`https://api.openai.com`). Azure: the resource
    /// endpoint (`https://RESOURCE.openai.azure.com`). Vertex: the API base
    /// (`https://{location}-aiplatform.googleapis.com`).
    pub url: String,
    /// The model. For Azure, the model behind the deployment (the deployment name when not given).
    pub model: String,
    /// Azure only.
    pub deployment: Option<String>,
    /// Azure only.
    pub api_version: Option<String>,
    /// Vertex only.
    pub project: Option<String>,
    /// Vertex only.
    pub location: Option<String>,
    pub key: ProviderKey,
    /// Per HTTP request, its answer read to the end (a streamed answer too).
    pub timeout: Duration,
    /// Retries after a 408, 429, 5xx or a timeout; then the error is returned.
    pub max_retries: u32,
    /// First back-off; it doubles per retry (with jitter), unless the provider says `Retry-After`.
    pub retry_base: Duration,
}

impl ProviderEndpoint {
    /// Built in code, an endpoint has the embeddings' timeout and retries (30 s, 3); read with
    /// [`Self::from_vars`] it has its [`ProviderUse`]'s (the chat's are 60 s, 2).
    fn base(kind: ProviderKind, url: String, model: String, key: ProviderKey) -> Self {
        Self {
            kind,
            url,
            model,
            deployment: None,
            api_version: None,
            project: None,
            location: None,
            key,
            timeout: Duration::from_secs(30),
            max_retries: 3,
            retry_base: Duration::from_millis(500),
        }
    }

    /// An OpenAI-compatible API at `base_url` (e.g. `https://api.openai.com`).
    pub fn openai(base_url: impl Into<String>, model: impl Into<String>, key: Secret) -> Self {
        Self::base(ProviderKind::OpenAi, base_url.into(), model.into(), ProviderKey::Value(key))
    }

    /// An Azure OpenAI deployment; the model names the deployment until [`Self::with_model`].
    pub fn azure(
        endpoint: impl Into<String>,
        deployment: impl Into<String>,
        api_version: impl Into<String>,
        key: Secret,
    ) -> Self {
        let deployment = deployment.into();
        let mut c = Self::base(ProviderKind::Azure, endpoint.into(), deployment.clone(), ProviderKey::Value(key));
        c.deployment = Some(deployment);
        c.api_version = Some(api_version.into());
        c
    }

    /// A Vertex AI publisher model; `token` is an OAuth access token.
    pub fn vertex(
        project: impl Into<String>,
        location: impl Into<String>,
        model: impl Into<String>,
        token: Secret,
    ) -> Self {
        let location = location.into();
        let url = format!("https://{location}-aiplatform.googleapis.com");
        let mut c = Self::base(ProviderKind::Vertex, url, model.into(), ProviderKey::Value(token));
        c.project = Some(project.into());
        c.location = Some(location);
        c
    }

    /// Another API base (a compatible server, a proxy, a test server).
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    pub fn with_retries(mut self, max_retries: u32, base: Duration) -> Self {
        self.max_retries = max_retries;
        self.retry_base = base;
        self
    }
    pub fn with_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key = ProviderKey::File(path.into());
        self
    }

    /// Reads `{prefix}` (`local`, the default, `openai`, `azure` or `vertex`) and its companions
    /// `{prefix}_URL`, `_MODEL`, `_KEY` or `_KEY_FILE`, `_DEPLOYMENT`, `_API_VERSION`, `_PROJECT`,
    /// `_LOCATION`, `_TIMEOUT_SECS`. `None` means the local model. Empty values count as unset.
    pub fn from_vars(what: &ProviderUse, get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let p = what.prefix;
        let var = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let named = |suffix: &str| format!("{p}_{suffix}");
        let required = |suffix: &str, why: &str| {
            let name = named(suffix);
            var(&name).ok_or_else(|| format!("{name} is not set; {why}"))
        };
        let kind = match var(p).map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("local") | Some("smollm2") | Some("minilm") => return Ok(None),
            Some("openai") => ProviderKind::OpenAi,
            Some("azure") => ProviderKind::Azure,
            Some("vertex") => ProviderKind::Vertex,
            Some(other) => {
                return Err(format!("{p} is '{other}'; it must be local (the default), openai, azure or vertex"))
            }
        };
        let key = match ProviderKey::from_vars(p, kind, &var)? {
            Some(key) => key,
            None if kind == ProviderKind::OpenAi && what.openai_key_optional => ProviderKey::Value(Secret::default()),
            None => {
                let needs = if kind == ProviderKind::Vertex {
                    "an OAuth access token (`gcloud auth print-access-token`) or a service-account key file"
                } else {
                    "the API key"
                };
                return Err(format!(
                    "{p}_KEY is not set; {p}={} needs {needs} in {p}_KEY or in a file named by {p}_KEY_FILE",
                    kind.name()
                ));
            }
        };
        let noun = what.noun;
        let mut c = match kind {
            ProviderKind::OpenAi => {
                let model = required("MODEL", &format!("name the {noun} model, e.g. {}", what.openai_example))?;
                let url = var(&named("URL")).unwrap_or_else(|| DEFAULT_OPENAI_URL.into());
                Self::base(kind, url, model, key)
            }
            ProviderKind::Azure => {
                let url =
                    required("URL", "set it to the Azure OpenAI endpoint, e.g. https://RESOURCE.openai.azure.com")?;
                let deployment = required("DEPLOYMENT", &format!("name the Azure OpenAI {noun} deployment"))?;
                let model = var(&named("MODEL")).unwrap_or_else(|| deployment.clone());
                let mut c = Self::base(kind, url, model, key);
                c.deployment = Some(deployment);
                c.api_version = Some(var(&named("API_VERSION")).unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.into()));
                c
            }
            ProviderKind::Vertex => {
                let project = required("PROJECT", "name the Google Cloud project that runs Vertex AI")?;
                let model = required("MODEL", &format!("name the {noun} model, e.g. {}", what.vertex_example))?;
                let location = var(&named("LOCATION")).unwrap_or_else(|| DEFAULT_VERTEX_LOCATION.into());
                let mut c = Self::vertex(project, location, model, Secret::default());
                c.key = key;
                if let Some(url) = var(&named("URL")) {
                    c.url = url;
                }
                c
            }
        };
        c.timeout = what.timeout;
        c.max_retries = what.max_retries;
        if let Some(secs) = whole_number(&var, &named("TIMEOUT_SECS"), 600)? {
            c.timeout = Duration::from_secs(secs);
        }
        Ok(Some(c))
    }

    /// The base URL, checked (`prefix` names the variable in messages), without query or
    /// fragment; the caller adds its API's path.
    pub fn base_url(&self, prefix: &str) -> Result<Url, String> {
        let shown = crate::profiles::redact_url(&self.url);
        let mut url = Url::parse(self.url.trim())
            .map_err(|e| format!("{prefix}_URL '{shown}' is not a URL ({e}); give e.g. https://host"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || url.cannot_be_a_base() {
            return Err(format!("{prefix}_URL '{shown}' must be an http:// or https:// URL with a host"));
        }
        url.set_query(None);
        url.set_fragment(None);
        Ok(url)
    }

    /// Appends Azure's `api-version` (the setting, or the default) to a request URL.
    pub fn add_api_version(&self, url: &mut Url) {
        if self.kind == ProviderKind::Azure {
            let version = self.api_version.as_deref().unwrap_or(DEFAULT_AZURE_API_VERSION);
            url.query_pairs_mut().append_pair("api-version", version);
        }
    }

    /// The HTTP client for requests to `endpoint`: this endpoint's timeout for the whole request
    /// (a streamed answer included), redirects never followed (one would carry the key to
    /// whatever host it names), no proxy for this machine, and plain http only to this machine.
    pub fn http_client(&self, endpoint: &Url, prefix: &str) -> Result<reqwest::Client, String> {
        let loopback = http::is_loopback(endpoint);
        if !loopback && endpoint.scheme() != "https" {
            return Err(format!(
                "{prefix}_URL '{}' is plain http to another machine, which would send the key unencrypted; \
                 use https:// (plain http is allowed only for 127.0.0.1, ::1 and localhost)",
                crate::profiles::redact_url(endpoint.as_str())
            ));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("simba-tuner/", env!("CARGO_PKG_VERSION")));
        if loopback {
            builder = builder.no_proxy();
        }
        builder.build().map_err(|e| format!("could not set up the HTTP client: {}", http::chain(&e)))
    }

    /// `request` carrying `key` as this API wants it: `api-key` for Azure, a bearer token for
    /// the others; nothing when the key is empty (a keyless local server).
    pub fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        key: &Secret,
        prefix: &str,
    ) -> Result<reqwest::RequestBuilder, String> {
        if key.is_empty() {
            return Ok(request);
        }
        Ok(match self.kind {
            ProviderKind::Azure => {
                let mut value = reqwest::header::HeaderValue::from_str(key.expose())
                    .map_err(|_| format!("the API key in {prefix}_KEY has characters an HTTP header cannot carry"))?;
                value.set_sensitive(true);
                request.header("api-key", value)
            }
            _ => request.bearer_auth(key.expose()),
        })
    }
}

/// `name` as a whole number from 1 to `max`, if set.
pub fn whole_number(var: &dyn Fn(&str) -> Option<String>, name: &str, max: u64) -> Result<Option<u64>, String> {
    match var(name) {
        None => Ok(None),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
            _ => Err(format!("{name} is '{v}'; it must be a whole number from 1 to {max}")),
        },
    }
}

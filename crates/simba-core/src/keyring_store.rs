//! The OS keyring as the home of saved passwords and tokens: Secret Service on Linux (GNOME
//! Keyring, KWallet), Keychain on macOS, Credential Manager on Windows. One entry per profile
//! (service `simba-tuner`, account `profile:<name>`) holds that profile's secrets as JSON.
//! Where no keyring answers (a server without a desktop session), the 0600 secrets file is used.

use crate::error::{ApiError, ApiResult, ErrorCode};
use std::collections::BTreeMap;

const SERVICE: &str = "simba-tuner";

/// Where saved secrets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStore {
    /// `secrets.toml` in the config folder, mode 0600.
    File,
    /// The OS keyring.
    Keyring,
}

impl SecretStore {
    /// `SIMBA_SECRET_STORE`: `keyring`, `file`, or `auto` (the default: the keyring when one answers).
    pub fn from_env() -> ApiResult<Self> {
        match std::env::var("SIMBA_SECRET_STORE").unwrap_or_default().trim().to_ascii_lowercase().as_str() {
            "" | "auto" => {
                Ok(if session_bus_configured() && keyring_answers() { SecretStore::Keyring } else { SecretStore::File })
            }
            "file" => Ok(SecretStore::File),
            "keyring" => {
                if keyring_answers() {
                    Ok(SecretStore::Keyring)
                } else {
                    Err(unreachable_keyring())
                }
            }
            other => Err(ApiError::new(
                ErrorCode::BadConfig,
                format!("SIMBA_SECRET_STORE is '{other}'; use keyring, file or auto"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SecretStore::File => "file",
            SecretStore::Keyring => "keyring",
        }
    }
}

fn unreachable_keyring() -> ApiError {
    ApiError::new(
        ErrorCode::Unreachable,
        "the OS keyring does not answer (on Linux: no Secret Service such as GNOME Keyring or KWallet on the \
         session bus, or it is locked); unlock it, or set SIMBA_SECRET_STORE=file to keep passwords in a 0600 file",
    )
}

fn entry(profile: &str) -> ApiResult<keyring::Entry> {
    keyring::Entry::new(SERVICE, &format!("profile:{profile}")).map_err(|e| keyring_error(&e))
}

/// The keyring's errors can quote what was stored: keep only their kind.
fn keyring_error(e: &keyring::Error) -> ApiError {
    match e {
        keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => unreachable_keyring(),
        keyring::Error::BadEncoding(_) => {
            ApiError::new(ErrorCode::BadConfig, "a Simba Tuner entry in the OS keyring is not text; remove it")
        }
        other => ApiError::new(ErrorCode::Internal, format!("the OS keyring failed: {}", kind(other))),
    }
}

fn kind(e: &keyring::Error) -> &'static str {
    match e {
        keyring::Error::PlatformFailure(_) => "platform failure",
        keyring::Error::NoStorageAccess(_) => "no storage access",
        keyring::Error::NoEntry => "no entry",
        keyring::Error::BadEncoding(_) => "bad encoding",
        keyring::Error::TooLong(..) => "value too long",
        keyring::Error::Invalid(..) => "invalid attribute",
        keyring::Error::Ambiguous(_) => "ambiguous entry",
        _ => "unknown error",
    }
}

/// Whether this process has a D-Bus session bus to ask. Without one, libdbus would try to
/// autolaunch a bus daemon (under X11) that outlives this process, so `auto` does not probe.
fn session_bus_configured() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
        || std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).join("bus").exists())
}

/// Whether a keyring answers at all (a missing entry is an answer).
pub fn keyring_answers() -> bool {
    match keyring::Entry::new(SERVICE, "probe") {
        Ok(e) => matches!(e.get_password(), Ok(_) | Err(keyring::Error::NoEntry)),
        Err(_) => false,
    }
}

/// The secrets saved for `profile`, or None.
pub fn get(profile: &str) -> ApiResult<Option<BTreeMap<String, String>>> {
    match entry(profile)?.get_password() {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|_| {
            ApiError::new(
                ErrorCode::BadConfig,
                format!(
                    "the OS keyring entry of profile '{profile}' is damaged; save the profile again with its passwords"
                ),
            )
        }),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keyring_error(&e)),
    }
}

pub fn set(profile: &str, secrets: &BTreeMap<String, String>) -> ApiResult<()> {
    let text = serde_json::to_string(secrets).map_err(|e| ApiError::internal(e.to_string()))?;
    entry(profile)?.set_password(&text).map_err(|e| keyring_error(&e))
}

pub fn delete(profile: &str) -> ApiResult<()> {
    match entry(profile)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(keyring_error(&e)),
    }
}

//! Rule thresholds: each rule declares its own with a default; a profile may override any of them
//! in `advisor.toml` in the config folder:
//!
//! ```toml
//! [profiles.prod]
//! "pg.unused_index.min_bytes" = 0
//! "redis.memory_near_max.share" = 0.8
//! ```

use crate::error::{ApiError, ApiResult, ErrorCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use ts_rs::TS;

/// One threshold a rule reads.
#[derive(Debug, Clone, Copy)]
pub struct ThresholdDef {
    /// `rule_id.name`, the key in `advisor.toml`.
    pub name: &'static str,
    pub default: f64,
    pub unit: &'static str,
}

/// A threshold with the value in force, for `advise` and docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ThresholdValue {
    pub name: String,
    pub value: f64,
    pub default: f64,
    pub unit: String,
}

/// The overrides in force for one profile.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    overrides: BTreeMap<String, f64>,
}

#[derive(Debug, Default, Deserialize)]
struct AdvisorFile {
    #[serde(default)]
    profiles: BTreeMap<String, BTreeMap<String, f64>>,
}

pub const FILE_NAME: &str = "advisor.toml";

impl Thresholds {
    pub fn with(overrides: &[(&str, f64)]) -> Self {
        Self { overrides: overrides.iter().map(|(k, v)| (k.to_string(), *v)).collect() }
    }

    /// The overrides of `profile` from `config_dir/advisor.toml` (none when the file is absent).
    /// An unknown threshold name is refused, so a typo does not silently keep the default.
    pub fn load(config_dir: &Path, profile: &str) -> ApiResult<Self> {
        let path = config_dir.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(ApiError::new(ErrorCode::BadConfig, format!("cannot read {}: {e}", path.display()))),
        };
        let file: AdvisorFile = toml::from_str(&text).map_err(|e| {
            ApiError::new(
                ErrorCode::BadConfig,
                format!(
                    "{} is not valid: {}; expected [profiles.NAME] with \"rule.threshold\" = number",
                    path.display(),
                    e.message()
                ),
            )
        })?;
        let overrides = file.profiles.get(profile).cloned().unwrap_or_default();
        let known: Vec<&str> = super::RULES.iter().flat_map(|r| r.thresholds.iter().map(|t| t.name)).collect();
        if let Some(bad) = overrides.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(ApiError::new(
                ErrorCode::BadConfig,
                format!(
                    "{}: unknown threshold '{bad}' for profile '{profile}'; known: {}",
                    path.display(),
                    known.join(", ")
                ),
            ));
        }
        Ok(Self { overrides })
    }

    pub fn get(&self, def: &ThresholdDef) -> f64 {
        self.overrides.get(def.name).copied().unwrap_or(def.default)
    }

    /// Every threshold of every rule with the value in force.
    pub fn in_force(&self) -> Vec<ThresholdValue> {
        super::RULES
            .iter()
            .flat_map(|r| r.thresholds.iter())
            .map(|t| ThresholdValue {
                name: t.name.into(),
                value: self.get(t),
                default: t.default,
                unit: t.unit.into(),
            })
            .collect()
    }
}

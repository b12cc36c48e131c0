//! What model calls cost: a price per million prompt and completion tokens per `provider:model`,
//! editable in `prices.toml` in the config folder. The defaults are list prices as published by
//! each provider (US dollars, standard tier, checked 2026); a model not in the table costs 0 and
//! the trace says so through `QueryCost`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use ts_rs::TS;

/// Dollars per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Price {
    pub prompt_per_million: f64,
    pub completion_per_million: f64,
}

impl Price {
    pub fn cost(&self, prompt_tokens: u32, completion_tokens: u32) -> f64 {
        (prompt_tokens as f64 * self.prompt_per_million + completion_tokens as f64 * self.completion_per_million) / 1e6
    }
}

/// Prices by `provider:model`. A key may end in `*` to price a family (`openai:gpt-4o-mini*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PriceTable {
    pub prices: BTreeMap<String, Price>,
}

impl Default for PriceTable {
    fn default() -> Self {
        let p = |a: f64, b: f64| Price { prompt_per_million: a, completion_per_million: b };
        let prices = [
            ("local:*", p(0.0, 0.0)),
            ("openai:gpt-4o-mini*", p(0.15, 0.60)),
            ("openai:gpt-4o*", p(2.50, 10.00)),
            ("openai:gpt-4.1-mini*", p(0.40, 1.60)),
            ("openai:gpt-4.1*", p(2.00, 8.00)),
            ("azure:gpt-4o-mini*", p(0.15, 0.60)),
            ("azure:gpt-4o*", p(2.50, 10.00)),
            ("vertex:gemini-2.0-flash*", p(0.15, 0.60)),
            ("vertex:gemini-2.5-flash*", p(0.30, 2.50)),
            ("vertex:gemini-2.5-pro*", p(1.25, 10.00)),
        ];
        Self { prices: prices.into_iter().map(|(k, v)| (k.to_string(), v)).collect() }
    }
}

/// Tokens in `chars` characters of English text, as the providers' own rule of thumb (about four).
pub fn estimate_tokens(chars: usize) -> u32 {
    chars.div_ceil(4).min(u32::MAX as usize) as u32
}

impl PriceTable {
    /// The table in `path`, or the defaults when there is no file. A file that does not parse is
    /// an error that names it: a silent fallback would show wrong costs.
    pub fn load(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let table: PriceTable =
                    toml::from_str(&text).map_err(|e| format!("{} is not a valid price table: {e}", path.display()))?;
                table.validate().map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(table)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("{} could not be read: {e}", path.display())),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        for (model, p) in &self.prices {
            for v in [p.prompt_per_million, p.completion_per_million] {
                if !v.is_finite() || v < 0.0 {
                    return Err(format!(
                        "the price of {model} is {v}; prices are dollars per million tokens, 0 or more"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The exact model's price, else the longest matching family, else 0.
    pub fn price_of(&self, model: &str) -> Price {
        if let Some(p) = self.prices.get(model) {
            return *p;
        }
        self.prices
            .iter()
            .filter_map(|(k, p)| {
                k.strip_suffix('*').filter(|prefix| model.starts_with(prefix)).map(|prefix| (prefix.len(), p))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, p)| *p)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_longest_family_then_zero() {
        let t = PriceTable::default();
        assert_eq!(t.price_of("openai:gpt-4o-mini-2024-07-18").prompt_per_million, 0.15);
        assert_eq!(t.price_of("openai:gpt-4o-2024-08-06").prompt_per_million, 2.50);
        assert_eq!(t.price_of("local:SmolLM2-135M-Instruct"), Price::default());
        assert_eq!(t.price_of("someone:else"), Price::default());
        let cost = t.price_of("openai:gpt-4o").cost(1_000_000, 500_000);
        assert!((cost - 7.5).abs() < 1e-9);
    }

    #[test]
    fn a_file_overrides_and_a_bad_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.toml");
        assert_eq!(PriceTable::load(&path).unwrap(), PriceTable::default());
        std::fs::write(&path, "[prices.\"openai:my-model\"]\nprompt_per_million = 1.0\ncompletion_per_million = 2.0\n")
            .unwrap();
        assert_eq!(PriceTable::load(&path).unwrap().price_of("openai:my-model").completion_per_million, 2.0);
        std::fs::write(&path, "[prices.\"x\"]\nprompt_per_million = -1.0\ncompletion_per_million = 2.0\n").unwrap();
        assert!(PriceTable::load(&path).unwrap_err().contains("0 or more"));
        std::fs::write(&path, "prices = 3").unwrap();
        assert!(PriceTable::load(&path).unwrap_err().contains("prices.toml"));
    }
}

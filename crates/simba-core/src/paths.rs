//! Where Simba Tuner keeps its files. Overridable for tests and portable installs.

use std::path::PathBuf;

/// `$SIMBA_CONFIG_DIR`, else `$XDG_CONFIG_HOME/simba-tuner` (`~/.config/simba-tuner`).
pub fn config_dir() -> PathBuf {
    std::env::var_os("SIMBA_CONFIG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::config_dir().unwrap_or_else(|| PathBuf::from(".")).join("simba-tuner"))
}

/// `$SIMBA_DATA_DIR`, else `$XDG_DATA_HOME/simba-tuner` (`~/.local/share/simba-tuner`).
pub fn data_dir() -> PathBuf {
    std::env::var_os("SIMBA_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("simba-tuner"))
}

/// Local model files (`.ci/setup` unpacks them here from their PyPI wheels).
pub fn models_dir() -> PathBuf {
    std::env::var_os("SIMBA_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| data_dir().join("models"))
}

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

/// Creates `dir` (and its parents) readable by this user only when it is new; an existing folder
/// keeps its mode, since the user may share it on purpose.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Makes `path` (created empty when missing) and its SQLite companions (`-wal`, `-shm`, `-journal`)
/// readable and writable by this user only. SQLite gives the companions the main file's mode when
/// it creates them, so a file made private before SQLite opens it stays private with its WAL.
pub fn make_private_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let companion = std::path::Path::new(&name);
            if companion.exists() {
                std::fs::set_permissions(companion, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// Writes `text` to `path` beside it, then renames: a crash never leaves half a file, and a
/// temporary file of its own (created 0600) keeps two writers from sharing one.
pub fn write_file_atomic(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    create_private_dir(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".simba-").suffix(".tmp").tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

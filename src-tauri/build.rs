//! The product's design card puts `tauri.conf.json` at the repository's top level, not in this
//! crate. tauri-build (>= 2.7, tauri PR 15306) takes its path through `Attributes::config_path`
//! (relative to this crate's folder); `tauri::generate_context!("../tauri.conf.json")` in
//! src/lib.rs reads the same file at compile time. Paths inside the config (`frontendDist`, the
//! icons) resolve against the config's own folder, the repository root. The ACL capabilities are
//! read from ./capabilities beside this file.
fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json"))
        .expect("tauri-build failed on ../tauri.conf.json");
}

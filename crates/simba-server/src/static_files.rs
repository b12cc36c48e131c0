//! The built UI, from its folder only: no dotfiles, and no symlink that leads out of the folder
//! (tower-http's ServeDir would follow it).

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::path::{Path, PathBuf};

/// The file for a request path: the file itself, a folder's index.html, or the app's index.html
/// for a path that names nothing (the UI routes in the browser). None: refused, answered 404.
pub(crate) fn resolve(root: &Path, uri_path: &str) -> Option<PathBuf> {
    let root = root.canonicalize().ok()?;
    let decoded = percent_encoding::percent_decode_str(uri_path).decode_utf8().ok()?;
    let mut candidate = root.clone();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        // ".", ".." and every hidden file or folder (.env, .git) are not the UI's to give.
        if segment.starts_with('.') || segment.contains(['\\', '\0']) {
            return None;
        }
        candidate.push(segment);
    }
    let inside = |p: &Path| -> Option<PathBuf> {
        let real = p.canonicalize().ok()?;
        real.starts_with(&root).then_some(real)
    };
    match std::fs::symlink_metadata(&candidate) {
        Ok(_) => {
            let real = inside(&candidate)?;
            let file = if real.is_dir() { inside(&real.join("index.html"))? } else { real };
            file.is_file().then_some(file)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => inside(&root.join("index.html")).filter(|f| f.is_file()),
        Err(_) => None,
    }
}

pub(crate) async fn serve(root: PathBuf, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = req.uri().path().to_string();
    let Some(file) = tokio::task::spawn_blocking(move || resolve(&root, &path)).await.ok().flatten() else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    match tower_http::services::ServeFile::new(file).try_call(req).await {
        Ok(response) => response.into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn serves_files_inside_the_folder_only() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
        let ui = tempfile::tempdir().unwrap();
        let root = ui.path();
        std::fs::write(root.join("index.html"), "index").unwrap();
        std::fs::create_dir(root.join("assets")).unwrap();
        std::fs::write(root.join("assets/app.js"), "js").unwrap();
        std::fs::write(root.join(".env"), "SECRET=1").unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/config"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("leak.txt")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join("assets/app.js"), root.join("app-link.js")).unwrap();
        let real = |p: &str| Some(root.canonicalize().unwrap().join(p));

        assert_eq!(resolve(root, "/"), real("index.html"));
        assert_eq!(resolve(root, "/assets/app.js"), real("assets/app.js"));
        assert_eq!(resolve(root, "/assets/%61pp.js"), real("assets/app.js"));
        assert_eq!(resolve(root, "/app-link.js"), real("assets/app.js"), "a link inside the folder is fine");
        assert_eq!(resolve(root, "/settings/profiles"), real("index.html"), "the UI's own routes");
        for refused in [
            "/.env",
            "/%2eenv",
            "/.git/config",
            "/leak.txt",
            "/out/secret.txt",
            "/../secret.txt",
            "/assets/..%2f..%2fetc/hostname",
            "/assets%5c..%5cindex.html",
        ] {
            assert_eq!(resolve(root, refused), None, "{refused}");
        }
    }
}

// SPDX-License-Identifier: MPL-2.0
//! Finding and loading `libonnxruntime.so` at run time.
//!
//! The plugin is built with `ort`'s `load-dynamic` feature: nothing is linked
//! or downloaded at build time, and each device brings the ONNX Runtime build
//! that fits its hardware. Discovery order:
//!
//! 1. `ORT_DYLIB_PATH` (a file);
//! 2. the copy the project's set-up script installs:
//!    `$XDG_DATA_HOME/gst-plugin-edgeai/onnxruntime/libonnxruntime.so`
//!    (`~/.local/share/...` when `XDG_DATA_HOME` is unset), then
//!    `/usr/local/lib/gst-plugin-edgeai/libonnxruntime.so`;
//! 3. the system library path (`libonnxruntime.so`, `libonnxruntime.so.1`).
//!
//! ONNX Runtime 1.17 or newer is required (`ort`'s base API level 17).
//! Once loaded, a library stays loaded for the life of the process.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// Minimum ONNX Runtime version the plugin works with.
pub const MIN_ORT_VERSION: &str = "1.17";

/// What was loaded.
pub struct Runtime {
    pub path: PathBuf,
    pub version: String,
    pub environment: ort::environment::Environment,
    /// Set when `ORT_DYLIB_PATH` was set but could not be loaded and another
    /// copy was: a warning naming both.
    pub warning: Option<String>,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static LOAD_LOCK: Mutex<()> = Mutex::new(());

/// The places searched, in order, with where each one came from.
pub fn candidates() -> Vec<(PathBuf, &'static str)> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        out.push((PathBuf::from(p), "ORT_DYLIB_PATH"));
    }
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    if let Some(d) = data_home {
        out.push((
            d.join("gst-plugin-edgeai/onnxruntime/libonnxruntime.so"),
            "set-up script's copy",
        ));
    }
    out.push((
        PathBuf::from("/usr/local/lib/gst-plugin-edgeai/libonnxruntime.so"),
        "system-wide set-up copy",
    ));
    out.push((PathBuf::from("libonnxruntime.so"), "system library path"));
    out.push((PathBuf::from("libonnxruntime.so.1"), "system library path"));
    out
}

/// Loads ONNX Runtime once per process and creates the shared environment.
/// The error says what was searched and how to fix it.
pub fn runtime() -> Result<&'static Runtime, String> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let _guard = LOAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let mut tried = Vec::new();
    let mut tried_from = Vec::new();
    for (path, origin) in candidates() {
        // A path with a directory part that does not exist is not worth a dlopen.
        if path.components().count() > 1 && !path.exists() {
            tried.push(format!("  {} ({origin}): not found", path.display()));
            tried_from.push((path, origin, "not found".to_string()));
            continue;
        }
        match ort::init_from(&path) {
            Ok(builder) => {
                let environment = builder.with_name("edgeai").build().map_err(|e| {
                    format!(
                        "ONNX Runtime loaded from {} but failed to start: {e}",
                        path.display()
                    )
                })?;
                let version = ort_version(&path);
                let rt = Runtime {
                    warning: fallback_warning(&tried_from, &path),
                    path: path.clone(),
                    version,
                    environment,
                };
                let _ = RUNTIME.set(rt);
                return RUNTIME
                    .get()
                    .ok_or_else(|| "ONNX Runtime state lost".to_string());
            }
            Err(e) => {
                tried.push(format!("  {} ({origin}): {e}", path.display()));
                tried_from.push((path, origin, e.to_string()));
            }
        }
    }
    Err(format!(
        "could not load ONNX Runtime (libonnxruntime.so, version {MIN_ORT_VERSION} or newer). Searched:\n{}\n\
         Fix: run the project's set-up script (scripts/setup.sh), or `pip install onnxruntime` and point \
         ORT_DYLIB_PATH at the libonnxruntime.so.* file in the package's capi/ folder, or install your \
         platform's ONNX Runtime (JetPack, distro package) into the library path.",
        tried.join("\n")
    ))
}

/// The warning for an `ORT_DYLIB_PATH` that failed before `loaded` was
/// loaded from a later place: the variable is an explicit choice, so falling
/// back to another copy is worth saying.
fn fallback_warning(
    failed: &[(PathBuf, &str, String)],
    loaded: &std::path::Path,
) -> Option<String> {
    let (path, _, why) = failed
        .iter()
        .find(|(_, origin, _)| *origin == "ORT_DYLIB_PATH")?;
    Some(format!(
        "ORT_DYLIB_PATH={} cannot be loaded ({why}); using {} instead. Fix or unset ORT_DYLIB_PATH",
        path.display(),
        loaded.display()
    ))
}

/// The library's own version string (`OrtGetApiBase()->GetVersionString()`),
/// which `ort` does not expose. Opening the library again only takes another
/// reference to the copy `ort` loaded.
fn ort_version(path: &std::path::Path) -> String {
    // SAFETY: the library was just loaded and validated by `ort::init_from`;
    // `OrtGetApiBase` is its documented C entry point, returning a pointer to a
    // static struct whose `GetVersionString` returns a static C string.
    unsafe {
        let Ok(lib) = libloading::Library::new(path) else {
            return "unknown".into();
        };
        let Ok(get_base) =
            lib.get::<unsafe extern "C" fn() -> *const ort::sys::OrtApiBase>(b"OrtGetApiBase")
        else {
            return "unknown".into();
        };
        let base = get_base();
        if base.is_null() {
            return "unknown".into();
        }
        let v = ((*base).GetVersionString)();
        if v.is_null() {
            return "unknown".into();
        }
        std::ffi::CStr::from_ptr(v).to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_failed_ort_dylib_path_is_named_in_a_warning() {
        let failed = vec![(
            PathBuf::from("/nonexistent/libonnxruntime.so"),
            "ORT_DYLIB_PATH",
            "not found".to_string(),
        )];
        let w = fallback_warning(
            &failed,
            Path::new("/usr/local/lib/gst-plugin-edgeai/libonnxruntime.so"),
        )
        .expect("a warning");
        assert_eq!(
            w,
            "ORT_DYLIB_PATH=/nonexistent/libonnxruntime.so cannot be loaded (not found); using \
             /usr/local/lib/gst-plugin-edgeai/libonnxruntime.so instead. Fix or unset ORT_DYLIB_PATH"
        );
        // Other places failing is the normal search: no warning.
        let others = vec![(
            PathBuf::from("/x/libonnxruntime.so"),
            "set-up script's copy",
            "not found".into(),
        )];
        assert_eq!(
            fallback_warning(&others, Path::new("libonnxruntime.so")),
            None
        );
    }
}

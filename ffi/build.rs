//! Writes `include/failsoft.h` from the crate's exports with cbindgen (settings in
//! `cbindgen.toml`). The header is checked in; CI rebuilds and fails when it differs
//! (`ffi/check-header.sh`).

use std::path::PathBuf;

fn main() {
    let crate_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let config_path = crate_dir.join("cbindgen.toml");
    let header = crate_dir.join("..").join("include").join("failsoft.h");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed={}", header.display());
    let config = cbindgen::Config::from_file(&config_path)
        .unwrap_or_else(|e| panic!("{}: {e}", config_path.display()));
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen could not generate include/failsoft.h: {e}"));
    let mut text = Vec::new();
    bindings.write(&mut text);
    // Only rewrite the file when its text changes, so an unchanged header keeps its mtime; a
    // read-only source tree (a vendored copy) gets a warning, not a failed build.
    if std::fs::read(&header).ok().as_deref() != Some(text.as_slice()) {
        if let Err(e) = std::fs::write(&header, &text) {
            println!("cargo:warning=could not write {}: {e}", header.display());
        }
    }
}

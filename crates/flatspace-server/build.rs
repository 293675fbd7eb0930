//! Rebuild when the web UI build (`web/dist`) changes, so a release binary embeds the current UI.
//! While `web/dist` does not exist, watch `web/` so its creation triggers a rebuild.

use std::path::Path;

fn main() {
    let dist = Path::new("../../web/dist");
    let web = Path::new("../../web");
    if dist.exists() {
        println!("cargo:rerun-if-changed=../../web/dist");
    } else if web.exists() {
        println!("cargo:rerun-if-changed=../../web");
    } else {
        println!("cargo:rerun-if-changed=build.rs");
    }
}

//! The web UI in `web/dist` is embedded (release) or listed (debug) when this crate compiles:
//! compile it again whenever the built UI changes.

fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}

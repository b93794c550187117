//! Generates the C layout of the libkrb5 structures src/krb5.rs declares by hand, from
//! `<krb5/krb5.h>` for the target being built (bindgen passes the target to clang, as it does
//! for libgssapi-sys). src/krb5.rs compares sizes and field offsets at compile time, so a
//! mismatch on any target (32-bit, big-endian, a new MIT release) fails the build instead of
//! corrupting memory at run time.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/krb5_layout.h");
    let bindings = bindgen::Builder::default()
        .header("src/krb5_layout.h")
        .allowlist_type("krb5_creds|krb5_data|krb5_keyblock|krb5_ticket_times")
        // Only the layouts are wanted: no functions, no derived impls, no generated tests.
        .layout_tests(false)
        .derive_debug(false)
        .derive_default(false)
        .derive_copy(false)
        .generate_comments(false)
        .generate()
        .expect("bindgen could not read <krb5/krb5.h> (install libkrb5-dev)");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("krb5_layout.rs"))
        .expect("write krb5_layout.rs");
}

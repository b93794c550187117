//! The `gmsa-keytab` binary: all behaviour lives in the library.
fn main() -> std::process::ExitCode {
    gmsa_keytab::cli::main()
}

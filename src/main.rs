//! The `kpcert` binary: everything lives in the library so tests run the real application.

fn main() -> std::process::ExitCode {
    kpcert::cli::main()
}

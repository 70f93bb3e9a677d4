//! The `kpcert` binary: everything lives in the library so tests run the real application.
//! The binary's allocator is mimalloc: under load, glibc's malloc (its consolidation and free
//! lists) took about a sixth of the server's time (issue 14, BENCHMARKS.md).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kpcert::cli::main()
}

//! The `kpcert` binary: everything lives in the library so tests run the real application.
//! The binary's allocator is mimalloc: under load, glibc's malloc (its consolidation and free
//! lists) took about a sixth of the server's time (issue 14, BENCHMARKS.md). It is built
//! without transparent huge pages (`no_thp`): each 2 MiB page it advised was zeroed whole on
//! first touch, however little of it was used (the audit's peak memory 107-125 -> 75-81 MB,
//! its system time 0.13-0.17 -> 0.05-0.09 s; issuance 3-4% less CPU a request).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kpcert::cli::main()
}

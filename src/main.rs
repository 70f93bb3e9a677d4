//! The `kpcert` binary: everything lives in the library so tests run the real application.
//! The binary's allocator is mimalloc: under load, glibc's malloc (its consolidation and free
//! lists) took about a sixth of the server's time (issue 14, BENCHMARKS.md). It is built not to
//! advise transparent huge pages (`no_thp`: no `MADV_HUGEPAGE` on its arenas): where the
//! kernel gives huge pages only to advised memory (the `madvise` mode, the common default), each
//! 2 MiB page was zeroed whole on first touch, however little of it was used (the audit's peak
//! memory 107-125 -> 75-81 MB, its system time 0.13-0.17 -> 0.05-0.09 s; issuance CPU a
//! request within noise, slightly lower). Under the `always` mode the kernel still uses them.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kpcert::cli::main()
}

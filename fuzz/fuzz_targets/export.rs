//! Fuzz target `export`: see kpcert::fuzz::export for what must hold.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kpcert::fuzz::export(data));

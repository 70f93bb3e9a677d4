//! Fuzz target `seal`: see kpcert::fuzz::seal for what must hold.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kpcert::fuzz::seal(data));

//! Fuzz target `entry`: see kpcert::fuzz::entry for what must hold.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kpcert::fuzz::entry(data));

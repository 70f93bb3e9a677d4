//! Fuzz target `request`: see kpcert::fuzz::request for what must hold.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kpcert::fuzz::request(data));

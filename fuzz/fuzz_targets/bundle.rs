//! Fuzz target `bundle`: see kpcert::fuzz::bundle for what must hold.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kpcert::fuzz::bundle(data));

//! Fuzz target `note`: see kpcert::fuzz::note for what must hold.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kpcert::fuzz::note(data));

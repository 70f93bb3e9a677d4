//! Fuzz target `cbor`: see kpcert::fuzz::cbor for what must hold.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kpcert::fuzz::cbor(data));

//! Fuzz target `frames`: arbitrary frames and socket calls against a stack holding live
//! connections, a listener and a UDP socket (see `sockeye_fuzz::frames`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sockeye_fuzz::frames::run(data);
});

//! Fuzz target `wire`: every wire parser on arbitrary bytes, and whatever parses must survive
//! emit-then-parse unchanged (see `sockeye_fuzz::wire`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sockeye_fuzz::wire::run(data);
});

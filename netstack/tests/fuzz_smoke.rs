//! The fuzz harnesses on stable: the operation interpreter of the cargo-fuzz target `frames` and
//! the round trips of `wire` (both in `fuzz/src/`, included here by path), run on seeded
//! pseudo-random inputs and on every minimized crash input committed under
//! `fuzz/regressions/<target>/`. CI has no nightly toolchain; this keeps the harnesses compiling
//! and their invariants holding between fuzzing campaigns.
//!
//! `SOCKEYE_FUZZ_SEEDS=N` runs N seeds per harness (defaults below); `SOCKEYE_FUZZ_SEED=S`
//! reruns seed S alone (add `SOCKEYE_FUZZ_TRACE=1` to print its operations). A failing seed
//! prints itself; `SOCKEYE_FUZZ_WRITE=DIR` also writes each input to `DIR/<target>-<seed>`, for
//! `cargo fuzz run <target> DIR/<file>`. `SOCKEYE_FUZZ_FILE=PATH` runs one input file (a fuzzer's
//! crash artifact, say) through `frames`, or through `wire` with `SOCKEYE_FUZZ_TARGET=wire`.

#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::PathBuf;

use sockeye_netstack::sim::Rng;

/// Seeds per harness by default: a few seconds in a debug build.
const FRAMES_SEEDS: u64 = 1000;
const WIRE_SEEDS: u64 = 50_000;

/// The seeds to run: one from `SOCKEYE_FUZZ_SEED`, else `SOCKEYE_FUZZ_SEEDS` or `default`.
fn seeds(default: u64) -> Vec<u64> {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse().ok());
    match var("SOCKEYE_FUZZ_SEED") {
        Some(seed) => vec![seed],
        None => (0..var("SOCKEYE_FUZZ_SEEDS").unwrap_or(default)).collect(),
    }
}

/// A pseudo-random input of up to `max_len` bytes.
fn input(seed: u64, max_len: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ 0xf022_5eed);
    let len = rng.below(max_len + 1) as usize;
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// A harness's entry point.
type Run = fn(&[u8]);

/// Runs `harness` on `data`; on a panic, says which input it was and passes the panic on.
fn run_one(target: &str, name: &str, data: &[u8], harness: Run) {
    if let Ok(dir) = std::env::var("SOCKEYE_FUZZ_WRITE") {
        let path = PathBuf::from(dir).join(format!("{target}-{name}"));
        std::fs::write(&path, data).expect("write the input");
    }
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| harness(data))) {
        eprintln!(
            "fuzz harness `{target}` failed on {name} ({} bytes); rerun with SOCKEYE_FUZZ_SEED \
             (for a seed) and SOCKEYE_FUZZ_TRACE=1",
            data.len()
        );
        resume_unwind(panic);
    }
}

#[test]
fn frames_harness_on_seeded_inputs() {
    for seed in seeds(FRAMES_SEEDS) {
        let data = input(seed, 3000);
        run_one(
            "frames",
            &format!("seed {seed}"),
            &data,
            harness::frames::run,
        );
    }
}

#[test]
fn wire_harness_on_seeded_inputs() {
    for seed in seeds(WIRE_SEEDS) {
        let mut data = input(seed, 200);
        // Give the parsers plausible starts often: an IPv4 version nibble, an ARP header.
        match seed % 4 {
            1 if data.len() > 9 => data[9] = 0x45,
            2 if data.len() > 16 => data[9..17].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]),
            _ => {}
        }
        run_one("wire", &format!("seed {seed}"), &data, harness::wire::run);
    }
}

/// The minimized inputs of crashes the fuzzers found and that are fixed, one file each (or
/// only the file `SOCKEYE_FUZZ_FILE`).
#[test]
fn committed_crash_inputs() {
    if let Ok(path) = std::env::var("SOCKEYE_FUZZ_FILE") {
        let data = std::fs::read(&path).expect("read SOCKEYE_FUZZ_FILE");
        let wire = std::env::var("SOCKEYE_FUZZ_TARGET").is_ok_and(|t| t == "wire");
        let (target, run): (&str, Run) = if wire {
            ("wire", harness::wire::run)
        } else {
            ("frames", harness::frames::run)
        };
        run_one(target, &path, &data, run);
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let targets: [(&str, Run); 2] = [
        ("frames", harness::frames::run),
        ("wire", harness::wire::run),
    ];
    for (target, run) in targets {
        let Ok(dir) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for path in files {
            let data = std::fs::read(&path).expect("read a crash input");
            run_one(target, &path.display().to_string(), &data, run);
        }
    }
}

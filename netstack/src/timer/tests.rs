//! Unit tests of the timing wheel against a reference model: every entry fires exactly once, at
//! the first `advance` whose tick reaches its deadline; cancel and reset behave; no allocation on
//! reset.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};

use super::{TimerKey, Wheel};

/// A waker that records its id in a shared log when woken.
struct Probe {
    id: usize,
    log: Arc<std::sync::Mutex<Vec<usize>>>,
    wakes: AtomicUsize,
}

impl Wake for Probe {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
        self.log.lock().unwrap().push(self.id);
    }
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn probe(id: usize, log: &Arc<std::sync::Mutex<Vec<usize>>>) -> Waker {
    Waker::from(Arc::new(Probe {
        id,
        log: log.clone(),
        wakes: AtomicUsize::new(0),
    }))
}

fn advance(
    wheel: &mut Wheel<Waker>,
    now: u64,
    log: &Arc<std::sync::Mutex<Vec<usize>>>,
) -> Vec<usize> {
    let mut fired = Vec::new();
    wheel.advance(now, &mut fired);
    for w in fired {
        w.wake();
    }
    let mut got = std::mem::take(&mut *log.lock().unwrap());
    got.sort_unstable();
    got
}

/// Deadlines spread over every level (and past the wheel's span), advanced in irregular steps.
#[test]
fn fires_each_entry_exactly_at_its_tick() {
    for seed in 1..=20u64 {
        let mut rng = Lcg(seed);
        let mut wheel = Wheel::new();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut pending: HashMap<usize, u64> = HashMap::new();
        for id in 0..500 {
            // Pick a magnitude (bits) first so every level gets entries.
            let bits = rng.next() % 40;
            let when = 1 + rng.next() % (1u64 << bits).max(1);
            wheel.insert(when, probe(id, &log));
            pending.insert(id, when);
        }
        let mut now = 0u64;
        while !pending.is_empty() {
            // Jump straight to the next deadline sometimes, small steps other times.
            let next = *pending.values().min().unwrap();
            now = if rng.next() % 3 == 0 {
                next
            } else {
                (now + 1 + rng.next() % 5000).min(next)
            };
            let got = advance(&mut wheel, now, &log);
            let mut want: Vec<usize> = pending
                .iter()
                .filter(|(_, w)| **w <= now)
                .map(|(id, _)| *id)
                .collect();
            want.sort_unstable();
            assert_eq!(got, want, "seed {seed} at tick {now}");
            for id in &want {
                pending.remove(id);
            }
        }
        assert_eq!(wheel.pending(), 0);
    }
}

#[test]
fn next_expiration_never_later_than_earliest_deadline() {
    let mut rng = Lcg(7);
    let mut wheel = Wheel::new();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut deadlines = Vec::new();
    for id in 0..200 {
        let when = 1 + rng.next() % 10_000_000;
        deadlines.push(when);
        wheel.insert(when, probe(id, &log));
    }
    deadlines.sort_unstable();
    let mut now = 0;
    for &d in &deadlines {
        // Following next_expiration from tick to tick reaches each deadline without skipping it.
        while now < d {
            let next = wheel.next_expiration().expect("entries are pending");
            assert!(
                next > now && next <= d,
                "next {next} now {now} deadline {d}"
            );
            now = next;
            advance(&mut wheel, now, &log);
        }
    }
    assert_eq!(wheel.next_expiration(), None);
}

#[test]
fn cancel_and_reset() {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut wheel = Wheel::new();
    let a = wheel.insert(100, probe(1, &log));
    let b = wheel.insert(200, probe(2, &log));
    let c = wheel.insert(5_000_000, probe(3, &log));
    wheel.remove(a);
    wheel.reset(c, 150);
    let slots = wheel.capacity();
    // Moving an entry many times allocates nothing.
    for i in 0..1000 {
        wheel.reset(b, 300 + (i * 7919) % 100_000);
    }
    wheel.reset(b, 250);
    assert_eq!(wheel.capacity(), slots);
    assert_eq!(advance(&mut wheel, 149, &log), Vec::<usize>::new());
    assert_eq!(advance(&mut wheel, 150, &log), vec![3]);
    assert_eq!(advance(&mut wheel, 249, &log), Vec::<usize>::new());
    assert_eq!(advance(&mut wheel, 250, &log), vec![2]);
    assert!(wheel.is_fired(b));
    // A removed key is stale: removing or resetting it again does nothing.
    wheel.remove(a);
    wheel.reset(a, 400);
    assert_eq!(advance(&mut wheel, 1000, &log), Vec::<usize>::new());
    // A fired entry can be re-armed by reset.
    // (its waker was consumed by the first firing: the owner polls again and supplies one).
    wheel.reset(b, 2000);
    assert!(!wheel.is_fired(b));
    *wheel.value_mut(b).unwrap() = Some(probe(2, &log));
    assert_eq!(advance(&mut wheel, 2000, &log), vec![2]);
}

#[test]
fn past_deadlines_fire_on_next_advance() {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut wheel = Wheel::new();
    advance(&mut wheel, 10_000, &log);
    let k = wheel.insert(5, probe(9, &log));
    assert!(wheel.is_fired(k));
    assert_eq!(wheel.next_expiration(), Some(10_000));
    assert_eq!(advance(&mut wheel, 10_000, &log), vec![9]);
}

#[test]
fn beyond_span_fires_only_when_due() {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut wheel = Wheel::new();
    let span = 1u64 << 36;
    let when = 3 * span + 12345;
    let key: TimerKey = wheel.insert(when, probe(4, &log));
    let mut now = 0;
    while now < when - 1 {
        now = wheel.next_expiration().unwrap().min(when - 1);
        assert_eq!(advance(&mut wheel, now, &log), Vec::<usize>::new());
    }
    assert!(!wheel.is_fired(key));
    assert_eq!(advance(&mut wheel, when, &log), vec![4]);
}

#[test]
fn freed_slots_are_reused() {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut wheel = Wheel::new();
    for round in 0..100 {
        let keys: Vec<_> = (0..50)
            .map(|i| wheel.insert(1000 + i + round, probe(0, &log)))
            .collect();
        for k in keys {
            wheel.remove(k);
        }
    }
    assert_eq!(wheel.capacity(), 50);
    assert_eq!(wheel.pending(), 0);
}

/// A key's generation is never zero, so an optional key (one per connection) is 8 bytes.
#[test]
fn an_optional_key_is_as_small_as_a_key() {
    assert_eq!(size_of::<Option<TimerKey>>(), size_of::<TimerKey>());
    assert_eq!(size_of::<TimerKey>(), 8);
}

//! Timers on the sockeye runtime: sleep, sleep_until, timeout, interval (all three missed-tick
//! behaviours), reset, and many timers firing in deadline order.
//!
//! Assertions are about order and lower bounds (a timer never fires early); the only upper bounds
//! are generous ones that catch a timer that never fires.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sockeye::time::{
    self, Instant, MissedTickBehavior, interval, interval_at, sleep, sleep_until, timeout,
};

#[sockeye::test]
async fn sleep_waits_at_least_its_duration() {
    for ms in [1u64, 5, 20] {
        let start = Instant::now();
        sleep(Duration::from_millis(ms)).await;
        assert!(start.elapsed() >= Duration::from_millis(ms));
    }
}

#[sockeye::test]
async fn zero_and_past_deadlines_complete_at_once() {
    let start = Instant::now();
    sleep(Duration::ZERO).await;
    sleep_until(Instant::now() - Duration::from_secs(1)).await;
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[sockeye::test]
async fn sleep_with_huge_duration_does_not_overflow() {
    let s = sleep(Duration::from_secs(u64::MAX));
    let r = timeout(Duration::from_millis(5), s).await;
    assert!(r.is_err());
}

#[sockeye::test]
async fn timers_fire_in_deadline_order() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let mut handles = Vec::new();
    // A deterministic shuffle of deadlines 0..60 ms, two tasks per distinct 3 ms step.
    for i in 0..40u64 {
        let ms = (i * 17) % 40 * 3 / 2;
        let order = order.clone();
        handles.push(sockeye::spawn(async move {
            sleep(Duration::from_millis(ms)).await;
            order.borrow_mut().push(ms);
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let order = order.borrow();
    assert_eq!(order.len(), 40);
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
}

#[sockeye::test]
async fn timeout_gives_elapsed_or_the_value() {
    let err = timeout(Duration::from_millis(5), sleep(Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "deadline has elapsed");
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    assert_eq!(
        timeout(Duration::from_secs(60), async { 7 }).await.unwrap(),
        7
    );
    // A future that is ready at the deadline wins over the timer.
    let ready_late = async {
        sleep(Duration::from_millis(2)).await;
        1
    };
    assert_eq!(timeout(Duration::from_secs(60), ready_late).await, Ok(1));
    assert!(
        time::timeout_at(Instant::now(), std::future::pending::<()>())
            .await
            .is_err()
    );
}

#[sockeye::test]
async fn reset_moves_a_sleep() {
    let start = Instant::now();
    let mut s = Box::pin(sleep(Duration::from_secs(3600)));
    s.as_mut().reset(Instant::now() + Duration::from_millis(10));
    s.as_mut().await;
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(10) && took < Duration::from_secs(60));
    assert!(s.is_elapsed());
    // A completed sleep can be re-armed.
    s.as_mut().reset(Instant::now() + Duration::from_millis(3));
    assert!(!s.is_elapsed());
    s.as_mut().await;
}

#[sockeye::test]
async fn interval_first_tick_is_immediate_then_periodic() {
    let mut iv = interval(Duration::from_millis(10));
    let start = Instant::now();
    let t0 = iv.tick().await;
    let t1 = iv.tick().await;
    let t2 = iv.tick().await;
    assert!(t0 <= start + Duration::from_millis(1));
    assert_eq!(t1 - t0, Duration::from_millis(10));
    assert_eq!(t2 - t1, Duration::from_millis(10));
    assert!(start.elapsed() >= Duration::from_millis(20));
}

/// Ticks at 10 ms, then stalls 35 ms: what each behaviour does with the missed ticks.
async fn after_stall(behavior: MissedTickBehavior) -> (Instant, Vec<Instant>) {
    let start = Instant::now();
    let mut iv = interval_at(start, Duration::from_millis(10));
    iv.set_missed_tick_behavior(behavior);
    assert_eq!(iv.tick().await, start);
    std::thread::sleep(Duration::from_millis(35));
    let mut ticks = Vec::new();
    for _ in 0..4 {
        ticks.push(iv.tick().await);
    }
    (start, ticks)
}

#[sockeye::test]
async fn interval_burst_catches_up_on_the_original_schedule() {
    let (start, ticks) = after_stall(MissedTickBehavior::Burst).await;
    let ms = |i: u64| start + Duration::from_millis(i * 10);
    assert_eq!(ticks, vec![ms(1), ms(2), ms(3), ms(4)]);
}

#[sockeye::test]
async fn interval_delay_restarts_the_schedule() {
    let (start, ticks) = after_stall(MissedTickBehavior::Delay).await;
    assert_eq!(ticks[0], start + Duration::from_millis(10));
    // Each following tick is one period after the previous one was *observed* (late).
    for w in ticks.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_millis(10));
    }
    assert!(ticks[1] >= start + Duration::from_millis(45));
}

#[sockeye::test]
async fn interval_skip_jumps_to_the_next_multiple() {
    let (start, ticks) = after_stall(MissedTickBehavior::Skip).await;
    assert_eq!(ticks[0], start + Duration::from_millis(10));
    for t in &ticks[1..] {
        let since = (*t - start).as_millis();
        assert_eq!(since % 10, 0, "ticks stay on the 10 ms grid: {since}");
        assert!(since >= 40);
    }
    for w in ticks.windows(2) {
        assert_eq!((w[1] - w[0]).as_millis() % 10, 0);
    }
}

#[test]
#[should_panic(expected = "`period` must be non-zero.")]
fn interval_rejects_zero_period() {
    let rt = sockeye::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let _ = interval(Duration::ZERO);
}

#[test]
#[should_panic(expected = "there is no sockeye runtime on this thread")]
fn polling_a_sleep_outside_a_runtime_panics() {
    let mut s = Box::pin(sleep(Duration::from_millis(1)));
    let waker = std::task::Waker::noop();
    let _ = s.as_mut().poll(&mut std::task::Context::from_waker(waker));
}

#[test]
fn a_sleep_made_outside_attaches_to_the_runtime_that_polls_it() {
    // The deadline is fixed when the sleep is made, before the runtime exists (building it
    // may take longer than the sleep), so time is measured from there.
    let start = Instant::now();
    let s = sleep(Duration::from_millis(3));
    let rt = sockeye::runtime::Runtime::new().unwrap();
    rt.block_on(s);
    assert!(start.elapsed() >= Duration::from_millis(3));
}

#[sockeye::test]
async fn dropping_many_timers_cancels_them() {
    // 10,000 armed and dropped timers: the runtime must then idle until the one live timer.
    let mut sleeps: Vec<_> = (0..10_000u64)
        .map(|i| Box::pin(sleep(Duration::from_millis(500 + i % 5000))))
        .collect();
    std::future::poll_fn(|cx| {
        for s in sleeps.iter_mut() {
            assert!(s.as_mut().poll(cx).is_pending());
        }
        std::task::Poll::Ready(())
    })
    .await;
    drop(sleeps);
    let start = Instant::now();
    sleep(Duration::from_millis(5)).await;
    assert!(start.elapsed() >= Duration::from_millis(5));
}

use std::future::Future;

//! Waking never allocates: a counting global allocator shows that once tasks exist, waking
//! them (from the same thread, many times) and running them allocates nothing. Only allocations
//! made by the test's own thread count (libtest's threads allocate concurrently).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: during thread teardown the counter may already be gone.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn waking_and_running_tasks_does_not_allocate() {
    let rt = sockeye::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Two tasks that wake each other through shared waker slots, 10,000 times.
        let slot_a: Rc<Cell<Option<Waker>>> = Rc::new(Cell::new(None));
        let slot_b: Rc<Cell<Option<Waker>>> = Rc::new(Cell::new(None));
        let turns = Rc::new(Cell::new(0u32));
        let measure_from = Rc::new(Cell::new(0usize));
        let mk = |mine: Rc<Cell<Option<Waker>>>, other: Rc<Cell<Option<Waker>>>| {
            let turns = turns.clone();
            let measure_from = measure_from.clone();
            async move {
                let mut last = 0;
                poll_fn(|cx| {
                    if turns.get() >= 10_000 {
                        if let Some(w) = other.take() {
                            w.wake();
                        }
                        return Poll::Ready(());
                    }
                    if turns.get() == 100 && last != 100 {
                        // Warm-up over: from here on nothing may allocate.
                        measure_from.set(allocs());
                    }
                    last = turns.get();
                    turns.set(turns.get() + 1);
                    // Store our waker (clone: an Arc increment, no allocation) and wake the other.
                    match mine.take() {
                        Some(w) if w.will_wake(cx.waker()) => mine.set(Some(w)),
                        _ => mine.set(Some(cx.waker().clone())),
                    }
                    if let Some(w) = other.take() {
                        w.wake_by_ref();
                        other.set(Some(w));
                    }
                    Poll::Pending
                })
                .await
            }
        };
        let a = sockeye::spawn(mk(slot_a.clone(), slot_b.clone()));
        let b = sockeye::spawn(mk(slot_b.clone(), slot_a.clone()));
        // Wait without awaiting the handles (their futures are not measured).
        while !(a.is_finished() && b.is_finished()) {
            sockeye::task::yield_now().await;
        }
        let allocated = allocs() - measure_from.get();
        assert!(measure_from.get() > 0, "the warm-up point was reached");
        assert_eq!(allocated, 0, "{allocated} allocations while waking tasks");
        slot_a.take();
        slot_b.take();
    });
}

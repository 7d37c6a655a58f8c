//! The task slab: live tasks indexed by a `u32` slot number, with a free list.
//!
//! Unlike a general slab, a slot keeps its [`Header`] (the waker target) when its task ends, so a
//! new task in a reused slot costs no header allocation.

use std::rc::Rc;
use std::sync::Arc;

use super::waker::{Header, Shared};
use crate::task::RawTask;

struct Slot {
    header: Arc<Header>,
    task: Option<Rc<dyn RawTask>>,
}

/// Live tasks by slot index.
pub(crate) struct TaskSlab {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

impl TaskSlab {
    pub(crate) fn new() -> TaskSlab {
        TaskSlab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    /// Reserves a slot and returns its index and header; the slot stays empty until
    /// [`TaskSlab::fill`] is called.
    pub(crate) fn reserve(&mut self, shared: &Arc<Shared>) -> (u32, Arc<Header>) {
        if let Some(index) = self.free.pop() {
            return (index, self.slots[index as usize].header.clone());
        }
        let index = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i < super::waker::MAIN)
            .expect("more than 4 billion live tasks");
        let header = Arc::new(Header::new(index, shared.clone()));
        self.slots.push(Slot {
            header: header.clone(),
            task: None,
        });
        // Room for every slot in the free list, so that releasing a slot never allocates.
        let want = self.slots.len() - self.free.len();
        self.free.reserve(want);
        (index, header)
    }

    pub(crate) fn fill(&mut self, index: u32, task: Rc<dyn RawTask>) {
        self.slots[index as usize].task = Some(task);
        self.live += 1;
    }

    /// The task in `index` (if any) after clearing its `queued` flag, so that a wake during the
    /// coming poll queues it again.
    #[inline]
    pub(crate) fn take_for_run(&self, index: u32) -> Option<Rc<dyn RawTask>> {
        let slot = self.slots.get(index as usize)?;
        slot.header
            .queued
            .store(false, std::sync::atomic::Ordering::Release);
        slot.task.clone()
    }

    /// Frees a slot whose task has finished.
    pub(crate) fn release(&mut self, index: u32) {
        if self.slots[index as usize].task.take().is_some() {
            self.live -= 1;
            self.free.push(index);
        }
    }

    /// Number of tasks that have not finished.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Takes every remaining task out of the slab (runtime shutdown).
    pub(crate) fn drain(&mut self) -> Vec<(u32, Rc<dyn RawTask>)> {
        let mut out = Vec::with_capacity(self.live);
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some(task) = slot.task.take() {
                out.push((i as u32, task));
                self.free.push(i as u32);
            }
        }
        self.live = 0;
        out
    }
}

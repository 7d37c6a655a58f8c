//! [`FramePool`]: reusable `Vec<u8>` frame buffers, shared by the in-process devices
//! ([`Loopback`](crate::Loopback), [`Hub`](crate::Hub)) so that, once traffic has warmed the pool
//! up, moving a frame allocates nothing.

/// Capacity of a new buffer at least: a full-sized frame of a standard Ethernet, so that small and
/// common frames never regrow a recycled buffer.
pub(crate) const MIN_BUFFER_CAPACITY: usize = 1514;

/// A free list of frame buffers, counting the heap allocations it makes.
#[derive(Debug, Default)]
pub(crate) struct FramePool {
    /// Buffers ready to be reused.
    free: Vec<Vec<u8>>,
    /// New buffers, plus recycled buffers regrown for a longer frame.
    allocated: usize,
    /// How many buffers exist (in use or free).
    created: usize,
}

impl FramePool {
    /// How many heap allocations the pool has made: new buffers, plus regrowing a recycled buffer
    /// too small for a frame.
    pub(crate) fn buffers_allocated(&self) -> usize {
        self.allocated
    }

    /// A buffer of `len` bytes, from the free list when possible, for the caller to overwrite
    /// entirely (a device's `fill` writes the whole frame): a recycled buffer keeps an earlier
    /// frame's bytes instead of being zeroed again, which for 64 KiB loopback frames was a
    /// pass over every byte sent.
    pub(crate) fn take(&mut self, len: usize) -> Vec<u8> {
        match self.free.pop() {
            Some(mut buffer) => {
                if buffer.capacity() < len {
                    self.allocated += 1;
                }
                if buffer.len() >= len {
                    buffer.truncate(len);
                } else {
                    buffer.resize(len, 0);
                }
                buffer
            }
            None => {
                self.allocated += 1;
                self.created += 1;
                // The free list never holds more than every buffer: grow it with them, so that it
                // never allocates once the pool has stopped growing.
                self.free
                    .reserve(self.created.saturating_sub(self.free.len()));
                let mut buffer = Vec::with_capacity(len.max(MIN_BUFFER_CAPACITY));
                buffer.resize(len, 0);
                buffer
            }
        }
    }

    /// A copy of `frame` in a pooled buffer.
    pub(crate) fn copy_of(&mut self, frame: &[u8]) -> Vec<u8> {
        let mut buffer = self.take(frame.len());
        buffer.copy_from_slice(frame);
        buffer
    }

    /// Returns a buffer to the free list.
    pub(crate) fn put(&mut self, buffer: Vec<u8>) {
        self.free.push(buffer);
    }
}

impl Extend<Vec<u8>> for FramePool {
    /// Returns buffers to the free list.
    fn extend<I: IntoIterator<Item = Vec<u8>>>(&mut self, buffers: I) {
        self.free.extend(buffers);
    }
}

//! [`FramePool`]: reusable frame buffers, shared by the in-process devices
//! ([`Loopback`](crate::Loopback), [`Hub`](crate::Hub)) so that, once traffic has warmed the pool
//! up, moving a frame allocates nothing and zeroes nothing.

use core::ops::{Deref, DerefMut};

/// Capacity of a new buffer at least: a full-sized frame of a standard Ethernet, so that small and
/// common frames never regrow a recycled buffer.
pub(crate) const MIN_BUFFER_CAPACITY: usize = 1514;

/// A frame in a pooled buffer: the buffer keeps every byte it has ever initialised (its `Vec`
/// length only grows), and the frame is the first `len` of them. A recycled buffer therefore
/// serves a frame of any length up to the longest it has carried without being zeroed again,
/// whatever the length of the frame it carried last (a 64 KiB segment after a 66-byte ACK).
#[derive(Debug)]
pub(crate) struct Frame {
    buffer: Vec<u8>,
    len: usize,
}

impl Frame {
    /// A frame holding a copy of `bytes` in a new buffer (for tests and unpooled callers).
    #[cfg(test)]
    pub(crate) fn from_slice(bytes: &[u8]) -> Frame {
        Frame {
            buffer: bytes.to_vec(),
            len: bytes.len(),
        }
    }
}

impl Deref for Frame {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buffer[..self.len]
    }
}

impl DerefMut for Frame {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.buffer[..self.len]
    }
}

/// A free list of frame buffers, counting the heap allocations it makes.
#[derive(Debug, Default)]
pub(crate) struct FramePool {
    /// Buffers ready to be reused, each with every byte of its `Vec` length initialised.
    free: Vec<Vec<u8>>,
    /// New buffers, plus recycled buffers regrown for a longer frame.
    allocated: usize,
    /// How many buffers exist (in use or free).
    created: usize,
}

impl FramePool {
    /// How many heap allocations the pool has made: new buffers, plus regrowing a recycled
    /// buffer too small for a frame.
    pub(crate) fn buffers_allocated(&self) -> usize {
        self.allocated
    }

    /// A frame of `len` bytes, in a buffer from the free list when possible, for the caller to
    /// overwrite entirely (a device's `fill` writes the whole frame): a recycled buffer keeps
    /// earlier frames' bytes instead of being zeroed again, which for 64 KiB loopback frames was
    /// a pass over every byte sent. Only bytes the buffer never held are zeroed, once.
    pub(crate) fn take(&mut self, len: usize) -> Frame {
        let buffer = match self.free.pop() {
            Some(mut buffer) => {
                if buffer.len() < len {
                    if buffer.capacity() < len {
                        self.allocated += 1;
                    }
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
        };
        Frame { buffer, len }
    }

    /// A copy of `frame` in a pooled buffer.
    pub(crate) fn copy_of(&mut self, frame: &[u8]) -> Frame {
        let mut copy = self.take(frame.len());
        copy.copy_from_slice(frame);
        copy
    }

    /// Returns a frame's buffer to the free list.
    pub(crate) fn put(&mut self, frame: Frame) {
        self.free.push(frame.buffer);
    }
}

impl Extend<Frame> for FramePool {
    /// Returns frames' buffers to the free list.
    fn extend<I: IntoIterator<Item = Frame>>(&mut self, frames: I) {
        self.free
            .extend(frames.into_iter().map(|frame| frame.buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_buffer_serves_longer_frames_without_zeroing_or_allocating() {
        let mut pool = FramePool::default();
        let mut big = pool.take(4000);
        big.fill(7);
        pool.put(big);
        let mut small = pool.take(60);
        assert_eq!(small.len(), 60);
        small.fill(1);
        pool.put(small);
        // The buffer still holds the 4000 bytes it was given: a 3000-byte frame reuses them.
        let again = pool.take(3000);
        assert_eq!(again.len(), 3000);
        assert_eq!(&again[..60], &[1; 60][..]);
        assert_eq!(&again[60..], &[7; 2940][..]);
        assert_eq!(pool.buffers_allocated(), 1);
        pool.put(again);
        // Longer than ever carried: grown (zeroed past the old end), counted as an allocation.
        let longer = pool.take(5000);
        assert_eq!(&longer[4000..], &[0; 1000][..]);
        assert_eq!(pool.buffers_allocated(), 2);
        let copy = pool.copy_of(&Frame::from_slice(b"abc"));
        assert_eq!(&*copy, b"abc");
    }
}

//! [`Ready`]: the readiness a socket's `ready(Interest)` reports, with tokio's names. The
//! interest itself is [`Interest`](crate::reactor::Interest), shared with the reactor.

use std::fmt;
use std::ops::BitOr;

const READABLE: u8 = 0b0001;
const WRITABLE: u8 = 0b0010;
const READ_CLOSED: u8 = 0b0100;
const WRITE_CLOSED: u8 = 0b1000;

/// A set of readiness events, as returned by `TcpStream::ready`.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready(u8);

impl Ready {
    /// No readiness.
    pub const EMPTY: Ready = Ready(0);
    /// A read would not block.
    pub const READABLE: Ready = Ready(READABLE);
    /// A write would not block.
    pub const WRITABLE: Ready = Ready(WRITABLE);
    /// The peer has closed its sending side (its FIN arrived, or the connection is gone).
    pub const READ_CLOSED: Ready = Ready(READ_CLOSED);
    /// This side can send no more (shut down, or the connection is gone).
    pub const WRITE_CLOSED: Ready = Ready(WRITE_CLOSED);
    /// Every readiness.
    pub const ALL: Ready = Ready(READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED);

    /// Whether no readiness is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether `READABLE` or `READ_CLOSED` is set.
    pub fn is_readable(self) -> bool {
        self.0 & (READABLE | READ_CLOSED) != 0
    }

    /// Whether `WRITABLE` or `WRITE_CLOSED` is set.
    pub fn is_writable(self) -> bool {
        self.0 & (WRITABLE | WRITE_CLOSED) != 0
    }

    /// Whether `READ_CLOSED` is set.
    pub fn is_read_closed(self) -> bool {
        self.0 & READ_CLOSED != 0
    }

    /// Whether `WRITE_CLOSED` is set.
    pub fn is_write_closed(self) -> bool {
        self.0 & WRITE_CLOSED != 0
    }
}

impl BitOr for Ready {
    type Output = Ready;

    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("is_readable", &(self.0 & READABLE != 0))
            .field("is_writable", &(self.0 & WRITABLE != 0))
            .field("is_read_closed", &self.is_read_closed())
            .field("is_write_closed", &self.is_write_closed())
            .finish()
    }
}

//! TCP: [`TcpListener`], [`TcpStream`] (with its borrowed and owned halves) and [`TcpSocket`].

mod inner;
mod listener;
mod socket;
pub mod split;
pub mod split_owned;
mod stream;

pub use listener::{DEFAULT_BACKLOG, TcpListener};
pub use socket::TcpSocket;
pub use split::{ReadHalf, WriteHalf};
pub use split_owned::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::TcpStream;
pub(crate) use stream::checked_ttl;
#[cfg(feature = "hyper")]
pub(crate) use stream::poll_read_buf;

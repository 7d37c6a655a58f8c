//! Time: [`sleep`], [`sleep_until`], [`timeout`], [`interval`] and [`Instant`], with tokio's names
//! and semantics, driven by a hierarchical timing wheel per runtime (millisecond resolution; the wheel itself is
//! `sockeye_netstack::timer::Wheel`, shared with the stack's per-connection timers).

pub(crate) mod driver;
pub mod error;
mod instant;
mod interval;
mod sleep;
mod timeout;

pub use error::Elapsed;
pub use instant::Instant;
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Timeout, timeout, timeout_at};

pub use std::time::Duration;

//! Timers: the hierarchical timing wheel shared by the stack (per-connection timers) and the
//! runtime (user timers).

mod wheel;

pub use wheel::{TimerKey, Wheel};

//! TCP (RFC 9293): the building blocks of the connection engine, split by concern.
//!
//! - [`rtt`]: the retransmission timeout estimator (RFC 6298) with Linux's bounds;
//! - [`isn`]: initial sequence numbers (RFC 6528) and ephemeral ports (RFC 6056).
//!
//! The state machine, buffers, listener queues and congestion control follow in their own
//! modules.

pub mod isn;
pub mod rtt;

//! TCP (RFC 9293): the building blocks of the connection engine, split by concern.
//!
//! - [`rtt`]: the retransmission timeout estimator (RFC 6298) with Linux's bounds;
//! - [`isn`]: initial sequence numbers (RFC 6528) and ephemeral ports (RFC 6056);
//! - [`ring`]: the bounded, lazily allocated byte ring behind the send and receive buffers;
//! - [`assembler`]: out-of-order reassembly bookkeeping and SACK block order.
//!
//! The state machine, buffers, listener queues and congestion control follow in their own
//! modules.

pub mod assembler;
pub mod isn;
pub mod ring;
pub mod rtt;

//! Congestion control: NewReno (RFC 5681 with RFC 6582's recovery and RFC 3465's byte counting).
//!
//! This type owns only the congestion window and slow-start threshold; the connection decides
//! when an event happens (new data acknowledged, entering or leaving fast recovery, a
//! retransmission timeout) and keeps the recovery point itself. Windows are in bytes.

/// NewReno's state.
#[derive(Debug, Clone)]
pub(crate) struct NewReno {
    /// The congestion window.
    pub cwnd: usize,
    /// The slow-start threshold ("infinite" until the first loss).
    pub ssthresh: usize,
    /// Bytes acknowledged in congestion avoidance since cwnd last grew.
    acked_in_ca: usize,
}

impl NewReno {
    /// The initial window: `init_segments` segments of `mss` bytes (RFC 6928: 10).
    pub fn new(init_segments: u32, mss: usize) -> NewReno {
        NewReno {
            cwnd: (init_segments as usize).max(1) * mss,
            ssthresh: usize::MAX,
            acked_in_ca: 0,
        }
    }

    /// New data was acknowledged outside recovery: grow the window (slow start below ssthresh,
    /// with RFC 3465's limit of two segments per ACK; otherwise one segment per window).
    pub fn on_ack(&mut self, acked: usize, mss: usize) {
        if self.cwnd < self.ssthresh {
            self.cwnd = self.cwnd.saturating_add(acked.min(2 * mss));
        } else {
            self.acked_in_ca += acked;
            if self.acked_in_ca >= self.cwnd {
                self.acked_in_ca -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(mss);
            }
        }
    }

    /// The third duplicate ACK: halve (RFC 5681 equation 4) and inflate by the three segments
    /// that left the network.
    pub fn on_fast_retransmit(&mut self, flight: usize, mss: usize) {
        self.ssthresh = (flight / 2).max(2 * mss);
        self.cwnd = self.ssthresh + 3 * mss;
        self.acked_in_ca = 0;
    }

    /// Another duplicate ACK during recovery: one more segment has left the network.
    pub fn on_recovery_dupack(&mut self, mss: usize) {
        self.cwnd = self.cwnd.saturating_add(mss);
    }

    /// A partial ACK during recovery (RFC 6582 section 3.2 step 5): deflate by what it
    /// acknowledged, then add back one segment if that was at least a segment.
    pub fn on_partial_ack(&mut self, acked: usize, mss: usize) {
        self.cwnd = self.cwnd.saturating_sub(acked);
        if acked >= mss {
            self.cwnd += mss;
        }
        self.cwnd = self.cwnd.max(mss);
    }

    /// The ACK that ends recovery (RFC 6582 section 3.2 step 3, the "less bursty" option).
    pub fn on_recovery_exit(&mut self, flight: usize, mss: usize) {
        self.cwnd = self.ssthresh.min(flight.max(mss) + mss);
        self.acked_in_ca = 0;
    }

    /// A retransmission timeout (RFC 5681 equations 4 and 5): one segment, threshold halved.
    pub fn on_timeout(&mut self, flight: usize, mss: usize) {
        self.ssthresh = (flight / 2).max(2 * mss);
        self.cwnd = mss;
        self.acked_in_ca = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1000;

    #[test]
    fn slow_start_then_avoidance() {
        let mut cc = NewReno::new(10, MSS);
        assert_eq!(cc.cwnd, 10_000);
        cc.on_ack(5000, MSS);
        assert_eq!(
            cc.cwnd, 12_000,
            "byte counting limits growth to 2 MSS per ACK"
        );
        cc.ssthresh = 12_000;
        for _ in 0..11 {
            cc.on_ack(MSS, MSS);
        }
        assert_eq!(cc.cwnd, 12_000);
        cc.on_ack(MSS, MSS);
        assert_eq!(cc.cwnd, 13_000, "one MSS per window of ACKed bytes");
    }

    #[test]
    fn fast_recovery_and_timeout() {
        let mut cc = NewReno::new(10, MSS);
        cc.on_fast_retransmit(20_000, MSS);
        assert_eq!((cc.ssthresh, cc.cwnd), (10_000, 13_000));
        cc.on_recovery_dupack(MSS);
        assert_eq!(cc.cwnd, 14_000);
        cc.on_partial_ack(3000, MSS);
        assert_eq!(cc.cwnd, 12_000);
        cc.on_recovery_exit(4000, MSS);
        assert_eq!(cc.cwnd, 5000);
        cc.on_timeout(3000, MSS);
        assert_eq!((cc.ssthresh, cc.cwnd), (2000, 1000));
    }
}

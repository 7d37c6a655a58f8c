//! The transmission control block: everything one connection knows.
//!
//! Sequence variables are named as in RFC 9293 (`snd_una`, `snd_nxt`, `rcv_nxt`, ...), with
//! `snd_max` (the highest sequence number sent, as in BSD) added because a retransmission
//! timeout rewinds `snd_nxt` to `snd_una` ("go back N") while the peer may still acknowledge
//! anything up to `snd_max`.
//!
//! The send buffer holds the bytes from `snd_una` on (sent and unacknowledged, then unsent); a
//! FIN, once the user shut the connection down, sits right after its last byte. The receive
//! buffer holds in-order bytes the user has not read yet, followed by out-of-order bytes stored
//! in place and tracked by the assembler.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::io;
use std::task::Waker;
use std::time::Duration;

use super::State;
use super::assembler::Assembler;
use super::buffers::RcvTuning;
use super::cc::Congestion;
use super::rack::Rack;
use super::ring::Ring;
use super::rtt::RttEstimator;
use super::scoreboard::Scoreboard;
use super::seq_dist;
use crate::config::StackConfig;
use crate::route::IfaceId;
use crate::stats::{Counter, Counters};
use crate::time::Instant;
use crate::timer::TimerKey;
use crate::wire::SeqNumber;
use crate::wire::tcp::options::MAX_WINDOW_SCALE;

/// The MSS assumed when the peer announces none (RFC 9293 section 3.7.1).
pub(crate) const DEFAULT_MSS: usize = 536;
/// The smallest MSS announced, whatever the MTU (Linux's `TCP_MIN_MSS`).
pub(crate) const MIN_MSS: usize = 88;
/// IPv4 plus TCP headers without options.
pub(crate) const HEADERS: usize = 40;
/// Linux's minimum delayed-ACK timeout (`TCP_DELACK_MIN`).
pub(crate) const DELACK_MIN: Duration = Duration::from_millis(40);
/// Segments acknowledged at once after the handshake and after out-of-order data (Linux's
/// quick-ACK mode, `TCP_MAX_QUICKACKS`).
pub(crate) const QUICKACKS: u32 = 16;

/// What a connection's context passes into its methods: the time, the settings and the counters.
pub(crate) struct Env<'a> {
    /// Now.
    pub now: Instant,
    /// The stack's settings.
    pub config: &'a StackConfig,
    /// The stack's counters.
    pub counters: &'a mut Counters,
}

impl Env<'_> {
    /// Counts one event.
    pub fn count(&mut self, counter: Counter) {
        self.counters.inc(counter);
    }
}

/// The connection's timers, as absolute deadlines (the table files the earliest in its wheel).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Timers {
    /// Retransmission (also SYN and SYN-ACK retransmission).
    pub rto: Option<Instant>,
    /// Delayed ACK.
    pub delack: Option<Instant>,
    /// Zero-window probe.
    pub persist: Option<Instant>,
    /// Keepalive probe.
    pub keepalive: Option<Instant>,
    /// End of TIME_WAIT, or of an orphaned FIN_WAIT_2.
    pub linger: Option<Instant>,
    /// RACK's reordering timer: a segment becomes lost then unless delivered first.
    pub reorder: Option<Instant>,
    /// Tail loss probe (RFC 8985 section 7).
    pub tlp: Option<Instant>,
    /// A second after data last arrived: an emptied receive buffer gives its memory back.
    pub release: Option<Instant>,
}

impl Timers {
    /// The earliest armed deadline, in microseconds (computed after every event, so without
    /// branches: unarmed timers count as `u64::MAX`).
    pub fn earliest_micros(&self) -> Option<u64> {
        let at = Instant::micros_or_max;
        let earliest = at(self.rto)
            .min(at(self.delack))
            .min(at(self.persist))
            .min(at(self.keepalive))
            .min(at(self.linger))
            .min(at(self.reorder))
            .min(at(self.tlp))
            .min(at(self.release));
        (earliest != u64::MAX).then_some(earliest)
    }
}

/// Options negotiated in the handshake.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Negotiated {
    /// Both sides sent the window scale option.
    pub scaling: bool,
    /// Window scaling in use: our shift for what we advertise, the peer's for what it does.
    pub rcv_shift: u8,
    /// The peer's window scale shift.
    pub snd_shift: u8,
    /// SACK permitted both ways.
    pub sack: bool,
    /// Timestamps in use.
    pub timestamps: bool,
}

/// One connection.
#[derive(Debug)]
pub(crate) struct Tcb {
    pub state: State,
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    /// The interface and next hop the connection's segments leave by.
    pub iface: IfaceId,
    pub next_hop: Ipv4Addr,
    /// The largest IP packet the route carries.
    pub path_mtu: usize,

    // Send sequence space.
    pub iss: SeqNumber,
    pub snd_una: SeqNumber,
    pub snd_nxt: SeqNumber,
    pub snd_max: SeqNumber,
    /// The peer's window, scaled.
    pub snd_wnd: usize,
    pub max_snd_wnd: usize,
    pub snd_wl1: SeqNumber,
    pub snd_wl2: SeqNumber,
    pub send: Ring,
    /// The user shut the sending side down: a FIN follows the last byte of `send`.
    pub fin_queued: bool,
    /// Our FIN has been acknowledged.
    pub fin_acked: bool,
    /// Retransmit the segment at `snd_una` next (fast retransmit, partial ACK).
    pub rtx_head: bool,

    // Receive sequence space.
    pub irs: SeqNumber,
    pub rcv_nxt: SeqNumber,
    /// The right edge of the window last advertised (never moves left).
    pub rcv_adv: SeqNumber,
    /// `rcv_nxt` when the window was last advertised (Linux's `rcv_wup`).
    pub rcv_wup: SeqNumber,
    pub recv: Ring,
    pub assembler: Assembler,
    /// Where the peer's FIN is, once seen (it may arrive before data that precedes it).
    pub fin_at: Option<SeqNumber>,
    /// The peer's FIN has been taken into the stream: reads end after the buffered bytes.
    pub fin_received: bool,

    // Options.
    pub opts: Negotiated,
    /// The most payload per segment we send (the peer's MSS, clamped to the path).
    pub mss: usize,
    /// The MSS we announce.
    pub adv_mss: u16,
    /// The largest segment received so far (Linux's `rcv_mss`), for delayed ACKs.
    pub rcv_mss: usize,
    /// The peer's last timestamp worth echoing (RFC 7323 `TS.Recent`).
    pub ts_recent: u32,
    /// When `ts_recent` was last set (PAWS forgets a `TS.Recent` idle for 24 days).
    pub ts_recent_stamp: Instant,
    /// Added to our millisecond clock in TSval, so timestamps do not reveal uptime.
    pub ts_offset: u32,

    // Round trips and congestion.
    pub rtt: RttEstimator,
    /// The segment being timed (end sequence, send time), per Karn's algorithm.
    pub rtt_probe: Option<(SeqNumber, Instant)>,
    /// The congestion window, threshold and algorithm.
    pub cc: Congestion,
    pub dup_acks: u32,
    /// In fast recovery until `snd_una` reaches `recover` (RFC 6582).
    pub in_recovery: bool,
    pub recover: SeqNumber,
    /// The TSval of the first retransmission of the current fast recovery: an ACK echoing an
    /// older one was caused by an original transmission (RFC 3522, Eifel detection).
    pub undo_stamp: Option<u32>,
    /// Every ACK of this fast recovery so far was caused by original transmissions (with
    /// timestamps): the recovery may prove spurious and be undone when it ends.
    pub undo_ok: bool,
    /// When data was last sent (Linux's `lsndtime`): the idle time the restart window uses.
    pub last_data_sent: Instant,
    /// After a retransmission timeout on a SACK connection: recovering every segment marked
    /// lost until `snd_una` reaches `recover` (Linux's `TCP_CA_Loss`).
    pub in_loss: bool,
    /// The first ACK after a timeout decides whether it was spurious (Eifel, RFC 3522): the
    /// timed-out data had arrived after all if that ACK echoes a TSval older than the
    /// retransmission's (`undo_stamp`).
    pub rto_undo_pending: bool,
    /// The SACK sender's scoreboard (only kept when SACK is in use).
    pub sb: Scoreboard,
    /// RACK loss detection state.
    pub rack: Rack,
    /// Proportional rate reduction (RFC 6937): bytes delivered and sent since recovery began,
    /// and the flight size then (`RecoverFS`).
    pub prr_delivered: usize,
    pub prr_out: usize,
    pub recover_fs: usize,
    /// Where the last recovery began (Linux's `undo_marker`), while it may still be undone
    /// (after it ended, too: the D-SACKs for its retransmissions come late).
    pub undo_marker: Option<SeqNumber>,
    /// Retransmissions of that recovery not yet shown spurious by a D-SACK (Linux's
    /// `undo_retrans`): when it reaches zero, the recovery is undone.
    pub undo_retrans: i32,
    /// The end of the outstanding tail loss probe (`tlp_high_seq`), and whether the probe was a
    /// retransmission.
    pub tlp_high_seq: Option<SeqNumber>,
    pub tlp_retrans: bool,
    /// The tail loss probe timer fired: the output sends the probe.
    pub tlp_due: bool,
    /// A duplicate segment arrived: the next ACK reports it in a D-SACK block (RFC 2883).
    pub dsack: Option<(SeqNumber, SeqNumber)>,
    /// Segments shorter than `rcv_mss` arrived since the last ACK (Linux's `ICSK_ACK_PUSHED`,
    /// and `ICSK_ACK_PUSHED2` for two or more): reading them all acknowledges at once.
    pub ack_pushed: u8,
    /// Request/response traffic (Linux's pingpong mode): we sent data soon after data
    /// arrived, so ACKs wait to ride on the reply.
    pub pingpong: bool,
    /// When data last arrived in order.
    pub last_data_recv: Instant,
    /// A write found the send buffer full; until a third of it is free again, write
    /// readiness says "not yet" even if a few bytes would fit (the low-water mark Linux's
    /// `EPOLLOUT` waits for, after a write returned `EAGAIN`).
    pub write_blocked: bool,
    /// The buffer sizes were set by the application (`SO_SNDBUF`/`SO_RCVBUF`, Linux's
    /// `SOCK_SNDBUF_LOCK`/`SOCK_RCVBUF_LOCK`): autotuning leaves them alone.
    pub snd_locked: bool,
    pub rcv_locked: bool,
    /// Receive autotuning (`buffers.rs`): bytes the application has read, and the measurement
    /// in progress.
    pub rcv_tuning: RcvTuning,

    // Timers and their counts.
    pub timers: Timers,
    pub timer_key: Option<TimerKey>,
    /// The wheel tick `timer_key` is filed for (at or before the earliest deadline; `None`
    /// once it fired).
    pub timer_tick: Option<u64>,
    /// Consecutive retransmission timeouts without progress.
    pub retries: u8,
    /// Consecutive unanswered zero-window or keepalive probes.
    pub probes: u8,
    /// Zero-window probes sent since the window was last open: the persist timer's backoff
    /// (answered probes do not reset it, an opening window does; Linux's `icsk_backoff`).
    pub persist_backoff: u8,
    /// When a segment last arrived (keepalive idleness).
    pub last_recv: Instant,
    /// When an ACK last acknowledged new data (confirms the neighbour is reachable).
    pub last_progress: Instant,

    // What output owes the peer.
    pub ack_now: bool,
    /// Segments received since the last ACK we sent.
    pub unacked_segs: u32,
    pub quickacks: u32,
    /// Send a probe (`snd_una - 1`, no data) to elicit an ACK.
    pub probe_now: bool,
    /// Send a RST (the connection was aborted).
    pub rst_now: bool,
    /// When an ACK last answered an invalid segment (rate limit).
    pub last_invalid_ack: Option<Instant>,
    /// Whether the last window we advertised was zero (for the zero-window counters).
    pub zero_window_sent: bool,

    // Socket options and user-side state.
    pub nodelay: bool,
    pub keepalive: bool,
    /// `IP_TTL` for this connection's segments; `None`: `ip_default_ttl`.
    pub ttl: Option<u8>,
    pub reuseaddr: bool,
    /// The user shut the receiving side down.
    pub read_shutdown: bool,
    /// The pending error a read or write reports (Linux's `sk_err`).
    pub error: Option<io::ErrorKind>,
    /// The last ICMP error about this synchronised connection (see `icmp.rs`), reported if it
    /// times out.
    pub soft_error: Option<io::ErrorKind>,
    pub read_waker: Option<Waker>,
    pub write_waker: Option<Waker>,
    /// The listener (index, generation) of a passively opened connection not accepted yet.
    pub parent: Option<(u32, u32)>,
    /// Established and waiting in the parent's accept queue.
    pub in_accept_queue: bool,
    /// A request in its listener's SYN queue whose SYN-ACK has not been retransmitted yet
    /// (counted in the listener's `young`).
    pub young: bool,
    /// A request's SYN-ACK retransmission limit, set by its listener before the timer runs
    /// (fewer than `tcp_synack_retries` when the SYN queue is crowded).
    pub synack_retries: Option<u8>,
    /// In the 4-tuple demultiplexing table.
    pub hashed: bool,
    /// In TIME_WAIT and counted in the socket table's TIME_WAIT gauge (`tcp_max_tw_buckets`).
    pub tw_counted: bool,
    /// Closed instead of entering TIME_WAIT (`tcp_max_tw_buckets`) with the ACK of the peer's
    /// FIN still to send: output sends it, then the connection may be freed.
    pub final_ack: bool,
    /// No user handle refers to it any more (closed): freed when it reaches `Closed`.
    pub orphan: bool,
    /// Queued in the table's output queue.
    pub dirty: bool,
    /// Was opened actively (connect), for the counters and for what a reset means.
    pub active: bool,
}

impl Tcb {
    /// A closed socket with the stack's defaults, not bound to anything yet.
    pub fn new(config: &StackConfig, now: Instant) -> Tcb {
        let unspecified = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
        let rto_min = Duration::from_micros(u64::from(config.tcp_rto_min_us));
        let rto_max = Duration::from_millis(u64::from(config.tcp_rto_max_ms));
        Tcb {
            state: State::Closed,
            local: unspecified,
            remote: unspecified,
            iface: IfaceId(0),
            next_hop: Ipv4Addr::UNSPECIFIED,
            path_mtu: 1500,
            iss: SeqNumber(0),
            snd_una: SeqNumber(0),
            snd_nxt: SeqNumber(0),
            snd_max: SeqNumber(0),
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: SeqNumber(0),
            snd_wl2: SeqNumber(0),
            send: Ring::new(config.tcp_wmem[1]),
            fin_queued: false,
            fin_acked: false,
            rtx_head: false,
            irs: SeqNumber(0),
            rcv_nxt: SeqNumber(0),
            rcv_adv: SeqNumber(0),
            rcv_wup: SeqNumber(0),
            recv: Ring::new(config.tcp_rmem[1]),
            assembler: Assembler::new(),
            fin_at: None,
            fin_received: false,
            opts: Negotiated::default(),
            mss: DEFAULT_MSS,
            adv_mss: DEFAULT_MSS as u16,
            rcv_mss: DEFAULT_MSS,
            ts_recent: 0,
            ts_recent_stamp: now,
            ts_offset: 0,
            rtt: RttEstimator::new(rto_min, rto_max),
            rtt_probe: None,
            cc: Congestion::new(
                config.tcp_congestion_control,
                config.tcp_init_cwnd,
                DEFAULT_MSS,
            )
            .with_hystart(config.tcp_hystart),
            dup_acks: 0,
            in_recovery: false,
            recover: SeqNumber(0),
            undo_stamp: None,
            undo_ok: false,
            last_data_sent: now,
            in_loss: false,
            rto_undo_pending: false,
            sb: Scoreboard::new(),
            rack: Rack::new(),
            prr_delivered: 0,
            prr_out: 0,
            recover_fs: 0,
            undo_marker: None,
            undo_retrans: 0,
            tlp_high_seq: None,
            tlp_retrans: false,
            tlp_due: false,
            dsack: None,
            ack_pushed: 0,
            pingpong: false,
            last_data_recv: now,
            write_blocked: false,
            snd_locked: false,
            rcv_locked: false,
            rcv_tuning: RcvTuning::new(now),
            timers: Timers::default(),
            timer_key: None,
            timer_tick: None,
            retries: 0,
            probes: 0,
            persist_backoff: 0,
            last_recv: now,
            last_progress: now,
            ack_now: false,
            unacked_segs: 0,
            quickacks: QUICKACKS,
            probe_now: false,
            rst_now: false,
            last_invalid_ack: None,
            zero_window_sent: false,
            nodelay: false,
            keepalive: false,
            ttl: None,
            reuseaddr: false,
            read_shutdown: false,
            error: None,
            soft_error: None,
            read_waker: None,
            write_waker: None,
            parent: None,
            in_accept_queue: false,
            young: false,
            synack_retries: None,
            hashed: false,
            tw_counted: false,
            final_ack: false,
            orphan: false,
            dirty: false,
            active: false,
        }
    }

    /// Our window scale shift for a receive buffer that may grow to `max_buffer` bytes: the
    /// smallest shift that lets the 16-bit window field describe all of it (Linux's rule).
    pub fn wanted_shift(max_buffer: usize) -> u8 {
        let mut shift = 0;
        while shift < MAX_WINDOW_SCALE && (max_buffer >> shift) > usize::from(u16::MAX) {
            shift += 1;
        }
        shift
    }

    /// Starts the send sequence space at `iss` (nothing sent yet) and the timestamp clock at
    /// `ts_offset`.
    pub fn start(&mut self, iss: SeqNumber, ts_offset: u32) {
        self.iss = iss;
        self.snd_una = iss;
        self.snd_nxt = iss;
        self.snd_max = iss;
        self.recover = iss;
        self.ts_offset = ts_offset;
    }

    /// Sets the path and MSS for a route whose link carries `mtu`-byte IP packets.
    pub fn set_path(&mut self, iface: IfaceId, next_hop: Ipv4Addr, mtu: usize) {
        self.iface = iface;
        self.next_hop = next_hop;
        // An IPv4 packet is at most 65,535 bytes, whatever the device's MTU (Linux's
        // `IP_MAX_MTU`: its loopback has MTU 65,536 too).
        let mtu = mtu.min(usize::from(u16::MAX));
        self.path_mtu = mtu;
        self.adv_mss = u16::try_from(mtu.saturating_sub(HEADERS).max(MIN_MSS)).unwrap_or(u16::MAX);
    }

    /// Applies the peer's MSS option (or its absence): the segment size is the smaller of what
    /// the peer accepts and what our path carries. Timestamps, when in use, take 12 bytes of it.
    pub fn set_peer_mss(&mut self, peer: Option<u16>, init_cwnd: u32) {
        let peer = peer.map_or(DEFAULT_MSS, usize::from).max(64);
        let path = self.path_mtu.saturating_sub(HEADERS).max(64);
        let mut mss = peer.min(path);
        if self.opts.timestamps {
            mss -= 12;
        }
        self.mss = mss;
        self.rcv_mss = mss.min(DEFAULT_MSS);
        // A new segment size restarts the window (the algorithm chosen so far stays).
        let hystart = self.cc.hystart_running();
        self.cc = Congestion::new(self.cc.algorithm(), init_cwnd, mss).with_hystart(hystart);
    }

    /// Bytes sent and not yet acknowledged (sequence space, SYN and FIN included).
    pub fn in_flight(&self) -> usize {
        seq_dist(self.snd_nxt, self.snd_una)
    }

    /// Bytes of the send buffer not sent yet (0 while rewinding is not counted as unsent: the
    /// bytes between `snd_nxt` and `snd_max` are unsent again after a timeout).
    pub fn unsent(&self) -> usize {
        self.send
            .len()
            .saturating_sub(seq_dist(self.snd_nxt, self.snd_una))
    }

    /// The sequence number of our FIN (meaningful once `fin_queued`).
    pub fn fin_seq(&self) -> SeqNumber {
        if self.fin_acked {
            self.snd_una - 1
        } else {
            self.snd_una + self.send.len()
        }
    }

    /// Whether our FIN has been sent at least once.
    pub fn fin_sent(&self) -> bool {
        self.fin_queued && (self.fin_acked || self.snd_max.gt(self.fin_seq()))
    }

    /// Whether a FIN is due at `snd_nxt`: queued, not acknowledged, and everything before it
    /// sent (again, after a timeout rewound `snd_nxt`).
    pub fn fin_due(&self) -> bool {
        self.fin_queued && !self.fin_acked && self.snd_nxt == self.fin_seq()
    }

    /// The window currently offered to the peer (from `rcv_nxt` to the advertised edge).
    pub fn rcv_wnd(&self) -> usize {
        seq_dist(self.rcv_adv, self.rcv_nxt)
    }

    /// The receive window worth advertising now: free buffer space, but (receiver silly window
    /// avoidance, RFC 9293 section 3.8.6.2.2) the right edge only moves right by at least
    /// min(half the buffer, one MSS), and it never moves left.
    pub fn window_to_advertise(&self) -> usize {
        let free = self.recv.free();
        let offered = self.rcv_wnd();
        let step = (self.recv.limit() / 2).min(self.rcv_mss.max(1));
        let max_field = usize::from(u16::MAX) << self.opts.rcv_shift;
        let want = if free >= offered + step {
            free
        } else {
            offered
        };
        want.min(max_field)
    }

    /// Our timestamp clock (milliseconds) at `now`.
    pub fn ts_now(&self, now: Instant) -> u32 {
        (now.total_millis() as u32).wrapping_add(self.ts_offset)
    }

    /// Whether the connection has anything for output to send now.
    pub fn wants_output(&self) -> bool {
        self.ack_now
            || self.probe_now
            || self.rst_now
            || self.rtx_head
            || self.tlp_due
            || self.sb.has_lost_unsent()
            || self.has_sendable()
    }

    /// Whether there is a SYN, data or FIN to send (ignoring windows and Nagle, which output
    /// applies).
    fn has_sendable(&self) -> bool {
        match self.state {
            State::SynSent | State::SynReceived => self.snd_nxt == self.iss,
            State::Established
            | State::CloseWait
            | State::FinWait1
            | State::Closing
            | State::LastAck => self.unsent() > 0 || self.fin_due(),
            _ => false,
        }
    }

    /// Moves to `state`, keeping `TcpCurrEstab` right and waking both wakers (every state change
    /// can end a wait: a connect, a read at EOF, a write after a reset, a close).
    pub fn set_state(&mut self, env: &mut Env<'_>, state: State) {
        let was = matches!(self.state, State::Established | State::CloseWait);
        let is = matches!(state, State::Established | State::CloseWait);
        if was && !is {
            env.counters.dec(Counter::TcpCurrEstab);
        } else if is && !was {
            env.count(Counter::TcpCurrEstab);
        }
        if state == State::Closed {
            // Linux counts these on the transition to CLOSE (`tcp_set_state`).
            match self.state {
                State::Established | State::CloseWait => env.count(Counter::TcpEstabResets),
                State::SynSent | State::SynReceived => env.count(Counter::TcpAttemptFails),
                _ => {}
            }
        }
        self.state = state;
        if state == State::TimeWait {
            // Everything sent was acknowledged, and nothing more will arrive: the memory goes
            // back now rather than staying with the connection for its 60 s of TIME_WAIT.
            self.send.release_if_empty();
            self.recv.release_if_empty();
            self.timers.release = None;
        }
        self.wake_all();
    }

    /// Ends the connection with `error` for the user (none for an orderly end).
    pub fn close_with(&mut self, env: &mut Env<'_>, error: Option<io::ErrorKind>) {
        if error.is_some() {
            self.error = error;
        }
        self.set_state(env, State::Closed);
        self.timers = Timers::default();
        self.ack_now = false;
        self.probe_now = false;
        self.rtx_head = false;
        self.assembler.clear();
        self.sb.clear();
        self.send.consume(self.send.len());
        self.send.release_if_empty();
    }

    /// Wakes the reader and the writer.
    pub fn wake_all(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
    }

    /// Wakes the reader.
    pub fn wake_reader(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
    }

    /// Wakes the writer once at least a third of the send buffer is free (Linux's
    /// `sk_stream_wspace >= sk_stream_min_wspace` rule): one wake per drain, not one per ACK.
    pub fn wake_writer_if_room(&mut self) {
        if self.send_writable() {
            self.write_blocked = false;
            if let Some(w) = self.write_waker.take() {
                w.wake();
            }
        }
    }

    /// Whether a writer should be told there is room: a third of the send buffer is free, or
    /// it is empty (Linux's `sk_stream_is_writeable` low-water mark), so writers wake for
    /// sizeable writes rather than once per freed segment.
    pub fn send_writable(&self) -> bool {
        self.send.free() >= self.send.limit() / 3 || self.send.is_empty()
    }

    /// Arms the retransmission timer if something is outstanding and it is not armed.
    pub fn arm_rto_if_idle(&mut self, now: Instant) {
        if self.timers.rto.is_none() && self.snd_max.gt(self.snd_una) {
            self.timers.rto = Some(now + self.rtt.rto());
        }
    }

    /// Restarts the retransmission timer (or stops it when nothing is outstanding).
    pub fn restart_rto(&mut self, now: Instant) {
        self.timers.rto = self.snd_max.gt(self.snd_una).then(|| now + self.rtt.rto());
    }
}

/// The io::ErrorKind a reset means in `state` (RFC 9293: "connection refused" while opening
/// actively, "connection reset" otherwise).
pub(crate) fn reset_error(state: State, active: bool) -> io::ErrorKind {
    match state {
        State::SynSent => io::ErrorKind::ConnectionRefused,
        State::SynReceived if active => io::ErrorKind::ConnectionRefused,
        _ => io::ErrorKind::ConnectionReset,
    }
}

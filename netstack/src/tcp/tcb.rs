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
use std::num::NonZeroU32;
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
pub(crate) const QUICKACKS: u8 = 16;

/// `Tcb::timer_tick` when the connection is not filed in the timer wheel (no tick reaches it:
/// ticks are milliseconds, at most `u64::MAX / 1000`).
pub(crate) const NO_TICK: u64 = u64::MAX;

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
    pub path_mtu: u16,

    // Send sequence space.
    pub iss: SeqNumber,
    pub snd_una: SeqNumber,
    pub snd_nxt: SeqNumber,
    pub snd_max: SeqNumber,
    /// The peer's window, scaled (at most 65,535 << 14), and the largest it has been (read
    /// them with [`Tcb::snd_wnd`] and [`Tcb::max_snd_wnd`]).
    pub snd_wnd: u32,
    pub max_snd_wnd: u32,
    pub snd_wl1: SeqNumber,
    pub snd_wl2: SeqNumber,
    pub send: Ring,

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

    // Options.
    pub opts: Negotiated,
    /// The most payload per segment we send (the peer's MSS, clamped to the path; read it
    /// with [`Tcb::mss`]).
    pub mss: u16,
    /// The MSS we announce.
    pub adv_mss: u16,
    /// The largest segment received so far (Linux's `rcv_mss`), for delayed ACKs (read it
    /// with [`Tcb::rcv_mss`]).
    pub rcv_mss: u16,
    /// The peer's last timestamp worth echoing (RFC 7323 `TS.Recent`).
    pub ts_recent: u32,
    /// When `ts_recent` was last set (PAWS forgets a `TS.Recent` idle for 24 days).
    pub ts_recent_stamp: Instant,
    /// Added to our millisecond clock in TSval, so timestamps do not reveal uptime.
    pub ts_offset: u32,

    // Round trips and congestion.
    pub rtt: RttEstimator,
    /// The segment being timed, per Karn's algorithm: when it was sent (none if no segment
    /// is timed) and where it ends (two fields, 12 bytes, where an `Option` of the pair takes
    /// 16).
    pub rtt_probe_sent: Option<Instant>,
    pub rtt_probe_end: SeqNumber,
    /// The congestion window, threshold and algorithm.
    pub cc: Congestion,
    pub dup_acks: u32,
    pub recover: SeqNumber,
    /// The TSval of the first retransmission of the current fast recovery: an ACK echoing an
    /// older one was caused by an original transmission (RFC 3522, Eifel detection).
    pub undo_stamp: Option<u32>,
    /// When data was last sent (Linux's `lsndtime`): the idle time the restart window uses.
    pub last_data_sent: Instant,
    /// The SACK sender's scoreboard (only kept when SACK is in use), which also holds the
    /// recovery's proportional rate reduction counters (RFC 6937).
    pub sb: Scoreboard,
    /// RACK loss detection state.
    pub rack: Rack,
    /// Where the last recovery began (Linux's `undo_marker`), while it may still be undone
    /// (after it ended, too: the D-SACKs for its retransmissions come late).
    pub undo_marker: Option<SeqNumber>,
    /// Retransmissions of that recovery not yet shown spurious by a D-SACK (Linux's
    /// `undo_retrans`): when it reaches zero, the recovery is undone.
    pub undo_retrans: i32,
    /// The end of the outstanding tail loss probe (`tlp_high_seq`; the `tlp_retrans` flag says
    /// whether the probe was a retransmission).
    pub tlp_high_seq: Option<SeqNumber>,
    /// A duplicate segment arrived: the next ACK reports it in a D-SACK block (RFC 2883),
    /// its start and length (a length is never zero, so the `Option` costs nothing).
    pub dsack: Option<(SeqNumber, NonZeroU32)>,
    /// Segments shorter than `rcv_mss` arrived since the last ACK (Linux's `ICSK_ACK_PUSHED`,
    /// and `ICSK_ACK_PUSHED2` for two or more): reading them all acknowledges at once.
    pub ack_pushed: u8,
    /// When data last arrived in order.
    pub last_data_recv: Instant,
    /// `TCP_NOTSENT_LOWAT` in bytes; 0: the `tcp_notsent_lowat` sysctl (as Linux's
    /// `tp->notsent_lowat`).
    pub notsent_lowat: u32,
    /// Receive autotuning (`buffers.rs`): the measurement in progress (bytes the application
    /// has read in it).
    pub rcv_tuning: RcvTuning,

    // Timers and their counts.
    pub timers: Timers,
    pub timer_key: Option<TimerKey>,
    /// The wheel tick `timer_key` is filed for, [`NO_TICK`] for none (8 bytes where an
    /// `Option<u64>` takes 16).
    pub timer_tick: u64,
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
    /// Segments received since the last ACK we sent.
    pub unacked_segs: u32,
    pub quickacks: u8,
    /// When an ACK last answered an invalid segment (rate limit).
    pub last_invalid_ack: Option<Instant>,

    // Socket options and user-side state.
    /// The yes/no state (see `tcb_flags.rs`: each flag has a reader and a `set_` writer).
    pub flags: u32,
    /// `IP_TTL` for this connection's segments; `None`: `ip_default_ttl`.
    pub ttl: Option<u8>,
    /// The pending error a read or write reports (Linux's `sk_err`).
    pub error: Option<io::ErrorKind>,
    /// The last ICMP error about this synchronised connection (see `icmp.rs`), reported if it
    /// times out.
    pub soft_error: Option<io::ErrorKind>,
    pub read_waker: Option<Waker>,
    pub write_waker: Option<Waker>,
    /// The listener (index, generation) of a passively opened connection not accepted yet.
    pub parent: Option<(u32, u32)>,
    /// A request's SYN-ACK retransmission limit, set by its listener before the timer runs
    /// (fewer than `tcp_synack_retries` when the SYN queue is crowded).
    pub synack_retries: Option<u8>,
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
            irs: SeqNumber(0),
            rcv_nxt: SeqNumber(0),
            rcv_adv: SeqNumber(0),
            rcv_wup: SeqNumber(0),
            recv: Ring::new(config.tcp_rmem[1]),
            assembler: Assembler::new(),
            fin_at: None,
            opts: Negotiated::default(),
            mss: DEFAULT_MSS as u16,
            adv_mss: DEFAULT_MSS as u16,
            rcv_mss: DEFAULT_MSS as u16,
            ts_recent: 0,
            ts_recent_stamp: now,
            ts_offset: 0,
            rtt: RttEstimator::new(rto_min, rto_max),
            rtt_probe_sent: None,
            rtt_probe_end: SeqNumber(0),
            cc: Congestion::new(
                config.tcp_congestion_control,
                config.tcp_init_cwnd,
                DEFAULT_MSS,
            )
            .with_hystart(config.tcp_hystart),
            dup_acks: 0,
            recover: SeqNumber(0),
            undo_stamp: None,
            last_data_sent: now,
            sb: Scoreboard::new(),
            rack: Rack::new(),
            undo_marker: None,
            undo_retrans: 0,
            tlp_high_seq: None,
            dsack: None,
            ack_pushed: 0,
            last_data_recv: now,
            notsent_lowat: 0,
            rcv_tuning: RcvTuning::new(now),
            timers: Timers::default(),
            timer_key: None,
            timer_tick: NO_TICK,
            retries: 0,
            probes: 0,
            persist_backoff: 0,
            last_recv: now,
            last_progress: now,
            unacked_segs: 0,
            quickacks: QUICKACKS,
            last_invalid_ack: None,
            flags: 0,
            ttl: None,
            error: None,
            soft_error: None,
            read_waker: None,
            write_waker: None,
            parent: None,
            synack_retries: None,
        }
    }

    /// Reports `len` duplicate bytes from `start` in the next ACK's D-SACK block (none if
    /// `len` is zero).
    pub fn set_dsack(&mut self, start: SeqNumber, len: usize) {
        self.dsack = u32::try_from(len)
            .ok()
            .and_then(NonZeroU32::new)
            .map(|len| (start, len));
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
        let mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
        self.path_mtu = mtu;
        self.adv_mss = mtu.saturating_sub(HEADERS as u16).max(MIN_MSS as u16);
    }

    /// Applies the peer's MSS option (or its absence): the segment size is the smaller of what
    /// the peer accepts and what our path carries. Timestamps, when in use, take 12 bytes of it.
    pub fn set_peer_mss(&mut self, peer: Option<u16>, init_cwnd: u32) {
        let peer = peer.unwrap_or(DEFAULT_MSS as u16).max(64);
        let path = self.path_mtu.saturating_sub(HEADERS as u16).max(64);
        let mut mss = peer.min(path);
        if self.opts.timestamps {
            mss -= 12;
        }
        self.mss = mss;
        self.rcv_mss = mss.min(DEFAULT_MSS as u16);
        let mss = usize::from(mss);
        // A new segment size restarts the window (the algorithm chosen so far stays).
        let hystart = self.cc.hystart_running();
        self.cc = Congestion::new(self.cc.algorithm(), init_cwnd, mss).with_hystart(hystart);
    }

    /// The most payload per segment we send.
    pub fn mss(&self) -> usize {
        usize::from(self.mss)
    }

    /// The largest segment received so far (Linux's `rcv_mss`).
    pub fn rcv_mss(&self) -> usize {
        usize::from(self.rcv_mss)
    }

    /// The peer's window, scaled.
    pub fn snd_wnd(&self) -> usize {
        self.snd_wnd as usize
    }

    /// The largest window the peer has offered, scaled.
    pub fn max_snd_wnd(&self) -> usize {
        self.max_snd_wnd as usize
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
        if self.fin_acked() {
            self.snd_una - 1
        } else {
            self.snd_una + self.send.len()
        }
    }

    /// Whether our FIN has been sent at least once.
    pub fn fin_sent(&self) -> bool {
        self.fin_queued() && (self.fin_acked() || self.snd_max.gt(self.fin_seq()))
    }

    /// Whether a FIN is due at `snd_nxt`: queued, not acknowledged, and everything before it
    /// sent (again, after a timeout rewound `snd_nxt`).
    pub fn fin_due(&self) -> bool {
        self.fin_queued() && !self.fin_acked() && self.snd_nxt == self.fin_seq()
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
        let step = (self.recv.limit() / 2).min(self.rcv_mss().max(1));
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
        self.ack_now()
            || self.probe_now()
            || self.rst_now()
            || self.rtx_head()
            || self.tlp_due()
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
            self.release_scoreboard();
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
        self.set_ack_now(false);
        self.set_probe_now(false);
        self.set_rtx_head(false);
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
    /// `sk_stream_wspace >= sk_stream_min_wspace` rule) and the unsent bytes are under half the
    /// `TCP_NOTSENT_LOWAT` mark: one wake per drain, not one per ACK or segment.
    pub fn wake_writer_if_room(&mut self, config: &StackConfig) {
        if self.send_writable(config) {
            self.set_write_blocked(false);
            if let Some(w) = self.write_waker.take() {
                w.wake();
            }
        }
    }

    /// Whether a writer should be told there is room: a third of the send buffer is free, or
    /// it is empty (Linux's `sk_stream_is_writeable` low-water mark), so writers wake for
    /// sizeable writes rather than once per freed segment.
    ///
    /// With the unsent bytes at half the `TCP_NOTSENT_LOWAT` mark or more, it is not (Linux's
    /// `tcp_stream_memory_free` with `wake` set, which `EPOLLOUT` uses).
    pub fn send_writable(&self, config: &StackConfig) -> bool {
        (self.send.free() >= self.send.limit() / 3 || self.send.is_empty())
            && self.notsent().saturating_mul(2) < self.notsent_limit(config)
    }

    /// Bytes written by the application and never sent (Linux's `write_seq - snd_nxt`; here
    /// counted from `snd_max`, which a retransmission timeout does not move back).
    pub fn notsent(&self) -> usize {
        let sent = seq_dist(self.snd_max, self.snd_una);
        self.send.len().saturating_sub(sent)
    }

    /// The `TCP_NOTSENT_LOWAT` mark in force: the socket's own, or the sysctl's.
    pub fn notsent_limit(&self, config: &StackConfig) -> usize {
        match self.notsent_lowat {
            0 => config.tcp_notsent_lowat as usize,
            own => own as usize,
        }
    }

    /// How many bytes a write may queue now: the send buffer's room, bounded by what the
    /// `TCP_NOTSENT_LOWAT` mark leaves for unsent bytes.
    pub fn write_room(&self, config: &StackConfig) -> usize {
        let unsent_room = self.notsent_limit(config).saturating_sub(self.notsent());
        self.send.free().min(unsent_room)
    }

    /// Gives the scoreboard's memory back if nothing is outstanding and no recovery (whose
    /// counters it holds) is running.
    pub fn release_scoreboard(&mut self) {
        if !self.in_recovery() {
            self.sb.release_if_empty();
        }
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

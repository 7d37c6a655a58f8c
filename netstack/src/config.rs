//! Stack configuration with Linux's sysctl names and defaults.
//!
//! [`StackConfig`] has one typed field per setting, named after the Linux sysctl it mirrors
//! (`tcp_syncookies` is `net.ipv4.tcp_syncookies`), with Linux's default value. Settings can also
//! be changed by name with [`StackConfig::set`], which accepts the full dotted name
//! (`net.ipv4.tcp_syncookies`), the slash form (`net/ipv4/tcp_syncookies`) or the bare name, and
//! the value as `sysctl -w` would write it (`"4096 131072 6291456"` for `tcp_rmem`).
//! [`StackConfig::iter`] lists every setting like `sysctl -a`.
//!
//! A few settings are not sysctls on Linux; their docs say so and what Linux does instead:
//! `txqueuelen` is a per-device setting there (`ip link set dev X txqueuelen N`), and
//! `tcp_timewait_len` is a compile-time constant (`TCP_TIMEWAIT_LEN`, 60 s).

use std::fmt;

/// Congestion control algorithms (`net.ipv4.tcp_congestion_control`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CongestionControl {
    /// NewReno (RFC 5681, RFC 6582); Linux calls it `reno`.
    Reno,
    /// CUBIC (RFC 9438), Linux's default.
    #[default]
    Cubic,
}

impl CongestionControl {
    /// The algorithm Linux knows by `name` (`reno`, `cubic`; `newreno` is accepted for
    /// `reno`), or `None`.
    pub fn from_name(name: &str) -> Option<CongestionControl> {
        match name.trim() {
            "cubic" => Some(CongestionControl::Cubic),
            "reno" | "newreno" => Some(CongestionControl::Reno),
            _ => None,
        }
    }

    /// The name Linux uses.
    pub fn name(self) -> &'static str {
        match self {
            CongestionControl::Reno => "reno",
            CongestionControl::Cubic => "cubic",
        }
    }
}

/// Why a setting could not be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// No setting has this name.
    UnknownName(String),
    /// The value does not parse or is out of range.
    InvalidValue {
        /// The setting's sysctl name.
        name: &'static str,
        /// The value given.
        value: String,
        /// What the setting accepts.
        expected: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownName(name) => write!(f, "unknown setting `{name}`"),
            ConfigError::InvalidValue {
                name,
                value,
                expected,
            } => write!(f, "invalid value `{value}` for {name}: expected {expected}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A value type a setting can have: parsing from and formatting to sysctl text.
trait SysctlValue: Sized {
    /// What the value looks like, for error messages.
    const EXPECTED: &'static str;
    fn parse_value(text: &str) -> Option<Self>;
    fn format_value(&self) -> String;
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl SysctlValue for $t {
            const EXPECTED: &'static str = concat!("an integer that fits in ", stringify!($t));
            fn parse_value(text: &str) -> Option<Self> {
                text.trim().parse().ok()
            }
            fn format_value(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
int_value!(u8, u32, u64, usize);

impl SysctlValue for bool {
    const EXPECTED: &'static str = "0 or 1";
    fn parse_value(text: &str) -> Option<Self> {
        match text.trim() {
            "0" => Some(false),
            "1" => Some(true),
            _ => None,
        }
    }
    fn format_value(&self) -> String {
        u8::from(*self).to_string()
    }
}

/// `min default max`, as for `tcp_rmem` and `tcp_wmem`.
impl SysctlValue for [usize; 3] {
    const EXPECTED: &'static str = "three sizes `min default max` with min <= default <= max";
    fn parse_value(text: &str) -> Option<Self> {
        let mut it = text.split_whitespace().map(|p| p.parse::<usize>().ok());
        let v = [it.next()??, it.next()??, it.next()??];
        (it.next().is_none() && v[0] <= v[1] && v[1] <= v[2] && v[0] > 0).then_some(v)
    }
    fn format_value(&self) -> String {
        format!("{}\t{}\t{}", self[0], self[1], self[2])
    }
}

/// `low high`, as for `ip_local_port_range`.
impl SysctlValue for (u16, u16) {
    const EXPECTED: &'static str = "two ports `low high` with 1 <= low < high";
    fn parse_value(text: &str) -> Option<Self> {
        let mut it = text.split_whitespace().map(|p| p.parse::<u16>().ok());
        let v = (it.next()??, it.next()??);
        (it.next().is_none() && v.0 >= 1 && v.0 < v.1).then_some(v)
    }
    fn format_value(&self) -> String {
        format!("{}\t{}", self.0, self.1)
    }
}

impl SysctlValue for CongestionControl {
    const EXPECTED: &'static str = "`cubic` or `reno`";
    fn parse_value(text: &str) -> Option<Self> {
        CongestionControl::from_name(text)
    }
    fn format_value(&self) -> String {
        self.name().to_string()
    }
}

/// Declares the settings once; generates the struct, `Default`, `set`, `get` and `iter`.
macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])*
        $field:ident : $ty:ty = $default:expr, $prefix:literal $(, check = $check:expr)?;
    )*) => {
        /// The stack's settings, named after Linux's sysctls, with Linux's defaults.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct StackConfig {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl Default for StackConfig {
            fn default() -> Self {
                StackConfig { $( $field: $default, )* }
            }
        }

        impl StackConfig {
            /// Every setting's full sysctl name, in declaration order.
            pub const NAMES: &'static [&'static str] =
                &[$( concat!($prefix, ".", stringify!($field)), )*];

            /// Changes a setting by name (`net.ipv4.tcp_syncookies`, `net/ipv4/tcp_syncookies`
            /// or `tcp_syncookies`), with the value as `sysctl -w` takes it.
            ///
            /// # Errors
            /// [`ConfigError::UnknownName`] or [`ConfigError::InvalidValue`]; the configuration
            /// is unchanged then.
            pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
                let short = short_name(name);
                $(
                    if short == stringify!($field) && prefix_ok(name, $prefix) {
                        let full = concat!($prefix, ".", stringify!($field));
                        let invalid = || ConfigError::InvalidValue {
                            name: full,
                            value: value.to_string(),
                            expected: <$ty as SysctlValue>::EXPECTED,
                        };
                        let parsed = <$ty as SysctlValue>::parse_value(value).ok_or_else(invalid)?;
                        $( if !($check)(&parsed) { return Err(invalid()); } )?
                        self.$field = parsed;
                        return Ok(());
                    }
                )*
                Err(ConfigError::UnknownName(name.to_string()))
            }

            /// A setting's value as `sysctl` prints it, or `None` for an unknown name.
            pub fn get(&self, name: &str) -> Option<String> {
                let short = short_name(name);
                $(
                    if short == stringify!($field) && prefix_ok(name, $prefix) {
                        return Some(self.$field.format_value());
                    }
                )*
                None
            }

            /// Every setting as `(full name, value)`, like `sysctl -a`.
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
                [$( (concat!($prefix, ".", stringify!($field)), self.$field.format_value()), )*]
                    .into_iter()
            }
        }
    };
}

/// The last component of a dotted or slashed name.
fn short_name(name: &str) -> &str {
    let name = name.trim();
    name.rsplit(['.', '/']).next().unwrap_or(name)
}

/// Whether `name` is bare or carries exactly `prefix` (in dotted or slashed form).
fn prefix_ok(name: &str, prefix: &str) -> bool {
    let name = name.trim().replace('/', ".");
    match name.rsplit_once('.') {
        None => true,
        Some((p, _)) => p == prefix,
    }
}

settings! {
    /// Upper bound of every listener's accept queue (`listen(2)` backlogs are clamped to it).
    somaxconn: u32 = 4096, "net.core";
    /// Frames the receive backlog holds before dropping (one backlog per stack, as Linux has
    /// one per CPU).
    netdev_max_backlog: u32 = 1000, "net.core", check = |v: &u32| *v > 0;
    /// Frames one receive tick processes before timers, transmit and tasks get their turn
    /// (the rest wait in the backlog).
    netdev_budget: u32 = 300, "net.core", check = |v: &u32| *v > 0;
    /// Frames the transmit queue holds (per interface). On Linux this is a device setting
    /// (`ip link set dev X txqueuelen N`), not a sysctl.
    txqueuelen: u32 = 1000, "net.core", check = |v: &u32| *v > 0;
    /// Default receive buffer (`SO_RCVBUF`) of non-TCP sockets, in bytes.
    rmem_default: usize = 212_992, "net.core", check = |v: &usize| *v > 0;
    /// Largest receive buffer `SO_RCVBUF` may ask for (Linux doubles the request, as here).
    rmem_max: usize = 212_992, "net.core", check = |v: &usize| *v > 0;
    /// Default send buffer (`SO_SNDBUF`) of non-TCP sockets, in bytes.
    wmem_default: usize = 212_992, "net.core", check = |v: &usize| *v > 0;
    /// Largest send buffer `SO_SNDBUF` may ask for (Linux doubles the request, as here).
    wmem_max: usize = 212_992, "net.core", check = |v: &usize| *v > 0;
    /// TTL of outgoing IPv4 packets.
    ip_default_ttl: u8 = 64, "net.ipv4", check = |v: &u8| *v > 0;
    /// Range of ephemeral ports for outgoing connections.
    ip_local_port_range: (u16, u16) = (32768, 60999), "net.ipv4";
    /// Bytes of fragments held for reassembly at most: above it the oldest incomplete datagrams
    /// are dropped until usage is back under `ipfrag_low_thresh`.
    ipfrag_high_thresh: usize = 4 * 1024 * 1024, "net.ipv4";
    /// Bytes of fragments that eviction brings usage back down to (Linux before 4.17 used it so;
    /// later kernels keep the sysctl but no longer evict).
    ipfrag_low_thresh: usize = 3 * 1024 * 1024, "net.ipv4";
    /// Seconds an incomplete fragmented datagram is kept.
    ipfrag_time: u32 = 30, "net.ipv4", check = |v: &u32| *v > 0;
    /// Half-open connections (SYN_RECV) a listener keeps at most: its SYN queue bound. Linux
    /// derives the default from memory; this is the value on a typical server (and on the
    /// machines this project is tested on).
    tcp_max_syn_backlog: u32 = 2048, "net.ipv4", check = |v: &u32| *v > 0;
    /// When the accept queue is full at the handshake's final ACK: 0 drops the ACK and lets the
    /// SYN-ACK be retransmitted, 1 answers with RST.
    tcp_abort_on_overflow: bool = false, "net.ipv4";
    /// SYN cookies: 0 never, 1 when the SYN queue is full, 2 always.
    tcp_syncookies: u8 = 1, "net.ipv4", check = |v: &u8| *v <= 2;
    /// SYN-ACK retransmissions before a half-open connection is dropped.
    tcp_synack_retries: u8 = 5, "net.ipv4";
    /// SYN retransmissions before `connect` fails with `TimedOut`.
    tcp_syn_retries: u8 = 6, "net.ipv4", check = |v: &u8| (1..=127).contains(v);
    /// Retransmissions of data before the connection fails with `TimedOut`.
    tcp_retries2: u8 = 15, "net.ipv4";
    /// Receive buffer sizes: min, default, max (bytes).
    tcp_rmem: [usize; 3] = [4096, 131_072, 6_291_456], "net.ipv4";
    /// Send buffer sizes: min, default, max (bytes).
    tcp_wmem: [usize; 3] = [4096, 16_384, 4_194_304], "net.ipv4";
    /// Receive buffer autotuning.
    tcp_moderate_rcvbuf: bool = true, "net.ipv4";
    /// Bytes written and not yet sent that a connection holds before writes stop taking more
    /// (`TCP_NOTSENT_LOWAT` for sockets that set none): a write copies at most up to it, and a
    /// blocked writer is woken, and write readiness reported, once the unsent bytes are under
    /// half of it. Linux's default is 4294967295 (no limit); here it is 128 KiB, because a
    /// writer on a single-threaded runtime otherwise fills its whole send buffer (4 MB) before
    /// the transmit path and the reader get a turn, and the bytes in transit leave the CPU's
    /// caches. It bounds only the unsent bytes, never the bytes in flight (the send buffer
    /// still does that), so throughput over long, fat paths is unchanged. 4294967295 restores
    /// Linux's behaviour.
    tcp_notsent_lowat: u32 = 131_072, "net.ipv4", check = |v: &u32| *v > 0;
    /// RFC 7323 timestamps.
    tcp_timestamps: bool = true, "net.ipv4";
    /// RFC 7323 window scaling.
    tcp_window_scaling: bool = true, "net.ipv4";
    /// RFC 2018 selective acknowledgements.
    tcp_sack: bool = true, "net.ipv4";
    /// RFC 2883 duplicate SACKs.
    tcp_dsack: bool = true, "net.ipv4";
    /// Tail loss probes (RFC 8985 section 7) on SACK connections: 3 or 4 on (Linux's default
    /// is 3), 0 to 2 off.
    tcp_early_retrans: u8 = 3, "net.ipv4", check = |v: &u8| *v <= 4;
    /// Seconds an orphaned connection stays in FIN_WAIT_2.
    tcp_fin_timeout: u32 = 60, "net.ipv4";
    /// Seconds in TIME_WAIT. Linux hard-codes 60 s (`TCP_TIMEWAIT_LEN`); here it can be changed.
    tcp_timewait_len: u32 = 60, "net.ipv4";
    /// TIME_WAIT sockets kept at most: when that many exist, a connection that would enter
    /// TIME_WAIT is closed at once instead (its last ACK still leaves) and counted in
    /// `TCPTimeWaitOverflow`. Linux derives the default from memory (half the established hash
    /// table); this is the value on a typical server (and on the machines this project is
    /// tested on).
    tcp_max_tw_buckets: u32 = 131_072, "net.ipv4";
    /// RFC 1337: a RST no longer ends TIME_WAIT early ("TIME-WAIT assassination"); off by
    /// default, as on Linux.
    tcp_rfc1337: bool = false, "net.ipv4";
    /// Seconds of idleness before the first keepalive probe (when keepalive is on).
    tcp_keepalive_time: u32 = 7200, "net.ipv4", check = |v: &u32| *v > 0;
    /// Seconds between keepalive probes.
    tcp_keepalive_intvl: u32 = 75, "net.ipv4", check = |v: &u32| *v > 0;
    /// Unanswered keepalive probes before the connection is reset.
    tcp_keepalive_probes: u8 = 9, "net.ipv4", check = |v: &u8| *v > 0;
    /// Lower bound of the retransmission timeout, in microseconds.
    tcp_rto_min_us: u32 = 200_000, "net.ipv4", check = |v: &u32| *v >= 1000;
    /// Upper bound of the retransmission timeout, in milliseconds.
    tcp_rto_max_ms: u32 = 120_000, "net.ipv4", check = |v: &u32| *v >= 1000;
    /// Default congestion control for new connections (`cubic` or `reno`; unknown names are
    /// rejected). A socket can choose another with `Stack::tcp_set_congestion_control`.
    tcp_congestion_control: CongestionControl = CongestionControl::Cubic, "net.ipv4";
    /// Restart from the initial window when sending resumes after more than an RTO without
    /// sending (RFC 5681 section 4.1).
    tcp_slow_start_after_idle: bool = true, "net.ipv4";
    /// HyStart++ (RFC 9406) in the initial slow start: leave it when the RTT grows, before
    /// losses end it (sockeye's own setting; Linux's CUBIC has the older HyStart, a module
    /// parameter).
    tcp_hystart: bool = true, "net.ipv4";
    /// Initial congestion window in segments (RFC 6928; a route option on Linux).
    tcp_init_cwnd: u32 = 10, "net.ipv4", check = |v: &u32| *v > 0;
}

#[cfg(test)]
mod tests;

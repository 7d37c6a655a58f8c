//! Counters with Linux's names: `/proc/net/snmp` (Ip, Icmp, Tcp, Udp), `/proc/net/netstat`
//! (TcpExt), plus a `Dev` group for what Linux keeps per device or in `softnet_stat`.
//!
//! Counting is an array increment indexed by [`Counter`] (no hashing, no locking: the stack is
//! single-threaded). [`Counters::snapshot`] copies the array into a [`Snapshot`], which can be
//! looked up by the `nstat` name (`"TcpExtListenOverflows"`), diffed against an earlier snapshot,
//! and printed the way `nstat -a` prints (non-zero counters, one per line).

use std::fmt;

macro_rules! counters {
    ($( $group:literal { $( $(#[doc = $doc:literal])* $name:ident ),* $(,)? } )*) => {
        /// One counter. The variant name is the `nstat` name: the MIB group followed by the
        /// counter's name in `/proc/net/snmp` or `/proc/net/netstat`.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum Counter {
            $( $(
                #[doc = concat!("`", stringify!($name), "`")]
                $(#[doc = ""] #[doc = $doc])*
                $name,
            )* )*
        }

        impl Counter {
            /// Every counter, in order.
            pub const ALL: &'static [Counter] = &[$( $( Counter::$name, )* )*];

            /// The `nstat` name, e.g. `TcpExtListenOverflows`.
            pub fn name(self) -> &'static str {
                match self { $( $( Counter::$name => stringify!($name), )* )* }
            }

            /// The MIB group, e.g. `TcpExt`.
            pub fn group(self) -> &'static str {
                match self { $( $( Counter::$name => $group, )* )* }
            }
        }
    };
}

counters! {
    "Ip" {
        /// Datagrams received from interfaces, including those in error.
        IpInReceives, IpInHdrErrors, IpInAddrErrors, IpInUnknownProtos, IpInDiscards,
        IpInDelivers, IpOutRequests, IpOutDiscards, IpOutNoRoutes, IpReasmTimeout,
        IpReasmReqds, IpReasmOKs, IpReasmFails, IpFragOKs, IpFragFails, IpFragCreates,
    }
    "Icmp" {
        /// ICMP messages received.
        IcmpInMsgs, IcmpInErrors, IcmpInCsumErrors, IcmpInDestUnreachs, IcmpInTimeExcds,
        IcmpInEchos, IcmpInEchoReps, IcmpOutMsgs, IcmpOutErrors, IcmpOutDestUnreachs,
        IcmpOutTimeExcds, IcmpOutEchos, IcmpOutEchoReps,
    }
    "Tcp" {
        /// Transitions CLOSED → SYN_SENT.
        TcpActiveOpens,
        /// Transitions LISTEN → SYN_RECV.
        TcpPassiveOpens, TcpAttemptFails, TcpEstabResets,
        /// Connections currently ESTABLISHED or CLOSE_WAIT (a gauge, as in Linux).
        TcpCurrEstab,
        TcpInSegs, TcpOutSegs, TcpRetransSegs, TcpInErrs, TcpOutRsts, TcpInCsumErrors,
    }
    "Udp" {
        /// Datagrams delivered to sockets.
        UdpInDatagrams, UdpNoPorts, UdpInErrors, UdpOutDatagrams, UdpRcvbufErrors,
        UdpSndbufErrors, UdpInCsumErrors,
    }
    "TcpExt" {
        /// SYN cookies sent.
        TcpExtSyncookiesSent, TcpExtSyncookiesRecv, TcpExtSyncookiesFailed,
        TcpExtEmbryonicRsts, TcpExtPruneCalled, TcpExtOfoPruned, TcpExtTW, TcpExtPAWSActive,
        TcpExtPAWSEstab, TcpExtDelayedACKs, TcpExtDelayedACKLost,
        /// Final handshake ACKs that found the accept queue full.
        TcpExtListenOverflows,
        /// SYNs and final ACKs a listener dropped for any reason (includes overflows).
        TcpExtListenDrops,
        TcpExtTCPSackRecovery, TcpExtTCPSACKReneging, TcpExtTCPSACKReorder, TcpExtTCPRenoRecovery,
        TcpExtTCPFastRetrans, TcpExtTCPSlowStartRetrans, TcpExtTCPTimeouts, TcpExtTCPLossProbes,
        TcpExtTCPLossProbeRecovery, TcpExtTCPSpuriousRTOs, TcpExtTCPLossUndo, TcpExtTCPDSACKOldSent,
        TcpExtTCPDSACKOfoSent, TcpExtTCPDSACKRecv, TcpExtTCPDSACKOfoRecv,
        TcpExtTCPDSACKUndo,
        /// Fast recoveries undone because timestamps showed them spurious (Eifel, RFC 3522).
        TcpExtTCPFullUndo, TcpExtTCPAbortOnData, TcpExtTCPAbortOnClose,
        TcpExtTCPAbortOnMemory, TcpExtTCPAbortOnTimeout, TcpExtTCPAbortOnLinger,
        TcpExtTCPAbortFailed, TcpExtTCPReqQFullDoCookies, TcpExtTCPReqQFullDrop,
        TcpExtTCPRcvQDrop, TcpExtTCPOFOQueue, TcpExtTCPOFODrop, TcpExtTCPOFOMerge,
        TcpExtTCPChallengeACK, TcpExtTCPSYNChallenge, TcpExtTCPZeroWindowDrop,
        TcpExtTCPToZeroWindowAdv, TcpExtTCPFromZeroWindowAdv, TcpExtTCPWantZeroWindowAdv,
        TcpExtTCPOrigDataSent, TcpExtTCPSynRetrans, TcpExtTCPKeepAlive, TcpExtTCPDelivered,
        TcpExtTCPRetransFail, TcpExtTCPWinProbe, TcpExtTCPRcvCoalesce, TcpExtTCPAutoCorking,
        /// ICMP errors for a connection whose quoted sequence number was outside its window.
        TcpExtOutOfWindowIcmps,
        /// Connections that closed without TIME_WAIT because `tcp_max_tw_buckets` TIME_WAIT
        /// sockets existed already.
        TcpExtTCPTimeWaitOverflow,
        /// Initial slow starts HyStart++ ended on a growing RTT.
        TcpExtTCPHystartDelayDetect,
        /// The congestion windows (segments) at those exits, summed.
        TcpExtTCPHystartDelayCwnd,
    }
    "IpExt" {
        /// Fragments that partly overlapped data already received: the datagram is dropped
        /// (RFC 5722's rule, which Linux applies to IPv4 too).
        IpExtReasmOverlaps,
    }
    "Dev" {
        /// Frames received from devices.
        DevRxFrames,
        /// Frames handed to devices.
        DevTxFrames,
        /// Frames dropped because the receive backlog (`netdev_max_backlog`) was full.
        DevRxBacklogDrops,
        /// Frames that could not be queued because the transmit queue (`txqueuelen`) was full
        /// (TCP keeps such segments for retransmission; other protocols lose them).
        DevTxQueueDrops,
        /// Frames too short or malformed to parse as Ethernet.
        DevRxMalformed,
        /// Frames with an EtherType the stack does not handle.
        DevRxUnknownEthertype,
        /// Frames addressed to another MAC.
        DevRxOtherHost,
        /// ARP requests and replies received.
        DevArpIn,
        /// ARP requests and replies sent.
        DevArpOut,
        /// Packets dropped because their neighbour's address never resolved, or because too
        /// many packets were already waiting for it.
        DevArpDrops,
    }
}

const COUNT: usize = Counter::ALL.len();

/// The live counters of one stack.
#[derive(Clone)]
pub struct Counters {
    values: [u64; COUNT],
}

impl Default for Counters {
    fn default() -> Self {
        Counters { values: [0; COUNT] }
    }
}

impl Counters {
    /// Adds one.
    #[inline]
    pub fn inc(&mut self, c: Counter) {
        self.values[c as usize] += 1;
    }

    /// Adds `n`.
    #[inline]
    pub fn add(&mut self, c: Counter, n: u64) {
        self.values[c as usize] += n;
    }

    /// Subtracts one (for gauges such as `TcpCurrEstab`), saturating at zero.
    #[inline]
    pub fn dec(&mut self, c: Counter) {
        let v = &mut self.values[c as usize];
        *v = v.saturating_sub(1);
    }

    /// The current value.
    #[inline]
    pub fn get(&self, c: Counter) -> u64 {
        self.values[c as usize]
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            values: self.values,
        }
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.snapshot(), f)
    }
}

/// A copy of every counter at one moment.
#[derive(Clone, PartialEq, Eq)]
pub struct Snapshot {
    values: [u64; COUNT],
}

impl Snapshot {
    /// A counter's value.
    pub fn get(&self, c: Counter) -> u64 {
        self.values[c as usize]
    }

    /// A counter's value by its `nstat` name (`"TcpExtListenOverflows"`), or `None` if no
    /// counter has that name.
    pub fn by_name(&self, name: &str) -> Option<u64> {
        Counter::ALL
            .iter()
            .find(|c| c.name() == name)
            .map(|c| self.get(*c))
    }

    /// Every counter with its value, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Counter, u64)> + '_ {
        Counter::ALL.iter().map(|c| (*c, self.get(*c)))
    }

    /// The change since `earlier` (gauges may go down: they saturate at zero).
    pub fn delta(&self, earlier: &Snapshot) -> Snapshot {
        let mut values = [0; COUNT];
        for (i, v) in values.iter_mut().enumerate() {
            *v = self.values[i].saturating_sub(earlier.values[i]);
        }
        Snapshot { values }
    }
}

/// Prints non-zero counters one per line, as `nstat -a` does: name, value.
impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "#sockeye")?;
        for (c, v) in self.iter().filter(|(_, v)| *v != 0) {
            writeln!(f, "{:<31} {:<15} 0.0", c.name(), v)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .filter(|(_, v)| *v != 0)
                    .map(|(c, v)| (c.name(), v)),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests;

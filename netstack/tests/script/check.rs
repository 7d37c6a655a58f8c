//! The independent oracle: every frame the stack emits is parsed by etherparse, its Ethernet,
//! IPv4 and TCP headers checked, and the segment turned into a [`Sent`] that must satisfy the
//! protocol invariants listed in the harness's module docs. Also the matching of a [`Sent`]
//! against a [`Seg`] spec for [`Script::expect`], and the quiet handling of the stack's ARP.

use std::fmt;

use etherparse::{
    ArpOperation, ArpPacket, EtherType, Ethernet2Header, IpNumber, Ipv4Header, TcpHeader,
    TcpOptionElement,
};

use super::peer::arp_frame;
use super::spec::{Flags, Opt, Seg};
use super::{PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, Script, SynSeen};

/// A segment the stack emitted, as etherparse parsed it.
#[derive(Debug, Clone)]
pub struct Sent {
    /// When it left, in milliseconds since the script began.
    pub at_ms: u64,
    pub src_port: u16,
    pub dst_port: u16,
    pub flags: Flags,
    /// Sequence number relative to the stack's ISN (absolute while that is unknown).
    pub seq: u32,
    /// Acknowledgment number relative to the peer's ISN.
    pub ack: u32,
    /// The absolute sequence and acknowledgment numbers.
    pub abs_seq: u32,
    pub abs_ack: u32,
    /// The raw window field.
    pub win: u16,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_ok: bool,
    pub ts: Option<(u32, u32)>,
    /// SACK blocks relative to the peer's ISN.
    pub sack: Vec<(u32, u32)>,
    pub options_len: usize,
    pub payload: Vec<u8>,
}

impl fmt::Display for Sent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "t={}ms {}>{} {} {}:{}({})",
            self.at_ms,
            self.src_port,
            self.dst_port,
            self.flags,
            self.seq,
            self.seq.wrapping_add(self.payload.len() as u32),
            self.payload.len()
        )?;
        if self.flags.ack {
            write!(f, " ack {}", self.ack)?;
        }
        write!(f, " win {}", self.win)?;
        let mut opts = Vec::new();
        if let Some(m) = self.mss {
            opts.push(format!("mss {m}"));
        }
        if self.sack_ok {
            opts.push("sackOK".into());
        }
        if let Some((v, e)) = self.ts {
            opts.push(format!("TS val {v} ecr {e}"));
        }
        if let Some(w) = self.wscale {
            opts.push(format!("wscale {w}"));
        }
        if !self.sack.is_empty() {
            opts.push(format!("sack {:?}", self.sack));
        }
        if !opts.is_empty() {
            write!(f, " <{}>", opts.join(","))?;
        }
        Ok(())
    }
}

/// The wrapping comparison `a < b` on the sequence circle.
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl Script {
    /// Parses and checks one emitted frame.
    pub(super) fn process(&mut self, frame: &[u8]) {
        let (eth, rest) = Ethernet2Header::from_slice(frame).expect("an Ethernet frame");
        assert_eq!(eth.source, STACK_MAC, "frames leave from the stack's MAC");
        match eth.ether_type {
            EtherType::ARP => self.process_arp(&eth, rest),
            EtherType::IPV4 => {
                assert_eq!(eth.destination, PEER_MAC, "IPv4 goes to the peer's MAC");
                let sent = self.parse_tcp(frame, rest);
                self.check_invariants(&sent);
                self.log.push(sent.clone());
                self.out.push_back(sent);
            }
            other => panic!("unexpected ethertype {other:?} in {frame:02x?}"),
        }
    }

    fn process_arp(&mut self, eth: &Ethernet2Header, body: &[u8]) {
        let arp = ArpPacket::from_slice(body)
            .expect("a complete ARP packet")
            .try_eth_ipv4()
            .expect("Ethernet/IPv4 ARP");
        assert_eq!(arp.sender_mac, STACK_MAC);
        assert_eq!(arp.sender_ipv4, STACK_IP.octets());
        if arp.operation == ArpOperation::REPLY {
            assert_eq!(eth.destination, PEER_MAC, "replies are unicast");
            assert_eq!(arp.target_ipv4, PEER_IP.octets());
            assert_eq!(arp.target_mac, PEER_MAC);
            return;
        }
        assert_eq!(arp.operation, ArpOperation::REQUEST, "ARP request or reply");
        assert!(
            eth.destination == [0xff; 6] || eth.destination == PEER_MAC,
            "requests are broadcast or a unicast probe to the peer"
        );
        assert_eq!(
            arp.target_ipv4,
            PEER_IP.octets(),
            "the stack only asks for the peer"
        );
        self.arp_requests += 1;
        let reply = arp_frame(ArpOperation::REPLY, STACK_MAC, STACK_MAC, STACK_IP.octets());
        self.stack.receive(self.now, self.iface, &reply);
    }

    /// Checks the IPv4 and TCP headers with etherparse and turns the segment into a [`Sent`].
    fn parse_tcp(&mut self, frame: &[u8], body: &[u8]) -> Sent {
        let (ip, rest) = Ipv4Header::from_slice(body).expect("a valid IPv4 header");
        assert_eq!(ip.header_len(), 20, "no IP options");
        assert_eq!(
            ip.header_checksum,
            ip.calc_header_checksum(),
            "IPv4 header checksum"
        );
        let total = usize::from(ip.total_len);
        assert_eq!(
            frame.len(),
            Ethernet2Header::LEN + total,
            "the frame is exactly the IP datagram (total length {total})"
        );
        assert!(
            total <= 1500,
            "a {total}-byte datagram exceeds the 1500-byte MTU (DF is set): {:02x?}",
            &frame[..Ethernet2Header::LEN + 40.min(total)]
        );
        assert!(
            ip.dont_fragment,
            "TCP segments are sent with DF (PMTU discovery)"
        );
        assert!(!ip.is_fragmenting_payload(), "not a fragment");
        assert_eq!(ip.time_to_live, 64, "ip_default_ttl");
        assert_eq!(
            ip.protocol,
            IpNumber::TCP,
            "only TCP is expected, got {frame:02x?}"
        );
        assert_eq!(ip.source, STACK_IP.octets());
        assert_eq!(ip.destination, PEER_IP.octets());
        let (tcp, payload) = TcpHeader::from_slice(rest).expect("a valid TCP header");
        assert_eq!(
            tcp.header_len() + payload.len(),
            total - 20,
            "TCP header and payload fill the datagram"
        );
        assert_eq!(
            tcp.checksum,
            tcp.calc_checksum_ipv4(&ip, payload).expect("length fits"),
            "TCP checksum of {tcp:?}"
        );
        assert!(
            !tcp.urg && !tcp.ece && !tcp.cwr && !tcp.ns,
            "no URG/ECN flags"
        );
        assert_eq!(tcp.urgent_pointer, 0);
        let mut sent = Sent {
            at_ms: self.now_ms(),
            src_port: tcp.source_port,
            dst_port: tcp.destination_port,
            flags: Flags {
                syn: tcp.syn,
                fin: tcp.fin,
                rst: tcp.rst,
                psh: tcp.psh,
                ack: tcp.ack,
            },
            seq: 0,
            ack: 0,
            abs_seq: tcp.sequence_number,
            abs_ack: tcp.acknowledgment_number,
            win: tcp.window_size,
            mss: None,
            wscale: None,
            sack_ok: false,
            ts: None,
            sack: Vec::new(),
            options_len: tcp.options.len(),
            payload: payload.to_vec(),
        };
        if !tcp.ack {
            assert_eq!(
                tcp.acknowledgment_number, 0,
                "the ACK field is zero when the ACK flag is off"
            );
        }
        for option in tcp.options_iterator() {
            match option.expect("well-formed TCP options") {
                TcpOptionElement::Noop => {}
                TcpOptionElement::MaximumSegmentSize(m) => {
                    assert!(sent.mss.replace(m).is_none(), "one MSS option")
                }
                TcpOptionElement::WindowScale(w) => {
                    assert!(w <= 14, "window scale {w} > 14 (RFC 7323)");
                    assert!(sent.wscale.replace(w).is_none(), "one window scale option");
                }
                TcpOptionElement::SelectiveAcknowledgementPermitted => {
                    assert!(!sent.sack_ok, "one SACK-permitted option");
                    sent.sack_ok = true;
                }
                TcpOptionElement::Timestamp(v, e) => {
                    assert!(sent.ts.replace((v, e)).is_none(), "one timestamps option")
                }
                TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                    assert!(sent.sack.is_empty(), "one SACK option");
                    for (l, r) in std::iter::once(first).chain(rest.into_iter().flatten()) {
                        sent.sack
                            .push((l.wrapping_sub(self.peer_isn), r.wrapping_sub(self.peer_isn)));
                    }
                }
            }
        }
        // Learn the flow's port and the stack's ISN.
        if self.stack_port.is_none() && sent.dst_port == self.peer_port {
            self.stack_port = Some(sent.src_port);
        }
        let ours = self.is_flow(&sent);
        if ours && sent.flags.syn {
            if self.stack_isn.is_none() {
                self.stack_isn = Some(sent.abs_seq);
            }
            self.stack_syn = Some(SynSeen {
                mss: sent.mss,
                wscale: sent.wscale,
                sack_ok: sent.sack_ok,
                ts: sent.ts.is_some(),
            });
        }
        sent.seq = sent.abs_seq.wrapping_sub(self.stack_isn.unwrap_or(0));
        sent.ack = sent.abs_ack.wrapping_sub(self.peer_isn);
        sent
    }

    fn is_flow(&self, s: &Sent) -> bool {
        Some(s.src_port) == self.stack_port && s.dst_port == self.peer_port
    }

    /// The protocol invariants every emitted segment must satisfy.
    fn check_invariants(&mut self, s: &Sent) {
        let f = s.flags;
        if !f.syn {
            assert!(
                s.mss.is_none() && s.wscale.is_none() && !s.sack_ok,
                "MSS, window scale and SACK-permitted belong in SYNs only: {s}"
            );
        }
        if f.rst {
            assert!(s.payload.is_empty(), "a RST carries no data: {s}");
            assert!(!f.syn && !f.fin, "a RST is only a RST: {s}");
        } else if !f.syn {
            assert!(f.ack, "every segment after the SYN carries an ACK: {s}");
        }
        if !self.is_flow(s) {
            return;
        }
        if f.syn && f.ack {
            if let Some(p) = self.peer_syn {
                assert!(
                    (s.wscale.is_none() || p.wscale.is_some())
                        && (!s.sack_ok || p.sack_ok)
                        && (s.ts.is_none() || p.ts),
                    "a SYN-ACK carries only options the peer offered ({p:?}): {s}"
                );
            }
        }
        let negotiated = self.peer_syn.is_some() && self.stack_syn.is_some();
        if negotiated && !f.rst && (!f.syn || f.ack) {
            if self.ts_on() {
                assert!(
                    s.ts.is_some(),
                    "timestamps negotiated: every segment has them: {s}"
                );
            } else {
                assert!(s.ts.is_none(), "timestamps not negotiated, but sent: {s}");
            }
        }
        if let Some((val, _)) = s.ts {
            if let Some(last) = self.last_stack_tsval {
                assert!(
                    !seq_lt(val, last),
                    "TSval went backwards ({last} -> {val}): {s}"
                );
            }
            self.last_stack_tsval = Some(val);
        }
        if !s.sack.is_empty() {
            assert!(self.sack_on(), "SACK blocks without SACK negotiated: {s}");
            assert!(s.sack.len() <= 4, "at most 4 SACK blocks: {s}");
        }
        if let Some(mss) = self.peer_mss() {
            assert!(
                s.payload.len() + s.options_len <= mss,
                "payload {} + options {} exceed the peer's MSS {mss}: {s}",
                s.payload.len(),
                s.options_len
            );
        }
        if !s.payload.is_empty() {
            assert!(self.stack_isn.is_some(), "data before the SYN: {s}");
            let start = s.seq.wrapping_sub(1) as usize;
            let end = start + s.payload.len();
            assert!(
                end <= self.app_stream.len(),
                "the stack sent bytes {start}..{end} of a stream of {} written: {s}",
                self.app_stream.len()
            );
            assert!(
                s.payload == self.app_stream[start..end],
                "payload differs from what the application wrote at {start}: {s}"
            );
        }
        if f.ack && !f.rst {
            if let Some(last) = self.last_ack {
                assert!(
                    !seq_lt(s.abs_ack, last),
                    "the ACK number went backwards: {s}"
                );
            }
            self.last_ack = Some(s.abs_ack);
            if !f.syn && self.check_window_edge {
                let shift = self.shifts().map_or(0, |(ours, _)| ours);
                let edge = s.abs_ack.wrapping_add(u32::from(s.win) << shift);
                // RFC 7323 2.4: with scaling, the edge may appear to retract by less than one
                // scale unit (the window field is rounded), never by more.
                let unit = 1u32 << shift;
                if let Some(max) = self.max_edge {
                    assert!(
                        !seq_lt(edge.wrapping_add(unit - 1), max),
                        "the window's right edge moved left by {} (RFC 9293 3.8.6.2.2, \
                         RFC 7323 2.4): {s}",
                        max.wrapping_sub(edge)
                    );
                }
                if self.max_edge.is_none_or(|max| seq_lt(max, edge)) {
                    self.max_edge = Some(edge);
                }
            }
        }
    }

    /// Whether `got` matches `spec`; if not, why.
    pub(super) fn matches(&self, spec: &Seg, got: &Sent) -> Result<(), String> {
        let (src, dst) = spec
            .ports
            .unwrap_or((self.stack_port.unwrap_or(got.src_port), self.peer_port));
        if (got.src_port, got.dst_port) != (src, dst) {
            return Err(format!("ports: want {src}>{dst}"));
        }
        let (w, g) = (spec.flags, got.flags);
        if (w.syn, w.fin, w.rst, w.ack) != (g.syn, g.fin, g.rst, g.ack) || (w.psh && !g.psh) {
            return Err(format!("flags: want {w}, got {g}"));
        }
        if let Some(seq) = spec.seq
            && seq != got.seq
        {
            return Err(format!("seq: want {seq}, got {}", got.seq));
        }
        if let Some(ack) = spec.ack
            && ack != got.ack
        {
            return Err(format!("ack: want {ack}, got {}", got.ack));
        }
        if let Some(win) = spec.win
            && win != got.win
        {
            return Err(format!("window field: want {win}, got {}", got.win));
        }
        if let Some(bytes) = spec.win_bytes {
            let shift = if got.flags.syn {
                0
            } else {
                self.shifts().map_or(0, |(ours, _)| ours)
            };
            let have = usize::from(got.win) << shift;
            if have != bytes {
                return Err(format!("window: want {bytes} B, got {have} B"));
            }
        }
        if let Some(len) = spec.len
            && len != got.payload.len()
        {
            return Err(format!("length: want {len}, got {}", got.payload.len()));
        }
        if let Some(p) = &spec.payload
            && *p != got.payload
        {
            return Err("payload bytes differ".into());
        }
        check_opt("mss", &spec.mss, got.mss)?;
        check_opt("wscale", &spec.wscale, got.wscale)?;
        check_opt("sackOK", &spec.sack_ok, got.sack_ok.then_some(()))?;
        match spec.ts {
            Opt::Default => {}
            Opt::Absent if got.ts.is_some() => return Err("timestamps: want none".into()),
            Opt::Any | Opt::Is(_) if got.ts.is_none() => {
                return Err("timestamps: want some".into());
            }
            Opt::Is(t) => {
                let (v, e) = got.ts.expect("checked");
                if t.val.is_some_and(|x| x != v) || t.ecr.is_some_and(|x| x != e) {
                    return Err(format!("timestamps: want {t:?}"));
                }
            }
            _ => {}
        }
        match &spec.sack {
            _ if spec.sack_unchecked => {}
            Opt::Default | Opt::Absent if !got.sack.is_empty() => {
                return Err("SACK blocks: want none".into());
            }
            Opt::Any if got.sack.is_empty() => return Err("SACK blocks: want some".into()),
            Opt::Is(b) if *b != got.sack => return Err(format!("SACK blocks: want {b:?}")),
            _ => {}
        }
        Ok(())
    }
}

fn check_opt<T: PartialEq + fmt::Debug + Copy>(
    name: &str,
    want: &Opt<T>,
    got: Option<T>,
) -> Result<(), String> {
    let ok = match want {
        Opt::Default => true,
        Opt::Absent => got.is_none(),
        Opt::Any => got.is_some(),
        Opt::Is(v) => got == Some(*v),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{name}: want {want:?}, got {got:?}"))
    }
}

//! The receive path: Ethernet → ARP or IPv4 → ICMP, UDP, TCP.
//!
//! Every frame is parsed in place (no copy) and every drop is counted: malformed Ethernet
//! (`DevRxMalformed`), other hosts' unicast (`DevRxOtherHost`), bad IPv4 headers or checksums
//! (`IpInHdrErrors`), datagrams for other addresses (`IpInAddrErrors`), unknown protocols
//! (`IpInUnknownProtos`, answered with ICMP protocol unreachable), and so on.
//!
//! Fragments go to the reassembler (see `reasm.rs`); a datagram it completes takes the same
//! dispatch, `dispatch_ipv4`, as one that arrived whole.
//!
//! A UDP datagram goes to the socket bound to its address (`UdpInDatagrams`, or
//! `UdpRcvbufErrors` when its queue is full); without one it gets ICMP port unreachable
//! (`UdpNoPorts`), unless it was broadcast. Until TCP lands, a TCP segment is answered as Linux
//! answers a closed port: with a RST (RFC 9293 section 3.10.7.1: never in reply to a RST).

use core::net::Ipv4Addr;

use super::Stack;
use super::output::quote_len;
use crate::route::IfaceId;
use crate::stats::Counter;
use crate::time::Instant;
use crate::wire::arp::{ArpOperation, ArpPacket, ArpRepr};
use crate::wire::ethernet::{EtherType, EthernetFrame};
use crate::wire::icmpv4::{self, Icmpv4Packet, Icmpv4Repr};
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::tcp::{TcpFlags, TcpOptions, TcpPacket, TcpRepr};
use crate::wire::udp::{UdpPacket, UdpRepr};
use crate::wire::{SeqNumber, WireError};

impl Stack {
    /// Processes one frame received on `iface` at `now`.
    ///
    /// # Panics
    /// If `iface` was not returned by [`Stack::add_interface`].
    pub fn receive(&mut self, now: Instant, iface: IfaceId, frame: &[u8]) {
        self.counters.inc(Counter::DevRxFrames);
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            self.counters.inc(Counter::DevRxMalformed);
            return;
        };
        let dst = eth.dst_addr();
        let ours = self.ifaces[usize::from(iface.0)].mac();
        if dst != ours && !dst.is_broadcast() {
            self.counters.inc(Counter::DevRxOtherHost);
            return;
        }
        match eth.ethertype() {
            EtherType::Arp => self.receive_arp(now, iface, eth.into_payload()),
            EtherType::Ipv4 => self.receive_ipv4(now, iface, eth.into_payload()),
            _ => self.counters.inc(Counter::DevRxUnknownEthertype),
        }
    }

    fn receive_arp(&mut self, now: Instant, iface: IfaceId, payload: &[u8]) {
        self.counters.inc(Counter::DevArpIn);
        let repr = match ArpPacket::new_checked(payload).and_then(|p| ArpRepr::parse(&p)) {
            Ok(repr) => repr,
            Err(_) => {
                self.counters.inc(Counter::DevRxMalformed);
                return;
            }
        };
        let our_ip = self.ifaces[usize::from(iface.0)].ip();
        let sender = repr.source_protocol_addr;
        if sender.is_unspecified() || !repr.source_hardware_addr.is_unicast() {
            // ARP probes (RFC 5227) and nonsense senders teach us nothing.
            return;
        }
        let for_us = repr.target_protocol_addr == our_ip;
        let released = self
            .neighbors
            .update(now, sender, repr.source_hardware_addr, for_us);
        self.release_pending(iface, released, repr.source_hardware_addr);
        if for_us && repr.operation == ArpOperation::Request {
            self.send_arp(
                iface,
                ArpOperation::Reply,
                repr.source_hardware_addr,
                sender,
            );
        }
    }

    fn receive_ipv4(&mut self, now: Instant, iface: IfaceId, payload: &[u8]) {
        self.counters.inc(Counter::IpInReceives);
        let verify = !self.ifaces[usize::from(iface.0)].config.checksum_offload;
        let packet = match Ipv4Packet::new_checked(payload) {
            Ok(p) => p,
            Err(_) => {
                self.counters.inc(Counter::IpInHdrErrors);
                return;
            }
        };
        let repr = match Ipv4Repr::parse(&packet, verify) {
            Ok(r) => r,
            Err(_) => {
                self.counters.inc(Counter::IpInHdrErrors);
                return;
            }
        };
        if !self.ifaces[usize::from(iface.0)].accepts(repr.dst_addr) {
            self.counters.inc(Counter::IpInAddrErrors);
            return;
        }
        let fragment = packet.is_fragment();
        let datagram = packet.into_inner();
        let datagram = &datagram[..usize::from(Ipv4Packet::new_unchecked(datagram).total_len())];
        if fragment {
            self.receive_fragment(now, iface, datagram, verify);
            return;
        }
        self.dispatch_ipv4(now, iface, repr, datagram, verify);
    }

    /// Delivers a whole datagram addressed to us (received whole, or reassembled) to its
    /// protocol. `datagram` runs from the IPv4 header, whose meaning is `repr`, to the end of
    /// the payload; ICMP errors quote it.
    pub(super) fn dispatch_ipv4(
        &mut self,
        now: Instant,
        iface: IfaceId,
        repr: Ipv4Repr,
        datagram: &[u8],
        verify: bool,
    ) {
        let body = &datagram[datagram.len() - repr.payload_len..];
        let unicast = repr.dst_addr == self.ifaces[usize::from(iface.0)].ip();
        match repr.next_header {
            IpProtocol::Icmp => self.receive_icmp(now, &repr, body, verify),
            IpProtocol::Udp => self.receive_udp(now, &repr, datagram, body, verify, unicast),
            IpProtocol::Tcp => self.receive_tcp(now, &repr, body, verify, unicast),
            IpProtocol::Unknown(_) => {
                self.counters.inc(Counter::IpInUnknownProtos);
                if unicast {
                    self.send_icmp_error(now, &repr, icmpv4::PROTO_UNREACH, datagram);
                }
            }
        }
    }

    fn receive_icmp(&mut self, now: Instant, ip: &Ipv4Repr, body: &[u8], verify: bool) {
        self.counters.inc(Counter::IcmpInMsgs);
        let parsed = Icmpv4Packet::new_checked(body).and_then(|p| Icmpv4Repr::parse(&p, verify));
        let repr = match parsed {
            Ok(r) => r,
            Err(e) => {
                if e == WireError::Checksum {
                    self.counters.inc(Counter::IcmpInCsumErrors);
                }
                self.counters.inc(Counter::IcmpInErrors);
                return;
            }
        };
        self.counters.inc(Counter::IpInDelivers);
        match repr {
            Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => {
                self.counters.inc(Counter::IcmpInEchos);
                if ip.dst_addr != Ipv4Addr::BROADCAST {
                    let reply = Icmpv4Repr::EchoReply {
                        ident,
                        seq_no,
                        data,
                    };
                    self.send_icmp(now, ip.src_addr, &reply);
                    self.counters.inc(Counter::IcmpOutEchoReps);
                }
            }
            Icmpv4Repr::EchoReply { .. } => self.counters.inc(Counter::IcmpInEchoReps),
            Icmpv4Repr::DstUnreachable { code, original, .. } => {
                self.counters.inc(Counter::IcmpInDestUnreachs);
                self.icmp_error(now, true, code, original);
            }
            Icmpv4Repr::TimeExceeded { code, original } => {
                self.counters.inc(Counter::IcmpInTimeExcds);
                self.icmp_error(now, false, code, original);
            }
            Icmpv4Repr::Other { .. } => {}
        }
    }

    fn receive_udp(
        &mut self,
        now: Instant,
        ip: &Ipv4Repr,
        datagram: &[u8],
        body: &[u8],
        verify: bool,
        unicast: bool,
    ) {
        let parsed = UdpPacket::new_checked(body).and_then(|p| {
            UdpRepr::parse(&p, ip.src_addr, ip.dst_addr, verify).map(|r| (r, p.into_payload()))
        });
        match parsed {
            Ok((repr, payload)) => {
                if self.udp_deliver(ip, &repr, payload) {
                    return;
                }
                // No socket (or one connected to another peer): the port is closed.
                self.counters.inc(Counter::UdpNoPorts);
                if unicast {
                    self.send_icmp_error(now, ip, icmpv4::PORT_UNREACH, datagram);
                }
            }
            Err(WireError::Checksum) => {
                self.counters.inc(Counter::UdpInCsumErrors);
                self.counters.inc(Counter::UdpInErrors);
            }
            Err(_) => self.counters.inc(Counter::UdpInErrors),
        }
    }

    fn receive_tcp(
        &mut self,
        now: Instant,
        ip: &Ipv4Repr,
        body: &[u8],
        verify: bool,
        unicast: bool,
    ) {
        let Ok(packet) = TcpPacket::new_checked(body) else {
            self.counters.inc(Counter::TcpInErrs);
            return;
        };
        let seg = match TcpRepr::parse(&packet, ip.src_addr, ip.dst_addr, verify) {
            Ok(seg) => seg,
            Err(e) => {
                if e == WireError::Checksum {
                    self.counters.inc(Counter::TcpInCsumErrors);
                }
                self.counters.inc(Counter::TcpInErrs);
                return;
            }
        };
        self.counters.inc(Counter::TcpInSegs);
        self.counters.inc(Counter::IpInDelivers);
        // TCP is unicast only: segments to a broadcast address are dropped.
        if unicast {
            self.tcp_input(now, ip, &seg, packet.payload());
        }
    }

    /// Answers `seg` with a RST: if it carried an ACK, the RST takes its sequence number from
    /// that ACK; otherwise it has sequence 0 and acknowledges everything the segment occupied.
    pub(crate) fn send_reset(&mut self, now: Instant, ip: &Ipv4Repr, seg: &TcpRepr) {
        let (seq_number, ack_number) = match seg.ack_number {
            Some(ack) => (ack, None),
            None => (SeqNumber(0), Some(seg.seq_number + seg.segment_len())),
        };
        let rst = TcpRepr {
            src_port: seg.dst_port,
            dst_port: seg.src_port,
            seq_number,
            ack_number,
            flags: TcpFlags::RST,
            window_len: 0,
            urgent: 0,
            options: TcpOptions::default(),
            payload_len: 0,
        };
        let len = rst.buffer_len();
        let sent = self.send_ipv4(
            now,
            ip.src_addr,
            IpProtocol::Tcp,
            len,
            &mut |buf, src, dst, fill| {
                rst.emit(&mut TcpPacket::new_unchecked(buf), src, dst, &[], fill);
            },
        );
        if sent {
            self.counters.inc(Counter::TcpOutSegs);
            self.counters.inc(Counter::TcpOutRsts);
        }
    }

    /// Sends an ICMP message to `dst`.
    pub(crate) fn send_icmp(&mut self, now: Instant, dst: Ipv4Addr, repr: &Icmpv4Repr<'_>) {
        let len = repr.buffer_len();
        if self.send_ipv4(now, dst, IpProtocol::Icmp, len, &mut |buf, _, _, fill| {
            repr.emit(&mut Icmpv4Packet::new_unchecked(buf), fill);
        }) {
            self.counters.inc(Counter::IcmpOutMsgs);
        }
    }

    /// Answers `datagram` (whose header is `ip`) with an ICMP destination unreachable.
    fn send_icmp_error(&mut self, now: Instant, ip: &Ipv4Repr, code: u8, datagram: &[u8]) {
        let quoted = &datagram[..quote_len(datagram)];
        let repr = Icmpv4Repr::DstUnreachable {
            code,
            next_hop_mtu: 0,
            original: quoted,
        };
        self.send_icmp(now, ip.src_addr, &repr);
        self.counters.inc(Counter::IcmpOutDestUnreachs);
    }
}

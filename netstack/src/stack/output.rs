//! Building frames outside the transmit path: IPv4 datagrams routed and resolved through the
//! neighbour cache, ARP requests and replies, and the control replies of the input path
//! (ICMP echo replies and errors, TCP resets).
//!
//! These frames are rare (control traffic, not data), so they are built into pooled owned
//! buffers and queued on the interface's egress queue, bounded by `txqueuelen`.

use core::net::Ipv4Addr;

use super::Stack;
use crate::neighbor::Resolution;
use crate::route::{IfaceId, NextHop};
use crate::stats::Counter;
use crate::time::Instant;
use crate::wire::arp::{ArpOperation, ArpPacket, ArpRepr};
use crate::wire::ethernet::{self, EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
use crate::wire::ipv4::{self, IpProtocol, Ipv4Packet, Ipv4Repr};

/// What an IPv4 payload writer receives: the payload area, the source and destination addresses
/// (for pseudo-header checksums), and whether to fill checksums.
pub(crate) type PayloadWriter<'a> = &'a mut dyn FnMut(&mut [u8], Ipv4Addr, Ipv4Addr, bool);

impl Stack {
    /// A buffer of `len` zeroed bytes from the pool.
    pub(super) fn buffer(&mut self, len: usize) -> Vec<u8> {
        let mut buf = self.pool.pop().unwrap_or_default();
        buf.clear();
        buf.resize(len, 0);
        buf
    }

    /// Returns a buffer to the pool (bounded, so a burst does not pin memory forever).
    pub(crate) fn recycle(&mut self, buf: Vec<u8>) {
        if self.pool.len() < 64 {
            self.pool.push(buf);
        }
    }

    /// Queues a complete frame on `iface`, or drops and counts it when the queue is full.
    pub(crate) fn enqueue(&mut self, iface: IfaceId, frame: Vec<u8>) {
        let limit = self.config.txqueuelen as usize;
        let queue = &mut self.ifaces[usize::from(iface.0)].egress;
        if queue.len() >= limit {
            self.counters.inc(Counter::DevTxQueueDrops);
            self.recycle(frame);
        } else {
            queue.push_back(frame);
        }
    }

    /// Routes, builds and queues an IPv4 datagram of `payload_len` bytes to `dst`, written by
    /// `write`. Returns false when there is no route (counted) or the packet had to be dropped.
    /// A datagram larger than the outgoing interface's MTU leaves in fragments (see `frag.rs`).
    pub(crate) fn send_ipv4(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        payload_len: usize,
        write: PayloadWriter<'_>,
    ) -> bool {
        let ttl = self.config.ip_default_ttl;
        self.send_ipv4_ttl(now, dst, protocol, ttl, payload_len, write)
    }

    /// [`Stack::send_ipv4`] with the datagram's TTL (a socket's `IP_TTL`).
    pub(crate) fn send_ipv4_ttl(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        ttl: u8,
        payload_len: usize,
        write: PayloadWriter<'_>,
    ) -> bool {
        let Some(hop) = self.routes.lookup(dst) else {
            self.counters.inc(Counter::IpOutNoRoutes);
            return false;
        };
        let src = self.ifaces[usize::from(hop.iface.0)].ip();
        self.send_ipv4_via(now, hop, (src, dst), (protocol, ttl), payload_len, write)
    }

    /// [`Stack::send_ipv4_ttl`] along a known path from a given source address (a
    /// connection's, which need not be its interface's first address).
    pub(crate) fn send_ipv4_via(
        &mut self,
        now: Instant,
        hop: NextHop,
        (src, dst): (Ipv4Addr, Ipv4Addr),
        (protocol, ttl): (IpProtocol, u8),
        payload_len: usize,
        write: PayloadWriter<'_>,
    ) -> bool {
        let iface = &self.ifaces[usize::from(hop.iface.0)];
        let (mac, fill) = (iface.mac(), !iface.config.checksum_offload);
        let broadcast = dst == Ipv4Addr::BROADCAST || dst == iface.config.addr.broadcast();
        self.ip_ident = self.ip_ident.wrapping_add(1);
        let repr = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: protocol,
            payload_len,
            hop_limit: ttl,
            dscp: 0,
            ecn: 0,
            ident: self.ip_ident,
            dont_frag: protocol == IpProtocol::Tcp,
        };
        if repr.total_len() > self.ifaces[usize::from(hop.iface.0)].config.mtu {
            return self.send_fragments(now, hop, broadcast, &repr, write);
        }
        let mut frame = self.buffer(ethernet::HEADER_LEN + repr.total_len());
        {
            let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
            EthernetRepr {
                src_addr: mac,
                dst_addr: EthernetAddress::BROADCAST,
                ethertype: EtherType::Ipv4,
            }
            .emit(&mut eth);
            let mut ip = Ipv4Packet::new_unchecked(eth.payload_mut());
            repr.emit(&mut ip, fill);
            write(&mut ip.payload_mut()[..payload_len], src, dst, fill);
        }
        self.counters.inc(Counter::IpOutRequests);
        self.route_frame(now, hop, broadcast, frame)
    }

    /// Queues a built IPv4 frame towards `hop`: at once for a broadcast or a resolved
    /// neighbour (whose MAC it fills in), else parked until ARP resolves. Returns false when the
    /// neighbour is known to be unreachable (the frame is dropped and counted).
    pub(crate) fn route_frame(
        &mut self,
        now: Instant,
        hop: NextHop,
        broadcast: bool,
        frame: Vec<u8>,
    ) -> bool {
        if broadcast {
            self.enqueue(hop.iface, frame);
            return true;
        }
        self.queue_resolving(now, hop.iface, hop.next_hop, frame)
    }

    /// Queues `frame` (complete but for its destination MAC) for `next_hop` on `iface`: at once
    /// if the neighbour is resolved, otherwise in the neighbour cache until it is (an ARP request
    /// goes out). Returns false when the frame had to be dropped.
    pub(crate) fn queue_resolving(
        &mut self,
        now: Instant,
        iface: IfaceId,
        next_hop: Ipv4Addr,
        mut frame: Vec<u8>,
    ) -> bool {
        if let Some(owner) = self.local_delivery(iface, next_hop) {
            self.loop_back(owner, frame);
            return true;
        }
        match self.neighbors.resolve(now, next_hop, &frame) {
            Resolution::Send { mac, probe } => {
                set_dst_mac(&mut frame, mac);
                self.enqueue(iface, frame);
                if probe {
                    self.send_arp(iface, ArpOperation::Request, mac, next_hop);
                }
                true
            }
            Resolution::Queued { request, dropped } => {
                self.recycle(frame);
                if dropped {
                    self.counters.inc(Counter::DevArpDrops);
                }
                if request {
                    self.send_arp(
                        iface,
                        ArpOperation::Request,
                        EthernetAddress::BROADCAST,
                        next_hop,
                    );
                }
                true
            }
            Resolution::Refused => {
                self.recycle(frame);
                self.counters.inc(Counter::DevArpDrops);
                false
            }
        }
    }

    /// Queues an ARP message on `iface`: a request for `target_ip` (broadcast, or unicast to
    /// `dst_mac` when probing a known neighbour) or a reply to `dst_mac`.
    pub(crate) fn send_arp(
        &mut self,
        iface: IfaceId,
        operation: ArpOperation,
        dst_mac: EthernetAddress,
        target_ip: Ipv4Addr,
    ) {
        let i = &self.ifaces[usize::from(iface.0)];
        let (mac, ip) = (i.mac(), i.ip());
        let arp = ArpRepr {
            operation,
            source_hardware_addr: mac,
            source_protocol_addr: ip,
            target_hardware_addr: if operation == ArpOperation::Request {
                EthernetAddress([0; 6])
            } else {
                dst_mac
            },
            target_protocol_addr: target_ip,
        };
        let mut frame = self.buffer(ethernet::HEADER_LEN + arp.buffer_len());
        {
            let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
            EthernetRepr {
                src_addr: mac,
                dst_addr: dst_mac,
                ethertype: EtherType::Arp,
            }
            .emit(&mut eth);
            arp.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
        }
        self.counters.inc(Counter::DevArpOut);
        self.enqueue(iface, frame);
    }

    /// Sends frames that were waiting for `mac` to resolve.
    pub(crate) fn release_pending(
        &mut self,
        iface: IfaceId,
        frames: Vec<Vec<u8>>,
        mac: EthernetAddress,
    ) {
        for mut frame in frames {
            set_dst_mac(&mut frame, mac);
            self.enqueue(iface, frame);
        }
    }
}

/// Writes the destination MAC of a frame built before its neighbour was known.
pub(crate) fn set_dst_mac(frame: &mut [u8], mac: EthernetAddress) {
    EthernetFrame::new_unchecked(frame).set_dst_addr(mac);
}

/// The number of bytes of an offending datagram an ICMP error quotes: RFC 1812 allows as much as
/// fits in 576 bytes; Linux quotes up to that. Here: the IP header plus up to 520 bytes.
pub(crate) fn quote_len(datagram: &[u8]) -> usize {
    datagram.len().min(ipv4::HEADER_LEN + 520)
}

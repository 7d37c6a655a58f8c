//! IPv4 output fragmentation (RFC 791 section 3.2), for datagrams larger than the MTU of the
//! interface they leave through (UDP and ICMP; TCP sets *don't fragment* and sizes its segments
//! to the MSS instead).
//!
//! As Linux's `ip_fragment` does, every fragment but the last carries *more fragments* and as
//! many payload bytes as fit in the MTU rounded down to a multiple of 8; all share the
//! datagram's identification and copy its header (there are no IP options to filter). Each
//! fragment is then routed like a whole datagram: to a resolved neighbour at once, or parked in
//! the neighbour's pending queue while ARP runs. That queue holds
//! [`PENDING_PER_NEIGHBOR`](crate::neighbor::PENDING_PER_NEIGHBOR) packets (Linux bounds it by
//! bytes instead, to about as many full-sized frames), so a datagram of more fragments than that,
//! sent to a neighbour not yet resolved, loses its first fragments and cannot be reassembled.
//!
//! The transport payload is written once into a pooled scratch buffer (its checksum covers the
//! whole datagram) and copied from there into each fragment: one extra copy, paid only by
//! datagrams that need fragmenting.
//!
//! Counters as Linux keeps them: `IpOutRequests` once per datagram, `IpFragOKs` per datagram
//! fragmented, `IpFragCreates` per fragment, `IpFragFails` when *don't fragment* forbids it
//! (the datagram is dropped).

use super::Stack;
use super::output::PayloadWriter;
use crate::route::NextHop;
use crate::stats::Counter;
use crate::time::Instant;
use crate::wire::ethernet::{self, EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
use crate::wire::ipv4::{self, Ipv4Packet, Ipv4Repr};

impl Stack {
    /// Sends the datagram `repr` describes, whose payload `write` fills, as fragments that fit
    /// the MTU of `hop`'s interface. Returns false if it could not be sent: *don't fragment* is
    /// set, or the neighbour is known to be unreachable.
    pub(super) fn send_fragments(
        &mut self,
        now: Instant,
        hop: NextHop,
        broadcast: bool,
        repr: &Ipv4Repr,
        write: PayloadWriter<'_>,
    ) -> bool {
        let iface = &self.ifaces[usize::from(hop.iface.0)];
        let (mac, fill) = (iface.mac(), !iface.config.checksum_offload);
        let chunk = iface.config.mtu.saturating_sub(ipv4::HEADER_LEN) & !7;
        self.counters.inc(Counter::IpOutRequests);
        if repr.dont_frag || chunk == 0 {
            self.counters.inc(Counter::IpFragFails);
            return false;
        }
        let len = repr.payload_len;
        let mut whole = self.buffer(len);
        write(&mut whole, repr.src_addr, repr.dst_addr, fill);
        let mut sent = true;
        let mut offset = 0;
        while offset < len {
            let n = chunk.min(len - offset);
            let part = Ipv4Repr {
                payload_len: n,
                ..*repr
            };
            let mut frame = self.buffer(ethernet::HEADER_LEN + part.total_len());
            {
                let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
                EthernetRepr {
                    src_addr: mac,
                    dst_addr: EthernetAddress::BROADCAST,
                    ethertype: EtherType::Ipv4,
                }
                .emit(&mut eth);
                let mut ip = Ipv4Packet::new_unchecked(eth.payload_mut());
                part.emit(&mut ip, false);
                ip.set_more_frags(offset + n < len);
                // At most 65,515: the largest IPv4 payload.
                ip.set_frag_offset(offset as u16);
                if fill {
                    ip.fill_checksum();
                }
                ip.payload_mut().copy_from_slice(&whole[offset..offset + n]);
            }
            sent &= self.route_frame(now, hop, broadcast, frame);
            self.counters.inc(Counter::IpFragCreates);
            offset += n;
        }
        self.recycle(whole);
        self.counters.inc(Counter::IpFragOKs);
        sent
    }
}

//! The wire as the harness sees it: what each DUT 4-tuple has shown ([`Seen`], recorded by the
//! simulator's tap and by [`Harness::inject`]), the recent frames from the peer kept for
//! replay, frames the harness injects, and the same-instant exchange between the two stacks.

use core::net::SocketAddrV4;
use std::collections::{BTreeMap, VecDeque};

use sockeye_netstack::IfaceId;
use sockeye_netstack::sim;
use sockeye_netstack::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, IpProtocol, Ipv4Packet, SeqNumber,
    TcpFlags, TcpPacket, TcpRepr,
};

use super::segments::{arp_frame, tcp_frames};
use super::{DUT, HISTORY, Harness, MAX_ROUNDS, MAX_TUPLES, PEER, PHANTOM, PHANTOM_ISS, transmit};

/// What the wire has shown of one 4-tuple of the DUT (local, remote).
#[derive(Debug, Clone, Copy)]
pub(super) struct Seen {
    /// The sequence number after the furthest segment the DUT sent (its `snd_max`, as seen).
    pub(super) snd_end: SeqNumber,
    /// The last acknowledgment number the DUT sent (its `rcv_nxt`).
    pub(super) ack: Option<SeqNumber>,
    /// The DUT's last timestamp value.
    pub(super) tsval: u32,
    /// The sequence number after the last segment sent to the DUT on this tuple.
    pub(super) peer_end: SeqNumber,
    /// The last timestamp value sent to the DUT on this tuple.
    pub(super) peer_tsval: u32,
}

impl Default for Seen {
    fn default() -> Seen {
        Seen {
            snd_end: SeqNumber(0),
            ack: None,
            tsval: 0,
            peer_end: SeqNumber(PHANTOM_ISS),
            peer_tsval: 1,
        }
    }
}

/// Everything observed on the wire: per-tuple sequence state, recent peer frames, and whether
/// the DUT is asking for the phantom's MAC address.
#[derive(Debug, Default)]
pub(super) struct Wire {
    pub(super) conns: BTreeMap<(SocketAddrV4, SocketAddrV4), Seen>,
    pub(super) history: VecDeque<Vec<u8>>,
    pub(super) arp_for_phantom: bool,
}

impl Wire {
    fn entry(&mut self, local: SocketAddrV4, remote: SocketAddrV4) -> Option<&mut Seen> {
        if !self.conns.contains_key(&(local, remote)) && self.conns.len() >= MAX_TUPLES {
            return None;
        }
        Some(self.conns.entry((local, remote)).or_default())
    }

    /// Notes what `frame` says (a frame any stack or the harness sent).
    pub(super) fn observe(&mut self, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        if eth.ethertype() == EtherType::Arp {
            if let Ok(arp) = ArpPacket::new_checked(eth.payload())
                && let Ok(arp) = ArpRepr::parse(&arp)
                && arp.operation == ArpOperation::Request
                && arp.source_protocol_addr == sim::addr(DUT)
                && arp.target_protocol_addr == sim::addr(PHANTOM)
            {
                self.arp_for_phantom = true;
            }
            return;
        }
        if eth.ethertype() != EtherType::Ipv4 {
            return;
        }
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
            return;
        };
        if ip.is_fragment() || ip.next_header() != IpProtocol::Tcp {
            return;
        }
        let (src_ip, dst_ip) = (ip.src_addr(), ip.dst_addr());
        let Ok(seg) = TcpPacket::new_checked(ip.payload()) else {
            return;
        };
        let Ok(repr) = TcpRepr::parse(&seg, src_ip, dst_ip, false) else {
            return;
        };
        let src = SocketAddrV4::new(src_ip, repr.src_port);
        let dst = SocketAddrV4::new(dst_ip, repr.dst_port);
        let end = repr.seq_number + repr.segment_len();
        if src_ip == sim::addr(DUT) {
            let Some(seen) = self.entry(src, dst) else {
                return;
            };
            if repr.flags.contains(TcpFlags::SYN) || end.gt(seen.snd_end) || seen.ack.is_none() {
                seen.snd_end = end;
            }
            if let Some(ack) = repr.ack_number {
                seen.ack = Some(ack);
            }
            if let Some((tsval, _)) = repr.options.timestamps {
                seen.tsval = tsval;
            }
        } else if dst_ip == sim::addr(DUT) {
            let Some(seen) = self.entry(dst, src) else {
                return;
            };
            seen.peer_end = end;
            if let Some((tsval, _)) = repr.options.timestamps {
                seen.peer_tsval = tsval;
            }
            if src_ip == sim::addr(PEER) {
                if self.history.len() == HISTORY {
                    self.history.pop_front();
                }
                self.history.push_back(frame.to_vec());
            }
        }
    }
}

impl Harness {
    pub(super) fn seen(&self, local: SocketAddrV4, remote: SocketAddrV4) -> Option<Seen> {
        self.wire.borrow().conns.get(&(local, remote)).copied()
    }

    /// Hands `frame`, written by the harness, to the DUT now (and notes what it says).
    pub(super) fn inject(&mut self, frame: &[u8]) {
        self.taint(frame);
        self.wire.borrow_mut().observe(frame);
        self.sim.stacks[DUT].receive(self.sim.now, IfaceId(0), frame);
    }

    pub(super) fn send_tcp(
        &mut self,
        from: SocketAddrV4,
        to: SocketAddrV4,
        repr: &TcpRepr,
        payload: &[u8],
        split: Option<usize>,
    ) {
        self.ident = self.ident.wrapping_add(1);
        for frame in tcp_frames(from, to, repr, payload, self.ident, split) {
            self.inject(&frame);
        }
    }

    /// Both stacks transmit and receive each other's frames at the current instant until
    /// neither sends anything; the phantom answers the DUT's ARP requests.
    pub(super) fn exchange(&mut self) {
        let now = self.sim.now;
        for _ in 0..MAX_ROUNDS {
            let asked = std::mem::take(&mut self.wire.borrow_mut().arp_for_phantom);
            if asked {
                let reply = ArpRepr {
                    operation: ArpOperation::Reply,
                    source_hardware_addr: sim::mac(PHANTOM),
                    source_protocol_addr: sim::addr(PHANTOM),
                    target_hardware_addr: sim::mac(DUT),
                    target_protocol_addr: sim::addr(DUT),
                };
                self.inject(&arp_frame(&reply, sim::mac(DUT)));
            }
            let from_dut = transmit(&mut self.sim.stacks[DUT], now);
            let from_peer = transmit(&mut self.sim.stacks[PEER], now);
            if !asked && from_dut.is_empty() && from_peer.is_empty() {
                return;
            }
            for frame in &from_dut {
                self.wire.borrow_mut().observe(frame);
                self.sim.stacks[PEER].receive(now, IfaceId(0), frame);
            }
            for frame in &from_peer {
                self.wire.borrow_mut().observe(frame);
                self.sim.stacks[DUT].receive(now, IfaceId(0), frame);
            }
        }
        panic!(
            "frame storm: the stacks were still exchanging frames after {MAX_ROUNDS} rounds at {:?}",
            self.sim.now
        );
    }
}

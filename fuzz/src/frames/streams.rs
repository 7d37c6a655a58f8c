//! The connections between the DUT and the peer whose bytes are checked end to end
//! ([`Stream`]): opening one on connect, attaching the other end on accept, and tainting those
//! the harness injects segments on.

use core::net::SocketAddrV4;
use std::collections::VecDeque;

use sockeye_netstack::SocketHandle;
use sockeye_netstack::sim;
use sockeye_netstack::wire::{
    ArpPacket, ArpRepr, EtherType, EthernetFrame, IpProtocol, Ipv4Packet,
};

use super::{DUT, Harness, MAX_TUPLES, PEER};

/// One connection between the DUT and the peer, with the bytes each side wrote that the other
/// has not read yet: reads must return exactly those, in order. Once the harness injects a frame
/// on the connection's 4-tuple (a forged segment may carry any bytes) the stream is *tainted*
/// and reads are only counted; replayed frames are real duplicates and taint nothing.
#[derive(Debug)]
pub(super) struct Stream {
    /// The two ends, once each exists (the connecting end first, the accepted one later).
    pub(super) dut: Option<SocketHandle>,
    pub(super) peer: Option<SocketHandle>,
    /// The DUT's end and the peer's.
    pub(super) dut_addr: SocketAddrV4,
    pub(super) peer_addr: SocketAddrV4,
    pub(super) to_peer: VecDeque<u8>,
    pub(super) to_dut: VecDeque<u8>,
    pub(super) tainted: bool,
    /// The harness shut down reading at the DUT's end or the peer's.
    pub(super) dut_read_shut: bool,
    pub(super) peer_read_shut: bool,
    /// The harness resized a receive buffer of an end: one shrunk below the window already
    /// offered drops what the window let in (as Linux does), so delivery is not owed.
    pub(super) resized: bool,
}

impl Stream {
    /// Checks `got`, just read by the DUT (`at_dut`) or the peer, against what the other side
    /// wrote.
    pub(super) fn read(&mut self, at_dut: bool, got: &[u8], after: &str) {
        let queue = if at_dut {
            &mut self.to_dut
        } else {
            &mut self.to_peer
        };
        if self.tainted {
            queue.drain(..got.len().min(queue.len()));
            return;
        }
        let reader = if at_dut { "DUT" } else { "peer" };
        assert!(
            got.len() <= queue.len(),
            "{reader} {:?} read {} bytes but only {} were written and unread, on {} <> {}, after {after}",
            if at_dut { self.dut } else { self.peer },
            got.len(),
            queue.len(),
            self.dut_addr,
            self.peer_addr,
        );
        let expected: Vec<u8> = queue.drain(..got.len()).collect();
        if let Some(at) = expected.iter().zip(got).position(|(a, b)| a != b) {
            panic!(
                "{reader} read corrupted bytes on {} <> {} (first difference at byte {at} of a {}-byte read), after {after}",
                self.dut_addr,
                self.peer_addr,
                got.len()
            );
        }
    }
}

impl Harness {
    /// Starts checking the bytes of the connection `h` of `stack` just opened (`connect`): its
    /// other end joins when it is accepted.
    pub(super) fn open_stream(&mut self, stack: usize, h: SocketHandle) {
        let st = &mut self.sim.stacks[stack];
        let (Ok(local), Ok(remote)) = (st.tcp_local_addr(h), st.tcp_peer_addr(h)) else {
            return;
        };
        let (dut_addr, peer_addr) = if stack == DUT {
            (local, remote)
        } else {
            (remote, local)
        };
        // An older stream on the same 4-tuple that never got its other end is over.
        self.streams.retain(|s| {
            !(s.dut_addr == dut_addr && s.peer_addr == peer_addr)
                || (s.dut.is_some() && s.peer.is_some())
        });
        self.streams.push(Stream {
            dut: (stack == DUT).then_some(h),
            peer: (stack == PEER).then_some(h),
            dut_addr,
            peer_addr,
            to_peer: VecDeque::new(),
            to_dut: VecDeque::new(),
            tainted: self.tainted.contains(&(dut_addr, peer_addr)),
            dut_read_shut: false,
            peer_read_shut: false,
            resized: false,
        });
    }

    /// A child just accepted on `stack` from `remote`: it is the missing end of the stream the
    /// other side opened on the same 4-tuple, if any.
    pub(super) fn attach(&mut self, stack: usize, child: SocketHandle, remote: SocketAddrV4) {
        let Ok(local) = self.sim.stacks[stack].tcp_local_addr(child) else {
            return;
        };
        let (dut_addr, peer_addr) = if stack == DUT {
            (local, remote)
        } else {
            (remote, local)
        };
        let stream = self.streams.iter_mut().rev().find(|s| {
            s.dut_addr == dut_addr
                && s.peer_addr == peer_addr
                && if stack == DUT {
                    s.dut.is_none()
                } else {
                    s.peer.is_none()
                }
        });
        if let Some(s) = stream {
            if stack == DUT {
                s.dut = Some(child);
            } else {
                s.peer = Some(child);
            }
        }
    }

    /// The stream that handle `h` of `stack` is an end of.
    pub(super) fn stream(&mut self, stack: usize, h: SocketHandle) -> Option<&mut Stream> {
        self.streams.iter_mut().find(|s| {
            if stack == DUT {
                s.dut == Some(h)
            } else {
                s.peer == Some(h)
            }
        })
    }

    /// Taints the streams whose 4-tuple `frame` (injected by the harness) is a TCP segment on,
    /// whatever its checksums (a first fragment counts), and notes ARP that misplaces the peer.
    pub(super) fn taint(&mut self, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        if eth.ethertype() == EtherType::Arp {
            if let Ok(arp) = ArpPacket::new_checked(eth.payload())
                && let Ok(arp) = ArpRepr::parse(&arp)
                && arp.source_protocol_addr == sim::addr(PEER)
                && arp.source_hardware_addr != sim::mac(PEER)
            {
                self.poisoned = true;
            }
            return;
        }
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()).or_else(|_| {
            // A datagram whose total length lies is still read as far as it goes.
            Ipv4Packet::new_quoted(eth.payload())
        }) else {
            return;
        };
        if ip.next_header() != IpProtocol::Tcp || ip.frag_offset() != 0 {
            return;
        }
        let Some(ports) = ip.payload().get(..4) else {
            return;
        };
        let src = SocketAddrV4::new(ip.src_addr(), u16::from_be_bytes([ports[0], ports[1]]));
        let dst = SocketAddrV4::new(ip.dst_addr(), u16::from_be_bytes([ports[2], ports[3]]));
        if self.tainted.len() < 4 * MAX_TUPLES {
            self.tainted.insert((dst, src));
        }
        for s in &mut self.streams {
            if s.peer_addr == src && s.dut_addr == dst {
                s.tainted = true;
            }
        }
    }
}

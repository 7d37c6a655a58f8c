//! The fake peer's side of the wire: [`Script::build`] turns a [`Seg`] spec into the peer's
//! Ethernet/IPv4/TCP frame with etherparse (relative numbers made absolute, options, window and
//! payload filled in), and [`arp_frame`] builds its ARP frames.

use etherparse::{ArpEthIpv4Packet, ArpOperation, ArpPacket, PacketBuilder, TcpOptionElement};

use super::spec::{Opt, Seg};
use super::{PEER_IP, PEER_MAC, PEER_TS_BASE, STACK_IP, STACK_MAC, Script, SynSeen, peer_data};

impl Script {
    /// Builds the peer's frame for `spec`.
    #[track_caller]
    pub fn build(&mut self, spec: &Seg) -> Vec<u8> {
        let f = spec.flags;
        let (src, dst) = spec.ports.unwrap_or_else(|| {
            (
                self.peer_port,
                self.stack_port
                    .expect("the stack's port is unknown: listen, or let it send first"),
            )
        });
        let flow = spec.ports.is_none();
        let rel_seq = spec
            .seq
            .expect("an injected segment needs a sequence number");
        let seq = self.peer_isn.wrapping_add(rel_seq);
        let stack_base = self.stack_isn.unwrap_or(0);
        // Options.
        let mut options = Vec::new();
        if let Opt::Is(m) = spec.mss {
            options.push(TcpOptionElement::MaximumSegmentSize(m));
        }
        if let Opt::Is(()) = spec.sack_ok {
            options.push(TcpOptionElement::SelectiveAcknowledgementPermitted);
        }
        let auto_ts = || {
            (
                PEER_TS_BASE.wrapping_add(self.now_ms() as u32),
                self.last_stack_tsval.unwrap_or(0),
            )
        };
        let ts = match spec.ts {
            Opt::Is(t) => Some((
                t.val.expect("an injected TSval"),
                t.ecr.expect("an injected TSecr"),
            )),
            Opt::Any => Some(auto_ts()),
            Opt::Absent => None,
            Opt::Default => (flow && !f.syn && !f.rst && self.ts_on()).then(auto_ts),
        };
        if let Some((v, e)) = ts {
            options.push(TcpOptionElement::Timestamp(v, e));
        }
        if let Opt::Is(w) = spec.wscale {
            options.push(TcpOptionElement::Noop);
            options.push(TcpOptionElement::WindowScale(w));
        }
        if let Opt::Is(blocks) = &spec.sack {
            assert!(
                !blocks.is_empty() && blocks.len() <= 4,
                "1 to 4 SACK blocks"
            );
            let abs = |(l, r): (u32, u32)| (stack_base.wrapping_add(l), stack_base.wrapping_add(r));
            let mut more = [None; 3];
            for (i, b) in blocks.iter().skip(1).enumerate() {
                more[i] = Some(abs(*b));
            }
            options.push(TcpOptionElement::Noop);
            options.push(TcpOptionElement::Noop);
            options.push(TcpOptionElement::SelectiveAcknowledgement(
                abs(blocks[0]),
                more,
            ));
        }
        // Window.
        let win = match (spec.win, spec.win_bytes) {
            (Some(w), _) => w,
            (None, Some(bytes)) => {
                let shift = if f.syn {
                    0
                } else {
                    self.shifts().map_or(0, |(_, peer)| peer)
                };
                assert_eq!(
                    bytes % (1 << shift),
                    0,
                    "{bytes} B is not a multiple of the scale"
                );
                u16::try_from(bytes >> shift).expect("window fits the field")
            }
            (None, None) => 65535,
        };
        // Payload.
        let payload = match (&spec.payload, spec.len) {
            (Some(p), _) => p.clone(),
            (None, Some(len)) => {
                let first = if f.syn {
                    rel_seq.wrapping_add(1)
                } else {
                    rel_seq
                };
                peer_data(first, len)
            }
            (None, None) => Vec::new(),
        };
        if flow && f.syn {
            self.peer_syn = Some(SynSeen {
                mss: match spec.mss {
                    Opt::Is(m) => Some(m),
                    _ => None,
                },
                wscale: match spec.wscale {
                    Opt::Is(w) => Some(w),
                    _ => None,
                },
                sack_ok: spec.sack_ok == Opt::Is(()),
                ts: ts.is_some(),
            });
        }
        let mut builder = PacketBuilder::ethernet2(PEER_MAC, STACK_MAC)
            .ipv4(PEER_IP.octets(), STACK_IP.octets(), 64)
            .tcp(src, dst, seq, win);
        if f.syn {
            builder = builder.syn();
        }
        if f.fin {
            builder = builder.fin();
        }
        if f.rst {
            builder = builder.rst();
        }
        if f.psh {
            builder = builder.psh();
        }
        if f.ack {
            let rel = spec
                .ack
                .expect("an injected ACK needs an acknowledgment number");
            builder = builder.ack(stack_base.wrapping_add(rel));
        }
        let builder = builder.options(&options).expect("options fit");
        let mut frame = Vec::with_capacity(builder.size(payload.len()));
        builder.write(&mut frame, &payload).expect("frame builds");
        frame
    }
}

/// An ARP frame from the peer to the stack (`dst` the Ethernet destination).
pub(super) fn arp_frame(
    op: ArpOperation,
    dst: [u8; 6],
    target_mac: [u8; 6],
    target_ip: [u8; 4],
) -> Vec<u8> {
    let arp = ArpEthIpv4Packet {
        operation: op,
        sender_mac: PEER_MAC,
        sender_ipv4: PEER_IP.octets(),
        target_mac,
        target_ipv4: target_ip,
    };
    let builder = PacketBuilder::ethernet2(PEER_MAC, dst).arp(ArpPacket::from(arp));
    let mut frame = Vec::with_capacity(builder.size());
    builder.write(&mut frame).expect("ARP frame builds");
    frame
}

//! Decoding operations from the input: the dispatch on the first byte, and the frame
//! operations (raw, Ethernet, IPv4, ARP, structured TCP, replay) and the passing of time. The
//! socket calls are in [`super::sockets`].

use core::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use sockeye_netstack::IfaceId;
use sockeye_netstack::sim;
use sockeye_netstack::wire::{
    ArpOperation, ArpRepr, EtherType, EthernetAddress, IpProtocol, SackBlocks, SeqNumber, TcpFlags,
    TcpOptions, TcpRepr,
};

use super::segments::{IpHeader, arp_frame, ethernet_frame, fill_transport_checksum, ipv4_frame};
use super::{DUT, HTTP, Harness, Input, PEER, PHANTOM, pattern};

/// `base` moved by an offset chosen by a mode byte: none, small, medium or any (backwards
/// too: the offset wraps around 2^32).
fn near(base: u32, input: &mut Input<'_>) -> u32 {
    let delta = match input.u8() % 4 {
        0 => 0,
        1 => i32::from(input.u8() as i8) as u32,
        2 => i32::from(input.u16() as i16) as u32,
        _ => input.u32(),
    };
    base.wrapping_add(delta)
}

impl Harness {
    /// Interprets one operation; returns its description (for messages and traces).
    pub(super) fn op(&mut self, input: &mut Input<'_>) -> String {
        let op = input.u8();
        let what = match op % 16 {
            // Two of the 16 high values of the DUT-socket slots tune the listen sysctls.
            12 | 13 if op >= 0xf0 => self.op_sysctl(input),
            0 => self.op_raw(input),
            1 => self.op_ethernet(input),
            2 | 3 => self.op_ip(input),
            4 => self.op_arp(input),
            5..=8 => self.op_tcp(input),
            9 => self.op_replay(input),
            10 | 11 => self.op_time(input),
            12 | 13 => self.op_dut_socket(input),
            14 => self.op_peer_socket(input),
            _ => self.op_udp(input),
        };
        if self.trace {
            eprintln!("[{:?}] {what}", self.sim.now);
        }
        what
    }

    fn op_raw(&mut self, input: &mut Input<'_>) -> String {
        let len = usize::from(input.u16()) % 1600;
        let frame = input.bytes(len).to_vec();
        self.inject(&frame);
        format!("raw frame, {} bytes", frame.len())
    }

    fn op_ethernet(&mut self, input: &mut Input<'_>) -> String {
        let dst = if input.bool() {
            EthernetAddress::BROADCAST
        } else {
            sim::mac(DUT)
        };
        let ethertype = match input.u8() % 4 {
            0 => EtherType::Arp,
            1 => EtherType::Ipv6,
            2 => EtherType::from(input.u16()),
            _ => EtherType::Ipv4,
        };
        let len = usize::from(input.u16()) % 1600;
        let payload = input.bytes(len).to_vec();
        self.inject(&ethernet_frame(sim::mac(PEER), dst, ethertype, &payload));
        format!(
            "ethernet to {dst} type {ethertype}, {} bytes",
            payload.len()
        )
    }

    fn any_ip(input: &mut Input<'_>) -> Ipv4Addr {
        match input.u8() % 6 {
            0 => sim::addr(DUT),
            1 => sim::addr(PEER),
            2 => sim::addr(PHANTOM),
            3 => Ipv4Addr::BROADCAST,
            4 => Ipv4Addr::new(10, 0, 0, 255),
            _ => Ipv4Addr::from(input.u32().to_be_bytes()),
        }
    }

    fn op_ip(&mut self, input: &mut Input<'_>) -> String {
        let protocol = match input.u8() % 4 {
            0 => IpProtocol::Tcp.into(),
            1 => IpProtocol::Udp.into(),
            2 => IpProtocol::Icmp.into(),
            _ => input.u8(),
        };
        let src = match input.u8() % 3 {
            0 => sim::addr(PEER),
            1 => sim::addr(PHANTOM),
            _ => Harness::any_ip(input),
        };
        let dst = if input.u8() % 4 == 0 {
            Harness::any_ip(input)
        } else {
            sim::addr(DUT)
        };
        let flags = input.u8();
        let fragment = flags & 0x30 != 0;
        let header = IpHeader {
            src,
            dst,
            protocol,
            ident: if flags & 0x40 != 0 {
                input.u16()
            } else {
                self.ident
            },
            ttl: input.u8(),
            tos: if flags & 0x80 != 0 { input.u8() } else { 0 },
            dont_frag: flags & 1 != 0,
            more_frags: flags & 0x10 != 0,
            frag_offset: if flags & 0x20 != 0 {
                input.u16() & !7
            } else {
                0
            },
            options_len: if flags & 2 != 0 {
                usize::from(input.u8() % 11) * 4
            } else {
                0
            },
        };
        let options = input.bytes(header.options_len).to_vec();
        let len = usize::from(input.u16()) % 1600;
        let mut payload = input.bytes(len).to_vec();
        if flags & 4 != 0 && !fragment {
            fill_transport_checksum(protocol, src, dst, &mut payload);
        }
        self.inject(&ipv4_frame(&header, &options, &payload));
        format!(
            "ip {src} > {dst} proto {protocol} flags {flags:#x} ident {} offset {}, {} bytes",
            header.ident,
            header.frag_offset,
            payload.len()
        )
    }

    fn op_arp(&mut self, input: &mut Input<'_>) -> String {
        let operation = match input.u8() % 3 {
            0 => ArpOperation::Request,
            1 => ArpOperation::Reply,
            _ => ArpOperation::from(input.u16()),
        };
        let source_hardware_addr = match input.u8() % 3 {
            0 => sim::mac(PEER),
            1 => sim::mac(PHANTOM),
            _ => EthernetAddress::from_bytes(input.bytes(6)).unwrap_or_default(),
        };
        let source_protocol_addr = Harness::any_ip(input);
        let target_protocol_addr = if input.bool() {
            sim::addr(DUT)
        } else {
            Harness::any_ip(input)
        };
        let repr = ArpRepr {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_hardware_addr: sim::mac(DUT),
            target_protocol_addr,
        };
        let dst = if input.bool() {
            EthernetAddress::BROADCAST
        } else {
            sim::mac(DUT)
        };
        self.inject(&arp_frame(&repr, dst));
        format!("{repr}")
    }

    /// The structured segment: see the module documentation.
    fn op_tcp(&mut self, input: &mut Input<'_>) -> String {
        let tuples: Vec<(SocketAddrV4, SocketAddrV4)> =
            self.wire.borrow().conns.keys().copied().collect();
        let choice = input.below(tuples.len() + 3);
        let (local, remote) = match choice {
            i if i < tuples.len() => tuples[i],
            i if i == tuples.len() => (
                SocketAddrV4::new(sim::addr(DUT), HTTP),
                SocketAddrV4::new(sim::addr(PHANTOM), input.u16()),
            ),
            i if i == tuples.len() + 1 => (
                SocketAddrV4::new(sim::addr(DUT), HTTP),
                SocketAddrV4::new(sim::addr(PEER), input.u16()),
            ),
            _ => (
                SocketAddrV4::new(sim::addr(DUT), input.u16()),
                SocketAddrV4::new(sim::addr(PHANTOM), input.u16()),
            ),
        };
        let seen = self.seen(local, remote).unwrap_or_default();
        let flags = TcpFlags::from_bits_truncate(u16::from(input.u8()));
        let seq_base = seen.ack.unwrap_or(seen.peer_end);
        let seq_number = SeqNumber(near(seq_base.0, input));
        let ack = SeqNumber(near(seen.snd_end.0, input));
        let window_len = input.u16();
        let urgent = if flags.contains(TcpFlags::URG) {
            input.u16()
        } else {
            0
        };
        let which = input.u8();
        let mut options = TcpOptions::default();
        if which & 1 != 0 {
            options.mss = Some(input.u16());
        }
        if which & 2 != 0 {
            options.window_scale = Some(input.u8());
        }
        options.sack_permitted = which & 4 != 0;
        if which & 8 != 0 {
            let tsval = near(seen.peer_tsval, input);
            let tsecr = near(seen.tsval, input);
            options.timestamps = Some((tsval, tsecr));
        }
        let blocks = usize::from((which >> 4) & 7).min(4);
        let mut sack = SackBlocks::new();
        for _ in 0..blocks {
            let left = SeqNumber(near(seen.snd_end.0, input));
            let right = SeqNumber(left.0.wrapping_add(u32::from(input.u16())));
            sack.push(left, right);
        }
        options.sack_blocks = sack;
        let len = usize::from(input.u16()) % 2000;
        let split = (which & 0x80 != 0).then(|| usize::from(input.u8()) * 8);
        let repr = TcpRepr {
            src_port: remote.port(),
            dst_port: local.port(),
            seq_number,
            ack_number: flags.contains(TcpFlags::ACK).then_some(ack),
            flags: flags.without(TcpFlags::ACK),
            window_len,
            urgent,
            options,
            payload_len: len,
        };
        let payload = pattern(seq_number.0, len);
        self.send_tcp(remote, local, &repr, &payload, split);
        format!("tcp {remote} > {local}: {repr} (flags {flags:?}, {options:?}, split {split:?})")
    }

    fn op_replay(&mut self, input: &mut Input<'_>) -> String {
        let frame = {
            let wire = self.wire.borrow();
            if wire.history.is_empty() {
                return "replay: nothing yet".to_string();
            }
            let i = input.below(wire.history.len());
            wire.history[i].clone()
        };
        self.sim.stacks[DUT].receive(self.sim.now, IfaceId(0), &frame);
        format!("replay of a {}-byte frame from the peer", frame.len())
    }

    /// Changes one of the DUT's listen-related sysctls (SYN cookies, the overflow policy,
    /// the SYN queue's bound for listeners made later, the SYN-ACK retries).
    fn op_sysctl(&mut self, input: &mut Input<'_>) -> String {
        let config = self.sim.stacks[DUT].config_mut();
        match input.u8() % 4 {
            0 => config.tcp_syncookies = input.u8() % 3,
            1 => config.tcp_abort_on_overflow = input.u8() % 2 == 1,
            2 => config.tcp_max_syn_backlog = 1 + u32::from(input.u8() % 64),
            _ => config.tcp_synack_retries = input.u8() % 7,
        }
        format!(
            "sysctl: syncookies {} abort_on_overflow {} max_syn_backlog {} synack_retries {}",
            config.tcp_syncookies,
            config.tcp_abort_on_overflow,
            config.tcp_max_syn_backlog,
            config.tcp_synack_retries
        )
    }

    fn op_time(&mut self, input: &mut Input<'_>) -> String {
        let d = match input.u8() % 4 {
            0 => Duration::from_millis(u64::from(input.u8())),
            1 => Duration::from_millis(u64::from(input.u16())),
            2 => Duration::from_secs(u64::from(input.u8()) * 10),
            _ => match self.sim.stacks[DUT].poll_at() {
                Some(at) => at.saturating_duration_since(self.sim.now),
                None => Duration::ZERO,
            },
        };
        self.sim.advance(d);
        format!("time passes: {d:?}")
    }
}

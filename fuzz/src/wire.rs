//! The `wire` harness: every parser of `sockeye_netstack::wire` on the same arbitrary bytes.
//!
//! Nothing may panic, and whatever parses must survive a round trip: emit the parsed value into
//! a fresh buffer (checksums filled), parse that with checksum verification on, and get the
//! same value back. Where a format represents every header bit (Ethernet, ARP), the emitted
//! header must also equal the input's bytes. For TCP, emitting is also idempotent: the bytes of
//! `emit(parse(emit(v)))` equal those of `emit(v)`.
//!
//! Input layout: byte 0 chooses checksum verification for the first parse (bit 0) and, for
//! the layers that need one, the pseudo-header's addresses come from bytes 1..9; the rest is
//! the buffer every parser reads. An empty input does nothing.

use core::net::Ipv4Addr;

use sockeye_netstack::wire::tcp::options::MAX_LEN as TCP_OPTIONS_MAX_LEN;
use sockeye_netstack::wire::{
    ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, Ipv4Packet,
    Ipv4Repr, SackBlocks, TcpOptions, TcpPacket, TcpRepr, UdpPacket, UdpRepr, arp,
};

use super::input::Input;

/// Runs every parser on `data` and checks the round trips.
pub fn run(data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let mut input = Input::new(data);
    let verify = input.bool();
    let src = Ipv4Addr::from(input.u32().to_be_bytes());
    let dst = Ipv4Addr::from(input.u32().to_be_bytes());
    let buf = input.rest();
    ethernet(buf);
    arp(buf);
    ipv4(buf, verify);
    icmpv4(buf, verify);
    udp(buf, src, dst, verify);
    tcp(buf, src, dst, verify);
    tcp_options(buf);
}

fn ethernet(buf: &[u8]) {
    let Ok(frame) = EthernetFrame::new_checked(buf) else {
        return;
    };
    let Ok(repr) = EthernetRepr::parse(&frame) else {
        return;
    };
    // Emit over a copy, so the payload is the input's, then compare everything.
    let mut out = buf.to_vec();
    repr.emit(&mut EthernetFrame::new_unchecked(&mut out[..]));
    assert_eq!(out, buf, "Ethernet: emit changed the frame");
    let again = EthernetRepr::parse(&EthernetFrame::new_checked(&out[..]).expect("emitted"))
        .expect("emitted Ethernet header parses");
    assert_eq!(again, repr, "Ethernet round trip");
}

fn arp(buf: &[u8]) {
    let Ok(packet) = ArpPacket::new_checked(buf) else {
        return;
    };
    let Ok(repr) = ArpRepr::parse(&packet) else {
        return;
    };
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
    // Parsing accepted only Ethernet/IPv4, whose 28 bytes the value represents entirely.
    assert_eq!(
        out,
        buf[..arp::ETHERNET_IPV4_LEN],
        "ARP: emit changed the bytes"
    );
    let again = ArpRepr::parse(&ArpPacket::new_checked(&out[..]).expect("emitted"))
        .expect("emitted ARP parses");
    assert_eq!(again, repr, "ARP round trip");
}

fn ipv4(buf: &[u8], verify: bool) {
    let Ok(packet) = Ipv4Packet::new_checked(buf) else {
        return;
    };
    let Ok(repr) = Ipv4Repr::parse(&packet, verify) else {
        return;
    };
    let payload = packet.payload();
    assert_eq!(payload.len(), repr.payload_len, "IPv4 payload length");
    let mut out = vec![0u8; repr.total_len()];
    let mut emitted = Ipv4Packet::new_unchecked(&mut out[..]);
    repr.emit(&mut emitted, true);
    emitted.payload_mut().copy_from_slice(payload);
    let parsed = Ipv4Packet::new_checked(&out[..]).expect("emitted IPv4 is whole");
    assert!(!parsed.is_fragment(), "IPv4: emitted a fragment");
    assert_eq!(parsed.payload(), payload, "IPv4 payload");
    let again = Ipv4Repr::parse(&parsed, true).expect("emitted IPv4 parses, checksum included");
    assert_eq!(again, repr, "IPv4 round trip");
}

fn icmpv4(buf: &[u8], verify: bool) {
    let Ok(packet) = Icmpv4Packet::new_checked(buf) else {
        return;
    };
    let Ok(repr) = Icmpv4Repr::parse(&packet, verify) else {
        return;
    };
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]), true);
    let parsed = Icmpv4Packet::new_checked(&out[..]).expect("emitted ICMP is whole");
    let again = Icmpv4Repr::parse(&parsed, true).expect("emitted ICMP parses, checksum included");
    assert_eq!(again, repr, "ICMP round trip");
}

fn udp(buf: &[u8], src: Ipv4Addr, dst: Ipv4Addr, verify: bool) {
    let Ok(packet) = UdpPacket::new_checked(buf) else {
        return;
    };
    let Ok(repr) = UdpRepr::parse(&packet, src, dst, verify) else {
        return;
    };
    let payload = packet.payload();
    let mut out = vec![0u8; repr.buffer_len(payload.len())];
    repr.emit(
        &mut UdpPacket::new_unchecked(&mut out[..]),
        src,
        dst,
        payload,
        true,
    );
    let parsed = UdpPacket::new_checked(&out[..]).expect("emitted UDP is whole");
    assert_eq!(parsed.payload(), payload, "UDP payload");
    let again =
        UdpRepr::parse(&parsed, src, dst, true).expect("emitted UDP parses, checksum included");
    assert_eq!(again, repr, "UDP round trip");
}

/// `options` as emitting leaves them: SACK blocks that do not fit in 40 bytes are dropped (see
/// `wire::tcp::options`).
fn emitted_options(options: &TcpOptions) -> TcpOptions {
    let kept = options.emitted_sack_blocks();
    let sack_blocks = SackBlocks::from_slice(&options.sack_blocks.as_slice()[..kept])
        .expect("fewer blocks than before");
    TcpOptions {
        sack_blocks,
        ..*options
    }
}

fn emit_tcp(repr: &TcpRepr, src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; repr.header_len() + payload.len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut out[..]),
        src,
        dst,
        payload,
        true,
    );
    out
}

fn tcp(buf: &[u8], src: Ipv4Addr, dst: Ipv4Addr, verify: bool) {
    let Ok(packet) = TcpPacket::new_checked(buf) else {
        return;
    };
    let Ok(repr) = TcpRepr::parse(&packet, src, dst, verify) else {
        return;
    };
    let payload = packet.payload();
    assert_eq!(payload.len(), repr.payload_len, "TCP payload length");
    let expected = TcpRepr {
        options: emitted_options(&repr.options),
        ..repr
    };
    let out = emit_tcp(&repr, src, dst, payload);
    let parsed = TcpPacket::new_checked(&out[..]).expect("emitted TCP is whole");
    assert_eq!(parsed.payload(), payload, "TCP payload");
    let again =
        TcpRepr::parse(&parsed, src, dst, true).expect("emitted TCP parses, checksum included");
    assert_eq!(again, expected, "TCP round trip");
    assert_eq!(
        emit_tcp(&again, src, dst, payload),
        out,
        "TCP: emitting is not idempotent"
    );
}

fn tcp_options(buf: &[u8]) {
    let area = &buf[..buf.len().min(TCP_OPTIONS_MAX_LEN)];
    let Ok(options) = TcpOptions::parse(area) else {
        return;
    };
    let len = options.buffer_len();
    assert!(
        len <= TCP_OPTIONS_MAX_LEN && len % 4 == 0,
        "TCP options length {len}"
    );
    let mut out = [0xAAu8; TCP_OPTIONS_MAX_LEN];
    let written = options.emit(&mut out);
    assert_eq!(written, len, "TCP options: emit wrote another length");
    assert!(
        out[written..].iter().all(|&b| b == 0),
        "TCP options: padding"
    );
    let again = TcpOptions::parse(&out[..written]).expect("emitted TCP options parse");
    assert_eq!(again, emitted_options(&options), "TCP options round trip");
}

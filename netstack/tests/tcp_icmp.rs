//! ICMP errors about a connection's segments (RFC 1122 4.2.3.9, RFC 5461, RFC 5927; Linux's
//! `tcp_v4_err`), as scripted segments: a router's unreachable message ends a connect at once
//! with its error, an established connection keeps it as a soft error that a later timeout
//! reports, and messages quoting a sequence number outside the window or a datagram the stack
//! did not send are ignored.

mod script;

use std::io::ErrorKind;
use std::task::Poll;

use script::{PEER_IP, PEER_MAC, PeerOpts, STACK_IP, STACK_MAC, Script, seg};
use sockeye_netstack::{Counter, StackConfig};

/// A router on the stack's subnet.
const ROUTER_IP: [u8; 4] = [10, 0, 0, 254];

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ICMP message of `icmp_type`/`code` from the router to the stack, quoting a TCP segment
/// from `src` (the stack's address, unless forged) to the peer with `seq`.
fn icmp_frame(
    icmp_type: u8,
    code: u8,
    src: [u8; 4],
    src_port: u16,
    dst_port: u16,
    seq: u32,
) -> Vec<u8> {
    let mut quote = vec![0x45, 0, 0, 60, 0, 1, 0x40, 0, 64, 6, 0, 0];
    quote.extend_from_slice(&src);
    quote.extend_from_slice(&PEER_IP.octets());
    let sum = checksum(&quote);
    quote[10..12].copy_from_slice(&sum.to_be_bytes());
    quote.extend_from_slice(&src_port.to_be_bytes());
    quote.extend_from_slice(&dst_port.to_be_bytes());
    quote.extend_from_slice(&seq.to_be_bytes());
    let mut icmp = vec![icmp_type, code, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&quote);
    let sum = checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let total = 20 + icmp.len();
    let mut ip = vec![0x45, 0, 0, 0, 0, 2, 0, 0, 64, 1, 0, 0];
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip.extend_from_slice(&ROUTER_IP);
    ip.extend_from_slice(&STACK_IP.octets());
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut frame = STACK_MAC.to_vec();
    frame.extend_from_slice(&PEER_MAC);
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&icmp);
    frame
}

#[test]
fn port_unreachable_ends_a_connect_with_connection_refused() {
    let mut h = Script::new();
    let c = h.connect(0);
    let syn = h.expect(seg("S").seq(0));
    assert_eq!(h.connect_status(c).map_err(|e| e.kind()), Poll::Pending);
    h.inject_frame(&icmp_frame(
        3,
        3,
        STACK_IP.octets(),
        syn.src_port,
        syn.dst_port,
        syn.abs_seq,
    ));
    match h.connect_status(c) {
        Poll::Ready(Err(e)) => assert_eq!(e.kind(), ErrorKind::ConnectionRefused),
        other => panic!("connect: {other:?}"),
    }
    assert_eq!(h.counter(Counter::IcmpInDestUnreachs), 1);
    // No more SYNs, and no RST either: the attempt is simply over.
    h.expect_nothing_until(10_000);
}

#[test]
fn host_unreachable_and_time_exceeded_end_a_connect_too() {
    for (icmp_type, code, expected) in [
        (3, 1, ErrorKind::HostUnreachable),
        (3, 0, ErrorKind::NetworkUnreachable),
        (3, 13, ErrorKind::HostUnreachable),
        (11, 0, ErrorKind::HostUnreachable),
    ] {
        let mut h = Script::new();
        let c = h.connect(0);
        let syn = h.expect(seg("S").seq(0));
        let frame = icmp_frame(
            icmp_type,
            code,
            STACK_IP.octets(),
            syn.src_port,
            syn.dst_port,
            syn.abs_seq,
        );
        h.inject_frame(&frame);
        match h.connect_status(c) {
            Poll::Ready(Err(e)) => assert_eq!(e.kind(), expected, "type {icmp_type} code {code}"),
            other => panic!("type {icmp_type} code {code}: {other:?}"),
        }
    }
}

#[test]
fn errors_outside_the_window_or_about_others_are_ignored() {
    let mut h = Script::new();
    let c = h.connect(0);
    let syn = h.expect(seg("S").seq(0));
    // A sequence number the stack never sent (RFC 5927 5.1): counted, ignored.
    let far = syn.abs_seq.wrapping_add(100_000);
    h.inject_frame(&icmp_frame(
        3,
        3,
        STACK_IP.octets(),
        syn.src_port,
        syn.dst_port,
        far,
    ));
    assert_eq!(h.counter(Counter::TcpExtOutOfWindowIcmps), 1);
    // A quote of a datagram from another source, and of another port: nothing to report to.
    h.inject_frame(&icmp_frame(
        3,
        3,
        [10, 0, 0, 9],
        syn.src_port,
        syn.dst_port,
        syn.abs_seq,
    ));
    h.inject_frame(&icmp_frame(
        3,
        3,
        STACK_IP.octets(),
        syn.src_port ^ 1,
        syn.dst_port,
        syn.abs_seq,
    ));
    // Fragmentation needed is not an error.
    h.inject_frame(&icmp_frame(
        3,
        4,
        STACK_IP.octets(),
        syn.src_port,
        syn.dst_port,
        syn.abs_seq,
    ));
    assert_eq!(h.connect_status(c).map_err(|e| e.kind()), Poll::Pending);
    assert_eq!(h.counter(Counter::IcmpInDestUnreachs), 4);
    h.expect_at(1000, seg("S").seq(0));
}

/// An established connection (giving up after 3 retransmissions) that sent 100 bytes: the
/// script, the socket and the segment.
fn sending_with_few_retries() -> (Script, sockeye_netstack::SocketHandle, script::Sent) {
    let config = StackConfig {
        tcp_retries2: 3,
        ..StackConfig::default()
    };
    let mut h = Script::with_config(config);
    let c = h.active_open(PeerOpts::NONE);
    assert_eq!(h.write(c, 100), 100);
    let data = h.expect(seg("P.").seq(1).len(100));
    (h, c, data)
}

#[test]
fn an_established_connection_keeps_a_soft_error_for_its_timeout() {
    let (mut h, c, data) = sending_with_few_retries();
    // A soft error: the connection goes on (it retransmits) ...
    let frame = icmp_frame(
        3,
        1,
        STACK_IP.octets(),
        data.src_port,
        data.dst_port,
        data.abs_seq,
    );
    h.inject_frame(&frame);
    assert_eq!(h.read(c), script::Read::Pending);
    h.run_until(60_000);
    // ... until the retries run out: the timeout reports the ICMP error, not TimedOut.
    assert_eq!(h.write_err(c), ErrorKind::HostUnreachable);
}

#[test]
fn an_ack_that_moves_snd_una_forgets_the_soft_error() {
    let (mut h, c, data) = sending_with_few_retries();
    let frame = icmp_frame(
        3,
        1,
        STACK_IP.octets(),
        data.src_port,
        data.dst_port,
        data.abs_seq,
    );
    h.inject_frame(&frame);
    h.inject_now(seg(".").seq(1).ack(101));
    assert_eq!(h.write(c, 100), 100);
    h.expect(seg("P.").seq(101).len(100));
    h.run_until(60_000);
    assert_eq!(h.write_err(c), ErrorKind::TimedOut);
}

/// A connection in TIME_WAIT (here its compact record: the user closed the socket) ignores
/// ICMP errors, as Linux's `tcp_v4_err` does; one quoting anything but its last sequence
/// number is counted as outside the window, as before the record replaced the connection.
#[test]
fn icmp_errors_for_a_connection_in_time_wait_are_ignored() {
    let mut h = Script::new();
    let (_, c) = h.passive_open(PeerOpts::FULL);
    h.run_until(10);
    h.close(c);
    let fin = h.expect(seg("F.").seq(1).ack(1));
    h.inject(20, seg("F.").seq(1).ack(2));
    h.expect(seg(".").seq(2).ack(2));
    assert_eq!(h.stack.tcp_time_wait_sockets(), 1);
    let unreachable =
        |seq: u32| icmp_frame(3, 1, STACK_IP.octets(), fin.src_port, fin.dst_port, seq);
    h.inject_frame(&unreachable(fin.abs_seq.wrapping_add(1)));
    assert_eq!(h.counter(Counter::TcpExtOutOfWindowIcmps), 0);
    h.inject_frame(&unreachable(fin.abs_seq.wrapping_sub(100)));
    assert_eq!(h.counter(Counter::TcpExtOutOfWindowIcmps), 1);
    h.expect_nothing();
    assert_eq!(h.stack.tcp_time_wait_sockets(), 1, "still in TIME_WAIT");
    h.inject(30, seg("F.").seq(1).ack(2));
    h.expect(seg(".").seq(2).ack(2));
}

//! The receive backlog between the devices and the stack, through the runtime's driver: a device
//! that hands over more frames in one turn than the stack processes (`netdev_budget`) leaves the
//! rest in the backlog, in order, and what does not fit (`netdev_max_backlog`) is dropped and
//! counted in `DevRxBacklogDrops`, never lost silently.

mod net;

use std::net::Ipv4Addr;
use std::time::Duration;

use net::guard;
use sockeye::net::UdpSocket;
use sockeye::netstack::{Counter, StackConfig};
use sockeye::nic::{Device, Hub, MacAddr};
use sockeye::runtime::{Builder, Interface};

const STACK_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const STACK_IP: Ipv4Addr = Ipv4Addr::new(10, 91, 0, 2);
const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 91, 0, 1);
const PORT: u16 = 9000;

/// An Ethernet + IPv4 + UDP frame from the peer to the stack carrying `index` (UDP checksum 0:
/// none, which IPv4 allows).
fn datagram(index: u32) -> Vec<u8> {
    let payload = index.to_be_bytes();
    let ip_len = 20 + 8 + payload.len();
    let mut f = Vec::with_capacity(14 + ip_len);
    f.extend_from_slice(&STACK_MAC);
    f.extend_from_slice(&PEER_MAC);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&(index as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&PEER_IP.octets());
    ip[16..20].copy_from_slice(&STACK_IP.octets());
    let sum = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>();
    let folded = (sum & 0xffff) + (sum >> 16);
    let checksum = !(((folded & 0xffff) + (folded >> 16)) as u16);
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&4000u16.to_be_bytes());
    f.extend_from_slice(&PORT.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&payload);
    f
}

#[test]
fn a_burst_beyond_budget_and_backlog_is_kept_in_order_then_dropped_and_counted() {
    const SENT: u32 = 3000;
    const BUDGET: u32 = 300;
    const BACKLOG: u32 = 1000;

    let hub = Hub::new().with_queue_len(SENT as usize);
    let stack_port = hub.port(MacAddr(STACK_MAC));
    let mut peer = hub.port(MacAddr(PEER_MAC));
    let config = StackConfig {
        netdev_budget: BUDGET,
        netdev_max_backlog: BACKLOG,
        // Room for every datagram in the socket, so only the backlog can drop.
        rmem_default: 64 << 20,
        rmem_max: 64 << 20,
        ..StackConfig::default()
    };
    let rt = Builder::new_current_thread()
        .interface(
            Interface::new(stack_port, format!("{STACK_IP}/24").parse().unwrap())
                .mac(MacAddr(STACK_MAC)),
        )
        .stack_config(config)
        // The driver takes the whole burst from the device in one turn.
        .nic_poll_budget(SENT as usize)
        .build()
        .unwrap();

    let received = rt.block_on(guard(async {
        let socket = UdpSocket::bind((STACK_IP, PORT)).await.unwrap();
        // The whole burst waits in the device before the driver's next turn.
        for i in 0..SENT {
            let frame = datagram(i);
            let queued = peer
                .transmit(frame.len(), &mut |buf| buf.copy_from_slice(&frame))
                .unwrap();
            assert!(queued);
        }
        let mut received = Vec::new();
        let mut buf = [0; 16];
        while let Ok(Ok((n, _))) =
            sockeye::time::timeout(Duration::from_millis(200), socket.recv_from(&mut buf)).await
        {
            assert_eq!(n, 4);
            received.push(u32::from_be_bytes(buf[..4].try_into().unwrap()));
        }
        received
    }));

    let counters = rt.block_on(async { sockeye::stack::counters() });
    let drops = counters.get(Counter::DevRxBacklogDrops);
    // The first turn processes the budget, queues the backlog's worth and drops the rest.
    assert_eq!(drops, u64::from(SENT - BUDGET - BACKLOG));
    let expected: Vec<u32> = (0..BUDGET + BACKLOG).collect();
    assert_eq!(received, expected, "the kept datagrams, oldest first");
    assert_eq!(
        counters.get(Counter::UdpInDatagrams),
        u64::from(BUDGET + BACKLOG)
    );
    assert_eq!(counters.get(Counter::UdpRcvbufErrors), 0);
}

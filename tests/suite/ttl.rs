//! `IP_TTL` reaches the wire: a listener's TTL is its SYN-ACKs' and its accepted connections',
//! a stream's is its segments', a UDP socket's is its datagrams'. The server side captures its
//! stack's frames (those it sends and those it receives) and reads the TTLs in the capture.

use std::io::ErrorKind;
use std::net::SocketAddr;

use sockeye::io::{AsyncReadExt, AsyncWriteExt};
use sockeye::net::{TcpListener, TcpStream, UdpSocket};

use super::{Case, Side};
use crate::net::{pcap_records, temp_path};

/// An IPv4 packet seen in a capture.
struct Seen {
    ttl: u8,
    protocol: u8,
    src_port: u16,
    /// TCP flags (0 for UDP).
    flags: u8,
    /// TCP or UDP payload.
    payload: Vec<u8>,
}

/// The IPv4 TCP and UDP packets of an Ethernet capture.
fn packets(frames: Vec<Vec<u8>>) -> Vec<Seen> {
    let mut seen = Vec::new();
    for frame in frames {
        if frame.len() < 34 || frame[12..14] != [0x08, 0x00] {
            continue;
        }
        let ip = &frame[14..];
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let header = usize::from(ip[0] & 0x0f) * 4;
        let l4 = &ip[header..total];
        let src_port = u16::from_be_bytes([l4[0], l4[1]]);
        let (flags, payload) = match ip[9] {
            6 => (l4[13], &l4[usize::from(l4[12] >> 4) * 4..]),
            17 => (0, &l4[8..]),
            _ => continue,
        };
        seen.push(Seen {
            ttl: ip[8],
            protocol: ip[9],
            src_port,
            flags,
            payload: payload.to_vec(),
        });
    }
    seen
}

/// A counter of this side's stack, by its Linux name.
fn counter(name: &str) -> u64 {
    sockeye::stack::counters()
        .by_name(name)
        .unwrap_or_else(|| panic!("no counter {name}"))
}

/// The listener's TTL (9) is on its SYN-ACKs (a SYN cookie's too) and every segment of the
/// connections it accepts; the
/// client's stream TTL (7) on its data; the client's UDP TTL (5) on its datagram. Out-of-range
/// TTLs are `InvalidInput`.
pub fn ttl_reaches_the_wire() -> Case {
    Case::new(
        |mut side: Side| async move {
            let path = temp_path(&format!("ttl-{}.pcap", side.ip));
            let listener = TcpListener::bind(side.any_port()).await.unwrap();
            assert_eq!(listener.ttl().unwrap(), 64, "ip_default_ttl");
            listener.set_ttl(9).unwrap();
            assert_eq!(listener.ttl().unwrap(), 9);
            for bad in [0, 256] {
                let err = listener.set_ttl(bad).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidInput);
            }
            let udp = UdpSocket::bind(side.any_port()).await.unwrap();
            let port = listener.local_addr().unwrap().port();
            sockeye::stack::capture(&path).unwrap();
            side.send((listener.local_addr().unwrap(), udp.local_addr().unwrap()));
            let (mut stream, _) = listener.accept().await.unwrap();
            assert_eq!(stream.ttl().unwrap(), 9, "inherited from the listener");
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");
            stream.write_all(b"pong").await.unwrap();
            let (n, client_udp) = udp.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"udp!");
            // A second connection answered with a SYN cookie (`tcp_syncookies` 2: always).
            sockeye::stack::set_sysctl("net.ipv4.tcp_syncookies", "2").unwrap();
            let cookies_before = counter("TcpExtSyncookiesSent");
            side.sync("cookies on").await;
            let (mut second, _) = listener.accept().await.unwrap();
            assert_eq!(second.ttl().unwrap(), 9, "inherited through the cookie");
            second.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"cook");
            assert_eq!(counter("TcpExtSyncookiesSent"), cookies_before + 1);
            side.sync("exchanged").await;
            sockeye::stack::stop_capture().unwrap();
            let seen = packets(pcap_records(&path));
            std::fs::remove_file(&path).unwrap();

            let synacks: Vec<&Seen> = seen
                .iter()
                .filter(|p| p.protocol == 6 && p.src_port == port && p.flags & 0x12 == 0x12)
                .collect();
            assert!(synacks.len() >= 2, "both SYN-ACKs were captured");
            assert!(
                synacks.iter().all(|p| p.ttl == 9),
                "the SYN-ACKs, the cookie's too"
            );
            let ours = seen
                .iter()
                .filter(|p| p.protocol == 6 && p.src_port == port);
            assert!(ours.clone().count() > synacks.len());
            assert!(
                ours.clone().all(|p| p.ttl == 9),
                "every segment of the server's"
            );
            let ping = seen
                .iter()
                .find(|p| p.protocol == 6 && p.payload == b"ping");
            assert_eq!(ping.map(|p| p.ttl), Some(7), "the client's data");
            let datagram = seen
                .iter()
                .find(|p| p.protocol == 17 && p.src_port == client_udp.port());
            assert_eq!(datagram.map(|p| p.ttl), Some(5), "the client's datagram");
        },
        |mut side: Side| async move {
            let (tcp, udp): (SocketAddr, SocketAddr) = side.recv().await;
            let mut stream = TcpStream::connect(tcp).await.unwrap();
            assert_eq!(stream.ttl().unwrap(), 64);
            stream.set_ttl(7).unwrap();
            assert_eq!(stream.ttl().unwrap(), 7);
            assert_eq!(
                stream.set_ttl(0).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
            stream.write_all(b"ping").await.unwrap();
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"pong");
            let socket = UdpSocket::bind(side.any_port()).await.unwrap();
            assert_eq!(socket.ttl().unwrap(), 64);
            socket.set_ttl(5).unwrap();
            assert_eq!(socket.ttl().unwrap(), 5);
            for bad in [0, 256] {
                let err = socket.set_ttl(bad).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidInput);
            }
            socket.send_to(b"udp!", udp).await.unwrap();
            side.sync("cookies on").await;
            let mut second = TcpStream::connect(tcp).await.unwrap();
            second.write_all(b"cook").await.unwrap();
            side.sync("exchanged").await;
        },
    )
}

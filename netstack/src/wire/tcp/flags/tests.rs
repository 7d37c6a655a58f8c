use super::*;

#[test]
fn flags_api() {
    let mut flags = TcpFlags::SYN | TcpFlags::ACK;
    assert!(flags.contains(TcpFlags::SYN));
    assert!(flags.contains(TcpFlags::SYN | TcpFlags::ACK));
    assert!(!flags.contains(TcpFlags::SYN | TcpFlags::FIN));
    assert!(flags.intersects(TcpFlags::SYN | TcpFlags::FIN));
    assert!(!flags.intersects(TcpFlags::RST));
    assert_eq!(flags & TcpFlags::ACK, TcpFlags::ACK);
    assert_eq!(flags.bits(), 0x12);
    flags.insert(TcpFlags::ECE | TcpFlags::CWR);
    flags.remove(TcpFlags::SYN);
    assert_eq!(flags, TcpFlags::from_bits_truncate(0x0d0));
    assert_eq!(TcpFlags::from_bits_truncate(0xff01), TcpFlags::FIN);
    assert_eq!(flags.without(TcpFlags::ACK).bits(), 0x0c0);
    assert!(TcpFlags::empty().is_empty());
    assert_eq!(TcpFlags::default(), TcpFlags::empty());
    let all = TcpFlags::from_bits_truncate(0xffff);
    assert_eq!(format!("{all:?}"), "FIN|SYN|RST|PSH|ACK|URG|ECE|CWR");
    assert_eq!(all.to_string(), "[FSRP.UEW]");
    assert_eq!(
        (TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE).to_string(),
        "[S.E]"
    );
    assert_eq!(
        (TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK).to_string(),
        "[FP.]"
    );
    assert_eq!((TcpFlags::SYN | TcpFlags::ACK).to_string(), "[S.]");
    assert_eq!(format!("{:?}", TcpFlags::empty()), "(empty)");
    assert_eq!(TcpFlags::empty().to_string(), "[none]");
}

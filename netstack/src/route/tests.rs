use super::*;

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

#[test]
fn cidr_math_and_parsing() {
    let c = cidr("10.1.2.3/24");
    assert_eq!(c.network(), Ipv4Addr::new(10, 1, 2, 0));
    assert_eq!(c.broadcast(), Ipv4Addr::new(10, 1, 2, 255));
    assert!(c.contains(Ipv4Addr::new(10, 1, 2, 200)));
    assert!(!c.contains(Ipv4Addr::new(10, 1, 3, 1)));
    assert!(cidr("0.0.0.0/0").contains(Ipv4Addr::new(8, 8, 8, 8)));
    assert!(cidr("10.0.0.1/32").contains(Ipv4Addr::new(10, 0, 0, 1)));
    assert!(!cidr("10.0.0.1/32").contains(Ipv4Addr::new(10, 0, 0, 2)));
    assert_eq!(c.to_string(), "10.1.2.3/24");
    for bad in ["10.0.0.1", "10.0.0.1/33", "10.0.0/8", "x/1", "10.0.0.1/-1"] {
        let err = bad.parse::<Ipv4Cidr>().unwrap_err();
        assert!(err.to_string().contains(bad));
    }
}

#[test]
fn longest_prefix_wins_and_gateways_apply() {
    let mut t = RouteTable::new();
    t.add(Route {
        prefix: cidr("0.0.0.0/0"),
        iface: IfaceId(0),
        gateway: Some(Ipv4Addr::new(10, 0, 0, 1)),
    });
    t.add(Route {
        prefix: cidr("10.0.0.0/24"),
        iface: IfaceId(0),
        gateway: None,
    });
    t.add(Route {
        prefix: cidr("10.0.0.128/25"),
        iface: IfaceId(1),
        gateway: None,
    });
    let direct = t.lookup(Ipv4Addr::new(10, 0, 0, 5)).unwrap();
    assert_eq!(
        direct,
        NextHop {
            iface: IfaceId(0),
            next_hop: Ipv4Addr::new(10, 0, 0, 5)
        }
    );
    let narrower = t.lookup(Ipv4Addr::new(10, 0, 0, 200)).unwrap();
    assert_eq!(narrower.iface, IfaceId(1));
    let far = t.lookup(Ipv4Addr::new(192, 0, 2, 1)).unwrap();
    assert_eq!(far.next_hop, Ipv4Addr::new(10, 0, 0, 1));
    t.remove_iface(IfaceId(0));
    assert_eq!(t.lookup(Ipv4Addr::new(192, 0, 2, 1)), None);
    assert_eq!(t.iter().count(), 1);
}

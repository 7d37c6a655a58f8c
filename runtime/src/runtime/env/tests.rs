use std::collections::HashMap;
use std::ffi::OsString;

use super::*;

fn env(pairs: &[(&str, &str)]) -> io::Result<EnvSetup> {
    let map: HashMap<String, OsString> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    parse(|name| map.get(name).cloned())
}

fn message(pairs: &[(&str, &str)]) -> String {
    let err = env(pairs).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    err.to_string()
}

#[test]
fn defaults_to_the_loopback() {
    let setup = env(&[]).unwrap();
    assert_eq!(setup.nic, NicSpec::Loopback);
    assert_eq!(setup.addr.to_string(), "127.0.0.1/8");
    assert_eq!(setup.gateway, None);
    assert_eq!(setup.capture, None);
    assert!(setup.sysctl.is_empty());
    // Empty values count as unset.
    assert_eq!(
        env(&[("SOCKEYE_NIC", ""), ("SOCKEYE_IP", "")]).unwrap(),
        setup
    );
}

#[test]
fn every_device_form_parses() {
    let with_ip = |nic: &str| env(&[("SOCKEYE_NIC", nic), ("SOCKEYE_IP", "10.7.0.2/24")]);
    assert_eq!(
        with_ip("tap:tap0").unwrap().nic,
        NicSpec::Tap("tap0".into())
    );
    assert_eq!(with_ip("raw:vs").unwrap().nic, NicSpec::Raw("vs".into()));
    assert_eq!(
        with_ip("pcap:in.pcap,out.pcap").unwrap().nic,
        NicSpec::Pcap("in.pcap".into(), "out.pcap".into())
    );
    let setup = env(&[
        ("SOCKEYE_NIC", "loopback"),
        ("SOCKEYE_IP", "127.0.0.5/8"),
        ("SOCKEYE_GATEWAY", "127.0.0.1"),
        ("SOCKEYE_CAPTURE", "/tmp/x.pcap"),
        (
            "SOCKEYE_SYSCTL",
            "tcp_rmem=4096 65536 65536, net.ipv4.tcp_syn_retries=2",
        ),
    ])
    .unwrap();
    assert_eq!(setup.addr.to_string(), "127.0.0.5/8");
    assert_eq!(setup.gateway, Some(Ipv4Addr::LOCALHOST));
    assert_eq!(setup.capture, Some(PathBuf::from("/tmp/x.pcap")));
    let mut config = StackConfig::default();
    setup.apply_sysctl(&mut config).unwrap();
    assert_eq!(config.tcp_rmem, [4096, 65536, 65536]);
    assert_eq!(config.tcp_syn_retries, 2);
}

#[test]
fn bad_values_name_their_variable() {
    for nic in ["tun:x", "tap:", "pcap:only", "pcap:,out", "nonsense"] {
        let m = message(&[("SOCKEYE_NIC", nic), ("SOCKEYE_IP", "10.0.0.2/24")]);
        assert!(m.contains("SOCKEYE_NIC"), "{m}");
    }
    assert!(message(&[("SOCKEYE_IP", "10.0.0.2")]).contains("SOCKEYE_IP"));
    assert!(message(&[("SOCKEYE_IP", "10.0.0.2/33")]).contains("SOCKEYE_IP"));
    assert!(message(&[("SOCKEYE_NIC", "tap:tap0")]).contains("SOCKEYE_IP"));
    assert!(message(&[("SOCKEYE_GATEWAY", "x")]).contains("SOCKEYE_GATEWAY"));
    // A gateway must be on the link.
    assert!(message(&[("SOCKEYE_GATEWAY", "10.0.0.1")]).contains("SOCKEYE_GATEWAY"));
    let m = message(&[("SOCKEYE_SYSCTL", "tcp_nonsense=1")]);
    assert!(
        m.contains("SOCKEYE_SYSCTL") && m.contains("tcp_nonsense"),
        "{m}"
    );
    let m = message(&[("SOCKEYE_SYSCTL", "tcp_syn_retries=many")]);
    assert!(m.contains("SOCKEYE_SYSCTL"), "{m}");
    assert!(message(&[("SOCKEYE_SYSCTL", "tcp_syn_retries")]).contains("SOCKEYE_SYSCTL"));
}

#[test]
fn an_unopenable_device_names_the_variable() {
    let setup = env(&[
        (
            "SOCKEYE_NIC",
            "pcap:/nonexistent/in.pcap,/nonexistent/out.pcap",
        ),
        ("SOCKEYE_IP", "10.0.0.2/24"),
    ])
    .unwrap();
    let err = setup.interface().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("SOCKEYE_NIC=pcap:"), "{err}");
}
